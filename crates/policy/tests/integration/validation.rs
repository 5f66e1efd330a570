//! Each validation error, through the operations and through a loaded
//! config, asserting the exact variant.

use steerage_policy::{ConfigError, PolicyError, PolicySet, ProviderKind};

use crate::fixtures::{DOMAIN, custom_line, design_by_operations, provider, rule};

fn add_rule_error(r: steerage_policy::Rule) -> PolicyError {
    let set = design_by_operations();
    let mut copy = set.clone();
    let err = copy.add_rule(DOMAIN, r).unwrap_err();
    assert_eq!(copy, set, "a failed add_rule changed the set");
    err
}

fn policy() -> String {
    DOMAIN.to_owned()
}

#[test]
fn duplicate_rule_name() {
    assert_eq!(
        add_rule_error(rule("beijing", &["US"], &[("origin", 1)])),
        PolicyError::DuplicateRule {
            policy: policy(),
            rule: "beijing".into()
        }
    );
}

#[test]
fn rule_without_lines() {
    assert_eq!(
        add_rule_error(rule("r", &[], &[("origin", 1)])),
        PolicyError::EmptyRuleLines {
            policy: policy(),
            rule: "r".into()
        }
    );
}

#[test]
fn rule_without_targets() {
    assert_eq!(
        add_rule_error(rule("r", &["US"], &[])),
        PolicyError::EmptyTargets {
            policy: policy(),
            rule: "r".into()
        }
    );
}

#[test]
fn same_line_in_two_rules() {
    assert_eq!(
        add_rule_error(rule("r", &["US", "CN-BJ"], &[("origin", 1)])),
        PolicyError::DuplicateLine {
            policy: policy(),
            line: "CN-BJ".into(),
            rules: ["beijing".into(), "r".into()]
        }
    );
}

#[test]
fn a_disabled_rule_keeps_its_lines() {
    let mut set = design_by_operations();
    set.disable_rule(DOMAIN, "beijing").unwrap();
    assert!(matches!(
        set.add_rule(DOMAIN, rule("r", &["CN-BJ"], &[("origin", 1)])),
        Err(PolicyError::DuplicateLine { .. })
    ));
}

#[test]
fn same_line_twice_in_one_rule() {
    assert_eq!(
        add_rule_error(rule("r", &["US", "US"], &[("origin", 1)])),
        PolicyError::RepeatedLine {
            policy: policy(),
            rule: "r".into(),
            line: "US".into()
        }
    );
}

#[test]
fn lines_of_different_levels_may_overlap() {
    // CN-BJ/telecom is inside CN-BJ and CN/telecom: finer lines win, no
    // ambiguity.
    let mut set = design_by_operations();
    set.add_rule(
        DOMAIN,
        rule("bj-telecom", &["CN-BJ/telecom"], &[("origin", 1)]),
    )
    .unwrap();
    set.add_rule(
        DOMAIN,
        rule("telecom", &["CN/telecom", "continent:AS"], &[("origin", 1)]),
    )
    .unwrap();
    set.validate().unwrap();
}

#[test]
fn unknown_custom_line() {
    assert_eq!(
        add_rule_error(rule("r", &["cidr:office"], &[("origin", 1)])),
        PolicyError::UnknownCustomLine {
            policy: policy(),
            rule: "r".into(),
            line: "cidr:office".into()
        }
    );
    let mut set = design_by_operations();
    set.add_custom_line(custom_line("office", &["10.0.0.0/8"]))
        .unwrap();
    set.add_rule(DOMAIN, rule("r", &["cidr:office"], &[("origin", 1)]))
        .unwrap();
}

#[test]
fn target_names_an_unknown_provider() {
    assert_eq!(
        add_rule_error(rule("r", &["US"], &[("vendor-z", 1)])),
        PolicyError::UnknownProvider {
            policy: policy(),
            rule: "r".into(),
            provider: "vendor-z".into()
        }
    );
}

#[test]
fn provider_twice_in_a_rule() {
    assert_eq!(
        add_rule_error(rule(
            "r",
            &["US"],
            &[("origin", 1), ("builtin", 1), ("origin", 2)]
        )),
        PolicyError::DuplicateTarget {
            policy: policy(),
            rule: "r".into(),
            provider: "origin".into()
        }
    );
}

#[test]
fn weights_must_not_all_be_zero() {
    assert_eq!(
        add_rule_error(rule("r", &["US"], &[("origin", 0), ("builtin", 0)])),
        PolicyError::WeightTotalZero {
            policy: policy(),
            rule: "r".into()
        }
    );
    // A zero weight beside a positive one is a drained target: valid.
    let mut set = design_by_operations();
    set.add_rule(
        DOMAIN,
        rule("r", &["US"], &[("origin", 0), ("builtin", 10_000)]),
    )
    .unwrap();
}

#[test]
fn a_rule_of_disabled_providers_is_valid() {
    // Validation counts weights, not enabled providers: selection skips such
    // a rule, as the design says.
    let mut set = design_by_operations();
    set.disable_provider(DOMAIN, "origin").unwrap();
    set.add_rule(DOMAIN, rule("r", &["US"], &[("origin", 5)]))
        .unwrap();
    set.validate().unwrap();
}

/// Loads a config made of the design example plus `extra` TOML lines and
/// returns the semantic error.
fn invalid(toml: &str) -> PolicyError {
    match PolicySet::from_toml_str(toml) {
        Err(ConfigError::Invalid(err)) => err,
        other => panic!("expected a semantic error, got {other:?}"),
    }
}

