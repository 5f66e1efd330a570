//! The console operations on a policy set.
//!
//! Each operation works on a copy of the one policy it changes, validates the
//! copy in the context of the set and only then swaps it in, so an error
//! leaves the set exactly as it was. Enabling or disabling something already
//! in that state succeeds and changes nothing.

use std::sync::Arc;

use steerage_geo::CustomLineName;

use crate::validate::validate_policy;
use crate::{
    CustomLine, DomainName, Policy, PolicyError, PolicySet, PolicyState, Provider, ProviderName,
    Rule, RuleName, RuleRef, SelectionMode, Target, Ttl,
};

impl PolicySet {
    /// Creates the policy for a domain: no providers, no rules, the default
    /// rule sending 100 % to the built-in provider, TTL 600 s, enabled,
    /// random mode, the seed derived from the domain
    /// ([`Policy::default_seed`]).
    ///
    /// Errors: [`InvalidDomain`](crate::ValueError::InvalidDomain),
    /// [`DuplicatePolicy`](PolicyError::DuplicatePolicy),
    /// [`CnameIsSteeredName`](PolicyError::CnameIsSteeredName) when the
    /// domain is the built-in provider's CNAME.
    pub fn create_policy(&mut self, domain: &str) -> Result<&Policy, PolicyError> {
        let domain = DomainName::new(domain)?;
        if self.policies.contains_key(domain.as_str()) {
            return Err(PolicyError::DuplicatePolicy {
                domain: domain.to_string(),
            });
        }
        let policy = Policy::new(domain.clone(), &self.builtin);
        validate_policy(&policy, &self.builtin, &self.custom_lines)?;
        // A new policy targets only the built-in provider, whose CNAME is
        // never steered, so this finds nothing; it keeps the invariant local.
        self.check_cname_loop_through(&policy)?;
        Ok(self.policies.insert(domain, Arc::new(policy)))
    }

    /// Enables a policy: its rules answer again.
    ///
    /// Errors: [`UnknownPolicy`](PolicyError::UnknownPolicy).
    pub fn enable_policy(&mut self, domain: &str) -> Result<(), PolicyError> {
        self.policy_mut(domain)?.state = PolicyState::Enabled;
        Ok(())
    }

    /// Disables a policy: every client gets the built-in provider.
    ///
    /// Errors: [`UnknownPolicy`](PolicyError::UnknownPolicy).
    pub fn disable_policy(&mut self, domain: &str) -> Result<(), PolicyError> {
        self.policy_mut(domain)?.state = PolicyState::Disabled;
        Ok(())
    }

    /// Deletes a disabled policy and returns it. Cannot be undone.
    ///
    /// Errors: [`UnknownPolicy`](PolicyError::UnknownPolicy),
    /// [`PolicyEnabled`](PolicyError::PolicyEnabled).
    pub fn delete_policy(&mut self, domain: &str) -> Result<Policy, PolicyError> {
        let policy = self.policy_mut(domain)?;
        if policy.is_enabled() {
            return Err(PolicyError::PolicyEnabled {
                domain: policy.domain().to_string(),
            });
        }
        let key = policy.domain().clone();
        self.policies
            .remove(key.as_str())
            .map(Arc::unwrap_or_clone)
            .ok_or_else(|| PolicyError::UnknownPolicy {
                domain: domain.to_owned(),
            })
    }

    /// Sets a policy's TTL.
    ///
    /// Errors: [`UnknownPolicy`](PolicyError::UnknownPolicy).
    pub fn set_ttl(&mut self, domain: &str, ttl: Ttl) -> Result<(), PolicyError> {
        self.policy_mut(domain)?.ttl = ttl;
        Ok(())
    }

    /// Sets a policy's selection mode.
    ///
    /// Errors: [`UnknownPolicy`](PolicyError::UnknownPolicy).
    pub fn set_mode(&mut self, domain: &str, mode: SelectionMode) -> Result<(), PolicyError> {
        self.policy_mut(domain)?.mode = mode;
        Ok(())
    }

