//! Policy sets of any size for the benches: `n` copies of the design example
//! under different domains, on the built-in sample location table.

use std::net::IpAddr;

use steerage::Steering;
use steerage::geo::{Line, LocationTable, SAMPLE_RANGES};
use steerage::policy::{
    BuiltinProvider, DomainName, PolicySet, Provider, ProviderKind, Rule, Target, Weight,
};

/// The domain of policy `i`.
pub(crate) fn domain(i: usize) -> String {
    format!("www{i}.example.com")
}

fn target(provider: &str, weight: u16) -> Target {
    Target::new(provider.parse().unwrap(), Weight::new(weight).unwrap())
}

/// The design example's China rule with vendor-a at `weight` (out of 100).
pub(crate) fn china_rule(weight: u16) -> Rule {
    Rule::new(
        "china-mainland".parse().unwrap(),
        vec![Line::parse("CN").unwrap()],
        vec![target("vendor-a", weight), target("builtin", 100 - weight)],
    )
}

/// `n` policies, each the design example: three providers, the Beijing and
/// China rules and the default rule.
pub(crate) fn policies(n: usize) -> PolicySet {
    let builtin = BuiltinProvider::new(DomainName::new("edge.steerage.example").unwrap());
    let mut set = PolicySet::new(builtin);
    for i in 0..n {
        let d = domain(i);
        set.create_policy(&d).unwrap();
        for (name, kind, cname) in [
            ("origin", ProviderKind::Origin, "origin.example.com"),
            ("vendor-a", ProviderKind::Cdn, "a.cdn.example"),
            ("vendor-b", ProviderKind::Cdn, "b.cdn.example"),
        ] {
            let provider = Provider::new(name.parse().unwrap(), kind, cname.parse().unwrap());
            set.add_provider(&d, provider).unwrap();
        }
        let beijing = Rule::new(
            "beijing".parse().unwrap(),
            vec![Line::parse("CN-BJ").unwrap()],
            vec![target("origin", 1)],
        );
        set.add_rule(&d, beijing).unwrap();
        set.add_rule(&d, china_rule(70)).unwrap();
        set.set_default_targets(&d, vec![target("vendor-b", 1)])
            .unwrap();
    }
    set
}

/// A `Steering` over `n` policies and the sample table.
pub(crate) fn steering(n: usize) -> Steering {
    Steering::builder()
        .config(policies(n))
        .locations(LocationTable::sample())
        .build()
        .unwrap()
}

/// `count` queries spread over the `n` domains and the sample clients.
pub(crate) fn queries(n: usize, count: usize) -> Vec<(String, IpAddr)> {
    (0..count)
        .map(|i| {
            let client = SAMPLE_RANGES[i % SAMPLE_RANGES.len()].client;
            (domain((i * 7919) % n), client)
        })
        .collect()
}

/// Whether the binary runs as a benchmark (`cargo bench`) rather than as a
/// smoke test (`cargo test --benches`, where criterion runs each bench once).
pub(crate) fn benchmarking() -> bool {
    std::env::args().any(|a| a == "--bench")
}
