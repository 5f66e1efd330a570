//! ISO 3166-1 countries and regions.

use std::fmt;

use crate::Continent;
use crate::catalogue::{COUNTRIES, CountryEntry, country_index};

/// An ISO 3166-1 country or region that the catalogue knows. `CN` is China
/// mainland; `HK`, `MO` and `TW` are their own codes.
///
/// Cheap to copy (an index into the built-in catalogue); it cannot hold an
/// unknown code. Orders by code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country(u16);

impl Country {
    /// China mainland (`CN`), the only country with ISP lines.
    pub const CHINA: Self = Self(country_index("CN"));

    /// The country for an upper-case alpha-2 code known at compile time;
    /// an unknown code fails the build.
    pub(crate) const fn known(code: &str) -> Self {
        Self(country_index(code))
    }

    /// Every country in the catalogue: the 249 officially assigned ISO 3166-1
    /// alpha-2 codes plus `XK` (Kosovo, which IP databases use), in code order.
    pub fn all() -> impl Iterator<Item = Self> {
        // COUNTRIES has 250 rows; the `as` cannot truncate.
        (0..COUNTRIES.len() as u16).map(Self)
    }
    /// The country for an alpha-2 code, case-insensitive (`cn`, `CN`).
    pub fn from_code(code: &str) -> Option<Self> {
        let [a, b] = <[u8; 2]>::try_from(code.as_bytes()).ok()?;
        let key = [a.to_ascii_uppercase(), b.to_ascii_uppercase()];
        COUNTRIES
            .binary_search_by(|e| e.code.as_bytes().cmp(&key[..]))
            .ok()
            .and_then(|i| u16::try_from(i).ok())
            .map(Self)
    }
    /// The country for its Chinese name (`中国大陆`, `香港`), where the
    /// catalogue has one; `中国` also means China mainland.
    pub fn from_chinese_name(name: &str) -> Option<Self> {
        if name == "中国" {
            return Some(Self::CHINA);
        }
        Self::all().find(|c| c.chinese_name() == Some(name))
    }
    /// The upper-case alpha-2 code (`CN`).
    pub fn code(self) -> &'static str {
        self.entry().code
    }
    /// The English short name (`China`).
    pub fn name(self) -> &'static str {
        self.entry().name
    }
    /// The Chinese name, where the catalogue has one (`中国大陆`).
    pub fn chinese_name(self) -> Option<&'static str> {
        self.entry().chinese
    }
    /// The continent the country belongs to (used when a database lacks it),
    /// as GeoIP2 databases assign it (`RU` Europe, `TR` Asia, `EG` Africa).
    pub fn continent(self) -> Continent {
        self.entry().continent
    }

    /// The country at an index of the catalogue table (indices come from
    /// the table itself, checked at compile time).
    pub(crate) const fn from_index(index: u16) -> Self {
        Self(index)
    }

    fn entry(self) -> &'static CountryEntry {
        // A `Country` is only made from an index into COUNTRIES.
        &COUNTRIES[usize::from(self.0)]
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl serde::Serialize for Country {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Country {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = crate::serde_str::deserialize(deserializer)?;
        Self::from_code(&code).ok_or_else(|| {
            serde::de::Error::custom(format_args!("unknown ISO 3166-1 alpha-2 code `{code}`"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_lookup_is_case_insensitive_and_round_trips() {
        for country in Country::all() {
            assert_eq!(Country::from_code(country.code()), Some(country));
            assert_eq!(
                Country::from_code(&country.code().to_ascii_lowercase()),
                Some(country)
            );
        }
        assert_eq!(Country::from_code("cn"), Some(Country::CHINA));
        assert_eq!(Country::CHINA.code(), "CN");
        assert_eq!(Country::all().count(), 250);
    }

    #[test]
    fn unknown_and_malformed_codes_are_none() {
        for code in ["", "C", "CHN", "ZZ", "EU", "UK", "C\u{e9}", "中国", "C-"] {
            assert_eq!(Country::from_code(code), None, "{code}");
        }
    }

    #[test]
    fn china_hong_kong_macao_taiwan_are_separate_with_chinese_names() {
        let name = |cc| Country::from_code(cc).and_then(Country::chinese_name);
        assert_eq!(name("CN"), Some("中国大陆"));
        assert_eq!(name("HK"), Some("香港"));
        assert_eq!(name("MO"), Some("澳门"));
        assert_eq!(name("TW"), Some("台湾"));
        assert_eq!(Country::from_chinese_name("香港"), Country::from_code("HK"));
        assert_eq!(Country::from_chinese_name("中国"), Some(Country::CHINA));
        assert_eq!(Country::from_chinese_name("火星"), None);
    }

    #[test]
    fn names_and_continents() {
        let c = |cc| Country::from_code(cc).unwrap();
        assert_eq!(c("DE").name(), "Germany");
        assert_eq!(c("RU").continent(), Continent::Europe);
        assert_eq!(c("TR").continent(), Continent::Asia);
        assert_eq!(c("EG").continent(), Continent::Africa);
        assert_eq!(c("AQ").continent(), Continent::Antarctica);
        assert_eq!(c("BR").continent(), Continent::SouthAmerica);
        assert_eq!(c("NZ").continent(), Continent::Oceania);
        assert_eq!(c("MX").continent(), Continent::NorthAmerica);
    }

    #[test]
    fn serde_uses_the_code() {
        let cn = serde_json::to_string(&Country::CHINA).unwrap();
        assert_eq!(cn, "\"CN\"");
        assert_eq!(
            serde_json::from_str::<Country>("\"cn\"").unwrap(),
            Country::CHINA
        );
        let err = serde_json::from_str::<Country>("\"ZZ\"").unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown ISO 3166-1 alpha-2 code `ZZ`"),
            "{err}"
        );
    }
}
