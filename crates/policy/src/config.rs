//! Config as code: the policy set as TOML or JSON.
//!
//! The documents are parsed into private document types whose fields use the
//! validated value types (so a bad domain, weight or line code is reported
//! with its line and column), then assembled into a [`PolicySet`] and
//! validated as a whole (so a cross-reference error names the policy, rule,
//! provider or line). Unknown fields are errors everywhere.
//!
//! JSON streams into the document types. TOML is read a policy at a time
//! (see [`toml_sections`]), since `toml` builds a document model of the
//! whole text first; either way the memory a load takes is the text, the
//! set, and little more (the `config_memory` bench measures it).

use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use steerage_geo::CustomLineName;

use crate::provider::yes;
use crate::toml_sections;
use crate::{
    BuiltinProvider, CustomLine, DefaultRule, DomainName, Policy, PolicyError, PolicySet,
    PolicyState, Provider, Rule, SelectionMode, Target, Ttl, Weight,
};

/// A config format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// TOML (`.toml`).
    Toml,
    /// JSON (`.json`).
    Json,
}

impl Format {
    /// The format a file name's extension (`.toml`, `.json`, any case)
    /// suggests.
    pub fn from_path(path: impl AsRef<Path>) -> Option<Self> {
        let ext = path.as_ref().extension()?.to_str()?;
        if ext.eq_ignore_ascii_case("toml") {
            Some(Self::Toml)
        } else if ext.eq_ignore_ascii_case("json") {
            Some(Self::Json)
        } else {
            None
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Toml => "TOML",
            Self::Json => "JSON",
        })
    }
}

/// Why a config could not be loaded or saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The text is not a well-formed config: a syntax error, a missing or
    /// unknown field, a wrong type, or an invalid value (domain, name,
    /// weight, TTL, line code, prefix).
    #[error("{format} config, line {line}, column {column}: {message}")]
    Parse {
        /// The format.
        format: Format,
        /// The 1-based line.
        line: usize,
        /// The 1-based column, in characters.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The config is well-formed but breaks an invariant of the model.
    #[error(transparent)]
    Invalid(#[from] PolicyError),
    /// The set could not be written in the format.
    #[error("cannot write the policy set as {format}: {message}")]
    Serialize {
        /// The format.
        format: Format,
        /// What went wrong.
        message: String,
    },
}

impl PolicySet {
    /// Loads and validates a set from a config in `format`.
    ///
    /// A leading UTF-8 byte-order mark is skipped in both formats, and
    /// columns in errors do not count it.
    pub fn from_str_in(text: &str, format: Format) -> Result<Self, ConfigError> {
        // Editors on Windows write the mark; TOML allows it, JSON (RFC 8259)
        // lets a parser ignore it. Skipping it here keeps both formats and
        // their error positions alike.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let doc = match format {
            Format::Toml => toml_doc(text)?,
            Format::Json => serde_json::from_str(text).map_err(|e| json_error(&e))?,
        };
        Ok(doc.into_set()?)
    }

    /// Loads and validates a set from TOML.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        Self::from_str_in(text, Format::Toml)
    }

    /// Loads and validates a set from JSON.
    pub fn from_json_str(text: &str) -> Result<Self, ConfigError> {
        Self::from_str_in(text, Format::Json)
    }

    /// Writes the set as a config in `format`; loading it gives back an
    /// equal set.
    pub fn to_string_in(&self, format: Format) -> Result<String, ConfigError> {
        let doc = SetDoc::from_set(self);
        let written = match format {
            Format::Toml => Ok(write_toml(&doc)),
            Format::Json => serde_json::to_string_pretty(&doc)
                .map(|mut s| {
                    s.push('\n');
                    s
                })
                .map_err(|e| e.to_string()),
        };
        written.map_err(|message| ConfigError::Serialize { format, message })
    }

    /// Writes the set as TOML.
    pub fn to_toml_string(&self) -> Result<String, ConfigError> {
        self.to_string_in(Format::Toml)
    }

    /// Writes the set as JSON.
    pub fn to_json_string(&self) -> Result<String, ConfigError> {
        self.to_string_in(Format::Json)
    }
}

/// Reads a TOML document a policy at a time (see [`toml_sections`]), or
/// whole when it cannot be cut.
fn toml_doc(text: &str) -> Result<SetDoc, ConfigError> {
    let whole = || toml::from_str(text).map_err(|e| toml_error(text, |at| at, &e));
    let Some(sections) = toml_sections::split(text) else {
        return whole();
    };
    let prelude = sections.prelude();
    let mut doc: SetDoc = toml::from_str(prelude.text())
        .map_err(|e| toml_error(text, |at| prelude.offset_in_whole(at), &e))?;
    if sections.policy_count() == 0 {
        return Ok(doc);
    }
    if doc.policies.is_some() {
        // `policy = [...]` in the prelude, then `[[policy]]`: an error only
        // the whole document describes.
        return whole();
    }
    let mut policies = Vec::with_capacity(sections.policy_count());
    for part in sections.policies() {
        let one: OnePolicyDoc = toml::from_str(part.text())
            .map_err(|e| toml_error(text, |at| part.offset_in_whole(at), &e))?;
        let [policy] = one.policy;
        policies.push(policy);
    }
    doc.policies = Some(policies);
    Ok(doc)
}