    /// Sets the seed of a policy's sticky picks. Changing it reshuffles
    /// which clients go where.
    ///
    /// Errors: [`UnknownPolicy`](PolicyError::UnknownPolicy).
    pub fn set_seed(&mut self, domain: &str, seed: u64) -> Result<(), PolicyError> {
        self.policy_mut(domain)?.seed = seed;
        Ok(())
    }

    /// Adds a provider (enabled or not, as given) to a policy. Its CNAME may
    /// be another steered domain; a loop is refused when a rule targets it
    /// ([`CnameLoop`](PolicyError::CnameLoop)).
    ///
    /// Errors: [`UnknownPolicy`](PolicyError::UnknownPolicy),
    /// [`ProviderNameReserved`](PolicyError::ProviderNameReserved),
    /// [`DuplicateProvider`](PolicyError::DuplicateProvider),
    /// [`CnameIsSteeredName`](PolicyError::CnameIsSteeredName).
    pub fn add_provider(&mut self, domain: &str, provider: Provider) -> Result<(), PolicyError> {
        self.change_policy(domain, |policy| {
            policy.providers.push(provider);
            Ok(())
        })
    }

    /// Replaces the name, kind and CNAME of the provider called `name`; its
    /// enabled state is kept (use [`enable_provider`](Self::enable_provider)
    /// and [`disable_provider`](Self::disable_provider) for that). The change
    /// takes effect in every rule at once: a rename renames the provider in
    /// every target that names it.
    ///
    /// Errors: [`UnknownPolicy`](PolicyError::UnknownPolicy),
    /// [`BuiltinProviderImmutable`](PolicyError::BuiltinProviderImmutable),
    /// [`ProviderNotFound`](PolicyError::ProviderNotFound), and for the new
    /// value [`ProviderNameReserved`](PolicyError::ProviderNameReserved),
    /// [`DuplicateProvider`](PolicyError::DuplicateProvider),
    /// [`CnameIsSteeredName`](PolicyError::CnameIsSteeredName), and
    /// [`CnameLoop`](PolicyError::CnameLoop) when a rule targets it and its
    /// new CNAME leads back to this domain.
    pub fn update_provider(
        &mut self,
        domain: &str,
        name: &str,
        provider: Provider,
    ) -> Result<(), PolicyError> {
        let builtin = self.builtin.name().clone();
        self.change_policy(domain, |policy| {
            let enabled = Self::own_provider(&builtin, policy, name)?.is_enabled();
            let old = Self::own_provider(&builtin, policy, name)?.name().clone();
            let new = provider.name().clone();
            if let Some(slot) = policy.provider_mut(name) {
                *slot = provider.with_enabled(enabled);
            }
            if old != new {
                for rule in &mut policy.rules {
                    rule.rename_provider(&old, &new);
                }
                policy.default_rule.rename_provider(&old, &new);
            }
            Ok(())
        })
    }

    /// Deletes a provider no rule references and returns it.
    ///
    /// Errors: [`UnknownPolicy`](PolicyError::UnknownPolicy),
    /// [`BuiltinProviderImmutable`](PolicyError::BuiltinProviderImmutable),
    /// [`ProviderNotFound`](PolicyError::ProviderNotFound),
    /// [`ProviderInUse`](PolicyError::ProviderInUse) listing the rules that
    /// hold it (`default` included; disabled rules and zero weights count).
    pub fn delete_provider(&mut self, domain: &str, name: &str) -> Result<Provider, PolicyError> {
        let builtin = self.builtin.name().clone();
        let mut removed = None;
        self.change_policy(domain, |policy| {
            let provider = Self::own_provider(&builtin, policy, name)?.name().clone();
            let rules = policy.rules_referencing(&provider);
            if !rules.is_empty() {
                return Err(PolicyError::ProviderInUse {
                    policy: policy.domain().to_string(),
                    provider: provider.to_string(),
                    rules,
                });
            }
            policy.providers.retain(|p| {
                if *p.name() == provider {
                    removed = Some(p.clone());
                    false
                } else {
                    true
                }
            });
            Ok(())
        })?;
        removed.ok_or_else(|| PolicyError::ProviderNotFound {
            policy: domain.to_owned(),
            provider: name.to_owned(),
        })
    }

