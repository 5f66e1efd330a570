//! The ECS scope is true: every address inside the returned scope gets the
//! same rule (and, for sticky picks, the same provider). Checked on random
//! tables and policies, with and without rule-merged range maps.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use proptest::prelude::*;
use steerage_engine::{Compiler, Snapshot};
use steerage_geo::{Country, Isp, Location, LocationTable, Subdivision, TableBuilder};
use steerage_policy::{CustomLine, CustomLineName, PolicySet, SelectionMode};

use crate::fixtures::*;

/// Addresses live in 10.0.0.0/15 (and a little around it).
const BASE: u32 = 0x0a00_0000;
const SPAN: u32 = 1 << 17;

fn palette() -> Vec<Location> {
    let loc = |country: &str, sub: Option<&str>, isp: Option<Isp>| {
        let mut l = Location::default();
        l.country = Country::from_code(country);
        l.subdivision = sub.and_then(Subdivision::from_code);
        l.isp = isp;
        l
    };
    vec![
        Location::default(),
        loc("CN", Some("CN-BJ"), Some(Isp::Telecom)),
        loc("CN", Some("CN-BJ"), Some(Isp::Unicom)),
        loc("CN", Some("CN-SH"), Some(Isp::Telecom)),
        loc("CN", None, Some(Isp::Mobile)),
        loc("CN", None, None),
        loc("US", Some("US-CA"), None),
        loc("US", None, None),
        loc("DE", None, None),
    ]
}

const LINES: [&str; 11] = [
    "CN-BJ",
    "CN-SH",
    "CN",
    "US",
    "CN/telecom",
    "CN-BJ/unicom",
    "continent:NA",
    "continent:EU",
    "US-CA",
    "cidr:a",
    "cidr:b",
];

fn table(cuts: &[(u32, usize)]) -> Arc<LocationTable> {
    let palette = palette();
    let mut cuts: Vec<(u32, usize)> = cuts.iter().map(|&(c, l)| (BASE + c % SPAN, l)).collect();
    cuts.sort_unstable();
    cuts.dedup_by_key(|c| c.0);
    let mut b = TableBuilder::new("random test table");
    for w in cuts.windows(2) {
        let id = b.intern(&palette[w[0].1 % palette.len()]);
        b.push_v4(w[0].0, w[1].0 - 1, id).unwrap();
    }
    Arc::new(b.finish().unwrap())
}

/// A policy: each rule a set of line indices (lines used once), enabled or
/// not; targets by weight.
fn set(
    rules: &[(Vec<usize>, bool, Vec<u16>)],
    custom: &[(u32, u8)],
    mode: SelectionMode,
) -> PolicySet {
    let mut set = empty_set();
    for (i, name) in ["a", "b"].iter().enumerate() {
        let prefixes = custom
            .iter()
            .skip(i)
            .step_by(2)
            .map(|&(addr, len)| {
                let len = 14 + len % 15;
                ipnet::IpNet::new(IpAddr::V4(Ipv4Addr::from(BASE + addr % SPAN)), len)
                    .unwrap()
                    .trunc()
            })
            .collect::<std::collections::BTreeSet<_>>();
        let prefixes: Vec<_> = if prefixes.is_empty() {
            vec!["192.168.0.0/16".parse().unwrap()]
        } else {
            prefixes.into_iter().collect()
        };
        set.add_custom_line(CustomLine::new(CustomLineName::new(name).unwrap(), prefixes).unwrap())
            .unwrap();
    }
    with_providers(&mut set, DOMAIN);
    let mut used = std::collections::HashSet::new();
    for (i, (lines, enabled, weights)) in rules.iter().enumerate() {
        let lines: Vec<&str> = lines
            .iter()
            .map(|&l| LINES[l % LINES.len()])
            .filter(|l| used.insert(*l))
            .collect();
        if lines.is_empty() {
            continue;
        }
        let mut targets: Vec<_> = ["origin", "vendor-a", "vendor-b"]
            .iter()
            .zip(weights)
            .map(|(p, &w)| target(p, w))
            .collect();
        if targets.iter().all(|t| t.weight().get() == 0) {
            targets[0] = target("origin", 1);
        }
        set.add_rule(
            DOMAIN,
            rule(&format!("r{i}"), &lines, targets).with_enabled(*enabled),
        )
        .unwrap();
    }
    set.set_default_targets(DOMAIN, vec![target("vendor-a", 2), target("vendor-b", 1)])
        .unwrap();
    set.set_mode(DOMAIN, mode).unwrap();
    set
}

fn arb_rules() -> impl Strategy<Value = Vec<(Vec<usize>, bool, Vec<u16>)>> {
    prop::collection::vec(
        (
            prop::collection::vec(0usize..LINES.len(), 1..4),
            prop::bool::weighted(0.85),
            prop::collection::vec(prop_oneof![Just(0u16), 1u16..100], 1..4),
        ),
        0..5,
    )
}

/// Addresses spread over `net`: both ends and `n` in between.
fn samples(net: ipnet::Ipv4Net, n: u32, salt: u32) -> Vec<IpAddr> {
    let first = u32::from(net.network());
    let last = u32::from(net.broadcast());
    let size = u64::from(last - first) + 1;
    let mut out = vec![first, last];
    for i in 0..n {
        let step = (u64::from(i.wrapping_mul(0x9e37_79b9) ^ salt) % size) as u32;
        out.push(first + step);
    }
    out.into_iter().map(|a| IpAddr::V4(a.into())).collect()
}

