//! The hickory request handler that answers from a [`Steering`].

use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Waker};

use arc_swap::Guard;
use hickory_proto::op::{MessageType, ResponseCode};
use hickory_server::net::runtime::{Time, TokioTime};
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use ipnet::IpNet;
use steerage::policy::PolicySet;
use steerage::{NameChange, NameObserver, Refusal, Snapshot, SnapshotGuard, Steering};

use crate::answer::{DecisionSource, Steered};
use crate::observer::{Answered, QueryObserver, Transport};
use crate::respond::{self, SteeringView};
use crate::zone_state::{Published, SteeredNames, Zones};
use crate::zone_table::ZoneTable;
use crate::{DnsError, ZoneSettings, fast_path, udp};

/// A hickory-server [`RequestHandler`] that answers steered names with the
/// CNAME the [`Steering`] decides for the client, authoritatively, with EDNS
/// Client Subnet (RFC 7871), and serves the zones around them (SOA, NS,
/// NXDOMAIN, NODATA; REFUSED outside them).
///
/// Each query reads the current snapshot once, so `Steering::apply` and
/// `Steering::reload` take effect on the next query. The zones are kept by
/// the steering's writer: the handler registers with the [`Steering`]
/// ([`Steering::observe_names`]), and each change that adds or removes
/// steered names updates them, in proportion to those names, before it is
/// published; a change that keeps the names (rules, providers, weights)
/// costs the zones nothing (the SOA serial, the version, is read per
/// answer). A change that would steer the apex of a served zone is refused
/// with [`DnsError::SteeredApex`] (see [`ZoneSettings`]). Every answer is
/// from one version: its decision, zones and serial. Cloning is cheap and
/// clones share everything; once the last clone is dropped, the steering
/// stops updating its zones.
///
/// What it answers, per question:
///
/// | question | answer |
/// |---|---|
/// | a steered name, any type but RRSIG/NSEC (CNAME, ANY and DS included) | the decision's CNAME and TTL, AA |
/// | a steered name, RRSIG or NSEC (types that may sit beside a CNAME) | NODATA |
/// | the zone apex, SOA / NS / ANY | SOA / NS (+ glue) / SOA and NS |
/// | the zone apex, other types | NODATA (never a CNAME) |
/// | a nameserver inside the zone, A / AAAA / ANY | its configured addresses |
/// | another name that exists (apex, ancestor of a steered name) | NODATA + SOA |
/// | a name in the zone that does not exist | NXDOMAIN + SOA |
/// | a name outside every zone, a class other than IN/ANY, AXFR/IXFR | REFUSED |
/// | opcode other than QUERY, other meta-types | NOTIMP |
/// | not exactly one question, type 0 or OPT, an invalid ECS option | FORMERR |
/// | EDNS version above 0 | BADVERS |
///
/// Client location: the ECS subnet when the query has one with source prefix
/// above 0 (located by its network address), else the source address. An ECS
/// query gets the option back with its family, source prefix and address as
/// sent, and the scope prefix of the decision
/// ([`Snapshot::select_subnet`](steerage::Snapshot::select_subnet)): the
/// widest prefix around the subnet's address over which the answer cannot
/// change. It is shorter than the source prefix when the answer holds for a
/// wider network, and longer when the subnet sent mixes clients with
/// different answers (RFC 7871 section 7.2.1: the resolver should ask again
/// with that many bits), never wider than what is true; a sticky pick's is
/// at least the /24 or /56 it hashes. It counts the bits of the option's own
/// family: an IPv4-mapped address in an IPv6 option is located as IPv4 and
/// answered with an IPv6 scope (the IPv4 scope plus 96). Answers that do not
/// depend on the client (errors, NXDOMAIN, NODATA, zone data) and queries with
/// source prefix 0 get scope 0.
/// Responses over UDP are cut to the client's EDNS payload size (512 without
/// EDNS, at most 1232) with TC set.
///
/// A [`QueryObserver`] set with [`with_observer`](Self::with_observer) is
/// told of every response (its code and transport, and the rule and
/// provider of a steered answer), for metrics and the like.
#[derive(Clone)]
pub struct SteeringHandler {
    inner: Arc<Inner>,
    observer: Option<Arc<dyn QueryObserver>>,
}

impl std::fmt::Debug for SteeringHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SteeringHandler")
            .field("inner", &self.inner)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

#[derive(Debug)]
struct Inner {
    steering: Arc<Steering>,
    zones: Zones,
}

impl SteeringHandler {
    /// A handler with the default zones (derived from the steered names)
    /// and default SOA/NS values.
    ///
    /// # Errors
    ///
    /// [`DnsError::SteeredApex`] when a steered name is the apex of a zone
    /// derived from the others (`example.com` with `www.example.com`).
    pub fn new(steering: Arc<Steering>) -> Result<Self, DnsError> {
        Self::with_zones(steering, ZoneSettings::new())
    }

