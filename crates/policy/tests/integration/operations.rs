//! Every console operation: its effect, and each of its errors, asserting the
//! exact variant and that a failed operation changed nothing.

use steerage_policy::{
    DomainNameFault, PolicyError, PolicySet, PolicyState, ProviderKind, RuleRef, SelectionMode,
    Ttl, ValueError,
};

use crate::fixtures::{
    DOMAIN, custom_line, design_by_operations, empty_set, provider, rule, target,
};

/// Applies a failing operation to a copy and checks it changed nothing.
#[track_caller]
fn refused<T: std::fmt::Debug>(
    set: &PolicySet,
    op: impl FnOnce(&mut PolicySet) -> Result<T, PolicyError>,
) -> PolicyError {
    let mut copy = set.clone();
    let err = op(&mut copy).expect_err("the operation should fail");
    assert_eq!(&copy, set, "a failed operation changed the set");
    err
}

#[test]
fn create_policy_defaults() {
    let mut set = empty_set();
    let policy = set.create_policy("New.Example.COM.").unwrap();
    assert_eq!(policy.domain().as_str(), "new.example.com");
    assert!(policy.providers().is_empty());
    assert!(policy.rules().is_empty());
    assert_eq!(policy.default_rule().targets(), [target("builtin", 10_000)]);
    assert_eq!(policy.ttl().get(), 600);
    assert_eq!(policy.state(), PolicyState::Enabled);
    assert_eq!(policy.mode(), SelectionMode::Random);
    set.validate().unwrap();
}

#[test]
fn create_policy_errors() {
    let set = design_by_operations();
    assert_eq!(
        refused(&set, |s| s.create_policy("WWW.example.com.").map(|_| ())),
        PolicyError::DuplicatePolicy {
            domain: DOMAIN.into()
        }
    );
    assert_eq!(
        refused(&set, |s| s.create_policy("a..b").map(|_| ())),
        PolicyError::Value(ValueError::InvalidDomain {
            name: "a..b".into(),
            reason: DomainNameFault::EmptyLabel
        })
    );
    assert_eq!(
        refused(&set, |s| s
            .create_policy("edge.steerage.example")
            .map(|_| ())),
        PolicyError::CnameIsSteeredName {
            policy: "edge.steerage.example".into(),
            provider: "builtin".into()
        }
    );
}

#[test]
fn unknown_policy_for_every_policy_operation() {
    let set = design_by_operations();
    let unknown = || PolicyError::UnknownPolicy {
        domain: "nope.example".into(),
    };
    let d = "nope.example";
    assert_eq!(refused(&set, |s| s.enable_policy(d)), unknown());
    assert_eq!(refused(&set, |s| s.disable_policy(d)), unknown());
    assert_eq!(refused(&set, |s| s.delete_policy(d)), unknown());
    assert_eq!(refused(&set, |s| s.set_ttl(d, Ttl::MAX)), unknown());
    assert_eq!(
        refused(&set, |s| s.set_mode(d, SelectionMode::Sticky)),
        unknown()
    );
    assert_eq!(refused(&set, |s| s.set_seed(d, 1)), unknown());
    let p = provider("x", ProviderKind::Cdn, "x.example");
    assert_eq!(refused(&set, |s| s.add_provider(d, p.clone())), unknown());
    assert_eq!(refused(&set, |s| s.update_provider(d, "x", p)), unknown());
    assert_eq!(refused(&set, |s| s.delete_provider(d, "x")), unknown());
    assert_eq!(refused(&set, |s| s.enable_provider(d, "x")), unknown());
    assert_eq!(refused(&set, |s| s.disable_provider(d, "x")), unknown());
    assert_eq!(
        refused(&set, |s| s.enable_provider(d, "builtin")),
        unknown()
    );
    let r = rule("r", &["US"], &[("builtin", 1)]);
    assert_eq!(refused(&set, |s| s.add_rule(d, r.clone())), unknown());
    assert_eq!(refused(&set, |s| s.update_rule(d, "r", r)), unknown());
    assert_eq!(refused(&set, |s| s.delete_rule(d, "r")), unknown());
    assert_eq!(refused(&set, |s| s.enable_rule(d, "r")), unknown());
    assert_eq!(refused(&set, |s| s.disable_rule(d, "r")), unknown());
    assert_eq!(
        refused(&set, |s| s
            .set_default_targets(d, vec![target("builtin", 1)])),
        unknown()
    );
}

