//! The EDNS Client Subnet option (RFC 7871) as the server reads it from a raw
//! query (`steerage_dns::fuzz_client_subnet`, the crate's `ecs::client_subnet`).
//!
//! Each input is tried twice:
//!
//! - as the data of an ECS option in an otherwise fixed query: the option is
//!   accepted exactly when it obeys RFC 7871 section 6 (family 1 or 2, source
//!   prefix within the family's width, address exactly ceil(source / 8)
//!   octets, no bits set beyond the source prefix), and an accepted option
//!   gives back the family, source prefix and address sent, with a network of
//!   that prefix containing the address (none for source 0);
//! - as a whole message: whatever is accepted obeys the same constraints, and
//!   when hickory-proto also finds an ECS option in it, both read the same
//!   family, source prefix and address.
//!
//! Run: `cargo fuzz run ecs_option --sanitizer none -- -max_total_time=60`
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::op::Message;
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use libfuzzer_sys::fuzz_target;
use steerage_dns::{FuzzClientSubnet, fuzz_client_subnet};

fuzz_target!(|data: &[u8]| {
    check_option(data);
    check_message(data);
});

/// A query for www.example.com A whose OPT record holds one ECS option with
/// `data` (cut to what an option can carry).
fn query_with_option(data: &[u8]) -> Vec<u8> {
    let data = &data[..data.len().min(usize::from(u16::MAX) - 4)];
    let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1];
    m.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
    m.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0]);
    let option_len = u16::try_from(data.len() + 4).expect("cut above");
    m.extend_from_slice(&option_len.to_be_bytes());
    m.extend_from_slice(&[0, 8]);
    let data_len = u16::try_from(data.len()).expect("cut above");
    m.extend_from_slice(&data_len.to_be_bytes());
    m.extend_from_slice(data);
    m
}

/// What RFC 7871 section 6 says the option data means: the address and
/// source prefix, or `None` when the option is malformed.
fn rfc7871(data: &[u8]) -> Option<(IpAddr, u8)> {
    let [f0, f1, source, _scope, address @ ..] = data else {
        return None;
    };
    let width = match u16::from_be_bytes([*f0, *f1]) {
        1 => 32,
        2 => 128,
        _ => return None,
    };
    if *source > width || address.len() != usize::from(*source).div_ceil(8) {
        return None;
    }
    let mut octets = [0u8; 16];
    octets[..address.len()].copy_from_slice(address);
    let bits = u128::from_be_bytes(octets);
    // Every bit past the source prefix (counted from the top) must be zero.
    let beyond = u128::MAX.checked_shr(u32::from(*source)).unwrap_or(0);
    if bits & beyond != 0 {
        return None;
    }
    let ip = if width == 32 {
        IpAddr::V4(Ipv4Addr::new(octets[0], octets[1], octets[2], octets[3]))
    } else {
        IpAddr::V6(Ipv6Addr::from(octets))
    };
    Some((ip, *source))
}

fn check_option(data: &[u8]) {
    let message = query_with_option(data);
    let got = fuzz_client_subnet(&message);
    match (
        rfc7871(&data[..data.len().min(usize::from(u16::MAX) - 4)]),
        got,
    ) {
        (Some((ip, source)), Ok(Some(found))) => {
            assert_eq!((found.0, found.1), (ip, source), "option {data:02x?}");
            check_accepted(&found);
        }
        (None, Err(_)) => {}
        (expected, got) => panic!("option {data:02x?}: RFC 7871 says {expected:?}, got {got:?}"),
    }
}

/// RFC 7871's constraints on an accepted option.
fn check_accepted(&(address, source, network): &FuzzClientSubnet) {
    let width = if address.is_ipv4() { 32 } else { 128 };
    assert!(source <= width, "source /{source} for {address}");
    match network {
        None => assert_eq!(source, 0, "no network for {address}/{source}"),
        Some(net) => {
            assert_ne!(source, 0, "source 0 opts out");
            assert_eq!(net.prefix_len(), source);
            assert!(net.contains(&address), "{net} lacks {address}");
            assert_eq!(net.network(), address, "bits beyond /{source} in {address}");
        }
    }
}

fn check_message(data: &[u8]) {
    let Ok(found) = fuzz_client_subnet(data) else {
        return;
    };
    if let Some(found) = &found {
        check_accepted(found);
    }
    let Ok(message) = Message::from_vec(data) else {
        return;
    };
    let hickory = message
        .edns
        .as_ref()
        .and_then(|edns| edns.option(EdnsCode::Subnet));
    if let (Some(EdnsOption::Subnet(theirs)), Some(ours)) = (hickory, found) {
        assert_eq!(
            (theirs.addr(), theirs.source_prefix()),
            (ours.0, ours.1),
            "hickory reads another option from {data:02x?}"
        );
    }
}
