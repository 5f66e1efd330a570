//! How long answers wait while a large config file is reloaded: the server
//! on one runtime thread (the example's `--threads 1`), a client asking over
//! UDP and over fresh TCP connections without pause, and
//! [`steerage_dns::reload`] of a 100,000-policy JSON file in which every
//! policy changed (all of it read, parsed and compiled again).
//!
//! Reported per transport: answers from the old configuration while the
//! reload ran (the reload's own cost to answering: the target is a worst
//! case under 5 ms), answers when idle for comparison (the half second
//! before the reload; the new file is written before that, so that the
//! bench's own writing of 44 MB is in neither), and the first answers from
//! the new configuration.
//!
//! The baseline, in the same run: the reload called on the runtime thread,
//! as the example did before.
//!
//! `cargo bench -p steerage-dns --bench reload_latency` (a bench binary,
//! not criterion: it measures one event, several times). Under
//! `cargo test --benches` it runs once on 2,000 policies.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use steerage::Steering;
use steerage::geo::LocationTable;
use steerage_dns::hickory_proto::op::{Message, Query};
use steerage_dns::hickory_proto::rr::{Name, RecordType};
use steerage_dns::{DnsServer, ServerOptions, SteeringHandler};

/// A configuration of `n` policies, all in example.com, with `ttl`.
fn config(n: usize, ttl: u32) -> String {
    let mut text = String::with_capacity(n * 420);
    text.push_str(r#"{"builtin":{"cname":"edge.example.org"},"policy":["#);
    for i in 0..n {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!(
            concat!(
                r#"{{"domain":"www{i}.example.com","ttl":{ttl},"provider":["#,
                r#"{{"name":"origin","kind":"origin","cname":"origin.example.net"}},"#,
                r#"{{"name":"cdn-a","kind":"cdn","cname":"cdn-a.example.net"}}],"#,
                r#""rule":[{{"name":"beijing","lines":["CN-BJ"],"targets":[{{"provider":"origin","weight":100}}]}},"#,
                r#"{{"name":"china","lines":["CN"],"targets":[{{"provider":"cdn-a","weight":70}},{{"provider":"builtin","weight":30}}]}}],"#,
                r#""default":{{"targets":[{{"provider":"cdn-a","weight":100}}]}}}}"#
            ),
            i = i,
            ttl = ttl
        ));
    }
    text.push_str("]}");
    text
}

/// Where the reload runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `steerage_dns::reload`: on a blocking thread.
    Blocking,
    /// `Steering::reload` called on the runtime thread, as the example did:
    /// the baseline.
    Inline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
}

/// One answer: when it was asked, how long it took, its TTL (which
/// configuration answered).
#[derive(Debug, Clone, Copy)]
struct Sample {
    transport: Transport,
    sent: Instant,
    latency: Duration,
    ttl: u32,
}

fn query(i: usize) -> Vec<u8> {
    let mut message = Message::query();
    let name = Name::from_ascii(format!("www{i}.example.com.")).unwrap();
    message.add_query(Query::query(name, RecordType::A));
    message.to_vec().unwrap()
}

fn ttl_of(response: &[u8]) -> u32 {
    Message::from_vec(response)
        .ok()
        .and_then(|m| m.answers.first().map(|r| r.ttl))
        .unwrap_or(0)
}

fn ask_udp(socket: &UdpSocket, addr: SocketAddr, query: &[u8]) -> u32 {
    socket.send_to(query, addr).unwrap();
    let mut buf = [0; 512];
    let len = socket.recv(&mut buf).unwrap();
    ttl_of(&buf[..len])
}

/// A fresh connection per query, as the issue's clients did.
fn ask_tcp(addr: SocketAddr, query: &[u8]) -> u32 {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut framed = u16::try_from(query.len()).unwrap().to_be_bytes().to_vec();
    framed.extend_from_slice(query);
    stream.write_all(&framed).unwrap();
    let mut len = [0; 2];
    stream.read_exact(&mut len).unwrap();
    let mut buf = vec![0; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut buf).unwrap();
    ttl_of(&buf)
}

/// Asks without pause (UDP and TCP in turn) until `stop`.
fn client(addr: SocketAddr, names: usize, stop: &AtomicBool) -> Vec<Sample> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut samples = Vec::new();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let query = query((i * 7919) % names);
        for transport in [Transport::Udp, Transport::Tcp] {
            let sent = Instant::now();
            let ttl = match transport {
                Transport::Udp => ask_udp(&socket, addr, &query),
                Transport::Tcp => ask_tcp(addr, &query),
            };
            samples.push(Sample {
                transport,
                sent,
                latency: sent.elapsed(),
                ttl,
            });
        }
        i += 1;
    }
    samples
}

