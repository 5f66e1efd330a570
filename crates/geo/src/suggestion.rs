//! "Did you mean": the closest valid line code to a mistyped one.
//!
//! Compares the input with every code and with the spellings people type
//! instead of codes (English and Chinese names: `CN-BEIJING`,
//! `continent:europe`, `US-CALIFORNIA`), by edit distance with
//! transpositions. Only runs on the error path.

use std::sync::OnceLock;

use crate::{Continent, Country, Isp, Line, Subdivision};

/// Inputs longer than this get no suggestion: the longest spelling is 47
/// characters, and a suggestion allows one edit per three characters, so
/// nothing longer can be close; this also bounds the quadratic distance.
const MAX_INPUT_CHARS: usize = 64;

/// The canonical code of the line closest to `input`, if one is close enough
/// to be a plausible typo.
pub(crate) fn closest(input: &str) -> Option<String> {
    let input = input.trim();
    if input.is_empty() || input.chars().nth(MAX_INPUT_CHARS).is_some() {
        return None;
    }
    let input: Vec<char> = input.chars().flat_map(char::to_lowercase).collect();
    let mut best: Option<(usize, &Line)> = None;
    let mut scratch = Vec::new();
    for (key, line) in lowered_spellings() {
        // Allow about one edit per three characters of the target, so
        // none for two-letter codes: `cn/telcom` is a typo of `CN/telecom`,
        // `ZZ` is not one of `ZA`. The length difference is a lower bound of
        // the distance, which skips most spellings without computing it.
        let allowed = key.len() / 3;
        if input.len().abs_diff(key.len()) > allowed {
            continue;
        }
        let distance = distance(&input, key, &mut scratch);
        if distance > allowed {
            continue;
        }
        if best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, line));
        }
    }
    best.map(|(_, line)| line.to_string())
}

/// [`spellings`], lower-cased into characters once per process.
fn lowered_spellings() -> &'static [(Vec<char>, Line)] {
    static SPELLINGS: OnceLock<Vec<(Vec<char>, Line)>> = OnceLock::new();
    SPELLINGS.get_or_init(|| {
        spellings()
            .map(|(spelling, line)| {
                (
                    spelling.chars().flat_map(char::to_lowercase).collect(),
                    line,
                )
            })
            .collect()
    })
}

/// Every spelling that should lead to a line, codes first so that ties go to
/// a code.
fn spellings() -> impl Iterator<Item = (String, Line)> {
    let countries = Country::all().flat_map(|c| {
        let line = Line::Country(c);
        let mut v = vec![
            (c.code().to_owned(), line.clone()),
            (c.name().to_owned(), line.clone()),
        ];
        v.extend(c.chinese_name().map(|n| (n.to_owned(), line)));
        v
    });
    // The alpha-2 code people type for the United Kingdom.
    let extra = Country::from_code("GB").map(|gb| ("UK".to_owned(), Line::Country(gb)));
    let subdivisions = Subdivision::all().flat_map(|s| {
        let line = Line::Subdivision(s);
        let cc = s.country().code();
        let mut v = vec![(s.code().to_owned(), line.clone())];
        v.extend(
            std::iter::once(s.name())
                .chain(s.english_aliases().iter().copied())
                .map(|n| (format!("{cc}-{n}"), line.clone())),
        );
        v.extend(s.chinese_name().map(|n| (n.to_owned(), line)));
        v
    });
    let country_isps = Isp::ALL.iter().flat_map(|&isp| {
        let line = Line::CountryIsp(Country::CHINA, isp);
        [
            (format!("CN/{}", isp.code()), line.clone()),
            (format!("CN/{}", isp.name()), line.clone()),
            (isp.chinese_name().to_owned(), line),
        ]
    });
    let subdivision_isps = Subdivision::all()
        .filter(|s| s.country() == Country::CHINA)
        .flat_map(|s| {
            Isp::ALL.iter().flat_map(move |&isp| {
                let line = Line::SubdivisionIsp(s, isp);
                [
                    (format!("{}/{}", s.code(), isp.code()), line.clone()),
                    (format!("CN-{}/{}", s.name(), isp.code()), line),
                ]
            })
        });
    let continents = Continent::ALL.into_iter().flat_map(|c| {
        let line = Line::Continent(c);
        [
            (format!("continent:{}", c.code()), line.clone()),
            (format!("continent:{}", c.name()), line.clone()),
            // `EU` or `Europe` alone: a continent typed as a country.
            (c.code().to_owned(), line.clone()),
            (c.name().to_owned(), line),
        ]
    });
    countries
        .chain(extra)
        .chain(subdivisions)
        .chain(country_isps)
        .chain(subdivision_isps)
        .chain(continents)
}

/// Optimal string alignment distance: Levenshtein plus adjacent
/// transpositions (`cdir` is one edit from `cidr`).
pub(crate) fn distance(a: &[char], b: &[char], scratch: &mut Vec<usize>) -> usize {
    let width = b.len() + 1;
    scratch.clear();
    scratch.resize(width * (a.len() + 1), 0);
    let at = |i: usize, j: usize| i * width + j;
    for i in 0..=a.len() {
        scratch[at(i, 0)] = i;
    }
    for j in 0..=b.len() {
        scratch[at(0, j)] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (scratch[at(i - 1, j)] + 1)
                .min(scratch[at(i, j - 1)] + 1)
                .min(scratch[at(i - 1, j - 1)] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(scratch[at(i - 2, j - 2)] + 1);
            }
            scratch[at(i, j)] = d;
        }
    }
    scratch[at(a.len(), b.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(a: &str, b: &str) -> usize {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        distance(&a, &b, &mut Vec::new())
    }

    #[test]
    fn distance_counts_edits_and_transpositions() {
        assert_eq!(d("", ""), 0);
        assert_eq!(d("abc", ""), 3);
        assert_eq!(d("telcom", "telecom"), 1);
        assert_eq!(d("cdir", "cidr"), 1);
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(d("北京", "北京市"), 1);
    }

    #[test]
    fn suggestions_for_the_usual_mistakes() {
        for (input, expected) in [
            ("CN-BEIJING", "CN-BJ"),
            ("cn/telcom", "CN/telecom"),
            ("continent:europe", "continent:EU"),
            ("US-CALIFORNIA", "US-CA"),
            ("IN-Maharastra", "IN-MH"),
            ("CN-INNER MONGOLIA", "CN-NM"),
            ("CN-BJ/telcom", "CN-BJ/telecom"),
            ("CN-Beijing/unicom", "CN-BJ/unicom"),
            ("CN/China Mobile", "CN/mobile"),
            ("Germany", "DE"),
            ("UK", "GB"),
            ("EU", "continent:EU"),
            ("continent:EUR", "continent:EU"),
        ] {
            assert_eq!(closest(input).as_deref(), Some(expected), "{input}");
        }
    }

    #[test]
    fn the_input_limit_is_above_every_spelling() {
        let longest = lowered_spellings()
            .iter()
            .map(|(k, _)| k.len())
            .max()
            .unwrap();
        assert!(longest + longest / 3 <= MAX_INPUT_CHARS, "{longest}");
    }

    #[test]
    fn no_suggestion_when_nothing_is_close() {
        for input in ["", "ZZ", "completely-unrelated-text", &"x".repeat(500)] {
            assert_eq!(closest(input), None, "{input}");
        }
    }
}
