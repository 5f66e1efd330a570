//! The seven continents.

/// A continent, by its two-letter code (`AF`, `AN`, `AS`, `EU`, `NA`, `OC`, `SA`),
/// the codes GeoIP2 databases use in `continent.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Continent {
    /// Africa (`AF`).
    Africa,
    /// Antarctica (`AN`).
    Antarctica,
    /// Asia (`AS`).
    Asia,
    /// Europe (`EU`).
    Europe,
    /// North America (`NA`).
    NorthAmerica,
    /// Oceania (`OC`).
    Oceania,
    /// South America (`SA`).
    SouthAmerica,
}

impl Continent {
    /// All seven, in code order.
    pub const ALL: [Self; 7] = [
        Self::Africa,
        Self::Antarctica,
        Self::Asia,
        Self::Europe,
        Self::NorthAmerica,
        Self::Oceania,
        Self::SouthAmerica,
    ];

    /// The two-letter code (`EU`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Africa => "AF",
            Self::Antarctica => "AN",
            Self::Asia => "AS",
            Self::Europe => "EU",
            Self::NorthAmerica => "NA",
            Self::Oceania => "OC",
            Self::SouthAmerica => "SA",
        }
    }

    /// The continent for a two-letter code, case-insensitive.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(code))
    }

    /// The English name (`Europe`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Africa => "Africa",
            Self::Antarctica => "Antarctica",
            Self::Asia => "Asia",
            Self::Europe => "Europe",
            Self::NorthAmerica => "North America",
            Self::Oceania => "Oceania",
            Self::SouthAmerica => "South America",
        }
    }
}