    /// A handler with explicit zone settings.
    ///
    /// # Errors
    ///
    /// [`DnsError::GlueOutsideZones`] when a nameserver with addresses lies
    /// outside every explicit zone; [`DnsError::SteeredApex`] when a
    /// steered name is the apex of a served zone (and `settings` refuse it).
    pub fn with_zones(steering: Arc<Steering>, settings: ZoneSettings) -> Result<Self, DnsError> {
        settings.validate()?;
        let inner = steering.observe_names(|config, version| {
            let names = config.policies().map(|p| p.domain().as_str());
            let zones = Zones::new(settings, version, names, &ConfigNames(config))?;
            Ok::<_, DnsError>(Arc::new(Inner {
                steering: Arc::clone(&steering),
                zones,
            }))
        })?;
        Ok(Self {
            inner,
            observer: None,
        })
    }

    /// This handler, telling `observer` of every response it sends (see
    /// [`QueryObserver`]). Clones made after this call share the observer;
    /// clones made before it have none. Without an observer, the only cost
    /// is testing that there is none.
    #[must_use]
    pub fn with_observer(mut self, observer: Arc<dyn QueryObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The current snapshot and the zone tables, read so that one of the
    /// tables is the snapshot's (see [`Published::serving`]).
    fn view(&self) -> (SnapshotGuard, Guard<Arc<Published>>) {
        let mut snapshot = self.inner.steering.snapshot();
        let mut published = self.inner.zones.load();
        // Only a query that stalled across two changes between the two
        // loads misses; it reads both again (a few times at most: after
        // that the latest table serves, which can only be newer).
        for _ in 0..4 {
            if published.serving(snapshot.version()).is_some() {
                break;
            }
            snapshot = self.inner.steering.snapshot();
            published = self.inner.zones.load();
        }
        (snapshot, published)
    }

    /// Answers one UDP datagram from `src` into `out`, without waiting, and
    /// returns whether to send it (`false` for a response, a datagram too
    /// short for a header, or a source that cannot be answered).
    ///
    /// The common query (one question for a steered name, with or without
    /// ECS) is answered straight from the wire; everything else goes through
    /// hickory's parser and [`RequestHandler::handle_request`]. Both give the
    /// same message. [`DnsServer`](crate::DnsServer) runs this per datagram;
    /// it is also the way to drive UDP sockets of your own.
    pub fn answer_datagram(&self, datagram: &[u8], src: SocketAddr, out: &mut Vec<u8>) -> bool {
        out.clear();
        if !udp::can_answer(src) {
            return false;
        }
        {
            let (snapshot, published) = self.view();
            let table = table_of(&published, &snapshot);
            if fast_path::answer(
                table,
                &*snapshot,
                datagram,
                src.ip(),
                out,
                self.observer.as_deref(),
            ) {
                return true;
            }
        }
        out.clear();
        let Ok(request) = Request::from_bytes(datagram.to_vec(), src, Protocol::Udp) else {
            return match udp::format_error(datagram) {
                Some(reply) => {
                    out.extend_from_slice(&reply);
                    if let Some(observer) = &self.observer {
                        observer.observe(&Answered {
                            transport: Transport::Udp,
                            response_code: ResponseCode::FormErr,
                            client_subnet: false,
                            version: self.inner.steering.version(),
                            steered: None,
                        });
                    }
                    true
                }
                None => false,
            };
        };
        // Never answer a response: that is how reflection loops start.
        if request.metadata.message_type == MessageType::Response {
            return false;
        }
        let slot = Arc::new(Mutex::new(std::mem::take(out)));
        let answered = {
            let mut future = pin!(self.handle_request::<_, TokioTime>(
                &request,
                udp::Captured {
                    protocol: Protocol::Udp,
                    bytes: Arc::clone(&slot),
                }
            ));
            // The handler waits only on the response handler, and `Captured`
            // never waits: one poll finishes it. Were it ever pending, the
            // query would be dropped (the client retries) rather than block.
            future
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
                .is_ready()
        };
        *out = std::mem::take(&mut *slot.lock().unwrap_or_else(PoisonError::into_inner));
        answered && !out.is_empty()
    }

    /// The steering this handler answers from.
    pub fn steering(&self) -> &Arc<Steering> {
        &self.inner.steering
    }
}

#[async_trait::async_trait]
impl RequestHandler for SteeringHandler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        response_handle: R,
    ) -> ResponseInfo {
        let (snapshot, published) = self.view();
        let table = table_of(&published, &snapshot);
        respond::respond(
            table,
            &*snapshot,
            request,
            response_handle,
            self.observer.as_deref(),
        )
        .await
    }
}

