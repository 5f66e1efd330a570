//! The design brief's example, built through the operations and loaded from
//! TOML, gives the same set.

use steerage_policy::{
    BuiltinProvider, DomainName, Line, PolicySet, Provider, ProviderKind, Rule, Target, Weight,
};

pub(crate) const DESIGN_TOML: &str = include_str!("../../testdata/design-example.toml");

fn target(provider: &str, weight: u16) -> Target {
    Target::new(provider.parse().unwrap(), Weight::new(weight).unwrap())
}

/// The design example built with the console operations.
pub(crate) fn design_by_operations() -> PolicySet {
    let builtin = BuiltinProvider::new(DomainName::new("edge.steerage.example").unwrap());
    let mut set = PolicySet::new(builtin);
    let d = "www.example.com";
    set.create_policy(d).unwrap();
    for (name, kind, cname) in [
        ("origin", ProviderKind::Origin, "origin.example.com"),
        (
            "vendor-a",
            ProviderKind::Cdn,
            "www.example.com.vendor-a.example",
        ),
        (
            "vendor-b",
            ProviderKind::Cdn,
            "www.example.com.vendor-b.example",
        ),
    ] {
        let p = Provider::new(name.parse().unwrap(), kind, cname.parse().unwrap());
        set.add_provider(d, p).unwrap();
    }
    set.add_rule(
        d,
        Rule::new(
            "beijing".parse().unwrap(),
            vec![Line::parse("CN-BJ").unwrap()],
            vec![target("origin", 100)],
        ),
    )
    .unwrap();
    set.add_rule(
        d,
        Rule::new(
            "china-mainland".parse().unwrap(),
            vec![Line::parse("CN").unwrap()],
            vec![target("vendor-a", 70), target("builtin", 30)],
        ),
    )
    .unwrap();
    set.set_default_targets(d, vec![target("vendor-b", 100)])
        .unwrap();
    set
}

#[test]
fn operations_and_toml_give_equal_sets() {
    let loaded = PolicySet::from_toml_str(DESIGN_TOML).unwrap();
    assert_eq!(loaded, design_by_operations());
}

#[test]
fn design_example_round_trips() {
    let set = design_by_operations();
    let toml = set.to_toml_string().unwrap();
    eprintln!("{toml}");
    assert_eq!(PolicySet::from_toml_str(&toml).unwrap(), set);
    let json = set.to_json_string().unwrap();
    eprintln!("{json}");
    assert_eq!(PolicySet::from_json_str(&json).unwrap(), set);
}
