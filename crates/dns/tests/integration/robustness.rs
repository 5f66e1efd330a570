//! Hostile traffic: 100,000 random and mutated datagrams at the running
//! server; it keeps answering valid queries correctly, and everything it
//! sends back is a well-formed DNS response.

use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::RecordType;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use crate::client::{self, Opt, Transport};
use crate::server::{BEIJING, CDN_B, ORIGIN, TestServer, US};

const PACKETS: usize = 100_000;

/// Valid queries to mutate: plain, EDNS, ECS v4 and v6, other types.
fn seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for (name, qtype, opt) in [
        (
            "www.example.com.",
            RecordType::A,
            Opt::Ecs("203.0.113.0/24"),
        ),
        (
            "www.example.com.",
            RecordType::AAAA,
            Opt::Ecs("2001:db8:100::/48"),
        ),
        ("example.com.", RecordType::SOA, Opt::Edns),
        ("nope.example.com.", RecordType::A, Opt::None),
        ("example.com.", RecordType::NS, Opt::Ecs("0.0.0.0/0")),
    ] {
        seeds.push(client::query(name, qtype, opt).to_vec().unwrap());
    }
    seeds
}

fn mutate(rng: &mut SmallRng, seed: &[u8]) -> Vec<u8> {
    let mut packet = seed.to_vec();
    match rng.random_range(0..6) {
        // flip a few bytes
        0 => {
            for _ in 0..rng.random_range(1..8) {
                let i = rng.random_range(0..packet.len());
                packet[i] = rng.random();
            }
        }
        // cut short
        1 => packet.truncate(rng.random_range(0..packet.len())),
        // garbage appended
        2 => packet.extend((0..rng.random_range(1..64)).map(|_| rng.random::<u8>())),
        // hostile header counts
        3 => {
            let i = 4 + 2 * rng.random_range(0..4usize);
            packet[i] = rng.random();
            packet[i + 1] = rng.random();
        }
        // ECS fields (the last option of the seeds that have one) scrambled
        4 => {
            let len = packet.len();
            for byte in &mut packet[len.saturating_sub(8)..] {
                if rng.random_bool(0.5) {
                    *byte = rng.random();
                }
            }
        }
        // a compression pointer somewhere
        _ => {
            let i = rng.random_range(12..packet.len());
            packet[i] = 0xc0 | rng.random_range(0..0x40u8);
        }
    }
    packet
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_and_mutated_packets_do_not_hurt_the_server() {
    let server = TestServer::start().await;
    let addr = server.addr;

    let flood = tokio::task::spawn_blocking(move || {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let receiver = socket.try_clone().unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let (received, malformed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let reader = {
            let (done, received, malformed) = (done.clone(), received.clone(), malformed.clone());
            std::thread::spawn(move || {
                let mut buf = [0u8; 65_536];
                loop {
                    match receiver.recv(&mut buf) {
                        Ok(len) => {
                            received.fetch_add(1, Ordering::Relaxed);
                            let ok = Message::from_vec(&buf[..len])
                                .is_ok_and(|m| m.metadata.message_type == MessageType::Response);
                            if !ok {
                                malformed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(_) if done.load(Ordering::Relaxed) => break,
                        Err(_) => {}
                    }
                }
            })
        };

        let mut rng = SmallRng::seed_from_u64(0x05ee_dd05);
        let seeds = seeds();
        let started = Instant::now();
        for i in 0..PACKETS {
            let packet = if rng.random_bool(0.3) {
                let len = rng.random_range(0..600);
                (0..len).map(|_| rng.random::<u8>()).collect()
            } else {
                mutate(&mut rng, &seeds[i % seeds.len()])
            };
            // A full socket buffer only drops datagrams, which is fine here.
            let _ = socket.send_to(&packet, addr);
            if i % 256 == 255 {
                // let the server keep up a little: bounded time either way
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        let elapsed = started.elapsed();
        std::thread::sleep(Duration::from_millis(500));
        done.store(true, Ordering::Relaxed);
        reader.join().unwrap();
        (
            elapsed,
            received.load(Ordering::Relaxed),
            malformed.load(Ordering::Relaxed),
        )
    });
    let (elapsed, received, malformed) = flood.await.unwrap();
    eprintln!(
        "sent {PACKETS} hostile datagrams in {elapsed:?}; {received} responses, {malformed} malformed"
    );
    assert_eq!(malformed, 0, "every response parses as a DNS response");
    assert!(
        received > 0,
        "some of the mutated queries are still valid and answered"
    );

    // Still answering, correctly, over both transports.
    for transport in [Transport::Udp, Transport::Tcp] {
        let r = client::ask(
            addr,
            transport,
            "www.example.com.",
            RecordType::A,
            Opt::Ecs(BEIJING),
        )
        .await;
        assert_eq!(client::cname(&r).as_deref(), Some(ORIGIN));
        let r = client::ask(
            addr,
            transport,
            "www.example.com.",
            RecordType::A,
            Opt::Ecs(US),
        )
        .await;
        assert_eq!(client::cname(&r).as_deref(), Some(CDN_B));
    }
}
