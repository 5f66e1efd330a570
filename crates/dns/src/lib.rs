//! Serves `steerage` steering decisions over DNS: a hickory-server request
//! handler ([`SteeringHandler`]) that answers each steered name with the CNAME
//! its [`Steering`](steerage::Steering) picks for the client, with EDNS Client
//! Subnet (RFC 7871), authoritatively for the zones around those names, and a
//! ready UDP + TCP server ([`DnsServer`]) around it.
//!
//! # Example
//!
//! ```
//! use std::net::UdpSocket;
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use steerage::{Steering, geo::LocationTable, policy::Format};
//! use steerage_dns::hickory_proto::op::{Edns, Message, Query};
//! use steerage_dns::hickory_proto::rr::rdata::opt::EdnsOption;
//! use steerage_dns::hickory_proto::rr::{Name, RData, RecordType};
//! use steerage_dns::{DnsServer, ServerOptions, SteeringHandler};
//!
//! // www.example.com: China -> cdn-a, everyone else -> the built-in provider.
//! let config = r#"
//!     [builtin]
//!     cname = "edge.example.org"
//!     [[policy]]
//!     domain = "www.example.com"
//!     [[policy.provider]]
//!     name = "cdn-a"
//!     kind = "cdn"
//!     cname = "cdn-a.example.net"
//!     [[policy.rule]]
//!     name = "china"
//!     lines = ["CN"]
//!     targets = [{ provider = "cdn-a", weight = 100 }]
//! "#;
//! let steering = Steering::builder()
//!     .config_str(config, Format::Toml)
//!     .locations(LocationTable::sample())
//!     .build()?;
//! let handler = SteeringHandler::new(Arc::new(steering))?;
//!
//! let runtime = tokio::runtime::Runtime::new()?;
//! let server = runtime.block_on(DnsServer::bind(
//!     "127.0.0.1:0".parse()?,
//!     handler,
//!     ServerOptions::default(),
//! ))?;
//! let addr = server.local_addr();
//! let stop = server.shutdown_handle();
//! runtime.spawn(server.run());
//!
//! // Ask for www.example.com from a Shanghai subnet of the sample data.
//! let mut query = Message::query();
//! query.add_query(Query::query(Name::from_ascii("www.example.com.")?, RecordType::A));
//! let mut edns = Edns::new();
//! edns.options_mut().insert(EdnsOption::Subnet("203.0.113.0/24".parse()?));
//! query.set_edns(edns);
//! let client = UdpSocket::bind("127.0.0.1:0")?;
//! client.set_read_timeout(Some(Duration::from_secs(5)))?;
//! client.send_to(&query.to_vec()?, addr)?;
//! let mut buf = [0; 512];
//! let len = client.recv(&mut buf)?;
//! let response = Message::from_vec(&buf[..len])?;
//! assert!(response.metadata.authoritative);
//! assert!(matches!(&response.answers[0].data,
//!     RData::CNAME(target) if target.0.to_ascii() == "cdn-a.example.net."));
//! stop.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! To serve from a hickory server of your own, register the handler there:
//! `hickory_server::Server::new(handler)`; [`SteeringHandler`] documents what
//! it answers for each kind of question. To count what it answers (metrics),
//! give it a [`QueryObserver`] ([`SteeringHandler::with_observer`]): it is
//! told the response code, the transport and, for a steered answer, the
//! rule and provider of every response. [`reload`] reloads the config file
//! on a blocking thread, so that answering never waits for a large file to
//! be parsed and compiled. `cargo run --example dns_server` runs a complete
//! server (config file, IP database, SIGHUP reload). The server logs through
//! `tracing` (limits reached, reloads); install a subscriber to see it.
//!
//! # Zones
//!
//! The handler is authoritative for the zones of its [`ZoneSettings`]:
//! explicit ones, or by default zones derived from the steered names (the
//! parent of each, nested parents merged), never at a public suffix (`com`,
//! `co.uk`, `github.io`: the Public Suffix List, private section included).
//! A steered name at a served zone's apex is refused, since a CNAME cannot
//! sit beside the apex's SOA and NS ([`DnsError::SteeredApex`];
//! [`SteeredApex::ServeZone`] opts out). The handler registers with its
//! [`Steering`](steerage::Steering) as a name observer, so the steering's
//! writer updates the zones for each change that adds or removes names, in
//! proportion to those names, before publishing it, and a change that
//! would steer an apex fails whole with nothing published. Queries never
//! build zone data: they read the published tables without a lock, and the
//! SOA serial (the steering's version) per answer.
//!
//! # Crate features
//!
//! None. On Linux, [`DnsServer`] batches UDP with `recvmmsg`/`sendmmsg`
//! (through `nix`); elsewhere it answers one datagram at a time.
//!
//! # Untrusted input
//!
//! Every datagram and TCP message is untrusted. Messages are parsed by
//! hickory-proto; the ECS option is checked again from the raw message
//! (RFC 7871: source prefix within the family, address exactly as long as the
//! prefix, no bits set beyond it, one option only). A message that does not
//! parse gets FORMERR when its header does, and is dropped otherwise; a
//! response (QR set) is never answered. Nothing a client sends can panic the
//! server or make it allocate more than a copy of the message: UDP datagrams
//! are read into 4,096-byte buffers (longer ones are cut and then rejected),
//! and UDP responses never exceed the client's EDNS payload size (512 bytes
//! without EDNS, 1,232 at most), with TC set when records had to be left out.
//! TCP connections are limited in number ([`ServerOptions::tcp_max_connections`],
//! by default half the process's file descriptor limit) and in idle time;
//! when the process runs out of descriptors anyway, accepting waits (up to a
//! second between attempts) instead of spinning.
//! The integration tests send 100,000 random and mutated datagrams, and
//! cargo-fuzz targets check the request path and the ECS option.
//!
//! # What it does not do
//!
//! It is authoritative only: no recursion (names outside its zones get
//! REFUSED), no DNSSEC signing, no zone transfers (AXFR/IXFR are refused), no
//! dynamic update or NOTIFY. It answers the CNAME and stops: it does not chase
//! the target, even into a zone it serves, and serves no A/AAAA records other
//! than nameserver glue. It has no response rate limiting; put it behind a
//! firewall or a DNS proxy where that matters.
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

