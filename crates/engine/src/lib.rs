//! Compiles a validated policy set and a locator into an immutable snapshot
//! that answers `select(domain, client_ip)`.
//!
//! (Front page to be completed by the engine work.)
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

mod compiled;
mod compiler;
mod custom_layer;
mod decision;
mod domain_index;
mod error;
mod group;
mod pick;
mod scope;
mod snapshot;

pub use compiler::{Compiler, DEFAULT_MERGE_BUDGET};
pub use decision::Decision;
pub use error::EngineError;
pub use pick::{
    STICKY_PREFIX_V4, STICKY_PREFIX_V6, WeightedPick, seed_thread_rng, sticky_client_key,
    sticky_target_key,
};
pub use snapshot::{DISABLED_RULE, Snapshot, SnapshotStats};
