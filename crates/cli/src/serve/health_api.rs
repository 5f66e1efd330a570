//! Provider health in `steerage serve`: the active checks of the
//! configuration (a `steerage-health` checker, which follows reloads), and
//! an HTTP endpoint beside the metrics to read health and to set a provider
//! up or down by hand or from an outside monitor, behind a bearer token
//! read from a file.
//!
//! The endpoint (`--health-api ADDR`, JSON):
//!
//! - `GET /health`: every provider with a health state;
//! - `POST /health/DOMAIN/PROVIDER?state=down|up[&for=SECONDS][&reason=TEXT]`:
//!   an override of the checks, lapsing after `for` seconds if given;
//! - `DELETE /health/DOMAIN/PROVIDER`: clears the override.
//!
//! Every request needs `Authorization: Bearer TOKEN`, the token being the
//! first line of `--health-token-file`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use steerage::{HealthOverride, HealthSource, ProviderHealth, Steering, SteeringError};
use steerage_health::{CheckEvent, CheckObserver, HealthChecker};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

/// The health options of `steerage serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct HealthArgs {
    /// Do not run the health checks the configuration defines
    #[arg(long)]
    no_health_checks: bool,
    /// Serve the health endpoint (read health, set providers up or down)
    /// over HTTP at http://ADDR/health
    #[arg(long, value_name = "ADDR", requires = "health_token_file")]
    health_api: Option<SocketAddr>,
    /// The file whose first line is the bearer token the health endpoint
    /// requires
    #[arg(long, value_name = "FILE")]
    health_token_file: Option<PathBuf>,
}

/// What runs for health; dropping it stops the checks and the endpoint.
pub(crate) struct Health {
    _checker: Option<HealthChecker>,
    stop: CancellationToken,
}

impl Drop for Health {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

const MAX_CONNECTIONS: usize = 16;
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECTION_LIFETIME: Duration = Duration::from_secs(30);
/// The longest override `for` accepted: a year.
const MAX_FOR_SECONDS: u64 = 366 * 24 * 3600;

/// Starts the checks and the endpoint; `Err` with a message on a bad
/// token file, an unusable check (a CA file) or an address taken.
pub(crate) async fn start(
    args: &HealthArgs,
    steering: &Arc<Steering>,
    metrics: Option<HealthMetrics>,
) -> Result<Health, String> {
    let checker = if args.no_health_checks {
        None
    } else {
        let mut builder = HealthChecker::builder(Arc::clone(steering));
        if let Some(metrics) = metrics {
            builder = builder.observer(Arc::new(metrics));
        }
        let checker = builder
            .start()
            .map_err(|e| format!("cannot start the health checks: {e}"))?;
        info!(probes = checker.probes(), "health checks running");
        Some(checker)
    };
    let stop = CancellationToken::new();
    if let Some(addr) = args.health_api {
        let path = args
            .health_token_file
            .as_ref()
            .ok_or("--health-api needs --health-token-file")?;
        let token = read_token(path)?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen for the health API on {addr}: {e}"))?;
        let local = listener.local_addr().unwrap_or(addr);
        info!(health_api = %format!("http://{local}/health"), "health API");
        tokio::spawn(serve(listener, Arc::clone(steering), token, stop.clone()));
    }
    Ok(Health {
        _checker: checker,
        stop,
    })
}

fn read_token(path: &std::path::Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the health token file {}: {e}", path.display()))?;
    let token = text.lines().next().unwrap_or("").trim().to_owned();
    if token.len() < 16 {
        return Err(format!(
            "the health token in {} is shorter than 16 characters",
            path.display()
        ));
    }
    Ok(token)
}

async fn serve(
    listener: TcpListener,
    steering: Arc<Steering>,
    token: String,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let token: Arc<str> = token.into();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => return,
        };
        let Ok((stream, _peer)) = accepted else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            continue;
        };
        let (steering, token, shutdown) =
            (Arc::clone(&steering), Arc::clone(&token), shutdown.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let (steering, token) = (Arc::clone(&steering), Arc::clone(&token));
                async move {
                    let auth = request
                        .headers()
                        .get(AUTHORIZATION)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let method = request.method().clone();
                    let target = request
                        .uri()
                        .path_and_query()
                        .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
                    // Overrides wait for the writer lock: off the workers.
                    let answer = tokio::task::spawn_blocking(move || {
                        handle(&steering, &token, &method, &target, auth.as_deref())
                    })
                    .await
                    .unwrap_or_else(|_| {
                        (
                            StatusCode::INTERNAL_SERVER_ERROR,
                            json!({"error": "internal error"}),
                        )
                    });
                    Ok::<_, Infallible>(reply(answer))
                }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = tokio::time::timeout(CONNECTION_LIFETIME, connection) => {}
                () = shutdown.cancelled() => {}
            }
            drop(slot);
        });
    }
}

