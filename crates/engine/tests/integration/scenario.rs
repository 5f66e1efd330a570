//! The design brief's scenario end to end through `select`.

use steerage_engine::{DISABLED_RULE, Snapshot};
use steerage_policy::{CustomLine, CustomLineName, Provider, ProviderKind};

use crate::fixtures::*;

#[test]
fn design_example_answers_by_region() {
    let snap = compile(&design_set());
    let at = |client: &str| snap.select(DOMAIN, ip(client)).unwrap();

    for client in ["192.0.2.10", "192.0.2.200", "2001:db8:100::7"] {
        let d = at(client);
        assert_eq!(
            (d.provider(), d.cname(), d.rule()),
            ("origin", "origin.example.com", "beijing"),
            "{client}"
        );
        assert_eq!(d.line(), Some(&line("CN-BJ")));
    }
    for client in ["203.0.113.7", "198.18.0.7", "198.18.3.7", "2001:db8:200::7"] {
        let d = at(client);
        assert_eq!(d.rule(), "china-mainland", "{client}");
        assert!(["vendor-a", "builtin"].contains(&d.provider()));
        assert_eq!(d.line(), Some(&line("CN")));
    }
    for client in ["198.51.100.7", "198.18.5.7", "10.1.2.3", "127.0.0.1", "::1"] {
        let d = at(client);
        assert_eq!(
            (d.provider(), d.rule(), d.line()),
            ("vendor-b", "default", None),
            "{client}"
        );
        assert_eq!(d.cname(), "www.vendor-b.example");
        assert_eq!(d.ttl(), 600);
    }
}

#[test]
fn domains_are_case_insensitive_and_unknown_ones_are_none() {
    let snap = compile(&design_set());
    assert!(snap.select("WWW.EXAMPLE.COM.", ip("192.0.2.10")).is_some());
    assert!(snap.select("www.example.com", ip("192.0.2.10")).is_some());
    assert!(snap.select("example.com", ip("192.0.2.10")).is_none());
    assert!(snap.select("www.example.com..", ip("192.0.2.10")).is_none());
    assert!(snap.select("", ip("192.0.2.10")).is_none());
    assert!(snap.select(&"a".repeat(1000), ip("192.0.2.10")).is_none());
    assert_eq!(snap.domains().collect::<Vec<_>>(), [DOMAIN]);
}

#[test]
fn disabled_enabled_and_deleted_policy() {
    let mut set = design_set();
    set.disable_policy(DOMAIN).unwrap();
    let snap = compile(&set);
    for client in ["192.0.2.10", "203.0.113.7", "198.51.100.7", "::1"] {
        let d = snap.select(DOMAIN, ip(client)).unwrap();
        assert_eq!(
            (
                d.provider(),
                d.cname(),
                d.rule(),
                d.line(),
                d.scope_prefix()
            ),
            ("builtin", "edge.steerage.example", DISABLED_RULE, None, 0)
        );
    }
    set.enable_policy(DOMAIN).unwrap();
    let snap = compile(&set);
    assert_eq!(
        snap.select(DOMAIN, ip("192.0.2.10")).unwrap().rule(),
        "beijing"
    );

    set.disable_policy(DOMAIN).unwrap();
    set.delete_policy(DOMAIN).unwrap();
    let snap = compile(&set);
    assert!(snap.select(DOMAIN, ip("192.0.2.10")).is_none());
    assert_eq!(snap.domains().count(), 0);
}

