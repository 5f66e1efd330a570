//! CNAME loops across steered domains, refused because resolvers fail for
//! every client whose answers go round one.
//!
//! The graph: a policy has an edge to a steered domain when that domain is
//! the CNAME of a provider one of its rules or its default rule targets.
//! Disabled rules, disabled providers and weight-0 targets count, as they do
//! for the other reference checks: enabling something must never be able to
//! create a loop at serving time. A provider no rule targets adds no edge
//! (it cannot be answered), and targeting it later is a rule change, checked
//! then. The built-in provider adds no edge either: its CNAME can never be a
//! steered domain ([`CnameIsSteeredName`](PolicyError::CnameIsSteeredName)).

use std::collections::{HashMap, HashSet};

use crate::{DomainName, Policy, PolicyError, PolicySet};

/// Whether `provider` is in a target of one of `policy`'s rules or of its
/// default rule.
fn targeted(policy: &Policy, provider: &crate::ProviderName) -> bool {
    policy.rules().iter().any(|r| r.references(provider))
        || policy.default_rule().references(provider)
}

/// The CNAMEs of the providers `policy` targets, in provider order: the
/// candidate edges (only those that are steered domains are edges).
fn targeted_cnames(policy: &Policy) -> impl Iterator<Item = &DomainName> + '_ {
    policy
        .providers()
        .iter()
        .filter(|p| targeted(policy, p.name()))
        .map(|p| p.cname())
}

impl PolicySet {
    /// Refuses `changed`, the new value of the policy of its domain, when it
    /// closes a CNAME loop. The set without it has no loop (every change is
    /// checked), and only `changed`'s edges are new, so a new loop passes
    /// through it: a depth-first search from it, over the other policies as
    /// they are, costs one lookup per targeted provider and usually stops
    /// after zero or one hop.
    pub(crate) fn check_cname_loop_through(&self, changed: &Policy) -> Result<(), PolicyError> {
        let start = changed.domain();
        // Domains entered and left without finding `start`.
        let mut seen: HashSet<&str> = HashSet::new();
        // `start`'s own edges first, without a path: most policies lead to
        // no steered domain, and then nothing is allocated.
        for cname in targeted_cnames(changed) {
            if cname == start {
                return Err(PolicyError::CnameLoop {
                    domains: vec![start.clone()],
                });
            }
            // `start` itself is read from `changed`, never from the set.
            let Some(next) = self.policies.get(cname.as_str()) else {
                continue;
            };
            if seen.insert(cname.as_str()) {
                self.search_back_to(start, next, &mut seen)?;
            }
        }
        Ok(())
    }

    /// The depth-first search of
    /// [`check_cname_loop_through`](Self::check_cname_loop_through) from
    /// `first`, a steered domain `start` leads to.
    fn search_back_to<'a>(
        &'a self,
        start: &DomainName,
        first: &'a Policy,
        seen: &mut HashSet<&'a str>,
    ) -> Result<(), PolicyError> {
        // The path from `first`, each with the edges still to follow.
        let mut path = vec![(first.domain(), targeted_cnames(first))];
        while let Some((_, edges)) = path.last_mut() {
            let Some(cname) = edges.next() else {
                path.pop();
                continue;
            };
            if cname == start {
                return Err(PolicyError::CnameLoop {
                    domains: std::iter::once(start)
                        .chain(path.iter().map(|(d, _)| *d))
                        .cloned()
                        .collect(),
                });
            }
            let Some(next) = self.policies.get(cname.as_str()) else {
                continue;
            };
            if seen.insert(cname.as_str()) {
                path.push((next.domain(), targeted_cnames(next)));
            }
        }
        Ok(())
    }

    /// Refuses a set with a CNAME loop anywhere: the whole-set check of
    /// [`validate`](Self::validate), one depth-first pass over every policy,
    /// without recursion (a chain may be as long as the set). The loop
    /// reported is the first found, searching from each policy in domain
    /// order.
    pub(crate) fn check_cname_loops(&self) -> Result<(), PolicyError> {
        let policies: Vec<&Policy> = self.policies.values().map(|p| &**p).collect();
        // A hash probe per targeted CNAME instead of a search of the sorted
        // leaves: at 100,000 policies that search, three per policy, cost
        // more than the rest of `validate`.
        let index: HashMap<&str, usize> = policies
            .iter()
            .enumerate()
            .map(|(i, p)| (p.domain().as_str(), i))
            .collect();
        let mut state = vec![Search::New; policies.len()];
        // The path from the current root, each with the edges still to
        // follow; reused from root to root.
        let mut path = Vec::new();
        for (root, policy) in policies.iter().enumerate() {
            if state[root] != Search::New {
                continue;
            }
            state[root] = Search::OnPath;
            path.push((root, targeted_cnames(policy)));
            while let Some((at, edges)) = path.last_mut() {
                let at = *at;
                let Some(cname) = edges.next() else {
                    state[at] = Search::Done;
                    path.pop();
                    continue;
                };
                let Some(&next) = index.get(cname.as_str()) else {
                    continue;
                };
                match state[next] {
                    Search::Done => {}
                    Search::OnPath => {
                        let from = path.iter().position(|(i, _)| *i == next).unwrap_or(0);
                        return Err(PolicyError::CnameLoop {
                            domains: path[from..]
                                .iter()
                                .map(|(i, _)| policies[*i].domain().clone())
                                .collect(),
                        });
                    }
                    Search::New => {
                        state[next] = Search::OnPath;
                        path.push((next, targeted_cnames(policies[next])));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Where the whole-set search stands with a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Search {
    /// Not reached yet.
    New,
    /// On the current path: reaching it again closes a loop.
    OnPath,
    /// Left without finding a loop through it.
    Done,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BuiltinProvider, DefaultRule, Provider, ProviderKind, Target, Weight};

    fn domain(name: &str) -> DomainName {
        DomainName::new(name).unwrap()
    }

    #[test]
    fn only_targeted_providers_are_edges() {
        let builtin = BuiltinProvider::new(domain("edge.example"));
        let mut policy = Policy::new(domain("a.example"), &builtin);
        for (name, cname) in [("p", "b.example"), ("q", "c.example")] {
            policy.providers.push(Provider::new(
                name.parse().unwrap(),
                ProviderKind::Cdn,
                domain(cname),
            ));
        }
        assert_eq!(targeted_cnames(&policy).count(), 0);
        policy.default_rule = DefaultRule::new(vec![
            Target::new("q".parse().unwrap(), Weight::new(0).unwrap()),
            Target::new(builtin.name().clone(), Weight::MAX),
        ]);
        let edges: Vec<&DomainName> = targeted_cnames(&policy).collect();
        assert_eq!(edges, [&domain("c.example")]);
    }

    #[test]
    fn an_empty_set_has_no_loop() {
        let set = PolicySet::new(BuiltinProvider::new(domain("edge.example")));
        assert_eq!(set.check_cname_loops(), Ok(()));
    }
}
