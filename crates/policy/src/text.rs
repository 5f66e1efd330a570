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

/// Deserializes an integer and checks it with `check`, whose error message
/// becomes the deserializer's error.
///
/// As with [`parse_str`], the check runs inside the visitor: serde_json
/// positions an error raised there at the number, one raised after the
/// value was read at the end of the enclosing object.
pub(crate) fn parse_int<'de, D, T, E, F>(
    deserializer: D,
    expecting: &'static str,
    check: F,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    E: fmt::Display,
    F: FnOnce(i64) -> Result<T, E>,
{
    deserializer.deserialize_i64(IntVisitor {
        expecting,
        check,
        output: PhantomData,
    })
}

struct IntVisitor<F, T> {
    expecting: &'static str,
    check: F,
    output: PhantomData<fn() -> T>,
}

impl<T, E, F> Visitor<'_> for IntVisitor<F, T>
where
    E: fmt::Display,
    F: FnOnce(i64) -> Result<T, E>,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_i64<R: Error>(self, value: i64) -> Result<T, R> {
        (self.check)(value).map_err(R::custom)
    }

    fn visit_u64<R: Error>(self, value: u64) -> Result<T, R> {
        match i64::try_from(value) {
            Ok(value) => self.visit_i64(value),
            Err(_) => Err(R::invalid_value(
                serde::de::Unexpected::Unsigned(value),
                &self,
            )),
        }
    }
}
