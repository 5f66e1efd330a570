//! Line codes: text -> `Line` -> canonical code -> `Line`.
//!
//! Beyond "no panic" on any text: a code that parses prints a canonical code
//! that parses to the same line and prints itself again; surrounding
//! whitespace changes nothing; codes other than custom names parse the same in
//! any ASCII case; a parsed line is a custom line or one of the catalogue's,
//! at the precedence of its kind. An error names the code as given, is
//! `Empty` exactly for blank text, and any "did you mean" suggestion is itself
//! a valid code.
//!
//! Run: `cargo fuzz run line_code --sanitizer none -- -max_total_time=60`
#![no_main]

use std::collections::HashSet;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use steerage_geo::{Line, LineError, Precedence};

static CATALOGUE: LazyLock<HashSet<Line>> = LazyLock::new(|| Line::catalogue().collect());

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Line::parse(text) {
        Ok(line) => check_line(text, &line),
        Err(LineError::Empty) => {
            assert!(text.trim().is_empty(), "`{text}` is not blank");
        }
        Err(LineError::Unknown { code, suggestion }) => {
            assert_eq!(code, text);
            assert!(!text.trim().is_empty());
            if let Some(suggestion) = suggestion {
                let suggested = Line::parse(&suggestion);
                assert!(
                    suggested.is_ok(),
                    "`{text}`: suggestion `{suggestion}` does not parse: {suggested:?}"
                );
            }
        }
        Err(LineError::IspOutsideChina { code }) => assert_eq!(code, text),
        Err(LineError::InvalidCustomName { name, .. }) => {
            // The name is what follows `cidr:` in the trimmed text.
            let rest = text.trim().split_once(':').map(|(_, rest)| rest);
            assert_eq!(Some(name.as_str()), rest, "`{text}`");
        }
        Err(other) => panic!("`{text}`: unexpected error {other:?}"),
    }
});

fn check_line(text: &str, line: &Line) {
    let canonical = line.to_string();
    let again = Line::parse(&canonical)
        .unwrap_or_else(|e| panic!("`{text}` prints `{canonical}`, which does not parse: {e}"));
    assert_eq!(&again, line, "`{text}` -> `{canonical}` -> another line");
    assert_eq!(
        again.to_string(),
        canonical,
        "the canonical code is not stable"
    );

    let padded = format!(" \t{text}\r\n ");
    assert_eq!(Line::parse(&padded).as_ref(), Ok(line), "`{padded}`");

    match line {
        Line::Custom(name) => {
            assert_eq!(line.precedence(), Precedence::Custom);
            assert_eq!(canonical, format!("cidr:{}", name.as_str()));
        }
        _ => {
            assert!(
                CATALOGUE.contains(line),
                "`{text}` parses to {line:?}, outside the catalogue"
            );
            assert_ne!(line.precedence(), Precedence::Custom);
            for cased in [text.to_ascii_uppercase(), text.to_ascii_lowercase()] {
                assert_eq!(Line::parse(&cased).as_ref(), Ok(line), "`{cased}`");
            }
        }
    }
}
