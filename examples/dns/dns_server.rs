//! A steering DNS server: serves `Steering` decisions over UDP and TCP with
//! EDNS Client Subnet, using the `steerage-dns` hickory adapter.
//!
//! ```sh
//! cargo run --example dns_server -- --listen 127.0.0.1:5353
//! dig @127.0.0.1 -p 5353 www.example.com +subnet=203.0.113.7/24
//! ```
//!
//! Without `--config` it serves the policy of the `quickstart` example and of
//! the DNS peer benchmark (`www.example.com`: Beijing -> origin, rest of
//! China -> cdn-a 70 / built-in 30, everyone else -> cdn-b) on the built-in
//! sample data; with `--config FILE` (TOML or JSON, see the configuration
//! guide in `steerage-policy`) it serves that file and reloads it on SIGHUP,
//! keeping the old configuration when the new one is invalid. `--geo FILE`
//! uses a MaxMind DB file (GeoIP2 or DB-IP schema) instead of the sample
//! data. SIGTERM and SIGINT stop it. The first line on stdout gives the
//! address; logs go to stderr. `--query-once` makes it ask itself one
//! question (www.example.com from 203.0.113.0/24, over UDP), print the
//! answer and stop: the smoke test CI runs.
//!
//! Options:
//!
//! ```text
//! --listen ADDR          address for UDP and TCP [127.0.0.1:5353]
//! --config FILE          policy configuration (TOML or JSON)
//! --geo FILE             MaxMind DB file, city/country or ASN (repeatable:
//!                        later region files fill what earlier ones leave unknown)
//! --zone NAME            serve this zone (repeatable); default: the parent
//!                        of each steered name
//! --nameserver NAME[=IP,...]  NS for every zone, with glue addresses (repeatable)
//! --threads N            runtime threads and UDP loops [1]
//! --query-once           answer one query of its own, print it, and stop
//! --help                 this list
//! ```

use std::error::Error;
use std::io::{IsTerminal, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use steerage::Steering;
use steerage::geo::{LayeredLocator, LocationTable, MmdbLocator, MmdbSchema};
use steerage::policy::Format;
use steerage::prelude::*;
use steerage_dns::{DnsServer, ServerOptions, SteeringHandler, ZoneSettings};

/// The policy served when no `--config` is given (the one the `steerage-dns`
/// tests and the peer benchmark use).
const SAMPLE_CONFIG: &str = include_str!("../../crates/dns/testdata/scenario.toml");

const USAGE: &str = "usage: dns_server [--listen ADDR] [--config FILE] [--geo FILE]... \
[--zone NAME]... [--nameserver NAME[=IP,...]]... [--threads N] [--query-once]";

const OPTIONS: &str = "  --listen ADDR               address for UDP and TCP [127.0.0.1:5353]
  --config FILE               policy configuration (TOML or JSON), reloaded on SIGHUP
  --geo FILE                  MaxMind DB file, city/country or ASN (repeatable)
  --zone NAME                 serve this zone (repeatable); default: the parent
                              of each steered name
  --nameserver NAME[=IP,...]  NS for every zone, with glue addresses (repeatable)
  --threads N                 runtime threads and UDP loops [1]
  --query-once                answer one query of its own, print it, and stop
  --help                      this list";

/// What the command line asks for.
enum Command {
    Serve(Args),
    Help,
}

#[derive(Debug)]
struct Args {
    listen: SocketAddr,
    config: Option<PathBuf>,
    geo: Vec<PathBuf>,
    zones: Vec<String>,
    nameservers: Vec<(String, Vec<IpAddr>)>,
    threads: usize,
    query_once: bool,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut parsed = Args {
        listen: SocketAddr::from(([127, 0, 0, 1], 5353)),
        config: None,
        geo: Vec::new(),
        zones: Vec::new(),
        nameservers: Vec::new(),
        threads: 1,
        query_once: false,
    };
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--help" | "-h" => return Ok(Command::Help),
            "--query-once" => {
                parsed.query_once = true;
                continue;
            }
            _ => {}
        }
        if ![
            "--listen",
            "--config",
            "--geo",
            "--zone",
            "--nameserver",
            "--threads",
        ]
        .contains(&flag.as_str())
        {
            return Err(format!("unknown option {flag}\n{USAGE}"));
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--listen" => {
                parsed.listen = value
                    .parse()
                    .map_err(|e| format!("--listen {value}: {e}"))?;
            }
            "--config" => parsed.config = Some(value.into()),
            "--geo" => parsed.geo.push(value.into()),
            "--zone" => parsed.zones.push(value),
            "--nameserver" => {
                let (name, addresses) = value.split_once('=').unwrap_or((&value, ""));
                let addresses = addresses
                    .split(',')
                    .filter(|a| !a.is_empty())
                    .map(|a| {
                        a.parse()
                            .map_err(|e| format!("--nameserver {value}: {a}: {e}"))
                    })
                    .collect::<Result<Vec<IpAddr>, String>>()?;
                parsed.nameservers.push((name.to_owned(), addresses));
            }
            "--threads" => {
                parsed.threads = value
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("--threads {value}: a positive number"))?;
            }
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok(Command::Serve(parsed))
}

