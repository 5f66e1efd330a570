//! Validated DNS names: the steered domains and the CNAME targets.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::excerpt;
use crate::punycode;
use crate::{DomainNameFault, ValueError};

/// A DNS name, lower-cased and without a trailing dot.
///
/// Accepted (RFC 1035 lengths, RFC 1123 characters, plus `_`):
///
/// - at most 253 characters without the trailing dot (255 octets on the wire);
///   one trailing dot is optional and dropped;
/// - labels of 1 to 63 characters of ASCII letters, digits, `-` and `_`, not
///   starting or ending with `-`; `_` is allowed because vendors' CNAME targets
///   sometimes carry it and DNS itself permits it;
/// - the last label not all digits (which would look like an IP address);
/// - internationalised names only in their A-label (punycode) form
///   (`xn--fiqs8s.example`); non-ASCII input is refused with a hint to use
///   punycode, and an `xn--` label must be valid punycode of a label with a
///   non-ASCII character (IDNA2008's rules on the decoded label itself are
///   not checked).
///
/// Wildcards (`*`) are not names here. Comparison is exact on the normalised
/// form, so `WWW.Example.com.` equals `www.example.com`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName(Box<str>);

impl DomainName {
    /// The longest name, in characters without the trailing dot.
    pub const MAX_LEN: usize = 253;
    /// The longest label.
    pub const MAX_LABEL_LEN: usize = 63;

    /// Validates and normalises a name.
    pub fn new(name: &str) -> Result<Self, ValueError> {
        Self::normalise(name).map_err(|reason| ValueError::InvalidDomain {
            name: excerpt(name),
            reason,
        })
    }

    fn normalise(name: &str) -> Result<Self, DomainNameFault> {
        if !name.is_ascii() {
            return Err(DomainNameFault::NonAscii);
        }
        let name = name.strip_suffix('.').unwrap_or(name);
        if name.is_empty() {
            return Err(DomainNameFault::Empty);
        }
        if name.len() > Self::MAX_LEN {
            return Err(DomainNameFault::TooLong { len: name.len() });
        }
        let mut last = "";
        for label in name.split('.') {
            check_label(label)?;
            last = label;
        }
        if last.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainNameFault::NumericTopLabel);
        }
        Ok(Self(name.to_ascii_lowercase().into_boxed_str()))
    }

    /// The normalised name (lower case, no trailing dot).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lookup key for a name as a user may write it: lower case, one
    /// trailing dot dropped. Used to find a policy without validating.
    pub(crate) fn lookup_key(name: &str) -> std::borrow::Cow<'_, str> {
        let name = name.strip_suffix('.').unwrap_or(name);
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            name.to_ascii_lowercase().into()
        } else {
            name.into()
        }
    }
}

fn check_label(label: &str) -> Result<(), DomainNameFault> {
    if label.is_empty() {
        return Err(DomainNameFault::EmptyLabel);
    }
    if label.len() > DomainName::MAX_LABEL_LEN {
        return Err(DomainNameFault::LabelTooLong { len: label.len() });
    }
    if let Some(ch) = label
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return Err(DomainNameFault::InvalidCharacter { ch });
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(DomainNameFault::HyphenAtLabelEdge);
    }
    if let Some(prefix) = label.get(..4)
        && prefix.eq_ignore_ascii_case("xn--")
        && !punycode::is_valid_a_label_body(&label[4..])
    {
        return Err(DomainNameFault::InvalidALabel);
    }
    Ok(())
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for DomainName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for DomainName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl FromStr for DomainName {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl Serialize for DomainName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DomainName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::text::parse_str(deserializer, "a domain name", Self::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(name: &str) -> DomainNameFault {
        match DomainName::new(name) {
            Err(ValueError::InvalidDomain { reason, .. }) => reason,
            other => panic!("{name}: expected InvalidDomain, got {other:?}"),
        }
    }

    #[test]
    fn normalises_case_and_trailing_dot() {
        let d = DomainName::new("WWW.Example.COM.").unwrap();
        assert_eq!(d.as_str(), "www.example.com");
        assert_eq!(d, DomainName::new("www.example.com").unwrap());
    }

    #[test]
    fn accepts_underscore_digits_and_a_labels() {
        for ok in [
            "a",
            "_acme.example.com",
            "3com.example",
            "xn--fiqs8s.example",
            "XN--FIQS8S.example",
            "www.xn--mnchen-3ya.de",
            "a-b.c",
        ] {
            DomainName::new(ok).unwrap();
        }
    }

    #[test]
    fn refuses_a_labels_that_are_not_punycode_of_unicode() {
        // a truncated delta, a character that is not a punycode digit, a
        // delta past U+10FFFF
        for bad in [
            "xn--fiqs8.example",
            "www.xn--mnchen_3ya.de",
            "xn--99999999999.example",
        ] {
            assert_eq!(fault(bad), DomainNameFault::InvalidALabel, "{bad}");
        }
        // Punycode of plain ASCII ends with its delimiter, already refused.
        assert_eq!(
            fault("xn--abc-.example"),
            DomainNameFault::HyphenAtLabelEdge
        );
    }

    #[test]
    fn length_limits() {
        let label63 = "a".repeat(63);
        DomainName::new(&label63).unwrap();
        assert_eq!(
            fault(&"a".repeat(64)),
            DomainNameFault::LabelTooLong { len: 64 }
        );
        // 4 labels of 63 plus 3 dots = 255 > 253.
        let long = [label63.as_str(); 4].join(".");
        assert_eq!(fault(&long), DomainNameFault::TooLong { len: 255 });
        let max = format!("{}.{}.{}.{}", label63, label63, label63, "a".repeat(61));
        assert_eq!(max.len(), 253);
        DomainName::new(&max).unwrap();
        DomainName::new(&format!("{max}.")).unwrap();
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(fault(""), DomainNameFault::Empty);
        assert_eq!(fault("."), DomainNameFault::Empty);
        assert_eq!(fault("a..b"), DomainNameFault::EmptyLabel);
        assert_eq!(fault(".a"), DomainNameFault::EmptyLabel);
        assert_eq!(fault("a.b.."), DomainNameFault::EmptyLabel);
        assert_eq!(fault("bücher.example"), DomainNameFault::NonAscii);
        assert_eq!(
            fault("*.example.com"),
            DomainNameFault::InvalidCharacter { ch: '*' }
        );
        assert_eq!(
            fault("a b.com"),
            DomainNameFault::InvalidCharacter { ch: ' ' }
        );
        assert_eq!(fault("-a.com"), DomainNameFault::HyphenAtLabelEdge);
        assert_eq!(fault("a-.com"), DomainNameFault::HyphenAtLabelEdge);
        assert_eq!(fault("192.0.2.1"), DomainNameFault::NumericTopLabel);
    }

    #[test]
    fn non_ascii_error_mentions_punycode() {
        let err = DomainName::new("例子.com").unwrap_err();
        assert!(err.to_string().contains("punycode"), "{err}");
    }

    #[test]
    fn lookup_key_matches_normalised_form() {
        assert_eq!(
            DomainName::lookup_key("WWW.example.com."),
            "www.example.com"
        );
        assert_eq!(DomainName::lookup_key("www.example.com"), "www.example.com");
    }
}