// The README's code compiles and runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod answer;
mod derivation;
mod ecs;
mod error;
mod fast_path;
mod handler;
mod observer;
mod reload;
mod respond;
mod server;
mod shard_map;
mod tcp;
mod udp;
#[cfg(target_os = "linux")]
mod udp_batch;
mod zone;
mod zone_state;
mod zone_table;
mod zones;

pub use error::DnsError;
pub use handler::SteeringHandler;
pub use observer::{Answered, QueryObserver, SteeredAnswer, Transport};
pub use reload::{RELOAD_NICENESS, reload};
pub use server::{DnsServer, ServerOptions, ShutdownHandle};
pub use zones::{SteeredApex, ZoneSettings};

// The foreign types in this crate's API, so users never fight version skew.
pub use hickory_proto;
pub use hickory_server;

/// The ECS check the server runs on a raw query (`ecs::client_subnet`), for
/// the `ecs_option` fuzz target only: not part of the API. `Ok(None)` is a
/// query without the option; `Ok(Some((address, source_prefix, network)))`
/// an accepted one; `Err` names the RFC 7871 violation.
#[doc(hidden)]
pub fn fuzz_client_subnet(message: &[u8]) -> Result<Option<FuzzClientSubnet>, String> {
    ecs::client_subnet(message)
        .map(|found| found.map(|cs| (cs.address, cs.source_prefix, cs.network())))
        .map_err(|violation| format!("{violation:?}"))
}

/// What [`fuzz_client_subnet`] returns for an accepted option: the address,
/// the source prefix length and the network decided for.
#[doc(hidden)]
pub type FuzzClientSubnet = (std::net::IpAddr, u8, Option<ipnet::IpNet>);