/// The location table: the built-in sample, or the `--geo` files.
fn locations(files: &[PathBuf]) -> Result<LocationTable, Box<dyn Error>> {
    if files.is_empty() {
        return Ok(LocationTable::sample());
    }
    // Region files stack (the first that places an address wins); ASN files
    // add China ISP lines.
    let mut layered = LayeredLocator::new();
    for file in files {
        let locator = MmdbLocator::open(file)?;
        layered = match locator.schema() {
            MmdbSchema::Asn => layered.with_isp(locator),
            _ => layered.with_region(locator),
        };
    }
    let table = layered.compile()?;
    Ok(table)
}

fn build(args: &Args) -> Result<(Arc<Steering>, SteeringHandler), Box<dyn Error>> {
    let table = locations(&args.geo)?;
    let builder = Steering::builder().locations(table);
    let builder = match &args.config {
        Some(path) => builder.config_file(path),
        None => builder.config_str(SAMPLE_CONFIG, Format::Toml),
    };
    let steering = Arc::new(builder.build()?);
    let mut settings = ZoneSettings::new();
    for zone in &args.zones {
        settings = settings.zone(zone)?;
    }
    for (name, addresses) in &args.nameservers {
        settings = settings.nameserver(name, addresses.iter().copied())?;
    }
    let handler = SteeringHandler::with_zones(Arc::clone(&steering), settings)?;
    Ok((steering, handler))
}

async fn serve(args: Args) -> Result<(), Box<dyn Error>> {
    let (steering, handler) = build(&args)?;
    let options = ServerOptions::default().udp_workers(args.threads);
    let server = DnsServer::bind(args.listen, handler, options).await?;
    // The address, for scripts to read. A closed stdout is nobody's error:
    // `println!` would panic on it.
    let _ = writeln!(
        std::io::stdout(),
        "dns_server: listening on {} (udp+tcp), config {}, geo {}, version {}",
        server.local_addr(),
        args.config
            .as_ref()
            .map_or_else(|| "built-in sample".to_owned(), |p| p.display().to_string()),
        steering.locations().describe(),
        steering.version(),
    );
    let addr = server.local_addr();
    let shutdown = server.shutdown_handle();
    let mut running = tokio::spawn(server.run());
    if args.query_once {
        let answer = query_once(addr).await;
        shutdown.shutdown();
        let _ = tokio::time::timeout(STOP_WAIT, running).await;
        let _ = writeln!(std::io::stdout(), "{}", answer?);
        return Ok(());
    }
    tokio::select! {
        stop = signals(&steering) => stop?,
        // The server failed by itself.
        ended = &mut running => return Ok(ended??),
    }
    tracing::info!("stopping");
    shutdown.shutdown();
    // The server stops within its loops' shutdown poll; don't wait forever.
    match tokio::time::timeout(STOP_WAIT, running).await {
        Ok(ended) => Ok(ended??),
        Err(_) => Ok(()),
    }
}

