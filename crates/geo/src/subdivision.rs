//! ISO 3166-2 subdivisions: China's provinces, US states, India's states and
//! union territories.

use crate::Country;

/// A first-level subdivision the catalogue knows (`CN-BJ`, `US-CA`, `IN-MH`).
///
/// Cheap to copy; it cannot hold an unknown code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subdivision(u16);

impl Subdivision {
    /// Every subdivision in the catalogue.
    pub fn all() -> impl Iterator<Item = Self> {
        (0..0u16).map(Self)
    }
    /// The subdivision for a full ISO 3166-2 code, case-insensitive (`CN-BJ`).
    pub fn from_code(code: &str) -> Option<Self> {
        todo!("{code}")
    }
    /// The subdivision of `country` for the part after the dash (`BJ`), as
    /// GeoIP2's `subdivisions[0].iso_code` gives it.
    pub fn from_country_and_code(country: Country, code: &str) -> Option<Self> {
        todo!("{country:?}{code}")
    }
    /// The subdivision of `country` for an English name as IP databases spell
    /// it (`Beijing`, `Inner Mongolia`, `California`, `Maharashtra`), with the
    /// usual variants; case-insensitive.
    pub fn from_english_name(country: Country, name: &str) -> Option<Self> {
        todo!("{country:?}{name}")
    }
    /// The full code (`CN-BJ`).
    pub fn code(self) -> &'static str {
        todo!()
    }
    /// The country it belongs to.
    pub fn country(self) -> Country {
        todo!()
    }
    /// The English name (`Beijing`).
    pub fn name(self) -> &'static str {
        todo!()
    }
    /// The Chinese name for China's provinces (`北京`).
    pub fn chinese_name(self) -> Option<&'static str> {
        todo!()
    }
}
