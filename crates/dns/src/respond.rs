//! Turns one hickory request into one response, given a decision source and the
//! zone table: the request path shared by the handler and its tests.

use std::cell::RefCell;

use hickory_proto::op::{Edns, Header, HeaderCounts, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::rdata::CNAME;
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsOption};
use hickory_proto::rr::{Name, RData, Record};
use hickory_proto::serialize::binary::{BinDecoder, BinEncodable, BinEncoder, NameEncoding};
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::{MessageResponseBuilder, Queries};

use crate::answer::{self, DecisionSource, NAME_KEY_CAPACITY, Outcome};
use crate::ecs;
use crate::observer::{Answered, QueryObserver, SteeredAnswer, Transport};
use crate::zone_table::ZoneTable;

/// Largest UDP response the server sends, whatever the client offers: the
/// DNS flag day 2020 value, which avoids IP fragmentation.
pub(crate) const MAX_UDP_PAYLOAD: u16 = 1232;

/// A source of decisions that also knows its version: the SOA serial, and
/// which zone table matches it.
pub(crate) trait SteeringView: DecisionSource {
    /// The steering configuration's version.
    fn version(&self) -> u64;
}

/// The question section to repeat, when the one hickory would repeat is
/// wrong: hickory echoes the question bytes exactly as the query sent them,
/// and a name compressed with a pointer (legal in a query) then points into
/// the *response's* header, giving a response no client can parse (found by
/// the fuzz target). Such a question is encoded again without compression,
/// keeping the case of the name as sent. `None`: echo the bytes as they are.
fn uncompressed_questions(request: &Request) -> Option<Queries> {
    if !has_compression_pointer(request.queries.as_bytes(), request.queries.len()) {
        return None;
    }
    let mut bytes = Vec::new();
    let mut encoder = BinEncoder::new(&mut bytes);
    encoder.set_name_encoding(NameEncoding::Uncompressed);
    for query in request.queries.queries() {
        query.original().emit(&mut encoder).ok()?;
    }
    Queries::read(&mut BinDecoder::new(&bytes), request.queries.len()).ok()
}

/// Whether the names of `count` questions in `bytes` use a compression
/// pointer; malformed input (already parsed once by hickory) reads as `true`,
/// so it is encoded afresh rather than echoed.
fn has_compression_pointer(bytes: &[u8], count: usize) -> bool {
    let mut pos = 0;
    for _ in 0..count {
        loop {
            let Some(&len) = bytes.get(pos) else {
                return true;
            };
            if len & 0xc0 != 0 {
                return true;
            }
            pos += 1 + usize::from(len);
            if len == 0 {
                break;
            }
        }
        // QTYPE and QCLASS.
        pos += 4;
    }
    false
}

/// What one request gets, decided without waiting.
#[allow(clippy::large_enum_variant)] // one per query, on the stack; boxing would allocate
enum Reply<'t> {
    /// An error response; `questions` says whether the question section is
    /// echoed (not when there was not exactly one question: there could be
    /// thousands, more than a response can hold, and an error need not
    /// repeat them).
    Error {
        code: ResponseCode,
        questions: bool,
        ecs: Option<ClientSubnet>,
    },
    /// An answer from the zone or the steering.
    Answer {
        nxdomain: bool,
        answers: Answers<'t>,
        /// The SOA of a negative answer.
        authority: Option<Record>,
        additionals: &'t [Record],
        ecs: Option<ClientSubnet>,
    },
}

#[allow(clippy::large_enum_variant)] // one per query, on the stack; boxing would allocate
enum Answers<'t> {
    Zone(&'t [Record]),
    /// Records made for this answer (those with the SOA's serial).
    Made(Vec<Record>),
    Cname(Record),
}

/// What an observer is told about a request, besides the response code.
#[derive(Default)]
struct Seen<'a> {
    client_subnet: bool,
    steered: Option<SteeredAnswer<'a>>,
}

