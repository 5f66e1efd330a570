//! `DnsServer::bind` on port 0: UDP picks a free port, which TCP may hold.

use std::net::TcpListener;

use steerage_dns::{DnsServer, ServerOptions, SteeringHandler};

use crate::server::scenario_steering;

/// Regression: with port 0, the UDP port the system picked could be taken
/// for TCP (by any program), and `bind` failed with "address in use".
/// Holding TCP listeners on many ephemeral ports makes that likely for each
/// bind; every bind must still succeed.
#[tokio::test]
async fn port_0_never_fails_when_tcp_holds_the_udp_port() {
    let (low, high) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| {
            let mut ports = range.split_whitespace().map(|p| p.parse::<u32>().ok());
            Some((ports.next()??, ports.next()??))
        })
        .unwrap_or((32768, 60999));
    let range = f64::from(high.saturating_sub(low).max(1));
    // Listeners on ephemeral ports, as many as the descriptor limit allows
    // up to 4,000.
    let mut held = Vec::new();
    while held.len() < 4000 {
        match TcpListener::bind("127.0.0.1:0") {
            Ok(listener) => held.push(listener),
            Err(_) => break,
        }
    }
    // Leave descriptors for the servers.
    held.truncate(held.len().saturating_sub(64));
    let taken = held.len() as f64 / range;
    // Enough binds that the old code fails with probability above 99.99 %.
    let binds = ((1e-4f64).ln() / (1.0 - taken).ln())
        .ceil()
        .clamp(1.0, 3000.0) as usize;
    let handler = SteeringHandler::new(scenario_steering()).unwrap();
    for i in 0..binds {
        let server = DnsServer::bind(
            "127.0.0.1:0".parse().unwrap(),
            handler.clone(),
            ServerOptions::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("bind {i} of {binds} ({} TCP ports held): {e:?}", held.len()));
        assert_ne!(server.local_addr().port(), 0);
    }
}