#[test]
fn a_provider_cname_change_reaches_every_rule_at_once() {
    let mut set = design_set();
    // vendor-b now also serves Beijing's telecom line and the default rule.
    set.add_rule(
        DOMAIN,
        rule(
            "bj-telecom",
            &["CN-BJ/telecom"],
            vec![target("vendor-b", 1)],
        ),
    )
    .unwrap();
    let before = compile(&set);
    set.update_provider(
        DOMAIN,
        "vendor-b",
        Provider::new(
            "vendor-b".parse().unwrap(),
            ProviderKind::Cdn,
            "new.vendor-b.example".parse().unwrap(),
        ),
    )
    .unwrap();
    let after = compile(&set);
    for (client, rule) in [("192.0.2.10", "bj-telecom"), ("198.51.100.7", "default")] {
        let b = before.select(DOMAIN, ip(client)).unwrap();
        let a = after.select(DOMAIN, ip(client)).unwrap();
        assert_eq!((b.rule(), a.rule()), (rule, rule));
        assert_eq!(b.cname(), "www.vendor-b.example");
        assert_eq!(a.cname(), "new.vendor-b.example");
    }
}

/// Lines of every precedence level, all containing the one location of the
/// test table (10.0.0.0/8 is CN-BJ telecom and in `cidr:net10`).
const LEVELS: [&str; 6] = [
    "cidr:net10",
    "CN-BJ/telecom",
    "CN-BJ",
    "CN/telecom",
    "CN",
    "continent:AS",
];

#[test]
fn each_precedence_pair_gives_the_finer_level() {
    let table = one_location_table(&beijing_telecom());
    for (i, finer) in LEVELS.iter().enumerate() {
        // The default rule is the coarsest level: pair it with every line.
        for coarser in LEVELS[i + 1..].iter().map(Some).chain([None]) {
            for finer_first in [true, false] {
                let mut set = empty_set();
                set.add_custom_line(
                    CustomLine::new(
                        CustomLineName::new("net10").unwrap(),
                        vec!["10.0.0.0/8".parse().unwrap()],
                    )
                    .unwrap(),
                )
                .unwrap();
                with_providers(&mut set, DOMAIN);
                let fine = rule("fine", &[finer], vec![target("origin", 1)]);
                let coarse = coarser.map(|c| rule("coarse", &[c], vec![target("vendor-a", 1)]));
                let mut rules = vec![Some(fine), coarse];
                if !finer_first {
                    rules.reverse();
                }
                for r in rules.into_iter().flatten() {
                    set.add_rule(DOMAIN, r).unwrap();
                }
                set.set_default_targets(DOMAIN, vec![target("vendor-b", 1)])
                    .unwrap();
                let snap = Snapshot::compile(&set, table.clone(), 1).unwrap();
                let d = snap.select(DOMAIN, ip("10.20.30.40")).unwrap();
                assert_eq!(
                    (d.rule(), d.provider()),
                    ("fine", "origin"),
                    "{finer} vs {coarser:?}"
                );
                assert_eq!(d.line(), Some(&line(finer)));
                // Outside the table's location: the default rule.
                let d = snap.select(DOMAIN, ip("11.0.0.1")).unwrap();
                assert_eq!(d.rule(), "default");
            }
        }
    }
}

#[test]
fn skipped_rules_fall_to_the_next_level() {
    let mut set = design_set();
    let snap = |set: &steerage_policy::PolicySet| compile(set);
    // A disabled rule is skipped: Beijing falls to China mainland.
    set.disable_rule(DOMAIN, "beijing").unwrap();
    assert_eq!(
        snap(&set).select(DOMAIN, ip("192.0.2.10")).unwrap().rule(),
        "china-mainland"
    );
    set.enable_rule(DOMAIN, "beijing").unwrap();
    // A rule whose only provider is disabled is skipped the same way.
    set.disable_provider(DOMAIN, "origin").unwrap();
    assert_eq!(
        snap(&set).select(DOMAIN, ip("192.0.2.10")).unwrap().rule(),
        "china-mainland"
    );
    // A disabled provider gets nothing from a rule that keeps others.
    set.disable_provider(DOMAIN, "vendor-a").unwrap();
    let s = snap(&set);
    for _ in 0..200 {
        let d = s.select(DOMAIN, ip("203.0.113.7")).unwrap();
        assert_eq!((d.rule(), d.provider()), ("china-mainland", "builtin"));
    }
    // Nothing left in the default rule: the built-in provider answers.
    set.disable_provider(DOMAIN, "vendor-b").unwrap();
    let s = snap(&set);
    let d = s.select(DOMAIN, ip("198.51.100.7")).unwrap();
    assert_eq!(
        (d.rule(), d.provider(), d.cname(), d.line()),
        ("default", "builtin", "edge.steerage.example", None)
    );
}

