//! The errors of the model, its operations and its validation.

use std::fmt;

use steerage_geo::LineError;

use crate::DomainName;

/// Why a policy operation or a loaded configuration was refused: a bad
/// value ([`PolicyError::Value`]), or an operation or set that breaks an
/// invariant of the model (every other variant).
///
/// Every variant names what a user needs to find and fix the input: the
/// policy's domain, the rule (`default` for the default rule), the provider,
/// the line. An operation that returns an error has changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A value is malformed or out of range.
    #[error(transparent)]
    Value(#[from] ValueError),

    /// No policy exists for the domain.
    #[error("no policy for `{domain}`")]
    UnknownPolicy {
        /// The domain as given.
        domain: String,
    },
    /// A policy for the domain exists already (domains are compared
    /// case-insensitively, a trailing dot ignored).
    #[error("a policy for `{domain}` exists already")]
    DuplicatePolicy {
        /// The domain.
        domain: String,
    },
    /// Only a disabled policy can be deleted.
    #[error("policy `{domain}` is enabled: disable it before deleting it")]
    PolicyEnabled {
        /// The domain.
        domain: String,
    },

    /// The policy has no provider of that name.
    #[error("policy `{policy}` has no provider `{provider}`")]
    ProviderNotFound {
        /// The policy's domain.
        policy: String,
        /// The provider name as given.
        provider: String,
    },
    /// A rule's target names a provider the policy does not have.
    #[error("policy `{policy}`, rule `{rule}`: unknown provider `{provider}`")]
    UnknownProvider {
        /// The policy's domain.
        policy: String,
        /// The rule (`default` for the default rule).
        rule: String,
        /// The provider name in the target.
        provider: String,
    },
    /// Two providers of one policy have the same name.
    #[error("policy `{policy}` has provider `{provider}` already")]
    DuplicateProvider {
        /// The policy's domain.
        policy: String,
        /// The provider name.
        provider: String,
    },
    /// A policy provider would take the built-in provider's name.
    #[error("policy `{policy}`: provider name `{provider}` is the built-in provider's")]
    ProviderNameReserved {
        /// The policy's domain.
        policy: String,
        /// The name.
        provider: String,
    },
    /// The built-in provider cannot be changed, deleted or disabled.
    #[error(
        "policy `{policy}`: the built-in provider `{provider}` cannot be changed, deleted or disabled"
    )]
    BuiltinProviderImmutable {
        /// The policy's domain.
        policy: String,
        /// The built-in provider's name.
        provider: String,
    },
    /// A provider that rules reference cannot be deleted.
    #[error(
        "policy `{policy}`: provider `{provider}` is used by rule(s) {}",
        quoted(rules)
    )]
    ProviderInUse {
        /// The policy's domain.
        policy: String,
        /// The provider.
        provider: String,
        /// The rules whose targets name it, in rule order, `default` last.
        rules: Vec<String>,
    },
    /// A provider's CNAME target is the steered name itself (a CNAME loop).
    #[error("policy `{policy}`: provider `{provider}` points its CNAME at the steered name itself")]
    CnameIsSteeredName {
        /// The policy's domain.
        policy: String,
        /// The provider (the built-in provider's name when its CNAME is the
        /// policy's domain).
        provider: String,
    },
    /// Following CNAMEs from steered domain to steered domain leads back to
    /// where it started, through providers the rules target (disabled rules
    /// and providers and weight-0 targets count): resolvers fail for every
    /// client whose answers go round it.
    #[error("CNAME loop: {}", cname_loop(domains))]
    CnameLoop {
        /// The domains of the loop, in order, each once: a rule of each one
        /// targets a provider whose CNAME is the next one, and the last one's
        /// is the first. An operation reports the loop from the policy it
        /// changes; a whole set, from the first policy (in domain order) on
        /// the loop that the search reaches.
        domains: Vec<DomainName>,
    },

    /// The policy has no rule of that name.
    #[error("policy `{policy}` has no rule `{rule}`")]
    RuleNotFound {
        /// The policy's domain.
        policy: String,
        /// The rule name as given.
        rule: String,
    },
    /// Two rules of one policy have the same name.
    #[error("policy `{policy}` has rule `{rule}` already")]
    DuplicateRule {
        /// The policy's domain.
        policy: String,
        /// The rule name.
        rule: String,
    },
    /// The default rule cannot be deleted.
    #[error("policy `{policy}`: the default rule cannot be deleted")]
    DefaultRuleUndeletable {
        /// The policy's domain.
        policy: String,
    },
    /// The default rule cannot be disabled.
    #[error("policy `{policy}`: the default rule cannot be disabled")]
    DefaultRuleAlwaysEnabled {
        /// The policy's domain.
        policy: String,
    },
    /// The default rule has no name or lines to update; only its targets
    /// change, through `set_default_targets`.
    #[error(
        "policy `{policy}`: the default rule has only targets; change them with set_default_targets"
    )]
    DefaultRuleTargetsOnly {
        /// The policy's domain.
        policy: String,
    },
    /// A rule has no line.
    #[error("policy `{policy}`, rule `{rule}`: a rule needs at least one line")]
    EmptyRuleLines {
        /// The policy's domain.
        policy: String,
        /// The rule.
        rule: String,
    },
    /// A rule (or the default rule) has no target.
    #[error("policy `{policy}`, rule `{rule}`: a rule needs at least one target")]
    EmptyTargets {
        /// The policy's domain.
        policy: String,
        /// The rule (`default` for the default rule).
        rule: String,
    },
    /// A rule names the same provider in two targets.
    #[error("policy `{policy}`, rule `{rule}`: provider `{provider}` is a target twice")]
    DuplicateTarget {
        /// The policy's domain.
        policy: String,
        /// The rule (`default` for the default rule).
        rule: String,
        /// The provider.
        provider: String,
    },
    /// The weights of a rule's targets add up to zero.
    #[error("policy `{policy}`, rule `{rule}`: the target weights add up to 0")]
    WeightTotalZero {
        /// The policy's domain.
        policy: String,
        /// The rule (`default` for the default rule).
        rule: String,
    },
    /// The same line appears in two rules of a policy (ambiguous).
    #[error("policy `{policy}`: line `{line}` is in rules `{}` and `{}`", rules[0], rules[1])]
    DuplicateLine {
        /// The policy's domain.
        policy: String,
        /// The line code.
        line: String,
        /// The two rules, in rule order.
        rules: [String; 2],
    },
    /// The same line appears twice in one rule.
    #[error("policy `{policy}`, rule `{rule}`: line `{line}` is listed twice")]
    RepeatedLine {
        /// The policy's domain.
        policy: String,
        /// The rule.
        rule: String,
        /// The line code.
        line: String,
    },
    /// A rule uses a custom line (`cidr:NAME`) that the set does not define.
    #[error("policy `{policy}`, rule `{rule}`: unknown custom line `{line}`")]
    UnknownCustomLine {
        /// The policy's domain.
        policy: String,
        /// The rule.
        rule: String,
        /// The line code (`cidr:NAME`).
        line: String,
    },

    /// The set has no custom line of that name.
    #[error("no custom line `{line}`")]
    CustomLineNotFound {
        /// The name as given.
        line: String,
    },
    /// A custom line of that name exists already.
    #[error("custom line `{line}` exists already")]
    DuplicateCustomLine {
        /// The name.
        line: String,
    },
    /// A custom line that rules use cannot be deleted.
    #[error("custom line `{line}` is used by {}", rule_refs(rules))]
    CustomLineInUse {
        /// The name.
        line: String,
        /// The rules that use it, by policy domain then rule order.
        rules: Vec<RuleRef>,
    },
    /// A custom line has no prefix.
    #[error("custom line `{line}` has no prefix")]
    EmptyCustomLine {
        /// The name.
        line: String,
    },
    /// A custom line's prefix has host bits set (`10.0.0.1/8`).
    #[error("custom line `{line}`: `{prefix}` has host bits set; write the network `{network}`")]
    PrefixNotNetwork {
        /// The custom line.
        line: String,
        /// The prefix as given.
        prefix: String,
        /// The network it lies in.
        network: String,
    },
    /// A custom line lists the same prefix twice.
    #[error("custom line `{line}` lists `{prefix}` twice")]
    DuplicatePrefix {
        /// The custom line.
        line: String,
        /// The prefix.
        prefix: String,
    },
}

