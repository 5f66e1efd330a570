//! Config as code: TOML and JSON text -> `PolicySet` -> text -> `PolicySet`.
//!
//! Beyond "no panic" on any input, every text that loads must save and load
//! again to an equal set, in both formats (what `docs/config.md` promises),
//! and a parse error must carry a line and column inside the text.
//!
//! Run: `cargo fuzz run config_parse --sanitizer none -- -max_total_time=60`
#![no_main]

use libfuzzer_sys::fuzz_target;
use steerage_policy::{ConfigError, Format, PolicySet};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for format in [Format::Toml, Format::Json] {
        match PolicySet::from_str_in(text, format) {
            Ok(set) => {
                for out in [Format::Toml, Format::Json] {
                    let saved = set.to_string_in(out).expect("a valid set serializes");
                    let again = PolicySet::from_str_in(&saved, out).expect("saved text loads");
                    assert_eq!(again, set, "{out:?} round trip changed the set");
                }
            }
            Err(ConfigError::Parse { line, column, .. }) => {
                let lines = text.split('\n').count().max(1);
                assert!(line >= 1 && line <= lines, "line {line} of {lines}");
                assert!(column >= 1, "column {column}");
            }
            Err(_) => {}
        }
    }
});
