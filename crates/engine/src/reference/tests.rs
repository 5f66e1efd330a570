//! `select`, `select_subnet`, `explain` and the ECS scopes checked against
//! the definition on random policy sets and random location tables.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ipnet::IpNet;
use proptest::prelude::*;
use steerage_geo::{
    Continent, Country, CustomLineName, Isp, Location, LocationTable, Subdivision, TableBuilder,
};
use steerage_policy::{
    BuiltinProvider, CustomLine, DomainName, HealthOutcome, Line, OnAllDown, Policy, PolicySet,
    Provider, ProviderKind, Rule, SelectionMode, Target, Weight,
};

use super::{Selection, select};
use crate::compiled::ProviderAnswer;
use crate::pick::{WeightedPick, fnv1a, mix, sticky_client_key, sticky_target_key};
use crate::{Compiler, RuleOutcome, Snapshot};

/// Where random IPv4 ranges and custom prefixes start, and how far they
/// reach (so that they overlap often).
const V4_BASE: u32 = 0x0a00_0000;
const V4_SPAN: u32 = 1 << 18;
const V6_BASE: u128 = 0x2001_0db8 << 96;
const V6_SPAN_BITS: u32 = 72;

/// Lines of every kind; `cidr:c*` exist only when the set has that custom
/// line (a rule naming a missing one is refused and left out).
const LINES: &[&str] = &[
    "cidr:c0",
    "cidr:c1",
    "cidr:c2",
    "CN-BJ/telecom",
    "CN-SH/unicom",
    "CN-BJ",
    "CN-SH",
    "US-CA",
    "CN/telecom",
    "CN/mobile",
    "CN",
    "US",
    "DE",
    "continent:AS",
    "continent:EU",
    "continent:NA",
];

/// Providers `p0`..`p3`; index 4 names the built-in provider.
const PROVIDERS: usize = 4;

fn locations() -> Vec<Location> {
    let at = |country: Option<Country>,
              subdivision: Option<&str>,
              isp: Option<Isp>,
              continent: Option<Continent>| {
        let mut location = Location::default();
        location.continent = continent;
        location.country = country;
        location.subdivision = subdivision.and_then(Subdivision::from_code);
        location.isp = isp;
        location
    };
    let cn = Some(Country::CHINA);
    let us = Country::from_code("US");
    let de = Country::from_code("DE");
    vec![
        at(cn, Some("CN-BJ"), Some(Isp::Telecom), None),
        at(cn, Some("CN-BJ"), Some(Isp::Unicom), None),
        at(cn, Some("CN-SH"), Some(Isp::Unicom), None),
        at(cn, Some("CN-SH"), None, None),
        at(cn, None, Some(Isp::Mobile), None),
        at(cn, None, None, None),
        at(us, Some("US-CA"), None, None),
        at(us, None, None, None),
        at(
            de,
            None,
            None,
            Continent::ALL.iter().copied().find(|c| c.code() == "EU"),
        ),
        at(
            None,
            None,
            None,
            Continent::ALL.iter().copied().find(|c| c.code() == "AS"),
        ),
        Location::default(),
    ]
}

/// A random location table: consecutive IPv4 and IPv6 ranges of random
/// lengths, each with a location from the pool or left out (unknown).
fn table(v4: &[(u32, Option<usize>)], v6: &[(u128, Option<usize>)]) -> Arc<LocationTable> {
    let pool = locations();
    let mut b = TableBuilder::new("random table");
    let mut start = V4_BASE;
    for &(len, loc) in v4 {
        let end = start + len - 1;
        if let Some(loc) = loc {
            let id = b.intern(&pool[loc % pool.len()]);
            b.push_v4(start, end, id).unwrap();
        }
        start = end + 1;
    }
    let mut start = V6_BASE;
    for &(len, loc) in v6 {
        let end = start + len - 1;
        if let Some(loc) = loc {
            let id = b.intern(&pool[loc % pool.len()]);
            b.push_v6(start, end, id).unwrap();
        }
        start = end + 1;
    }
    Arc::new(b.finish().unwrap())
}

#[derive(Debug, Clone)]
struct RuleSpec {
    lines: Vec<usize>,
    targets: Vec<(usize, u16)>,
    enabled: bool,
}

