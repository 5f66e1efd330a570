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

impl Continent {
    /// The Chinese name (`欧洲`).
    pub fn chinese_name(self) -> &'static str {
        match self {
            Self::Africa => "非洲",
            Self::Antarctica => "南极洲",
            Self::Asia => "亚洲",
            Self::Europe => "欧洲",
            Self::NorthAmerica => "北美洲",
            Self::Oceania => "大洋洲",
            Self::SouthAmerica => "南美洲",
        }
    }

    /// The continent for its Chinese name (`欧洲`).
    pub fn from_chinese_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.chinese_name() == name)
    }
}

impl std::fmt::Display for Continent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl serde::Serialize for Continent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Continent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = crate::serde_str::deserialize(deserializer)?;
        Self::from_code(&code).ok_or_else(|| {
            serde::de::Error::custom(format_args!(
                "unknown continent `{code}` (expected AF, AN, AS, EU, NA, OC or SA)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_case_insensitively() {
        for c in Continent::ALL {
            assert_eq!(Continent::from_code(c.code()), Some(c));
            assert_eq!(
                Continent::from_code(&c.code().to_ascii_lowercase()),
                Some(c)
            );
            assert_eq!(c.to_string(), c.code());
        }
        assert_eq!(Continent::from_code("Europe"), None);
        assert_eq!(
            Continent::from_chinese_name("欧洲"),
            Some(Continent::Europe)
        );
        assert_eq!(Continent::from_chinese_name("亚洲"), Some(Continent::Asia));
        assert_eq!(Continent::from_chinese_name("月球"), None);
        assert_eq!(Continent::from_code(""), None);
    }

    #[test]
    fn serde_uses_the_code() {
        assert_eq!(serde_json::to_string(&Continent::Europe).unwrap(), "\"EU\"");
        assert_eq!(
            serde_json::from_str::<Continent>("\"oc\"").unwrap(),
            Continent::Oceania
        );
        let err = serde_json::from_str::<Continent>("\"XX\"").unwrap_err();
        assert!(err.to_string().contains("unknown continent `XX`"), "{err}");
    }
}
