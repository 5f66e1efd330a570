//! Rules: lines and the weighted targets their clients are split over.

use serde::{Deserialize, Serialize};
use steerage_geo::Line;

use crate::provider::{is_true, yes};
use crate::{ProviderName, RuleName, Weight};

/// A weighted target of a rule: a provider of the policy (or the built-in
/// provider) and its weight.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    provider: ProviderName,
    weight: Weight,
}

impl Target {
    /// A target.
    pub fn new(provider: ProviderName, weight: Weight) -> Self {
        Self { provider, weight }
    }
    /// The provider's name.
    pub fn provider(&self) -> &ProviderName {
        &self.provider
    }
    /// The weight.
    pub fn weight(&self) -> Weight {
        self.weight
    }
    pub(crate) fn rename_provider(&mut self, from: &ProviderName, to: &ProviderName) {
        if self.provider == *from {
            self.provider = to.clone();
        }
    }
}

/// A rule: clients on any of its lines are split over its targets by weight.
///
/// A policy validates its rules: at least one line and one target, no line
/// twice in the policy, no provider twice in a rule, targets naming existing
/// providers, and a non-zero weight total. A disabled rule is kept (its lines
/// still count as taken) but selection skips it as if it were absent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    name: RuleName,
    #[serde(with = "crate::line_code::list")]
    lines: Vec<Line>,
    targets: Vec<Target>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    enabled: bool,
}

impl Rule {
    /// An enabled rule.
    pub fn new(name: RuleName, lines: Vec<Line>, targets: Vec<Target>) -> Self {
        Self {
            name,
            lines,
            targets,
            enabled: true,
        }
    }

    /// The same rule, enabled or disabled.
    #[must_use]
    pub fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// The name, unique in its policy.
    pub fn name(&self) -> &RuleName {
        &self.name
    }
    /// The lines, as written.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }
    /// The targets, as written.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }
    /// Whether selection considers it.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }
    /// Whether a target names `provider`.
    pub fn references(&self, provider: &ProviderName) -> bool {
        self.targets.iter().any(|t| t.provider == *provider)
    }

    pub(crate) fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }
    pub(crate) fn rename_provider(&mut self, from: &ProviderName, to: &ProviderName) {
        for t in &mut self.targets {
            t.rename_provider(from, to);
        }
    }
}

/// The default rule: it catches every client no enabled rule matches. It
/// cannot be deleted or disabled; only its targets change.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultRule {
    targets: Vec<Target>,
}

impl DefaultRule {
    /// The name the default rule goes by in errors and explanations.
    pub const NAME: &'static str = RuleName::DEFAULT;

    /// The default rule with these targets.
    pub fn new(targets: Vec<Target>) -> Self {
        Self { targets }
    }
    /// The name it goes by in errors and explanations: `default`.
    pub fn name(&self) -> &'static str {
        Self::NAME
    }
    /// The targets.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }
    /// Whether a target names `provider`.
    pub fn references(&self, provider: &ProviderName) -> bool {
        self.targets.iter().any(|t| t.provider == *provider)
    }
    pub(crate) fn rename_provider(&mut self, from: &ProviderName, to: &ProviderName) {
        for t in &mut self.targets {
            t.rename_provider(from, to);
        }
    }
}
