//! Real servers on loopback for the checks to probe: HTTP and HTTPS (a CA
//! made in the test, certificates for any name) that answer a status, hang,
//! close, or stop listening and come back on the same port; a TCP listener.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// What a server does with a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Mode {
    /// Answers with the status set.
    Answer = 0,
    /// Reads the request and never answers.
    Hang = 1,
    /// Closes the connection at once.
    Close = 2,
}

struct Shared {
    mode: AtomicU8,
    status: AtomicU16,
    hosts: Mutex<Vec<String>>,
    tls: Option<TlsAcceptor>,
}

/// An HTTP(S) server on 127.0.0.1.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    pub(crate) async fn http() -> Self {
        Self::start(None).await
    }

    pub(crate) async fn https(tls: Arc<ServerConfig>) -> Self {
        Self::start(Some(TlsAcceptor::from(tls))).await
    }

    async fn start(tls: Option<TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            mode: AtomicU8::new(Mode::Answer as u8),
            status: AtomicU16::new(200),
            hosts: Mutex::new(Vec::new()),
            tls,
        });
        let task = Some(tokio::spawn(serve(listener, Arc::clone(&shared))));
        Self { addr, shared, task }
    }

    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }

    pub(crate) fn set_status(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
        self.set_mode(Mode::Answer);
    }

    pub(crate) fn set_mode(&self, mode: Mode) {
        self.shared.mode.store(mode as u8, Ordering::SeqCst);
    }

    /// The `Host` headers received so far.
    pub(crate) fn hosts(&self) -> Vec<String> {
        self.shared.hosts.lock().unwrap().clone()
    }

    /// Stops listening: connections are refused.
    pub(crate) fn down(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Listens again on the same port.
    pub(crate) async fn up(&mut self) {
        self.down();
        // The aborted task drops its listener when it is next polled.
        for _ in 0..200 {
            if let Ok(listener) = TcpListener::bind(self.addr).await {
                self.task = Some(tokio::spawn(serve(listener, Arc::clone(&self.shared))));
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("cannot listen on {} again", self.addr);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.down();
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = Arc::clone(&shared);
        // Connections end with the server (the set aborts them on drop).
        connections.spawn(async move {
            match &shared.tls {
                Some(acceptor) => {
                    if let Ok(tls) = acceptor.accept(stream).await {
                        answer(tls, &shared).await;
                    }
                }
                None => answer(stream, &shared).await,
            }
        });
        while connections.try_join_next().is_some() {}
    }
}

async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, shared: &Shared) {
    let mode = shared.mode.load(Ordering::SeqCst);
    if mode == Mode::Close as u8 {
        return;
    }
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 16 * 1024 {
            return;
        }
    }
    let text = String::from_utf8_lossy(&head);
    if let Some(host) = text.lines().find_map(|l| {
        l.strip_prefix("host: ")
            .or_else(|| l.strip_prefix("Host: "))
    }) {
        shared.hosts.lock().unwrap().push(host.trim().to_owned());
    }
    if mode == Mode::Hang as u8 {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        return;
    }
    let status = shared.status.load(Ordering::SeqCst);
    let reply = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// A TCP listener that accepts and closes, until dropped.
pub(crate) struct Tcp {
    pub(crate) addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Tcp {
    pub(crate) async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            loop {
                if let Ok((stream, _)) = listener.accept().await {
                    drop(stream);
                }
            }
        });
        Self { addr, task }
    }
}

impl Drop for Tcp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A certificate authority made for the test.
pub(crate) struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    pub(crate) fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "steerage-health test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { ca }
    }

    /// The CA certificate, PEM.
    pub(crate) fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// Server settings presenting a certificate for `name`, signed by the CA.
    pub(crate) fn server(&self, name: &str) -> Arc<ServerConfig> {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![name.to_owned()])
            .unwrap()
            .signed_by(&key, &self.ca)
            .unwrap();
        let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .unwrap();
        Arc::new(config)
    }
}