/// A value that is malformed or out of range: what the constructors of the
/// model's values ([`Weight::new`](crate::Weight::new),
/// [`DomainName::new`], the names, the kinds and modes) refuse, before any
/// operation looks at a set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// A domain name or CNAME target is not a valid DNS name.
    #[error("invalid domain name `{name}`: {reason}")]
    InvalidDomain {
        /// The name as given (cut to 256 characters).
        name: String,
        /// What is wrong with it.
        reason: DomainNameFault,
    },
    /// A provider name is malformed.
    #[error("invalid provider name `{name}`: {reason}")]
    InvalidProviderName {
        /// The name as given (cut to 256 characters).
        name: String,
        /// What is wrong with it.
        reason: NameFault,
    },
    /// A rule name is malformed or reserved.
    #[error("invalid rule name `{name}`: {reason}")]
    InvalidRuleName {
        /// The name as given (cut to 256 characters).
        name: String,
        /// What is wrong with it.
        reason: NameFault,
    },
    /// A line code or custom line name is invalid.
    #[error(transparent)]
    Line(#[from] LineError),
    /// A weight is outside `0..=10000`.
    #[error("weight {value} is out of range 0..={max}", max = crate::Weight::MAX.get())]
    WeightOutOfRange {
        /// The weight as given.
        value: i64,
    },
    /// A TTL is outside `1..=86400` seconds.
    #[error("TTL {value} is out of range {min}..={max} seconds", min = crate::Ttl::MIN.get(), max = crate::Ttl::MAX.get())]
    TtlOutOfRange {
        /// The TTL as given.
        value: i64,
    },
    /// A provider kind other than `origin` or `cdn`.
    #[error("invalid provider kind `{value}`: write `origin` or `cdn`")]
    InvalidProviderKind {
        /// The kind as given (cut to 256 characters).
        value: String,
    },
    /// A selection mode other than `random` or `sticky`.
    #[error("invalid selection mode `{value}`: write `random` or `sticky`")]
    InvalidSelectionMode {
        /// The mode as given (cut to 256 characters).
        value: String,
    },
    /// A policy seed is not 1 to 16 hexadecimal digits.
    #[error("invalid seed `{value}`: write 1 to 16 hexadecimal digits")]
    InvalidSeed {
        /// The seed as given (cut to 256 characters).
        value: String,
    },
}

