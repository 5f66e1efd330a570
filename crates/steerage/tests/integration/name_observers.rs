//! Name observers: told of every change to the set of steered names before
//! it is published, never of a change that keeps the names, and able to
//! refuse a change as a whole.

use std::sync::{Arc, Mutex};

use steerage::geo::LocationTable;
use steerage::policy::Format;
use steerage::{NameChange, NameObserver, Refusal, Steering, SteeringError};

use crate::fixtures::{DOMAIN, design_set, design_steering};

/// Records every call; refuses names that end in `refused` unless lenient.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
    lenient: bool,
}

impl Recorder {
    fn calls(&self) -> Vec<String> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

impl NameObserver for Recorder {
    fn prepare(&self, change: &NameChange<'_>) -> Result<(), Refusal> {
        let added: Vec<&str> = change.added().collect();
        let removed: Vec<&str> = change.removed().collect();
        // The configuration is the one to be published.
        for name in &added {
            assert!(change.config().policy(name).is_some());
        }
        self.calls.lock().unwrap().push(format!(
            "prepare {} +{added:?} -{removed:?}",
            change.version()
        ));
        match added
            .iter()
            .find(|n| !self.lenient && n.ends_with("refused"))
        {
            Some(name) => Err(format!("{name} is refused").into()),
            None => Ok(()),
        }
    }

    fn commit(&self, version: u64) {
        self.calls.lock().unwrap().push(format!("commit {version}"));
    }

    fn abort(&self) {
        self.calls.lock().unwrap().push("abort".into());
    }
}

fn observe(steering: &Steering) -> Arc<Recorder> {
    steering
        .observe_names(|_, _| Ok::<_, Refusal>(Arc::new(Recorder::default())))
        .unwrap()
}

fn observe_leniently(steering: &Steering) -> Arc<Recorder> {
    steering
        .observe_names(|_, _| {
            Ok::<_, Refusal>(Arc::new(Recorder {
                lenient: true,
                ..Recorder::default()
            }))
        })
        .unwrap()
}

#[test]
fn told_of_added_and_removed_names_before_publishing() {
    let steering = design_steering();
    let recorder = observe(&steering);
    let v = steering
        .apply(|set| {
            set.create_policy("b.example.com")?;
            set.create_policy("a.example.com").map(drop)
        })
        .unwrap();
    assert_eq!(
        recorder.calls(),
        [
            format!("prepare {v} +[\"a.example.com\", \"b.example.com\"] -[]"),
            format!("commit {v}")
        ]
    );
    let v = steering
        .apply(|set| {
            set.disable_policy("a.example.com")?;
            set.delete_policy("a.example.com")?;
            set.create_policy("c.example.com").map(drop)
        })
        .unwrap();
    assert_eq!(
        recorder.calls(),
        [
            format!("prepare {v} +[\"c.example.com\"] -[\"a.example.com\"]"),
            format!("commit {v}")
        ]
    );
}

#[test]
fn changes_that_keep_the_names_call_nothing() {
    let steering = design_steering();
    let recorder = observe(&steering);
    let before = steering.version();
    steering
        .apply(|set| set.disable_rule(DOMAIN, "beijing"))
        .unwrap();
    steering.set_locations(LocationTable::sample()).unwrap();
    steering.apply(|_| Ok(())).unwrap();
    assert_eq!(steering.version(), before + 2);
    assert!(recorder.calls().is_empty());
}

#[test]
fn a_refusal_fails_the_change_as_a_whole() {
    let steering = design_steering();
    let recorder = observe(&steering);
    let version = steering.version();
    let config = steering.config();
    let err = steering
        .apply(|set| {
            set.create_policy("fine.example.com")?;
            set.create_policy("www.refused").map(drop)
        })
        .unwrap_err();
    let SteeringError::Refused(source) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(source.to_string(), "www.refused is refused");
    assert_eq!(
        err.to_string(),
        "the change was refused by a server of the steered names: www.refused is refused"
    );
    assert_eq!(steering.version(), version);
    assert!(Arc::ptr_eq(&steering.config(), &config));
    assert!(
        steering
            .select("fine.example.com", "192.0.2.1".parse().unwrap())
            .is_none()
    );
    // Refused by the observer that prepared: no abort owed to itself.
    assert_eq!(recorder.calls().len(), 1);
}

#[test]
fn a_refusal_by_one_observer_aborts_the_others() {
    let steering = design_steering();
    let first = observe_leniently(&steering);
    let second = observe(&steering);
    steering
        .apply(|set| set.create_policy("www.refused").map(drop))
        .unwrap_err();
    let version = steering.version() + 1;
    assert_eq!(
        first.calls(),
        [
            format!("prepare {version} +[\"www.refused\"] -[]"),
            "abort".into()
        ]
    );
    assert_eq!(
        second.calls(),
        [format!("prepare {version} +[\"www.refused\"] -[]")]
    );
}

#[test]
fn a_dropped_observer_is_no_longer_called() {
    let steering = design_steering();
    let recorder = observe(&steering);
    let weak = Arc::downgrade(&recorder);
    drop(recorder);
    steering
        .apply(|set| set.create_policy("www.refused").map(drop))
        .unwrap();
    assert!(weak.upgrade().is_none());
}

#[test]
fn a_reload_tells_the_names_the_file_changed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steering.toml");
    let mut set = design_set();
    std::fs::write(&path, set.to_string_in(Format::Toml).unwrap()).unwrap();
    let steering = Steering::builder()
        .config_file(&path)
        .locations(LocationTable::sample())
        .build()
        .unwrap();
    let recorder = observe(&steering);
    // The same names, loaded anew: nothing to tell.
    steering.reload().unwrap();
    set.create_policy("new.example.com").unwrap();
    std::fs::write(&path, set.to_string_in(Format::Toml).unwrap()).unwrap();
    let v = steering.reload().unwrap();
    assert_eq!(
        recorder.calls(),
        [
            format!("prepare {v} +[\"new.example.com\"] -[]"),
            format!("commit {v}")
        ]
    );
}

#[test]
fn init_sees_the_serving_configuration_and_its_error_registers_nothing() {
    let steering = design_steering();
    let err = steering
        .observe_names(|config, version| {
            assert_eq!(version, steering.version());
            assert!(config.policy(DOMAIN).is_some());
            Err::<Arc<Recorder>, _>("no")
        })
        .err();
    assert_eq!(err, Some("no"));
    // Nothing registered: a refused name would otherwise fail.
    steering
        .apply(|set| set.create_policy("www.refused").map(drop))
        .unwrap();
}
