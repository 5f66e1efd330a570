//! The set selection reads under provider health: a down provider treated
//! exactly like a disabled one, and each policy's [`OnAllDown`] applied when
//! that would leave nothing but the built-in provider.
//!
//! Health is state, not configuration: the derived set is what a program
//! compiles, never what it saves. It shares every policy health does not
//! touch with the configured set (the same `Arc`), so deriving it and
//! compiling it again cost in proportion to the policies whose providers
//! changed state.

use std::sync::Arc;

use crate::{OnAllDown, Policy, PolicyError, PolicySet, ProviderName, Target};

/// What health did to one policy of a derived set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HealthOutcome {
    /// None of its providers is down, or it is disabled: as configured.
    AsConfigured,
    /// Some of its providers are down and get nothing, as if disabled;
    /// others still get traffic.
    Degraded,
    /// Every provider its rules send traffic to is down; the policy's
    /// [`OnAllDown`] decided: `Builtin` (down providers disabled, the
    /// built-in provider answers where nothing else remains),
    /// `IgnoreHealth` (as configured), or `NoData`
    /// ([`Policy::is_failed_closed`]).
    AllDown(OnAllDown),
}

impl PolicySet {
    /// Replaces the policy of `domain` in `self` (a set derived from
    /// `configured`: the same domains) with `configured`'s policy as
    /// selection sees it when the providers for which `is_down` is true are
    /// down, and says what that did.
    ///
    /// A down provider is treated exactly like a disabled provider: its
    /// weight is shared by its rules' live providers, a rule with none left
    /// is skipped, then the default rule, then the built-in provider
    /// answers. `is_down` is never asked about the built-in provider, which
    /// is never down. When the configured policy sends traffic to at least
    /// one of its own providers and none would be left, its
    /// [`OnAllDown`] applies. A disabled policy is left as configured.
    ///
    /// When nothing is down the configured `Arc` itself is put back, so an
    /// incremental compiler sees the policy unchanged by pointer.
    ///
    /// Errors: [`UnknownPolicy`](PolicyError::UnknownPolicy) when either
    /// set lacks `domain`.
    ///
    /// ```
    /// # use steerage_policy::*;
    /// let mut set = PolicySet::new(BuiltinProvider::new("edge.example".parse()?));
    /// set.create_policy("www.example.com")?;
    /// set.add_provider("www.example.com", Provider::new("a".parse()?, ProviderKind::Cdn, "a.cdn.example".parse()?))?;
    /// set.set_default_targets("www.example.com", vec![Target::new("a".parse()?, Weight::new(1)?)])?;
    /// set.set_on_all_down("www.example.com", OnAllDown::NoData)?;
    ///
    /// let mut seen = set.clone();
    /// let outcome = seen.apply_health(&set, "www.example.com", |p| p.as_str() == "a")?;
    /// assert_eq!(outcome, HealthOutcome::AllDown(OnAllDown::NoData));
    /// assert!(seen.policy("www.example.com").ok_or("missing")?.is_failed_closed());
    /// // The configured set is untouched, and saves no health.
    /// assert!(!set.policy("www.example.com").ok_or("missing")?.is_failed_closed());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply_health(
        &mut self,
        configured: &Self,
        domain: &str,
        is_down: impl Fn(&ProviderName) -> bool,
    ) -> Result<HealthOutcome, PolicyError> {
        let unknown = || PolicyError::UnknownPolicy {
            domain: crate::error::excerpt(domain),
        };
        let source = configured
            .policies
            .get(&crate::DomainName::lookup_key(domain))
            .ok_or_else(unknown)?;
        let (derived, outcome) = under_health(source, configured.builtin.name(), is_down);
        let slot = self
            .policies
            .get_mut(source.domain().as_str())
            .ok_or_else(unknown)?;
        // An equal value already there is kept: sharing it lets the
        // compiler skip the policy by pointer.
        if !Arc::ptr_eq(slot, &derived) && **slot != *derived {
            *slot = derived;
        }
        Ok(outcome)
    }
}

/// `policy` as selection sees it with the providers `is_down` names down.
fn under_health(
    policy: &Arc<Policy>,
    builtin: &ProviderName,
    is_down: impl Fn(&ProviderName) -> bool,
) -> (Arc<Policy>, HealthOutcome) {
    let any_down = policy
        .providers()
        .iter()
        .any(|p| p.name() != builtin && is_down(p.name()));
    if !policy.is_enabled() || !any_down {
        return (Arc::clone(policy), HealthOutcome::AsConfigured);
    }
    let mut derived = Policy::clone(policy);
    for provider in &mut derived.providers {
        if provider.name() != builtin && is_down(provider.name()) {
            provider.set_enabled(false);
        }
    }
    if serves_own_provider(policy, builtin) && !serves_own_provider(&derived, builtin) {
        let on_all_down = policy.on_all_down();
        match on_all_down {
            OnAllDown::Builtin => {}
            OnAllDown::IgnoreHealth => {
                return (Arc::clone(policy), HealthOutcome::AllDown(on_all_down));
            }
            OnAllDown::NoData => derived.failed_closed = true,
        }
        return (Arc::new(derived), HealthOutcome::AllDown(on_all_down));
    }
    (Arc::new(derived), HealthOutcome::Degraded)
}

