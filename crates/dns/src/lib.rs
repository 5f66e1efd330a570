//! DNS adapter for steerage (work in progress).
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]
#![allow(dead_code)] // temporary while the handler is wired

mod answer;
mod ecs;
mod error;
mod handler;
mod respond;
mod server;
mod udp;
#[cfg(target_os = "linux")]
mod udp_batch;
mod zones;

pub use error::DnsError;
pub use handler::SteeringHandler;
pub use server::{DnsServer, ServerOptions, ShutdownHandle};
pub use zones::ZoneSettings;
