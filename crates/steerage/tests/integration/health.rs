//! Provider health: a down provider is a disabled provider, the policy's
//! `on_all_down` when nothing but the built-in provider would remain,
//! outside signals with expiry, check results, sticky clients returning,
//! and health never reaching the configuration.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime};

use steerage::engine::{NODATA_RULE, RuleOutcome};
use steerage::geo::LocationTable;
use steerage::policy::{OnAllDown, PolicyError, PolicySet, SelectionMode};
use steerage::{CheckResult, HealthOverride, HealthSource, ProviderKey, Steering, SteeringError};

use crate::fixtures::{
    BUILTIN_CNAME, DOMAIN, answer, client, design_set, design_steering, target, unknown_client,
};

fn down() -> HealthOverride {
    HealthOverride::down().reason("test")
}

fn steering_of(set: PolicySet) -> Steering {
    Steering::builder()
        .config(set)
        .locations(LocationTable::sample())
        .build()
        .unwrap()
}

#[test]
fn a_down_provider_falls_through_like_a_disabled_one() {
    let steering = design_steering();
    let beijing = client("CN-BJ/telecom");
    assert_eq!(answer(&steering, beijing).unwrap().2, "beijing");
    let v = steering
        .set_health_override(DOMAIN, "origin", down())
        .unwrap();
    assert_eq!(v, steering.version());
    // Beijing's only provider is down: the next matching rule answers.
    let a = answer(&steering, beijing).unwrap();
    assert_eq!(a.2, "china-mainland");
    // Exactly what the configuration with origin disabled decides.
    let mut disabled = design_set();
    disabled.disable_provider(DOMAIN, "origin").unwrap();
    let reference = steering_of(disabled);
    for ip in [
        beijing,
        client("CN-BJ/unicom"),
        client("DE"),
        unknown_client(),
    ] {
        let (got, want) = (
            steering.select(DOMAIN, ip).unwrap(),
            reference.select(DOMAIN, ip).unwrap(),
        );
        assert_eq!(
            (got.rule(), got.line(), got.scope_prefix()),
            (want.rule(), want.line(), want.scope_prefix())
        );
    }
    // The default rule's only provider down too: the built-in provider.
    steering
        .set_health_override(DOMAIN, "vendor-b", down())
        .unwrap();
    let de = answer(&steering, client("DE")).unwrap();
    assert_eq!((de.1.as_str(), de.2.as_str()), (BUILTIN_CNAME, "default"));
    // The configuration never changed.
    assert_eq!(*steering.config(), design_set());
}

#[test]
fn weight_is_shared_by_the_live_providers() {
    let mut set = design_set();
    set.add_provider(
        DOMAIN,
        crate::fixtures::provider(
            "vendor-c",
            steerage::policy::ProviderKind::Cdn,
            "c.cdn.example",
        ),
    )
    .unwrap();
    set.set_default_targets(
        DOMAIN,
        vec![
            target("vendor-a", 50),
            target("vendor-b", 30),
            target("vendor-c", 20),
        ],
    )
    .unwrap();
    let steering = steering_of(set);
    steering
        .set_health_override(DOMAIN, "vendor-b", down())
        .unwrap();
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    let n = 20_000;
    for _ in 0..n {
        let s = steering.select(DOMAIN, client("DE")).unwrap();
        *counts.entry(s.provider().to_owned()).or_default() += 1;
    }
    assert!(!counts.contains_key("vendor-b"), "{counts:?}");
    // 50 : 20 of the live weight: 5/7 to vendor-a. Five standard
    // deviations (sd = sqrt(n p (1-p)) ~ 64) of slack.
    let a = f64::from(counts["vendor-a"]);
    let expected = f64::from(n) * 5.0 / 7.0;
    assert!((a - expected).abs() < 5.0 * 64.0, "{counts:?}");
}

