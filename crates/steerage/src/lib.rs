//! Multi-CDN DNS traffic steering: decide, per client, which provider serves
//! a domain.
//!
//! (Front page to be completed by the engine work.)
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

mod config_file;
mod error;
mod selection;
mod steering;

pub use error::SteeringError;
pub use selection::Selection;
pub use steering::{SnapshotGuard, Steering, SteeringBuilder};

pub use arc_swap;
pub use ipnet;
pub use steerage_engine as engine;
pub use steerage_engine::{Decision, Snapshot};
pub use steerage_geo as geo;
pub use steerage_policy as policy;
