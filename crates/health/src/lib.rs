//! Provider health for [steerage](https://docs.rs/steerage): active checks
//! (`http`, `https`, `tcp`) of the providers a configuration names, counted
//! with rise and fall, fed to a [`Steering`](steerage::Steering) as state,
//! where a down provider is treated exactly like a disabled one.
//!
//! A [`HealthChecker`] reads the checks from the `Steering`'s configuration
//! (`[policy.provider.check]`, see
//! [`HealthCheck`](steerage::policy::HealthCheck)), runs one probe per
//! distinct check on the caller's tokio runtime (providers of several
//! policies with the same check share it), and hands every result to
//! [`Steering::record_checks`](steerage::Steering::record_checks), which
//! publishes a new snapshot when a provider changes state, compiling only
//! the policies that use it. It follows configuration changes and lets
//! lapsed outside signals go
//! ([`Steering::set_health_override`](steerage::Steering::set_health_override)).
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use steerage::{Steering, geo::LocationTable, policy::Format};
//! use steerage_health::HealthChecker;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let steering = Arc::new(Steering::builder()
//!     .config_str(r#"
//! [builtin]
//! cname = "edge.example.net"
//!
//! [[policy]]
//! domain = "www.example.com"
//!
//! [[policy.provider]]
//! name = "vendor-a"
//! kind = "cdn"
//! cname = "www.a-cdn.example"
//!
//! [policy.provider.check]
//! kind = "tcp"
//! target = "127.0.0.1"
//! port = 9
//! interval_ms = 200
//! timeout_ms = 100
//! fall = 1
//!
//! [policy.default]
//! targets = [{ provider = "vendor-a", weight = 1 }]
//! "#, Format::Toml)
//!     .locations(LocationTable::sample())
//!     .build()?);
//!
//! let runtime = tokio::runtime::Runtime::new()?;
//! runtime.block_on(async {
//!     let checker = HealthChecker::start(Arc::clone(&steering))?;
//!     assert_eq!(checker.probes(), 1);
//!     // Nothing listens on port 9 here: the first check fails, and with
//!     // fall = 1 the provider is down; the built-in provider answers.
//!     for _ in 0..50 {
//!         if steering.provider_health("www.example.com", "vendor-a").is_some_and(|h| h.is_down()) {
//!             break;
//!         }
//!         tokio::time::sleep(std::time::Duration::from_millis(20)).await;
//!     }
//!     let answer = steering.select("www.example.com", "198.51.100.7".parse()?).ok_or("?")?;
//!     assert_eq!(answer.cname(), "edge.example.net");
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })?;
//! # Ok(())
//! # }
//! ```
//!
//! # Crate features
//!
//! None. TLS is rustls with the `ring` provider; certificates are verified
//! against Mozilla's roots (`webpki-roots`) unless a check names a CA file.
//!
//! # Untrusted input
//!
//! - **Checked servers** are untrusted: a check reads only the response
//!   head (hyper's HTTP/1 parser, its limits), never the body, and every
//!   check is bounded by its timeout; a server that hangs, resets, answers
//!   garbage or presents a wrong certificate fails the check, nothing else.
//! - **Configurations** are validated by `steerage-policy`; a CA file that
//!   cannot be read stops [`HealthChecker::reload`] with an error naming it
//!   and changes nothing.
//! - **Cost**: one task and one connection per probe per interval; the
//!   intervals (at least 100 ms) bound the rate.
//!
//! # What it does not do
//!
//! It does not resolve targets through the steered names themselves (a
//! name target is resolved with the system resolver), keep history beyond
//! the last few results (see [`steerage::KEPT_RESULTS`]), check the
//! built-in provider (never down), or serve an HTTP endpoint (the
//! `steerage serve` command does).
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

// The README's code compiles and runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod checker;
mod debounce;
mod error;
mod plan;
mod probe;
mod tls;

pub use checker::{CheckEvent, CheckObserver, CheckerStats, HealthChecker, HealthCheckerBuilder};
pub use error::HealthError;

pub use steerage;
