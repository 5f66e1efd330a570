//! Compiles a validated steerage policy set and a location table into an
//! immutable [`Snapshot`] that answers `select(domain, client_ip)` in tens of
//! nanoseconds, without allocating or locking.
//!
//! A [`Snapshot`] holds, per steered domain, the policy's live rules in slot
//! order with a precompiled weighted-pick table each ([`WeightedPick`]), and
//! per *group* of policies whose live rules use the same lines, one index
//! from location to rule and (within a memory budget) a rule-merged range
//! map: every address mapped to the rule the group picks, adjacent equal
//! rules merged. A `select` is then one domain lookup, one range lookup that
//! gives the rule and the exact range over which it holds, and a weighted
//! pick. The range gives the ECS scope: the widest prefix around the client
//! over which the answer cannot change. The range lookup in the group most
//! policies share is made before the domain lookup, so that its cache
//! misses overlap the domain lookup's instead of following them.
//!
//! Semantics (fixed by the design brief):
//!
//! - an unknown domain gives `None`; domains compare case-insensitively, one
//!   trailing dot ignored;
//! - a disabled policy answers with the built-in provider, rule
//!   [`DISABLED_RULE`], no line, scope 0; a policy failed closed by health
//!   ([`Policy::is_failed_closed`](steerage_policy::Policy::is_failed_closed))
//!   answers no data ([`Decision::is_nodata`]), rule [`NODATA_RULE`];
//! - otherwise the most specific matching line wins (custom CIDR >
//!   province+ISP > province/state > country+ISP > country > continent >
//!   default) among enabled rules that have an enabled target of weight > 0;
//!   overlapping custom lines of one level go to the earlier rule;
//! - then a weighted pick among that rule's enabled targets of weight > 0:
//!   `random` (this thread's wyrand generator, unbiased bounded integers) or
//!   `sticky` (weighted rendezvous hashing of the client's `/24` or `/56`, the
//!   domain and the policy's seed: deterministic, proportional, and monotone
//!   when one weight is raised);
//! - when even the default rule has no live target, the built-in provider
//!   answers (rule `default`, no line).
//!
//! These rules are written once more, to be read rather than to be fast, in
//! the crate's reference selector (`src/reference.rs`): a proptest holds
//! `select`, `select_subnet`, their ECS scopes and `explain` to it on random
//! policy sets and location tables, and `explain` walks the rules with it.
//!
//! A [`Compiler`] compiles successive versions incrementally; `explain` tells
//! why a client gets its answer ([`Explanation`]).
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use steerage_engine::Snapshot;
//! use steerage_geo::{Line, LocationTable};
//! use steerage_policy::{BuiltinProvider, PolicySet, Provider, ProviderKind, Rule, Target, Weight};
//!
//! let mut set = PolicySet::new(BuiltinProvider::new("edge.example.net".parse()?));
//! let domain = "www.example.com";
//! set.create_policy(domain)?;
//! set.add_provider(domain, Provider::new("origin".parse()?, ProviderKind::Origin, "origin.example.com".parse()?))?;
//! set.add_provider(domain, Provider::new("cdn-a".parse()?, ProviderKind::Cdn, "www.cdn-a.example".parse()?))?;
//! set.add_rule(domain, Rule::new(
//!     "beijing".parse()?,
//!     vec![Line::parse("CN-BJ")?],
//!     vec![Target::new("origin".parse()?, Weight::new(100)?)],
//! ))?;
//! set.set_default_targets(domain, vec![Target::new("cdn-a".parse()?, Weight::new(100)?)])?;
//!
//! // The built-in sample data puts 192.0.2.0/24 in Beijing.
//! let snapshot = Snapshot::compile(&set, Arc::new(LocationTable::sample()), 1)?;
//! let d = snapshot.select("WWW.example.com.", "192.0.2.10".parse()?).ok_or("not steered")?;
//! assert_eq!((d.provider(), d.cname(), d.rule()), ("origin", "origin.example.com", "beijing"));
//! assert_eq!(d.scope_prefix(), 24); // both Beijing /25s answer alike
//! let d = snapshot.select(domain, "198.51.100.7".parse()?).ok_or("not steered")?;
//! assert_eq!((d.provider(), d.rule(), d.line()), ("cdn-a", "default", None));
//! assert!(snapshot.select("other.example.com", "192.0.2.10".parse()?).is_none());
//! println!("{}", snapshot.explain(domain, "192.0.2.10".parse()?).ok_or("not steered")?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Crate features
//!
//! None.
//!
//! # Untrusted input
//!
//! - Query names and client addresses come from the network. `select` never
//!   panics and never allocates: a name longer than 253 bytes or not ASCII
//!   simply is not steered; it is compared case-insensitively, without
//!   copying, against a hash map keyed only by configured domains (seeded
//!   per index, so configured names cannot be chosen to collide). Every address, reserved
//!   and IPv4-mapped ones included, has a location (maybe unknown).
//! - Policy sets come from configs; [`Snapshot::compile`] validates them,
//!   [`Compiler::compile`] relies on [`PolicySet`](steerage_policy::PolicySet)
//!   being valid by construction and never panics on what it holds.
//!   Compile time is linear in the set's size plus, per new group of
//!   policies, linear in the location table's ranges; merged maps are capped
//!   by [`Compiler::with_merge_budget`] ([`DEFAULT_MERGE_BUDGET`]).
//!
//! # What it does not do
//!
//! It does not read databases or configs (`steerage-geo`,
//! `steerage-policy`), does not publish snapshots to threads (the `steerage`
//! facade holds them behind `arc-swap`), and does not speak DNS
//! (`steerage-dns`). Sticky picks are reproducible on one platform; they use
//! `f64::ln`, whose last bit may differ between platforms' math libraries,
//! which can move a client only on an exact tie.
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

// The README's code compiles and runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod compiled;
mod compiler;
mod custom_layer;
mod decision;
mod domain_index;
mod error;
mod explain;
mod group;
mod pick;
mod reference;
mod snapshot;

pub use compiler::{Compiler, DEFAULT_MERGE_BUDGET};
pub use decision::Decision;
pub use error::{EngineError, PolicyPart};
pub use explain::{Answer, Explanation, HealthNote, RuleOutcome, RuleVerdict, WeightShare};
pub use pick::seed_thread_rng;
// Plumbing for the benches, the tests and `steerage simulate` (which
// reproduces the sticky hash over address ranges): not part of the API.
#[doc(hidden)]
pub use pick::{
    STICKY_PREFIX_V4, STICKY_PREFIX_V6, WeightedPick, sticky_client_key, sticky_policy_key,
    sticky_target_key, sticky_unit,
};
pub use snapshot::{DISABLED_RULE, NODATA_RULE, Snapshot, SnapshotStats};
