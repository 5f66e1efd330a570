//! Compiles a validated policy set and a locator into an immutable snapshot
//! that answers `select(domain, client_ip)`.
//!
//! (Front page to be completed by the engine work.)
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

mod decision;
mod error;
mod snapshot;

pub use decision::Decision;
pub use error::EngineError;
pub use snapshot::Snapshot;
