//! The common query, answered straight from the wire: one question for a
//! steered name, class IN, an ordinary type, with or without an OPT record
//! (ECS or not). Everything else, and anything this code is unsure about,
//! goes through hickory's full parse and encode instead.
//!
//! The answer is the same message the full path gives (the request-path
//! tests and the fuzz target compare the two); only the work differs: no
//! allocation, no decoding into records, the question copied as it came.

use std::net::IpAddr;

use hickory_proto::op::ResponseCode;

use crate::answer::{NAME_KEY_CAPACITY, Steered, name_key_byte};
use crate::ecs::{self, ClientSubnet};
use crate::observer::{Answered, QueryObserver, SteeredAnswer, Transport};
use crate::respond::{MAX_UDP_PAYLOAD, SteeringView};
use crate::zone_table::{Place, ZoneTable};

const HEADER: usize = 12;
const TYPE_OPT: u16 = 41;
const TYPE_CNAME: u16 = 5;
const CLASS_IN: u16 = 1;
const OPTION_NSID: u16 = 3;
const OPTION_SUBNET: u16 = 8;

/// The parts of a query the answer needs.
struct Query<'q> {
    id: [u8; 2],
    recursion_desired: bool,
    checking_disabled: bool,
    /// The question section as sent.
    question: &'q [u8],
    opt: Option<Opt>,
}

struct Opt {
    payload: u16,
    dnssec_ok: bool,
    subnet: Option<ClientSubnet>,
}

/// Writes the answer to `datagram` into `out` when it is the common case,
/// and tells `observer`; `false` (and `out` unspecified, nothing observed)
/// when the full path must answer.
pub(crate) fn answer<V: SteeringView>(
    table: &ZoneTable,
    view: &V,
    datagram: &[u8],
    src: IpAddr,
    out: &mut Vec<u8>,
    observer: Option<&dyn QueryObserver>,
) -> bool {
    let mut key_buf = [0u8; NAME_KEY_CAPACITY];
    let Some((query, key)) = parse(datagram, &mut key_buf) else {
        return false;
    };
    // Only plain names inside a zone; the apex (SOA, NS) and everything
    // that is not steered take the full path.
    if !matches!(table.place(key), Place::Inside { .. } | Place::Host(..)) {
        return false;
    }
    let subnet = query.opt.as_ref().and_then(|opt| opt.subnet);
    let client = subnet
        .and_then(|cs| cs.network())
        .unwrap_or_else(|| ecs::host_network(src));
    let Some(steered) = view.decide(key, client) else {
        return false;
    };
    if steered.nodata {
        // No data (a policy failed closed) is the full path's: it carries
        // the zone's SOA.
        return false;
    }
    if !encode(&query, &steered, out) {
        return false;
    }
    if let Some(observer) = observer {
        observer.observe(&Answered {
            transport: Transport::Udp,
            response_code: ResponseCode::NoError,
            client_subnet: subnet.is_some(),
            version: view.version(),
            steered: Some(SteeredAnswer {
                domain: key,
                rule: steered.rule,
                provider: steered.provider,
                cname: steered.cname,
            }),
        });
    }
    true
}

/// Reads the header, the question and an optional OPT record; `None` for
/// anything outside the common shape.
fn parse<'q, 'k>(
    datagram: &'q [u8],
    key_buf: &'k mut [u8; NAME_KEY_CAPACITY],
) -> Option<(Query<'q>, &'k str)> {
    let header = datagram.get(..HEADER)?;
    let (flags, low) = (header[2], header[3]);
    // A query (QR 0), opcode QUERY.
    if flags & 0x80 != 0 || (flags >> 3) & 0x0f != 0 {
        return None;
    }
    let count = |i: usize| u16::from_be_bytes([header[i], header[i + 1]]);
    let (questions, answers, authorities, additionals) = (count(4), count(6), count(8), count(10));
    if questions != 1 || answers != 0 || authorities != 0 || additionals > 1 {
        return None;
    }

    // QNAME: uncompressed labels, at most 255 octets, lowered into the key.
    let mut pos = HEADER;
    let mut key_len = 0;
    loop {
        let len = usize::from(*datagram.get(pos)?);
        if len == 0 {
            pos += 1;
            break;
        }
        if len > 63 {
            return None;
        }
        let label = datagram.get(pos + 1..pos + 1 + len)?;
        if key_len != 0 {
            *key_buf.get_mut(key_len)? = b'.';
            key_len += 1;
        }
        for &byte in label {
            *key_buf.get_mut(key_len)? = name_key_byte(byte);
            key_len += 1;
        }
        pos += 1 + len;
        if pos - HEADER > 255 {
            return None;
        }
    }
    if pos - HEADER > 255 {
        return None;
    }
    let fixed = datagram.get(pos..pos + 4)?;
    let qtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    let qclass = u16::from_be_bytes([fixed[2], fixed[3]]);
    // Types aliased by a CNAME, except those with their own rules: reserved
    // 0, NS and SOA (apex), OPT, RRSIG and NSEC (beside a CNAME), meta-types.
    if qclass != CLASS_IN || matches!(qtype, 0 | 2 | 6 | 41 | 46 | 47 | 128..) {
        return None;
    }
    pos += 4;
    let question = &datagram[HEADER..pos];

    let opt = if additionals == 1 {
        let (opt, end) = parse_opt(datagram, pos)?;
        pos = end;
        Some(opt)
    } else {
        None
    };
    if pos != datagram.len() {
        return None;
    }
    // Only ASCII was written (see `name_key_byte`).
    let key = std::str::from_utf8(&key_buf[..key_len]).ok()?;
    Some((
        Query {
            id: [header[0], header[1]],
            recursion_desired: flags & 0x01 != 0,
            checking_disabled: low & 0x10 != 0,
            question,
            opt,
        },
        key,
    ))
}