#[derive(Debug, Clone)]
struct PolicySpec {
    enabled: bool,
    sticky: bool,
    seed: u64,
    providers_enabled: Vec<bool>,
    rules: Vec<RuleSpec>,
    default: Vec<(usize, u16)>,
}

fn targets() -> impl Strategy<Value = Vec<(usize, u16)>> {
    prop::collection::vec(
        (0..=PROVIDERS, prop::sample::select(vec![0u16, 1, 3, 100])),
        1..4,
    )
}

fn policy_spec() -> impl Strategy<Value = PolicySpec> {
    let rule = (
        prop::collection::vec(0..LINES.len(), 1..4),
        targets(),
        prop::bool::weighted(0.85),
    )
        .prop_map(|(lines, targets, enabled)| RuleSpec {
            lines,
            targets,
            enabled,
        });
    (
        prop::bool::weighted(0.85),
        any::<bool>(),
        any::<u64>(),
        prop::collection::vec(prop::bool::weighted(0.75), PROVIDERS),
        prop::collection::vec(rule, 1..8),
        targets(),
    )
        .prop_map(
            |(enabled, sticky, seed, providers_enabled, rules, default)| PolicySpec {
                enabled,
                sticky,
                seed,
                providers_enabled,
                rules,
                default,
            },
        )
}

/// A custom line's prefix: IPv4 in the random table's span, sometimes IPv6.
fn prefix() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        4 => (0..V4_SPAN / 2, 15u8..=30).prop_map(|(offset, len)| {
            IpNet::new(IpAddr::V4(Ipv4Addr::from(V4_BASE + offset)), len)
                .unwrap()
                .trunc()
        }),
        1 => (any::<u128>(), 40u8..=64).prop_map(|(bits, len)| {
            let ip = V6_BASE | (bits >> (128 - V6_SPAN_BITS));
            IpNet::new(IpAddr::V6(Ipv6Addr::from(ip)), len).unwrap().trunc()
        }),
    ]
}

fn target(provider: usize, weight: u16) -> Target {
    let name = if provider >= PROVIDERS {
        BuiltinProvider::DEFAULT_NAME.to_owned()
    } else {
        format!("p{provider}")
    };
    Target::new(name.parse().unwrap(), Weight::new(weight).unwrap())
}

/// Targets, the first of each provider.
fn distinct_targets(specs: &[(usize, u16)]) -> Vec<Target> {
    let mut seen = Vec::new();
    specs
        .iter()
        .filter(|&&(p, _)| {
            let new = !seen.contains(&p);
            seen.push(p);
            new
        })
        .map(|&(p, w)| target(p, w))
        .collect()
}

/// A set built through the console operations; an operation that
/// validation refuses (an ambiguous line, a missing custom line, an empty
/// rule) is left out, so the set is valid by construction.
fn build_set(custom: &[Vec<IpNet>], policies: &[PolicySpec]) -> PolicySet {
    let mut set = PolicySet::new(BuiltinProvider::new(
        DomainName::new("edge.steerage.example").unwrap(),
    ));
    for (i, prefixes) in custom.iter().enumerate() {
        let mut prefixes = prefixes.clone();
        prefixes.sort();
        prefixes.dedup();
        let name = CustomLineName::new(&format!("c{i}")).unwrap();
        set.add_custom_line(CustomLine::new(name, prefixes).unwrap())
            .unwrap();
    }
    for (i, spec) in policies.iter().enumerate() {
        let domain = format!("d{i}.example");
        set.create_policy(&domain).unwrap();
        for (p, &enabled) in spec.providers_enabled.iter().enumerate() {
            let provider = Provider::new(
                format!("p{p}").parse().unwrap(),
                ProviderKind::Cdn,
                format!("p{p}.cdn.example").parse().unwrap(),
            )
            .with_enabled(enabled);
            set.add_provider(&domain, provider).unwrap();
        }
        for (r, rule) in spec.rules.iter().enumerate() {
            // Custom lines name one the set has; no line or provider twice.
            let mut lines: Vec<Line> = Vec::new();
            for &l in &rule.lines {
                let line: Line = match LINES[l].strip_prefix("cidr:c") {
                    Some(_) if custom.is_empty() => continue,
                    Some(_) => format!("cidr:c{}", l % custom.len()).parse().unwrap(),
                    None => LINES[l].parse().unwrap(),
                };
                if !lines.contains(&line) {
                    lines.push(line);
                }
            }
            let rule = Rule::new(
                format!("r{r}").parse().unwrap(),
                lines,
                distinct_targets(&rule.targets),
            )
            .with_enabled(rule.enabled);
            let _refused = set.add_rule(&domain, rule);
        }
        let default = distinct_targets(&spec.default);
        let _refused = set.set_default_targets(&domain, default);
        if spec.sticky {
            set.set_mode(&domain, SelectionMode::Sticky).unwrap();
        }
        set.set_seed(&domain, spec.seed).unwrap();
        if !spec.enabled {
            set.disable_policy(&domain).unwrap();
        }
    }
    set
}

