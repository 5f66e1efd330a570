//! ISO 3166-2 subdivisions: China's provinces, US states, India's states and
//! union territories.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use crate::Country;
use crate::catalogue::{
    NAME_SUFFIXES, SUBDIVISION_CODE_ALIASES, SUBDIVISIONS, SubdivisionEntry, subdivision_index,
};

/// A first-level subdivision the catalogue knows (`CN-BJ`, `US-CA`, `IN-MH`).
///
/// Cheap to copy; it cannot hold an unknown code. Orders by code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subdivision(u16);

/// The longest code we accept, with room for aliases (`CN-BJ`, `IN-OR`).
const MAX_CODE_LEN: usize = 6;

impl Subdivision {
    /// The subdivision for an upper-case ISO 3166-2 code known at compile
    /// time (no aliases); an unknown code fails the build.
    pub(crate) const fn known(code: &str) -> Self {
        Self(subdivision_index(code))
    }

    /// Every subdivision in the catalogue, in code order: China's 31
    /// provincial divisions, India's 36 states and union territories, the 50
    /// US states and DC.
    pub fn all() -> impl Iterator<Item = Self> {
        // SUBDIVISIONS has 118 rows; the `as` cannot truncate.
        (0..SUBDIVISIONS.len() as u16).map(Self)
    }
    /// The subdivision for a full ISO 3166-2 code, case-insensitive (`CN-BJ`).
    /// China's pre-2017 numeric codes (`CN-11` for Beijing, as older GeoIP2
    /// builds and MaxMind's test data still give them), India's pre-2023 codes (`IN-OR`, `IN-CT`, `IN-TG`, `IN-UT`) and the
    /// merged `IN-DN` / `IN-DD` give the current subdivision.
    pub fn from_code(code: &str) -> Option<Self> {
        if code.len() > MAX_CODE_LEN || !code.is_ascii() {
            return None;
        }
        let mut buf = [0u8; MAX_CODE_LEN];
        let key = &mut buf[..code.len()];
        key.copy_from_slice(code.as_bytes());
        key.make_ascii_uppercase();
        let key = std::str::from_utf8(key).ok()?;
        let key = SUBDIVISION_CODE_ALIASES
            .iter()
            .find(|(old, _)| *old == key)
            .map_or(key, |(_, new)| new);
        SUBDIVISIONS
            .binary_search_by(|e| e.code.cmp(key))
            .ok()
            .and_then(|i| u16::try_from(i).ok())
            .map(Self)
    }
    /// The subdivision of `country` for the part after the dash (`BJ`), as
    /// GeoIP2's `subdivisions[0].iso_code` gives it.
    pub fn from_country_and_code(country: Country, code: &str) -> Option<Self> {
        if code.len() > MAX_CODE_LEN - 3 || !code.is_ascii() {
            return None;
        }
        let mut buf = [0u8; MAX_CODE_LEN];
        buf[..2].copy_from_slice(country.code().as_bytes());
        buf[2] = b'-';
        buf[3..3 + code.len()].copy_from_slice(code.as_bytes());
        Self::from_code(std::str::from_utf8(&buf[..3 + code.len()]).ok()?)
    }
    /// The subdivision of `country` for an English name as IP databases spell
    /// it (`Beijing`, `Inner Mongolia`, `California`, `Maharashtra`), with the
    /// usual variants; case-insensitive.
    ///
    /// Also ignores punctuation, `&` versus `and`, and one administrative
    /// suffix (`Beijing Shi`, `Hebei Sheng`, `Guangxi Zhuang Autonomous
    /// Region`, `Washington, D.C.`); see the
    /// [line guide](crate::docs::lines) for the full list.
    pub fn from_english_name(country: Country, name: &str) -> Option<Self> {
        // Names come from databases with millions of records: one hash lookup
        // (two with a suffix), no scan of the table.
        let index = english_names();
        let key = normalize_name(name);
        if let Some(found) = index.get(&(country, key.clone())) {
            return Some(*found);
        }
        NAME_SUFFIXES.iter().find_map(|suffix| {
            let stem = key.strip_suffix(suffix)?;
            index.get(&(country, stem.to_owned())).copied()
        })
    }
    /// The China province for its Chinese name (`北京`), with or without the
    /// `省` / `市` / `自治区` suffix, autonomous regions also by their full
    /// names (`广西壮族自治区`).
    pub fn from_chinese_name(name: &str) -> Option<Self> {
        let find = |n: &str| Self::all().find(|s| s.chinese_name() == Some(n));
        let stem = ["省", "市", "自治区"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(name);
        // The peoples named in the autonomous regions' full names.
        let stem = ["壮族", "回族", "维吾尔"]
            .iter()
            .find_map(|people| stem.strip_suffix(people))
            .unwrap_or(stem);
        find(name).or_else(|| find(stem))
    }
    /// The full code (`CN-BJ`).
    pub fn code(self) -> &'static str {
        self.entry().code
    }
    /// The country it belongs to.
    pub fn country(self) -> Country {
        Country::from_index(self.entry().country)
    }
    /// The English name (`Beijing`).
    pub fn name(self) -> &'static str {
        self.entry().name
    }
    /// The Chinese name for China's provinces (`北京`).
    pub fn chinese_name(self) -> Option<&'static str> {
        self.entry().chinese
    }
    /// Other English spellings that [`Subdivision::from_english_name`]
    /// accepts besides [`Subdivision::name`] (`Nei Mongol`, `Orissa`).
    pub fn english_aliases(self) -> &'static [&'static str] {
        self.entry().aliases
    }

    fn entry(self) -> &'static SubdivisionEntry {
        // A `Subdivision` is only made from an index into SUBDIVISIONS.
        &SUBDIVISIONS[usize::from(self.0)]
    }
}