impl From<LineError> for PolicyError {
    fn from(error: LineError) -> Self {
        Self::Value(ValueError::Line(error))
    }
}

/// A rule in a policy, as named in [`PolicyError::CustomLineInUse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleRef {
    /// The policy's domain.
    pub policy: String,
    /// The rule.
    pub rule: String,
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule `{}` of policy `{}`", self.rule, self.policy)
    }
}

/// What is wrong with a domain name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum DomainNameFault {
    /// The name is empty (or only a dot).
    #[error("the name is empty")]
    Empty,
    /// The name is longer than 253 characters (without the trailing dot).
    #[error("the name has {len} characters; at most 253 are allowed")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// Two dots in a row, or a leading dot.
    #[error("the name has an empty label")]
    EmptyLabel,
    /// A label is longer than 63 characters.
    #[error("a label has {len} characters; at most 63 are allowed")]
    LabelTooLong {
        /// The label's length.
        len: usize,
    },
    /// The name has non-ASCII characters.
    #[error(
        "non-ASCII characters: write internationalised names in their A-label (punycode) form, `xn--...`"
    )]
    NonAscii,
    /// A character other than a letter, digit, `-` or `_`.
    #[error("character {ch:?} is not allowed; use letters, digits, `-` and `_`")]
    InvalidCharacter {
        /// The character.
        ch: char,
    },
    /// A label starts or ends with a hyphen.
    #[error("a label starts or ends with `-`")]
    HyphenAtLabelEdge,
    /// An `xn--` label that is not the punycode of an internationalised
    /// label (malformed, or it decodes to plain ASCII).
    #[error("an `xn--` label is not valid punycode of an internationalised label")]
    InvalidALabel,
    /// The last label is all digits, which makes the name look like an IP
    /// address (RFC 3696 section 2).
    #[error("the last label is all digits")]
    NumericTopLabel,
}