/// Whether some rule that takes part in selection (enabled, with lines; or
/// the default rule) sends traffic to one of the policy's own providers.
fn serves_own_provider(policy: &Policy, builtin: &ProviderName) -> bool {
    let live = |targets: &[Target]| {
        targets.iter().any(|t| {
            t.weight().get() > 0
                && t.provider() != builtin
                && policy
                    .provider(t.provider().as_str())
                    .is_some_and(crate::Provider::is_enabled)
        })
    };
    policy
        .rules()
        .iter()
        .filter(|r| r.is_enabled() && !r.lines().is_empty())
        .any(|r| live(r.targets()))
        || live(policy.default_rule().targets())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BuiltinProvider, Provider, ProviderKind, Rule, Weight};
    use steerage_geo::Line;

    fn set(on_all_down: OnAllDown) -> PolicySet {
        let mut set = PolicySet::new(BuiltinProvider::new("edge.example".parse().unwrap()));
        let d = "www.example.com";
        set.create_policy(d).unwrap();
        for p in ["a", "b"] {
            let cname = format!("{p}.cdn.example").parse().unwrap();
            set.add_provider(
                d,
                Provider::new(p.parse().unwrap(), ProviderKind::Cdn, cname),
            )
            .unwrap();
        }
        let t = |p: &str, w| Target::new(p.parse().unwrap(), Weight::new(w).unwrap());
        set.add_rule(
            d,
            Rule::new(
                "cn".parse().unwrap(),
                vec![Line::parse("CN").unwrap()],
                vec![t("a", 1), t("b", 1)],
            ),
        )
        .unwrap();
        set.set_default_targets(d, vec![t("b", 1), t("builtin", 0)])
            .unwrap();
        set.set_on_all_down(d, on_all_down).unwrap();
        set
    }

    #[test]
    fn nothing_down_shares_the_configured_policy() {
        let configured = set(OnAllDown::NoData);
        let mut seen = configured.clone();
        let outcome = seen
            .apply_health(&configured, "www.example.com", |_| false)
            .unwrap();
        assert_eq!(outcome, HealthOutcome::AsConfigured);
        assert!(Arc::ptr_eq(
            configured.shared_policies().next().unwrap(),
            seen.shared_policies().next().unwrap()
        ));
    }

    #[test]
    fn a_down_provider_is_a_disabled_one() {
        let configured = set(OnAllDown::NoData);
        let mut seen = configured.clone();
        let outcome = seen
            .apply_health(&configured, "www.example.com", |p| p.as_str() == "a")
            .unwrap();
        assert_eq!(outcome, HealthOutcome::Degraded);
        let mut disabled = configured.clone();
        disabled.disable_provider("www.example.com", "a").unwrap();
        assert_eq!(seen, disabled);
    }

    #[test]
    fn all_down_follows_the_policy() {
        let down = |p: &ProviderName| p.as_str() != "builtin";
        for (mode, failed_closed, as_configured) in [
            (OnAllDown::Builtin, false, false),
            (OnAllDown::IgnoreHealth, false, true),
            (OnAllDown::NoData, true, false),
        ] {
            let configured = set(mode);
            let mut seen = configured.clone();
            let outcome = seen
                .apply_health(&configured, "www.example.com", down)
                .unwrap();
            assert_eq!(outcome, HealthOutcome::AllDown(mode));
            let policy = seen.policy("www.example.com").unwrap();
            assert_eq!(policy.is_failed_closed(), failed_closed);
            assert_eq!(
                policy == configured.policy("www.example.com").unwrap(),
                as_configured
            );
            // Health never reaches the saved text.
            assert!(
                !PolicySet::from_toml_str(&seen.to_toml_string().unwrap())
                    .unwrap()
                    .policy("www.example.com")
                    .unwrap()
                    .is_failed_closed()
            );
        }
    }

    #[test]
    fn a_disabled_policy_and_unknown_domains() {
        let mut configured = set(OnAllDown::NoData);
        configured.disable_policy("www.example.com").unwrap();
        let mut seen = configured.clone();
        assert_eq!(
            seen.apply_health(&configured, "www.example.com", |_| true),
            Ok(HealthOutcome::AsConfigured)
        );
        assert!(matches!(
            seen.apply_health(&configured, "nope.example", |_| true),
            Err(PolicyError::UnknownPolicy { .. })
        ));
    }
}