#[test]
fn on_all_down_decides_when_only_the_builtin_provider_would_remain() {
    for mode in [
        OnAllDown::Builtin,
        OnAllDown::IgnoreHealth,
        OnAllDown::NoData,
    ] {
        let mut set = design_set();
        set.set_on_all_down(DOMAIN, mode).unwrap();
        let steering = steering_of(set);
        for p in ["origin", "vendor-a", "vendor-b"] {
            steering.set_health_override(DOMAIN, p, down()).unwrap();
        }
        for ip in [client("CN-BJ/telecom"), client("DE"), unknown_client()] {
            let s = steering.select(DOMAIN, ip).unwrap();
            match mode {
                OnAllDown::Builtin => {
                    assert_eq!(s.cname(), BUILTIN_CNAME);
                    assert!(!s.is_nodata());
                }
                OnAllDown::IgnoreHealth => {
                    // As if all were up.
                    let up = design_steering().select(DOMAIN, ip).unwrap();
                    assert_eq!(s.rule(), up.rule());
                    assert!(!s.is_nodata());
                }
                _ => {
                    assert!(s.is_nodata());
                    assert_eq!(s.rule(), NODATA_RULE);
                    assert_eq!(s.scope_prefix(), 0);
                }
            }
        }
        let e = steering.explain(DOMAIN, client("DE")).unwrap();
        assert_eq!(e.health.len(), 3);
        assert!(e.health.iter().all(|h| h.down && h.since.is_some()));
        if mode == OnAllDown::NoData {
            assert!(e.answer.nodata);
            assert!(e.rules.iter().all(|r| r.outcome == RuleOutcome::AllDown));
            assert!(e.to_string().contains("no data"), "{e}");
        }
        // One provider back: normal selection again.
        steering.clear_health_override(DOMAIN, "vendor-b").unwrap();
        let s = steering.select(DOMAIN, client("DE")).unwrap();
        assert_eq!((s.provider(), s.is_nodata()), ("vendor-b", false));
        // Saved configurations carry the setting but no health.
        let text = steering.config().to_toml_string().unwrap();
        let loaded = PolicySet::from_toml_str(&text).unwrap();
        assert_eq!(loaded.policy(DOMAIN).unwrap().on_all_down(), mode);
        assert!(
            loaded
                .policy(DOMAIN)
                .unwrap()
                .providers()
                .iter()
                .all(|p| p.is_enabled())
        );
    }
}

#[test]
fn overrides_lapse_and_checks_decide() {
    let steering = design_steering();
    let de = client("DE");
    let now = SystemTime::now();
    let v1 = steering
        .set_health_override_at(
            DOMAIN,
            "vendor-b",
            HealthOverride::down().until(now + Duration::from_secs(60)),
            now,
        )
        .unwrap();
    assert_eq!(answer(&steering, de).unwrap().1, BUILTIN_CNAME);
    // Not yet lapsed: nothing published.
    assert_eq!(
        steering
            .expire_health_overrides(now + Duration::from_secs(59))
            .unwrap(),
        v1
    );
    let v2 = steering
        .expire_health_overrides(now + Duration::from_secs(60))
        .unwrap();
    assert_eq!(v2, v1 + 1);
    assert_eq!(answer(&steering, de).unwrap().0, "vendor-b");

    // The checker reports it down.
    let key = ProviderKey::new("WWW.example.com.", "vendor-b");
    let failed =
        |detail: &str| CheckResult::new(SystemTime::now(), false, Duration::from_millis(3), detail);
    let v3 = steering
        .record_checks([(key.clone(), false, failed("connection refused"))])
        .unwrap();
    assert_eq!(v3, v2 + 1);
    assert_eq!(answer(&steering, de).unwrap().1, BUILTIN_CNAME);
    // Another failure changes nothing selection sees: no new version.
    assert_eq!(
        steering
            .record_checks([(key, false, failed("HTTP 500"))])
            .unwrap(),
        v3
    );
    // An override up beats the checks.
    steering
        .set_health_override(DOMAIN, "vendor-b", HealthOverride::up())
        .unwrap();
    assert_eq!(answer(&steering, de).unwrap().0, "vendor-b");
    let h = steering.provider_health(DOMAIN, "vendor-b").unwrap();
    assert_eq!(h.source_at(SystemTime::now()), HealthSource::Override);
    assert_eq!(h.checks_up(), Some(false));
    assert_eq!(h.results().len(), 2);
    let e = steering.explain(DOMAIN, de).unwrap().to_string();
    assert!(e.contains("HTTP 500") && e.contains("by hand"), "{e}");
    steering.clear_health_override(DOMAIN, "vendor-b").unwrap();
    assert_eq!(answer(&steering, de).unwrap().1, BUILTIN_CNAME);
    let e = steering.explain(DOMAIN, de).unwrap().to_string();
    assert!(e.contains("vendor-b down"), "{e}");
    // Results for a provider the configuration lacks are dropped.
    let v = steering.version();
    assert_eq!(
        steering
            .record_checks([(ProviderKey::new(DOMAIN, "gone"), false, failed("x"))])
            .unwrap(),
        v
    );
}

