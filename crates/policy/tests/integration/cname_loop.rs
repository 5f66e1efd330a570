//! CNAME loops across steered domains: every way a change can close one is
//! refused with the loop named, leaving the set as it was; chains are
//! accepted; loaded configs are checked as a whole.

use std::fmt::Write as _;

use proptest::prelude::*;
use steerage_policy::{ConfigError, DomainName, PolicyError, PolicySet, ProviderKind};

use crate::fixtures::{empty_set, provider, rule, target};

fn cname_loop(domains: &[&str]) -> PolicyError {
    PolicyError::CnameLoop {
        domains: domains
            .iter()
            .map(|d| DomainName::new(d).unwrap())
            .collect(),
    }
}

/// Runs `op` on a copy of `set`: it must fail and leave the copy unchanged.
fn refused(
    set: &PolicySet,
    op: impl FnOnce(&mut PolicySet) -> Result<(), PolicyError>,
) -> PolicyError {
    let mut copy = set.clone();
    let err = op(&mut copy).unwrap_err();
    assert_eq!(&copy, set, "a refused operation changed the set");
    copy.validate().unwrap();
    err
}

/// `b.example` sends everyone to provider `to-a`, whose CNAME is
/// `a.example`; `a.example` sends everyone to `cdn` (`a.cdn.example`) and has
/// a provider `to-b` (CNAME `b.example`) that no rule targets.
fn half_loop() -> PolicySet {
    let mut set = empty_set();
    set.create_policy("a.example").unwrap();
    set.create_policy("b.example").unwrap();
    set.add_provider(
        "b.example",
        provider("to-a", ProviderKind::Cdn, "a.example"),
    )
    .unwrap();
    set.set_default_targets("b.example", vec![target("to-a", 1)])
        .unwrap();
    set.add_provider(
        "a.example",
        provider("cdn", ProviderKind::Cdn, "a.cdn.example"),
    )
    .unwrap();
    set.set_default_targets("a.example", vec![target("cdn", 1)])
        .unwrap();
    // A provider no rule targets cannot be answered: no edge yet.
    set.add_provider(
        "a.example",
        provider("to-b", ProviderKind::Cdn, "B.Example."),
    )
    .unwrap();
    set.validate().unwrap();
    set
}

#[test]
fn a_chain_through_a_steered_domain_is_accepted() {
    let mut set = empty_set();
    set.create_policy("www.example.com").unwrap();
    set.create_policy("cn.pool.example.com").unwrap();
    set.add_provider(
        "cn.pool.example.com",
        provider("cdn", ProviderKind::Cdn, "cn.pool.vendor.example"),
    )
    .unwrap();
    set.set_default_targets("cn.pool.example.com", vec![target("cdn", 1)])
        .unwrap();
    set.add_provider(
        "www.example.com",
        provider("pool", ProviderKind::Cdn, "cn.pool.example.com"),
    )
    .unwrap();
    set.add_rule(
        "www.example.com",
        rule("china", &["CN"], &[("pool", 1), ("builtin", 1)]),
    )
    .unwrap();
    // A second steered domain leading to the same pool: a diamond, no loop.
    set.create_policy("m.example.com").unwrap();
    set.add_provider(
        "m.example.com",
        provider("www", ProviderKind::Origin, "www.example.com"),
    )
    .unwrap();
    set.add_provider(
        "m.example.com",
        provider("pool", ProviderKind::Cdn, "cn.pool.example.com"),
    )
    .unwrap();
    set.set_default_targets("m.example.com", vec![target("www", 1), target("pool", 1)])
        .unwrap();
    set.validate().unwrap();
    assert_eq!(
        PolicySet::from_toml_str(&set.to_toml_string().unwrap()).unwrap(),
        set
    );
}

#[test]
fn adding_a_provider_adds_no_edge_until_a_rule_targets_it() {
    let set = half_loop();
    // A disabled rule with a weight-0 target still counts: enabling the rule
    // and raising the weight must not be able to close the loop later.
    let mut closing = rule("r", &["US"], &[("cdn", 1), ("to-b", 0)]);
    closing = closing.with_enabled(false);
    assert_eq!(
        refused(&set, |s| s.add_rule("a.example", closing)),
        cname_loop(&["a.example", "b.example"])
    );
}

#[test]
fn changing_a_targeted_provider_cname_closes_a_loop() {
    let set = half_loop();
    assert_eq!(
        refused(&set, |s| s.update_provider(
            "a.example",
            "cdn",
            provider("cdn", ProviderKind::Cdn, "b.example")
        )),
        cname_loop(&["a.example", "b.example"])
    );
    // Changing the untargeted one is fine.
    let mut set = set;
    set.update_provider(
        "a.example",
        "to-b",
        provider("to-b", ProviderKind::Origin, "b.example"),
    )
    .unwrap();
}

#[test]
fn replacing_a_rule_s_targets_closes_a_loop() {
    let mut set = half_loop();
    set.add_rule("a.example", rule("r", &["US"], &[("cdn", 1)]))
        .unwrap();
    assert_eq!(
        refused(&set, |s| s.update_rule(
            "a.example",
            "r",
            rule("r", &["US"], &[("to-b", 1)])
        )),
        cname_loop(&["a.example", "b.example"])
    );
}