const HEAD: &str = "[builtin]\ncname = \"edge.steerage.example\"\n";

#[test]
fn config_duplicate_policy_ignores_case_and_trailing_dot() {
    let toml =
        format!("{HEAD}[[policy]]\ndomain = \"a.example\"\n[[policy]]\ndomain = \"A.Example.\"\n");
    assert_eq!(
        invalid(&toml),
        PolicyError::DuplicatePolicy {
            domain: "a.example".into()
        }
    );
}

#[test]
fn config_duplicate_provider() {
    let toml = format!(
        "{HEAD}[[policy]]\ndomain = \"a.example\"\n\
         [[policy.provider]]\nname = \"x\"\nkind = \"cdn\"\ncname = \"x.example\"\n\
         [[policy.provider]]\nname = \"x\"\nkind = \"origin\"\ncname = \"y.example\"\n"
    );
    assert_eq!(
        invalid(&toml),
        PolicyError::DuplicateProvider {
            policy: "a.example".into(),
            provider: "x".into()
        }
    );
}

#[test]
fn config_provider_with_the_builtin_name() {
    let toml = format!(
        "{HEAD}[[policy]]\ndomain = \"a.example\"\n\
         [[policy.provider]]\nname = \"builtin\"\nkind = \"cdn\"\ncname = \"x.example\"\n"
    );
    assert_eq!(
        invalid(&toml),
        PolicyError::ProviderNameReserved {
            policy: "a.example".into(),
            provider: "builtin".into()
        }
    );
}

#[test]
fn config_renamed_builtin_provider() {
    let toml = "[builtin]\nname = \"platform\"\ncname = \"edge.example\"\n\
                [[policy]]\ndomain = \"a.example\"\n\
                [policy.default]\ntargets = [{ provider = \"builtin\", weight = 1 }]\n";
    assert_eq!(
        invalid(toml),
        PolicyError::UnknownProvider {
            policy: "a.example".into(),
            rule: "default".into(),
            provider: "builtin".into()
        }
    );
    // Without a default rule, a policy gets 100 % to the built-in provider
    // under its configured name.
    let set = PolicySet::from_toml_str(
        "[builtin]\nname = \"platform\"\ncname = \"edge.example\"\n[[policy]]\ndomain = \"a.example\"\n",
    )
    .unwrap();
    let targets = set.policy("a.example").unwrap().default_rule().targets();
    assert_eq!(targets[0].provider().as_str(), "platform");
    assert_eq!(targets[0].weight().get(), 10_000);
}

#[test]
fn config_cname_loops() {
    let toml = format!(
        "{HEAD}[[policy]]\ndomain = \"a.example\"\n\
         [[policy.provider]]\nname = \"x\"\nkind = \"cdn\"\ncname = \"A.EXAMPLE.\"\n"
    );
    assert_eq!(
        invalid(&toml),
        PolicyError::CnameIsSteeredName {
            policy: "a.example".into(),
            provider: "x".into()
        }
    );
    let toml = format!("{HEAD}[[policy]]\ndomain = \"edge.steerage.example\"\n");
    assert_eq!(
        invalid(&toml),
        PolicyError::CnameIsSteeredName {
            policy: "edge.steerage.example".into(),
            provider: "builtin".into()
        }
    );
}

#[test]
fn config_custom_line_errors() {
    let line = |name: &str, prefixes: &str| {
        format!("{HEAD}[[custom_line]]\nname = \"{name}\"\nprefixes = {prefixes}\n")
    };
    assert_eq!(
        invalid(&line("office", "[]")),
        PolicyError::EmptyCustomLine {
            line: "office".into()
        }
    );
    assert_eq!(
        invalid(&line("office", "[\"10.1.2.3/8\"]")),
        PolicyError::PrefixNotNetwork {
            line: "office".into(),
            prefix: "10.1.2.3/8".into(),
            network: "10.0.0.0/8".into()
        }
    );
    assert_eq!(
        invalid(&line(
            "office",
            "[\"2001:db8::/32\", \"10.0.0.0/8\", \"2001:db8::/32\"]"
        )),
        PolicyError::DuplicatePrefix {
            line: "office".into(),
            prefix: "2001:db8::/32".into()
        }
    );
    let two = format!(
        "{}[[custom_line]]\nname = \"office\"\nprefixes = [\"10.0.0.0/8\"]\n",
        line("office", "[\"192.0.2.0/24\"]")
    );
    assert_eq!(
        invalid(&two),
        PolicyError::DuplicateCustomLine {
            line: "office".into()
        }
    );
}

#[test]
fn config_rule_errors_name_policy_rule_and_line() {
    let toml = format!(
        "{HEAD}[[policy]]\ndomain = \"a.example\"\n\
         [[policy.rule]]\nname = \"one\"\nlines = [\"US-CA\"]\ntargets = [{{ provider = \"builtin\", weight = 1 }}]\n\
         [[policy.rule]]\nname = \"two\"\nlines = [\"us-ca\"]\ntargets = [{{ provider = \"builtin\", weight = 1 }}]\n"
    );
    assert_eq!(
        invalid(&toml),
        PolicyError::DuplicateLine {
            policy: "a.example".into(),
            line: "US-CA".into(),
            rules: ["one".into(), "two".into()]
        }
    );
}

#[test]
fn validate_accepts_every_set_the_operations_build() {
    let mut set = design_by_operations();
    set.add_provider(
        DOMAIN,
        provider("spare", ProviderKind::Cdn, "spare.example").with_enabled(false),
    )
    .unwrap();
    set.validate().unwrap();
}