/// What is wrong with a provider or rule name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum NameFault {
    /// The name is empty.
    #[error("the name is empty")]
    Empty,
    /// The name is longer than 63 characters.
    #[error("the name has {len} characters; at most 63 are allowed")]
    TooLong {
        /// Its length in characters.
        len: usize,
    },
    /// A character other than an ASCII letter, digit, `-`, `_` or `.`.
    #[error("character {ch:?} is not allowed; use ASCII letters, digits, `-`, `_` and `.`")]
    InvalidCharacter {
        /// The character.
        ch: char,
    },
    /// The name does not start with a letter or digit.
    #[error("the name must start with a letter or digit")]
    BadStart,
    /// `default` is the default rule's name.
    #[error("`default` is reserved for the default rule")]
    Reserved,
}

/// A name from input for an error message, cut so that a huge input does not
/// make a huge error.
pub(crate) fn excerpt(s: &str) -> String {
    const MAX: usize = 256;
    match s.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}...", &s[..end]),
        None => s.to_owned(),
    }
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `a.example -> b.example -> a.example`: the loop, closed.
fn cname_loop(domains: &[DomainName]) -> String {
    let mut text = String::new();
    for domain in domains.iter().chain(domains.first()) {
        if !text.is_empty() {
            text.push_str(" -> ");
        }
        text.push_str(domain.as_str());
    }
    text
}

fn rule_refs(rules: &[RuleRef]) -> String {
    rules
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_cuts_long_input_on_a_char_boundary() {
        assert_eq!(excerpt("short"), "short");
        let long = "北".repeat(300);
        let cut = excerpt(&long);
        assert!(cut.ends_with("..."));
        assert_eq!(cut.chars().count(), 256 + 3);
    }

    #[test]
    fn messages_name_everything() {
        let err = PolicyError::ProviderInUse {
            policy: "www.example.com".into(),
            provider: "cdn-a".into(),
            rules: vec!["china".into(), "default".into()],
        };
        assert_eq!(
            err.to_string(),
            "policy `www.example.com`: provider `cdn-a` is used by rule(s) `china`, `default`"
        );
        let err = PolicyError::CustomLineInUse {
            line: "office".into(),
            rules: vec![RuleRef {
                policy: "a.example".into(),
                rule: "r".into(),
            }],
        };
        assert_eq!(
            err.to_string(),
            "custom line `office` is used by rule `r` of policy `a.example`"
        );
        let err = PolicyError::DuplicateLine {
            policy: "a.example".into(),
            line: "CN".into(),
            rules: ["one".into(), "two".into()],
        };
        assert_eq!(
            err.to_string(),
            "policy `a.example`: line `CN` is in rules `one` and `two`"
        );
        let err = PolicyError::CnameLoop {
            domains: vec![
                DomainName::new("a.example").unwrap(),
                DomainName::new("b.example").unwrap(),
            ],
        };
        assert_eq!(
            err.to_string(),
            "CNAME loop: a.example -> b.example -> a.example"
        );
        assert_eq!(
            ValueError::WeightOutOfRange { value: 10_001 }.to_string(),
            "weight 10001 is out of range 0..=10000"
        );
        assert_eq!(
            ValueError::TtlOutOfRange { value: 0 }.to_string(),
            "TTL 0 is out of range 1..=86400 seconds"
        );
    }
}