#[test]
fn weight_zero_rule_is_skipped() {
    let mut set = design_set();
    set.add_rule(
        DOMAIN,
        rule(
            "bj-unicom",
            &["CN-BJ/unicom"],
            vec![target("vendor-a", 0), target("vendor-b", 1)],
        ),
    )
    .unwrap();
    // Weight 0 plus a disabled provider: no live target.
    set.disable_provider(DOMAIN, "vendor-b").unwrap();
    let snap = compile(&set);
    let d = snap.select(DOMAIN, ip("192.0.2.200")).unwrap();
    assert_eq!(d.rule(), "beijing");
}

#[test]
fn custom_lines_come_from_the_set() {
    let mut set = design_set();
    set.add_custom_line(
        CustomLine::new(
            CustomLineName::new("office").unwrap(),
            vec![
                "192.0.2.0/28".parse().unwrap(),
                "2001:db8:100:1::/64".parse().unwrap(),
            ],
        )
        .unwrap(),
    )
    .unwrap();
    set.add_rule(
        DOMAIN,
        rule("office", &["cidr:office"], vec![target("vendor-a", 1)]),
    )
    .unwrap();
    let snap = compile(&set);
    let d = snap.select(DOMAIN, ip("192.0.2.5")).unwrap();
    assert_eq!((d.rule(), d.scope_prefix()), ("office", 28));
    let d = snap.select(DOMAIN, ip("192.0.2.20")).unwrap();
    assert_eq!((d.rule(), d.scope_prefix()), ("beijing", 28));
    let d = snap.select(DOMAIN, ip("2001:db8:100:1::9")).unwrap();
    assert_eq!((d.rule(), d.scope_prefix()), ("office", 64));
}

#[test]
fn scope_is_zero_when_only_the_default_rule_answers() {
    let mut set = empty_set();
    with_providers(&mut set, DOMAIN);
    set.set_default_targets(DOMAIN, vec![target("vendor-a", 1), target("vendor-b", 1)])
        .unwrap();
    let snap = compile(&set);
    for client in ["192.0.2.10", "198.51.100.7", "2001:db8:100::7", "10.0.0.1"] {
        assert_eq!(snap.select(DOMAIN, ip(client)).unwrap().scope_prefix(), 0);
    }
    // Sticky with two targets depends on the client's subnet.
    set.set_mode(DOMAIN, steerage_policy::SelectionMode::Sticky)
        .unwrap();
    let snap = compile(&set);
    assert_eq!(
        snap.select(DOMAIN, ip("192.0.2.10"))
            .unwrap()
            .scope_prefix(),
        24
    );
    assert_eq!(
        snap.select(DOMAIN, ip("2001:db8:100::7"))
            .unwrap()
            .scope_prefix(),
        56
    );
}

#[test]
fn select_subnet_locates_by_the_network_address() {
    let snap = compile(&design_set());
    let d = snap
        .select_subnet(DOMAIN, "192.0.2.0/24".parse().unwrap())
        .unwrap();
    assert_eq!((d.rule(), d.scope_prefix()), ("beijing", 24));
    // Host bits are ignored.
    let d = snap
        .select_subnet(DOMAIN, "192.0.2.77/24".parse().unwrap())
        .unwrap();
    assert_eq!(d.rule(), "beijing");
    // IPv4-mapped IPv6 is IPv4.
    let d = snap.select(DOMAIN, ip("::ffff:192.0.2.10")).unwrap();
    assert_eq!((d.rule(), d.scope_prefix()), ("beijing", 24));
}

