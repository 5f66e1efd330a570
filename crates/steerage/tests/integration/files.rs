//! Config files: loading, reloading, saving crash-safely.

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
    // The message alone names the file, the line and the column.
    assert!(err.to_string().contains("steering.toml"), "{err}");
    assert!(
        err.to_string().contains(&format!("line {line}, column 7")),
        "{err}"
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
fn reload_of_a_file_with_a_syntax_error_says_where_in_its_message() {
    // `ttl == 600` / `"ttl": 600 600`: the second `=` / `600` is the first
    // character that cannot be parsed.
    for (name, good, bad, column) in [
        ("steering.toml", "ttl = 600", "ttl == 600", 6),
        ("steering.json", "\"ttl\": 600", "\"ttl\": 600 600", 0),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        write(&path, &design_set());
        let steering = steering_on(&path);
        let before = (steering.version(), steering.config());

        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains(good), "{name}: {text}");
        let text = text.replacen(good, bad, 1);
        fs::write(&path, &text).unwrap();
        let line = text.lines().position(|l| l.contains(bad)).unwrap() + 1;
        let column = if column == 0 {
            text.lines()
                .nth(line - 1)
                .unwrap()
                .find(" 600 600")
                .unwrap()
                + 6
        } else {
            column
        };

        let err = steering.reload().unwrap_err();
        // The message alone, as a log line shows it (no source chain).
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("invalid config file `{}`: ", path.display())),
            "{message}"
        );
        assert!(
            message.contains(&format!("line {line}, column {column}: ")),
            "{name}: expected line {line}, column {column}: {message}"
        );
        assert!(
            matches!(&err, SteeringError::ConfigFile { source: ConfigError::Parse { line: l, column: c, .. }, .. } if (*l, *c) == (line, column)),
            "{err:?}"
        );
        assert_eq!((steering.version(), steering.config()), before, "{name}");
        assert_eq!(
            answer(&steering, client("CN-BJ/telecom")).unwrap().0,
            "origin"
        );
    }
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

/// The environment variable that makes [`child_saves`] run, naming the
/// config file; [`CHILD_SAVES`] says how many times it saves.
const CHILD_FILE: &str = "STEERAGE_TEST_CHILD_FILE";
const CHILD_SAVES: &str = "STEERAGE_TEST_CHILD_SAVES";

/// Not a test: the child process of the tests below, run by them through
/// this test binary. Starts a `Steering` from the file and saves it,
/// changed each time, as many times as asked; panics (fails) on an error.
#[test]
#[ignore = "a child process of other tests; does nothing on its own"]
fn child_saves() {
    let Some(path) = std::env::var_os(CHILD_FILE) else {
        return;
    };
    let saves: u32 = std::env::var(CHILD_SAVES).unwrap().parse().unwrap();
    let steering = steering_on(Path::new(&path));
    for ttl in 1..=saves {
        steering
            .apply(|set| set.set_ttl(DOMAIN, Ttl::new(ttl)?))
            .unwrap();
        steering.save().unwrap();
    }
}

/// This test binary running [`child_saves`] on `path`, through `sh` so
/// that `limits` (`ulimit` commands) apply to it.
#[cfg(unix)]
fn child(path: &Path, saves: u32, limits: &str) -> std::process::Command {
    let mut command = std::process::Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(format!("{limits} exec \"$0\" \"$@\""))
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "files::child_saves", "--ignored"])
        .env(CHILD_FILE, path)
        .env(CHILD_SAVES, saves.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    command
}

/// The design example and `n` more policies: a file of some kilobytes.
fn large_set(n: usize) -> PolicySet {
    let mut set = design_set();
    for i in 0..n {
        set.create_policy(&format!("p{i}.example.com")).unwrap();
    }
    set
}

/// Kills a real save mid-write, deterministically: the child may write
/// files of at most 4 KiB (`ulimit -f 8`, in 512-byte blocks), so the
/// kernel kills it with `SIGXFSZ` inside the `write` of its temporary file,
/// a `kill -9` landing there would. The leftover goes at the next start
/// from the file, and at the next save.
#[cfg(unix)]
#[test]
fn temporary_files_of_killed_saves_are_removed_by_the_next_start_and_save() {
    use std::os::unix::process::ExitStatusExt as _;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steering.toml");
    write(&path, &large_set(200));
    let original = fs::read(&path).unwrap();
    assert!(original.len() > 4096 * 2);
    // Files of other targets and programs, which must stay.
    let others = [
        ".other.toml.Ab12Cd.tmp",
        ".steering.json.Ab12Cd.tmp",
        "notes.txt",
    ];
    for name in others {
        fs::write(dir.path().join(name), "x").unwrap();
    }
    let kill = || {
        let status = child(&path, 1, "ulimit -c 0 && ulimit -f 8 &&")
            .status()
            .unwrap();
        assert!(
            status.signal().is_some(),
            "the child was not killed: {status}"
        );
        let leftovers: Vec<String> = entries(dir.path())
            .into_iter()
            .filter(|n| n.starts_with(".steering.toml."))
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
        let size = fs::metadata(dir.path().join(&leftovers[0])).unwrap().len();
        assert!(size > 0 && size < original.len() as u64, "{size} bytes");
        assert_eq!(fs::read(&path).unwrap(), original, "the file was touched");
    };
    let want = entries(dir.path());

    kill();
    let steering = steering_on(&path);
    assert_eq!(entries(dir.path()), want, "a start left the temporary file");

    kill();
    steering.save().unwrap();
    assert_eq!(entries(dir.path()), want, "a save left the temporary file");
}

/// Saves running at the same time in two processes never take each
/// other's temporary file for a leftover: every save of both succeeds (one
/// whose temporary file was removed under it fails to rename it), and none
/// leaves a file behind.
#[cfg(unix)]
#[test]
fn saves_in_two_processes_at_once_keep_each_others_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steering.json");
    write(&path, &large_set(2_000));
    let steering = steering_on(&path);
    let mut other = child(&path, 100, "").spawn().unwrap();
    let mut saves = 0;
    while other.try_wait().unwrap().is_none() || saves < 100 {
        steering.save().unwrap();
        saves += 1;
    }
    assert!(
        other.wait().unwrap().success(),
        "a save in the child failed"
    );
    assert_eq!(entries(dir.path()), ["steering.json"]);
}