/// An OPT record at `pos`: version 0, options other than NSID, at most one
/// valid ECS option.
fn parse_opt(datagram: &[u8], pos: usize) -> Option<(Opt, usize)> {
    let fixed = datagram.get(pos..pos + 11)?;
    // root owner, type OPT
    if fixed[0] != 0 || u16::from_be_bytes([fixed[1], fixed[2]]) != TYPE_OPT {
        return None;
    }
    let payload = u16::from_be_bytes([fixed[3], fixed[4]]);
    let (version, flags) = (fixed[6], u16::from_be_bytes([fixed[7], fixed[8]]));
    if version != 0 {
        return None;
    }
    let rdlen = usize::from(u16::from_be_bytes([fixed[9], fixed[10]]));
    let start = pos + 11;
    let rdata = datagram.get(start..start + rdlen)?;
    let mut subnet = None;
    let mut at = 0;
    while at < rdata.len() {
        let head = rdata.get(at..at + 4)?;
        let code = u16::from_be_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let data = rdata.get(at + 4..at + 4 + len)?;
        match code {
            OPTION_SUBNET if subnet.is_none() => subnet = Some(ecs::parse_option(data).ok()?),
            // a second ECS option (FORMERR) and NSID (parsed by hickory) go
            // the full way; other options are ignored there too
            OPTION_SUBNET | OPTION_NSID => return None,
            _ => {}
        }
        at += 4 + len;
    }
    Some((
        Opt {
            payload,
            dnssec_ok: flags & 0x8000 != 0,
            subnet,
        },
        start + rdlen,
    ))
}

/// The CNAME answer, as the full path writes it.
fn encode(query: &Query<'_>, steered: &Steered<'_>, out: &mut Vec<u8>) -> bool {
    out.clear();
    out.extend_from_slice(&query.id);
    // QR, opcode QUERY, AA, RD copied; RA 0, AD 0, CD copied, NOERROR.
    out.push(0x84 | u8::from(query.recursion_desired));
    out.push(if query.checking_disabled { 0x10 } else { 0 });
    let additionals = u16::from(query.opt.is_some());
    for count in [1u16, 1, 0, additionals] {
        out.extend_from_slice(&count.to_be_bytes());
    }
    out.extend_from_slice(query.question);

    // The owner is the question's name: a pointer to offset 12.
    out.extend_from_slice(&[0xc0, 0x0c]);
    out.extend_from_slice(&TYPE_CNAME.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    out.extend_from_slice(&steered.ttl.to_be_bytes());
    let rdlen_at = out.len();
    out.extend_from_slice(&[0, 0]);
    if !write_name(steered.cname, out) {
        return false;
    }
    let Ok(rdlen) = u16::try_from(out.len() - rdlen_at - 2) else {
        return false;
    };
    out[rdlen_at..rdlen_at + 2].copy_from_slice(&rdlen.to_be_bytes());

    let limit = match &query.opt {
        Some(opt) => {
            let payload = opt.payload.clamp(512, MAX_UDP_PAYLOAD);
            out.push(0); // root
            out.extend_from_slice(&TYPE_OPT.to_be_bytes());
            out.extend_from_slice(&payload.to_be_bytes());
            // extended RCODE 0, version 0, DO copied (RFC 3225)
            out.extend_from_slice(&[0, 0, if opt.dnssec_ok { 0x80 } else { 0 }, 0]);
            match opt.subnet {
                Some(subnet) => {
                    let echo = subnet.echo(steered.scope_prefix);
                    let octets = usize::from(echo.source_prefix()).div_ceil(8);
                    let address: [u8; 16] = match echo.addr() {
                        IpAddr::V4(v4) => {
                            let mut a = [0; 16];
                            a[..4].copy_from_slice(&v4.octets());
                            a
                        }
                        IpAddr::V6(v6) => v6.octets(),
                    };
                    let family: u16 = if echo.addr().is_ipv4() { 1 } else { 2 };
                    let Ok(option_len) = u16::try_from(4 + octets) else {
                        return false;
                    };
                    out.extend_from_slice(&(option_len + 4).to_be_bytes());
                    out.extend_from_slice(&OPTION_SUBNET.to_be_bytes());
                    out.extend_from_slice(&option_len.to_be_bytes());
                    out.extend_from_slice(&family.to_be_bytes());
                    out.push(echo.source_prefix());
                    out.push(echo.scope_prefix());
                    out.extend_from_slice(&address[..octets]);
                }
                None => out.extend_from_slice(&[0, 0]),
            }
            usize::from(payload)
        }
        None => 512,
    };
    // Would need TC: the full path truncates.
    out.len() <= limit
}

/// A dotted name (no trailing dot) in wire form; `false` if it is not a
/// valid one (the full path then decides what to do).
fn write_name(name: &str, out: &mut Vec<u8>) -> bool {
    let start = out.len();
    if !name.is_empty() {
        for label in name.split('.') {
            let Ok(len) = u8::try_from(label.len()) else {
                return false;
            };
            if len == 0 || len > 63 {
                return false;
            }
            out.push(len);
            out.extend_from_slice(label.as_bytes());
        }
    }
    out.push(0);
    out.len() - start <= 255
}