/// Answers `request` through `response_handle`, then tells `observer`.
pub(crate) async fn respond<R: ResponseHandler, V: SteeringView + Sync>(
    table: &ZoneTable,
    view: &V,
    request: &Request,
    mut response_handle: R,
    observer: Option<&dyn QueryObserver>,
) -> ResponseInfo {
    let mut key_buf = [0u8; NAME_KEY_CAPACITY];
    let (reply, seen) = prepare(table, view, request, &mut key_buf);

    // EDNS (RFC 6891): an OPT back only if one came in.
    let mut response_edns = request.edns.as_ref().map(|edns| {
        let mut out = Edns::new();
        out.set_max_payload(edns.max_payload().clamp(512, MAX_UDP_PAYLOAD));
        // RFC 3225 section 3: the DO bit is copied into the response.
        out.set_dnssec_ok(edns.flags().dnssec_ok);
        out
    });
    let sent = match reply {
        Reply::Error {
            code,
            questions,
            ecs,
        } => {
            if let (Some(edns), Some(echo)) = (response_edns.as_mut(), ecs) {
                edns.options_mut().insert(EdnsOption::Subnet(echo));
            }
            let no_questions = Queries::read(&mut BinDecoder::new(&[]), 0);
            let rewritten = uncompressed_questions(request);
            let mut builder = match (&no_questions, questions) {
                (Ok(none), false) => MessageResponseBuilder::new(none, None),
                _ => MessageResponseBuilder::new(
                    rewritten.as_ref().unwrap_or(&request.queries),
                    None,
                ),
            };
            if let Some(edns) = response_edns.as_ref() {
                builder.edns(edns);
            }
            let response = builder.error_msg(&request.metadata, code);
            response_handle.send_response(response).await
        }
        Reply::Answer {
            nxdomain,
            answers,
            authority,
            additionals,
            ecs,
        } => {
            if let (Some(edns), Some(echo)) = (response_edns.as_mut(), ecs) {
                edns.options_mut().insert(EdnsOption::Subnet(echo));
            }
            let mut metadata = Metadata::response_from_request(&request.metadata);
            metadata.authoritative = true;
            if nxdomain {
                metadata.response_code = ResponseCode::NXDomain;
            }
            let rewritten = uncompressed_questions(request);
            let mut builder =
                MessageResponseBuilder::new(rewritten.as_ref().unwrap_or(&request.queries), None);
            if let Some(edns) = response_edns.as_ref() {
                builder.edns(edns);
            }
            let answers = match &answers {
                Answers::Zone(records) => records,
                Answers::Made(records) => records.as_slice(),
                Answers::Cname(record) => std::slice::from_ref(record),
            };
            let response = builder.build(metadata, answers, authority.as_slice(), [], additionals);
            response_handle.send_response(response).await
        }
    };
    let info = sent.unwrap_or_else(|_| serve_failed(request));
    if let Some(observer) = observer {
        observer.observe(&Answered {
            transport: match request.protocol() {
                Protocol::Udp => Transport::Udp,
                Protocol::Tcp => Transport::Tcp,
                _ => Transport::Other,
            },
            response_code: info.response_code,
            client_subnet: seen.client_subnet,
            version: view.version(),
            steered: seen.steered,
        });
    }
    info
}

