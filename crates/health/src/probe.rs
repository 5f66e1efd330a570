//! One check: connect (TCP, then TLS for `https`), send `GET path` with the
//! `Host` header for `http`/`https`, and judge the status, all within the
//! timeout. Each check uses a fresh connection (`Connection: close`), so
//! it sees what a new client would see.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::header::{CONNECTION, HOST, USER_AGENT};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use steerage::CheckResult;
use steerage::policy::{CheckKind, CheckTarget};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::plan::ProbeSpec;

/// The `User-Agent` checks send.
const AGENT: &str = concat!("steerage-health/", env!("CARGO_PKG_VERSION"));

/// Runs one check of `spec`; `tls` is its TLS client settings (`https`).
pub(crate) async fn check(spec: &ProbeSpec, tls: Option<&Arc<ClientConfig>>) -> CheckResult {
    let start = Instant::now();
    let outcome = tokio::time::timeout(spec.timeout, attempt(spec, tls)).await;
    let latency = start.elapsed();
    let (ok, detail) = match outcome {
        Ok(Ok(None)) => (true, "connected".to_owned()),
        Ok(Ok(Some(status))) => {
            let (low, high) = spec.status;
            let ok = (low..=high).contains(&status.as_u16());
            let detail = if ok {
                format!("HTTP {}", status.as_u16())
            } else {
                format!("HTTP {} (expected {low}-{high})", status.as_u16())
            };
            (ok, detail)
        }
        Ok(Err(failure)) => (false, failure),
        Err(_) => (
            false,
            format!("timed out after {} ms", spec.timeout.as_millis()),
        ),
    };
    CheckResult::new(SystemTime::now(), ok, latency, detail)
}

/// The status for `http`/`https`, `None` for a `tcp` connection accepted;
/// a failure in words.
async fn attempt(
    spec: &ProbeSpec,
    tls: Option<&Arc<ClientConfig>>,
) -> Result<Option<StatusCode>, String> {
    let addr = resolve(&spec.target, spec.port).await?;
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| connect_error(&e))?;
    match spec.kind {
        CheckKind::Tcp => Ok(None),
        CheckKind::Http => request(spec, tcp).await.map(Some),
        CheckKind::Https => {
            let config = tls.ok_or("no TLS settings for an https check")?;
            let name = ServerName::try_from(spec.host.clone())
                .map_err(|e| format!("TLS: `{}` is not a server name: {e}", spec.host))?;
            let stream = TlsConnector::from(Arc::clone(config))
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS: {}", tls_error(&e)))?;
            request(spec, stream).await.map(Some)
        }
        // `CheckKind` may grow; an unknown kind cannot pass.
        #[expect(
            unreachable_patterns,
            reason = "CheckKind is matched exhaustively today"
        )]
        _ => Err(format!("unsupported check kind {}", spec.kind)),
    }
}

async fn resolve(target: &CheckTarget, port: u16) -> Result<SocketAddr, String> {
    match target {
        CheckTarget::Ip(ip) => Ok(SocketAddr::new(*ip, port)),
        CheckTarget::Name(name) => tokio::net::lookup_host((name.as_str(), port))
            .await
            .map_err(|e| format!("cannot resolve {name}: {e}"))?
            .next()
            .ok_or_else(|| format!("{name} has no address")),
        #[expect(
            unreachable_patterns,
            reason = "CheckTarget is matched exhaustively today"
        )]
        _ => Err("unsupported target".to_owned()),
    }
}

/// One `GET` on `stream`; the status of the response head (the body is
/// not read).
async fn request<S>(spec: &ProbeSpec, stream: S) -> Result<StatusCode, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    let host = if matches!(
        (spec.kind, spec.port),
        (CheckKind::Http, 80) | (CheckKind::Https, 443)
    ) {
        spec.host.clone()
    } else {
        format!("{}:{}", spec.host, spec.port)
    };
    let request = Request::get(spec.path.as_str())
        .header(HOST, host)
        .header(USER_AGENT, AGENT)
        .header(CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("HTTP request: {e}"))?;
    // The connection is driven here, beside the request, and dropped with
    // it: nothing outlives the check (a spawned connection task would
    // linger on a server that never closes).
    let response = sender.send_request(request);
    tokio::pin!(response);
    tokio::pin!(connection);
    tokio::select! {
        biased;
        response = &mut response => response
            .map(|r| r.status())
            .map_err(|e| format!("HTTP: {e}")),
        closed = &mut connection => {
            // The server may answer and close at once: the response can
            // be waiting although the connection is done.
            match response.await {
                Ok(r) => Ok(r.status()),
                Err(_) => Err(match closed {
                    Ok(()) => "HTTP: connection closed before a response".to_owned(),
                    Err(e) => format!("HTTP: {e}"),
                }),
            }
        }
    }
}

fn connect_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        _ => format!("connect: {e}"),
    }
}

fn tls_error(e: &io::Error) -> String {
    // tokio-rustls wraps the rustls error; its message is the useful part.
    e.get_ref()
        .map_or_else(|| e.to_string(), ToString::to_string)
}
