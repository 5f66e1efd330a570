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
}

/// The CNAME graph of a whole set, for the check of
/// [`validate`](PolicySet::validate): filled in policy by policy while
/// validation has each one's providers and rules in cache (at 100,000
/// policies a second walk over them cost as much as the rest of
/// `validate`), then searched once.
pub(crate) struct CnameGraph<'a> {
    /// The steered domains in domain order.
    domains: Vec<&'a DomainName>,
    /// Each steered domain's position in `domains`: a hash probe per
    /// targeted CNAME rather than a search of the sorted leaves.
    index: HashMap<&'a str, usize>,
    /// The steered domains each policy leads to, policy after policy:
    /// policy `i`'s are `edges[ends[i - 1]..ends[i]]`.
    edges: Vec<usize>,
    ends: Vec<usize>,
}

impl<'a> CnameGraph<'a> {
    /// A graph of `set`'s domains with no edges yet.
    pub(crate) fn new(set: &'a PolicySet) -> Self {
        let domains: Vec<&DomainName> = set.policies.keys().collect();
        let index = domains
            .iter()
            .enumerate()
            .map(|(i, d)| (d.as_str(), i))
            .collect();
        Self {
            domains,
            index,
            edges: Vec::new(),
            ends: Vec::with_capacity(set.len()),
        }
    }

    /// Records the edges of the next policy in domain order.
    pub(crate) fn add(&mut self, policy: &Policy) {
        for cname in targeted_cnames(policy) {
            if let Some(&next) = self.index.get(cname.as_str()) {
                self.edges.push(next);
            }
        }
        self.ends.push(self.edges.len());
    }

    /// The steered domains policy `i` leads to.
    fn successors(&self, i: usize) -> &[usize] {
        let start = i
            .checked_sub(1)
            .and_then(|j| self.ends.get(j))
            .copied()
            .unwrap_or(0);
        let end = self.ends.get(i).copied().unwrap_or(start);
        self.edges.get(start..end).unwrap_or(&[])
    }

    /// Refuses a loop anywhere, once every policy has been added: one
    /// depth-first pass, without recursion (a chain may be as long as the
    /// set). The loop reported is the first found, searching from each
    /// policy in domain order.
    pub(crate) fn check(&self) -> Result<(), PolicyError> {
        let mut state = vec![Search::New; self.domains.len()];
        // The path from the current root: each domain with the position of
        // its next edge to follow; reused from root to root.
        let mut path: Vec<(usize, usize)> = Vec::new();
        for root in 0..self.domains.len() {
            if state[root] != Search::New {
                continue;
            }
            state[root] = Search::OnPath;
            path.push((root, 0));
            while let Some((at, edge)) = path.last_mut() {
                let at = *at;
                let Some(&next) = self.successors(at).get(*edge) else {
                    state[at] = Search::Done;
                    path.pop();
                    continue;
                };
                *edge += 1;
                match state[next] {
                    Search::Done => {}
                    Search::OnPath => {
                        let from = path.iter().position(|(i, _)| *i == next).unwrap_or(0);
                        return Err(PolicyError::CnameLoop {
                            domains: path[from..]
                                .iter()
                                .map(|(i, _)| self.domains[*i].clone())
                                .collect(),
                        });
                    }
                    Search::New => {
                        state[next] = Search::OnPath;
                        path.push((next, 0));
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
        assert_eq!(CnameGraph::new(&set).check(), Ok(()));
    }
}
