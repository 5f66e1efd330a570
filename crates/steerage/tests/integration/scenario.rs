//! The design brief's scenario end to end through `Steering::select`.

use steerage::geo::Line;
use steerage::policy::{CustomLine, CustomLineName, ProviderKind};

use crate::fixtures::{
    BUILTIN_CNAME, DOMAIN, answer, client, design_steering, provider, rule, unknown_client,
};

fn owned(provider: &str, cname: &str, rule: &str) -> Option<(String, String, String)> {
    Some((provider.into(), cname.into(), rule.into()))
}

#[test]
fn finer_lines_win_and_everyone_else_gets_the_default() {
    let steering = design_steering();
    for beijing in ["CN-BJ/telecom", "CN-BJ/unicom"] {
        let ip = client(beijing);
        assert_eq!(
            answer(&steering, ip),
            owned("origin", "origin.example.com", "beijing"),
            "{beijing}"
        );
        let s = steering.select(DOMAIN, ip).unwrap();
        assert_eq!(s.line(), Some(&Line::parse("CN-BJ").unwrap()));
        assert_eq!(s.ttl(), 600);
        assert_eq!(s.version(), steering.version());
        assert_eq!(
            s.to_string(),
            format!(
                "origin (origin.example.com) by rule beijing, line CN-BJ, TTL 600, scope /{}",
                s.scope_prefix()
            )
        );
    }
    let v6 = "2001:db8:100::7".parse().unwrap();
    assert_eq!(answer(&steering, v6).unwrap().2, "beijing");

    for china in [
        "CN-GD/telecom",
        "CN-GD/mobile",
        "CN-SH/telecom",
        "CN/cernet",
    ] {
        let s = steering.select(DOMAIN, client(china)).unwrap();
        assert_eq!(s.rule(), "china-mainland", "{china}");
        assert_eq!(s.line(), Some(&Line::parse("CN").unwrap()));
        assert!(
            [("vendor-a", "a.cdn.example"), ("builtin", BUILTIN_CNAME)]
                .contains(&(s.provider(), s.cname())),
            "{china}: {} {}",
            s.provider(),
            s.cname()
        );
    }

    for elsewhere in [
        client("DE"),
        client("US-CA"),
        client("JP"),
        client("IN-MH"),
        unknown_client(),
    ] {
        let s = steering.select(DOMAIN, elsewhere).unwrap();
        assert_eq!(
            (s.provider(), s.cname(), s.rule(), s.line()),
            ("vendor-b", "b.cdn.example", "default", None),
            "{elsewhere}"
        );
    }
}

#[test]
fn domains_are_case_insensitive_and_unknown_ones_get_nothing() {
    let steering = design_steering();
    let ip = client("CN-BJ/telecom");
    let s = steering.select("WWW.Example.COM.", ip).unwrap();
    assert_eq!(s.provider(), "origin");
    assert!(steering.select("example.com", ip).is_none());
    assert!(steering.select("www.example.org", ip).is_none());
    assert!(steering.select("", ip).is_none());
}

#[test]
fn the_china_rule_splits_70_30() {
    let steering = design_steering();
    let ip = client("CN-GD/telecom");
    let n = 20_000;
    let vendor_a = (0..n)
        .filter(|_| steering.select(DOMAIN, ip).unwrap().provider() == "vendor-a")
        .count();
    // Binomial(20000, 0.7) has a standard deviation of 65; 400 is 6 sigma.
    assert!(
        (13_600..=14_400).contains(&vendor_a),
        "vendor-a got {vendor_a} of {n}"
    );
}

#[test]
fn disable_enable_delete_a_policy() {
    let steering = design_steering();
    let v1 = steering.version();
    let clients = [
        client("CN-BJ/telecom"),
        client("CN-GD/unicom"),
        client("DE"),
        unknown_client(),
    ];

    let v2 = steering.apply(|set| set.disable_policy(DOMAIN)).unwrap();
    assert_eq!(v2, v1 + 1);
    for ip in clients {
        let s = steering.select(DOMAIN, ip).unwrap();
        assert_eq!(
            (s.provider(), s.cname()),
            ("builtin", BUILTIN_CNAME),
            "{ip}"
        );
        assert_eq!(s.version(), v2);
    }

    let v3 = steering.apply(|set| set.enable_policy(DOMAIN)).unwrap();
    assert_eq!(v3, v2 + 1);
    assert_eq!(answer(&steering, clients[0]).unwrap().0, "origin");
    assert_eq!(answer(&steering, clients[2]).unwrap().0, "vendor-b");

    // Deleting needs a disabled policy; disabling and deleting in one change
    // publishes one version.
    let v4 = steering
        .apply(|set| {
            set.disable_policy(DOMAIN)?;
            set.delete_policy(DOMAIN).map(drop)
        })
        .unwrap();
    assert_eq!(v4, v3 + 1);
    for ip in clients {
        assert!(steering.select(DOMAIN, ip).is_none(), "{ip}");
    }
    assert!(steering.config().policy(DOMAIN).is_none());
}