#[test]
fn setting_default_targets_closes_a_loop() {
    let set = half_loop();
    assert_eq!(
        refused(&set, |s| s.set_default_targets(
            "a.example",
            vec![target("cdn", 1), target("to-b", 0)]
        )),
        cname_loop(&["a.example", "b.example"])
    );
}

#[test]
fn disabled_policies_and_providers_count() {
    let mut set = half_loop();
    set.disable_provider("a.example", "to-b").unwrap();
    set.disable_policy("a.example").unwrap();
    set.disable_policy("b.example").unwrap();
    assert_eq!(
        refused(&set, |s| s.set_default_targets(
            "a.example",
            vec![target("builtin", 1), target("to-b", 1)]
        )),
        cname_loop(&["a.example", "b.example"])
    );
}

#[test]
fn a_longer_loop_is_named_from_the_changed_policy() {
    let mut set = empty_set();
    for (domain, next) in [
        ("a.example", "b.example"),
        ("b.example", "c.example"),
        ("c.example", "a.example"),
    ] {
        set.create_policy(domain).unwrap();
        set.add_provider(domain, provider("next", ProviderKind::Cdn, next))
            .unwrap();
    }
    set.set_default_targets("a.example", vec![target("next", 1)])
        .unwrap();
    set.set_default_targets("b.example", vec![target("next", 1)])
        .unwrap();
    let err = refused(&set, |s| {
        s.set_default_targets("c.example", vec![target("next", 1)])
    });
    assert_eq!(err, cname_loop(&["c.example", "a.example", "b.example"]));
    assert_eq!(
        err.to_string(),
        "CNAME loop: c.example -> a.example -> b.example -> c.example"
    );
}

#[test]
fn the_built_in_provider_is_never_on_a_loop() {
    // Its CNAME can never be steered, so it adds no edge; creating a policy
    // (whose default rule targets only it) therefore never closes a loop,
    // even for a domain others already point at.
    let mut set = half_loop();
    set.add_provider(
        "a.example",
        provider("to-c", ProviderKind::Cdn, "c.example"),
    )
    .unwrap();
    set.set_default_targets("a.example", vec![target("to-c", 1)])
        .unwrap();
    set.create_policy("c.example").unwrap();
    set.validate().unwrap();
    assert_eq!(
        refused(&set, |s| s
            .create_policy("edge.steerage.example")
            .map(|_| ())),
        PolicyError::CnameIsSteeredName {
            policy: "edge.steerage.example".into(),
            provider: "builtin".into()
        }
    );
}

/// A chain `d0000 -> d0001 -> ... -> d{n-1}` as a config; `close` makes the
/// last one point back at the first.
fn chain_toml(n: usize, close: bool) -> String {
    let mut text = String::from("[builtin]\ncname = \"edge.steerage.example\"\n");
    for i in 0..n {
        let next = if i + 1 < n {
            format!("d{:04}.example", i + 1)
        } else if close {
            "d0000.example".to_owned()
        } else {
            "origin.example".to_owned()
        };
        let _ = write!(
            text,
            "[[policy]]\ndomain = \"d{i:04}.example\"\n\
             [[policy.provider]]\nname = \"next\"\nkind = \"cdn\"\ncname = \"{next}\"\n\
             [policy.default]\ntargets = [{{ provider = \"next\", weight = 1 }}]\n"
        );
    }
    text
}

#[test]
fn a_long_chain_is_searched_without_recursion() {
    const N: usize = 3_000;
    let names: Vec<String> = (0..N).map(|i| format!("d{i:04}.example")).collect();
    let mut set = PolicySet::from_toml_str(&chain_toml(N, false)).unwrap();
    let last = names[N - 1].as_str();
    let err = refused(&set, |s| {
        s.update_provider(
            last,
            "next",
            provider("next", ProviderKind::Cdn, "d0000.example"),
        )
    });
    let mut expected: Vec<&str> = vec![last];
    expected.extend(names[..N - 1].iter().map(String::as_str));
    assert_eq!(err, cname_loop(&expected));
    // Pointing the last at the middle of the chain is a loop too.
    let middle = names[N / 2].clone();
    let err = set
        .update_provider(last, "next", provider("next", ProviderKind::Cdn, &middle))
        .unwrap_err();
    assert!(matches!(&err, PolicyError::CnameLoop { domains } if domains.len() == N - N / 2));
    // Loaded whole, the loop is reported from the first domain.
    let Err(ConfigError::Invalid(err)) = PolicySet::from_toml_str(&chain_toml(N, true)) else {
        panic!("a looping config loaded");
    };
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(err, cname_loop(&names));
}

/// A set with a loop, written out by replacing `a.cdn.example` in a valid
/// one's text.
fn looping_text(format: steerage_policy::Format) -> String {
    half_loop()
        .to_string_in(format)
        .unwrap()
        .replace("a.cdn.example", "b.example")
}