fn reply((status, body): (StatusCode, Value)) -> Response<Full<Bytes>> {
    let mut text = body.to_string();
    text.push('\n');
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// One request: the status and the JSON body.
pub(crate) fn handle(
    steering: &Steering,
    token: &str,
    method: &Method,
    target: &str,
    authorization: Option<&str>,
) -> (StatusCode, Value) {
    let error = |status, message: String| (status, json!({ "error": message }));
    let presented = authorization
        .and_then(|a| a.strip_prefix("Bearer "))
        .unwrap_or("");
    if !same_token(presented, token) {
        warn!(target, "health API: refused (bad or missing bearer token)");
        return error(
            StatusCode::UNAUTHORIZED,
            "a valid bearer token is required".into(),
        );
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        (&Method::GET, ["", "health"]) => (
            StatusCode::OK,
            json!({
                "version": steering.version(),
                "providers": steering.health().iter().map(describe).collect::<Vec<_>>(),
            }),
        ),
        (&Method::POST, ["", "health", domain, provider]) => {
            let signal = match parse_override(query) {
                Ok(signal) => signal,
                Err(message) => return error(StatusCode::BAD_REQUEST, message),
            };
            let up = signal.up;
            match steering.set_health_override(domain, provider, signal) {
                Ok(version) => {
                    info!(domain, provider, up, version, "health override set");
                    (StatusCode::OK, json!({ "version": version }))
                }
                Err(e) => refused(&e),
            }
        }
        (&Method::DELETE, ["", "health", domain, provider]) => {
            match steering.clear_health_override(domain, provider) {
                Ok(version) => {
                    info!(domain, provider, version, "health override cleared");
                    (StatusCode::OK, json!({ "version": version }))
                }
                Err(e) => refused(&e),
            }
        }
        (_, ["", "health", ..]) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "use GET /health, POST or DELETE /health/DOMAIN/PROVIDER".into(),
        ),
        _ => error(
            StatusCode::NOT_FOUND,
            "not found: health is at /health".into(),
        ),
    }
}

