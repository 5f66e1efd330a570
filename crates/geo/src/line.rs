//! Lines: the regions and ISP lines rules match on, with their textual codes.

use std::fmt;

use crate::{Continent, Country, Isp, LineError, Location, Subdivision};

/// The name of a custom CIDR line (`cidr:office` has the name `office`):
/// 1 to 63 characters of `a-z`, `0-9`, `-`, `_`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomLineName(Box<str>);

impl CustomLineName {
    /// Validates a name.
    pub fn new(name: &str) -> Result<Self, LineError> {
        todo!("{name}")
    }
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A line: a set of clients a rule can match. See `docs/lines.md` for codes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Line {
    /// `cidr:NAME`: a custom line defined in the config.
    Custom(CustomLineName),
    /// `CN-BJ/telecom`: a province with one ISP.
    SubdivisionIsp(Subdivision, Isp),
    /// `CN-BJ`, `US-CA`, `IN-MH`.
    Subdivision(Subdivision),
    /// `CN/telecom`: a China mainland ISP nationwide.
    CountryIsp(Country, Isp),
    /// `CN`, `US`.
    Country(Country),
    /// `continent:EU`.
    Continent(Continent),
}

/// Precedence levels, most specific first; a smaller value wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Precedence {
    /// Custom CIDR lines.
    Custom,
    /// Province + ISP.
    SubdivisionIsp,
    /// Province / state.
    Subdivision,
    /// Country + ISP.
    CountryIsp,
    /// Country / region.
    Country,
    /// Continent.
    Continent,
    /// The default rule.
    Default,
}

impl Line {
    /// Parses a code; errors name the code and suggest the closest valid one.
    pub fn parse(code: &str) -> Result<Self, LineError> {
        todo!("{code}")
    }
    /// The precedence level.
    pub fn precedence(&self) -> Precedence {
        match self {
            Self::Custom(_) => Precedence::Custom,
            Self::SubdivisionIsp(..) => Precedence::SubdivisionIsp,
            Self::Subdivision(_) => Precedence::Subdivision,
            Self::CountryIsp(..) => Precedence::CountryIsp,
            Self::Country(_) => Precedence::Country,
            Self::Continent(_) => Precedence::Continent,
        }
    }
    /// Whether a client at `location` belongs to this line.
    pub fn matches(&self, location: &Location) -> bool {
        todo!("{location:?}")
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f; todo!()
    }
}
