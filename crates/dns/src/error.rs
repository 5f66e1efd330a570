//! The crate's error type.

use std::net::SocketAddr;

/// What went wrong setting up or running the DNS adapter.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DnsError {
    /// A name in the zone settings is not a valid DNS name.
    #[error("invalid {role} name {name:?}")]
    InvalidName {
        /// Which setting held it (`zone`, `nameserver`, `hostmaster`).
        role: &'static str,
        /// The name as given.
        name: String,
        /// Why hickory rejected it.
        #[source]
        source: hickory_proto::ProtoError,
    },
    /// The root zone was configured; the adapter never serves the root.
    #[error("the root zone cannot be served")]
    RootZone,
    /// A nameserver address was given for a name outside every configured zone
    /// (glue is only served for names inside a zone).
    #[error("nameserver {name} has addresses but is not inside any configured zone")]
    GlueOutsideZones {
        /// The nameserver's name.
        name: String,
    },
    /// Binding a listening socket failed.
    #[error("cannot listen on {addr} ({protocol})")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// `udp` or `tcp`.
        protocol: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The hickory server stopped with an error.
    #[error("DNS server failed")]
    Server(#[source] hickory_server::net::NetError),
}