    /// Enables a provider. Enabling the built-in provider, which is always
    /// enabled, succeeds and changes nothing.
    ///
    /// Errors: [`UnknownPolicy`](PolicyError::UnknownPolicy),
    /// [`ProviderNotFound`](PolicyError::ProviderNotFound).
    pub fn enable_provider(&mut self, domain: &str, name: &str) -> Result<(), PolicyError> {
        let builtin = self.builtin.name().clone();
        if *self.builtin.name() == *name {
            return self.policy_mut(domain).map(|_| ());
        }
        self.change_policy(domain, |policy| {
            Self::own_provider(&builtin, policy, name)?;
            if let Some(p) = policy.provider_mut(name) {
                p.set_enabled(true);
            }
            Ok(())
        })
    }

    /// Disables a provider: it stays in its rules but gets nothing, as if
    /// its weight were 0 everywhere.
    ///
    /// Errors: [`UnknownPolicy`](PolicyError::UnknownPolicy),
    /// [`BuiltinProviderImmutable`](PolicyError::BuiltinProviderImmutable),
    /// [`ProviderNotFound`](PolicyError::ProviderNotFound).
    pub fn disable_provider(&mut self, domain: &str, name: &str) -> Result<(), PolicyError> {
        let builtin = self.builtin.name().clone();
        self.change_policy(domain, |policy| {
            Self::own_provider(&builtin, policy, name)?;
            if let Some(p) = policy.provider_mut(name) {
                p.set_enabled(false);
            }
            Ok(())
        })
    }

    /// Adds a rule (enabled or not, as given) after the existing rules.
    ///
    /// Errors: [`UnknownPolicy`](PolicyError::UnknownPolicy) and the rule
    /// checks of [`validate`](Self::validate):
    /// [`DuplicateRule`](PolicyError::DuplicateRule),
    /// [`EmptyRuleLines`](PolicyError::EmptyRuleLines),
    /// [`EmptyTargets`](PolicyError::EmptyTargets),
    /// [`UnknownCustomLine`](PolicyError::UnknownCustomLine),
    /// [`RepeatedLine`](PolicyError::RepeatedLine),
    /// [`DuplicateLine`](PolicyError::DuplicateLine),
    /// [`UnknownProvider`](PolicyError::UnknownProvider),
    /// [`DuplicateTarget`](PolicyError::DuplicateTarget),
    /// [`WeightTotalZero`](PolicyError::WeightTotalZero), and then
    /// [`CnameLoop`](PolicyError::CnameLoop) when a provider it targets has a
    /// CNAME leading back to this domain (a disabled rule counts).
    pub fn add_rule(&mut self, domain: &str, rule: Rule) -> Result<(), PolicyError> {
        self.change_policy(domain, |policy| {
            policy.rules.push(rule);
            Ok(())
        })
    }

    /// Replaces the name, lines and targets of the rule called `name`, in
    /// place (its position is kept); its enabled state is kept.
    ///
    /// Errors: [`UnknownPolicy`](PolicyError::UnknownPolicy),
    /// [`DefaultRuleTargetsOnly`](PolicyError::DefaultRuleTargetsOnly) for
    /// `default`, [`RuleNotFound`](PolicyError::RuleNotFound), and the rule
    /// checks listed at [`add_rule`](Self::add_rule).
    pub fn update_rule(&mut self, domain: &str, name: &str, rule: Rule) -> Result<(), PolicyError> {
        self.change_policy(domain, |policy| {
            let slot = Self::own_rule(policy, name)?;
            let enabled = slot.is_enabled();
            *slot = rule.with_enabled(enabled);
            Ok(())
        })
    }

