//! Lines: the regions and ISP lines rules match on, with their textual codes.
//!
//! Code forms (see the [line guide](crate::docs::lines)): `CN`, `CN-BJ`, `CN/telecom`,
//! `CN-BJ/telecom`, `continent:EU`, `cidr:NAME`. Geographic parts, ISP codes
//! and the `continent:` / `cidr:` keywords are case-insensitive and
//! normalized; custom names are lower-case as written.

use std::fmt;
use std::str::FromStr;

use crate::{Continent, Country, Isp, LineError, Location, Subdivision, suggestion};

/// The name of a custom CIDR line (`cidr:office` has the name `office`):
/// 1 to 63 characters of `a-z`, `0-9`, `-`, `_`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomLineName(Box<str>);

/// The longest custom line name, a DNS label's length.
const MAX_CUSTOM_NAME_LEN: usize = 63;

impl CustomLineName {
    /// Validates a name.
    pub fn new(name: &str) -> Result<Self, LineError> {
        let invalid = |reason| LineError::InvalidCustomName {
            name: name.to_owned(),
            reason,
        };
        let Some(first) = name.chars().next() else {
            return Err(invalid("it is empty"));
        };
        if name.len() > MAX_CUSTOM_NAME_LEN {
            return Err(invalid("it is longer than 63 characters"));
        }
        if first == '-' || first == '_' {
            return Err(invalid("it starts with `-` or `_`"));
        }
        if name.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(invalid("it has an upper-case letter"));
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(invalid("it has a character other than a-z, 0-9, `-`, `_`"));
        }
        Ok(Self(name.into()))
    }
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CustomLineName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CustomLineName {
    type Err = LineError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// A line: a set of clients a rule can match. See the
/// [line guide](crate::docs::lines) for codes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Line {
    /// `cidr:NAME`: a custom line defined in the config.
    Custom(CustomLineName),
    /// `CN-BJ/telecom`: a province with one ISP.
    ///
    /// [`Line::parse`] only builds it with China's provinces; see
    /// [`Line::CountryIsp`].
    SubdivisionIsp(Subdivision, Isp),
    /// `CN-BJ`, `US-CA`, `IN-MH`.
    Subdivision(Subdivision),
    /// `CN/telecom`: a China mainland ISP nationwide.
    ///
    /// [`Line::parse`] only builds it with `CN`. A value built by hand with
    /// another country prints a code that does not parse back, and matches
    /// no location the lookup produces (it sets ISPs only for `CN`).
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

impl Precedence {
    /// Every level, most specific first.
    pub const ALL: [Self; 7] = [
        Self::Custom,
        Self::SubdivisionIsp,
        Self::Subdivision,
        Self::CountryIsp,
        Self::Country,
        Self::Continent,
        Self::Default,
    ];
}

/// The keyword before a custom line's name.
const CIDR_PREFIX: &str = "cidr";
/// The keyword before a continent code.
const CONTINENT_PREFIX: &str = "continent";

impl Line {
    /// Parses a code; errors name the code and suggest the closest valid one.
    ///
    /// Accepts the codes in any case (`cn-bj/TELECOM`), China's numeric and
    /// India's pre-2023 codes (`CN-11`, `IN-OR`), and the Chinese names
    /// (`北京`, `中国大陆`, `电信`, `北京/电信`, `北京电信`, `欧洲`); [`Line`]'s
    /// `Display` always gives the canonical code.
    pub fn parse(code: &str) -> Result<Self, LineError> {
        let trimmed = code.trim();
        if trimmed.is_empty() {
            return Err(LineError::Empty);
        }
        let unknown = || LineError::Unknown {
            code: code.to_owned(),
            suggestion: suggestion::closest(trimmed),
        };
        if let Some((keyword, rest)) = trimmed.split_once(':') {
            if keyword.eq_ignore_ascii_case(CIDR_PREFIX) {
                return CustomLineName::new(rest).map(Self::Custom);
            }
            if keyword.eq_ignore_ascii_case(CONTINENT_PREFIX) {
                return Continent::from_code(rest)
                    .map(Self::Continent)
                    .ok_or_else(unknown);
            }
            return Err(LineError::Unknown {
                code: code.to_owned(),
                suggestion: keyword_typo(keyword, rest).or_else(|| suggestion::closest(trimmed)),
            });
        }
        let (place, isp) = match trimmed.split_once('/') {
            Some((place, isp)) => (place, Some(isp)),
            // `北京电信`: Chinese users write province and ISP together.
            None => match split_chinese_isp(trimmed) {
                Some((place, isp)) => (place, Some(isp)),
                None => (trimmed, None),
            },
        };
        let Some(isp) = isp else {
            return parse_place(place)
                .or_else(|| {
                    Isp::from_chinese_name(place).map(|i| Self::CountryIsp(Country::CHINA, i))
                })
                .or_else(|| Continent::from_chinese_name(place).map(Self::Continent))
                .ok_or_else(unknown);
        };
        let isp = Isp::from_code(isp)
            .or_else(|| Isp::from_chinese_name(isp))
            .ok_or_else(unknown)?;
        match parse_place(place) {
            Some(Self::Country(c)) if c == Country::CHINA => Ok(Self::CountryIsp(c, isp)),
            Some(Self::Subdivision(s)) if s.country() == Country::CHINA => {
                Ok(Self::SubdivisionIsp(s, isp))
            }
            Some(_) => Err(LineError::IspOutsideChina {
                code: code.to_owned(),
            }),
            None => Err(unknown()),
        }
    }

    /// Every line of the built-in catalogue (all but custom lines), in
    /// [`Line`] order: ISP lines of China's provinces, subdivisions, China's
    /// nationwide ISP lines, countries, continents.
    pub fn catalogue() -> impl Iterator<Item = Self> {
        let china_subdivisions = Subdivision::all().filter(|s| s.country() == Country::CHINA);
        china_subdivisions
            .flat_map(|s| {
                Isp::ALL
                    .iter()
                    .map(move |&isp| Self::SubdivisionIsp(s, isp))
            })
            .chain(Subdivision::all().map(Self::Subdivision))
            .chain(
                Isp::ALL
                    .iter()
                    .map(|&isp| Self::CountryIsp(Country::CHINA, isp)),
            )
            .chain(Country::all().map(Self::Country))
            .chain(Continent::ALL.into_iter().map(Self::Continent))
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
    ///
    /// A location without a continent takes its country's.
    pub fn matches(&self, location: &Location) -> bool {
        match self {
            Self::Custom(name) => location.custom.contains(name),
            Self::SubdivisionIsp(sub, isp) => {
                location.subdivision == Some(*sub) && location.isp == Some(*isp)
            }
            Self::Subdivision(sub) => location.subdivision == Some(*sub),
            Self::CountryIsp(country, isp) => {
                location.country == Some(*country) && location.isp == Some(*isp)
            }
            Self::Country(country) => location.country == Some(*country),
            Self::Continent(continent) => {
                location
                    .continent
                    .or_else(|| location.country.map(Country::continent))
                    == Some(*continent)
            }
        }
    }
}

/// A country or subdivision by code, or a Chinese name.
fn parse_place(place: &str) -> Option<Line> {
    if place.contains('-') {
        return Subdivision::from_code(place).map(Line::Subdivision);
    }
    Country::from_code(place)
        .map(Line::Country)
        .or_else(|| Subdivision::from_chinese_name(place).map(Line::Subdivision))
        .or_else(|| Country::from_chinese_name(place).map(Line::Country))
}

/// `北京电信` as (`北京`, `电信`): a place followed by a Chinese ISP name.
fn split_chinese_isp(code: &str) -> Option<(&str, &str)> {
    ["电信", "联通", "移动", "教育网", "铁通"]
        .iter()
        .find_map(|isp| {
            let place = code.strip_suffix(isp)?;
            (!place.is_empty()).then(|| (place, &code[place.len()..]))
        })
}

/// `cdir:office`, `contnent:EU`: a misspelt keyword in front of a valid rest.
fn keyword_typo(keyword: &str, rest: &str) -> Option<String> {
    let lower: Vec<char> = keyword.chars().flat_map(char::to_lowercase).collect();
    let near = |target: &str, edits: usize| {
        let target: Vec<char> = target.chars().collect();
        suggestion::distance(&lower, &target, &mut Vec::new()) <= edits
    };
    if near(CIDR_PREFIX, 1) {
        let name = CustomLineName::new(rest).ok()?;
        return Some(Line::Custom(name).to_string());
    }
    if near(CONTINENT_PREFIX, 2) {
        return Continent::from_code(rest).map(|c| Line::Continent(c).to_string());
    }
    None
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Custom(name) => write!(f, "{CIDR_PREFIX}:{name}"),
            Self::SubdivisionIsp(sub, isp) => write!(f, "{sub}/{isp}"),
            Self::Subdivision(sub) => write!(f, "{sub}"),
            Self::CountryIsp(country, isp) => write!(f, "{country}/{isp}"),
            Self::Country(country) => write!(f, "{country}"),
            Self::Continent(continent) => write!(f, "{CONTINENT_PREFIX}:{}", continent.code()),
        }
    }
}

