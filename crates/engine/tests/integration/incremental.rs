//! The incremental compiler gives exactly what a fresh compile gives, after
//! every kind of change.

use std::net::IpAddr;

use steerage_engine::{Compiler, Snapshot};
use steerage_policy::{
    CustomLine, CustomLineName, PolicySet, Provider, ProviderKind, SelectionMode, Ttl,
};

use crate::fixtures::*;

const CLIENTS: [&str; 14] = [
    "192.0.2.10",
    "192.0.2.200",
    "198.18.0.7",
    "198.18.1.7",
    "198.18.2.7",
    "198.18.3.7",
    "198.18.4.7",
    "198.18.5.7",
    "198.51.100.7",
    "203.0.113.7",
    "2001:db8:100::7",
    "2001:db8:300::7",
    "10.9.8.7",
    "::1",
];

const DOMAINS: [&str; 3] = ["www.example.com", "api.example.com", "img.example.org"];

fn same(a: &Snapshot, b: &Snapshot) {
    same_but_scope(a, b, true);
}

/// `same`, comparing scopes only with `scopes`.
fn same_but_scope(a: &Snapshot, b: &Snapshot, scopes: bool) {
    assert_eq!(
        a.domains().collect::<Vec<_>>(),
        b.domains().collect::<Vec<_>>()
    );
    for domain in a.domains().chain(["missing.example"]) {
        for client in CLIENTS {
            let client: IpAddr = client.parse().unwrap();
            let x = a.select(domain, client);
            let y = b.select(domain, client);
            let key = |d: Option<steerage_engine::Decision<'_>>| {
                d.map(|d| {
                    (
                        d.provider().to_owned(),
                        d.cname().to_owned(),
                        d.rule().to_owned(),
                        d.line().cloned(),
                        d.ttl(),
                        if scopes { d.scope_prefix() } else { 0 },
                    )
                })
            };
            assert_eq!(key(x), key(y), "{domain} {client}");
        }
    }
}

fn base_set() -> PolicySet {
    let mut set = empty_set();
    for d in DOMAINS {
        with_providers(&mut set, d);
        set.set_mode(d, SelectionMode::Sticky).unwrap();
        set.add_rule(d, rule("beijing", &["CN-BJ"], vec![target("origin", 1)]))
            .unwrap();
        set.add_rule(
            d,
            rule(
                "china",
                &["CN"],
                vec![target("vendor-a", 3), target("vendor-b", 1)],
            ),
        )
        .unwrap();
    }
    set
}

type Change = fn(&mut PolicySet);

fn changes() -> Vec<(&'static str, Change)> {
    vec![
        ("weights", |s| {
            s.update_rule(
                DOMAINS[0],
                "china",
                rule(
                    "china",
                    &["CN"],
                    vec![target("vendor-a", 1), target("vendor-b", 9)],
                ),
            )
            .unwrap();
        }),
        ("disable rule", |s| {
            s.disable_rule(DOMAINS[1], "beijing").unwrap()
        }),
        ("enable rule", |s| {
            s.enable_rule(DOMAINS[1], "beijing").unwrap()
        }),
        ("disable provider", |s| {
            s.disable_provider(DOMAINS[2], "origin").unwrap()
        }),
        ("add rule", |s| {
            s.add_rule(
                DOMAINS[0],
                rule("gd", &["CN-GD", "IN-MH"], vec![target("origin", 1)]),
            )
            .unwrap();
        }),
        ("custom line", |s| {
            s.add_custom_line(
                CustomLine::new(
                    CustomLineName::new("office").unwrap(),
                    vec!["198.18.0.0/23".parse().unwrap()],
                )
                .unwrap(),
            )
            .unwrap();
            s.add_rule(
                DOMAINS[1],
                rule("office", &["cidr:office"], vec![target("vendor-b", 1)]),
            )
            .unwrap();
        }),
        ("change custom line", |s| {
            s.update_custom_line(
                CustomLine::new(
                    CustomLineName::new("office").unwrap(),
                    vec![
                        "198.18.1.0/24".parse().unwrap(),
                        "2001:db8:300::/48".parse().unwrap(),
                    ],
                )
                .unwrap(),
            )
            .unwrap();
        }),
        ("cname", |s| {
            s.update_provider(
                DOMAINS[0],
                "vendor-a",
                Provider::new(
                    "vendor-a".parse().unwrap(),
                    ProviderKind::Cdn,
                    "moved.vendor-a.example".parse().unwrap(),
                ),
            )
            .unwrap();
        }),
        ("ttl", |s| {
            s.set_ttl(DOMAINS[2], Ttl::new(30).unwrap()).unwrap()
        }),
        ("seed", |s| s.set_seed(DOMAINS[2], 7).unwrap()),
        ("random mode", |s| {
            s.set_mode(DOMAINS[2], SelectionMode::Random).unwrap();
            s.update_rule(
                DOMAINS[2],
                "china",
                rule("china", &["CN"], vec![target("vendor-a", 1)]),
            )
            .unwrap();
        }),
        ("disable policy", |s| s.disable_policy(DOMAINS[1]).unwrap()),
        ("new policy", |s| {
            with_providers(s, "aaa.example.net");
            s.add_rule(
                "aaa.example.net",
                rule("us", &["US"], vec![target("vendor-a", 1)]),
            )
            .unwrap();
        }),
        ("delete policy", |s| {
            s.delete_policy(DOMAINS[1]).unwrap();
        }),
        ("delete rule", |s| {
            s.delete_rule(DOMAINS[0], "gd").unwrap();
        }),
        ("default targets", |s| {
            s.set_default_targets(DOMAINS[0], vec![target("vendor-b", 1), target("origin", 1)])
                .unwrap();
        }),
    ]
}

