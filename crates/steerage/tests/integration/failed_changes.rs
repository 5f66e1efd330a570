//! A change that fails publishes nothing: version, configuration and
//! decisions stay exactly as they were.

use std::panic::{AssertUnwindSafe, catch_unwind};

use steerage::policy::{PolicyError, Ttl};
use steerage::{Steering, SteeringError};

use crate::fixtures::{Answer, DOMAIN, answer, client, design_steering, unknown_client};

/// Everything observable about the steering state, for before/after checks:
/// the version, the config as TOML, and some clients' answers.
type Observed = (u64, String, Vec<Option<Answer>>);

fn observe(steering: &Steering) -> Observed {
    let decisions = [client("CN-BJ/telecom"), client("DE"), unknown_client()]
        .into_iter()
        .map(|ip| answer(steering, ip))
        .collect();
    (
        steering.version(),
        steering.config().to_toml_string().unwrap(),
        decisions,
    )
}

fn policy_error(result: Result<u64, SteeringError>) -> PolicyError {
    match result {
        Err(SteeringError::Policy(e)) => e,
        other => panic!("expected a policy error, got {other:?}"),
    }
}

#[test]
fn the_three_refused_console_operations_change_nothing() {
    let steering = design_steering();
    let before = observe(&steering);

    let err = policy_error(steering.apply(|set| set.delete_provider(DOMAIN, "vendor-a").map(drop)));
    assert_eq!(
        err,
        PolicyError::ProviderInUse {
            policy: DOMAIN.into(),
            provider: "vendor-a".into(),
            rules: vec!["china-mainland".into()],
        }
    );
    assert_eq!(observe(&steering), before);

    let err = policy_error(steering.apply(|set| set.delete_policy(DOMAIN).map(drop)));
    assert_eq!(
        err,
        PolicyError::PolicyEnabled {
            domain: DOMAIN.into()
        }
    );
    assert_eq!(observe(&steering), before);

    let err = policy_error(steering.apply(|set| set.delete_rule(DOMAIN, "default").map(drop)));
    assert_eq!(
        err,
        PolicyError::DefaultRuleUndeletable {
            policy: DOMAIN.into()
        }
    );
    assert_eq!(observe(&steering), before);
}

#[test]
fn operations_that_succeeded_before_the_failing_one_are_dropped_too() {
    let steering = design_steering();
    let before = observe(&steering);
    let result = steering.apply(|set| {
        set.set_ttl(DOMAIN, Ttl::new(30)?)?;
        set.disable_policy(DOMAIN)?;
        set.create_policy("img.example.com")?;
        set.delete_provider(DOMAIN, "origin").map(drop)
    });
    assert!(matches!(
        policy_error(result),
        PolicyError::ProviderInUse { provider, .. } if provider == "origin"
    ));
    assert_eq!(observe(&steering), before);
    assert!(steering.select("img.example.com", client("DE")).is_none());
    assert_eq!(steering.select(DOMAIN, client("DE")).unwrap().ttl(), 600);
}

#[test]
fn a_panicking_change_changes_nothing_and_later_changes_work() {
    let steering = design_steering();
    let before = observe(&steering);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        steering.apply(|set| {
            set.disable_policy(DOMAIN)?;
            panic!("the embedding program's bug");
        })
    }));
    assert!(outcome.is_err());
    assert_eq!(observe(&steering), before);
    let version = steering
        .apply(|set| set.set_ttl(DOMAIN, Ttl::new(60)?))
        .unwrap();
    assert_eq!(version, before.0 + 1);
    assert_eq!(steering.select(DOMAIN, client("DE")).unwrap().ttl(), 60);
}