#[test]
fn signals_for_what_cannot_go_down_are_refused() {
    let steering = design_steering();
    let v = steering.version();
    let refused =
        |domain: &str, provider: &str| match steering.set_health_override(domain, provider, down())
        {
            Err(SteeringError::Policy(e)) => e,
            other => panic!("{other:?}"),
        };
    assert!(matches!(
        refused(DOMAIN, "builtin"),
        PolicyError::BuiltinProviderImmutable { .. }
    ));
    assert!(matches!(
        refused(DOMAIN, "nope"),
        PolicyError::ProviderNotFound { .. }
    ));
    assert!(matches!(
        refused("nope.example", "origin"),
        PolicyError::UnknownPolicy { .. }
    ));
    assert_eq!(steering.version(), v);
    assert!(steering.health().is_empty());
}

#[test]
fn health_survives_changes_and_is_forgotten_with_its_provider() {
    let steering = design_steering();
    steering
        .set_health_override(DOMAIN, "origin", down())
        .unwrap();
    steering
        .apply(|set| set.set_ttl(DOMAIN, steerage::policy::Ttl::new(60).unwrap()))
        .unwrap();
    assert_eq!(
        answer(&steering, client("CN-BJ/telecom")).unwrap().2,
        "china-mainland"
    );
    assert_eq!(steering.select(DOMAIN, client("DE")).unwrap().ttl(), 60);
    // The provider leaves the configuration: its health goes with it.
    steering
        .apply(|set| {
            set.delete_rule(DOMAIN, "beijing")?;
            set.delete_provider(DOMAIN, "origin").map(drop)
        })
        .unwrap();
    assert!(steering.provider_health(DOMAIN, "origin").is_none());
    // A location change keeps health.
    steering
        .set_health_override(DOMAIN, "vendor-b", down())
        .unwrap();
    steering.set_locations(LocationTable::sample()).unwrap();
    assert_eq!(answer(&steering, client("DE")).unwrap().1, BUILTIN_CNAME);
}

/// Sticky: when a provider comes back, exactly the clients that left it
/// return; no other client moves, at any step.
#[test]
fn sticky_clients_that_left_a_provider_return_and_no_other_moves() {
    let mut set = design_set();
    set.add_provider(
        DOMAIN,
        crate::fixtures::provider(
            "vendor-c",
            steerage::policy::ProviderKind::Cdn,
            "c.cdn.example",
        ),
    )
    .unwrap();
    set.set_default_targets(
        DOMAIN,
        vec![
            target("vendor-a", 40),
            target("vendor-b", 35),
            target("vendor-c", 25),
        ],
    )
    .unwrap();
    set.set_mode(DOMAIN, SelectionMode::Sticky).unwrap();
    let steering = steering_of(set);
    // 20,000 clients in distinct /24s, all outside the sample ranges (the
    // default rule).
    let clients: Vec<IpAddr> = (0..20_000u32)
        .map(|i| IpAddr::V4(Ipv4Addr::from(0x2000_0000 + (i << 8) + 7)))
        .collect();
    let map = |s: &Steering| -> Vec<String> {
        clients
            .iter()
            .map(|&ip| s.select(DOMAIN, ip).unwrap().provider().to_owned())
            .collect()
    };
    let before = map(&steering);
    let on_b = before.iter().filter(|p| *p == "vendor-b").count();
    assert!(on_b > 5_000, "{on_b}");
    steering
        .set_health_override(DOMAIN, "vendor-b", down())
        .unwrap();
    let during = map(&steering);
    for (b, d) in before.iter().zip(&during) {
        if b == "vendor-b" {
            assert_ne!(d, "vendor-b");
        } else {
            assert_eq!(b, d, "a client not on vendor-b moved");
        }
    }
    steering.clear_health_override(DOMAIN, "vendor-b").unwrap();
    assert_eq!(
        map(&steering),
        before,
        "not exactly the clients that left came back"
    );
}