/// Compares every byte whatever the first difference, so that the time
/// taken says nothing of how much of a guess was right.
fn same_token(presented: &str, token: &str) -> bool {
    let (a, b) = (presented.as_bytes(), token.as_bytes());
    let mut diff = u8::from(a.len() != b.len());
    for (i, &byte) in b.iter().enumerate() {
        diff |= byte ^ a.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

fn refused(e: &SteeringError) -> (StatusCode, Value) {
    let status = match e {
        SteeringError::Policy(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, json!({ "error": e.to_string() }))
}

fn parse_override(query: &str) -> Result<HealthOverride, String> {
    let mut signal = None;
    let mut lapse = None;
    let mut reason = String::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "state" => {
                signal = Some(match value {
                    "down" => HealthOverride::down(),
                    "up" => HealthOverride::up(),
                    _ => return Err(format!("state must be `down` or `up`, not `{value}`")),
                });
            }
            "for" => {
                let seconds: u64 = value
                    .parse()
                    .ok()
                    .filter(|s| (1..=MAX_FOR_SECONDS).contains(s))
                    .ok_or_else(|| format!("for must be 1 to {MAX_FOR_SECONDS} seconds"))?;
                lapse = Some(Duration::from_secs(seconds));
            }
            "reason" => reason = value.replace('+', " ").chars().take(200).collect(),
            _ => return Err(format!("unknown parameter `{key}`")),
        }
    }
    let mut signal = signal.ok_or("state=down or state=up is required")?;
    if let Some(lapse) = lapse {
        signal = signal.until(SystemTime::now() + lapse);
    }
    Ok(signal.reason(reason))
}

fn unix(t: SystemTime) -> Option<u64> {
    t.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

fn describe(h: &ProviderHealth) -> Value {
    let now = SystemTime::now();
    let source = match h.source_at(now) {
        HealthSource::Checks => "checks",
        HealthSource::Override => "override",
        _ => "none",
    };
    json!({
        "domain": h.key().domain(),
        "provider": h.key().provider(),
        "down": h.is_down_at(now),
        "source": source,
        "since": h.since_at(now).and_then(unix),
        "override": h.override_at(now).map(|o| json!({
            "up": o.up,
            "until": o.until.and_then(unix),
            "reason": o.reason,
        })),
        "checks_up": h.checks_up(),
        "last": h.results().map(|r| json!({
            "at": unix(r.at),
            "ok": r.ok,
            "latency_ms": u64::try_from(r.latency.as_millis()).unwrap_or(u64::MAX),
            "detail": r.detail,
        })).collect::<Vec<_>>(),
    })
}

/// Logs a start failure the way the server logs its others.
pub(crate) fn log_start_error(message: &str) {
    error!(error = message, "cannot start health");
}

#[cfg(test)]
mod tests {
    use super::*;
    use steerage::geo::LocationTable;
    use steerage::policy::Format;

    const TOKEN: &str = "0123456789abcdef-token";

    fn steering() -> Steering {
        Steering::builder()
            .config_str(
                "[builtin]\ncname = \"edge.example\"\n[[policy]]\ndomain = \"www.example.com\"\n[[policy.provider]]\nname = \"a\"\nkind = \"cdn\"\ncname = \"a.cdn.example\"\n[policy.default]\ntargets = [{ provider = \"a\", weight = 1 }]\n",
                Format::Toml,
            )
            .locations(LocationTable::sample())
            .build()
            .unwrap()
    }

    fn bearer() -> String {
        format!("Bearer {TOKEN}")
    }

    #[test]
    fn overrides_through_the_endpoint() {
        let s = steering();
        let client = "198.51.100.7".parse().unwrap();
        let (status, body) = handle(
            &s,
            TOKEN,
            &Method::POST,
            "/health/www.example.com/a?state=down&for=60&reason=vendor+incident",
            Some(&bearer()),
        );
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            s.select("www.example.com", client).unwrap().cname(),
            "edge.example"
        );
        let (status, body) = handle(&s, TOKEN, &Method::GET, "/health", Some(&bearer()));
        assert_eq!(status, StatusCode::OK);
        let p = &body["providers"][0];
        assert_eq!(
            (p["provider"].as_str(), p["down"].as_bool()),
            (Some("a"), Some(true))
        );
        assert_eq!(p["override"]["reason"], "vendor incident");
        assert!(p["override"]["until"].as_u64().is_some());
        let (status, _) = handle(
            &s,
            TOKEN,
            &Method::DELETE,
            "/health/www.example.com/a",
            Some(&bearer()),
        );
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            s.select("www.example.com", client).unwrap().cname(),
            "a.cdn.example"
        );
    }

    #[test]
    fn refusals() {
        let s = steering();
        let v = s.version();
        let cases = [
            (Method::GET, "/health", None, StatusCode::UNAUTHORIZED),
            (
                Method::GET,
                "/health",
                Some("Bearer wrong"),
                StatusCode::UNAUTHORIZED,
            ),
            (
                Method::POST,
                "/health/www.example.com/a?state=down",
                Some("Basic x"),
                StatusCode::UNAUTHORIZED,
            ),
            (
                Method::POST,
                "/health/www.example.com/a",
                Some(""),
                StatusCode::UNAUTHORIZED,
            ),
        ];
        for (method, target, auth, expected) in cases {
            assert_eq!(
                handle(&s, TOKEN, &method, target, auth).0,
                expected,
                "{target}"
            );
        }
        let b = bearer();
        let cases = [
            (
                Method::POST,
                "/health/www.example.com/a",
                StatusCode::BAD_REQUEST,
            ),
            (
                Method::POST,
                "/health/www.example.com/a?state=sideways",
                StatusCode::BAD_REQUEST,
            ),
            (
                Method::POST,
                "/health/www.example.com/a?state=down&for=0",
                StatusCode::BAD_REQUEST,
            ),
            (
                Method::POST,
                "/health/www.example.com/a?state=down&x=1",
                StatusCode::BAD_REQUEST,
            ),
            (
                Method::POST,
                "/health/www.example.com/builtin?state=down",
                StatusCode::NOT_FOUND,
            ),
            (
                Method::POST,
                "/health/www.example.com/zz?state=down",
                StatusCode::NOT_FOUND,
            ),
            (
                Method::POST,
                "/health/nope.example/a?state=down",
                StatusCode::NOT_FOUND,
            ),
            (Method::PUT, "/health", StatusCode::METHOD_NOT_ALLOWED),
            (Method::GET, "/metrics", StatusCode::NOT_FOUND),
        ];
        for (method, target, expected) in cases {
            assert_eq!(
                handle(&s, TOKEN, &method, target, Some(&b)).0,
                expected,
                "{method} {target}"
            );
        }
        assert_eq!(s.version(), v, "a refused request changes nothing");
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token(TOKEN, TOKEN));
        assert!(!same_token("0123456789abcdef-toke", TOKEN));
        assert!(!same_token("0123456789abcdef-tokenX", TOKEN));
        assert!(!same_token("", TOKEN));
    }
}

