//! The definition of selection, written to be read rather than to be fast:
//! which rule, line and targets answer a client, computed from the policy as
//! configured with nothing but [`Line::matches`], [`Line::precedence`] and
//! rule order.
//!
//! `select` answers from compiled tables (a location index per group of
//! policies, rule-merged range maps, pick tables); a proptest below checks
//! it, `select_subnet`, `explain` and the ECS scopes against this module on
//! random policy sets and location tables. `explain` walks the rules with
//! the same functions, so it has no copy of its own to drift.

#[cfg(test)]
use std::net::IpAddr;

#[cfg(test)]
use steerage_geo::{CustomLines, Locator};
use steerage_geo::{Line, Location};
#[cfg(test)]
use steerage_policy::PolicySet;
use steerage_policy::{DefaultRule, Policy, ProviderName, Rule, Target};

use crate::{DISABLED_RULE, NODATA_RULE};

/// Who answers a client, by definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selection<'p> {
    /// The rule that answers: a rule's name, `default`, [`DISABLED_RULE`],
    /// or [`NODATA_RULE`] (no data: the policy failed closed).
    pub(crate) rule: &'p str,
    /// The line of that rule that matched (`None` for the default rule and a
    /// disabled policy).
    pub(crate) line: Option<&'p Line>,
    /// The rule's live targets, in rule order. Empty when the built-in
    /// provider answers as the fallback (a disabled policy, or a default rule
    /// with nothing live).
    pub(crate) targets: Vec<&'p Target>,
}

impl Selection<'_> {
    /// Whether the built-in provider answers because nothing else can.
    pub(crate) fn is_builtin_fallback(&self) -> bool {
        self.targets.is_empty()
    }
}

/// Whether a provider can get traffic: the built-in provider always, a
/// policy's own provider while enabled.
pub(crate) fn is_enabled(policy: &Policy, builtin: &ProviderName, provider: &ProviderName) -> bool {
    provider == builtin
        || policy
            .provider(provider.as_str())
            .is_some_and(steerage_policy::Provider::is_enabled)
}

/// Whether `target` gets traffic: weight > 0 and its provider enabled.
pub(crate) fn is_live(policy: &Policy, builtin: &ProviderName, target: &Target) -> bool {
    target.weight().get() > 0 && is_enabled(policy, builtin, target.provider())
}

/// The live targets among `targets`, in order.
pub(crate) fn live_targets<'p>(
    policy: &Policy,
    builtin: &ProviderName,
    targets: &'p [Target],
) -> Vec<&'p Target> {
    targets
        .iter()
        .filter(|t| is_live(policy, builtin, t))
        .collect()
}

/// Whether a rule takes part in selection at all: enabled, with a live
/// target. Other rules are skipped as if absent.
pub(crate) fn is_candidate(policy: &Policy, builtin: &ProviderName, rule: &Rule) -> bool {
    rule.is_enabled() && rule.targets().iter().any(|t| is_live(policy, builtin, t))
}

/// The most specific of `rule`'s lines that contains `location` (the first
/// in the rule's order among equally specific ones).
pub(crate) fn matched_line<'p>(rule: &'p Rule, location: &Location) -> Option<&'p Line> {
    rule.lines()
        .iter()
        .filter(|line| line.matches(location))
        .min_by_key(|line| line.precedence())
}

/// The rule that answers at `location` and its matched line: among the
/// candidate rules with a matching line, the most specific line wins, and
/// the earlier rule on a tie (`min_by_key` keeps the first minimum).
pub(crate) fn winning_rule<'p>(
    policy: &'p Policy,
    builtin: &ProviderName,
    location: &Location,
) -> Option<(&'p Rule, &'p Line)> {
    policy
        .rules()
        .iter()
        .filter(|rule| is_candidate(policy, builtin, rule))
        .filter_map(|rule| Some((rule, matched_line(rule, location)?)))
        .min_by_key(|(_, line)| line.precedence())
}

/// Who answers a client at `location` under `policy`.
pub(crate) fn select_at<'p>(
    policy: &'p Policy,
    builtin: &ProviderName,
    location: &Location,
) -> Selection<'p> {
    if !policy.is_enabled() {
        return Selection {
            rule: DISABLED_RULE,
            line: None,
            targets: Vec::new(),
        };
    }
    if policy.is_failed_closed() {
        return Selection {
            rule: NODATA_RULE,
            line: None,
            targets: Vec::new(),
        };
    }
    match winning_rule(policy, builtin, location) {
        Some((rule, line)) => Selection {
            rule: rule.name().as_str(),
            line: Some(line),
            targets: live_targets(policy, builtin, rule.targets()),
        },
        None => Selection {
            rule: DefaultRule::NAME,
            line: None,
            targets: live_targets(policy, builtin, policy.default_rule().targets()),
        },
    }
}

/// Where `client` is: the locator's answer plus every custom line of `set`
/// with a prefix that contains the address (IPv4-mapped addresses as IPv4).
#[cfg(test)]
pub(crate) fn locate(set: &PolicySet, locator: &impl Locator, client: IpAddr) -> Location {
    let ip = client.to_canonical();
    let mut location = locator.locate(ip);
    let inside = set
        .custom_lines()
        .filter(|line| line.prefixes().iter().any(|prefix| prefix.contains(&ip)))
        .map(|line| line.name().clone());
    location.custom = CustomLines::new(location.custom.iter().cloned().chain(inside));
    location
}

/// Who answers `client` for `domain` (compared as the set compares it);
/// `None` when the domain is not steered. `locator` gives base locations;
/// the set's custom lines are added here.
#[cfg(test)]
pub(crate) fn select<'p>(
    set: &'p PolicySet,
    locator: &impl Locator,
    domain: &str,
    client: IpAddr,
) -> Option<Selection<'p>> {
    let policy = set.policy(domain)?;
    let location = locate(set, locator, client);
    Some(select_at(policy, set.builtin().name(), &location))
}

#[cfg(test)]
mod tests;