/// The zone table for answers from `snapshot`.
fn table_of<'p>(published: &'p Published, snapshot: &Snapshot) -> &'p ZoneTable {
    published
        .serving(snapshot.version())
        .unwrap_or_else(|| published.latest())
}

impl NameObserver for Inner {
    fn prepare(&self, change: &NameChange<'_>) -> Result<(), Refusal> {
        let added: Vec<&str> = change.added().collect();
        let removed: Vec<&str> = change.removed().collect();
        self.zones
            .prepare(&added, &removed, &ConfigNames(change.config()))
            .map_err(|e| Box::new(e) as Refusal)
    }

    fn commit(&self, version: u64) {
        self.zones.commit(version);
    }

    fn abort(&self) {
        self.zones.abort();
    }
}

/// The steered names of a configuration.
struct ConfigNames<'a>(&'a PolicySet);

impl SteeredNames for ConfigNames<'_> {
    fn contains(&self, name: &str) -> bool {
        self.0.policy(name).is_some()
    }

    fn child_of(&self, name: &str) -> Option<String> {
        // Only for an error message: a walk over the set is fine.
        self.0
            .policies()
            .map(|p| p.domain().as_str())
            .find(|d| d.split_once('.').is_some_and(|(_, parent)| parent == name))
            .map(str::to_owned)
    }
}

impl DecisionSource for Snapshot {
    fn decide(&self, domain: &str, client: IpNet) -> Option<Steered<'_>> {
        let decision = match client {
            // A host network is a plain address: skip the subnet bookkeeping
            // (but for an IPv4-mapped one, whose scope `select` gives in
            // IPv4 bits, where an IPv6 option needs IPv6 bits).
            IpNet::V4(net) if net.prefix_len() == 32 => self.select(domain, IpAddr::V4(net.addr())),
            IpNet::V6(net) if net.prefix_len() == 128 && net.addr().to_ipv4_mapped().is_none() => {
                self.select(domain, IpAddr::V6(net.addr()))
            }
            _ => self.select_subnet(domain, client),
        }?;
        Some(Steered {
            cname: decision.cname(),
            ttl: decision.ttl(),
            scope_prefix: decision.scope_prefix(),
            rule: decision.rule(),
            provider: decision.provider(),
            nodata: decision.is_nodata(),
        })
    }
}

impl SteeringView for Snapshot {
    fn version(&self) -> u64 {
        Self::version(self)
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{Message, Query, ResponseCode};
    use hickory_proto::rr::{Name, RData, RecordType};
    use steerage::geo::LocationTable;
    use steerage::policy::Format;

    use super::*;

    fn serial_of_nxdomain(handler: &SteeringHandler, name: &str) -> u32 {
        let mut message = Message::query();
        message.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
        let mut out = Vec::new();
        let src: SocketAddr = "192.0.2.9:5353".parse().unwrap();
        assert!(handler.answer_datagram(&message.to_vec().unwrap(), src, &mut out));
        let r = Message::from_vec(&out).unwrap();
        assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
        match &r.authorities[0].data {
            RData::SOA(soa) => soa.serial,
            other => panic!("SOA expected, got {other:?}"),
        }
    }

    /// Regression: every change published a version, and the first query
    /// to see it rebuilt the whole zone table (seconds with thousands of
    /// zones). A change that keeps the names now builds nothing: the same
    /// tables serve, with the new version as the serial.
    #[test]
    fn a_change_that_keeps_the_names_builds_no_zone_table() {
        let steering = Arc::new(
            Steering::builder()
                .config_str(include_str!("../testdata/scenario.toml"), Format::Toml)
                .locations(LocationTable::sample())
                .build()
                .unwrap(),
        );
        let handler = SteeringHandler::new(Arc::clone(&steering)).unwrap();
        let published = handler.inner.zones.load_full();
        assert_eq!(serial_of_nxdomain(&handler, "nope.example.com."), 1);
        let version = steering
            .apply(|set| set.disable_rule("www.example.com", "beijing"))
            .unwrap();
        steering.set_locations(LocationTable::sample()).unwrap();
        assert_eq!(
            serial_of_nxdomain(&handler, "nope.example.com."),
            version as u32 + 1
        );
        assert_eq!(handler.inner.zones.builds(), 0);
        assert!(Arc::ptr_eq(&published, &handler.inner.zones.load_full()));

        // A change of names builds one table, on the writer's thread.
        let version = steering
            .apply(|set| set.create_policy("api.example.com").map(drop))
            .unwrap();
        assert_eq!(handler.inner.zones.builds(), 1);
        assert_eq!(
            serial_of_nxdomain(&handler, "nope.example.com."),
            version as u32
        );
    }
}
