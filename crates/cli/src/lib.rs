//! The `steerage` command: check a steering configuration before it ships,
//! look up where addresses are, explain a decision, and simulate or diff the
//! share of clients each provider gets, exactly.
//!
//! The binary is a thin dispatcher over this library: one module per
//! subcommand ([`check`], [`lookup`], [`explain`], [`simulate`], [`diff`]),
//! each with its clap arguments and a `run` function, and small shared
//! modules: [`data`] loads the configuration and the IP data
//! (`--config`, `--geo`, `--asn`), [`output`] writes `--format text|json`,
//! [`error`] maps outcomes to exit statuses (0 success, 1 a finding, 2 bad
//! usage or unusable input). [`serve`] is the production DNS server, with
//! its reloads, metrics and [`logging`].
//!
//! # Example
//!
//! The share of clients each provider gets, exactly, over IPv4 (what
//! `steerage simulate CONFIG --family ipv4` prints):
//!
//! ```
//! use steerage::policy::PolicySet;
//! use steerage_cli::data::{self, DataArgs};
//! use steerage_cli::simulate::{Families, Population, simulate};
//!
//! let set = PolicySet::from_toml_str(r#"
//!     [builtin]
//!     cname = "edge.example.org"
//!
//!     [[policy]]
//!     domain = "www.example.com"
//!
//!     [[policy.provider]]
//!     name = "cdn-a"
//!     kind = "cdn"
//!     cname = "cdn-a.example.net"
//!
//!     [[policy.rule]]
//!     name = "china"
//!     lines = ["CN"]
//!     targets = [{ provider = "cdn-a", weight = 70 }, { provider = "builtin", weight = 30 }]
//! "#)?;
//! // No `--geo`: the built-in sample data.
//! let ip_data = DataArgs::default().load()?;
//! let snapshot = data::compile(&set, &ip_data, "steering.toml".as_ref())?;
//! let domains = simulate(&set, &snapshot, &Population::Space(Families::Ipv4), &[]);
//! let ipv4 = &domains[0].populations[0];
//! let china = ipv4.rows.iter().find(|r| r.rule == "china").ok_or("no china row")?;
//! // The sample data has 1,536 addresses in China mainland; 70 % go to cdn-a.
//! assert_eq!(china.clients, 1536.0);
//! let cdn_a = china.providers.iter().find(|p| p.provider == "cdn-a").ok_or("no cdn-a")?;
//! assert!((cdn_a.clients - 1536.0 * 0.7).abs() < 1e-9);
//! assert_eq!(ipv4.clients, 4_294_967_296.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Crate features
//!
//! None.
//!
//! # Untrusted input
//!
//! Configurations, IP data files and client lists are read whole into
//! memory (the caller picks the files; their size bounds the memory) and
//! parsed by the library crates, whose errors name the file and the line and
//! column, or the policy, rule and provider; a client list's errors name the
//! line. Nothing they contain makes the command panic; a closed standard
//! output ends the output quietly.
//!
//! What a simulation costs is linear in the compiled table's ranges per
//! domain, plus, for every rule that picks sticky among several providers,
//! one engine pick per `/24` of IPv4 the rule holds (every `/24` of China
//! mainland in DB-IP is about a million) and about
//! [`shares::V6_SAMPLES`] picks per sticky rule over IPv6 (at least
//! [`shares::V6_MIN_SAMPLES`] per range); `diff` pays it for both
//! configurations. Domains run on every core.
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

pub mod check;
pub mod data;
pub mod diff;
pub mod error;
pub mod explain;
pub mod health;
pub mod logging;
pub mod lookup;
pub mod output;
pub mod serve;
pub mod shares;
pub mod simulate;
mod sticky;

pub use error::{CliError, Outcome};
