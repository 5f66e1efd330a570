//! Saving then loading gives back an equal set, in TOML and in JSON, for
//! arbitrary valid sets (random names, domains, lines from the whole
//! catalogue, custom lines with IPv4 and IPv6 prefixes, every optional field).

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use proptest::test_runner::FileFailurePersistence;
use steerage_policy::{
    BuiltinProvider, CheckKind, CheckTarget, CustomLine, CustomLineName, DomainName, Format,
    HealthCheck, Line, OnAllDown, PolicySet, Provider, ProviderKind, Rule, SelectionMode, Target,
    Ttl, Weight,
};

const CUSTOM_NAMES: &[&str] = &["office", "lab", "vpn-1", "x_2"];

fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        // An `xn--` label must be valid punycode: the random ones are left
        // to the list below.
        "[a-z0-9]([a-z0-9_-]{0,12}[a-z0-9])?"
            .prop_filter("a random xn-- label", |l: &String| !l.starts_with("xn--")),
        // A-labels must be valid punycode: real ones (中国, münchen, 公司,
        // 网络, рф).
        select(
            &[
                "xn--fiqs8s",
                "xn--mnchen-3ya",
                "xn--55qx5d",
                "xn--io0a7i",
                "xn--p1ai"
            ][..]
        )
        .prop_map(str::to_owned),
        "[A-Z][a-zA-Z0-9]{0,5}",
    ]
}

/// A domain under `suffix`, in any case, sometimes with a trailing dot.
fn domain(suffix: &'static str) -> impl Strategy<Value = String> {
    (prop::collection::vec(label(), 1..=3), any::<bool>()).prop_map(move |(labels, dot)| {
        format!(
            "{}.{suffix}{}",
            labels.join("."),
            if dot { "." } else { "" }
        )
    })
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9._-]{0,20}"
}

fn prefix() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<u32>(), 0..=32u8).prop_map(|(a, len)| {
            IpNet::new(IpAddr::V4(Ipv4Addr::from(a)), len)
                .unwrap()
                .trunc()
        }),
        (any::<u128>(), 0..=128u8).prop_map(|(a, len)| {
            IpNet::new(IpAddr::V6(Ipv6Addr::from(a)), len)
                .unwrap()
                .trunc()
        }),
    ]
}

#[derive(Debug, Clone)]
struct PolicySpec {
    domain: String,
    enabled: bool,
    ttl: u32,
    sticky: bool,
    seed: Option<u64>,
    providers: Vec<(String, bool, String, bool)>,
    rule_names: Vec<String>,
    lines: Vec<Line>,
    rule_count: usize,
    rules_enabled: Vec<bool>,
    weights: Vec<u16>,
    default_weights: Vec<u16>,
    on_all_down: OnAllDown,
    checks: Vec<Option<HealthCheck>>,
}

/// A valid health check with every field sometimes set.
fn check() -> impl Strategy<Value = HealthCheck> {
    (
        select(&[CheckKind::Http, CheckKind::Https, CheckKind::Tcp][..]),
        prop::option::of(prop_oneof![
            domain("probe.test").prop_map(|d| d.parse::<CheckTarget>().unwrap()),
            any::<IpAddr>().prop_map(CheckTarget::Ip),
        ]),
        prop::option::of(1..=u16::MAX),
        (100..=599u16, 0..=99u16),
        (100..=60_000u32, 1..=100u32, 0..=100u32),
        (1..=100u8, 1..=100u8),
        prop::option::of("/[a-z0-9/._-]{0,12}"),
        prop::option::of(domain("host.test")),
        any::<bool>(),
    )
        .prop_map(
            |(
                kind,
                target,
                port,
                (low, span),
                (interval, timeout_pc, jitter_pc),
                (rise, fall),
                path,
                host,
                verify,
            )| {
                let mut c = HealthCheck::new(kind)
                    .with_interval_ms(interval)
                    .with_timeout_ms((interval * timeout_pc / 101).max(1))
                    .with_jitter_ms(interval * jitter_pc / 100)
                    .with_rise_fall(rise, fall);
                if let Some(t) = target {
                    c = c.with_target(t);
                }
                if kind == CheckKind::Tcp {
                    return c.with_port(port.unwrap_or(7));
                }
                if let Some(p) = port {
                    c = c.with_port(p);
                }
                c = c.with_status(low, (low + span).min(599));
                if let Some(p) = path {
                    c = c.with_path(&p);
                }
                if let Some(h) = host {
                    c = c.with_host(h.parse().unwrap());
                }
                if kind == CheckKind::Https {
                    c = c.with_verify_certificate(verify);
                    if verify {
                        c = c.with_ca_file("/etc/steerage/ca.pem");
                    }
                }
                c
            },
        )
}

fn policy_spec() -> impl Strategy<Value = PolicySpec> {
    let catalogue: Vec<Line> = Line::catalogue()
        .chain(
            CUSTOM_NAMES
                .iter()
                .map(|n| Line::parse(&format!("cidr:{n}")).unwrap()),
        )
        .collect();
    (
        (
            domain("example"),
            any::<bool>(),
            1..=86_400u32,
            any::<bool>(),
            prop::option::of(any::<u64>()),
        ),
        prop::collection::vec(
            (name(), any::<bool>(), domain("cdn.test"), any::<bool>()),
            0..5,
        ),
        prop::collection::vec(name(), 4),
        subsequence(catalogue, 0..=12).prop_shuffle(),
        1..=4usize,
        prop::collection::vec(any::<bool>(), 4),
        prop::collection::vec(0..=10_000u16, 6),
        (
            prop::collection::vec(0..=10_000u16, 6),
            select(
                &[
                    OnAllDown::Builtin,
                    OnAllDown::IgnoreHealth,
                    OnAllDown::NoData,
                ][..],
            ),
            prop::collection::vec(prop::option::of(check()), 5),
        ),
    )
        .prop_map(
            |(
                (domain, enabled, ttl, sticky, seed),
                providers,
                rule_names,
                lines,
                rule_count,
                rules_enabled,
                weights,
                (default_weights, on_all_down, checks),
            )| PolicySpec {
                domain,
                enabled,
                ttl,
                sticky,
                seed,
                providers,
                rule_names,
                lines,
                rule_count,
                rules_enabled,
                weights,
                default_weights,
                on_all_down,
                checks,
            },
        )
}

