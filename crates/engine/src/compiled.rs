//! One policy compiled for selection: its live rules in slot order, a
//! weighted-pick table per rule, and its structure (the lines of its live
//! rules), which decides the group it shares a location index with.

use std::sync::Arc;

use steerage_geo::Line;
use steerage_policy::{BuiltinProvider, Policy, SelectionMode, Target};

use crate::EngineError;
use crate::pick::{WeightedPick, fnv1a, mix, sticky_target_key};

/// The provider index of the built-in provider in a compiled policy
/// (others are `1 + position in Policy::providers()`).
pub(crate) const BUILTIN: u16 = 0;

/// The lines of a policy's live rules, in rule order: what decides which
/// rule a location gets. Policies with equal structures share one group.
pub(crate) type Structure = Arc<[Box<[Line]>]>;

/// A structure being built, before it is shared.
pub(crate) type LineLists = Vec<Box<[Line]>>;

/// A rule as selection sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Slot {
    /// Position in `Policy::rules()`; `None` for the default rule.
    pub(crate) rule: Option<u16>,
    /// The live targets (provider indices); `None` only for a default rule
    /// with no live target, where the built-in provider answers.
    pub(crate) pick: Option<WeightedPick>,
}

/// A policy compiled for selection.
#[derive(Debug)]
pub(crate) struct CompiledPolicy {
    /// The policy as configured (for change detection and `explain`).
    pub(crate) source: Policy,
    /// Live rules in rule order, then the default rule (always last).
    pub(crate) slots: Box<[Slot]>,
    /// Mixed from the seed and the domain.
    pub(crate) sticky_key: u64,
}

impl CompiledPolicy {
    /// Compiles a policy; also returns its structure (the lines of its live
    /// rules, one entry per slot but the last).
    pub(crate) fn compile(
        policy: &Policy,
        builtin: &BuiltinProvider,
    ) -> Result<(Self, LineLists), EngineError> {
        let too_large = |what: String, count: usize| EngineError::TooLarge {
            policy: policy.domain().to_string(),
            what,
            count,
        };
        if policy.providers().len() >= usize::from(u16::MAX) {
            return Err(too_large("providers".into(), policy.providers().len()));
        }
        if policy.rules().len() >= usize::from(u16::MAX) {
            return Err(too_large("rules".into(), policy.rules().len()));
        }
        let pick = |rule: &str, targets: &[Target]| -> Result<Option<WeightedPick>, EngineError> {
            if targets.len() >= usize::from(u16::MAX) {
                return Err(too_large(format!("targets in rule {rule}"), targets.len()));
            }
            let mut live = Vec::with_capacity(targets.len());
            for t in targets {
                let name = t.provider().as_str();
                let (index, enabled) = if t.provider() == builtin.name() {
                    (BUILTIN, true)
                } else {
                    match policy
                        .providers()
                        .iter()
                        .position(|p| p.name() == t.provider())
                    {
                        // Bounded by the check above.
                        Some(i) => ((i + 1) as u16, policy.providers()[i].is_enabled()),
                        // Validation refuses unknown providers; a target that
                        // still names none gets nothing rather than a panic.
                        None => continue,
                    }
                };
                if enabled {
                    live.push((index, sticky_target_key(name), u32::from(t.weight().get())));
                }
            }
            Ok(WeightedPick::new(live))
        };
        let mut slots = Vec::new();
        let mut structure = Vec::new();
        for (i, rule) in policy.rules().iter().enumerate() {
            if !rule.is_enabled() || rule.lines().is_empty() {
                continue;
            }
            if let Some(p) = pick(rule.name().as_str(), rule.targets())? {
                slots.push(Slot {
                    // Bounded by the check above.
                    rule: Some(i as u16),
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
            source: policy.clone(),
            slots: slots.into_boxed_slice(),
            sticky_key: mix(policy.seed(), fnv1a(policy.domain().as_str().as_bytes())),
        };
        Ok((compiled, structure))
    }

    /// Whether picks hash the client (sticky mode).
    pub(crate) fn is_sticky(&self) -> bool {
        self.source.mode() == SelectionMode::Sticky
    }

    /// The name and CNAME of a provider index.
    pub(crate) fn provider<'a>(
        &'a self,
        index: u16,
        builtin: &'a BuiltinProvider,
    ) -> (&'a str, &'a str) {
        match index
            .checked_sub(1)
            .and_then(|i| self.source.providers().get(usize::from(i)))
        {
            Some(p) => (p.name().as_str(), p.cname().as_str()),
            None => (builtin.name().as_str(), builtin.cname().as_str()),
        }
    }

    /// Heap bytes this compiled policy adds (its own tables, not the
    /// configured `Policy` it keeps).
    pub(crate) fn own_heap_bytes(&self) -> usize {
        self.slots.len() * size_of::<Slot>()
            + self
                .slots
                .iter()
                .filter_map(|s| s.pick.as_ref())
                .map(WeightedPick::heap_bytes)
                .sum::<usize>()
    }
}