#[test]
fn a_disabled_rule_passes_its_clients_to_the_next_finer_rule() {
    let steering = design_steering();
    let beijing = client("CN-BJ/telecom");
    steering
        .apply(|set| set.disable_rule(DOMAIN, "beijing"))
        .unwrap();
    assert_eq!(answer(&steering, beijing).unwrap().2, "china-mainland");
    steering
        .apply(|set| set.disable_rule(DOMAIN, "china-mainland"))
        .unwrap();
    assert_eq!(
        answer(&steering, beijing),
        Some(("vendor-b".into(), "b.cdn.example".into(), "default".into()))
    );
    steering
        .apply(|set| set.enable_rule(DOMAIN, "beijing"))
        .unwrap();
    assert_eq!(answer(&steering, beijing).unwrap().0, "origin");
}

#[test]
fn a_disabled_provider_gets_nothing_and_the_builtin_provider_answers_last() {
    let steering = design_steering();
    steering
        .apply(|set| set.disable_provider(DOMAIN, "vendor-a"))
        .unwrap();
    for _ in 0..200 {
        let s = steering.select(DOMAIN, client("CN-GD/telecom")).unwrap();
        assert_eq!((s.provider(), s.rule()), ("builtin", "china-mainland"));
    }
    // The default rule's only target disabled: the built-in provider answers.
    steering
        .apply(|set| set.disable_provider(DOMAIN, "vendor-b"))
        .unwrap();
    let s = steering.select(DOMAIN, client("DE")).unwrap();
    assert_eq!((s.provider(), s.cname()), ("builtin", BUILTIN_CNAME));
    steering
        .apply(|set| set.enable_provider(DOMAIN, "vendor-b"))
        .unwrap();
    assert_eq!(answer(&steering, client("DE")).unwrap().0, "vendor-b");
}

#[test]
fn a_provider_cname_change_reaches_every_rule_at_once() {
    let steering = design_steering();
    steering
        .apply(|set| {
            set.add_rule(
                DOMAIN,
                rule("europe", &["continent:EU"], &[("vendor-b", 1)]),
            )
        })
        .unwrap();
    let (europe, us) = (client("DE"), client("US-CA"));
    assert_eq!(answer(&steering, europe).unwrap().2, "europe");
    assert_eq!(answer(&steering, us).unwrap().2, "default");

    let version = steering
        .apply(|set| {
            set.update_provider(
                DOMAIN,
                "vendor-b",
                provider("vendor-b", ProviderKind::Cdn, "b2.cdn.example"),
            )
        })
        .unwrap();
    for (ip, rule) in [
        (europe, "europe"),
        (us, "default"),
        (client("FR"), "europe"),
    ] {
        let s = steering.select(DOMAIN, ip).unwrap();
        assert_eq!(
            (s.provider(), s.cname(), s.rule(), s.version()),
            ("vendor-b", "b2.cdn.example", rule, version),
            "{ip}"
        );
    }
}