    /// Deletes a rule and returns it; its clients fall to the next less
    /// specific rule.
    ///
    /// Errors: [`UnknownPolicy`](PolicyError::UnknownPolicy),
    /// [`DefaultRuleUndeletable`](PolicyError::DefaultRuleUndeletable) for
    /// `default`, [`RuleNotFound`](PolicyError::RuleNotFound).
    pub fn delete_rule(&mut self, domain: &str, name: &str) -> Result<Rule, PolicyError> {
        let policy = self.policy_mut(domain)?;
        if name == RuleName::DEFAULT {
            return Err(PolicyError::DefaultRuleUndeletable {
                policy: policy.domain().to_string(),
            });
        }
        match policy.rules.iter().position(|r| *r.name() == *name) {
            Some(i) => Ok(policy.rules.remove(i)),
            None => Err(PolicyError::RuleNotFound {
                policy: policy.domain().to_string(),
                rule: name.to_owned(),
            }),
        }
    }

    /// Enables a rule. Enabling `default`, which is always enabled, succeeds
    /// and changes nothing.
    ///
    /// Errors: [`UnknownPolicy`](PolicyError::UnknownPolicy),
    /// [`RuleNotFound`](PolicyError::RuleNotFound).
    pub fn enable_rule(&mut self, domain: &str, name: &str) -> Result<(), PolicyError> {
        self.set_rule_enabled(domain, name, true)
    }

    /// Disables a rule: selection skips it as if it were absent; its lines
    /// stay taken.
    ///
    /// Errors: [`UnknownPolicy`](PolicyError::UnknownPolicy),
    /// [`DefaultRuleAlwaysEnabled`](PolicyError::DefaultRuleAlwaysEnabled)
    /// for `default`, [`RuleNotFound`](PolicyError::RuleNotFound).
    pub fn disable_rule(&mut self, domain: &str, name: &str) -> Result<(), PolicyError> {
        self.set_rule_enabled(domain, name, false)
    }

    fn set_rule_enabled(
        &mut self,
        domain: &str,
        name: &str,
        enabled: bool,
    ) -> Result<(), PolicyError> {
        let policy = self.policy_mut(domain)?;
        if name == RuleName::DEFAULT {
            return if enabled {
                Ok(())
            } else {
                Err(PolicyError::DefaultRuleAlwaysEnabled {
                    policy: policy.domain().to_string(),
                })
            };
        }
        Self::own_rule(policy, name)?.set_enabled(enabled);
        Ok(())
    }

    /// Replaces the default rule's targets.
    ///
    /// Errors: [`UnknownPolicy`](PolicyError::UnknownPolicy),
    /// [`EmptyTargets`](PolicyError::EmptyTargets),
    /// [`UnknownProvider`](PolicyError::UnknownProvider),
    /// [`DuplicateTarget`](PolicyError::DuplicateTarget),
    /// [`WeightTotalZero`](PolicyError::WeightTotalZero), each naming rule
    /// `default`; [`CnameLoop`](PolicyError::CnameLoop) when a provider it
    /// targets has a CNAME leading back to this domain.
    pub fn set_default_targets(
        &mut self,
        domain: &str,
        targets: Vec<Target>,
    ) -> Result<(), PolicyError> {
        self.change_policy(domain, |policy| {
            policy.default_rule = crate::DefaultRule::new(targets);
            Ok(())
        })
    }

    /// Adds a custom line.
    ///
    /// Errors: [`DuplicateCustomLine`](PolicyError::DuplicateCustomLine).
    pub fn add_custom_line(&mut self, line: CustomLine) -> Result<(), PolicyError> {
        if self.custom_lines.contains_key(line.name()) {
            return Err(PolicyError::DuplicateCustomLine {
                line: line.name().as_str().to_owned(),
            });
        }
        self.custom_lines.insert(line.name().clone(), line);
        Ok(())
    }

