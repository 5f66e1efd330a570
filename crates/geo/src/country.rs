//! ISO 3166-1 countries and regions.

use crate::Continent;

/// An ISO 3166-1 country or region that the catalogue knows. `CN` is China
/// mainland; `HK`, `MO` and `TW` are their own codes.
///
/// Cheap to copy (an index into the built-in catalogue); it cannot hold an
/// unknown code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country(u16);

impl Country {
    /// Every country in the catalogue.
    pub fn all() -> impl Iterator<Item = Self> {
        (0..0u16).map(Self)
    }
    /// The country for an alpha-2 code, case-insensitive (`cn`, `CN`).
    pub fn from_code(code: &str) -> Option<Self> {
        todo!("{code}")
    }
    /// The upper-case alpha-2 code (`CN`).
    pub fn code(self) -> &'static str {
        todo!()
    }
    /// The English short name (`China`).
    pub fn name(self) -> &'static str {
        todo!()
    }
    /// The Chinese name, where the catalogue has one (`中国大陆`).
    pub fn chinese_name(self) -> Option<&'static str> {
        todo!()
    }
    /// The continent the country belongs to (used when a database lacks it).
    pub fn continent(self) -> Continent {
        todo!()
    }
}
