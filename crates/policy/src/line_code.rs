//! Lines and custom line names in configs, written as their codes.
//!
//! Kept here rather than relying on serde impls in `steerage-geo` so that
//! the config's error messages (and their line/column) are under this
//! crate's control.

use serde::{Deserialize, Deserializer, Serializer};
use steerage_geo::{CustomLineName, Line};

/// `#[serde(with = "line_code::list")]` for `Vec<Line>`.
pub(crate) mod list {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        lines: &[Line],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(lines.iter().map(ToString::to_string))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Line>, D::Error> {
        /// One code, parsed on its own so that an error points at it.
        struct Code(Line);

        impl<'de> Deserialize<'de> for Code {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                crate::text::parse_str(deserializer, "a line code", |code| {
                    Line::parse(code).map(Self)
                })
            }
        }

        let codes = Vec::<Code>::deserialize(deserializer)?;
        Ok(codes.into_iter().map(|c| c.0).collect())
    }
}

/// `#[serde(with = "line_code::custom_name")]` for `CustomLineName`.
pub(crate) mod custom_name {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        name: &CustomLineName,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(name.as_str())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<CustomLineName, D::Error> {
        crate::text::parse_str(deserializer, "a custom line name", CustomLineName::new)
    }
}
