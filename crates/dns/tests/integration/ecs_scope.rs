//! The ECS scope in the echo (RFC 7871): in the bits of the option's own
//! family, and longer than the source prefix when the subnet sent mixes
//! answers; the same on the wire-level fast path (UDP, type A), hickory's
//! full path (UDP, type ANY) and TCP.

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use hickory_proto::rr::rdata::opt::ClientSubnet;

use crate::client::{self, Opt, Transport};
use crate::server::{BUILTIN, CDN_A, ORIGIN, TestServer};

/// The reproducer: `www.example.com A` with ECS family 2, source
/// /96, address `::ffff:0.0.0.0` (the whole IPv4-mapped space).
const MAPPED_SLASH_96: &str = "12340100000100000000000103777777076578616d706c6503636f6d0000010001\
                               00002904d0000000000014000800100002600000000000000000000000ffff";

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// The query as sent, and the same with type ANY (which the fast path
/// leaves to the full path), each over UDP and TCP: four responses.
async fn ask_every_way(server: &TestServer, query: &[u8]) -> Vec<(String, Message)> {
    let mut any = query.to_vec();
    // QTYPE follows the 12-byte header and the name www.example.com.
    any[12 + 17..12 + 19].copy_from_slice(&255u16.to_be_bytes());
    let mut out = Vec::new();
    for (label, bytes) in [("A", query), ("ANY", &any[..])] {
        for transport in [Transport::Udp, Transport::Tcp] {
            let raw = client::exchange_raw(server.addr, transport, bytes).await;
            let message = Message::from_vec(&raw).unwrap();
            assert_eq!(message.metadata.response_code, ResponseCode::NoError);
            out.push((format!("{label} over {transport:?}"), message));
        }
    }
    out
}

fn ecs_query(subnet: &str) -> Vec<u8> {
    client::query("www.example.com.", RecordType::A, Opt::Ecs(subnet))
        .to_vec()
        .unwrap()
}

/// The scope the engine decides for `subnet`.
fn engine_scope(server: &TestServer, subnet: &str) -> u8 {
    server
        .steering
        .select_subnet("www.example.com", subnet.parse().unwrap())
        .unwrap()
        .scope_prefix()
}

fn echo(message: &Message, how: &str) -> ClientSubnet {
    client::ecs(message).unwrap_or_else(|| panic!("{how}: no ECS echo"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ipv4_mapped_address_in_an_ipv6_option_gets_an_ipv6_scope() {
    let server = TestServer::start().await;
    // The reproducer: all of ::ffff:0:0/96 located at 0.0.0.0 (reserved:
    // the default rule). Its scope used to be the IPv4 one (0: cached for
    // all of ::/0); it must be at least /96.
    let v4 = server
        .steering
        .select("www.example.com", "0.0.0.0".parse().unwrap())
        .unwrap()
        .scope_prefix();
    for (how, r) in ask_every_way(&server, &unhex(MAPPED_SLASH_96)).await {
        let echo = echo(&r, &how);
        assert_eq!(
            (echo.addr(), echo.source_prefix()),
            ("::ffff:0.0.0.0".parse().unwrap(), 96),
            "{how}"
        );
        assert_eq!(echo.scope_prefix(), 96 + v4, "{how}");
    }
    // ::ffff:192.0.2.0/120 is Beijing's 192.0.2.0/24: scope /120, not /24.
    for subnet in ["::ffff:192.0.2.0/120", "::ffff:192.0.2.10/128"] {
        for (how, r) in ask_every_way(&server, &ecs_query(subnet)).await {
            assert_eq!(client::cname(&r).as_deref(), Some(ORIGIN), "{subnet} {how}");
            let echo = echo(&r, &how);
            assert_eq!(echo.scope_prefix(), 120, "{subnet} {how}");
            assert_eq!(echo.scope_prefix(), engine_scope(&server, subnet));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subnet_mixing_answers_gets_the_longer_scope() {
    let server = TestServer::start().await;
    // 198.18.0.0/16 holds China (cdn-a / built-in) and default (cdn-b)
    // clients: the answer is 198.18.0.0's, for its own scope only.
    let alone = server
        .steering
        .select("www.example.com", "198.18.0.0".parse().unwrap())
        .unwrap();
    assert!(alone.scope_prefix() > 16, "/{}", alone.scope_prefix());
    assert_eq!(engine_scope(&server, "198.18.0.0/16"), alone.scope_prefix());
    for (how, r) in ask_every_way(&server, &ecs_query("198.18.0.0/16")).await {
        let target = client::cname(&r).unwrap();
        assert!(
            [CDN_A, BUILTIN].contains(&target.as_str()),
            "{how}: {target}"
        );
        let echo = echo(&r, &how);
        assert_eq!(echo.source_prefix(), 16, "{how}");
        assert_eq!(echo.scope_prefix(), alone.scope_prefix(), "{how}");
    }
}
