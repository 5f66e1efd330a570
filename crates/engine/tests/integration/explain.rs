//! `explain` agrees with `select` and says why each rule did not answer.

use steerage_engine::{DISABLED_RULE, RuleOutcome};
use steerage_policy::SelectionMode;

use crate::fixtures::*;

#[test]
fn explanation_agrees_with_select_everywhere() {
    let mut set = design_set();
    set.set_mode(DOMAIN, SelectionMode::Sticky).unwrap();
    set.add_rule(
        DOMAIN,
        rule(
            "gd-mobile",
            &["CN-GD/mobile", "DE"],
            vec![target("vendor-a", 1)],
        ),
    )
    .unwrap();
    let snap = compile(&set);
    for range in steerage_geo::SAMPLE_RANGES {
        let client = range.client;
        let d = snap.select(DOMAIN, client).unwrap();
        let e = snap.explain(DOMAIN, client).unwrap();
        assert_eq!(e.answer.rule, d.rule(), "{client}");
        assert_eq!(e.answer.provider, d.provider(), "{client}");
        assert_eq!(e.answer.line.as_ref(), d.line(), "{client}");
        assert_eq!(e.answer.scope_prefix, d.scope_prefix(), "{client}");
        let chosen: Vec<_> = e
            .rules
            .iter()
            .filter(|v| v.outcome == RuleOutcome::Chosen)
            .map(|v| v.rule.as_str())
            .collect();
        assert_eq!(chosen, [d.rule()], "{client}");
        // Precedence order, default last.
        assert!(
            e.rules
                .windows(2)
                .all(|w| w[0].precedence <= w[1].precedence)
        );
        assert_eq!(e.rules.last().map(|v| v.rule.as_str()), Some("default"));
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn explanation_names_every_reason() {
    let mut set = design_set();
    set.add_rule(
        DOMAIN,
        rule(
            "bj-telecom",
            &["CN-BJ/telecom"],
            vec![target("vendor-b", 1)],
        ),
    )
    .unwrap();
    set.disable_rule(DOMAIN, "bj-telecom").unwrap();
    set.disable_provider(DOMAIN, "origin").unwrap();
    let snap = compile(&set);
    let e = snap.explain(DOMAIN, ip("192.0.2.10")).unwrap();
    let outcome = |rule: &str| {
        e.rules
            .iter()
            .find(|v| v.rule == rule)
            .unwrap()
            .outcome
            .clone()
    };
    assert_eq!(outcome("bj-telecom"), RuleOutcome::RuleDisabled);
    assert_eq!(outcome("beijing"), RuleOutcome::NoLiveTarget);
    assert_eq!(outcome("china-mainland"), RuleOutcome::Chosen);
    assert_eq!(outcome("default"), RuleOutcome::NotNeeded);
    assert_eq!(e.rules[0].rule, "bj-telecom");
    assert_eq!(e.weights.len(), 2);
    let text = e.to_string();
    assert!(text.contains("rule disabled"), "{text}");
    assert!(text.contains("sample data"), "{text}");

    let e = snap.explain(DOMAIN, ip("198.51.100.7")).unwrap();
    let unmatched: Vec<_> = e
        .rules
        .iter()
        .filter(|v| v.outcome == RuleOutcome::NoLineMatched)
        .map(|v| v.rule.as_str())
        .collect();
    assert_eq!(unmatched, ["china-mainland"]);
    assert_eq!(e.answer.rule, "default");

    set.disable_provider(DOMAIN, "vendor-b").unwrap();
    let e = compile(&set).explain(DOMAIN, ip("198.51.100.7")).unwrap();
    assert_eq!(
        e.rules.last().unwrap().outcome,
        RuleOutcome::BuiltinFallback
    );
    assert_eq!(e.answer.provider, "builtin");

    set.disable_policy(DOMAIN).unwrap();
    let e = compile(&set)
        .explain_subnet(DOMAIN, "192.0.2.0/24".parse().unwrap())
        .unwrap();
    assert!(!e.enabled);
    assert_eq!(e.answer.rule, DISABLED_RULE);
    assert!(
        e.rules
            .iter()
            .all(|v| v.outcome == RuleOutcome::PolicyDisabled)
    );
    assert!(e.to_string().contains("policy disabled"));
    assert!(
        compile(&set)
            .explain("nope.example", ip("192.0.2.10"))
            .is_none()
    );
}
