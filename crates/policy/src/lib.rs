//! The steering policy model of steerage: providers, rules, lines and
//! weights, validated, changed through console operations with precise
//! errors, and saved and loaded as TOML or JSON.
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

mod config;
mod custom_line;
mod domain;
mod error;
mod line_code;
mod name;
mod operations;
mod policy;
mod provider;
mod rule;
mod set;
mod ttl;
mod validate;
mod weight;

pub use config::{ConfigError, Format};
pub use custom_line::CustomLine;
pub use domain::DomainName;
pub use error::{DomainNameFault, NameFault, PolicyError, RuleRef};
pub use name::{ProviderName, RuleName};
pub use policy::{Policy, PolicyState, SelectionMode};
pub use provider::{BuiltinProvider, Provider, ProviderKind, UnknownProviderKind};
pub use rule::{DefaultRule, Rule, Target};
pub use set::PolicySet;
pub use ttl::Ttl;
pub use weight::Weight;

pub use ipnet;
pub use steerage_geo::{CustomLineName, Line};