/// Asks the server at `addr` for www.example.com from 203.0.113.0/24 (a
/// Shanghai subnet of the sample data) over UDP, and describes the answer.
async fn query_once(addr: SocketAddr) -> Result<String, Box<dyn Error>> {
    use steerage_dns::hickory_proto::op::{Edns, Message, Query};
    use steerage_dns::hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsCode, EdnsOption};
    use steerage_dns::hickory_proto::rr::{Name, RData, RecordType};

    // A server on a wildcard address answers on loopback.
    let target = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::from(([127, 0, 0, 1], addr.port())),
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port()))
        }
        _ => addr,
    };
    let mut query = Message::query();
    query.add_query(Query::query(
        Name::from_ascii("www.example.com.")?,
        RecordType::A,
    ));
    let mut edns = Edns::new();
    edns.options_mut().insert(EdnsOption::Subnet(
        "203.0.113.0/24".parse::<ClientSubnet>()?,
    ));
    query.set_edns(edns);
    let bind: SocketAddr = if target.is_ipv4() {
        ([127, 0, 0, 1], 0).into()
    } else {
        (std::net::Ipv6Addr::LOCALHOST, 0).into()
    };
    let socket = tokio::net::UdpSocket::bind(bind).await?;
    socket.send_to(&query.to_vec()?, target).await?;
    let mut buf = vec![0; 1232];
    let len = tokio::time::timeout(Duration::from_secs(5), socket.recv(&mut buf))
        .await
        .map_err(|_| "no answer within 5 s")??;
    let response = Message::from_vec(&buf[..len])?;
    let cname = response
        .answers
        .iter()
        .find_map(|record| match &record.data {
            RData::CNAME(target) => Some(target.0.to_ascii()),
            _ => None,
        })
        .ok_or_else(|| {
            format!(
                "no CNAME in the answer ({})",
                response.metadata.response_code
            )
        })?;
    let scope = match response
        .edns
        .as_ref()
        .and_then(|e| e.option(EdnsCode::Subnet))
    {
        Some(EdnsOption::Subnet(subnet)) => subnet.scope_prefix().to_string(),
        _ => "-".into(),
    };
    Ok(format!(
        "www.example.com from 203.0.113.0/24 -> {cname} (ECS scope /{scope})"
    ))
}

/// How long the server's loops get to stop after SIGTERM or SIGINT.
const STOP_WAIT: Duration = Duration::from_millis(500);

/// Waits for SIGINT or SIGTERM, reloading the config on SIGHUP meanwhile:
/// on a blocking thread ([`steerage_dns::reload`], which logs the outcome),
/// so answering never waits for it, and never so long that a signal to stop
/// waits for it either. SIGHUPs that arrive during a reload make one more.
#[cfg(unix)]
async fn signals(steering: &Arc<Steering>) -> Result<(), Box<dyn Error>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = signal(SignalKind::hangup())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    loop {
        tokio::select! {
            _ = hangup.recv() => tokio::select! {
                _ = steerage_dns::reload(steering) => {}
                _ = terminate.recv() => return Ok(()),
                _ = interrupt.recv() => return Ok(()),
            },
            _ = terminate.recv() => return Ok(()),
            _ = interrupt.recv() => return Ok(()),
        }
    }
}

/// Ctrl-C stops the server (no SIGHUP reload off Unix).
#[cfg(not(unix))]
async fn signals(_steering: &Arc<Steering>) -> Result<(), Box<dyn Error>> {
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// An error and its sources on one line.
fn error_chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn main() -> ExitCode {
    // Logs (the server's and the reloads') go to stderr; a closed stderr is
    // ignored rather than reported on stderr again.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .log_internal_errors(false)
        .init();
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Serve(args)) => args,
        Ok(Command::Help) => {
            let _ = writeln!(std::io::stdout(), "{USAGE}\n\n{OPTIONS}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "{message}");
            return ExitCode::from(2);
        }
    };
    // One thread: a current-thread runtime, no cross-thread wakeups.
    let runtime = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    };
    let result = match runtime {
        Ok(runtime) => {
            let result = runtime.block_on(serve(args));
            // A reload still parsing on a blocking thread is abandoned.
            runtime.shutdown_timeout(STOP_WAIT);
            result
        }
        Err(error) => Err(error.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "dns_server: {}", error_chain(&*error));
            ExitCode::FAILURE
        }
    }
}