/// Decides the reply: the DNS rules in order, then the zone and the steering.
fn prepare<'t, 'a, V: SteeringView>(
    table: &'t ZoneTable,
    view: &'a V,
    request: &Request,
    key_buf: &'a mut [u8; NAME_KEY_CAPACITY],
) -> (Reply<'t>, Seen<'a>) {
    let error = |code, questions, ecs| {
        (
            Reply::Error {
                code,
                questions,
                ecs,
            },
            Seen::default(),
        )
    };
    // The question is repeated in an error only when there is exactly one.
    let one_question = request.queries.len() == 1;
    if request.metadata.op_code != OpCode::Query {
        return error(ResponseCode::NotImp, one_question, None);
    }
    let request_edns = request.edns.as_ref();
    if request_edns.is_some_and(|edns| edns.version() != 0) {
        return error(ResponseCode::BADVERS, one_question, None);
    }
    let Ok(info) = request.request_info() else {
        return error(ResponseCode::FormErr, false, None);
    };
    let ecs_query = match request_edns {
        Some(_) => ecs::client_subnet(request.as_slice()),
        None => Ok(None),
    };
    let Ok(ecs_query) = ecs_query else {
        // An invalid ECS option is not echoed back.
        return error(ResponseCode::FormErr, true, None);
    };
    let client = ecs_query
        .and_then(|cs| cs.network())
        .unwrap_or_else(|| ecs::host_network(request.src().ip()));
    // Answers that do not depend on the client say so with scope 0.
    let echo = |scope| ecs_query.map(|cs| cs.echo(scope));
    let seen = Seen {
        client_subnet: ecs_query.is_some(),
        steered: None,
    };

    let query_name = info.query.name();
    let key = answer::name_key(query_name.iter(), key_buf);
    let outcome = answer::answer(
        table,
        view,
        key,
        info.query.query_type(),
        info.query.query_class(),
        client,
    );
    let serial = table.serial(view.version());
    let zone_answer = |nxdomain, answers, authority, additionals| Reply::Answer {
        nxdomain,
        answers,
        authority,
        additionals,
        ecs: echo(0),
    };
    let reply = match outcome {
        Outcome::Error(code) => Reply::Error {
            code,
            questions: true,
            ecs: echo(0),
        },
        Outcome::Cname(steered) => {
            let Some(target) = target_name(view.version(), steered.cname) else {
                // The engine hands out validated names; if one ever failed to
                // parse, failing this query beats answering garbage.
                let reply = Reply::Error {
                    code: ResponseCode::ServFail,
                    questions: true,
                    ecs: echo(0),
                };
                return (reply, seen);
            };
            let owner = Name::from(query_name);
            let reply = Reply::Answer {
                nxdomain: false,
                answers: Answers::Cname(Record::from_rdata(
                    owner,
                    steered.ttl,
                    RData::CNAME(CNAME(target)),
                )),
                authority: None,
                additionals: &[],
                ecs: echo(steered.scope_prefix),
            };
            let seen = Seen {
                steered: Some(SteeredAnswer {
                    domain: key,
                    rule: steered.rule,
                    provider: steered.provider,
                    cname: steered.cname,
                }),
                ..seen
            };
            return (reply, seen);
        }
        Outcome::Records {
            answers,
            additionals,
        } => zone_answer(false, Answers::Zone(answers), None, additionals),
        Outcome::Soa(zone) => zone_answer(false, Answers::Made(vec![zone.soa(serial)]), None, &[]),
        Outcome::Any(zone) => zone_answer(false, Answers::Made(zone.any(serial)), None, &zone.glue),
        Outcome::NoData(zone) => zone_answer(
            false,
            Answers::Zone(&[]),
            Some(zone.negative_soa(serial)),
            &[],
        ),
        Outcome::NxDomain(zone) => zone_answer(
            true,
            Answers::Zone(&[]),
            Some(zone.negative_soa(serial)),
            &[],
        ),
    };
    (reply, seen)
}

/// Most targets kept per thread and configuration version (a policy has a
/// handful of providers; the bound only stops pathological growth).
const TARGET_CACHE_LIMIT: usize = 256;

/// Parsed CNAME targets for one configuration version.
#[derive(Default)]
struct TargetCache {
    version: u64,
    entries: Vec<(Box<str>, Name)>,
}

thread_local! {
    /// Parsing a target into a `Name` costs more than the whole decision, and
    /// the same few targets come back on every query: each thread keeps them.
    static TARGETS: RefCell<TargetCache> = RefCell::new(TargetCache::default());
}

/// The CNAME target as a name, from the thread's cache when it is there.
fn target_name(version: u64, target: &str) -> Option<Name> {
    TARGETS.with_borrow_mut(|cache| {
        if cache.version != version {
            cache.version = version;
            cache.entries.clear();
        }
        if let Some((_, name)) = cache.entries.iter().find(|(text, _)| **text == *target) {
            return Some(name.clone());
        }
        let mut name = Name::from_ascii(target).ok()?;
        name.set_fqdn(true);
        if cache.entries.len() < TARGET_CACHE_LIMIT {
            cache.entries.push((target.into(), name.clone()));
        }
        Some(name)
    })
}

