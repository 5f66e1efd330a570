//! Config files: loading, reloading, saving crash-safely.

use std::error::Error as _;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use steerage::geo::LocationTable;
use steerage::policy::{ConfigError, Format, PolicySet, Ttl};
use steerage::{Steering, SteeringError};

use crate::fixtures::{DOMAIN, answer, client, design_set, steering_on};

fn write(path: &Path, set: &PolicySet) {
    let format = Format::from_path(path).unwrap();
    fs::write(path, set.to_string_in(format).unwrap()).unwrap();
}

#[test]
fn save_then_load_gives_an_equal_config_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let steering = Steering::builder()
        .config(design_set())
        .locations(LocationTable::sample())
        .build()
        .unwrap();
    steering
        .apply(|set| set.disable_rule(DOMAIN, "beijing"))
        .unwrap();
    for name in ["steering.toml", "steering.json", "STEERING.TOML"] {
        let path = dir.path().join(name);
        steering.save_to(&path).unwrap();
        let loaded = steering_on(&path);
        assert_eq!(*loaded.config(), *steering.config(), "{name}");
        assert_eq!(
            answer(&loaded, client("CN-BJ/telecom")).unwrap().2,
            "china-mainland"
        );
    }
}

#[test]
fn save_writes_the_builders_file_and_reload_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steering.toml");
    write(&path, &design_set());
    let steering = steering_on(&path);
    assert_eq!(steering.config_path(), Some(path.as_path()));

    steering
        .apply(|set| set.set_ttl(DOMAIN, Ttl::new(30)?))
        .unwrap();
    steering.save().unwrap();
    let on_disk = PolicySet::from_toml_str(&fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(on_disk, *steering.config());

    // An edit of the file by hand, then reload.
    let mut edited = on_disk;
    edited.disable_policy(DOMAIN).unwrap();
    write(&path, &edited);
    let version = steering.reload().unwrap();
    assert_eq!(version, steering.version());
    assert_eq!(*steering.config(), edited);
    assert_eq!(answer(&steering, client("DE")).unwrap().0, "builtin");
}

#[test]
fn reload_of_an_invalid_file_keeps_serving_and_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steering.toml");
    write(&path, &design_set());
    let steering = steering_on(&path);
    let before = (steering.version(), steering.config());

    let mut text = fs::read_to_string(&path).unwrap();
    text = text.replacen("ttl = 600", "ttl = \"long\"", 1);
    fs::write(&path, &text).unwrap();
    let line = text.lines().position(|l| l.starts_with("ttl =")).unwrap() + 1;

    let err = steering.reload().unwrap_err();
    let SteeringError::ConfigFile { path: at, source } = &err else {
        panic!("expected ConfigFile, got {err:?}");
    };
    assert_eq!(at, &path);
    assert!(
        matches!(source, ConfigError::Parse { format: Format::Toml, line: l, column: 7, .. } if *l == line),
        "{source:?}"
    );
    assert!(err.to_string().contains("steering.toml"), "{err}");
    assert!(
        err.source()
            .unwrap()
            .to_string()
            .contains(&format!("line {line}"))
    );
    assert_eq!((steering.version(), steering.config()), before);
    assert_eq!(
        answer(&steering, client("CN-BJ/telecom")).unwrap().0,
        "origin"
    );

    // A well-formed file that breaks an invariant is refused the same way.
    let mut invalid = design_set();
    invalid.disable_policy(DOMAIN).unwrap();
    fs::write(
        &path,
        invalid
            .to_toml_string()
            .unwrap()
            .replace("weight = 30", "weight = 0")
            .replace("weight = 70", "weight = 0"),
    )
    .unwrap();
    let err = steering.reload().unwrap_err();
    assert!(
        matches!(
            &err,
            SteeringError::ConfigFile {
                source: ConfigError::Invalid(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!((steering.version(), steering.config()), before);

    // A vanished file too.
    fs::remove_file(&path).unwrap();
    let err = steering.reload().unwrap_err();
    assert!(
        matches!(&err, SteeringError::Read { path: p, .. } if *p == path),
        "{err:?}"
    );
    assert_eq!(steering.version(), before.0);
}

#[test]
fn reload_and_save_need_a_file() {
    let steering = Steering::builder()
        .config(design_set())
        .locations(LocationTable::sample())
        .build()
        .unwrap();
    assert!(matches!(
        steering.reload(),
        Err(SteeringError::NoConfigFile)
    ));
    assert!(matches!(steering.save(), Err(SteeringError::NoConfigFile)));
    assert!(matches!(
        steering.save_to("steering.yaml"),
        Err(SteeringError::UnknownFormat { .. })
    ));
}

#[test]
fn a_failed_save_leaves_the_old_file_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steering.toml");
    write(&path, &design_set());
    let old = fs::read(&path).unwrap();
    let steering = steering_on(&path);
    steering.apply(|set| set.disable_policy(DOMAIN)).unwrap();
    // The target is a directory now: the rename fails after the temporary
    // file was written.
    let target = dir.path().join("taken.toml");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("keep"), "x").unwrap();
    let err = steering.save_to(&target).unwrap_err();
    assert!(
        matches!(&err, SteeringError::Write { path: p, .. } if *p == target),
        "{err:?}"
    );
    assert_eq!(fs::read(&path).unwrap(), old);
    assert_eq!(entries(dir.path()), ["steering.toml", "taken.toml"]);
}

/// File names in a directory, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn readers_of_the_file_never_see_a_partial_save() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steering.json");
    write(&path, &design_set());
    let steering = steering_on(&path);
    let done = AtomicBool::new(false);
    thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut reads = 0_u32;
            while !done.load(Ordering::Acquire) {
                let text = fs::read_to_string(&path).unwrap();
                if let Err(e) = PolicySet::from_json_str(&text) {
                    panic!("read a partial file ({} bytes): {e}", text.len());
                }
                reads += 1;
            }
            reads
        });
        for ttl in 1..=300 {
            steering
                .apply(|set| set.set_ttl(DOMAIN, Ttl::new(ttl)?))
                .unwrap();
            steering.save().unwrap();
        }
        done.store(true, Ordering::Release);
        assert!(reader.join().unwrap() > 0);
    });
    let on_disk = PolicySet::from_json_str(&fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(on_disk.policy(DOMAIN).unwrap().ttl().get(), 300);
    assert_eq!(entries(dir.path()), ["steering.json"]);
}
