//! Values that configs write as strings, parsed while the parser still
//! knows where the string is.
//!
//! The parse runs inside the string visitor rather than after the string has
//! been read, so that format crates attach the string's own position to an
//! error (TOML otherwise reports the enclosing array).

use std::fmt;
use std::marker::PhantomData;

use serde::Deserializer;
use serde::de::{Error, Visitor};

/// Deserializes a string and parses it with `parse`, whose error message
/// becomes the deserializer's error.
pub(crate) fn parse_str<'de, D, T, E, F>(
    deserializer: D,
    expecting: &'static str,
    parse: F,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    E: fmt::Display,
    F: FnOnce(&str) -> Result<T, E>,
{
    deserializer.deserialize_str(ParseVisitor {
        expecting,
        parse,
        output: PhantomData,
    })
}

struct ParseVisitor<F, T> {
    expecting: &'static str,
    parse: F,
    output: PhantomData<fn() -> T>,
}

impl<T, E, F> Visitor<'_> for ParseVisitor<F, T>
where
    E: fmt::Display,
    F: FnOnce(&str) -> Result<T, E>,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<R: Error>(self, text: &str) -> Result<T, R> {
        (self.parse)(text).map_err(R::custom)
    }
}