/// The health checks' metrics: each checked provider's state by its
/// checks, check results and latency, and state changes. Registered with
/// the server's other metrics; fed by the checker's observer.
#[derive(Clone)]
pub(crate) struct HealthMetrics {
    up: Family<ProviderLabels, Gauge>,
    checks: Family<ResultLabel, Counter>,
    latency: Histogram,
    changes: Family<ChangeLabels, Counter>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ProviderLabels {
    domain: String,
    provider: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ChangeLabels {
    domain: String,
    provider: String,
    to: &'static str,
}

impl HealthMetrics {
    /// The metrics, registered in `registry`.
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            up: Family::default(),
            checks: Family::default(),
            // 1 ms to about 16 s.
            latency: Histogram::new(exponential_buckets(0.001, 2.0, 15)),
            changes: Family::default(),
        };
        registry.register(
            "steerage_health_check_up",
            "Whether a provider's active checks say it is up (1) or down (0), rise and fall applied (an override may say otherwise)",
            metrics.up.clone(),
        );
        registry.register(
            "steerage_health_checks",
            "Active checks run, by result (ok, failed)",
            metrics.checks.clone(),
        );
        registry.register(
            "steerage_health_check_duration_seconds",
            "How long active checks took (a timed-out check counts its timeout)",
            metrics.latency.clone(),
        );
        registry.register(
            "steerage_health_state_changes",
            "Changes of a provider's state by its checks, by the state changed to (up, down)",
            metrics.changes.clone(),
        );
        metrics
    }
}

impl CheckObserver for HealthMetrics {
    fn observe(&self, event: &CheckEvent<'_>) {
        let result = if event.result.ok { "ok" } else { "failed" };
        self.checks.get_or_create(&ResultLabel { result }).inc();
        self.latency.observe(event.result.latency.as_secs_f64());
        for key in event.providers {
            let labels = ProviderLabels {
                domain: key.domain().to_owned(),
                provider: key.provider().to_owned(),
            };
            self.up.get_or_create(&labels).set(i64::from(event.up));
            if event.changed {
                self.changes
                    .get_or_create(&ChangeLabels {
                        domain: labels.domain,
                        provider: labels.provider,
                        to: if event.up { "up" } else { "down" },
                    })
                    .inc();
            }
        }
    }
}