#[test]
fn a_subnet_mixing_answers_gets_the_longer_scope_of_its_network_address() {
    let snap = compile(&design_set());
    // 198.18.0.0/16 holds China mainland and default clients: the answer is
    // the network address's, and the scope its own (RFC 7871 section
    // 7.2.1), longer than the /16 sent, never the /16 itself.
    let d = snap
        .select_subnet(DOMAIN, "198.18.0.0/16".parse().unwrap())
        .unwrap();
    let alone = snap.select(DOMAIN, ip("198.18.0.0")).unwrap();
    assert_eq!(d.rule(), "china-mainland");
    assert_eq!(
        snap.select(DOMAIN, ip("198.18.5.7")).unwrap().rule(),
        "default"
    );
    assert_eq!(d.scope_prefix(), alone.scope_prefix());
    assert!(d.scope_prefix() > 16, "/{}", d.scope_prefix());
    // A sticky pick hashes the client's /24: a subnet wider than that gets
    // the answer of its network address's /24, and a scope no shorter.
    let mut set = design_set();
    set.set_mode(DOMAIN, steerage_policy::SelectionMode::Sticky)
        .unwrap();
    let snap = compile(&set);
    let d = snap
        .select_subnet(DOMAIN, "198.18.0.0/16".parse().unwrap())
        .unwrap();
    let alone = snap.select(DOMAIN, ip("198.18.0.0")).unwrap();
    assert_eq!(d.rule(), "china-mainland");
    assert_eq!(
        (d.provider(), d.scope_prefix()),
        (alone.provider(), alone.scope_prefix())
    );
    assert!(d.scope_prefix() >= 24, "/{}", d.scope_prefix());
}

#[test]
fn an_ipv4_mapped_subnet_gets_its_scope_in_ipv6_bits() {
    let snap = compile(&design_set());
    // ::ffff:192.0.2.0/120 is 192.0.2.0/24 (Beijing, scope /24): /120 in
    // the IPv6 family the subnet came in.
    let d = snap
        .select_subnet(DOMAIN, "::ffff:192.0.2.0/120".parse().unwrap())
        .unwrap();
    assert_eq!((d.rule(), d.scope_prefix()), ("beijing", 120));
    // ::ffff:192.0.0.0/112 is 192.0.0.0/16, which mixes answers: the
    // network address's longer scope, in IPv6 bits.
    let d = snap
        .select_subnet(DOMAIN, "::ffff:192.0.0.0/112".parse().unwrap())
        .unwrap();
    let v4 = snap.select(DOMAIN, ip("192.0.0.0")).unwrap();
    assert_eq!(d.rule(), v4.rule());
    assert_eq!(d.scope_prefix(), 96 + v4.scope_prefix());
    assert!(d.scope_prefix() > 112, "/{}", d.scope_prefix());
    // All of the mapped space, located at 0.0.0.0: never less than /96
    // (the reproducer was answered with scope 0: all of ::/0).
    let d = snap
        .select_subnet(DOMAIN, "::ffff:0.0.0.0/96".parse().unwrap())
        .unwrap();
    let v4 = snap.select(DOMAIN, ip("0.0.0.0")).unwrap();
    assert_eq!(d.scope_prefix(), 96 + v4.scope_prefix());
    // The same for an answer that holds for all of IPv4 (a disabled policy).
    let mut set = design_set();
    set.disable_policy(DOMAIN).unwrap();
    let snap = compile(&set);
    let subnet = |net: &str| {
        snap.select_subnet(DOMAIN, net.parse().unwrap())
            .unwrap()
            .scope_prefix()
    };
    assert_eq!(subnet("192.0.2.0/24"), 0);
    assert_eq!(subnet("::ffff:192.0.2.0/120"), 96);
    // explain_subnet reports the same scope, shown as an IPv6 network.
    let snap = compile(&design_set());
    let e = snap
        .explain_subnet(DOMAIN, "::ffff:192.0.2.0/120".parse().unwrap())
        .unwrap();
    assert_eq!(e.answer.scope_prefix, 120);
    assert!(
        e.to_string()
            .contains("ECS scope /120 (::ffff:192.0.2.0/120)"),
        "{e}"
    );
}