#[test]
fn each_precedence_pair_prefers_the_finer_line() {
    let steering = design_steering();
    let office = CustomLine::new(
        CustomLineName::new("office").unwrap(),
        vec!["192.0.2.0/28".parse().unwrap()],
    )
    .unwrap();
    steering
        .apply(|set| {
            set.add_custom_line(office)?;
            set.add_rule(DOMAIN, rule("office", &["cidr:office"], &[("vendor-b", 1)]))?;
            set.add_rule(
                DOMAIN,
                rule("bj-unicom", &["CN-BJ/unicom"], &[("vendor-a", 1)]),
            )?;
            set.add_rule(
                DOMAIN,
                rule("cn-telecom", &["CN/telecom"], &[("vendor-b", 1)]),
            )?;
            set.add_rule(DOMAIN, rule("asia", &["continent:AS"], &[("origin", 1)]))
        })
        .unwrap();
    let cases = [
        // custom CIDR > province (192.0.2.10 is in the office /28 and Beijing)
        ("192.0.2.10", "office"),
        // province > country + ISP (Beijing telecom outside the office)
        ("192.0.2.100", "beijing"),
        // province + ISP > province
        ("192.0.2.200", "bj-unicom"),
        // country + ISP > country
        ("198.18.0.7", "cn-telecom"),
        // country > continent
        ("198.18.2.7", "china-mainland"),
        // continent > default
        ("198.18.7.7", "asia"),
        ("198.18.5.7", "default"),
    ];
    for (ip, expected) in cases {
        let s = steering.select(DOMAIN, ip.parse().unwrap()).unwrap();
        assert_eq!(s.rule(), expected, "{ip}");
    }
}

#[test]
fn subnet_decisions_hold_over_their_whole_scope() {
    let steering = design_steering();
    for (net, rule) in [
        ("192.0.2.0/26", "beijing"),
        ("192.0.2.128/25", "beijing"),
        ("198.18.3.0/24", "china-mainland"),
        ("198.51.100.0/24", "default"),
        ("2001:db8:100::/48", "beijing"),
    ] {
        let net: ipnet::IpNet = net.parse().unwrap();
        let s = steering.select_subnet(DOMAIN, net).unwrap();
        assert_eq!(s.rule(), rule, "{net}");
        // Every sample client inside the returned scope gets the same rule.
        let scope = ipnet::IpNet::new(net.network(), s.scope_prefix())
            .unwrap()
            .trunc();
        for range in steerage::geo::SAMPLE_RANGES {
            let ip = range.client;
            if scope.contains(&ip) {
                assert_eq!(
                    answer(&steering, ip).unwrap().2,
                    rule,
                    "{net} scope {scope}: {ip}"
                );
            }
        }
    }
    // A disabled policy answers everyone alike.
    steering.apply(|set| set.disable_policy(DOMAIN)).unwrap();
    let s = steering
        .select_subnet(DOMAIN, "192.0.2.0/24".parse().unwrap())
        .unwrap();
    assert_eq!((s.provider(), s.scope_prefix()), ("builtin", 0));
}

#[test]
fn a_new_location_table_takes_effect_atomically() {
    let steering = design_steering();
    let beijing = client("CN-BJ/telecom");
    let version = steering
        .set_locations(steerage::geo::LocationTable::empty("no data"))
        .unwrap();
    assert_eq!(version, steering.version());
    let s = steering.select(DOMAIN, beijing).unwrap();
    assert_eq!((s.rule(), s.version()), ("default", version));
    assert_eq!(steering.locations().stats().locations, 1);
    // Later changes compile against the new table.
    steering
        .apply(|set| set.disable_rule(DOMAIN, "china-mainland"))
        .unwrap();
    assert_eq!(answer(&steering, beijing).unwrap().2, "default");
    steering
        .set_locations(steerage::geo::LocationTable::sample())
        .unwrap();
    assert_eq!(answer(&steering, beijing).unwrap().2, "beijing");
}

#[test]
fn explain_tells_which_rule_answered_and_why_the_others_did_not() {
    use steerage::engine::RuleOutcome;
    let steering = design_steering();
    let e = steering.explain(DOMAIN, client("CN-BJ/telecom")).unwrap();
    assert_eq!(e.version, steering.version());
    assert_eq!(e.answer.provider, "origin");
    let verdicts: Vec<(&str, &RuleOutcome)> = e
        .rules
        .iter()
        .map(|v| (v.rule.as_str(), &v.outcome))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("beijing", &RuleOutcome::Chosen),
            (
                "china-mainland",
                &RuleOutcome::LessSpecific {
                    winner: "beijing".into()
                }
            ),
            ("default", &RuleOutcome::NotNeeded),
        ]
    );
    let text = e.to_string();
    assert!(
        text.contains("answer: origin -> origin.example.com"),
        "{text}"
    );

    let e = steering
        .explain_subnet(DOMAIN, "198.18.5.0/24".parse().unwrap())
        .unwrap();
    assert_eq!(e.answer.rule, "default");
    assert!(steering.explain("example.org", client("DE")).is_none());
}
