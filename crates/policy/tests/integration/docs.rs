//! The examples in `docs/config.md` are the fixtures under `testdata/`, and
//! they load.

use steerage_policy::{CheckKind, OnAllDown, PolicySet, SelectionMode};

use crate::fixtures::DESIGN_TOML;

const EVERY_FIELD_TOML: &str = include_str!("../../testdata/every-field.toml");

#[test]
fn every_field_example_loads_with_its_values() {
    let set = PolicySet::from_toml_str(EVERY_FIELD_TOML).unwrap();
    let policy = set.policy("www.example.com").unwrap();
    assert_eq!(policy.ttl().get(), 300);
    assert_eq!(policy.mode(), SelectionMode::Sticky);
    assert_eq!(policy.seed(), 0xdead_beef);
    assert!(!policy.provider("vendor-a").unwrap().is_enabled());
    assert_eq!(policy.on_all_down(), OnAllDown::NoData);
    let check = policy.provider("vendor-a").unwrap().check().unwrap();
    assert_eq!(
        (check.kind(), check.port(), check.path(), check.status()),
        (CheckKind::Https, Some(8443), "/healthz", (200, 299))
    );
    assert_eq!(
        (check.interval_ms(), check.timeout_ms(), check.jitter_ms()),
        (5000, 1000, 500)
    );
    assert_eq!(policy.rules()[0].lines().len(), 4);
    assert_eq!(set.custom_line("office").unwrap().prefixes().len(), 2);
}

/// The TOML code blocks of the configuration guide, `docs/config.md`.
fn doc_blocks() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/config.md");
    let text = std::fs::read_to_string(path).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line) {
            (None, "```toml") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// The fixture without its leading comment lines.
fn body(fixture: &str) -> String {
    fixture
        .lines()
        .skip_while(|l| l.starts_with('#') || l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn docs_show_the_fixtures() {
    let blocks = doc_blocks();
    assert_eq!(blocks.len(), 2, "docs/config.md has two TOML examples");
    assert_eq!(blocks[0], body(DESIGN_TOML));
    assert_eq!(blocks[1], body(EVERY_FIELD_TOML));
}