#[test]
fn incremental_compiles_equal_fresh_compiles() {
    let mut set = base_set();
    let mut compiler = Compiler::new(sample());
    let first = compiler.compile(&set, 1).unwrap();
    same(&first, &Snapshot::compile(&set, sample(), 1).unwrap());
    for (version, (name, change)) in (2..).zip(changes()) {
        change(&mut set);
        let incremental = compiler.compile(&set, version).unwrap();
        let fresh = Snapshot::compile(&set, sample(), version).unwrap();
        assert_eq!(incremental.version(), version, "{name}");
        same(&incremental, &fresh);
    }
}

#[test]
fn unchanged_compiles_and_location_switches() {
    let set = base_set();
    let mut compiler = Compiler::new(sample());
    let a = compiler.compile(&set, 1).unwrap();
    let b = compiler.compile(&set, 2).unwrap();
    same(&a, &b);
    assert_eq!(
        b.stats().groups,
        1,
        "three policies of one structure share a group"
    );
    // A new base table: everything recompiled against it.
    let table = one_location_table(&beijing_telecom());
    compiler.set_locations(table.clone());
    let c = compiler.compile(&set, 3).unwrap();
    same(&c, &Snapshot::compile(&set, table, 3).unwrap());
    assert_eq!(
        c.select(DOMAINS[0], ip("10.1.1.1")).unwrap().rule(),
        "beijing"
    );
}

#[test]
fn groups_share_structures_and_respect_the_merge_budget() {
    let mut set = empty_set();
    for i in 0..20 {
        let d = format!("d{i}.example.com");
        with_providers(&mut set, &d);
        let line = ["CN-BJ", "US", "CN", "DE"][i % 4];
        set.add_rule(&d, rule("r", &[line], vec![target("origin", 1)]))
            .unwrap();
    }
    let snap = Compiler::new(sample()).compile(&set, 1).unwrap();
    let stats = snap.stats();
    assert_eq!(
        (stats.policies, stats.groups, stats.merged_groups),
        (20, 4, 4)
    );
    let snap = Compiler::new(sample())
        .with_merge_budget(0)
        .compile(&set, 1)
        .unwrap();
    assert_eq!(snap.stats().merged_groups, 0);
    // Without merged maps scopes are the locations' (narrower, still true).
    same_but_scope(&snap, &Snapshot::compile(&set, sample(), 1).unwrap(), false);
}

#[test]
fn an_equal_set_loaded_anew_compiles_alike() {
    // Policies of a reloaded config are equal but not the same shared
    // values: the compiler compares them by value and keeps going.
    let set = base_set();
    let mut compiler = Compiler::new(sample());
    let first = compiler.compile(&set, 1).unwrap();
    let mut reloaded = PolicySet::from_toml_str(&set.to_toml_string().unwrap()).unwrap();
    assert_eq!(reloaded, set);
    let second = compiler.compile(&reloaded, 2).unwrap();
    same(&first, &second);
    reloaded.disable_rule(DOMAINS[0], "beijing").unwrap();
    let third = compiler.compile(&reloaded, 3).unwrap();
    same(&third, &Snapshot::compile(&reloaded, sample(), 3).unwrap());
    assert_eq!(
        third.select(DOMAINS[0], ip("192.0.2.10")).unwrap().rule(),
        "china"
    );
}
