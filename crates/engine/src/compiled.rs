//! One policy compiled for selection: its live rules in slot order, a
//! weighted-pick table per rule whose entries carry the provider's answer,
//! and its structure (the lines of its live rules), which decides the group
//! it shares a location index with.

use std::sync::Arc;

use steerage_geo::Line;
use steerage_policy::{BuiltinProvider, Policy, SelectionMode, Target};

use crate::EngineError;
use crate::pick::{WeightedPick, fnv1a, mix, sticky_target_key};

/// The lines of a policy's live rules, in rule order: what decides which
/// rule a location gets. Policies with equal structures share one group.
pub(crate) type Structure = Arc<[Box<[Line]>]>;

/// A structure being built, before it is shared.
pub(crate) type LineLists = Vec<Box<[Line]>>;

/// What a pick yields: the provider's name and CNAME, shared by every rule
/// of the policy that targets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProviderAnswer {
    pub(crate) name: Arc<str>,
    pub(crate) cname: Arc<str>,
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
    /// The policy as configured (for change detection and `explain`).
    pub(crate) source: Policy,
    /// Live rules in rule order, then the default rule (always last).
    pub(crate) slots: Arc<[Slot]>,
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
        if policy.rules().len() >= usize::from(u16::MAX) {
            return Err(too_large("rules".into(), policy.rules().len()));
        }
        let answer = |name: &str, cname: &str| ProviderAnswer {
            name: name.into(),
            cname: cname.into(),
        };
        let builtin_answer = answer(builtin.name().as_str(), builtin.cname().as_str());
        // One shared answer per enabled provider; disabled ones get nothing.
        let providers: Vec<Option<ProviderAnswer>> = policy
            .providers()
            .iter()
            .map(|p| {
                p.is_enabled()
                    .then(|| answer(p.name().as_str(), p.cname().as_str()))
            })
            .collect();
        let pick = |rule: &str, targets: &[Target]| -> Result<_, EngineError> {
            if targets.len() >= usize::from(u16::MAX) {
                return Err(too_large(format!("targets in rule {rule}"), targets.len()));
            }
            let live = targets.iter().filter_map(|t| {
                let answer = if t.provider() == builtin.name() {
                    builtin_answer.clone()
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
                    format!("lines in rule {}", rule.name()),
                    rule.lines().len(),
                ));
            }
            if let Some(p) = pick(rule.name().as_str(), rule.targets())? {
                slots.push(Slot {
                    rule: Some(rule.name().as_str().into()),
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
            slots: slots.into(),
            sticky_key: mix(policy.seed(), fnv1a(policy.domain().as_str().as_bytes())),
        };
        Ok((compiled, structure))
    }

    /// Whether picks hash the client (sticky mode).
    pub(crate) fn is_sticky(&self) -> bool {
        self.source.mode() == SelectionMode::Sticky
    }

    /// Heap bytes this compiled policy adds (its own tables, not the
    /// configured `Policy` it keeps). Provider answers shared by several
    /// rules are counted once per rule.
    pub(crate) fn own_heap_bytes(&self) -> usize {
        let answers: usize = self
            .source
            .providers()
            .iter()
            .map(|p| 32 + p.name().as_str().len() + p.cname().as_str().len())
            .sum();
        self.slots.len() * size_of::<Slot>()
            + answers
            + self
                .slots
                .iter()
                .map(|s| {
                    s.rule.as_ref().map_or(0, |r| 16 + r.len())
                        + s.pick.as_ref().map_or(0, WeightedPick::heap_bytes)
                })
                .sum::<usize>()
    }
}