    /// Replaces the prefixes of the custom line of the same name; every rule
    /// using it follows at once.
    ///
    /// Errors: [`CustomLineNotFound`](PolicyError::CustomLineNotFound).
    pub fn update_custom_line(&mut self, line: CustomLine) -> Result<(), PolicyError> {
        match self.custom_lines.get_mut(line.name()) {
            Some(slot) => {
                *slot = line;
                Ok(())
            }
            None => Err(PolicyError::CustomLineNotFound {
                line: line.name().as_str().to_owned(),
            }),
        }
    }

    /// Deletes a custom line no rule uses and returns it.
    ///
    /// Errors: [`CustomLineNotFound`](PolicyError::CustomLineNotFound),
    /// [`CustomLineInUse`](PolicyError::CustomLineInUse) listing every rule
    /// (of every policy, disabled ones included) that uses it.
    pub fn delete_custom_line(&mut self, name: &str) -> Result<CustomLine, PolicyError> {
        let not_found = || PolicyError::CustomLineNotFound {
            line: crate::error::excerpt(name),
        };
        let key = CustomLineName::new(name).map_err(|_| not_found())?;
        if !self.custom_lines.contains_key(&key) {
            return Err(not_found());
        }
        let line = steerage_geo::Line::Custom(key.clone());
        let rules: Vec<RuleRef> = self
            .policies
            .values()
            .flat_map(|p| {
                p.rules()
                    .iter()
                    .filter(|r| r.lines().contains(&line))
                    .map(|r| RuleRef {
                        policy: p.domain().to_string(),
                        rule: r.name().to_string(),
                    })
            })
            .collect();
        if !rules.is_empty() {
            return Err(PolicyError::CustomLineInUse {
                line: key.as_str().to_owned(),
                rules,
            });
        }
        self.custom_lines.remove(&key).ok_or_else(not_found)
    }

    /// The policy for `domain`, or `UnknownPolicy`.
    fn policy_mut(&mut self, domain: &str) -> Result<&mut Policy, PolicyError> {
        self.policies
            .get_mut(&DomainName::lookup_key(domain))
            .map(Arc::make_mut)
            .ok_or_else(|| PolicyError::UnknownPolicy {
                domain: crate::error::excerpt(domain),
            })
    }

    /// Applies `change` to a copy of the policy, validates the copy and
    /// swaps it in; on any error the set is untouched.
    fn change_policy(
        &mut self,
        domain: &str,
        change: impl FnOnce(&mut Policy) -> Result<(), PolicyError>,
    ) -> Result<(), PolicyError> {
        let current = self
            .policy(domain)
            .ok_or_else(|| PolicyError::UnknownPolicy {
                domain: crate::error::excerpt(domain),
            })?;
        let mut copy = current.clone();
        change(&mut copy)?;
        validate_policy(&copy, &self.builtin, &self.custom_lines)?;
        self.check_cname_loop_through(&copy)?;
        if let Some(slot) = self.policies.get_mut(copy.domain().as_str()) {
            *slot = Arc::new(copy);
        }
        Ok(())
    }

    /// The built-in provider is refused first, then a missing provider.
    fn own_provider<'p>(
        builtin: &ProviderName,
        policy: &'p Policy,
        name: &str,
    ) -> Result<&'p Provider, PolicyError> {
        if *builtin == *name {
            return Err(PolicyError::BuiltinProviderImmutable {
                policy: policy.domain().to_string(),
                provider: builtin.to_string(),
            });
        }
        policy
            .provider(name)
            .ok_or_else(|| PolicyError::ProviderNotFound {
                policy: policy.domain().to_string(),
                provider: crate::error::excerpt(name),
            })
    }

    /// `default` is refused first, then a missing rule.
    fn own_rule<'p>(policy: &'p mut Policy, name: &str) -> Result<&'p mut Rule, PolicyError> {
        if name == RuleName::DEFAULT {
            return Err(PolicyError::DefaultRuleTargetsOnly {
                policy: policy.domain().to_string(),
            });
        }
        let domain = policy.domain().to_string();
        policy
            .rule_mut(name)
            .ok_or_else(|| PolicyError::RuleNotFound {
                policy: domain,
                rule: crate::error::excerpt(name),
            })
    }
}
