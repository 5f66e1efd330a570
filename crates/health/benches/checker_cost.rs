//! The CPU cost of checking 1,000 providers every second: 1,000 distinct
//! probes (one per policy; distinct paths, or distinct ports for tcp) against
//! loopback servers that run in a child process (this binary again), so
//! that only the checker's own work is counted. The cost is the process's
//! user + system time (`getrusage(RUSAGE_SELF)`, which leaves the child
//! out) over the wall time of a run, as a percentage of one core, per
//! protocol (`http`, `tcp`, `https` with a CA made here). Target: under
//! 5 % of one core for `http` and `tcp`.
//!
//! `cargo bench -p steerage-health --bench checker_cost` measures for 10 s
//! per protocol; `cargo test --benches` runs 100 providers for 1 s as a
//! smoke test. Not a criterion bench: the figure is a rate over a run, not
//! a time per call.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};
use steerage::Steering;
use steerage::geo::LocationTable;
use steerage::policy::Format;
use steerage_health::HealthChecker;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SERVE: &str = "STEERAGE_HEALTH_BENCH_SERVE";

fn main() {
    if let Ok(spec) = std::env::var(SERVE) {
        serve(&spec);
        return;
    }
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let (providers, seconds) = if benchmarking { (1_000, 10) } else { (100, 1) };
    for kind in ["http", "tcp", "https"] {
        measure(kind, providers, seconds);
    }
    baseline(providers, seconds);
}

/// The baseline: the same number of TCP connections a second to the same
/// kind of child server, made by bare tokio tasks (connect, close) with no
/// checker, no HTTP and no `Steering`. On loopback the kernel's work for
/// both ends of a handshake is mostly charged to the connecting process;
/// this shows how much of the checker's figure that is.
fn baseline(connections: usize, seconds: u64) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(SERVE, format!("tcp:{connections}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ports: Vec<u16> = line.trim().split(',').map(|p| p.parse().unwrap()).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (cpu, wall) = runtime.block_on(async {
        let tasks: Vec<_> = ports
            .iter()
            .enumerate()
            .map(|(i, &port)| {
                tokio::spawn(async move {
                    // Spread like the checker's jitter.
                    let offset = Duration::from_micros((i as u64 * 1_000_000) / 1_000);
                    tokio::time::sleep(offset).await;
                    let mut ticker = tokio::time::interval(Duration::from_secs(1));
                    loop {
                        ticker.tick().await;
                        let _ = tokio::net::TcpStream::connect(("127.0.0.1", port)).await;
                    }
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (cpu0, wall0) = (cpu_seconds(), Instant::now());
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let (cpu1, wall) = (cpu_seconds(), wall0.elapsed());
        for t in tasks {
            t.abort();
        }
        ((cpu1.0 - cpu0.0, cpu1.1 - cpu0.1), wall.as_secs_f64())
    });
    drop(child.stdin.take());
    let _ = child.wait();
    let (user, system) = cpu;
    println!(
        "checker_cost/baseline_bare_tcp_connects/{connections}: {:.2} % of one core ({user:.3} s user + {system:.3} s system over {wall:.2} s)",
        100.0 * (user + system) / wall
    );
}

/// The child: serves on `spec`'s ports (`http:N`, `tcp:N`, `https:N:CAFILE`)
/// until its stdin closes, after printing its ports.
fn serve(spec: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut parts = spec.split(':');
        let kind = parts.next().unwrap().to_owned();
        let count: usize = parts.next().unwrap().parse().unwrap();
        let tls = (kind == "https").then(|| {
            let ca_file = parts.next().unwrap();
            tls_acceptor(ca_file)
        });
        let ports = if kind == "tcp" { count } else { 1 };
        let mut bound = Vec::new();
        for _ in 0..ports {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            bound.push(port.to_string());
            let tls = tls.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let tls = tls.clone();
                    tokio::spawn(async move {
                        match tls {
                            Some(acceptor) => {
                                if let Ok(s) = acceptor.accept(stream).await {
                                    reply(s).await;
                                }
                            }
                            None => reply(stream).await,
                        }
                    });
                }
            });
        }
        println!("{}", bound.join(","));
        std::io::stdout().flush().unwrap();
        // Until the parent closes our stdin.
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await
        .unwrap();
    });
}

