//! Reading a code string through serde, borrowed or owned, for the types
//! that serialize as their codes.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Visitor};

struct CodeVisitor;

impl<'de> Visitor<'de> for CodeVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a code string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// The string a deserializer holds; anything else is a type error.
pub(crate) fn deserialize<'de, D: de::Deserializer<'de>>(
    deserializer: D,
) -> Result<Cow<'de, str>, D::Error> {
    deserializer.deserialize_str(CodeVisitor)
}
