//! Loading configs: parse errors carry line and column, unknown fields are
//! errors, defaults apply, and both formats describe the same set.

use steerage_policy::{ConfigError, Format, PolicySet, SelectionMode};

use crate::fixtures::{DESIGN_TOML, design_by_operations};

#[track_caller]
fn parse_error(text: &str, format: Format) -> (usize, usize, String) {
    match PolicySet::from_str_in(text, format) {
        Err(ConfigError::Parse {
            format: f,
            line,
            column,
            message,
        }) => {
            assert_eq!(f, format);
            (line, column, message)
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

const HEAD: &str = "[builtin]\ncname = \"edge.steerage.example\"\n";

#[test]
fn toml_syntax_error_has_line_and_column() {
    let text = format!("{HEAD}[[policy]]\ndomain = \"a.example\nttl = 5\n");
    let (line, column, _) = parse_error(&text, Format::Toml);
    assert_eq!(
        (line, column),
        (4, 20),
        "at the end of the unterminated string"
    );
}

#[test]
fn toml_unknown_field_is_an_error_at_its_place() {
    let text = format!("{HEAD}[[policy]]\ndomain = \"a.example\"\nttl = 60\ntll = 60\n");
    let (line, column, message) = parse_error(&text, Format::Toml);
    assert_eq!((line, column), (6, 1));
    assert!(message.contains("tll"), "{message}");
    let nested = [
        (
            "[[policy.provider]]\nname = \"x\"\nkind = \"cdn\"\ncname = \"x.example\"\ncnmae = \"y.example\"",
            9,
            "cnmae",
        ),
        (
            "[[policy.rule]]\nname = \"r\"\nline = [\"US\"]\ntargets = [{ provider = \"builtin\", weight = 1 }]",
            7,
            "line",
        ),
        (
            "[[policy.rule]]\nname = \"r\"\nlines = [\"US\"]\ntargets = [{ provider = \"builtin\", wieght = 1 }]",
            8,
            "wieght",
        ),
        (
            "[policy.default]\ntargets = []\nlines = [\"US\"]",
            7,
            "lines",
        ),
    ];
    for (body, want_line, field) in nested {
        let text = format!("{HEAD}[[policy]]\ndomain = \"a.example\"\n{body}\n");
        let (line, _, message) = parse_error(&text, Format::Toml);
        assert_eq!(line, want_line, "{message}");
        assert!(message.contains(field), "{message}");
    }
    let text = format!("{HEAD}colour = \"blue\"\n");
    let (line, _, message) = parse_error(&text, Format::Toml);
    assert_eq!(line, 3);
    assert!(message.contains("colour"), "{message}");
}

#[test]
fn toml_invalid_values_point_at_the_value() {
    let policy = |body: &str| format!("{HEAD}[[policy]]\ndomain = \"a.example\"\n{body}\n");
    let cases = [
        (policy("ttl = 0"), 5, 7, "TTL 0 is out of range"),
        (policy("mode = \"roundrobin\""), 5, 8, "roundrobin"),
        (
            policy(
                "[[policy.rule]]\nname = \"r\"\nlines = [\"CN-BEIJING\"]\ntargets = [{ provider = \"builtin\", weight = 1 }]",
            ),
            7,
            10,
            "CN-BJ",
        ),
        (
            policy(
                "[[policy.rule]]\nname = \"r\"\nlines = [\"US\"]\ntargets = [{ provider = \"builtin\", weight = 10001 }]",
            ),
            8,
            45,
            "weight 10001 is out of range",
        ),
        (
            policy("[[policy.provider]]\nname = \"x\"\nkind = \"cdn\"\ncname = \"bücher.example\""),
            8,
            9,
            "punycode",
        ),
        (policy("seed = \"xyz\""), 5, 8, "hexadecimal"),
        (
            format!("{HEAD}[[policy]]\ndomain = \"-a.example\"\n"),
            4,
            10,
            "`-`",
        ),
        (
            format!("{HEAD}[[custom_line]]\nname = \"office\"\nprefixes = [\"10.0.0.0/33\"]\n"),
            5,
            13,
            "invalid IP prefix `10.0.0.0/33`",
        ),
        (
            format!("{HEAD}[[custom_line]]\nname = \"Office!\"\nprefixes = [\"10.0.0.0/8\"]\n"),
            4,
            8,
            "Office!",
        ),
    ];
    for (text, line, column, needle) in cases {
        let (l, c, message) = parse_error(&text, Format::Toml);
        assert_eq!((l, c), (line, column), "{text}\n{message}");
        assert!(message.contains(needle), "{message} lacks {needle}");
    }
}

#[test]
fn toml_missing_builtin() {
    let (line, column, message) = parse_error("[[policy]]\ndomain = \"a.example\"\n", Format::Toml);
    assert_eq!((line, column), (1, 1));
    assert!(message.contains("builtin"), "{message}");
}

#[test]
fn json_errors_have_line_and_column() {
    let text = "{\n  \"builtin\": { \"cname\": \"edge.example\" },\n  \"policy\": [ { \"domain\": \"a.example\", \"ttl\": 0 } ]\n}\n";
    let (line, column, message) = parse_error(text, Format::Json);
    assert_eq!(line, 3);
    assert!(column > 40, "{column}");
    assert!(message.contains("TTL 0"), "{message}");
    assert!(!message.contains("at line"), "{message}");

    let text = "{\n  \"builtin\": { \"cname\": \"edge.example\", \"extra\": 1 }\n}\n";
    let (line, _, message) = parse_error(text, Format::Json);
    assert_eq!(line, 2);
    assert!(message.contains("extra"), "{message}");

    let (line, _, _) = parse_error("{\n\"builtin\": ", Format::Json);
    assert_eq!(line, 2);
}

#[test]
fn defaults_for_omitted_fields() {
    let set =
        PolicySet::from_toml_str(&format!("{HEAD}[[policy]]\ndomain = \"a.example\"\n")).unwrap();
    let mut by_operations = PolicySet::new(set.builtin().clone());
    by_operations.create_policy("a.example").unwrap();
    assert_eq!(set, by_operations);
    let p = set.policy("a.example").unwrap();
    assert_eq!(p.mode(), SelectionMode::Random);
    assert_eq!(p.ttl().get(), 600);
}

#[test]
fn seed_and_disabled_items_round_trip() {
    let mut set = design_by_operations();
    set.set_seed(crate::fixtures::DOMAIN, 0xdead_beef_0000_0001)
        .unwrap();
    set.set_mode(crate::fixtures::DOMAIN, SelectionMode::Sticky)
        .unwrap();
    set.disable_rule(crate::fixtures::DOMAIN, "beijing")
        .unwrap();
    set.disable_provider(crate::fixtures::DOMAIN, "vendor-b")
        .unwrap();
    set.disable_policy(crate::fixtures::DOMAIN).unwrap();
    let toml = set.to_toml_string().unwrap();
    assert!(toml.contains("seed = \"deadbeef00000001\""), "{toml}");
    assert!(toml.contains("enabled = false"), "{toml}");
    assert_eq!(PolicySet::from_toml_str(&toml).unwrap(), set);
    let json = set.to_json_string().unwrap();
    assert_eq!(PolicySet::from_json_str(&json).unwrap(), set);
}

#[test]
fn json_and_toml_describe_the_same_set() {
    let set = PolicySet::from_toml_str(DESIGN_TOML).unwrap();
    let json = set.to_json_string().unwrap();
    assert_eq!(PolicySet::from_json_str(&json).unwrap(), set);
}

#[test]
fn semantic_errors_are_not_parse_errors() {
    let text = format!(
        "{HEAD}[[policy]]\ndomain = \"a.example\"\n[policy.default]\ntargets = [{{ provider = \"ghost\", weight = 1 }}]\n"
    );
    let err = PolicySet::from_toml_str(&text).unwrap_err();
    assert!(matches!(err, ConfigError::Invalid(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "policy `a.example`, rule `default`: unknown provider `ghost`"
    );
}

#[test]
fn deeply_nested_input_is_an_error_not_a_crash() {
    let n = 100_000;
    for text in [
        format!("{HEAD}x = {}", "[".repeat(n)),
        format!("{HEAD}x = {}", "{a=".repeat(n)),
    ] {
        parse_error(&text, Format::Toml);
    }
    for text in [
        format!("{{\"builtin\": {}", "[".repeat(n)),
        format!(
            "{{\"builtin\": {{\"cname\": \"e.example\"}}, \"policy\": {}",
            "[".repeat(n)
        ),
    ] {
        parse_error(&text, Format::Json);
    }
}

#[test]
fn huge_values_are_cut_in_errors() {
    let long = "a".repeat(100_000);
    let text = format!("{HEAD}[[policy]]\ndomain = \"{long}\"\n");
    let (_, _, message) = parse_error(&text, Format::Toml);
    assert!(message.len() < 1_000, "{} bytes", message.len());
}

/// The 1-based column range of `needle` on line `line` of `text`.
fn columns_of(text: &str, line: usize, needle: &str) -> std::ops::RangeInclusive<usize> {
    let at = text.lines().nth(line - 1).unwrap().find(needle).unwrap();
    at + 1..=at + needle.len()
}

#[test]
fn json_out_of_range_numbers_point_at_the_value() {
    let cases = [
        ("10001", "weight 10001 is out of range"),
        ("-1", "weight -1 is out of range"),
        ("99999999999", "weight 99999999999 is out of range"),
        ("18446744073709551615", "18446744073709551615"),
    ];
    for (value, needle) in cases {
        let text = format!(
            "{{\n  \"builtin\": {{ \"cname\": \"edge.example\" }},\n  \"policy\": [ {{\n    \"domain\": \"a.example\",\n    \"default\": {{ \"targets\": [ {{ \"provider\": \"builtin\", \"weight\": {value}   }} ] }}\n  }} ]\n}}\n"
        );
        let (line, column, message) = parse_error(&text, Format::Json);
        assert_eq!(line, 5, "{message}");
        let at = columns_of(&text, 5, value);
        assert!(
            at.contains(&column),
            "{value}: column {column} is not in the value's {at:?}: {message}"
        );
        assert!(message.contains(needle), "{message} lacks {needle}");
    }
    let text = "{\n  \"builtin\": { \"cname\": \"edge.example\" },\n  \"policy\": [ { \"domain\": \"a.example\", \"ttl\": 86401  } ]\n}\n";
    let (line, column, message) = parse_error(text, Format::Json);
    assert_eq!(line, 3, "{message}");
    assert!(
        columns_of(text, 3, "86401").contains(&column),
        "{column}: {message}"
    );
}

#[test]
fn a_byte_order_mark_is_skipped_in_both_formats() {
    let set = PolicySet::from_toml_str(DESIGN_TOML).unwrap();
    for format in [Format::Toml, Format::Json] {
        let text = set.to_string_in(format).unwrap();
        let with_bom = format!("\u{feff}{text}");
        assert_eq!(
            PolicySet::from_str_in(&with_bom, format).unwrap(),
            set,
            "{format}"
        );
    }
    // Columns do not count the mark: an error on the first line is where it
    // is without it.
    let toml = "\u{feff}[builtin] x\ncname = \"edge.example\"\n";
    let json = "\u{feff}{ \"builtin\": 1 }";
    for (text, format) in [(toml, Format::Toml), (json, Format::Json)] {
        let with = parse_error(text, format);
        let without = parse_error(&text['\u{feff}'.len_utf8()..], format);
        assert_eq!(with, without, "{format}");
    }
}

/// Health settings: a bad value in a check is refused with the policy,
/// provider and field named; a bad spelling with its line and column.
#[test]
fn health_check_errors_name_where_they_are() {
    let head = "[builtin]\ncname = \"edge.example\"\n\n[[policy]]\ndomain = \"a.example\"\n\n[[policy.provider]]\nname = \"p\"\nkind = \"cdn\"\ncname = \"p.example\"\n\n[policy.provider.check]\n";
    let text = format!("{head}kind = \"tcp\"\n");
    assert_eq!(
        PolicySet::from_toml_str(&text),
        Err(ConfigError::Invalid(
            steerage_policy::PolicyError::InvalidCheck {
                policy: "a.example".into(),
                provider: "p".into(),
                field: "port",
                reason: Box::new(steerage_policy::CheckFault::PortRequired),
            }
        ))
    );
    let text = format!("{head}kind = \"icmp\"\n");
    let err = PolicySet::from_toml_str(&text).unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Parse {
                line: 13,
                column: 8,
                ..
            }
        ),
        "{err:?}"
    );
    let text = format!("{head}kind = \"http\"\ninterval_ms = 1000\ntimeout_ms = 1000\n");
    assert!(matches!(
        PolicySet::from_toml_str(&text),
        Err(ConfigError::Invalid(
            steerage_policy::PolicyError::InvalidCheck {
                field: "timeout_ms",
                ..
            }
        ))
    ));
    let text = "{\"builtin\": {\"cname\": \"edge.example\"}, \"policy\": [{\"domain\": \"a.example\", \"on_all_down\": \"open\"}]}";
    let err = PolicySet::from_json_str(text).unwrap_err();
    assert!(matches!(err, ConfigError::Parse { line: 1, .. }), "{err:?}");
}
