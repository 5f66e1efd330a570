//! The design brief's example, built through the operations and loaded from
//! TOML, gives the same set.

use steerage_policy::{PolicySet, ProviderKind, SelectionMode, Ttl};

use crate::fixtures::{DESIGN_TOML, DOMAIN, design_by_operations};

#[test]
fn operations_and_toml_give_equal_sets() {
    let loaded = PolicySet::from_toml_str(DESIGN_TOML).unwrap();
    assert_eq!(loaded, design_by_operations());
}

#[test]
fn design_example_reads_back_through_the_getters() {
    let set = PolicySet::from_toml_str(DESIGN_TOML).unwrap();
    assert_eq!(set.builtin().name().as_str(), "builtin");
    assert_eq!(set.builtin().cname().as_str(), "edge.steerage.example");
    assert_eq!(set.len(), 1);
    let policy = set.policy("WWW.EXAMPLE.COM.").unwrap();
    assert_eq!(policy.domain().as_str(), DOMAIN);
    assert!(policy.is_enabled());
    assert_eq!(policy.ttl(), Ttl::DEFAULT);
    assert_eq!(policy.mode(), SelectionMode::Random);
    assert_eq!(
        policy.seed(),
        steerage_policy::Policy::default_seed(policy.domain())
    );
    let names: Vec<&str> = policy
        .providers()
        .iter()
        .map(|p| p.name().as_str())
        .collect();
    assert_eq!(names, ["origin", "vendor-a", "vendor-b"]);
    assert_eq!(
        policy.provider("origin").unwrap().kind(),
        ProviderKind::Origin
    );
    let rules: Vec<&str> = policy.rules().iter().map(|r| r.name().as_str()).collect();
    assert_eq!(rules, ["beijing", "china-mainland"]);
    let china = policy.rule("china-mainland").unwrap();
    assert_eq!(china.lines()[0].to_string(), "CN");
    let weights: Vec<(&str, u16)> = china
        .targets()
        .iter()
        .map(|t| (t.provider().as_str(), t.weight().get()))
        .collect();
    assert_eq!(weights, [("vendor-a", 70), ("builtin", 30)]);
    assert_eq!(
        policy.default_rule().targets()[0].provider().as_str(),
        "vendor-b"
    );
}

#[test]
fn design_example_round_trips_in_both_formats() {
    let set = design_by_operations();
    let toml = set.to_toml_string().unwrap();
    assert_eq!(PolicySet::from_toml_str(&toml).unwrap(), set);
    let json = set.to_json_string().unwrap();
    assert_eq!(PolicySet::from_json_str(&json).unwrap(), set);
}

#[test]
fn saved_toml_is_the_hand_written_file() {
    // The writer produces the documented hand-written style; apart from the
    // comments and the explicit defaults, it is the fixture.
    let written = design_by_operations().to_toml_string().unwrap();
    let fixture: Vec<&str> = DESIGN_TOML
        .lines()
        .filter(|l| !l.starts_with('#'))
        .skip_while(|l| l.is_empty())
        .collect();
    let written: Vec<&str> = written
        .lines()
        .filter(|l| {
            !matches!(
                *l,
                "name = \"builtin\"" | "enabled = true" | "ttl = 600" | "mode = \"random\""
            )
        })
        .collect();
    assert_eq!(written, fixture);
}
