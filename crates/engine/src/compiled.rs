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

/// A string in a policy's arena, packed in 32 bits: the offset in the
/// high 24 bits, the length in the low 8 (names are at most 253 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span(u32);

/// The largest arena offset a span can hold.
const MAX_OFFSET: usize = (1 << 24) - 2;

impl Span {
    /// The built-in provider: its strings live in the snapshot.
    pub(crate) const BUILTIN: Self = Self(u32::MAX);

    pub(crate) fn is_builtin(self) -> bool {
        self == Self::BUILTIN
    }

    /// The string in `arena`; empty if out of range (cannot happen for
    /// spans made by the same arena).
    #[inline]
    pub(crate) fn get(self, arena: &str) -> &str {
        let start = (self.0 >> 8) as usize;
        let len = (self.0 & 0xff) as usize;
        arena.get(start..start + len).unwrap_or("")
    }
}

/// Collects a policy's strings into one allocation.
#[derive(Default)]
struct Arena {
    text: String,
}

impl Arena {
    /// The span of `s`, or `None` once the arena passes 16 MiB (which no
    /// validated policy reaches: it would need some 60,000 rules of
    /// 253-character names).
    fn push(&mut self, s: &str) -> Option<Span> {
        // Validated names are at most 253 bytes; a longer string (which no
        // valid set holds) is cut at a character boundary, never a panic.
        let mut len = s.len().min(usize::from(u8::MAX));
        while !s.is_char_boundary(len) {
            len -= 1;
        }
        let offset = self.text.len();
        if offset > MAX_OFFSET {
            return None;
        }
        self.text.push_str(&s[..len]);
        // Both parts bounded above.
        Some(Span(((offset as u32) << 8) | len as u32))
    }
}

/// What a pick yields: the provider's name and CNAME in the policy's arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProviderAnswer {
    pub(crate) name: Span,
    pub(crate) cname: Span,
}

/// A rule as selection sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Slot {
    /// The rule's name; `None` for the default rule.
    pub(crate) rule: Option<Span>,
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
    /// Every rule and provider name and CNAME the slots refer to.
    pub(crate) strings: Arc<str>,
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
        let too_large = |what: String, count: usize| EngineError::TooLarge {
            policy: policy.domain().to_string(),
            what,
            count,
        };
        if policy.rules().len() >= usize::from(u16::MAX) {
            return Err(too_large("rules".into(), policy.rules().len()));
        }
        let mut arena = Arena::default();
        let arena_full = || too_large("bytes of names".into(), MAX_OFFSET);
        let builtin_answer = ProviderAnswer {
            name: Span::BUILTIN,
            cname: Span::BUILTIN,
        };
        // One answer per enabled provider; disabled ones get nothing.
        let mut providers: Vec<Option<ProviderAnswer>> =
            Vec::with_capacity(policy.providers().len());
        for p in policy.providers() {
            providers.push(if p.is_enabled() {
                Some(ProviderAnswer {
                    name: arena.push(p.name().as_str()).ok_or_else(arena_full)?,
                    cname: arena.push(p.cname().as_str()).ok_or_else(arena_full)?,
                })
            } else {
                None
            });
        }
        let pick = |rule: &str, targets: &[Target]| -> Result<_, EngineError> {
            if targets.len() >= usize::from(u16::MAX) {
                return Err(too_large(format!("targets in rule {rule}"), targets.len()));
            }
            let live = targets.iter().filter_map(|t| {
                let answer = if t.provider() == builtin.name() {
                    builtin_answer
                } else {
                    // Validation refuses unknown providers; a target that
                    // still names none gets nothing rather than a panic.
                    let i = policy
                        .providers()
                        .iter()
                        .position(|p| p.name() == t.provider())?;
                    providers[i]?
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
                    rule: Some(arena.push(rule.name().as_str()).ok_or_else(arena_full)?),
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
            strings: arena.text.into(),
            sticky_key: mix(policy.seed(), fnv1a(policy.domain().as_str().as_bytes())),
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
            strings: Arc::clone(&self.strings),
            sticky_key: self.sticky_key,
        }
    }

    /// Heap bytes this compiled policy adds (its own tables, not the
    /// configured `Policy` it shares with the set).
    pub(crate) fn own_heap_bytes(&self) -> usize {
        16 + self.slots.len() * size_of::<Slot>()
            + 16
            + self.strings.len()
            + self
                .slots
                .iter()
                .map(|s| s.pick.as_ref().map_or(0, WeightedPick::heap_bytes))
                .sum::<usize>()
    }
}