#[test]
fn only_a_disabled_policy_can_be_deleted() {
    let mut set = design_by_operations();
    assert_eq!(
        refused(&set, |s| s.delete_policy(DOMAIN)),
        PolicyError::PolicyEnabled {
            domain: DOMAIN.into()
        }
    );
    set.disable_policy(DOMAIN).unwrap();
    assert!(!set.policy(DOMAIN).unwrap().is_enabled());
    set.disable_policy(DOMAIN).unwrap(); // idempotent
    set.enable_policy(DOMAIN).unwrap();
    assert!(set.policy(DOMAIN).unwrap().is_enabled());
    set.disable_policy("WWW.EXAMPLE.COM.").unwrap();
    let deleted = set.delete_policy(DOMAIN).unwrap();
    assert_eq!(deleted.domain().as_str(), DOMAIN);
    assert!(set.is_empty());
    assert!(set.policy(DOMAIN).is_none());
}

#[test]
fn ttl_mode_and_seed() {
    let mut set = design_by_operations();
    set.set_ttl(DOMAIN, Ttl::new(30).unwrap()).unwrap();
    set.set_mode(DOMAIN, SelectionMode::Sticky).unwrap();
    set.set_seed(DOMAIN, u64::MAX).unwrap();
    let p = set.policy(DOMAIN).unwrap();
    assert_eq!(
        (p.ttl().get(), p.mode(), p.seed()),
        (30, SelectionMode::Sticky, u64::MAX)
    );
}

#[test]
fn add_provider_and_its_errors() {
    let mut set = design_by_operations();
    let extra = provider("vendor-c", ProviderKind::Cdn, "c.example").with_enabled(false);
    set.add_provider(DOMAIN, extra.clone()).unwrap();
    assert_eq!(
        set.policy(DOMAIN).unwrap().provider("vendor-c"),
        Some(&extra)
    );

    assert_eq!(
        refused(&set, |s| s.add_provider(
            DOMAIN,
            provider("origin", ProviderKind::Cdn, "other.example")
        )),
        PolicyError::DuplicateProvider {
            policy: DOMAIN.into(),
            provider: "origin".into()
        }
    );
    assert_eq!(
        refused(&set, |s| s.add_provider(
            DOMAIN,
            provider("builtin", ProviderKind::Cdn, "other.example")
        )),
        PolicyError::ProviderNameReserved {
            policy: DOMAIN.into(),
            provider: "builtin".into()
        }
    );
    assert_eq!(
        refused(&set, |s| s.add_provider(
            DOMAIN,
            provider("loop", ProviderKind::Cdn, "WWW.example.com.")
        )),
        PolicyError::CnameIsSteeredName {
            policy: DOMAIN.into(),
            provider: "loop".into()
        }
    );
}

#[test]
fn update_provider_changes_every_rule_at_once() {
    let mut set = design_by_operations();
    set.disable_provider(DOMAIN, "vendor-a").unwrap();
    set.update_provider(
        DOMAIN,
        "vendor-a",
        provider("vendor-a2", ProviderKind::Origin, "a2.example"),
    )
    .unwrap();
    let p = set.policy(DOMAIN).unwrap();
    assert!(p.provider("vendor-a").is_none());
    let updated = p.provider("vendor-a2").unwrap();
    assert_eq!(updated.cname().as_str(), "a2.example");
    assert_eq!(updated.kind(), ProviderKind::Origin);
    assert!(!updated.is_enabled(), "update keeps the enabled state");
    assert_eq!(
        p.rule("china-mainland").unwrap().targets(),
        [target("vendor-a2", 70), target("builtin", 30)]
    );
    // The position in the provider list is kept.
    assert_eq!(p.providers()[1].name().as_str(), "vendor-a2");

    // Renaming the default rule's provider follows into the default rule.
    set.update_provider(
        DOMAIN,
        "vendor-b",
        provider("vendor-b2", ProviderKind::Cdn, "b2.example"),
    )
    .unwrap();
    assert_eq!(
        set.policy(DOMAIN).unwrap().default_rule().targets(),
        [target("vendor-b2", 100)]
    );
    set.validate().unwrap();
}