async fn reply<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(mut s: S) {
    let mut buf = [0u8; 2048];
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let _ = s
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .await;
    let _ = s.shutdown().await;
}

fn tls_acceptor(ca_file: &str) -> tokio_rustls::TlsAcceptor {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    std::fs::write(ca_file, ca.pem()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["bench.example".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
    .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// User and system CPU seconds of this process so far.
fn cpu_seconds() -> (f64, f64) {
    let usage = getrusage(UsageWho::RUSAGE_SELF).unwrap();
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    (secs(usage.user_time()), secs(usage.system_time()))
}

fn measure(kind: &str, providers: usize, seconds: u64) {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    let spec = match kind {
        "https" => format!("https:{providers}:{}", ca_file.display()),
        _ => format!("{kind}:{providers}"),
    };
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(SERVE, spec)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ports: Vec<u16> = line.trim().split(',').map(|p| p.parse().unwrap()).collect();
    let first_port = ports[0];

    let mut config = String::from("[builtin]\ncname = \"edge.example.net\"\n");
    for i in 0..providers {
        // Distinct paths (http, https) or ports (tcp): one probe each.
        let check = match kind {
            "tcp" => format!(
                "kind = \"tcp\"\nport = {}",
                ports.get(i).copied().unwrap_or(first_port)
            ),
            "https" => format!(
                "kind = \"https\"\nport = {first_port}\npath = \"/p{i}\"\nhost = \"bench.example\"\nca_file = \"{}\"",
                ca_file.display()
            ),
            _ => format!("kind = \"http\"\nport = {first_port}\npath = \"/p{i}\""),
        };
        config.push_str(&format!(
            "\n[[policy]]\ndomain = \"d{i}.example.com\"\n[[policy.provider]]\nname = \"p\"\nkind = \"cdn\"\ncname = \"p.cdn.example\"\n[policy.provider.check]\n{check}\ntarget = \"127.0.0.1\"\ninterval_ms = 1000\ntimeout_ms = 500\njitter_ms = 1000\n[policy.default]\ntargets = [{{ provider = \"p\", weight = 1 }}]\n"
        ));
    }
    let steering = Arc::new(
        Steering::builder()
            .config_str(&config, Format::Toml)
            .locations(LocationTable::sample())
            .build()
            .unwrap(),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (cpu, wall, stats, probes) = runtime.block_on(async {
        let checker = HealthChecker::start(Arc::clone(&steering)).unwrap();
        // Warm up: every probe has run and the jitter has spread them.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (cpu0, wall0, before) = (cpu_seconds(), Instant::now(), checker.stats());
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let (cpu1, wall1, after) = (cpu_seconds(), wall0.elapsed(), checker.stats());
        let probes = checker.probes();
        checker.stop();
        (
            (cpu1.0 - cpu0.0, cpu1.1 - cpu0.1),
            wall1.as_secs_f64(),
            (
                after.checks - before.checks,
                after.failures - before.failures,
            ),
            probes,
        )
    });
    drop(child.stdin.take());
    let _ = child.wait();
    let down = steering.health().iter().filter(|h| h.is_down()).count();
    let (user, system) = cpu;
    println!(
        "checker_cost/{kind}/{providers}: {:.2} % of one core ({user:.3} s user + {system:.3} s system over {wall:.2} s; {} probes, {} checks, {} failed, {down} down)",
        100.0 * (user + system) / wall,
        probes,
        stats.0,
        stats.1,
    );
    assert_eq!(probes, providers);
    assert!(stats.0 > 0);
}