/// Targets over `providers` with `weights`, the first weight made positive
/// so that the total is.
fn targets(providers: &[String], weights: &[u16], offset: usize) -> Vec<Target> {
    let n = providers.len().min(3);
    (0..n)
        .map(|i| {
            let p = &providers[(offset + i) % providers.len()];
            let w = weights[i % weights.len()];
            let w = if i == 0 { w.max(1) } else { w };
            Target::new(p.parse().unwrap(), Weight::new(w).unwrap())
        })
        .collect()
}

fn build(
    builtin_name: &str,
    builtin_cname: &str,
    custom: Vec<Vec<IpNet>>,
    policies: Vec<PolicySpec>,
) -> PolicySet {
    let builtin = BuiltinProvider::new(DomainName::new(builtin_cname).unwrap())
        .with_name(builtin_name.parse().unwrap());
    let mut set = PolicySet::new(builtin);
    // Every custom name is defined, so every `cidr:` line in the catalogue
    // pool is valid.
    for (i, prefixes) in custom.into_iter().enumerate() {
        let mut seen = BTreeSet::new();
        let prefixes: Vec<IpNet> = prefixes.into_iter().filter(|p| seen.insert(*p)).collect();
        let line =
            CustomLine::new(CustomLineName::new(CUSTOM_NAMES[i]).unwrap(), prefixes).unwrap();
        set.add_custom_line(line).unwrap();
    }
    for spec in policies {
        let Ok(policy) = set.create_policy(&spec.domain) else {
            continue; // the same domain twice: keep the first
        };
        let domain = policy.domain().to_string();
        let mut names = vec![builtin_name.to_owned()];
        for ((name, origin, cname, enabled), check) in spec.providers.iter().zip(&spec.checks) {
            if names.contains(name) {
                continue;
            }
            let kind = if *origin {
                ProviderKind::Origin
            } else {
                ProviderKind::Cdn
            };
            let provider = Provider::new(name.parse().unwrap(), kind, cname.parse().unwrap())
                .with_enabled(*enabled)
                .with_check(check.clone());
            set.add_provider(&domain, provider).unwrap();
            names.push(name.clone());
        }
        let mut rule_names = BTreeSet::new();
        for r in 0..spec.rule_count {
            let lines: Vec<Line> = spec
                .lines
                .iter()
                .skip(r)
                .step_by(spec.rule_count)
                .cloned()
                .collect();
            let name = &spec.rule_names[r];
            if lines.is_empty()
                || name.eq_ignore_ascii_case("default")
                || !rule_names.insert(name.clone())
            {
                continue;
            }
            let rule = Rule::new(
                name.parse().unwrap(),
                lines,
                targets(&names, &spec.weights, r),
            )
            .with_enabled(spec.rules_enabled[r]);
            set.add_rule(&domain, rule).unwrap();
        }
        set.set_default_targets(&domain, targets(&names, &spec.default_weights, 1))
            .unwrap();
        set.set_ttl(&domain, Ttl::new(spec.ttl).unwrap()).unwrap();
        if spec.sticky {
            set.set_mode(&domain, SelectionMode::Sticky).unwrap();
        }
        if let Some(seed) = spec.seed {
            set.set_seed(&domain, seed).unwrap();
        }
        set.set_on_all_down(&domain, spec.on_all_down).unwrap();
        if !spec.enabled {
            set.disable_policy(&domain).unwrap();
        }
    }
    set
}

fn policy_set() -> impl Strategy<Value = PolicySet> {
    (
        select(&["builtin", "platform", "Edge.1"][..]),
        domain("edge.test"),
        prop::collection::vec(prop::collection::vec(prefix(), 1..5), CUSTOM_NAMES.len()),
        prop::collection::vec(policy_spec(), 0..4),
    )
        .prop_map(|(builtin_name, builtin_cname, custom, policies)| {
            build(builtin_name, &builtin_cname, custom, policies)
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/round_trip.txt",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn toml_round_trip(set in policy_set()) {
        prop_assert_eq!(set.validate(), Ok(()));
        let text = set.to_toml_string().unwrap();
        let loaded = PolicySet::from_toml_str(&text);
        prop_assert_eq!(loaded.as_ref(), Ok(&set), "{}", text);
        // Writing is deterministic: the loaded set writes the same text.
        prop_assert_eq!(loaded.unwrap().to_toml_string().unwrap(), text);
    }

    #[test]
    fn json_round_trip(set in policy_set()) {
        let text = set.to_string_in(Format::Json).unwrap();
        let loaded = PolicySet::from_str_in(&text, Format::Json);
        prop_assert_eq!(loaded.as_ref(), Ok(&set), "{}", text);
    }

    #[test]
    fn toml_and_json_agree(set in policy_set()) {
        let via_json = PolicySet::from_json_str(&set.to_json_string().unwrap()).unwrap();
        let via_toml = PolicySet::from_toml_str(&set.to_toml_string().unwrap()).unwrap();
        prop_assert_eq!(via_json, via_toml);
    }
}
