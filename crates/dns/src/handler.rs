//! The hickory request handler that answers from a [`Steering`].

use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Waker};

use hickory_proto::op::MessageType;
use hickory_server::net::runtime::{Time, TokioTime};
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use ipnet::IpNet;
use steerage::{Snapshot, Steering};

use crate::answer::{DecisionSource, Steered};
use crate::respond::{self, SteeringView, Zones};
use crate::{DnsError, ZoneSettings, fast_path, udp};

/// A hickory-server [`RequestHandler`] that answers steered names with the
/// CNAME the [`Steering`] decides for the client, authoritatively, with EDNS
/// Client Subnet (RFC 7871), and serves the zones around them (SOA, NS,
/// NXDOMAIN, NODATA; REFUSED outside them).
///
/// Each query reads the current snapshot once, so `Steering::apply` and
/// `Steering::reload` take effect on the next query. Cloning is cheap and
/// clones share everything.
///
/// What it answers, per question:
///
/// | question | answer |
/// |---|---|
/// | a steered name, any type but RRSIG/NSEC (CNAME, ANY and DS included) | the decision's CNAME and TTL, AA |
/// | a steered name, RRSIG or NSEC (types that may sit beside a CNAME) | NODATA |
/// | the zone apex, SOA / NS / ANY | SOA / NS (+ glue) / SOA and NS |
/// | a nameserver inside the zone, A / AAAA / ANY | its configured addresses |
/// | another name that exists (apex, ancestor of a steered name) | NODATA + SOA |
/// | a name in the zone that does not exist | NXDOMAIN + SOA |
/// | a name outside every zone, a class other than IN/ANY, AXFR/IXFR | REFUSED |
/// | opcode other than QUERY, other meta-types | NOTIMP |
/// | not exactly one question, type 0 or OPT, an invalid ECS option | FORMERR |
/// | EDNS version above 0 | BADVERS |
///
/// Client location: the ECS subnet when the query has one with source prefix
/// above 0, else the source address. An ECS query gets the option back with its
/// family, source prefix and address as sent and the scope prefix from the
/// decision (0 for answers that do not depend on the client, and for source 0).
/// Responses over UDP are cut to the client's EDNS payload size (512 without
/// EDNS, at most 1232) with TC set.
#[derive(Debug, Clone)]
pub struct SteeringHandler {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    steering: Arc<Steering>,
    zones: Zones,
}

impl SteeringHandler {
    /// A handler with the default zones (the parent of each steered name) and
    /// default SOA/NS values.
    pub fn new(steering: Arc<Steering>) -> Self {
        let zones = Zones::new(ZoneSettings::new(), &**steering.snapshot());
        Self {
            inner: Arc::new(Inner { steering, zones }),
        }
    }

    /// A handler with explicit zone settings.
    ///
    /// # Errors
    ///
    /// [`DnsError::GlueOutsideZones`] when a nameserver with addresses lies
    /// outside every explicit zone.
    pub fn with_zones(steering: Arc<Steering>, settings: ZoneSettings) -> Result<Self, DnsError> {
        settings.validate()?;
        let zones = Zones::new(settings, &**steering.snapshot());
        Ok(Self {
            inner: Arc::new(Inner { steering, zones }),
        })
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
            let snapshot = self.inner.steering.snapshot();
            if fast_path::answer(&self.inner.zones, &**snapshot, datagram, src.ip(), out) {
                return true;
            }
        }
        out.clear();
        let Ok(request) = Request::from_bytes(datagram.to_vec(), src, Protocol::Udp) else {
            return match udp::format_error(datagram) {
                Some(reply) => {
                    out.extend_from_slice(&reply);
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
        let snapshot = self.inner.steering.snapshot();
        respond::respond(&self.inner.zones, &**snapshot, request, response_handle).await
    }
}

impl DecisionSource for Snapshot {
    fn decide(&self, domain: &str, client: IpNet) -> Option<Steered<'_>> {
        let decision = match client {
            // A host network is a plain address: skip the subnet bookkeeping.
            IpNet::V4(net) if net.prefix_len() == 32 => self.select(domain, IpAddr::V4(net.addr())),
            IpNet::V6(net) if net.prefix_len() == 128 => {
                self.select(domain, IpAddr::V6(net.addr()))
            }
            _ => self.select_subnet(domain, client),
        }?;
        Some(Steered {
            cname: decision.cname(),
            ttl: decision.ttl(),
            scope_prefix: decision.scope_prefix(),
        })
    }
}

impl SteeringView for Snapshot {
    fn version(&self) -> u64 {
        Self::version(self)
    }

    fn for_each_name(&self, f: &mut dyn FnMut(&str)) {
        self.domains().for_each(f);
    }
}
