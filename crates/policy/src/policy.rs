//! A policy: how one steered domain is answered.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{BuiltinProvider, DefaultRule, DomainName, Provider, Rule, Target, Ttl, Weight};

/// Whether a policy steers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PolicyState {
    /// The configured rules answer.
    #[default]
    Enabled,
    /// Every client gets the built-in provider; only a disabled policy can
    /// be deleted.
    Disabled,
}

/// How a rule's weighted targets are picked for a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SelectionMode {
    /// A fresh weighted pick per query (the default, like other steering
    /// services).
    #[default]
    Random,
    /// A deterministic pick from a hash of the client subnet, the domain and
    /// the policy's seed: a client keeps its provider, and raising one
    /// provider's weight moves only new clients onto it.
    Sticky,
}

impl SelectionMode {
    /// The config spelling (`random`, `sticky`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Random => "random",
            Self::Sticky => "sticky",
        }
    }
}

impl std::str::FromStr for SelectionMode {
    type Err = crate::ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "random" => Ok(Self::Random),
            "sticky" => Ok(Self::Sticky),
            _ => Err(crate::ValueError::InvalidSelectionMode {
                value: crate::error::excerpt(s),
            }),
        }
    }
}

impl fmt::Display for SelectionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The steering policy of one domain: its providers, its rules in order, the
/// default rule, the TTL, the state, the selection mode and the sticky seed.
///
/// Policies live in a [`PolicySet`](crate::PolicySet), which creates and
/// changes them through its operations and keeps them valid; this type only
/// reads. The built-in provider is not in [`providers`](Self::providers) but
/// every rule may target it by its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Policy {
    pub(crate) domain: DomainName,
    pub(crate) providers: Vec<Provider>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) default_rule: DefaultRule,
    pub(crate) ttl: Ttl,
    pub(crate) state: PolicyState,
    pub(crate) mode: SelectionMode,
    pub(crate) seed: u64,
}

impl Policy {
    /// A new policy as `create_policy` makes it: no providers, no rules, the
    /// default rule sending 100 % to the built-in provider, TTL 600 s,
    /// enabled, random mode, the seed derived from the domain.
    pub(crate) fn new(domain: DomainName, builtin: &BuiltinProvider) -> Self {
        let seed = Self::default_seed(&domain);
        Self {
            domain,
            providers: Vec::new(),
            rules: Vec::new(),
            default_rule: DefaultRule::new(vec![Target::new(builtin.name().clone(), Weight::MAX)]),
            ttl: Ttl::DEFAULT,
            state: PolicyState::Enabled,
            mode: SelectionMode::Random,
            seed,
        }
    }

    /// The seed a policy gets when none is configured: the 64-bit FNV-1a hash
    /// of the normalised domain's bytes (offset basis `0xcbf29ce484222325`,
    /// prime `0x100000001b3`). Stable across versions and platforms, so
    /// sticky picks survive restarts; different domains get unrelated seeds.
    pub fn default_seed(domain: &DomainName) -> u64 {
        domain
            .as_str()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            })
    }

    /// The steered domain.
    pub fn domain(&self) -> &DomainName {
        &self.domain
    }
    /// The policy's own providers, in the order they were added (the
    /// built-in provider is not among them).
    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }
    /// The policy's own provider of that name (not the built-in provider).
    pub fn provider(&self, name: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.name().as_str() == name)
    }
    /// The rules, in order (not the default rule).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
    /// The rule of that name (not the default rule).
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name().as_str() == name)
    }
    /// The default rule.
    pub fn default_rule(&self) -> &DefaultRule {
        &self.default_rule
    }
    /// The TTL of answers.
    pub fn ttl(&self) -> Ttl {
        self.ttl
    }
    /// The state.
    pub fn state(&self) -> PolicyState {
        self.state
    }
    /// Whether the policy steers (else the built-in provider answers).
    pub fn is_enabled(&self) -> bool {
        self.state == PolicyState::Enabled
    }
    /// The selection mode.
    pub fn mode(&self) -> SelectionMode {
        self.mode
    }
    /// The seed of sticky picks.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub(crate) fn provider_mut(&mut self, name: &str) -> Option<&mut Provider> {
        self.providers
            .iter_mut()
            .find(|p| p.name().as_str() == name)
    }
    pub(crate) fn rule_mut(&mut self, name: &str) -> Option<&mut Rule> {
        self.rules.iter_mut().find(|r| r.name().as_str() == name)
    }

    /// The rules whose targets name `provider`, in rule order, `default`
    /// last.
    pub fn rules_referencing(&self, provider: &crate::ProviderName) -> Vec<String> {
        let mut rules: Vec<String> = self
            .rules
            .iter()
            .filter(|r| r.references(provider))
            .map(|r| r.name().to_string())
            .collect();
        if self.default_rule.references(provider) {
            rules.push(DefaultRule::NAME.to_owned());
        }
        rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_spellings() {
        for mode in [SelectionMode::Random, SelectionMode::Sticky] {
            assert_eq!(mode.as_str().parse::<SelectionMode>(), Ok(mode));
            assert_eq!(mode.to_string(), mode.as_str());
        }
        assert_eq!(
            "roundrobin".parse::<SelectionMode>(),
            Err(crate::ValueError::InvalidSelectionMode {
                value: "roundrobin".into()
            })
        );
    }

    #[test]
    fn new_policy_defaults() {
        let builtin = BuiltinProvider::new(DomainName::new("edge.example").unwrap());
        let p = Policy::new(DomainName::new("a.example").unwrap(), &builtin);
        assert!(p.is_enabled());
        assert_eq!(p.ttl(), Ttl::DEFAULT);
        assert_eq!(p.mode(), SelectionMode::Random);
        assert_eq!(p.seed(), Policy::default_seed(p.domain()));
        assert_eq!(
            p.default_rule().targets(),
            [Target::new(builtin.name().clone(), Weight::MAX)]
        );
    }

    #[test]
    fn default_seed_is_fnv1a() {
        // FNV-1a 64 of "a" is a published test vector.
        let d = DomainName::new("a").unwrap();
        assert_eq!(Policy::default_seed(&d), 0xaf63_dc4c_8601_ec8c);
        let upper = DomainName::new("A.").unwrap();
        assert_eq!(Policy::default_seed(&upper), 0xaf63_dc4c_8601_ec8c);
    }
}