#[test]
fn a_loaded_config_with_a_loop_is_refused() {
    for format in [steerage_policy::Format::Toml, steerage_policy::Format::Json] {
        let err = PolicySet::from_str_in(&looping_text(format), format).unwrap_err();
        assert_eq!(
            err,
            ConfigError::Invalid(cname_loop(&["a.example", "b.example"])),
            "{format}"
        );
        assert_eq!(
            err.to_string(),
            "CNAME loop: a.example -> b.example -> a.example"
        );
    }
}

#[test]
fn the_whole_set_check_reports_a_loop_that_misses_the_first_domain() {
    // a -> b -> c -> b: the search starts at `a` and finds the loop b, c.
    let text = "[builtin]\ncname = \"edge.example\"\n\
        [[policy]]\ndomain = \"a.example\"\n\
        [[policy.provider]]\nname = \"p\"\nkind = \"cdn\"\ncname = \"b.example\"\n\
        [policy.default]\ntargets = [{ provider = \"p\", weight = 1 }]\n\
        [[policy]]\ndomain = \"b.example\"\n\
        [[policy.provider]]\nname = \"p\"\nkind = \"cdn\"\ncname = \"c.example\"\n\
        [[policy.rule]]\nname = \"r\"\nlines = [\"US\"]\nenabled = false\n\
        targets = [{ provider = \"p\", weight = 0 }, { provider = \"builtin\", weight = 1 }]\n\
        [[policy]]\ndomain = \"c.example\"\n\
        [[policy.provider]]\nname = \"p\"\nkind = \"cdn\"\ncname = \"b.example\"\n\
        [policy.default]\ntargets = [{ provider = \"p\", weight = 1 }]\n";
    assert_eq!(
        PolicySet::from_toml_str(text).unwrap_err(),
        ConfigError::Invalid(cname_loop(&["b.example", "c.example"]))
    );
}

// ---- The whole-set check against a naive one, on random graphs. ----

const N: usize = 5;

/// For each domain, its providers' (CNAME index, targeted); index `N` is
/// outside the set.
fn graphs() -> impl Strategy<Value = Vec<Vec<(usize, bool)>>> {
    prop::collection::vec(prop::collection::vec((0..=N, any::<bool>()), 0..=3), N)
}

fn graph_toml(graph: &[Vec<(usize, bool)>]) -> String {
    let name = |i: usize| format!("d{i}.example");
    let mut text = String::from("[builtin]\ncname = \"edge.example\"\n");
    for (i, providers) in graph.iter().enumerate() {
        let _ = write!(text, "[[policy]]\ndomain = \"{}\"\n", name(i));
        let mut targets = vec!["{ provider = \"builtin\", weight = 1 }".to_owned()];
        for (j, &(to, is_targeted)) in providers.iter().enumerate() {
            // No provider points at its own domain (a different error).
            let cname = if to == i || to == N {
                "out.example".to_owned()
            } else {
                name(to)
            };
            let _ = write!(
                text,
                "[[policy.provider]]\nname = \"p{j}\"\nkind = \"cdn\"\ncname = \"{cname}\"\n"
            );
            if is_targeted {
                targets.push(format!("{{ provider = \"p{j}\", weight = 0 }}"));
            }
        }
        let _ = write!(
            text,
            "[policy.default]\ntargets = [{}]\n",
            targets.join(", ")
        );
    }
    text
}

/// Edges as the naive check sees them.
fn edges(graph: &[Vec<(usize, bool)>]) -> [[bool; N]; N] {
    let mut e = [[false; N]; N];
    for (i, providers) in graph.iter().enumerate() {
        for &(to, is_targeted) in providers {
            if is_targeted && to != i && to < N {
                e[i][to] = true;
            }
        }
    }
    e
}

/// Whether some domain reaches itself (transitive closure).
fn has_loop(mut reach: [[bool; N]; N]) -> bool {
    for k in 0..N {
        for i in 0..N {
            for j in 0..N {
                reach[i][j] |= reach[i][k] && reach[k][j];
            }
        }
    }
    (0..N).any(|i| reach[i][i])
}

proptest! {
    #[test]
    fn the_whole_set_check_finds_exactly_the_loops(graph in graphs()) {
        let e = edges(&graph);
        match PolicySet::from_toml_str(&graph_toml(&graph)) {
            Ok(set) => {
                prop_assert!(!has_loop(e));
                prop_assert_eq!(set.len(), N);
            }
            Err(ConfigError::Invalid(PolicyError::CnameLoop { domains })) => {
                prop_assert!(has_loop(e));
                // What is reported is a real loop, each domain once.
                let index: Vec<usize> = domains
                    .iter()
                    .map(|d| d.as_str()[1..2].parse().unwrap())
                    .collect();
                for (k, &from) in index.iter().enumerate() {
                    prop_assert!(!index[..k].contains(&from));
                    prop_assert!(e[from][index[(k + 1) % index.len()]]);
                }
            }
            Err(err) => prop_assert!(false, "unexpected {err:?}"),
        }
    }
}