#[test]
fn update_provider_errors() {
    let set = design_by_operations();
    let p = |name: &str, cname: &str| provider(name, ProviderKind::Cdn, cname);
    assert_eq!(
        refused(&set, |s| s.update_provider(
            DOMAIN,
            "builtin",
            p("x", "x.example")
        )),
        PolicyError::BuiltinProviderImmutable {
            policy: DOMAIN.into(),
            provider: "builtin".into()
        }
    );
    assert_eq!(
        refused(&set, |s| s.update_provider(
            DOMAIN,
            "nope",
            p("x", "x.example")
        )),
        PolicyError::ProviderNotFound {
            policy: DOMAIN.into(),
            provider: "nope".into()
        }
    );
    assert_eq!(
        refused(&set, |s| s.update_provider(
            DOMAIN,
            "origin",
            p("vendor-a", "x.example")
        )),
        PolicyError::DuplicateProvider {
            policy: DOMAIN.into(),
            provider: "vendor-a".into()
        }
    );
    assert_eq!(
        refused(&set, |s| s.update_provider(
            DOMAIN,
            "origin",
            p("builtin", "x.example")
        )),
        PolicyError::ProviderNameReserved {
            policy: DOMAIN.into(),
            provider: "builtin".into()
        }
    );
    assert_eq!(
        refused(&set, |s| s.update_provider(
            DOMAIN,
            "origin",
            p("origin", DOMAIN)
        )),
        PolicyError::CnameIsSteeredName {
            policy: DOMAIN.into(),
            provider: "origin".into()
        }
    );
}

#[test]
fn a_referenced_provider_cannot_be_deleted_and_the_error_lists_the_rules() {
    let mut set = design_by_operations();
    set.add_rule(
        DOMAIN,
        rule("us", &["US"], &[("vendor-b", 0), ("origin", 1)]),
    )
    .unwrap();
    set.disable_rule(DOMAIN, "us").unwrap();
    // Zero weight, disabled rule and default rule all count as references.
    assert_eq!(
        refused(&set, |s| s.delete_provider(DOMAIN, "vendor-b")),
        PolicyError::ProviderInUse {
            policy: DOMAIN.into(),
            provider: "vendor-b".into(),
            rules: vec!["us".into(), "default".into()]
        }
    );
    assert_eq!(
        refused(&set, |s| s.delete_provider(DOMAIN, "origin")),
        PolicyError::ProviderInUse {
            policy: DOMAIN.into(),
            provider: "origin".into(),
            rules: vec!["beijing".into(), "us".into()]
        }
    );
    // A disabled provider is still referenced.
    set.disable_provider(DOMAIN, "vendor-a").unwrap();
    assert!(matches!(
        refused(&set, |s| s.delete_provider(DOMAIN, "vendor-a")),
        PolicyError::ProviderInUse { .. }
    ));
    // Once no rule holds it, it goes.
    set.update_rule(
        DOMAIN,
        "china-mainland",
        rule("china-mainland", &["CN"], &[("builtin", 1)]),
    )
    .unwrap();
    let removed = set.delete_provider(DOMAIN, "vendor-a").unwrap();
    assert_eq!(removed.name().as_str(), "vendor-a");
    assert!(set.policy(DOMAIN).unwrap().provider("vendor-a").is_none());
}

#[test]
fn the_builtin_provider_cannot_be_deleted_or_disabled() {
    let mut set = design_by_operations();
    let immutable = PolicyError::BuiltinProviderImmutable {
        policy: DOMAIN.into(),
        provider: "builtin".into(),
    };
    assert_eq!(
        refused(&set, |s| s.delete_provider(DOMAIN, "builtin")),
        immutable
    );
    assert_eq!(
        refused(&set, |s| s.disable_provider(DOMAIN, "builtin")),
        immutable
    );
    // Enabling it is a no-op.
    let before = set.clone();
    set.enable_provider(DOMAIN, "builtin").unwrap();
    assert_eq!(set, before);
}

#[test]
fn provider_lookup_errors() {
    let set = design_by_operations();
    let not_found = || PolicyError::ProviderNotFound {
        policy: DOMAIN.into(),
        provider: "nope".into(),
    };
    assert_eq!(
        refused(&set, |s| s.delete_provider(DOMAIN, "nope")),
        not_found()
    );
    assert_eq!(
        refused(&set, |s| s.disable_provider(DOMAIN, "nope")),
        not_found()
    );
    assert_eq!(
        refused(&set, |s| s.enable_provider(DOMAIN, "nope")),
        not_found()
    );
}

