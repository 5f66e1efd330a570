//! Shared builders: the design brief's set, small hand-made location
//! tables, targets.

use std::net::IpAddr;
use std::sync::Arc;

use steerage_engine::Snapshot;
use steerage_geo::{Country, Isp, Location, LocationTable, Subdivision, TableBuilder};
use steerage_policy::{
    BuiltinProvider, DomainName, Line, PolicySet, Provider, ProviderKind, Rule, Target, Weight,
};

pub(crate) const DOMAIN: &str = "www.example.com";

pub(crate) fn target(provider: &str, weight: u16) -> Target {
    Target::new(provider.parse().unwrap(), Weight::new(weight).unwrap())
}

pub(crate) fn line(code: &str) -> Line {
    Line::parse(code).unwrap()
}

pub(crate) fn rule(name: &str, lines: &[&str], targets: Vec<Target>) -> Rule {
    Rule::new(
        name.parse().unwrap(),
        lines.iter().map(|l| line(l)).collect(),
        targets,
    )
}

pub(crate) fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub(crate) fn empty_set() -> PolicySet {
    PolicySet::new(BuiltinProvider::new(
        DomainName::new("edge.steerage.example").unwrap(),
    ))
}

/// A set with `domain` and providers `origin`, `vendor-a`, `vendor-b`.
pub(crate) fn with_providers(set: &mut PolicySet, domain: &str) {
    set.create_policy(domain).unwrap();
    for (name, kind, cname) in [
        ("origin", ProviderKind::Origin, "origin.example.com"),
        ("vendor-a", ProviderKind::Cdn, "www.vendor-a.example"),
        ("vendor-b", ProviderKind::Cdn, "www.vendor-b.example"),
    ] {
        set.add_provider(
            domain,
            Provider::new(name.parse().unwrap(), kind, cname.parse().unwrap()),
        )
        .unwrap();
    }
}

/// The design brief's example: Beijing -> origin, China mainland -> vendor A
/// 70 / built-in 30, everyone else -> vendor B.
pub(crate) fn design_set() -> PolicySet {
    let mut set = empty_set();
    with_providers(&mut set, DOMAIN);
    set.add_rule(
        DOMAIN,
        rule("beijing", &["CN-BJ"], vec![target("origin", 100)]),
    )
    .unwrap();
    set.add_rule(
        DOMAIN,
        rule(
            "china-mainland",
            &["CN"],
            vec![target("vendor-a", 70), target("builtin", 30)],
        ),
    )
    .unwrap();
    set.set_default_targets(DOMAIN, vec![target("vendor-b", 100)])
        .unwrap();
    set
}

pub(crate) fn sample() -> Arc<LocationTable> {
    Arc::new(LocationTable::sample())
}

pub(crate) fn compile(set: &PolicySet) -> Snapshot {
    Snapshot::compile(set, sample(), 1).unwrap()
}

/// A location with every field set: CN / CN-BJ / telecom / AS.
pub(crate) fn beijing_telecom() -> Location {
    let mut l = Location::default();
    l.country = Country::from_code("CN");
    l.subdivision = Subdivision::from_code("CN-BJ");
    l.isp = Some(Isp::Telecom);
    l.continent = l.country.map(Country::continent);
    l
}

/// A table with one location over `10.0.0.0/8` (and nothing else).
pub(crate) fn one_location_table(location: &Location) -> Arc<LocationTable> {
    let mut b = TableBuilder::new("test table");
    b.push_network("10.0.0.0/8".parse().unwrap(), location)
        .unwrap();
    Arc::new(b.finish().unwrap())
}
