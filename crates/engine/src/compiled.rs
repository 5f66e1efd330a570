//! One policy compiled for selection: its live rules in slot order, a
//! weighted-pick table per rule whose entries carry the provider's answer,
//! and its structure (the lines of its live rules), which decides the group
//! it shares a location index with.

use std::sync::Arc;

use steerage_geo::Line;
use steerage_policy::{BuiltinProvider, Policy, SelectionMode, Target};

use crate::pick::{WeightedPick, sticky_policy_key, sticky_target_key};
use crate::{EngineError, PolicyPart};

/// The lines of a policy's live rules, in rule order: what decides which
/// rule a location gets. Policies with equal structures share one group.
pub(crate) type Structure = Arc<[Box<[Line]>]>;

/// A structure being built, before it is shared.
pub(crate) type LineLists = Vec<Box<[Line]>>;

/// The bytes an `Arc`'s heap block spends besides its value (the two
/// reference counts).
const ARC_HEADER: usize = 16;

/// What a pick yields: the provider's name and CNAME, or the built-in
/// provider (whose strings the snapshot holds, so a policy compiled once
/// stays right whatever built-in provider a later set names).
///
/// The strings are held as shared pointers in the pick table itself, so
/// that a decision copies two pointer-and-length pairs out of the entry it
/// picked: no further read, and no slicing of a shared buffer (which
/// checked both ends for character boundaries, reading the string's bytes:
/// one dependent load per string, three strings per decision).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProviderAnswer {
    /// The built-in provider.
    Builtin,
    /// A configured provider.
    Provider {
        /// Its name.
        name: Arc<str>,
        /// Its CNAME target.
        cname: Arc<str>,
    },
}

/// A rule as selection sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Slot {
    /// The rule's name; `None` for the default rule.
    pub(crate) rule: Option<Arc<str>>,
    /// The live targets; `None` only for a default rule with no live
    /// target, where the built-in provider answers.
    pub(crate) pick: Option<WeightedPick<ProviderAnswer>>,
}

/// A policy compiled for selection.
#[derive(Debug)]
pub(crate) struct CompiledPolicy {
    /// The policy as configured, shared with the set it came from (for
    /// change detection and `explain`).
    pub(crate) source: Arc<Policy>,
    /// Live rules in rule order, then the default rule (always last).
    pub(crate) slots: Arc<[Slot]>,
    /// Heap bytes of the rule and provider names the slots hold (each
    /// shared string counted once).
    pub(crate) string_bytes: usize,
    /// Mixed from the seed and the domain.
    pub(crate) sticky_key: u64,
}

impl CompiledPolicy {
    /// Compiles a policy; also returns its structure (the lines of its live
    /// rules, one entry per slot but the last).
    pub(crate) fn compile(
        shared: &Arc<Policy>,
        builtin: &BuiltinProvider,
    ) -> Result<(Self, LineLists), EngineError> {
        let policy: &Policy = shared;
        let too_large = |part: PolicyPart, count: usize| EngineError::TooLarge {
            policy: policy.domain().to_string(),
            part,
            count,
        };
        if policy.rules().len() >= usize::from(u16::MAX) {
            return Err(too_large(PolicyPart::Rules, policy.rules().len()));
        }
        // Each string is allocated once and shared by every pick entry that
        // names it; counted as it is made.
        let mut string_bytes = 0usize;
        let mut string = |s: &str| -> Arc<str> {
            string_bytes += ARC_HEADER + s.len();
            Arc::from(s)
        };
        // One answer per enabled provider; disabled ones get nothing.
        let mut providers: Vec<Option<ProviderAnswer>> =
            Vec::with_capacity(policy.providers().len());
        for p in policy.providers() {
            providers.push(p.is_enabled().then(|| ProviderAnswer::Provider {
                name: string(p.name().as_str()),
                cname: string(p.cname().as_str()),
            }));
        }
        let pick = |rule: &str, targets: &[Target]| -> Result<_, EngineError> {
            if targets.len() >= usize::from(u16::MAX) {
                return Err(too_large(
                    PolicyPart::Targets {
                        rule: rule.to_owned(),
                    },
                    targets.len(),
                ));
            }
            let live = targets.iter().filter_map(|t| {
                let answer = if t.provider() == builtin.name() {
                    ProviderAnswer::Builtin
                } else {
                    // Validation refuses unknown providers; a target that
                    // still names none gets nothing rather than a panic.
                    let i = policy
                        .providers()
                        .iter()
                        .position(|p| p.name() == t.provider())?;
                    providers[i].clone()?
                };
                let key = sticky_target_key(t.provider().as_str());
                Some((answer, key, u32::from(t.weight().get())))
            });
            Ok(WeightedPick::new(live))
        };
        let mut slots = Vec::new();
        let mut structure = Vec::new();
        for rule in policy.rules() {
            if !rule.is_enabled() || rule.lines().is_empty() {
                continue;
            }
            if rule.lines().len() >= usize::from(u16::MAX) {
                return Err(too_large(
                    PolicyPart::Lines {
                        rule: rule.name().to_string(),
                    },
                    rule.lines().len(),
                ));
            }
            if let Some(p) = pick(rule.name().as_str(), rule.targets())? {
                slots.push(Slot {
                    rule: Some(string(rule.name().as_str())),
                    pick: Some(p),
                });
                structure.push(rule.lines().to_vec().into_boxed_slice());
            }
        }
        slots.push(Slot {
            rule: None,
            pick: pick(
                policy.default_rule().name(),
                policy.default_rule().targets(),
            )?,
        });
        let compiled = Self {
            source: Arc::clone(shared),
            slots: slots.into(),
            string_bytes,
            sticky_key: sticky_policy_key(policy.seed(), policy.domain().as_str()),
        };
        Ok((compiled, structure))
    }

    /// Whether picks hash the client (sticky mode).
    pub(crate) fn is_sticky(&self) -> bool {
        self.source.mode() == SelectionMode::Sticky
    }

    /// The same compiled tables for an equal policy held in another `Arc`.
    pub(crate) fn with_source(&self, source: &Arc<Policy>) -> Self {
        Self {
            source: Arc::clone(source),
            slots: Arc::clone(&self.slots),
            string_bytes: self.string_bytes,
            sticky_key: self.sticky_key,
        }
    }

    /// Heap bytes this compiled policy adds (its own tables, not the
    /// configured `Policy` it shares with the set).
    pub(crate) fn own_heap_bytes(&self) -> usize {
        16 + self.slots.len() * size_of::<Slot>()
            + self.string_bytes
            + self
                .slots
                .iter()
                .map(|s| s.pick.as_ref().map_or(0, WeightedPick::heap_bytes))
                .sum::<usize>()
    }
}
