//! What the builder refuses, and how precisely.

use std::fs;

use steerage::geo::LocationTable;
use steerage::policy::{ConfigError, Format, PolicyError};
use steerage::{Steering, SteeringError};

use crate::fixtures::{DOMAIN, answer, client, design_set};

#[test]
fn builds_from_a_value_text_or_file_alike() {
    let toml = design_set().to_toml_string().unwrap();
    let json = design_set().to_json_string().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("steering.toml");
    fs::write(&file, &toml).unwrap();

    let built = [
        Steering::builder().config(design_set()),
        Steering::builder().config_str(&toml, Format::Toml),
        Steering::builder().config_str(&json, Format::Json),
        Steering::builder().config_file(&file),
    ]
    .map(|b| b.locations(LocationTable::sample()).build().unwrap());
    for steering in &built {
        assert_eq!(steering.version(), Steering::FIRST_VERSION);
        assert_eq!(*steering.config(), design_set());
        assert_eq!(
            answer(steering, client("CN-BJ/telecom")).unwrap().0,
            "origin"
        );
    }
    assert_eq!(built[3].config_path(), Some(file.as_path()));
    assert_eq!(built[0].config_path(), None);
}

#[test]
fn missing_parts_are_named() {
    let err = Steering::builder()
        .locations(LocationTable::sample())
        .build();
    assert!(matches!(err, Err(SteeringError::NoConfig)));
    let err = Steering::builder().config(design_set()).build();
    assert!(matches!(err, Err(SteeringError::NoLocations)));
}

#[test]
fn file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let build = |path: &std::path::Path| {
        Steering::builder()
            .config_file(path)
            .locations(LocationTable::sample())
            .build()
            .unwrap_err()
    };

    let missing = dir.path().join("missing.toml");
    assert!(matches!(build(&missing), SteeringError::Read { path, .. } if path == missing));

    let yaml = dir.path().join("steering.yaml");
    fs::write(&yaml, "").unwrap();
    assert!(matches!(build(&yaml), SteeringError::UnknownFormat { path } if path == yaml));

    let broken = dir.path().join("broken.json");
    fs::write(&broken, "{\n  \"builtin\": {\n    \"cname\": 5\n  }\n}\n").unwrap();
    match build(&broken) {
        SteeringError::ConfigFile {
            path,
            source: ConfigError::Parse { format, line, .. },
        } => assert_eq!((path, format, line), (broken, Format::Json, 3)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_invalid_value_or_text_is_refused_with_the_policy_error() {
    let text = design_set()
        .to_toml_string()
        .unwrap()
        .replace("\"vendor-b\", weight = 100", "\"vendor-c\", weight = 100");
    let err = Steering::builder()
        .config_str(&text, Format::Toml)
        .locations(LocationTable::sample())
        .build()
        .unwrap_err();
    assert!(
        matches!(
            &err,
            SteeringError::Config(ConfigError::Invalid(PolicyError::UnknownProvider { policy, rule, provider }))
                if policy == DOMAIN && rule == "default" && provider == "vendor-c"
        ),
        "{err:?}"
    );
}

#[test]
fn steering_is_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Steering>();
    assert_send_sync::<SteeringError>();
}

#[test]
fn debug_output_is_a_summary() {
    let steering = Steering::builder()
        .config(design_set())
        .locations(LocationTable::sample())
        .build()
        .unwrap();
    let text = format!("{steering:?}");
    assert_eq!(
        text,
        "Steering { version: 1, policies: 1, locations: \"sample data (built in)\", config_path: None, .. }"
    );
}
