//! Whole-set validation, shared by the operations and by config loading.

use std::collections::{BTreeMap, HashMap, HashSet};

use steerage_geo::{CustomLineName, Line};

use crate::cname_loop::CnameGraph;
use crate::{
    BuiltinProvider, CustomLine, DefaultRule, Policy, PolicyError, PolicySet, ProviderName, Target,
};

impl PolicySet {
    /// Checks every invariant of the set and returns the first violation, by
    /// policy domain, then providers, then rules in order, then the default
    /// rule.
    ///
    /// What a value's type guarantees (a [`DomainName`](crate::DomainName)
    /// is valid, a [`Weight`](crate::Weight) is in range, a
    /// [`CustomLine`] has network prefixes) is not checked again; this checks
    /// what ties values together:
    ///
    /// - no CNAME (the built-in one included) is the policy's own domain;
    /// - provider names are unique in a policy and none is the built-in
    ///   provider's;
    /// - rule names are unique; every rule has a line and a target;
    /// - no line is in two rules of a policy, or twice in one rule (disabled
    ///   rules count: enabling one must not create an ambiguity);
    /// - every `cidr:NAME` line names a custom line of the set;
    /// - every target (default rule included) names a provider of the policy
    ///   or the built-in provider, no provider twice in one rule, and the
    ///   weights add up to more than 0. A target naming a disabled provider
    ///   is valid: the provider is kept, it just gets nothing.
    ///
    /// Then, across policies: no CNAME loop
    /// ([`CnameLoop`](PolicyError::CnameLoop)). A policy's rules and default
    /// rule lead to the CNAMEs of the providers they target (disabled rules
    /// and providers and weight-0 targets count, so enabling one can never
    /// close a loop); when such a CNAME is another steered domain, its
    /// policy's targets follow. Chains are fine; coming back to a domain
    /// already on the way is not.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let mut graph = CnameGraph::new(self);
        for policy in self.policies.values() {
            validate_policy(policy, &self.builtin, &self.custom_lines)?;
            graph.add(policy);
        }
        graph.check()
    }
}

/// Validates one policy in the context of the set.
pub(crate) fn validate_policy(
    policy: &Policy,
    builtin: &BuiltinProvider,
    custom_lines: &BTreeMap<CustomLineName, CustomLine>,
) -> Result<(), PolicyError> {
    let domain = policy.domain();
    let name = || domain.to_string();

    if builtin.cname() == domain {
        return Err(PolicyError::CnameIsSteeredName {
            policy: name(),
            provider: builtin.name().to_string(),
        });
    }
    let mut providers: HashSet<&ProviderName> = HashSet::with_capacity(policy.providers().len());
    for provider in policy.providers() {
        if provider.name() == builtin.name() {
            return Err(PolicyError::ProviderNameReserved {
                policy: name(),
                provider: provider.name().to_string(),
            });
        }
        if !providers.insert(provider.name()) {
            return Err(PolicyError::DuplicateProvider {
                policy: name(),
                provider: provider.name().to_string(),
            });
        }
        if provider.cname() == domain {
            return Err(PolicyError::CnameIsSteeredName {
                policy: name(),
                provider: provider.name().to_string(),
            });
        }
        if let Some((field, reason)) = provider.check().and_then(crate::HealthCheck::fault) {
            return Err(PolicyError::InvalidCheck {
                policy: name(),
                provider: provider.name().to_string(),
                field,
                reason: Box::new(reason),
            });
        }
    }

    let mut rule_names = HashSet::with_capacity(policy.rules().len());
    // Which rule holds each line so far.
    let mut line_owner: HashMap<&Line, &str> = HashMap::new();
    for rule in policy.rules() {
        let rule_name = rule.name().as_str();
        if !rule_names.insert(rule_name) {
            return Err(PolicyError::DuplicateRule {
                policy: name(),
                rule: rule_name.to_owned(),
            });
        }
        if rule.lines().is_empty() {
            return Err(PolicyError::EmptyRuleLines {
                policy: name(),
                rule: rule_name.to_owned(),
            });
        }
        for line in rule.lines() {
            if let Line::Custom(custom) = line
                && !custom_lines.contains_key(custom)
            {
                return Err(PolicyError::UnknownCustomLine {
                    policy: name(),
                    rule: rule_name.to_owned(),
                    line: line.to_string(),
                });
            }
            match line_owner.insert(line, rule_name) {
                None => {}
                Some(owner) if owner == rule_name => {
                    return Err(PolicyError::RepeatedLine {
                        policy: name(),
                        rule: rule_name.to_owned(),
                        line: line.to_string(),
                    });
                }
                Some(owner) => {
                    return Err(PolicyError::DuplicateLine {
                        policy: name(),
                        line: line.to_string(),
                        rules: [owner.to_owned(), rule_name.to_owned()],
                    });
                }
            }
        }
        validate_targets(&name(), rule_name, rule.targets(), &providers, builtin)?;
    }
    validate_targets(
        &name(),
        DefaultRule::NAME,
        policy.default_rule().targets(),
        &providers,
        builtin,
    )
}

fn validate_targets(
    policy: &str,
    rule: &str,
    targets: &[Target],
    providers: &HashSet<&ProviderName>,
    builtin: &BuiltinProvider,
) -> Result<(), PolicyError> {
    if targets.is_empty() {
        return Err(PolicyError::EmptyTargets {
            policy: policy.to_owned(),
            rule: rule.to_owned(),
        });
    }
    let mut seen = HashSet::with_capacity(targets.len());
    let mut total = 0u64;
    for target in targets {
        let provider = target.provider();
        if provider != builtin.name() && !providers.contains(provider) {
            return Err(PolicyError::UnknownProvider {
                policy: policy.to_owned(),
                rule: rule.to_owned(),
                provider: provider.to_string(),
            });
        }
        if !seen.insert(provider) {
            return Err(PolicyError::DuplicateTarget {
                policy: policy.to_owned(),
                rule: rule.to_owned(),
                provider: provider.to_string(),
            });
        }
        total += u64::from(target.weight().get());
    }
    if total == 0 {
        return Err(PolicyError::WeightTotalZero {
            policy: policy.to_owned(),
            rule: rule.to_owned(),
        });
    }
    Ok(())
}