impl FromStr for Line {
    type Err = LineError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for Line {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Line {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = crate::serde_str::deserialize(deserializer)?;
        Self::parse(&code).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for CustomLineName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for CustomLineName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = crate::serde_str::deserialize(deserializer)?;
        Self::new(&name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(code: &str) -> Line {
        Line::parse(code).unwrap()
    }

    fn unknown(code: &str, suggestion: Option<&str>) -> LineError {
        LineError::Unknown {
            code: code.to_owned(),
            suggestion: suggestion.map(str::to_owned),
        }
    }

    #[test]
    fn every_code_form_parses_to_its_variant() {
        let cn = Country::CHINA;
        let bj = Subdivision::from_code("CN-BJ").unwrap();
        assert_eq!(line("CN"), Line::Country(cn));
        assert_eq!(line("CN-BJ"), Line::Subdivision(bj));
        assert_eq!(line("CN/telecom"), Line::CountryIsp(cn, Isp::Telecom));
        assert_eq!(
            line("CN-BJ/telecom"),
            Line::SubdivisionIsp(bj, Isp::Telecom)
        );
        assert_eq!(line("continent:EU"), Line::Continent(Continent::Europe));
        let office = CustomLineName::new("office").unwrap();
        assert_eq!(line("cidr:office"), Line::Custom(office));
        assert_eq!(line("US-CA").to_string(), "US-CA");
        assert_eq!(line("IN-MH").to_string(), "IN-MH");
    }

    #[test]
    fn parsing_normalizes_case_and_aliases_to_the_canonical_code() {
        for (input, canonical) in [
            ("cn", "CN"),
            ("cn-bj", "CN-BJ"),
            ("Cn-Bj/TELECOM", "CN-BJ/telecom"),
            ("cn/Unicom", "CN/unicom"),
            ("CONTINENT:eu", "continent:EU"),
            ("CIDR:office", "cidr:office"),
            (" US-CA ", "US-CA"),
            ("IN-OR", "IN-OD"),
            ("北京", "CN-BJ"),
            ("北京市", "CN-BJ"),
            ("中国大陆", "CN"),
            ("中国", "CN"),
            ("香港", "HK"),
            ("电信", "CN/telecom"),
            ("教育网", "CN/cernet"),
            ("北京/电信", "CN-BJ/telecom"),
            ("广东/联通", "CN-GD/unicom"),
            ("北京电信", "CN-BJ/telecom"),
            ("广东省移动", "CN-GD/mobile"),
            ("中国联通", "CN/unicom"),
            ("中国大陆教育网", "CN/cernet"),
            ("CN-11", "CN-BJ"),
            ("欧洲", "continent:EU"),
            ("cn-22/telecom", "CN-JL/telecom"),
            ("中国大陆/移动", "CN/mobile"),
        ] {
            assert_eq!(line(input).to_string(), canonical, "{input}");
        }
    }

    #[test]
    fn unknown_codes_suggest_the_closest_line() {
        for (input, suggestion) in [
            ("CN-BEIJING", "CN-BJ"),
            ("cn/telcom", "CN/telecom"),
            ("continent:europe", "continent:EU"),
            ("US-CALIFORNIA", "US-CA"),
            ("CN-BJ/telcom", "CN-BJ/telecom"),
            ("cdir:office", "cidr:office"),
            ("contnent:EU", "continent:EU"),
            ("EU", "continent:EU"),
        ] {
            assert_eq!(
                Line::parse(input),
                Err(unknown(input, Some(suggestion))),
                "{input}"
            );
        }
        assert_eq!(Line::parse("ZZ"), Err(unknown("ZZ", None)));
        assert_eq!(
            Line::parse("planet:mars"),
            Err(unknown("planet:mars", None))
        );
        assert_eq!(Line::parse("CN/"), Err(unknown("CN/", None)));
    }

    #[test]
    fn isp_lines_only_in_china_mainland() {
        for code in [
            "US/telecom",
            "HK/unicom",
            "TW/mobile",
            "US-CA/telecom",
            "IN-MH/cernet",
        ] {
            assert_eq!(
                Line::parse(code),
                Err(LineError::IspOutsideChina {
                    code: code.to_owned()
                }),
                "{code}"
            );
        }
    }

    #[test]
    fn empty_and_bad_custom_names_are_typed_errors() {
        assert_eq!(Line::parse(""), Err(LineError::Empty));
        assert_eq!(Line::parse("  "), Err(LineError::Empty));
        let bad = |name: &str, reason| LineError::InvalidCustomName {
            name: name.into(),
            reason,
        };
        assert_eq!(Line::parse("cidr:"), Err(bad("", "it is empty")));
        assert_eq!(
            Line::parse("cidr:Office"),
            Err(bad("Office", "it has an upper-case letter"))
        );
        assert_eq!(
            Line::parse("cidr:-x"),
            Err(bad("-x", "it starts with `-` or `_`"))
        );
        let dotted = "it has a character other than a-z, 0-9, `-`, `_`";
        assert_eq!(Line::parse("cidr:a.b"), Err(bad("a.b", dotted)));
        assert_eq!(Line::parse("cidr:办公室"), Err(bad("办公室", dotted)));
        let long = "a".repeat(64);
        assert_eq!(
            CustomLineName::new(&long),
            Err(bad(&long, "it is longer than 63 characters"))
        );
        assert!(CustomLineName::new(&"a".repeat(63)).is_ok());
        assert!(CustomLineName::new("0_office-2").is_ok());
    }

    #[test]
    fn catalogue_has_every_line_once() {
        let lines: Vec<Line> = Line::catalogue().collect();
        assert_eq!(lines.len(), 31 * 5 + 118 + 5 + 250 + 7);
        assert!(lines.windows(2).all(|w| w[0] < w[1]), "sorted, so unique");
    }

    fn location() -> Location {
        Location::default()
    }

    #[test]
    fn matches_each_variant() {
        let bj = Subdivision::from_code("CN-BJ").unwrap();
        let mut loc = location();
        loc.country = Some(Country::CHINA);
        loc.subdivision = Some(bj);
        loc.isp = Some(Isp::Unicom);
        loc.custom = crate::CustomLines::new([CustomLineName::new("office").unwrap()]);
        for (code, expected) in [
            ("cidr:office", true),
            ("cidr:lab", false),
            ("CN-BJ/unicom", true),
            ("CN-BJ/telecom", false),
            ("CN-SH/unicom", false),
            ("CN-BJ", true),
            ("CN-SH", false),
            ("CN/unicom", true),
            ("CN/mobile", false),
            ("CN", true),
            ("HK", false),
            ("continent:AS", true),
            ("continent:EU", false),
        ] {
            assert_eq!(line(code).matches(&loc), expected, "{code}");
        }
    }

    #[test]
    fn continent_falls_back_to_the_country_and_prefers_the_database() {
        let mut loc = location();
        loc.country = Country::from_code("RU");
        assert!(line("continent:EU").matches(&loc));
        assert!(!line("continent:AS").matches(&loc));
        loc.continent = Some(Continent::Asia);
        assert!(line("continent:AS").matches(&loc));
        assert!(!line("continent:EU").matches(&loc));
    }

    #[test]
    fn an_empty_location_matches_nothing() {
        let loc = location();
        assert!(Line::catalogue().all(|l| !l.matches(&loc)));
        assert!(!line("cidr:office").matches(&loc));
    }

    #[test]
    fn precedence_order_is_the_design_ladder() {
        let levels: Vec<Precedence> = [
            "cidr:x",
            "CN-BJ/telecom",
            "CN-BJ",
            "CN/telecom",
            "CN",
            "continent:AS",
        ]
        .into_iter()
        .map(|c| line(c).precedence())
        .chain([Precedence::Default])
        .collect();
        assert_eq!(levels, Precedence::ALL);
        assert!(levels.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn serde_as_the_code_with_the_parse_error() {
        let l = line("cn-bj/telecom");
        assert_eq!(serde_json::to_string(&l).unwrap(), "\"CN-BJ/telecom\"");
        assert_eq!(
            serde_json::from_str::<Line>("\"cn-bj/TELECOM\"").unwrap(),
            l
        );
        let err = serde_json::from_str::<Line>("\"CN-BEIJING\"").unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown line `CN-BEIJING`: did you mean `CN-BJ`?"),
            "{err}"
        );
        assert!(serde_json::from_str::<Line>("42").is_err());
        let name = CustomLineName::new("office").unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"office\"");
        assert_eq!(
            serde_json::from_str::<CustomLineName>("\"office\"").unwrap(),
            name
        );
        assert!(serde_json::from_str::<CustomLineName>("\"Office\"").is_err());
    }
}
