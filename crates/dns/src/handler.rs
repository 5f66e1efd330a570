//! The hickory request handler that answers from a [`Steering`].

use std::net::IpAddr;
use std::sync::Arc;

use hickory_server::net::runtime::Time;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use ipnet::IpNet;
use steerage::{Snapshot, Steering};

use crate::answer::{DecisionSource, Steered};
use crate::respond::{self, SteeringView, Zones};
use crate::{DnsError, ZoneSettings};

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