/// The provider the definition gives a sticky policy's client: the
/// rendezvous pick over the live targets, keyed as documented.
fn sticky_provider<'p>(policy: &Policy, selection: &Selection<'p>, ip: IpAddr) -> &'p str {
    let pick = WeightedPick::new(selection.targets.iter().map(|t| {
        (
            t.provider().as_str(),
            sticky_target_key(t.provider().as_str()),
            u32::from(t.weight().get()),
        )
    }))
    .unwrap();
    let policy_key = mix(policy.seed(), fnv1a(policy.domain().as_str().as_bytes()));
    pick.pick_sticky(sticky_client_key(ip, policy_key))
}

/// Whether the definition's answer depends on the client's subnet hash.
fn hashes_client(policy: &Policy, selection: &Selection<'_>) -> bool {
    policy.mode() == SelectionMode::Sticky && selection.targets.len() > 1
}

struct Case<'a> {
    set: &'a PolicySet,
    table: &'a LocationTable,
    snap: &'a Snapshot,
    domain: &'a str,
    policy: &'a Policy,
}

impl Case<'_> {
    fn reference(&self, ip: IpAddr) -> Selection<'_> {
        select(self.set, self.table, self.domain, ip).unwrap()
    }

    /// The decision agrees with the definition: rule, line, and a provider
    /// among the live targets (the very one for a sticky pick).
    fn check_decision(&self, decision: crate::Decision<'_>, ip: IpAddr, what: &str) {
        let expected = self.reference(ip);
        assert_eq!(decision.rule(), expected.rule, "{what}: rule");
        assert_eq!(decision.line(), expected.line, "{what}: line");
        let builtin = self.set.builtin();
        assert_eq!(
            decision.is_nodata(),
            expected.rule == crate::NODATA_RULE,
            "{what}: no data"
        );
        if expected.is_builtin_fallback() {
            assert_eq!(decision.provider(), builtin.name().as_str(), "{what}");
            assert_eq!(decision.cname(), builtin.cname().as_str(), "{what}");
            return;
        }
        let chosen = expected
            .targets
            .iter()
            .find(|t| t.provider().as_str() == decision.provider())
            .unwrap_or_else(|| panic!("{what}: {} is not live", decision.provider()));
        let cname = self
            .policy
            .provider(chosen.provider().as_str())
            .map_or(builtin.cname(), Provider::cname);
        assert_eq!(decision.cname(), cname.as_str(), "{what}");
        if hashes_client(self.policy, &expected) {
            assert_eq!(
                decision.provider(),
                sticky_provider(self.policy, &expected, ip),
                "{what}: sticky pick"
            );
        }
    }

    /// The compiled pick table of the answering rule holds exactly the live
    /// targets, with their weights.
    fn check_pick_table(&self, ip: IpAddr) {
        let expected = self.reference(ip);
        let entry = self.snap.entry(self.domain).unwrap();
        if !self.policy.is_enabled() || self.policy.is_failed_closed() {
            return;
        }
        let slot = entry
            .slots
            .iter()
            .find(|s| {
                s.rule
                    .as_deref()
                    .unwrap_or(steerage_policy::DefaultRule::NAME)
                    == expected.rule
            })
            .unwrap();
        let builtin = self.set.builtin().name().as_str();
        let compiled: Vec<(&str, u32)> = slot.pick.as_ref().map_or_else(Vec::new, |pick| {
            pick.weights()
                .map(|(answer, weight)| match answer {
                    ProviderAnswer::Builtin => (builtin, weight),
                    ProviderAnswer::Provider { name, .. } => (&**name, weight),
                })
                .collect()
        });
        let defined: Vec<(&str, u32)> = expected
            .targets
            .iter()
            .map(|t| (t.provider().as_str(), u32::from(t.weight().get())))
            .collect();
        assert_eq!(compiled, defined, "{} at {ip}: live targets", self.domain);
    }

    /// Every address of `ip/scope` gets the rule (and, when the pick hashes
    /// the client, the provider) that `ip` gets. Locations change only at
    /// the table's and the custom prefixes' bounds, so the network's first
    /// address and every bound inside it cover all of it.
    fn check_scope(&self, ip: IpAddr, scope: u8, what: &str) {
        let net = IpNet::new(ip, scope).unwrap().trunc();
        let expected = self.reference(ip);
        let sticky = hashes_client(self.policy, &expected)
            .then(|| sticky_provider(self.policy, &expected, ip));
        let mut points = vec![net.network()];
        let mut bound = |start: IpAddr, end: IpAddr| {
            for p in [Some(start), next(end)].into_iter().flatten() {
                if net.contains(&p) {
                    points.push(p);
                }
            }
        };
        for (s, e, _) in self.table.ranges_v4() {
            bound(s.into(), e.into());
        }
        for (s, e, _) in self.table.ranges_v6() {
            bound(s.into(), e.into());
        }
        for line in self.set.custom_lines() {
            for p in line.prefixes() {
                bound(p.network(), p.broadcast());
            }
        }
        for p in points {
            let got = self.reference(p);
            assert_eq!(got.rule, expected.rule, "{what}: {p} in scope {net}");
            if let Some(provider) = sticky {
                assert_eq!(
                    sticky_provider(self.policy, &got, p),
                    provider,
                    "{what}: {p} in scope {net}"
                );
            }
        }
    }

    fn check_select(&self, ip: IpAddr) {
        let what = format!("select({}, {ip})", self.domain);
        let decision = self.snap.select(self.domain, ip).unwrap();
        self.check_decision(decision, ip.to_canonical(), &what);
        self.check_pick_table(ip.to_canonical());
        self.check_scope(ip.to_canonical(), decision.scope_prefix(), &what);
        self.check_explain(ip, None, decision);
    }

    fn check_select_subnet(&self, subnet: IpNet) {
        let what = format!("select_subnet({}, {subnet})", self.domain);
        let decision = self.snap.select_subnet(self.domain, subnet).unwrap();
        let ip = subnet.network().to_canonical();
        self.check_decision(decision, ip, &what);
        let scope = match (subnet, ip) {
            (IpNet::V6(_), IpAddr::V4(_)) => {
                assert!(decision.scope_prefix() >= 96, "{what}");
                decision.scope_prefix() - 96
            }
            _ => decision.scope_prefix(),
        };
        self.check_scope(ip, scope, &what);
        self.check_explain(subnet.network(), Some(subnet), decision);
    }

    /// `explain` gives the same answer, marks the defined rule as the one
    /// that answered, and lists the live targets with their weights.
    fn check_explain(&self, ip: IpAddr, subnet: Option<IpNet>, decision: crate::Decision<'_>) {
        let e = match subnet {
            Some(net) => self.snap.explain_subnet(self.domain, net),
            None => self.snap.explain(self.domain, ip),
        }
        .unwrap();
        let what = format!("explain({}, {ip}, {subnet:?})", self.domain);
        let expected = self.reference(ip.to_canonical());
        assert_eq!(e.answer.rule, expected.rule, "{what}");
        assert_eq!(e.answer.line.as_ref(), expected.line, "{what}");
        assert_eq!(e.answer.scope_prefix, decision.scope_prefix(), "{what}");
        let chosen: Vec<&str> = e
            .rules
            .iter()
            .filter(|v| {
                matches!(
                    v.outcome,
                    RuleOutcome::Chosen | RuleOutcome::BuiltinFallback
                )
            })
            .map(|v| v.rule.as_str())
            .collect();
        if self.policy.is_enabled() && !self.policy.is_failed_closed() {
            assert_eq!(chosen, [expected.rule], "{what}");
        } else {
            assert!(chosen.is_empty(), "{what}");
        }
        assert_eq!(e.answer.nodata, decision.is_nodata(), "{what}");
        let live: Vec<(&str, u16)> = e
            .weights
            .iter()
            .filter(|w| w.effective > 0)
            .map(|w| (w.provider.as_str(), w.effective))
            .collect();
        let defined: Vec<(&str, u16)> = expected
            .targets
            .iter()
            .map(|t| (t.provider().as_str(), t.weight().get()))
            .collect();
        assert_eq!(live, defined, "{what}: weights");
    }
}

