//! Validated names of providers and rules.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::excerpt;
use crate::{NameFault, ValueError};

/// The longest provider or rule name, in characters.
const MAX_LEN: usize = 63;

/// Checks the shared syntax: 1 to 63 ASCII letters, digits, `-`, `_`, `.`,
/// starting with a letter or digit. Names appear in logs, metrics and DNS
/// tooling, hence the conservative set.
fn check(name: &str) -> Result<(), NameFault> {
    let Some(first) = name.chars().next() else {
        return Err(NameFault::Empty);
    };
    if let Some(ch) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(NameFault::InvalidCharacter { ch });
    }
    if name.len() > MAX_LEN {
        return Err(NameFault::TooLong { len: name.len() });
    }
    if !first.is_ascii_alphanumeric() {
        return Err(NameFault::BadStart);
    }
    Ok(())
}

macro_rules! string_newtype {
    ($ty:ident) => {
        impl $ty {
            /// The name.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $ty {
            type Err = ValueError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                &*self.0 == other
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                crate::text::parse_str(deserializer, "a name", Self::new)
            }
        }
    };
}

/// A provider's name: 1 to 63 ASCII letters, digits, `-`, `_` and `.`,
/// starting with a letter or digit. Case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderName(Box<str>);

impl ProviderName {
    /// Validates a name.
    pub fn new(name: &str) -> Result<Self, ValueError> {
        check(name)
            .map(|()| Self(name.into()))
            .map_err(|reason| ValueError::InvalidProviderName {
                name: excerpt(name),
                reason,
            })
    }
}

string_newtype!(ProviderName);

/// A rule's name: the syntax of [`ProviderName`], and not `default` in any
/// case (the default rule's name in errors and explanations).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleName(Box<str>);

impl RuleName {
    /// The name the default rule goes by in errors and explanations.
    pub const DEFAULT: &'static str = "default";

    /// Validates a name.
    pub fn new(name: &str) -> Result<Self, ValueError> {
        check(name)
            .and_then(|()| {
                if name.eq_ignore_ascii_case(Self::DEFAULT) {
                    Err(NameFault::Reserved)
                } else {
                    Ok(Self(name.into()))
                }
            })
            .map_err(|reason| ValueError::InvalidRuleName {
                name: excerpt(name),
                reason,
            })
    }
}

string_newtype!(RuleName);

#[cfg(test)]
mod tests {
    use super::*;

    fn provider_fault(name: &str) -> NameFault {
        match ProviderName::new(name) {
            Err(ValueError::InvalidProviderName { reason, .. }) => reason,
            other => panic!("{name}: expected InvalidProviderName, got {other:?}"),
        }
    }

    #[test]
    fn accepts_usual_names() {
        for ok in ["cdn-a", "Vendor_B", "origin.1", "a", &"x".repeat(63)] {
            ProviderName::new(ok).unwrap();
            RuleName::new(ok).unwrap();
        }
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(provider_fault(""), NameFault::Empty);
        assert_eq!(
            provider_fault(&"x".repeat(64)),
            NameFault::TooLong { len: 64 }
        );
        assert_eq!(
            provider_fault("a b"),
            NameFault::InvalidCharacter { ch: ' ' }
        );
        assert_eq!(
            provider_fault("北京"),
            NameFault::InvalidCharacter { ch: '北' }
        );
        assert_eq!(provider_fault("-a"), NameFault::BadStart);
        assert_eq!(provider_fault("_a"), NameFault::BadStart);
    }

    #[test]
    fn default_is_reserved_for_rules_only() {
        for name in ["default", "Default", "DEFAULT"] {
            assert_eq!(
                RuleName::new(name),
                Err(ValueError::InvalidRuleName {
                    name: name.into(),
                    reason: NameFault::Reserved
                })
            );
        }
        ProviderName::new("default").unwrap();
    }
}
