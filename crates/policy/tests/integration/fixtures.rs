//! Values the tests build from: the design example and short constructors.

use steerage_policy::{
    BuiltinProvider, CustomLine, DomainName, Line, PolicySet, Provider, ProviderKind, Rule, Target,
    Weight,
};

/// The design example as a TOML file.
pub(crate) const DESIGN_TOML: &str = include_str!("../../testdata/design-example.toml");

/// The design example's domain.
pub(crate) const DOMAIN: &str = "www.example.com";

pub(crate) fn target(provider: &str, weight: u16) -> Target {
    Target::new(provider.parse().unwrap(), Weight::new(weight).unwrap())
}

pub(crate) fn rule(name: &str, lines: &[&str], targets: &[(&str, u16)]) -> Rule {
    Rule::new(
        name.parse().unwrap(),
        lines.iter().map(|l| Line::parse(l).unwrap()).collect(),
        targets.iter().map(|&(p, w)| target(p, w)).collect(),
    )
}

pub(crate) fn provider(name: &str, kind: ProviderKind, cname: &str) -> Provider {
    Provider::new(name.parse().unwrap(), kind, cname.parse().unwrap())
}

pub(crate) fn custom_line(name: &str, prefixes: &[&str]) -> CustomLine {
    CustomLine::new(
        steerage_policy::CustomLineName::new(name).unwrap(),
        prefixes.iter().map(|p| p.parse().unwrap()).collect(),
    )
    .unwrap()
}

pub(crate) fn empty_set() -> PolicySet {
    PolicySet::new(BuiltinProvider::new(
        DomainName::new("edge.steerage.example").unwrap(),
    ))
}

/// The design example built with the console operations.
pub(crate) fn design_by_operations() -> PolicySet {
    let mut set = empty_set();
    set.create_policy(DOMAIN).unwrap();
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
        set.add_provider(DOMAIN, provider(name, kind, cname))
            .unwrap();
    }
    set.add_rule(DOMAIN, rule("beijing", &["CN-BJ"], &[("origin", 100)]))
        .unwrap();
    set.add_rule(
        DOMAIN,
        rule(
            "china-mainland",
            &["CN"],
            &[("vendor-a", 70), ("builtin", 30)],
        ),
    )
    .unwrap();
    set.set_default_targets(DOMAIN, vec![target("vendor-b", 100)])
        .unwrap();
    set
}
