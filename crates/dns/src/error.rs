//! The crate's error type.

use std::error::Error;
use std::fmt;
use std::net::SocketAddr;

/// What went wrong setting up or running the DNS adapter.
///
/// The message (`Display`) is complete on its own: a variant that wraps a
/// cause (hickory's, the operating system's, the failed reload's, with its
/// file, line and column) prints it after its own words, and
/// [`source`](Error::source) then gives the cause's own source, so printing
/// the chain of sources repeats nothing.
#[derive(Debug)]
#[non_exhaustive]
pub enum DnsError {
    /// A name in the zone settings is not a valid DNS name.
    InvalidName {
        /// Which setting held it (`zone`, `nameserver`, `hostmaster`).
        role: &'static str,
        /// The name as given.
        name: String,
        /// Why hickory rejected it.
        source: hickory_proto::ProtoError,
    },
    /// The root zone was configured; the adapter never serves the root.
    RootZone,
    /// A nameserver address was given for a name outside every configured zone
    /// (glue is only served for names inside a zone).
    GlueOutsideZones {
        /// The nameserver's name.
        name: String,
    },
    /// A steered name is the apex of a zone the handler serves: a CNAME
    /// cannot sit beside the zone's SOA and NS (RFC 1034 section 3.6.2).
    /// Refused when the handler is made, and for a change to the steering
    /// (inside `SteeringError::Refused`, with nothing published), unless
    /// the zone settings opt in to
    /// [`SteeredApex::ServeZone`](crate::SteeredApex::ServeZone).
    SteeredApex {
        /// The steered name.
        name: String,
        /// The zone's apex (the same name).
        zone: String,
        /// For a derived zone, a steered name under the apex that derives it.
        derived_from: Option<String>,
    },
    /// Binding a listening socket failed.
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// `udp` or `tcp`.
        protocol: &'static str,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The server stopped with an error (a socket failed for good).
    Server(hickory_server::net::NetError),
    /// Reloading the configuration file failed ([`reload`](crate::reload));
    /// the previous configuration keeps serving.
    Reload {
        /// The version still serving.
        serving: u64,
        /// Why the file was not loaded (it names the file); boxed, as it
        /// is large and rare.
        source: Box<steerage::SteeringError>,
    },
    /// A reload ended without a result: the runtime shut down while it ran.
    ReloadInterrupted {
        /// The version serving.
        serving: u64,
    },
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidName { role, name, source } => {
                write!(f, "invalid {role} name {name:?}: {source}")
            }
            Self::RootZone => f.write_str("the root zone cannot be served"),
            Self::GlueOutsideZones { name } => write!(
                f,
                "nameserver {name} has addresses but is not inside any configured zone"
            ),
            Self::SteeredApex {
                name,
                zone,
                derived_from,
            } => write!(
                f,
                "steered name `{name}` is the apex of the served zone `{zone}`{}: a CNAME cannot share its name with the zone's SOA and NS (RFC 1034 section 3.6.2); steer a name below the apex, or serve the zone anyway with SteeredApex::ServeZone",
                derived_note(derived_from)
            ),
            Self::Bind {
                addr,
                protocol,
                source,
            } => write!(f, "cannot listen on {addr} ({protocol}): {source}"),
            Self::Server(error) => write!(f, "DNS server failed: {error}"),
            Self::Reload { serving, source } => write!(
                f,
                "reloading the configuration failed; still serving version {serving}: {source}"
            ),
            Self::ReloadInterrupted { serving } => write!(
                f,
                "the configuration reload was interrupted; still serving version {serving}"
            ),
        }
    }
}

impl Error for DnsError {
    /// The source of the cause the message already carries.
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::InvalidName { source, .. } => source.source(),
            Self::Bind { source, .. } => source.source(),
            Self::Server(error) => error.source(),
            Self::Reload { source, .. } => source.source(),
            Self::RootZone
            | Self::GlueOutsideZones { .. }
            | Self::SteeredApex { .. }
            | Self::ReloadInterrupted { .. } => None,
        }
    }
}

fn derived_note(derived_from: &Option<String>) -> String {
    match derived_from {
        Some(child) => format!(" (derived from the steered name `{child}`)"),
        None => String::new(),
    }
}
