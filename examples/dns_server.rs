//! A steering DNS server: serves `Steering` decisions over UDP and TCP with
//! EDNS Client Subnet, using the `steerage-dns` hickory adapter.
//!
//! ```sh
//! cargo run --example dns_server -- --listen 127.0.0.1:5353
//! dig @127.0.0.1 -p 5353 www.example.com +subnet=203.0.113.7/24
//! ```
//!
//! Without `--config` it serves the design scenario (`www.example.com`:
//! Beijing -> origin, rest of China -> cdn-a 70 / built-in 30, everyone else
//! -> cdn-b) on the built-in sample data; with `--config FILE` (TOML or JSON,
//! see docs/config.md) it serves that file and reloads it on SIGHUP, keeping
//! the old configuration when the new one is invalid. `--geo FILE` uses a
//! MaxMind DB file (GeoIP2 or DB-IP schema) instead of the sample data.
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
//! ```

use std::error::Error;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use steerage::Steering;
use steerage::geo::{LayeredLocator, LocationTable, Locator, MmdbLocator, MmdbSchema, RangeSource};
use steerage::policy::Format;
use steerage_dns::{DnsServer, ServerOptions, SteeringHandler, ZoneSettings};

/// The design scenario, served when no `--config` is given.
const SAMPLE_CONFIG: &str = include_str!("../crates/dns/testdata/scenario.toml");

const USAGE: &str = "usage: dns_server [--listen ADDR] [--config FILE] [--geo FILE]... \
[--zone NAME]... [--nameserver NAME[=IP,...]]... [--threads N]";

#[derive(Debug)]
struct Args {
    listen: SocketAddr,
    config: Option<PathBuf>,
    geo: Vec<PathBuf>,
    zones: Vec<String>,
    nameservers: Vec<(String, Vec<IpAddr>)>,
    threads: usize,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        listen: SocketAddr::from(([127, 0, 0, 1], 5353)),
        config: None,
        geo: Vec::new(),
        zones: Vec::new(),
        nameservers: Vec::new(),
        threads: 1,
    };
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.to_owned());
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
    Ok(parsed)
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
    println!(
        "dns_server: listening on {} (udp+tcp), config {}, geo {}, version {}",
        server.local_addr(),
        args.config
            .as_ref()
            .map_or_else(|| "built-in sample".to_owned(), |p| p.display().to_string()),
        steering.locations().describe(),
        steering.version(),
    );
    let shutdown = server.shutdown_handle();
    let running = tokio::spawn(server.run());
    signals(&steering, &shutdown).await?;
    running.await??;
    Ok(())
}

/// SIGHUP reloads the config; SIGINT and SIGTERM stop the server.
#[cfg(unix)]
async fn signals(
    steering: &Steering,
    shutdown: &steerage_dns::ShutdownHandle,
) -> Result<(), Box<dyn Error>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = signal(SignalKind::hangup())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    loop {
        tokio::select! {
            _ = hangup.recv() => match steering.reload() {
                Ok(version) => println!("dns_server: reloaded, now serving version {version}"),
                Err(error) => println!(
                    "dns_server: reload failed, still serving version {}: {}",
                    steering.version(),
                    error_chain(&error),
                ),
            },
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    println!("dns_server: stopping");
    shutdown.shutdown();
    Ok(())
}

/// Ctrl-C stops the server (no SIGHUP reload off Unix).
#[cfg(not(unix))]
async fn signals(
    _steering: &Steering,
    shutdown: &steerage_dns::ShutdownHandle,
) -> Result<(), Box<dyn Error>> {
    tokio::signal::ctrl_c().await?;
    shutdown.shutdown();
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
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
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
        Ok(runtime) => runtime.block_on(serve(args)),
        Err(error) => Err(error.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("dns_server: {}", error_chain(&*error));
            ExitCode::FAILURE
        }
    }
}