/// The address after `ip`, if any.
fn next(ip: IpAddr) -> Option<IpAddr> {
    match ip {
        IpAddr::V4(v4) => u32::from(v4)
            .checked_add(1)
            .map(|a| Ipv4Addr::from(a).into()),
        IpAddr::V6(v6) => u128::from(v6)
            .checked_add(1)
            .map(|a| Ipv6Addr::from(a).into()),
    }
}

/// A client: mostly inside the random ranges, sometimes anywhere (unknown
/// addresses), sometimes IPv6 or IPv4-mapped.
fn client() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        6 => (0..V4_SPAN / 2).prop_map(|o| IpAddr::V4(Ipv4Addr::from(V4_BASE + o))),
        1 => any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
        1 => (0..V4_SPAN).prop_map(|o| IpAddr::V6(Ipv4Addr::from(V4_BASE + o).to_ipv6_mapped())),
        2 => any::<u128>().prop_map(|b| IpAddr::V6(Ipv6Addr::from(V6_BASE | (b >> (128 - V6_SPAN_BITS))))),
        1 => any::<u128>().prop_map(|b| IpAddr::V6(Ipv6Addr::from(b))),
    ]
}

/// A client subnet of any length of the client's family.
fn subnet() -> impl Strategy<Value = IpNet> {
    (client(), any::<u8>()).prop_map(|(ip, len)| {
        let max = if ip.is_ipv4() { 33 } else { 129 };
        IpNet::new(ip, len % max).unwrap().trunc()
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// `select`, `select_subnet` and `explain` agree with the definition,
    /// and an ECS scope never spans a change of rule.
    #[test]
    fn select_and_explain_agree_with_the_definition(
        v4 in prop::collection::vec((1u32..V4_SPAN / 16, prop::option::weighted(0.8, 0..16usize)), 1..24),
        v6 in prop::collection::vec((1u128..(1 << V6_SPAN_BITS) / 4, prop::option::weighted(0.8, 0..16usize)), 0..5),
        custom in prop::collection::vec(prop::collection::vec(prefix(), 1..4), 0..4),
        policies in prop::collection::vec(policy_spec(), 1..4),
        clients in prop::collection::vec(client(), 1..16),
        subnets in prop::collection::vec(subnet(), 1..8),
    ) {
        let table = table(&v4, &v6);
        let set = build_set(&custom, &policies);
        let snap = Snapshot::compile(&set, Arc::clone(&table), 1).unwrap();
        for policy in set.policies() {
            let case = Case {
                set: &set,
                table: &table,
                snap: &snap,
                domain: policy.domain().as_str(),
                policy,
            };
            for &ip in &clients {
                case.check_select(ip);
            }
            for &net in &subnets {
                case.check_select_subnet(net);
            }
        }
    }
}

/// The compiled pick tables of a domain's slots: rule name, then each live
/// provider with its weight.
fn pick_tables(snap: &Snapshot, domain: &str) -> Vec<(String, Vec<(String, u32)>)> {
    let entry = snap.entry(domain).unwrap();
    entry
        .slots
        .iter()
        .map(|slot| {
            let rule = slot.rule.as_deref().unwrap_or("default").to_owned();
            let picks = slot.pick.as_ref().map_or_else(Vec::new, |pick| {
                pick.weights()
                    .map(|(answer, weight)| match answer {
                        ProviderAnswer::Builtin => ("(builtin)".to_owned(), weight),
                        ProviderAnswer::Provider { name, .. } => (name.to_string(), weight),
                    })
                    .collect()
            });
            (rule, picks)
        })
        .collect()
}

fn on_all_down() -> impl Strategy<Value = OnAllDown> {
    prop::sample::select(
        &[
            OnAllDown::Builtin,
            OnAllDown::IgnoreHealth,
            OnAllDown::NoData,
        ][..],
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Health is disabling: with random providers down, every decision
    /// equals the one made with those providers disabled in the
    /// configuration (the same rule, line, scope and pick table, and for a
    /// sticky policy the same provider), unless health leaves nothing but
    /// the built-in provider: then `ignore-health` decides as if all were
    /// up and `nodata` answers no data. The health-derived set is compiled
    /// incrementally after the configured one, as `Steering` does, and its
    /// decisions also agree with the definition.
    #[test]
    fn a_down_provider_is_a_disabled_provider(
        v4 in prop::collection::vec((1u32..V4_SPAN / 16, prop::option::weighted(0.8, 0..16usize)), 1..16),
        custom in prop::collection::vec(prop::collection::vec(prefix(), 1..4), 0..3),
        policies in prop::collection::vec((policy_spec(), prop::collection::vec(any::<bool>(), PROVIDERS), on_all_down()), 1..4),
        clients in prop::collection::vec(client(), 1..12),
    ) {
        let table = table(&v4, &[]);
        let specs: Vec<PolicySpec> = policies.iter().map(|(spec, _, _)| spec.clone()).collect();
        let mut configured = build_set(&custom, &specs);
        for (i, (_, _, mode)) in policies.iter().enumerate() {
            configured.set_on_all_down(&format!("d{i}.example"), *mode).unwrap();
        }
        let mut seen = configured.clone();
        let mut disabled = configured.clone();
        let mut outcomes = Vec::new();
        for (i, (_, down, _)) in policies.iter().enumerate() {
            let domain = format!("d{i}.example");
            let is_down = |p: &steerage_policy::ProviderName| {
                p.as_str().strip_prefix('p').and_then(|n| n.parse::<usize>().ok()).is_some_and(|n| down[n])
            };
            outcomes.push(seen.apply_health(&configured, &domain, is_down).unwrap());
            for (p, &d) in down.iter().enumerate() {
                if d {
                    disabled.disable_provider(&domain, &format!("p{p}")).unwrap();
                }
            }
        }
        let mut compiler = Compiler::new(Arc::clone(&table));
        let up = compiler.compile(&configured, 1).unwrap();
        let snap = compiler.compile(&seen, 2).unwrap();
        let reference = Snapshot::compile(&disabled, Arc::clone(&table), 3).unwrap();
        for (i, outcome) in outcomes.iter().enumerate() {
            let domain = format!("d{i}.example");
            let policy = seen.policy(&domain).unwrap();
            let case = Case { set: &seen, table: &table, snap: &snap, domain: &domain, policy };
            let sticky = policy.mode() == SelectionMode::Sticky;
            let (expected, tables) = match outcome {
                HealthOutcome::AllDown(OnAllDown::NoData) => {
                    for &ip in &clients {
                        let d = snap.select(&domain, ip).unwrap();
                        prop_assert!(d.is_nodata());
                        prop_assert_eq!(d.rule(), crate::NODATA_RULE);
                        prop_assert_eq!(d.scope_prefix(), 0);
                        case.check_select(ip);
                    }
                    continue;
                }
                HealthOutcome::AllDown(OnAllDown::IgnoreHealth) => (&up, true),
                // A disabled policy's slots are compiled but never read.
                _ => (&reference, policy.is_enabled()),
            };
            if tables {
                prop_assert_eq!(pick_tables(&snap, &domain), pick_tables(expected, &domain));
            }
            for &ip in &clients {
                case.check_select(ip);
                let got = snap.select(&domain, ip).unwrap();
                let want = expected.select(&domain, ip).unwrap();
                prop_assert!(!got.is_nodata());
                prop_assert_eq!(
                    (got.rule(), got.line(), got.scope_prefix(), got.ttl()),
                    (want.rule(), want.line(), want.scope_prefix(), want.ttl())
                );
                if sticky {
                    prop_assert_eq!((got.provider(), got.cname()), (want.provider(), want.cname()));
                }
            }
        }
    }
}