/// Max, p99 and median of `latencies`, in ms.
fn summary(mut latencies: Vec<Duration>) -> String {
    if latencies.is_empty() {
        return "no answers".to_owned();
    }
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "n {:>6}  median {:>6.3} ms  p99 {:>6.3} ms  max {:>7.3} ms",
        latencies.len(),
        ms(at(0.5)),
        ms(at(0.99)),
        ms(*latencies.last().unwrap())
    )
}

fn main() {
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let (policies, rounds) = if benchmarking {
        (100_000, 3)
    } else {
        (2_000, 1)
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steerage.json");
    std::fs::write(&path, config(policies, 60)).unwrap();
    let bytes = std::fs::metadata(&path).unwrap().len();
    let steering = Arc::new(
        Steering::builder()
            .config_file(&path)
            .locations(LocationTable::sample())
            .build()
            .unwrap(),
    );

    // The server: one runtime thread, as `dns_server --threads 1`.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let handler = SteeringHandler::new(Arc::clone(&steering)).expect("no apex is steered");
    let server = runtime
        .block_on(DnsServer::bind(
            "127.0.0.1:0".parse().unwrap(),
            handler,
            ServerOptions::default(),
        ))
        .unwrap();
    let addr = server.local_addr();
    let stop_server = server.shutdown_handle();
    let (start_tx, mut start_rx) = tokio::sync::mpsc::unbounded_channel::<Mode>();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<(Instant, Instant, u64)>();
    let reloading = Arc::clone(&steering);
    let serving = std::thread::spawn(move || {
        runtime.block_on(async move {
            let server = tokio::spawn(server.run());
            // Each round: a reload asked for from the runtime thread.
            while let Some(mode) = start_rx.recv().await {
                let started = Instant::now();
                let version = match mode {
                    Mode::Blocking => steerage_dns::reload(&reloading).await.unwrap(),
                    Mode::Inline => reloading.reload().unwrap(),
                };
                let _ = done_tx.send((started, Instant::now(), version));
            }
            server.await.unwrap().unwrap();
        });
    });

    println!(
        "reload of {policies} policies ({:.1} MB JSON), server on one runtime thread",
        bytes as f64 / 1e6
    );
    let modes = [Mode::Blocking, Mode::Inline];
    for round in 0..rounds * modes.len() {
        let mode = modes[round % modes.len()];
        let ttl = 61 + round as u32;
        let stop = Arc::new(AtomicBool::new(false));
        let asking = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || client(addr, policies, &stop))
        };
        // The new file, then idle answers, then the reload, then answers
        // from the new configuration.
        std::fs::write(&path, config(policies, ttl)).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let idle_from = Instant::now();
        std::thread::sleep(Duration::from_millis(500));
        let idle_until = Instant::now();
        start_tx.send(mode).unwrap();
        let (started, ended, version) = done_rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, Ordering::Relaxed);
        let samples = asking.join().unwrap();
        println!(
            "round {round}, {mode:?}: reload {:.0} ms, version {version}",
            (ended - started).as_secs_f64() * 1e3
        );
        for transport in [Transport::Udp, Transport::Tcp] {
            let of = |keep: &dyn Fn(&Sample) -> bool| {
                summary(
                    samples
                        .iter()
                        .filter(|s| s.transport == transport && keep(s))
                        .map(|s| s.latency)
                        .collect(),
                )
            };
            println!(
                "  {transport:?} idle:                    {}",
                of(&|s| s.sent >= idle_from && s.sent + s.latency < idle_until)
            );
            println!(
                "  {transport:?} during the reload:       {}",
                of(&|s| s.sent + s.latency > started && s.ttl != ttl)
            );
            let mut slow: Vec<&Sample> = samples
                .iter()
                .filter(|s| {
                    s.transport == transport && s.sent + s.latency > started && s.ttl != ttl
                })
                .collect();
            slow.sort_by_key(|s| std::cmp::Reverse(s.latency));
            let slow: Vec<String> = slow
                .iter()
                .take(4)
                .map(|s| {
                    format!(
                        "{:.1} ms at +{:.0} ms",
                        s.latency.as_secs_f64() * 1e3,
                        s.sent.saturating_duration_since(started).as_secs_f64() * 1e3
                    )
                })
                .collect();
            println!(
                "  {transport:?} slowest during:          {}",
                slow.join("; ")
            );
            let first_new = samples
                .iter()
                .filter(|s| s.transport == transport && s.ttl == ttl)
                .take(3)
                .map(|s| format!("{:.3}", s.latency.as_secs_f64() * 1e3))
                .collect::<Vec<_>>();
            println!(
                "  {transport:?} first new answers (ms):  {}",
                first_new.join(", ")
            );
        }
    }
    drop(start_tx);
    stop_server.shutdown();
    serving.join().unwrap();
}