#[test]
fn disable_and_enable_a_provider() {
    let mut set = design_by_operations();
    set.disable_provider(DOMAIN, "origin").unwrap();
    assert!(
        !set.policy(DOMAIN)
            .unwrap()
            .provider("origin")
            .unwrap()
            .is_enabled()
    );
    set.disable_provider(DOMAIN, "origin").unwrap();
    set.enable_provider(DOMAIN, "origin").unwrap();
    assert!(
        set.policy(DOMAIN)
            .unwrap()
            .provider("origin")
            .unwrap()
            .is_enabled()
    );
}

#[test]
fn rules_add_update_delete_enable_disable() {
    let mut set = design_by_operations();
    set.add_rule(
        DOMAIN,
        rule("west", &["US-CA", "US-WA"], &[("vendor-b", 5)]).with_enabled(false),
    )
    .unwrap();
    let p = set.policy(DOMAIN).unwrap();
    assert_eq!(p.rules().last().unwrap().name().as_str(), "west");
    assert!(!p.rule("west").unwrap().is_enabled());

    // Update in place: position and enabled state kept, rename allowed.
    set.update_rule(
        DOMAIN,
        "beijing",
        rule("bj", &["CN-BJ/telecom"], &[("origin", 1)]),
    )
    .unwrap();
    let p = set.policy(DOMAIN).unwrap();
    assert_eq!(p.rules()[0].name().as_str(), "bj");
    assert_eq!(p.rules()[0].lines()[0].to_string(), "CN-BJ/telecom");
    set.update_rule(DOMAIN, "west", rule("west", &["US-OR"], &[("vendor-b", 5)]))
        .unwrap();
    assert!(
        !set.policy(DOMAIN)
            .unwrap()
            .rule("west")
            .unwrap()
            .is_enabled()
    );

    set.enable_rule(DOMAIN, "west").unwrap();
    assert!(
        set.policy(DOMAIN)
            .unwrap()
            .rule("west")
            .unwrap()
            .is_enabled()
    );
    set.disable_rule(DOMAIN, "bj").unwrap();
    set.disable_rule(DOMAIN, "bj").unwrap();
    assert!(!set.policy(DOMAIN).unwrap().rule("bj").unwrap().is_enabled());

    let removed = set.delete_rule(DOMAIN, "bj").unwrap();
    assert_eq!(removed.name().as_str(), "bj");
    let names: Vec<&str> = set
        .policy(DOMAIN)
        .unwrap()
        .rules()
        .iter()
        .map(|r| r.name().as_str())
        .collect();
    assert_eq!(names, ["china-mainland", "west"]);
}

#[test]
fn the_default_rule_cannot_be_deleted_disabled_or_renamed() {
    let mut set = design_by_operations();
    let policy = || DOMAIN.to_owned();
    assert_eq!(
        refused(&set, |s| s.delete_rule(DOMAIN, "default")),
        PolicyError::DefaultRuleUndeletable { policy: policy() }
    );
    assert_eq!(
        refused(&set, |s| s.disable_rule(DOMAIN, "default")),
        PolicyError::DefaultRuleAlwaysEnabled { policy: policy() }
    );
    assert_eq!(
        refused(&set, |s| s.update_rule(
            DOMAIN,
            "default",
            rule("x", &["US"], &[("builtin", 1)])
        )),
        PolicyError::DefaultRuleTargetsOnly { policy: policy() }
    );
    let before = set.clone();
    set.enable_rule(DOMAIN, "default").unwrap();
    assert_eq!(set, before);
}

#[test]
fn rule_lookup_errors() {
    let set = design_by_operations();
    let not_found = || PolicyError::RuleNotFound {
        policy: DOMAIN.into(),
        rule: "nope".into(),
    };
    let r = rule("x", &["US"], &[("builtin", 1)]);
    assert_eq!(
        refused(&set, |s| s.update_rule(DOMAIN, "nope", r)),
        not_found()
    );
    assert_eq!(
        refused(&set, |s| s.delete_rule(DOMAIN, "nope")),
        not_found()
    );
    assert_eq!(
        refused(&set, |s| s.enable_rule(DOMAIN, "nope")),
        not_found()
    );
    assert_eq!(
        refused(&set, |s| s.disable_rule(DOMAIN, "nope")),
        not_found()
    );
}