fn check_scope(
    snap: &Snapshot,
    reference: &Snapshot,
    client: IpAddr,
    sticky: bool,
) -> Result<u8, TestCaseError> {
    let d = snap.select(DOMAIN, client).unwrap();
    let r = reference.select(DOMAIN, client).unwrap();
    // Merged and unmerged paths agree on the rule.
    prop_assert_eq!(d.rule(), r.rule(), "{}", client);
    let IpAddr::V4(v4) = client else {
        unreachable!()
    };
    let net = ipnet::Ipv4Net::new(v4, d.scope_prefix()).unwrap().trunc();
    for x in samples(net, 48, u32::from(v4)) {
        let e = snap.select(DOMAIN, x).unwrap();
        prop_assert_eq!(e.rule(), d.rule(), "{} in scope {} of {}", x, net, client);
        prop_assert_eq!(e.scope_prefix() <= 32, true);
        if sticky {
            prop_assert_eq!(
                e.provider(),
                d.provider(),
                "{} in scope {} of {}",
                x,
                net,
                client
            );
        }
    }
    Ok(d.scope_prefix())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_address_in_the_scope_gets_the_same_rule(
        cuts in prop::collection::vec((any::<u32>(), any::<usize>()), 2..40),
        rules in arb_rules(),
        custom in prop::collection::vec((any::<u32>(), any::<u8>()), 0..4),
        sticky in any::<bool>(),
        clients in prop::collection::vec(0u32..SPAN + 4096, 20),
    ) {
        let table = table(&cuts);
        let mode = if sticky { SelectionMode::Sticky } else { SelectionMode::Random };
        let set = set(&rules, &custom, mode);
        let merged = Compiler::new(table.clone()).compile(&set, 1).unwrap();
        let unmerged = Compiler::new(table).with_merge_budget(0).compile(&set, 1).unwrap();
        prop_assert!(merged.stats().merged_groups <= 1);
        prop_assert_eq!(unmerged.stats().merged_groups, 0);
        for c in clients {
            let client = IpAddr::V4(Ipv4Addr::from((BASE - 2048).wrapping_add(c)));
            let wide = check_scope(&merged, &unmerged, client, sticky)?;
            let narrow = check_scope(&unmerged, &merged, client, sticky)?;
            // Merging by rule never narrows the scope.
            prop_assert!(wide <= narrow, "{}: merged /{} vs location /{}", client, wide, narrow);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A subnet's decision is its network address's, scope included, whatever
    /// the subnet's prefix: shorter or longer than the scope (a subnet that
    /// mixes answers gets the longer scope, RFC 7871 section 7.2.1), and that
    /// scope is true (every address in it gets the same rule, and the same
    /// provider when sticky). An IPv4-mapped IPv6 subnet gets the same answer
    /// with the scope counted in IPv6 bits.
    #[test]
    fn a_subnets_scope_is_true_whatever_its_prefix(
        cuts in prop::collection::vec((any::<u32>(), any::<usize>()), 2..40),
        rules in arb_rules(),
        custom in prop::collection::vec((any::<u32>(), any::<u8>()), 0..4),
        sticky in any::<bool>(),
        clients in prop::collection::vec((0u32..SPAN + 4096, 0u8..=32), 12),
    ) {
        let table = table(&cuts);
        let mode = if sticky { SelectionMode::Sticky } else { SelectionMode::Random };
        let snap = Compiler::new(table).compile(&set(&rules, &custom, mode), 1).unwrap();
        for (c, prefix) in clients {
            let address = Ipv4Addr::from((BASE - 2048).wrapping_add(c));
            let net = ipnet::Ipv4Net::new(address, prefix).unwrap().trunc();
            let d = snap.select_subnet(DOMAIN, net.into()).unwrap();
            let alone = snap.select(DOMAIN, IpAddr::V4(net.network())).unwrap();
            prop_assert_eq!(d.rule(), alone.rule(), "{}", net);
            prop_assert_eq!(d.scope_prefix(), alone.scope_prefix(), "{}", net);
            if sticky {
                prop_assert_eq!(d.provider(), alone.provider(), "{}", net);
            }
            check_scope(&snap, &snap, IpAddr::V4(net.network()), sticky)?;

            let mapped = ipnet::Ipv6Net::new(net.network().to_ipv6_mapped(), 96 + prefix).unwrap();
            let m = snap.select_subnet(DOMAIN, mapped.into()).unwrap();
            prop_assert_eq!(m.rule(), d.rule(), "{}", mapped);
            prop_assert_eq!(m.scope_prefix(), 96 + d.scope_prefix(), "{}", mapped);
        }
    }
}

#[test]
fn merging_by_rule_widens_the_scope() {
    // China mainland ranges of several provinces merge into one scope when
    // the policy only distinguishes the country.
    let mut set = empty_set();
    with_providers(&mut set, DOMAIN);
    set.add_rule(DOMAIN, rule("china", &["CN"], vec![target("origin", 1)]))
        .unwrap();
    let snap = compile(&set);
    // 198.18.0.0/24 - 198.18.3.0/24 are four CN locations (GD telecom,
    // unicom, mobile, CN cernet): one /22 for this policy.
    let d = snap.select(DOMAIN, ip("198.18.1.9")).unwrap();
    assert_eq!((d.rule(), d.scope_prefix()), ("china", 22));
    let unmerged = Compiler::new(sample())
        .with_merge_budget(0)
        .compile(&set, 1)
        .unwrap();
    assert_eq!(
        unmerged
            .select(DOMAIN, ip("198.18.1.9"))
            .unwrap()
            .scope_prefix(),
        24
    );
}