/// A parse error of a TOML document or of one of its parts, whose offsets
/// `to_whole` maps to offsets in `text`.
fn toml_error(text: &str, to_whole: impl Fn(usize) -> usize, err: &toml::de::Error) -> ConfigError {
    let (line, column) = err.span().map_or((1, 1), |span| {
        let start = to_whole(span.start);
        line_column(text, start..start)
    });
    ConfigError::Parse {
        format: Format::Toml,
        line,
        column,
        message: err.message().trim_end().to_owned(),
    }
}

/// The 1-based line and column (in characters) of a span's start.
fn line_column(text: &str, span: Range<usize>) -> (usize, usize) {
    let mut start = span.start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn json_error(err: &serde_json::Error) -> ConfigError {
    let full = err.to_string();
    // serde_json appends the position to its message; it is in the fields.
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
    ConfigError::Parse {
        format: Format::Json,
        line: err.line().max(1),
        column: err.column().max(1),
        message,
    }
}

/// Writes the document in the hand-written style of the configuration guide
/// (`docs/config.md`: targets as inline tables), which `toml`'s serializer
/// cannot produce.
/// Every string goes through `toml`'s own quoting.
fn write_toml(doc: &SetDoc) -> String {
    use std::fmt::Write as _;

    fn quote(s: &str) -> String {
        toml::Value::String(s.to_owned()).to_string()
    }
    fn list<T: fmt::Display>(items: &[T]) -> String {
        let items: Vec<String> = items.iter().map(|i| quote(&i.to_string())).collect();
        format!("[{}]", items.join(", "))
    }
    fn targets(out: &mut String, targets: &[Target]) {
        let inline: Vec<String> = targets
            .iter()
            .map(|t| {
                format!(
                    "{{ provider = {}, weight = {} }}",
                    quote(t.provider().as_str()),
                    t.weight()
                )
            })
            .collect();
        match inline.as_slice() {
            [one] => {
                let _ = writeln!(out, "targets = [{one}]");
            }
            many => {
                out.push_str("targets = [\n");
                for t in many {
                    let _ = writeln!(out, "    {t},");
                }
                out.push_str("]\n");
            }
        }
    }

    // Writing to a String cannot fail; the results are ignored for that reason.
    let mut out = String::new();
    let _ = writeln!(out, "[builtin]");
    let _ = writeln!(out, "name = {}", quote(doc.builtin.name().as_str()));
    let _ = writeln!(out, "cname = {}", quote(doc.builtin.cname().as_str()));
    for line in &doc.custom_lines {
        let _ = writeln!(out, "\n[[custom_line]]");
        let _ = writeln!(out, "name = {}", quote(line.name.as_str()));
        let _ = writeln!(out, "prefixes = {}", list(&line.prefixes));
    }
    for policy in doc.policies.iter().flatten() {
        let _ = writeln!(out, "\n[[policy]]");
        let _ = writeln!(out, "domain = {}", quote(policy.domain.as_str()));
        let _ = writeln!(out, "enabled = {}", policy.enabled);
        let _ = writeln!(out, "ttl = {}", policy.ttl);
        let _ = writeln!(out, "mode = {}", quote(policy.mode.as_str()));
        if let Some(seed) = policy.seed {
            let _ = writeln!(out, "seed = \"{seed:016x}\"");
        }
        for provider in &policy.providers {
            let _ = writeln!(out, "\n[[policy.provider]]");
            let _ = writeln!(out, "name = {}", quote(provider.name().as_str()));
            let _ = writeln!(out, "kind = {}", quote(provider.kind().as_str()));
            let _ = writeln!(out, "cname = {}", quote(provider.cname().as_str()));
            if !provider.is_enabled() {
                let _ = writeln!(out, "enabled = false");
            }
        }
        for rule in &policy.rules {
            let _ = writeln!(out, "\n[[policy.rule]]");
            let _ = writeln!(out, "name = {}", quote(rule.name().as_str()));
            if !rule.is_enabled() {
                let _ = writeln!(out, "enabled = false");
            }
            let _ = writeln!(out, "lines = {}", list(rule.lines()));
            targets(&mut out, rule.targets());
        }
        if let Some(default) = &policy.default {
            let _ = writeln!(out, "\n[policy.default]");
            targets(&mut out, default.targets());
        }
    }
    out
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetDoc {
    builtin: BuiltinProvider,
    #[serde(default, rename = "custom_line", skip_serializing_if = "Vec::is_empty")]
    custom_lines: Vec<CustomLineDoc>,
    /// `None` when the document has no `policy` key (a TOML prelude must
    /// tell that from an empty array).
    #[serde(default, rename = "policy", skip_serializing_if = "Option::is_none")]
    policies: Option<Vec<PolicyDoc>>,
}

/// A TOML part holding one `[[policy]]` (see [`toml_sections`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OnePolicyDoc {
    policy: [PolicyDoc; 1],
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomLineDoc {
    #[serde(with = "crate::line_code::custom_name")]
    name: CustomLineName,
    #[serde(deserialize_with = "prefixes")]
    prefixes: Vec<IpNet>,
}

/// Prefixes, each parsed on its own so that an error points at it and names
/// it.
fn prefixes<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<IpNet>, D::Error> {
    struct Prefix(IpNet);

    impl<'de> Deserialize<'de> for Prefix {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            crate::text::parse_str(deserializer, "an IP prefix", |text| {
                text.parse().map(Self).map_err(|_| {
                    format!(
                        "invalid IP prefix `{}`: write an address and a length, such as `203.0.113.0/24` or `2001:db8::/32`",
                        crate::error::excerpt(text)
                    )
                })
            })
        }
    }

    let prefixes = Vec::<Prefix>::deserialize(deserializer)?;
    Ok(prefixes.into_iter().map(|p| p.0).collect())
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyDoc {
    domain: DomainName,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    ttl: Ttl,
    #[serde(default)]
    mode: SelectionMode,
    #[serde(default, with = "seed_hex", skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    #[serde(default, rename = "provider", skip_serializing_if = "Vec::is_empty")]
    providers: Vec<Provider>,
    #[serde(default, rename = "rule", skip_serializing_if = "Vec::is_empty")]
    rules: Vec<Rule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default: Option<DefaultRule>,
}

impl SetDoc {
    fn from_set(set: &PolicySet) -> Self {
        Self {
            builtin: set.builtin.clone(),
            custom_lines: set
                .custom_lines()
                .map(|l| CustomLineDoc {
                    name: l.name().clone(),
                    prefixes: l.prefixes().to_vec(),
                })
                .collect(),
            policies: (!set.is_empty()).then(|| {
                set.policies()
                    .map(|p| PolicyDoc {
                        domain: p.domain.clone(),
                        enabled: p.is_enabled(),
                        ttl: p.ttl,
                        mode: p.mode,
                        seed: (p.seed != Policy::default_seed(&p.domain)).then_some(p.seed),
                        providers: p.providers.clone(),
                        rules: p.rules.clone(),
                        default: Some(p.default_rule.clone()),
                    })
                    .collect()
            }),
        }
    }

    fn into_set(self) -> Result<PolicySet, PolicyError> {
        let mut set = PolicySet::new(self.builtin);
        for doc in self.custom_lines {
            set.add_custom_line(CustomLine::new(doc.name, doc.prefixes)?)?;
        }
        for doc in self.policies.unwrap_or_default() {
            if set.policies.contains_key(doc.domain.as_str()) {
                return Err(PolicyError::DuplicatePolicy {
                    domain: doc.domain.to_string(),
                });
            }
            let default_rule = doc.default.unwrap_or_else(|| {
                DefaultRule::new(vec![Target::new(set.builtin.name().clone(), Weight::MAX)])
            });
            let policy = Policy {
                seed: doc
                    .seed
                    .unwrap_or_else(|| Policy::default_seed(&doc.domain)),
                domain: doc.domain.clone(),
                providers: doc.providers,
                rules: doc.rules,
                default_rule,
                ttl: doc.ttl,
                state: if doc.enabled {
                    PolicyState::Enabled
                } else {
                    PolicyState::Disabled
                },
                mode: doc.mode,
            };
            set.policies.insert(doc.domain, Arc::new(policy));
        }
        set.validate()?;
        Ok(set)
    }
}

/// The seed as 1 to 16 hexadecimal digits in a string: TOML integers are
/// signed 64-bit and JSON readers often lose precision past 2^53, so an
/// integer would not carry every `u64`.
mod seed_hex {

    use serde::{Deserializer, Serializer};

    use crate::ValueError;
    use crate::error::excerpt;

    pub(super) fn serialize<S: Serializer>(
        seed: &Option<u64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match seed {
            Some(seed) => serializer.serialize_str(&format!("{seed:016x}")),
            None => serializer.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<u64>, D::Error> {
        crate::text::parse_str(deserializer, "a seed in hexadecimal", |text| {
            parse(text).map(Some)
        })
    }

    pub(super) fn parse(text: &str) -> Result<u64, ValueError> {
        let valid = (1..=16).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit());
        valid
            .then(|| u64::from_str_radix(text, 16).ok())
            .flatten()
            .ok_or_else(|| ValueError::InvalidSeed {
                value: excerpt(text),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ValueError;

    #[test]
    fn line_column_counts_characters() {
        let text = "a = 1\nb = \"北京\" x\n";
        let at = text.find('x').unwrap();
        assert_eq!(line_column(text, at..at + 1), (2, 10));
        assert_eq!(line_column(text, 0..1), (1, 1));
        assert_eq!(line_column(text, 999..1000), (3, 1));
    }

    #[test]
    fn format_from_extension() {
        assert_eq!(Format::from_path("a/b.toml"), Some(Format::Toml));
        assert_eq!(Format::from_path("b.JSON"), Some(Format::Json));
        assert_eq!(Format::from_path("b.yaml"), None);
        assert_eq!(Format::from_path("toml"), None);
    }

    #[test]
    fn seed_syntax() {
        assert_eq!(seed_hex::parse("ff"), Ok(255));
        assert_eq!(seed_hex::parse("FFFFFFFFFFFFFFFF"), Ok(u64::MAX));
        for bad in ["", "0x1", "12345678901234567", "g"] {
            assert_eq!(
                seed_hex::parse(bad),
                Err(ValueError::InvalidSeed { value: bad.into() })
            );
        }
    }

    /// Sections to build documents from: valid and invalid, policies and
    /// their subtables, prelude tables, root keys, headers written oddly,
    /// brackets inside strings and values.
    const SECTIONS: &[&str] = &[
        "[builtin]\ncname = \"edge.example\"\n",
        "[builtin]\nname = \"platform\"\ncname = \"edge2.example\"\n",
        "[[custom_line]]\nname = \"office\"\nprefixes = [\"10.0.0.0/8\"]\n",
        "[[policy]]\ndomain = \"a.example\"\n",
        "[[policy]]\ndomain = \"b.example\"\nttl = 60 # [[policy]]\n",
        "[[policy.provider]]\nname = \"p\"\nkind = \"cdn\"\ncname = \"p.example\"\n",
        "[[policy.rule]]\nname = \"r\"\nlines = [\"CN\"]\ntargets = [{ provider = \"builtin\", weight = 1 }]\n",
        "[[ 'policy' . \"rule\" ]]\nname = \"q\"\nlines = [\n  \"US\",\n]\ntargets = [\n  { provider = \"p\", weight = 2 },\n]\n",
        "[policy.default]\ntargets = [{ provider = \"builtin\", weight = 2 }]\n",
        "[policy]\n",
        "[policy.rule.x]\n",
        "policy = []\n",
        "policy = [{ domain = \"c.example\" }]\n",
        "x = 1\n",
        "s = \"\"\"\n[[policy]]\n\"\"\"\n",
        "[[policy]\n",
        "[[policy]]\ndomain = \"d.example\"\nmode = \n",
        "\n# a comment\n\n",
    ];

    proptest::proptest! {
        /// Reading a TOML document a policy at a time means what reading
        /// it whole means: the same set, or an error for both.
        #[test]
        fn toml_in_parts_reads_as_the_whole_document(
            picks in proptest::collection::vec(0..SECTIONS.len(), 0..12),
            head in proptest::bool::ANY,
        ) {
            let mut text = String::new();
            if head {
                text.push_str(SECTIONS[0]);
            }
            for pick in picks {
                text.push_str(SECTIONS[pick]);
            }
            let whole = toml::from_str::<SetDoc>(&text).ok().map(SetDoc::into_set);
            let parts = toml_doc(&text).ok().map(SetDoc::into_set);
            proptest::prop_assert_eq!(&parts, &whole, "{}", text);
        }
    }

    #[test]
    fn toml_errors_in_a_later_policy_point_into_the_whole_document() {
        let head = "[builtin]\ncname = \"edge.example\"\n";
        let policy = |i: usize| format!("\n[[policy]]\ndomain = \"p{i}.example\"\n");
        let mut text = head.to_owned();
        for i in 0..3 {
            text.push_str(&policy(i));
        }
        // Lines 12 to 14, after the policies, are a section of the prelude;
        // line 15 starts a section of the third policy again.
        text.push_str("[[custom_line]]\nname = \"office\"\nprefixes = [\"10.0.0.0/8\"]\n");
        text.push_str("[policy.default]\ntargets = [{ provider = \"builtin\", weight = 10001 }]\n");
        let err = PolicySet::from_toml_str(&text).unwrap_err();
        let ConfigError::Parse { line, column, .. } = err else {
            panic!("{err:?}");
        };
        assert_eq!((line, column), (16, 45), "{text}");
        let whole = toml::from_str::<SetDoc>(&text)
            .map(drop)
            .map_err(|e| toml_error(&text, |at| at, &e));
        assert_eq!(Err(err), whole);
    }
}