/// What the handler reports when the response could not be sent.
fn serve_failed(request: &Request) -> ResponseInfo {
    let mut metadata = Metadata::new(
        request.metadata.id,
        MessageType::Response,
        request.metadata.op_code,
    );
    metadata.response_code = ResponseCode::ServFail;
    ResponseInfo::from(Header {
        metadata,
        counts: HeaderCounts::default(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::net::SocketAddr;

    use hickory_proto::op::{Message, Query};
    use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsCode};
    use hickory_proto::rr::{DNSClass, RecordType};
    use hickory_server::net::xfer::Protocol;
    use ipnet::IpNet;

    use super::*;
    use crate::answer::Steered;
    use std::sync::Arc;

    use crate::zone_state::{TestNames, Zones};
    use crate::zones::ZoneSettings;

    /// Steered names with fixed answers; the scope is the client prefix
    /// capped at 16 so tests can tell it from the source prefix.
    struct Fixed {
        version: u64,
        names: HashMap<&'static str, &'static str>,
    }

    impl DecisionSource for Fixed {
        fn decide(&self, domain: &str, client: IpNet) -> Option<Steered<'_>> {
            self.names.get(domain).map(|cname| Steered {
                cname,
                ttl: 60,
                scope_prefix: client.prefix_len().min(16),
                rule: "default",
                provider: "fixed",
                nodata: false,
            })
        }
    }

    impl SteeringView for Fixed {
        fn version(&self) -> u64 {
            self.version
        }
    }

    fn fixed(version: u64, names: &[(&'static str, &'static str)]) -> Fixed {
        Fixed {
            version,
            names: names.iter().copied().collect(),
        }
    }

    impl Fixed {
        fn names(&self) -> Vec<&'static str> {
            self.names.keys().copied().collect()
        }
    }

    /// The zones of `settings` for the view's names.
    fn zones_of(view: &Fixed, settings: ZoneSettings) -> Zones {
        let names = view.names();
        Zones::new(
            settings,
            view.version,
            names.iter().copied(),
            &TestNames(&names),
        )
        .unwrap()
    }

    fn query(name: &str, qtype: RecordType, ecs: Option<&str>) -> Message {
        let mut message = Message::query();
        message.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
        if let Some(subnet) = ecs {
            let mut edns = Edns::new();
            edns.set_max_payload(1232);
            edns.options_mut()
                .insert(EdnsOption::Subnet(subnet.parse::<ClientSubnet>().unwrap()));
            message.set_edns(edns);
        }
        message
    }

    fn exchange_bytes(view: &Fixed, zones: &Zones, raw: Vec<u8>, protocol: Protocol) -> Vec<u8> {
        let src: SocketAddr = "198.51.100.9:5353".parse().unwrap();
        let request = Request::from_bytes(raw, src, protocol).unwrap();
        let capture = crate::udp::Captured {
            protocol,
            bytes: Arc::default(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let published = zones.load();
        let table = published.serving(view.version).unwrap();
        runtime.block_on(respond(table, view, &request, capture.clone(), None));
        capture.bytes.lock().unwrap().clone()
    }

    fn exchange(view: &Fixed, zones: &Zones, message: &Message) -> Message {
        let bytes = exchange_bytes(view, zones, message.to_vec().unwrap(), Protocol::Udp);
        Message::from_vec(&bytes).unwrap()
    }

    fn setup() -> (Fixed, Zones) {
        let view = fixed(1, &[("www.example.com", "cdn-a.example.net")]);
        let zones = zones_of(&view, ZoneSettings::new());
        (view, zones)
    }

    fn ecs_of(message: &Message) -> Option<ClientSubnet> {
        match message.edns.as_ref()?.option(EdnsCode::Subnet)? {
            EdnsOption::Subnet(cs) => Some(*cs),
            _ => None,
        }
    }

    #[test]
    fn steered_answer_is_authoritative_cname_with_ecs_echo() {
        let (view, zones) = setup();
        let q = query("WWW.Example.com.", RecordType::A, Some("203.0.113.0/24"));
        let r = exchange(&view, &zones, &q);
        assert_eq!(r.metadata.id, q.metadata.id);
        assert_eq!(r.metadata.response_code, ResponseCode::NoError);
        assert!(r.metadata.authoritative);
        assert!(!r.metadata.recursion_available);
        assert_eq!(r.answers.len(), 1);
        assert_eq!(r.answers[0].ttl, 60);
        assert_eq!(
            r.answers[0].data,
            RData::CNAME(CNAME(Name::from_ascii("cdn-a.example.net.").unwrap()))
        );
        let echo = ecs_of(&r).unwrap();
        assert_eq!(
            echo.addr(),
            "203.0.113.0".parse::<std::net::IpAddr>().unwrap()
        );
        assert_eq!((echo.source_prefix(), echo.scope_prefix()), (24, 16));
        // the question is echoed as sent (case included)
        assert_eq!(r.queries[0].name().to_ascii(), "WWW.Example.com.");
    }

    #[test]
    fn no_ecs_in_means_no_ecs_out_and_no_edns_means_no_opt() {
        let (view, zones) = setup();
        let r = exchange(
            &view,
            &zones,
            &query("www.example.com.", RecordType::A, None),
        );
        assert!(r.edns.is_none());
        assert_eq!(r.answers.len(), 1);
        let mut q = query("www.example.com.", RecordType::A, None);
        q.set_edns(Edns::new());
        let r = exchange(&view, &zones, &q);
        assert!(r.edns.is_some());
        assert!(ecs_of(&r).is_none());
    }

    #[test]
    fn source_prefix_zero_gets_scope_zero() {
        let (view, zones) = setup();
        let r = exchange(
            &view,
            &zones,
            &query("www.example.com.", RecordType::A, Some("0.0.0.0/0")),
        );
        let echo = ecs_of(&r).unwrap();
        assert_eq!((echo.source_prefix(), echo.scope_prefix()), (0, 0));
        assert_eq!(r.answers.len(), 1);
    }

    #[test]
    fn negative_answers_carry_the_soa_and_scope_zero() {
        let (view, zones) = setup();
        let r = exchange(
            &view,
            &zones,
            &query("nope.example.com.", RecordType::A, Some("203.0.113.0/24")),
        );
        assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
        assert!(r.metadata.authoritative);
        assert_eq!(r.authorities.len(), 1);
        assert_eq!(r.authorities[0].record_type(), RecordType::SOA);
        assert_eq!(r.authorities[0].ttl, 60);
        assert_eq!(ecs_of(&r).unwrap().scope_prefix(), 0);
        let r = exchange(&view, &zones, &query("example.com.", RecordType::A, None));
        assert_eq!(r.metadata.response_code, ResponseCode::NoError);
        assert!(r.answers.is_empty());
        assert_eq!(r.authorities[0].record_type(), RecordType::SOA);
    }

    #[test]
    fn refused_outside_zones_not_authoritative() {
        let (view, zones) = setup();
        let r = exchange(
            &view,
            &zones,
            &query("www.example.org.", RecordType::A, None),
        );
        assert_eq!(r.metadata.response_code, ResponseCode::Refused);
        assert!(!r.metadata.authoritative);
        assert!(r.answers.is_empty());
    }

    #[test]
    fn invalid_ecs_gets_formerr_without_echo() {
        let (view, zones) = setup();
        // 203.0.113.1/24: a bit set beyond the source prefix.
        let mut q = query("www.example.com.", RecordType::A, None);
        let mut edns = Edns::new();
        edns.options_mut()
            .insert(EdnsOption::Subnet(ClientSubnet::new(
                "203.0.113.1".parse().unwrap(),
                32,
                0,
            )));
        q.set_edns(edns);
        let mut raw = q.to_vec().unwrap();
        // lower the source prefix to 24 in place, keeping four address octets
        let at = raw.len() - 6;
        assert_eq!(raw[at], 32);
        raw[at] = 24;
        let bytes = exchange_bytes(&view, &zones, raw, Protocol::Udp);
        let r = Message::from_vec(&bytes).unwrap();
        assert_eq!(r.metadata.response_code, ResponseCode::FormErr);
        assert!(ecs_of(&r).is_none());
    }

    #[test]
    fn badvers_notimp_and_formerr_for_odd_requests() {
        let (view, zones) = setup();
        let mut q = query("www.example.com.", RecordType::A, None);
        let mut edns = Edns::new();
        edns.set_version(1);
        q.set_edns(edns);
        let r = exchange(&view, &zones, &q);
        // BADVERS and BADSIG share the value 16; hickory decodes it as BADSIG.
        assert_eq!(u16::from(r.metadata.response_code), 16);
        assert!(r.edns.is_some());

        let mut q = query("www.example.com.", RecordType::A, None);
        q.metadata.op_code = OpCode::Notify;
        assert_eq!(
            exchange(&view, &zones, &q).metadata.response_code,
            ResponseCode::NotImp
        );

        let mut q = query("www.example.com.", RecordType::A, None);
        q.add_query(Query::query(
            Name::from_ascii("example.com.").unwrap(),
            RecordType::SOA,
        ));
        assert_eq!(
            exchange(&view, &zones, &q).metadata.response_code,
            ResponseCode::FormErr
        );

        let mut q = query("www.example.com.", RecordType::A, None);
        q.queries[0].set_query_class(DNSClass::CH);
        assert_eq!(
            exchange(&view, &zones, &q).metadata.response_code,
            ResponseCode::Refused
        );
    }

    /// Regression (fuzz): an error for a message with dozens of questions
    /// repeated them all, did not fit 512 bytes, and became a bare SERVFAIL.
    #[test]
    fn errors_for_many_questions_repeat_none() {
        let (view, zones) = setup();
        let mut q = query("www.example.com.", RecordType::A, None);
        for i in 0..44 {
            let name = format!("a-fairly-long-label-number-{i}.example.com.");
            q.add_query(Query::query(
                Name::from_ascii(&name).unwrap(),
                RecordType::A,
            ));
        }
        for op_code in [OpCode::Update, OpCode::Query] {
            q.metadata.op_code = op_code;
            let bytes = exchange_bytes(&view, &zones, q.to_vec().unwrap(), Protocol::Udp);
            let r = Message::from_vec(&bytes).unwrap();
            assert_eq!(r.metadata.id, q.metadata.id);
            let expected = if op_code == OpCode::Query {
                ResponseCode::FormErr
            } else {
                ResponseCode::NotImp
            };
            assert_eq!(r.metadata.response_code, expected);
            assert!(r.queries.is_empty());
        }
    }

    /// Regression (fuzz, `crash-fdd348fab8dcdb6f6b3cbabd62da407570858474`):
    /// a question whose name is a compression pointer into the query's
    /// header was echoed byte for byte, so in the response it pointed at the
    /// response's header and the response did not parse.
    #[test]
    fn compressed_questions_are_repeated_uncompressed() {
        let (view, zones) = setup();
        let crash = [
            0x00, 0x00, 0x00, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x02,
            0xff, 0x0a, 0x0a, 0xff, 0xff, 0xff, 0x00, 0x0a, 0x00, 0xff, 0xff,
        ];
        let bytes = exchange_bytes(&view, &zones, crash.to_vec(), Protocol::Udp);
        let r = Message::from_vec(&bytes).unwrap();
        // The pointer (to offset 2, a zero byte) named the root.
        assert_eq!(r.queries.len(), 1);
        assert!(r.queries[0].name().is_root());
        assert_eq!(r.metadata.id, 0);
    }

    #[test]
    fn zones_follow_published_changes_and_the_serial_the_version() {
        let (view, zones) = setup();
        let r = exchange(
            &view,
            &zones,
            &query("api.example.org.", RecordType::A, None),
        );
        assert_eq!(r.metadata.response_code, ResponseCode::Refused);
        let view = fixed(
            2,
            &[
                ("www.example.com", "cdn-a.example.net"),
                ("api.example.org", "origin.example.net"),
            ],
        );
        let names = view.names();
        zones
            .prepare(&["api.example.org"], &[], &TestNames(&names))
            .unwrap();
        zones.commit(2);
        let r = exchange(
            &view,
            &zones,
            &query("api.example.org.", RecordType::A, None),
        );
        assert_eq!(r.answers.len(), 1);
        let r = exchange(&view, &zones, &query("example.org.", RecordType::SOA, None));
        let RData::SOA(soa) = &r.answers[0].data else {
            panic!("SOA")
        };
        assert_eq!(soa.serial, 2);
        // A version that changed no name: the same table, the new serial.
        let view = Fixed { version: 9, ..view };
        let r = exchange(
            &view,
            &zones,
            &query("nope.example.org.", RecordType::A, None),
        );
        let RData::SOA(soa) = &r.authorities[0].data else {
            panic!("SOA")
        };
        assert_eq!(soa.serial, 9);
        assert_eq!(zones.builds(), 1);
    }

    #[test]
    fn large_answer_is_truncated_on_udp_and_whole_on_tcp() {
        let view = fixed(1, &[("www.example.com", "cdn-a.example.net")]);
        let mut settings = ZoneSettings::new();
        for i in 0..40 {
            settings = settings
                .nameserver(
                    &format!("a-rather-long-nameserver-name-{i}.dns-provider.example.net"),
                    [],
                )
                .unwrap();
        }
        let zones = zones_of(&view, settings);
        let raw = query("example.com.", RecordType::NS, None)
            .to_vec()
            .unwrap();
        let udp = exchange_bytes(&view, &zones, raw.clone(), Protocol::Udp);
        assert!(udp.len() <= 512);
        let r = Message::from_vec(&udp).unwrap();
        assert!(r.metadata.truncation);
        assert!(r.answers.len() < 40);
        let tcp = exchange_bytes(&view, &zones, raw, Protocol::Tcp);
        let r = Message::from_vec(&tcp).unwrap();
        assert!(!r.metadata.truncation);
        assert_eq!(r.answers.len(), 40);
        // with EDNS the client's size counts, up to 1232
        let mut q = query("example.com.", RecordType::NS, None);
        let mut edns = Edns::new();
        edns.set_max_payload(4096);
        q.set_edns(edns);
        let udp = exchange_bytes(&view, &zones, q.to_vec().unwrap(), Protocol::Udp);
        assert!(udp.len() > 512 && udp.len() <= 1232, "{}", udp.len());
        assert!(Message::from_vec(&udp).unwrap().metadata.truncation);
    }

    /// Queries of the common shape: the fast path must answer them, with the
    /// same message the full path gives.
    mod fast_path_equivalence {
        use proptest::prelude::*;

        use super::*;

        fn view() -> Fixed {
            fixed(
                3,
                &[
                    ("www.example.com", "cdn-a.example.net"),
                    (
                        "img.static.example.com",
                        "a-much-longer-target-name.cdn-provider.example",
                    ),
                ],
            )
        }

        #[allow(clippy::too_many_arguments)] // one per query field the property varies
        fn build(
            name: &str,
            qtype: RecordType,
            opt: u8,
            payload: u16,
            dnssec_ok: bool,
            subnet: &str,
            rd: bool,
            cd: bool,
        ) -> Vec<u8> {
            let mut message = Message::query();
            message.metadata.recursion_desired = rd;
            message.metadata.checking_disabled = cd;
            message.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
            if opt > 0 {
                let mut edns = Edns::new();
                edns.set_max_payload(payload);
                edns.set_dnssec_ok(dnssec_ok);
                if opt >= 2 {
                    edns.options_mut()
                        .insert(EdnsOption::Subnet(subnet.parse::<ClientSubnet>().unwrap()));
                }
                if opt == 3 {
                    // a cookie, ignored by both paths
                    edns.options_mut()
                        .insert(EdnsOption::Unknown(10, vec![1, 2, 3, 4, 5, 6, 7, 8]));
                }
                message.set_edns(edns);
            }
            message.to_vec().unwrap()
        }

        proptest! {
            #[test]
            fn fast_and_full_paths_give_the_same_message(
                name in prop::sample::select(vec![
                    "www.example.com.", "WWW.Example.COM.", "img.static.example.com.", "iMg.StAtIc.ExAmPlE.CoM.",
                ]),
                qtype in prop::sample::select(vec![
                    RecordType::A, RecordType::AAAA, RecordType::CNAME, RecordType::MX,
                    RecordType::TXT, RecordType::HTTPS, RecordType::DS, RecordType::SRV,
                ]),
                opt in 0u8..4,
                payload in 0u16..5000,
                dnssec_ok in any::<bool>(),
                subnet in prop::sample::select(vec![
                    "203.0.113.0/24", "0.0.0.0/0", "192.0.2.128/25", "10.1.2.3/32",
                    "2001:db8:100::/48", "2001:db8::/29", "::/0",
                ]),
                rd in any::<bool>(),
                cd in any::<bool>(),
            ) {
                let view = view();
                let zones = zones_of(&view, ZoneSettings::new());
                let raw = build(name, qtype, opt, payload, dnssec_ok, subnet, rd, cd);
                let src: std::net::IpAddr = "198.51.100.9".parse().unwrap();
                let mut fast = Vec::new();
                prop_assert!(crate::fast_path::answer(zones.load().latest(), &view, &raw, src, &mut fast, None), "fast path declined");
                let full = exchange_bytes(&view, &zones, raw, Protocol::Udp);
                let (fast, full) = (Message::from_vec(&fast).unwrap(), Message::from_vec(&full).unwrap());
                prop_assert_eq!(fast.metadata, full.metadata);
                prop_assert_eq!(&fast.queries, &full.queries);
                prop_assert_eq!(&fast.answers, &full.answers);
                prop_assert_eq!(&fast.authorities, &full.authorities);
                prop_assert_eq!(&fast.additionals, &full.additionals);
                prop_assert_eq!(&fast.edns, &full.edns);
            }

            /// Whatever the bytes, the fast path never panics, and what it
            /// answers the full path answers the same way.
            #[test]
            fn fast_path_on_any_bytes(raw in proptest::collection::vec(any::<u8>(), 0..80), flip in any::<usize>()) {
                let view = view();
                let zones = zones_of(&view, ZoneSettings::new());
                let src: std::net::IpAddr = "198.51.100.9".parse().unwrap();
                // a valid query with one byte changed, or random bytes
                let mut query = build("www.example.com.", RecordType::A, 2, 1232, false, "203.0.113.0/24", true, false);
                let at = flip % query.len();
                query[at] = raw.first().copied().unwrap_or(0);
                for datagram in [raw, query] {
                    let mut fast = Vec::new();
                    if crate::fast_path::answer(zones.load().latest(), &view, &datagram, src, &mut fast, None) {
                        let full = exchange_bytes(&view, &zones, datagram, Protocol::Udp);
                        let (fast, full) = (Message::from_vec(&fast).unwrap(), Message::from_vec(&full).unwrap());
                        prop_assert_eq!(fast.metadata, full.metadata);
                        prop_assert_eq!(&fast.answers, &full.answers);
                        prop_assert_eq!(&fast.edns, &full.edns);
                    }
                }
            }
        }

        #[test]
        fn everything_else_is_left_to_the_full_path() {
            let view = view();
            let zones = zones_of(&view, ZoneSettings::new());
            let src: std::net::IpAddr = "198.51.100.9".parse().unwrap();
            let declined = |raw: Vec<u8>| {
                let mut out = Vec::new();
                !crate::fast_path::answer(zones.load().latest(), &view, &raw, src, &mut out, None)
            };
            let plain = |name: &str, qtype| build(name, qtype, 1, 1232, false, "", false, false);
            assert!(declined(plain("example.com.", RecordType::SOA)), "apex");
            assert!(
                declined(plain("nope.example.com.", RecordType::A)),
                "not steered"
            );
            assert!(
                declined(plain("www.example.org.", RecordType::A)),
                "outside"
            );
            assert!(
                declined(plain("www.example.com.", RecordType::RRSIG)),
                "RRSIG"
            );
            assert!(declined(plain("www.example.com.", RecordType::ANY)), "ANY");
            let mut badvers = plain("www.example.com.", RecordType::A);
            let version_at = badvers.len() - 5;
            badvers[version_at] = 1;
            assert!(declined(badvers), "EDNS version 1");
            let mut bits_set = build(
                "www.example.com.",
                RecordType::A,
                2,
                1232,
                false,
                "203.0.112.0/23",
                false,
                false,
            );
            let last = bits_set.len() - 1;
            bits_set[last] |= 1;
            assert!(
                declined(bits_set),
                "invalid ECS is FORMERR, not for the fast path"
            );
        }
    }
}