#[test]
fn set_default_targets_to_any_providers() {
    let mut set = design_by_operations();
    set.set_default_targets(DOMAIN, vec![target("origin", 1), target("builtin", 0)])
        .unwrap();
    assert_eq!(
        set.policy(DOMAIN).unwrap().default_rule().targets(),
        [target("origin", 1), target("builtin", 0)]
    );
    let policy = || DOMAIN.to_owned();
    let default = || "default".to_owned();
    assert_eq!(
        refused(&set, |s| s.set_default_targets(DOMAIN, vec![])),
        PolicyError::EmptyTargets {
            policy: policy(),
            rule: default()
        }
    );
    assert_eq!(
        refused(&set, |s| s
            .set_default_targets(DOMAIN, vec![target("nope", 1)])),
        PolicyError::UnknownProvider {
            policy: policy(),
            rule: default(),
            provider: "nope".into()
        }
    );
    assert_eq!(
        refused(&set, |s| s.set_default_targets(
            DOMAIN,
            vec![target("origin", 1), target("origin", 2)]
        )),
        PolicyError::DuplicateTarget {
            policy: policy(),
            rule: default(),
            provider: "origin".into()
        }
    );
    assert_eq!(
        refused(&set, |s| s
            .set_default_targets(DOMAIN, vec![target("origin", 0)])),
        PolicyError::WeightTotalZero {
            policy: policy(),
            rule: default()
        }
    );
}

#[test]
fn custom_lines_add_update_delete() {
    let mut set = design_by_operations();
    set.add_custom_line(custom_line("office", &["203.0.113.0/24"]))
        .unwrap();
    assert_eq!(
        refused(&set, |s| s
            .add_custom_line(custom_line("office", &["198.51.100.0/24"]))),
        PolicyError::DuplicateCustomLine {
            line: "office".into()
        }
    );
    set.update_custom_line(custom_line("office", &["198.51.100.0/24", "2001:db8::/32"]))
        .unwrap();
    assert_eq!(set.custom_line("office").unwrap().prefixes().len(), 2);
    assert_eq!(
        refused(&set, |s| s
            .update_custom_line(custom_line("lab", &["10.0.0.0/8"]))),
        PolicyError::CustomLineNotFound { line: "lab".into() }
    );

    set.create_policy("api.example.com").unwrap();
    set.add_rule(
        "api.example.com",
        rule("office", &["cidr:office"], &[("builtin", 1)]),
    )
    .unwrap();
    set.add_rule(
        DOMAIN,
        rule("office-users", &["cidr:office"], &[("origin", 1)]),
    )
    .unwrap();
    set.disable_rule(DOMAIN, "office-users").unwrap();
    assert_eq!(
        refused(&set, |s| s.delete_custom_line("office")),
        PolicyError::CustomLineInUse {
            line: "office".into(),
            rules: vec![
                RuleRef {
                    policy: "api.example.com".into(),
                    rule: "office".into()
                },
                RuleRef {
                    policy: DOMAIN.into(),
                    rule: "office-users".into()
                },
            ]
        }
    );
    set.delete_rule(DOMAIN, "office-users").unwrap();
    set.delete_rule("api.example.com", "office").unwrap();
    let removed = set.delete_custom_line("office").unwrap();
    assert_eq!(removed.name().as_str(), "office");
    assert_eq!(set.custom_lines().len(), 0);
    assert_eq!(
        refused(&set, |s| s.delete_custom_line("office")),
        PolicyError::CustomLineNotFound {
            line: "office".into()
        }
    );
    assert_eq!(
        refused(&set, |s| s.delete_custom_line("Not A Name")),
        PolicyError::CustomLineNotFound {
            line: "Not A Name".into()
        }
    );
}

#[test]
fn policies_iterate_in_domain_order() {
    let mut set = empty_set();
    for d in ["b.example", "c.example", "a.example"] {
        set.create_policy(d).unwrap();
    }
    let order: Vec<&str> = set.policies().map(|p| p.domain().as_str()).collect();
    assert_eq!(order, ["a.example", "b.example", "c.example"]);
}
