//! Multi-CDN DNS traffic steering in-process: build a [`Steering`] from a
//! configuration and a location table, then ask it, per client, which
//! provider (your origin or one of several CDN vendors) serves a domain.
//!
//! [`Steering`] holds the current compiled snapshot behind an atomic pointer:
//! [`select`](Steering::select) never blocks, and a change made with
//! [`apply`](Steering::apply) (the console operations of
//! [`policy::PolicySet`]) is validated, compiled and published atomically, or
//! refused with nothing changed. Configurations load from and save to TOML or
//! JSON files ([the configuration guide](policy::docs::config));
//! [`reload`](Steering::reload) picks up an
//! edited file and keeps the old configuration serving when the new one is
//! invalid. This crate re-exports the crates it is built from: [`geo`] (lines
//! and IP lookup), [`policy`] (the model and its operations) and [`engine`]
//! (the compiled snapshot).
//!
//! # Example
//!
//! On the built-in sample location data: Beijing clients to the origin, the
//! rest of China mainland 70 % to vendor A and 30 % to the built-in
//! provider, everyone else to vendor B.
//!
//! ```
//! use steerage::Steering;
//! use steerage::geo::{Line, LocationTable};
//! use steerage::policy::{
//!     BuiltinProvider, PolicyError, PolicySet, Provider, ProviderKind, Rule, Target, Weight,
//! };
//!
//! fn provider(name: &str, kind: ProviderKind, cname: &str) -> Result<Provider, PolicyError> {
//!     Ok(Provider::new(name.parse()?, kind, cname.parse()?))
//! }
//! fn targets(split: &[(&str, u16)]) -> Result<Vec<Target>, PolicyError> {
//!     split.iter().map(|&(p, w)| Ok(Target::new(p.parse()?, Weight::new(w)?))).collect()
//! }
//! fn rule(name: &str, line: &str, split: &[(&str, u16)]) -> Result<Rule, PolicyError> {
//!     Ok(Rule::new(name.parse()?, vec![Line::parse(line)?], targets(split)?))
//! }
//!
//! let domain = "www.example.com";
//! let builtin = BuiltinProvider::new("edge.steerage.example".parse()?);
//! let steering = Steering::builder()
//!     .config(PolicySet::new(builtin))
//!     .locations(LocationTable::sample())
//!     .build()?;
//!
//! // Console operations run on a copy; the result is published at once.
//! let version = steering.apply(|set| {
//!     set.create_policy(domain)?;
//!     set.add_provider(domain, provider("origin", ProviderKind::Origin, "origin.example.com")?)?;
//!     set.add_provider(domain, provider("vendor-a", ProviderKind::Cdn, "www.a-cdn.example")?)?;
//!     set.add_provider(domain, provider("vendor-b", ProviderKind::Cdn, "www.b-cdn.example")?)?;
//!     set.add_rule(domain, rule("beijing", "CN-BJ", &[("origin", 1)])?)?;
//!     set.add_rule(domain, rule("china", "CN", &[("vendor-a", 70), ("builtin", 30)])?)?;
//!     set.set_default_targets(domain, targets(&[("vendor-b", 1)])?)
//! })?;
//!
//! // 192.0.2.10 is in Beijing in the sample data; 198.18.5.7 is in Germany.
//! let beijing = steering.select(domain, "192.0.2.10".parse()?).ok_or("not steered")?;
//! assert_eq!((beijing.provider(), beijing.cname(), beijing.rule()), ("origin", "origin.example.com", "beijing"));
//! assert_eq!(beijing.version(), version);
//! let germany = steering.select("WWW.EXAMPLE.COM.", "198.18.5.7".parse()?).ok_or("not steered")?;
//! assert_eq!((germany.provider(), germany.rule(), germany.ttl()), ("vendor-b", "default", 600));
//!
//! // A refused change publishes nothing.
//! assert!(steering.apply(|set| set.delete_provider(domain, "vendor-a").map(drop)).is_err());
//! assert_eq!(steering.version(), version);
//!
//! // Disabling the policy sends everyone to the built-in provider.
//! steering.apply(|set| set.disable_policy(domain))?;
//! let s = steering.select(domain, "192.0.2.10".parse()?).ok_or("not steered")?;
//! assert_eq!(s.cname(), "edge.steerage.example");
//!
//! // Config as code.
//! let toml = steering.config().to_toml_string()?;
//! assert!(toml.contains("enabled = false"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! For the hot path, [`Steering::snapshot`] gives the current snapshot for
//! one query; its [`Decision`]s borrow from it and copy nothing. A program
//! that serves the steered names (a DNS handler's zones) follows the set of
//! names with a [`NameObserver`] ([`Steering::observe_names`]): told of each
//! change that adds or removes names before it is published, in proportion
//! to those names, and able to refuse it.
//!
//! # Crate features
//!
//! None. TOML and JSON configs, the sample data and every line kind are
//! always built.
//!
//! # Untrusted input
//!
//! - **Client addresses and domains** (from queries): `select` takes any
//!   address and any string; unknown domains give `None`, unknown, private
//!   and reserved addresses fall to the default rule. Nothing panics, the
//!   cost per call is bounded (one hash lookup, one binary search, one
//!   weighted pick, and for a [`Selection`] a copy of the names, see there),
//!   and the borrowed path (`snapshot().select`) allocates nothing.
//! - **Config files and console requests**: parsed and validated by
//!   [`policy`], with errors naming the file, the line and column, or the
//!   policy, rule and provider at fault; nothing in them can panic. The
//!   caller bounds their size: loading and compiling cost time linear in it,
//!   and the compiled form of a policy whose rules use lines no other policy
//!   uses costs a range map of its own (bounded in total by
//!   [`SteeringBuilder::merge_budget`]).
//! - **A change that fails** (validation, compilation, a name observer's
//!   refusal, an error or panic in the `apply` closure) publishes nothing; the serving configuration and
//!   its version stay as they were.
//! - **Saving** never leaves a partial file at the target path (temporary
//!   file in the same directory, `fsync`, rename, directory `fsync`).
//!
//! # What it does not do
//!
//! It does not answer DNS (that is `steerage-dns`, on hickory-server), ship
//! an IP database (bring GeoIP2 or DB-IP files, see [`geo::MmdbLocator`]),
//! watch the config file (call [`Steering::reload`] from your own signal or
//! file-watch handler), or keep a history of versions to roll back to (save
//! configurations yourself). A change that changes nothing (an `apply` or a
//! `reload` whose result equals the serving configuration) publishes no new
//! version.
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

// The README's code compiles and runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod config_file;
mod error;
mod health;
mod observer;
pub mod prelude;
mod selection;
mod steering;

pub use error::SteeringError;
pub use health::{
    CheckResult, HealthOverride, HealthSource, KEPT_RESULTS, ProviderHealth, ProviderKey,
};
pub use observer::{NameChange, NameObserver, Refusal};
pub use selection::Selection;
pub use steering::{SnapshotGuard, Steering, SteeringBuilder};

pub use arc_swap;
pub use ipnet;
pub use steerage_engine as engine;
pub use steerage_engine::{Decision, Explanation, HealthNote, Snapshot};
pub use steerage_geo as geo;
pub use steerage_policy as policy;
