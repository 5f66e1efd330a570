//! The design example and short constructors the tests build from.

use std::net::IpAddr;

use steerage::Steering;
use steerage::geo::{LocationTable, SAMPLE_RANGES};
use steerage::policy::{
    BuiltinProvider, DomainName, Line, PolicySet, Provider, ProviderKind, Rule, Target, Weight,
};

/// The design example's domain.
pub(crate) const DOMAIN: &str = "www.example.com";

/// The built-in provider's CNAME.
pub(crate) const BUILTIN_CNAME: &str = "edge.steerage.example";

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

pub(crate) fn empty_set() -> PolicySet {
    PolicySet::new(BuiltinProvider::new(
        DomainName::new(BUILTIN_CNAME).unwrap(),
    ))
}

/// The design example: Beijing -> origin, China mainland -> vendor-a 70 /
/// builtin 30, default -> vendor-b.
pub(crate) fn design_set() -> PolicySet {
    let mut set = empty_set();
    set.create_policy(DOMAIN).unwrap();
    set.add_provider(
        DOMAIN,
        provider("origin", ProviderKind::Origin, "origin.example.com"),
    )
    .unwrap();
    set.add_provider(
        DOMAIN,
        provider("vendor-a", ProviderKind::Cdn, "a.cdn.example"),
    )
    .unwrap();
    set.add_provider(
        DOMAIN,
        provider("vendor-b", ProviderKind::Cdn, "b.cdn.example"),
    )
    .unwrap();
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

/// A `Steering` over the design example and the sample location table.
pub(crate) fn design_steering() -> Steering {
    Steering::builder()
        .config(design_set())
        .locations(LocationTable::sample())
        .build()
        .unwrap()
}

/// A `Steering` on the config file `path` and the sample table.
pub(crate) fn steering_on(path: &std::path::Path) -> Steering {
    Steering::builder()
        .config_file(path)
        .locations(LocationTable::sample())
        .build()
        .unwrap()
}

/// The sample dataset's example client in the range of that location
/// (`"CN-BJ/telecom"`, `"DE"`, ...).
pub(crate) fn client(location: &str) -> IpAddr {
    let row = SAMPLE_RANGES
        .iter()
        .find(|r| {
            let code = r.subdivision.map_or(r.country.code(), |s| s.code());
            match r.isp {
                Some(isp) => format!("{code}/{}", isp.code()) == location,
                None => code == location,
            }
        })
        .unwrap_or_else(|| panic!("no sample client in {location}"));
    row.client
}

/// An address outside every sample range.
pub(crate) fn unknown_client() -> IpAddr {
    "8.8.8.8".parse().unwrap()
}

/// (provider, cname, rule) of a decision.
pub(crate) type Answer = (String, String, String);

/// (provider, cname, rule) of a decision, for compact assertions.
pub(crate) fn answer(steering: &Steering, ip: IpAddr) -> Option<Answer> {
    steering.select(DOMAIN, ip).map(|s| {
        (
            s.provider().to_owned(),
            s.cname().to_owned(),
            s.rule().to_owned(),
        )
    })
}
