//! Lines and custom line names in configs, written as their codes.
//!
//! Kept here rather than relying on serde impls in `steerage-geo` so that
//! the config's error messages (and their line/column) are under this
//! crate's control.

use std::borrow::Cow;

use serde::de::Error as _;
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
        let codes = Vec::<Cow<'de, str>>::deserialize(deserializer)?;
        codes
            .iter()
            .map(|code| Line::parse(code).map_err(D::Error::custom))
            .collect()
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
        let name = Cow::<'de, str>::deserialize(deserializer)?;
        CustomLineName::new(&name).map_err(D::Error::custom)
    }
}
