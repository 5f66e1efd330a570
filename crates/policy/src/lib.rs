//! The steering policy model of steerage: per steered domain, the providers,
//! the rules (lines and weighted targets) and the default rule, validated,
//! changed through console operations with precise errors, and saved and
//! loaded as TOML or JSON.
//!
//! A [`PolicySet`] holds one [`Policy`] per domain, the [`BuiltinProvider`]
//! they share and the [`CustomLine`]s (named CIDR lists) their rules may use.
//! Every change goes through an operation on the set (`create_policy`,
//! `add_provider`, `add_rule`, `set_default_targets`, `disable_policy`, ...);
//! an operation either succeeds with every invariant holding or returns a
//! [`PolicyError`] that names the policy, rule, provider or line, and leaves
//! the set exactly as it was. The [configuration guide](docs::config)
//! describes the config format field by field.
//!
//! # Example
//!
//! Beijing clients to the origin, the rest of China mainland 70 % to vendor A
//! and 30 % to the built-in provider, everyone else to vendor B.
//!
//! ```
//! use steerage_policy::{
//!     BuiltinProvider, DomainName, Line, PolicyError, PolicySet, Provider, ProviderKind, Rule,
//!     Target, Weight,
//! };
//!
//! let mut set = PolicySet::new(BuiltinProvider::new(DomainName::new("edge.steerage.example")?));
//! let domain = "www.example.com";
//! set.create_policy(domain)?;
//! for (name, kind, cname) in [
//!     ("origin", ProviderKind::Origin, "origin.example.com"),
//!     ("vendor-a", ProviderKind::Cdn, "www.example.com.vendor-a.example"),
//!     ("vendor-b", ProviderKind::Cdn, "www.example.com.vendor-b.example"),
//! ] {
//!     set.add_provider(domain, Provider::new(name.parse()?, kind, cname.parse()?))?;
//! }
//! let target = |provider: &str, weight| -> Result<Target, PolicyError> {
//!     Ok(Target::new(provider.parse()?, Weight::new(weight)?))
//! };
//! set.add_rule(
//!     domain,
//!     Rule::new("beijing".parse()?, vec![Line::parse("CN-BJ")?], vec![target("origin", 100)?]),
//! )?;
//! set.add_rule(
//!     domain,
//!     Rule::new(
//!         "china-mainland".parse()?,
//!         vec![Line::parse("CN")?],
//!         vec![target("vendor-a", 70)?, target("builtin", 30)?],
//!     ),
//! )?;
//! set.set_default_targets(domain, vec![target("vendor-b", 100)?])?;
//!
//! // A referenced provider cannot be deleted; the error names the rules.
//! let err = set.delete_provider(domain, "vendor-a").unwrap_err();
//! assert_eq!(
//!     err,
//!     PolicyError::ProviderInUse {
//!         policy: domain.into(),
//!         provider: "vendor-a".into(),
//!         rules: vec!["china-mainland".into()],
//!     }
//! );
//!
//! // Config as code: saving then loading gives the same set back.
//! let toml = set.to_toml_string()?;
//! assert_eq!(PolicySet::from_toml_str(&toml)?, set);
//! assert_eq!(set.policy("WWW.example.com.").map(|p| p.rules().len()), Some(2));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Crate features
//!
//! None. TOML and JSON support are always built.
//!
//! # Untrusted input
//!
//! Configs and console requests are untrusted. Nothing they contain can make
//! this crate panic: every value is parsed into a type that cannot hold an
//! invalid one ([`DomainName`], [`ProviderName`], [`RuleName`], [`Weight`],
//! [`Ttl`], [`Line`], [`CustomLine`]), and everything that ties values
//! together is checked by [`PolicySet::validate`]. Names echoed in errors are
//! cut to 256 characters. The caller bounds the size of the text it passes;
//! loading and validating cost time and memory linear in it (hash sets for
//! the uniqueness checks; a TOML config is parsed a policy at a time, so the
//! peak is a small multiple of the text in either format), and each operation clones and revalidates only the
//! policy it changes. The TOML and JSON parsers limit nesting depth
//! themselves.
//!
//! # What it does not do
//!
//! No IP lookup (that is `steerage-geo`), no selection of a provider for a
//! client (that is `steerage-engine`, which compiles a valid set), and no
//! file I/O: it reads and writes strings; the `steerage` facade saves files.
//! It allows CNAME chains between steered domains (`www.example.com` to a
//! provider whose CNAME is `cn.pool.example.com`, itself steered) but refuses
//! every change that would close a loop
//! ([`PolicyError::CnameLoop`]); it does not resolve the CNAMEs of domains it
//! does not steer.
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

// The README's code compiles and runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod docs;

mod cname_loop;
mod config;
mod custom_line;
mod domain;
mod error;
mod health;
mod health_view;
mod line_code;
mod name;
mod operations;
mod policy;
mod policy_map;
mod provider;
mod punycode;
mod rule;
mod set;
mod text;
mod toml_sections;
mod ttl;
mod validate;
mod weight;

pub use config::{ConfigError, Format};
pub use custom_line::CustomLine;
pub use domain::DomainName;
pub use error::{DomainNameFault, NameFault, PolicyError, RuleRef, ValueError};
pub use health::{CheckFault, CheckKind, CheckTarget, HealthCheck, OnAllDown};
pub use health_view::HealthOutcome;
pub use name::{ProviderName, RuleName};
pub use policy::{Policy, PolicyState, SelectionMode};
pub use provider::{BuiltinProvider, Provider, ProviderKind};
pub use rule::{DefaultRule, Rule, Target};
pub use set::{DomainChanges, PolicyChanges, PolicySet};
pub use ttl::Ttl;
pub use weight::Weight;

pub use ipnet;
pub use steerage_geo::{CustomLineName, Line};
