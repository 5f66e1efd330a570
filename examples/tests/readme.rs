//! The repository's README shows the same code as the `steerage` crate's
//! README, which its doctests compile: the example a newcomer copies from
//! the front page cannot go stale.

/// The ```rust blocks of a Markdown text (fence info may add `,no_run`).
fn rust_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.starts_with("```rust") => current = Some(String::new()),
            Some(block) if line == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

#[test]
fn the_readme_example_is_the_facade_crates_doctested_one() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let facade = std::fs::read_to_string(format!("{root}/crates/steerage/README.md")).unwrap();
    let shown = rust_blocks(&readme);
    let tested = rust_blocks(&facade);
    assert!(!shown.is_empty(), "README.md has no Rust example");
    for block in &shown {
        assert!(
            tested.contains(block),
            "README.md shows code that crates/steerage/README.md (doctested) does not:\n{block}"
        );
    }
}
