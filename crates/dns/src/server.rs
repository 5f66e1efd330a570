//! A ready-made UDP + TCP server around a [`SteeringHandler`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_server::Server;
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{DnsError, SteeringHandler, udp};

/// How a [`DnsServer`] runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// UDP receive loops sharing the socket (run them on as many runtime
    /// threads); default 1.
    pub udp_workers: usize,
    /// A TCP connection idle this long is closed; default 10 s.
    pub tcp_idle_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            udp_workers: 1,
            tcp_idle_timeout: Duration::from_secs(10),
        }
    }
}

impl ServerOptions {
    /// Sets the number of UDP receive loops (at least 1).
    pub fn udp_workers(mut self, workers: usize) -> Self {
        self.udp_workers = workers.max(1);
        self
    }

    /// Sets the TCP idle timeout.
    pub fn tcp_idle_timeout(mut self, timeout: Duration) -> Self {
        self.tcp_idle_timeout = timeout;
        self
    }
}

/// Stops a running [`DnsServer`]; cheap to clone.
#[derive(Debug, Clone)]
pub struct ShutdownHandle(CancellationToken);

impl ShutdownHandle {
    /// Asks the server to stop: it stops accepting, and [`DnsServer::run`]
    /// returns once its tasks have ended.
    pub fn shutdown(&self) {
        self.0.cancel();
    }
}

/// A DNS server on one address, UDP and TCP on the same port, answering with a
/// [`SteeringHandler`].
///
/// UDP goes through a lean receive-answer-send loop ([`ServerOptions::udp_workers`]
/// of them); TCP through hickory's [`Server`]. Both use the same handler. To
/// run the handler inside a hickory server of your own, register it with
/// [`Server::new`] instead.
#[derive(Debug)]
pub struct DnsServer {
    handler: SteeringHandler,
    udp: Arc<UdpSocket>,
    tcp: TcpListener,
    local_addr: SocketAddr,
    options: ServerOptions,
    shutdown: CancellationToken,
}

impl DnsServer {
    /// Binds UDP and then TCP on `addr` (port 0: an ephemeral port, the same
    /// for both).
    ///
    /// # Errors
    ///
    /// [`DnsError::Bind`] when either socket cannot be bound.
    pub async fn bind(
        addr: SocketAddr,
        handler: SteeringHandler,
        options: ServerOptions,
    ) -> Result<Self, DnsError> {
        let udp = UdpSocket::bind(addr)
            .await
            .map_err(|source| DnsError::Bind {
                addr,
                protocol: "udp",
                source,
            })?;
        let local_addr = udp.local_addr().map_err(|source| DnsError::Bind {
            addr,
            protocol: "udp",
            source,
        })?;
        let tcp = TcpListener::bind(local_addr)
            .await
            .map_err(|source| DnsError::Bind {
                addr: local_addr,
                protocol: "tcp",
                source,
            })?;
        Ok(Self {
            handler,
            udp: Arc::new(udp),
            tcp,
            local_addr,
            options,
            shutdown: CancellationToken::new(),
        })
    }

    /// The address bound (with the actual port).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that stops the server.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.shutdown.clone())
    }

    /// Serves until shut down.
    ///
    /// # Errors
    ///
    /// [`DnsError::Server`] when a socket fails for good.
    pub async fn run(self) -> Result<(), DnsError> {
        let mut tcp_server = Server::new(self.handler.clone());
        // hickory's per-connection response buffer; its own binary uses 32.
        tcp_server.register_listener(self.tcp, self.options.tcp_idle_timeout, 32);
        let tcp_token = tcp_server.shutdown_token().clone();

        let mut tasks: JoinSet<Result<(), DnsError>> = JoinSet::new();
        for _ in 0..self.options.udp_workers.max(1) {
            let (socket, handler, shutdown) = (
                Arc::clone(&self.udp),
                self.handler.clone(),
                self.shutdown.clone(),
            );
            tasks.spawn(async move {
                udp::serve(socket, handler, shutdown)
                    .await
                    .map_err(|error| DnsError::Server(error.into()))
            });
        }
        let shutdown = self.shutdown.clone();
        tasks.spawn(async move {
            tokio::select! {
                result = tcp_server.block_until_done() => result.map_err(DnsError::Server),
                () = shutdown.cancelled() => {
                    tcp_token.cancel();
                    tcp_server.block_until_done().await.map_err(DnsError::Server)
                }
            }
        });

        // The first task to end, for whatever reason, stops the others.
        let mut result = Ok(());
        while let Some(joined) = tasks.join_next().await {
            self.shutdown.cancel();
            if let Ok(Err(error)) = joined
                && result.is_ok()
            {
                result = Err(error);
            }
        }
        result
    }
}
