//! Providers: where a rule sends clients (an origin or a CDN vendor, by CNAME).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{DomainName, ProviderName, ValueError};

/// What a provider is. Informational: selection treats both kinds alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// The customer's own origin (`origin`).
    Origin,
    /// A CDN vendor (`cdn`).
    Cdn,
}

impl ProviderKind {
    /// The config spelling (`origin`, `cdn`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Origin => "origin",
            Self::Cdn => "cdn",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProviderKind {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "origin" => Ok(Self::Origin),
            "cdn" => Ok(Self::Cdn),
            _ => Err(ValueError::InvalidProviderKind {
                value: crate::error::excerpt(s),
            }),
        }
    }
}

/// A provider of one policy: a name, a kind and the CNAME target clients are
/// sent to. A disabled provider stays in the policy and in its rules but gets
/// no traffic, as if its weight were 0 everywhere (a manual failover).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    name: ProviderName,
    kind: ProviderKind,
    cname: DomainName,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    enabled: bool,
}

pub(crate) fn yes() -> bool {
    true
}

pub(crate) fn is_true(b: &bool) -> bool {
    *b
}

impl Provider {
    /// An enabled provider.
    pub fn new(name: ProviderName, kind: ProviderKind, cname: DomainName) -> Self {
        Self {
            name,
            kind,
            cname,
            enabled: true,
        }
    }

    /// The same provider, enabled or disabled.
    #[must_use]
    pub fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// The name, unique in its policy.
    pub fn name(&self) -> &ProviderName {
        &self.name
    }
    /// The kind.
    pub fn kind(&self) -> ProviderKind {
        self.kind
    }
    /// The CNAME target.
    pub fn cname(&self) -> &DomainName {
        &self.cname
    }
    /// Whether it gets traffic.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    pub(crate) fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }
}

/// The built-in provider: the platform's own CNAME, configured once for the
/// whole [`PolicySet`](crate::PolicySet) by the embedding program.
///
/// Every policy has it implicitly, under its name (`builtin` unless
/// configured otherwise), so rules can target it. It cannot be changed,
/// deleted or disabled through policy operations, no policy provider may take
/// its name, and it answers whenever a disabled policy or an empty default
/// rule leaves nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuiltinProvider {
    #[serde(default = "BuiltinProvider::default_name")]
    name: ProviderName,
    cname: DomainName,
}

impl BuiltinProvider {
    /// The built-in provider's name unless configured otherwise.
    pub const DEFAULT_NAME: &'static str = "builtin";

    /// The built-in provider named `builtin`.
    pub fn new(cname: DomainName) -> Self {
        Self {
            name: Self::default_name(),
            cname,
        }
    }

    /// The built-in provider under another name.
    #[must_use]
    pub fn with_name(mut self, name: ProviderName) -> Self {
        self.name = name;
        self
    }

    fn default_name() -> ProviderName {
        ProviderName::new(Self::DEFAULT_NAME)
            .unwrap_or_else(|_: ValueError| unreachable!("`builtin` is a valid provider name"))
    }

    /// Its name.
    pub fn name(&self) -> &ProviderName {
        &self.name
    }
    /// Its CNAME target.
    pub fn cname(&self) -> &DomainName {
        &self.cname
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_spellings() {
        for kind in [ProviderKind::Origin, ProviderKind::Cdn] {
            assert_eq!(kind.as_str().parse::<ProviderKind>(), Ok(kind));
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert_eq!(
            "CDN".parse::<ProviderKind>(),
            Err(ValueError::InvalidProviderKind {
                value: "CDN".into()
            })
        );
    }

    #[test]
    fn builtin_defaults_to_its_name() {
        let b = BuiltinProvider::new(DomainName::new("edge.example").unwrap());
        assert_eq!(b.name().as_str(), BuiltinProvider::DEFAULT_NAME);
        let b = b.with_name(ProviderName::new("platform").unwrap());
        assert_eq!(b.name().as_str(), "platform");
        assert_eq!(b.cname().as_str(), "edge.example");
    }

    #[test]
    fn provider_getters() {
        let p = Provider::new(
            ProviderName::new("cdn-a").unwrap(),
            ProviderKind::Cdn,
            DomainName::new("A.example.").unwrap(),
        );
        assert!(p.is_enabled());
        assert_eq!(
            (p.name().as_str(), p.kind(), p.cname().as_str()),
            ("cdn-a", ProviderKind::Cdn, "a.example")
        );
        assert!(!p.with_enabled(false).is_enabled());
    }
}