/// Case, punctuation and `&` folded away, whitespace collapsed: the form both
/// the table and the query are compared in.
fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let words = name
        .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter(|w| !w.is_empty());
    for word in words {
        let word = if word == "&" { "and" } else { word };
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(
            word.chars()
                .filter(|c| !matches!(c, '.' | ',' | '\'' | '’' | '(' | ')'))
                .flat_map(char::to_lowercase),
        );
    }
    out
}

fn english_names() -> &'static HashMap<(Country, String), Subdivision> {
    static INDEX: OnceLock<HashMap<(Country, String), Subdivision>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = HashMap::new();
        for sub in Subdivision::all() {
            for name in std::iter::once(sub.name()).chain(sub.english_aliases().iter().copied()) {
                index.insert((sub.country(), normalize_name(name)), sub);
            }
        }
        index
    })
}

impl fmt::Display for Subdivision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl serde::Serialize for Subdivision {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Subdivision {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = crate::serde_str::deserialize(deserializer)?;
        Self::from_code(&code).ok_or_else(|| {
            serde::de::Error::custom(format_args!("unknown ISO 3166-2 subdivision `{code}`"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn country(cc: &str) -> Country {
        Country::from_code(cc).unwrap()
    }

    fn by_name(cc: &str, name: &str) -> Option<&'static str> {
        Subdivision::from_english_name(country(cc), name).map(Subdivision::code)
    }

    /// The `state1` names DB-IP uses for China (docs of the shared data).
    const DBIP_CHINA: [(&str, &str); 31] = [
        ("Anhui", "CN-AH"),
        ("Beijing", "CN-BJ"),
        ("Chongqing", "CN-CQ"),
        ("Fujian", "CN-FJ"),
        ("Gansu", "CN-GS"),
        ("Guangdong", "CN-GD"),
        ("Guangxi", "CN-GX"),
        ("Guizhou", "CN-GZ"),
        ("Hainan", "CN-HI"),
        ("Hebei", "CN-HE"),
        ("Heilongjiang", "CN-HL"),
        ("Henan", "CN-HA"),
        ("Hubei", "CN-HB"),
        ("Hunan", "CN-HN"),
        ("Inner Mongolia", "CN-NM"),
        ("Jiangsu", "CN-JS"),
        ("Jiangxi", "CN-JX"),
        ("Jilin", "CN-JL"),
        ("Liaoning", "CN-LN"),
        ("Ningxia", "CN-NX"),
        ("Qinghai", "CN-QH"),
        ("Shaanxi", "CN-SN"),
        ("Shandong", "CN-SD"),
        ("Shanghai", "CN-SH"),
        ("Shanxi", "CN-SX"),
        ("Sichuan", "CN-SC"),
        ("Tianjin", "CN-TJ"),
        ("Tibet", "CN-XZ"),
        ("Xinjiang", "CN-XJ"),
        ("Yunnan", "CN-YN"),
        ("Zhejiang", "CN-ZJ"),
    ];

    /// Every distinct non-empty `state1` DB-IP gives for the US (IPv4 and
    /// IPv6 city databases, read with the `maxminddb` Python reader).
    const DBIP_US: [&str; 51] = [
        "Alabama",
        "Alaska",
        "Arizona",
        "Arkansas",
        "California",
        "Colorado",
        "Connecticut",
        "Delaware",
        "District of Columbia",
        "Florida",
        "Georgia",
        "Hawaii",
        "Idaho",
        "Illinois",
        "Indiana",
        "Iowa",
        "Kansas",
        "Kentucky",
        "Louisiana",
        "Maine",
        "Maryland",
        "Massachusetts",
        "Michigan",
        "Minnesota",
        "Mississippi",
        "Missouri",
        "Montana",
        "Nebraska",
        "Nevada",
        "New Hampshire",
        "New Jersey",
        "New Mexico",
        "New York",
        "North Carolina",
        "North Dakota",
        "Ohio",
        "Oklahoma",
        "Oregon",
        "Pennsylvania",
        "Rhode Island",
        "South Carolina",
        "South Dakota",
        "Tennessee",
        "Texas",
        "Utah",
        "Vermont",
        "Virginia",
        "Washington",
        "West Virginia",
        "Wisconsin",
        "Wyoming",
    ];

    /// The same for India.
    const DBIP_INDIA: [&str; 36] = [
        "Andaman and Nicobar",
        "Andhra Pradesh",
        "Arunachal Pradesh",
        "Assam",
        "Bihar",
        "Chandigarh",
        "Chhattisgarh",
        "Dadra and Nagar Haveli and Daman and Diu",
        "Delhi",
        "Goa",
        "Gujarat",
        "Haryana",
        "Himachal Pradesh",
        "Jammu and Kashmir",
        "Jharkhand",
        "Karnataka",
        "Kerala",
        "Ladakh",
        "Lakshadweep",
        "Madhya Pradesh",
        "Maharashtra",
        "Manipur",
        "Meghalaya",
        "Mizoram",
        "Nagaland",
        "Odisha",
        "Puducherry",
        "Punjab",
        "Rajasthan",
        "Sikkim",
        "Tamil Nadu",
        "Telangana",
        "Tripura",
        "Uttar Pradesh",
        "Uttarakhand",
        "West Bengal",
    ];

    #[test]
    fn dbip_china_names_map_to_the_iso_codes() {
        for (name, code) in DBIP_CHINA {
            assert_eq!(by_name("CN", name), Some(code), "{name}");
        }
    }

    #[test]
    fn every_dbip_us_and_india_name_maps_and_covers_the_catalogue() {
        let mut seen = std::collections::HashSet::new();
        for (cc, names) in [("US", &DBIP_US[..]), ("IN", &DBIP_INDIA[..])] {
            for name in names {
                let sub = Subdivision::from_english_name(country(cc), name);
                assert!(sub.is_some(), "{cc} {name}");
                seen.extend(sub);
            }
        }
        assert_eq!(seen.len(), 51 + 36);
    }

    #[test]
    fn dbip_india_and_us_names_seen_in_the_data_map() {
        // Every distinct India `state1` in dbip-city-ipv4/ipv6 (2026 build).
        for (name, code) in [
            ("Andaman and Nicobar", "IN-AN"),
            ("Dadra and Nagar Haveli and Daman and Diu", "IN-DH"),
            ("Delhi", "IN-DL"),
            ("Odisha", "IN-OD"),
            ("Telangana", "IN-TS"),
            ("Uttarakhand", "IN-UK"),
            ("Chhattisgarh", "IN-CG"),
            ("Ladakh", "IN-LA"),
            ("Puducherry", "IN-PY"),
            ("Jammu and Kashmir", "IN-JK"),
            ("Tamil Nadu", "IN-TN"),
        ] {
            assert_eq!(by_name("IN", name), Some(code), "{name}");
        }
        assert_eq!(by_name("US", "District of Columbia"), Some("US-DC"));
        assert_eq!(by_name("US", "Washington"), Some("US-WA"));
        assert_eq!(by_name("US", "New York"), Some("US-NY"));
    }

    #[test]
    fn variants_and_suffixes_map() {
        for (cc, name, code) in [
            ("CN", "Nei Mongol", "CN-NM"),
            ("CN", "Nei Mongol Zizhiqu", "CN-NM"),
            ("CN", "Inner Mongolia Autonomous Region", "CN-NM"),
            ("CN", "Xizang", "CN-XZ"),
            ("CN", "Guangxi Zhuang Autonomous Region", "CN-GX"),
            ("CN", "Guangxi Zhuangzu Zizhiqu", "CN-GX"),
            ("CN", "Ningxia Hui Autonomous Region", "CN-NX"),
            ("CN", "Xinjiang Uygur Zizhiqu", "CN-XJ"),
            ("CN", "Beijing Shi", "CN-BJ"),
            ("CN", "Hebei Sheng", "CN-HE"),
            ("CN", "Guangdong Province", "CN-GD"),
            ("CN", "Chongqing Municipality", "CN-CQ"),
            ("CN", "BEIJING", "CN-BJ"),
            ("CN", "  inner   mongolia ", "CN-NM"),
            ("IN", "National Capital Territory of Delhi", "IN-DL"),
            ("IN", "Orissa", "IN-OD"),
            ("IN", "Pondicherry", "IN-PY"),
            ("IN", "Uttaranchal", "IN-UK"),
            ("IN", "Andaman & Nicobar Islands", "IN-AN"),
            ("IN", "Jammu & Kashmir", "IN-JK"),
            ("US", "Washington, D.C.", "US-DC"),
            ("US", "Washington DC", "US-DC"),
            ("US", "new-york", "US-NY"),
        ] {
            assert_eq!(by_name(cc, name), Some(code), "{cc} {name}");
        }
    }

    #[test]
    fn names_are_per_country() {
        // Georgia is a US state and a country; Punjab a state of India only.
        assert_eq!(by_name("US", "Georgia"), Some("US-GA"));
        assert_eq!(by_name("IN", "California"), None);
        assert_eq!(by_name("CN", "Punjab"), None);
        assert_eq!(by_name("DE", "Bavaria"), None);
        assert_eq!(by_name("CN", ""), None);
        assert_eq!(by_name("CN", "Hong Kong"), None);
    }

    #[test]
    fn every_name_and_alias_resolves_to_its_own_subdivision() {
        for sub in Subdivision::all() {
            assert_eq!(
                Subdivision::from_english_name(sub.country(), sub.name()),
                Some(sub)
            );
            for alias in sub.english_aliases() {
                assert_eq!(
                    Subdivision::from_english_name(sub.country(), alias),
                    Some(sub)
                );
            }
        }
    }

    #[test]
    fn codes_round_trip_and_are_case_insensitive() {
        for sub in Subdivision::all() {
            assert_eq!(Subdivision::from_code(sub.code()), Some(sub));
            assert_eq!(
                Subdivision::from_code(&sub.code().to_ascii_lowercase()),
                Some(sub)
            );
            let (cc, part) = sub.code().split_once('-').unwrap();
            assert_eq!(sub.country().code(), cc);
            assert_eq!(
                Subdivision::from_country_and_code(sub.country(), part),
                Some(sub)
            );
        }
        assert_eq!(Subdivision::all().count(), 118);
    }

    #[test]
    fn old_china_and_india_codes_give_the_current_subdivision() {
        let code = |c| Subdivision::from_code(c).map(Subdivision::code);
        assert_eq!(code("IN-OR"), Some("IN-OD"));
        assert_eq!(code("in-ct"), Some("IN-CG"));
        assert_eq!(code("IN-TG"), Some("IN-TS"));
        assert_eq!(code("IN-UT"), Some("IN-UK"));
        assert_eq!(code("IN-DN"), Some("IN-DH"));
        assert_eq!(code("CN-11"), Some("CN-BJ"));
        assert_eq!(code("CN-65"), Some("CN-XJ"));
        // MaxMind's GeoIP2-City-Test.mmdb has Jilin as `22` / `Jilin Sheng`.
        let china = Country::CHINA;
        assert_eq!(
            Subdivision::from_country_and_code(china, "22").map(Subdivision::code),
            Some("CN-JL")
        );
        assert_eq!(by_name("CN", "Jilin Sheng"), Some("CN-JL"));
        // Taiwan, Hong Kong and Macao had numeric codes too; they are countries.
        assert_eq!(code("CN-71"), None);
        assert_eq!(code("CN-91"), None);
        let india = country("IN");
        assert_eq!(
            Subdivision::from_country_and_code(india, "or").map(Subdivision::code),
            Some("IN-OD")
        );
    }

    #[test]
    fn unknown_codes_are_none() {
        for code in [
            "", "CN", "CN-", "CN-XX", "CN-HK", "CN-BJX", "GB-ENG", "CN-BJ-1", "北京",
        ] {
            assert_eq!(Subdivision::from_code(code), None, "{code}");
        }
        assert_eq!(
            Subdivision::from_country_and_code(country("CN"), "BJXXXXX"),
            None
        );
        assert_eq!(
            Subdivision::from_country_and_code(country("DE"), "BY"),
            None
        );
    }

    #[test]
    fn chinese_names() {
        let zh = |n| Subdivision::from_chinese_name(n).map(Subdivision::code);
        assert_eq!(zh("北京"), Some("CN-BJ"));
        assert_eq!(zh("北京市"), Some("CN-BJ"));
        assert_eq!(zh("广东省"), Some("CN-GD"));
        assert_eq!(zh("内蒙古自治区"), Some("CN-NM"));
        assert_eq!(zh("广西壮族自治区"), Some("CN-GX"));
        assert_eq!(zh("宁夏回族自治区"), Some("CN-NX"));
        assert_eq!(zh("新疆维吾尔自治区"), Some("CN-XJ"));
        assert_eq!(zh("西藏自治区"), Some("CN-XZ"));
        assert_eq!(zh("重庆市"), Some("CN-CQ"));
        assert_eq!(zh(""), None);
        assert_eq!(zh("纽约"), None);
        let sx = Subdivision::from_code("CN-SX").unwrap();
        assert_eq!(sx.chinese_name(), Some("山西"));
        assert_eq!(
            Subdivision::from_code("CN-SN").unwrap().chinese_name(),
            Some("陕西")
        );
        assert_eq!(
            Subdivision::from_code("US-CA").unwrap().chinese_name(),
            None
        );
    }

    #[test]
    fn serde_uses_the_code() {
        let bj = Subdivision::from_code("CN-BJ").unwrap();
        assert_eq!(serde_json::to_string(&bj).unwrap(), "\"CN-BJ\"");
        assert_eq!(
            serde_json::from_str::<Subdivision>("\"cn-bj\"").unwrap(),
            bj
        );
        assert!(serde_json::from_str::<Subdivision>("\"CN-XX\"").is_err());
    }
}
