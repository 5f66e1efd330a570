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
    /// On Linux, receive and send UDP in batches (`recvmmsg`/`sendmmsg`) on
    /// blocking threads; default on. Off, and elsewhere, each UDP worker is a
    /// task on the tokio runtime answering one datagram at a time.
    pub udp_batching: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            udp_workers: 1,
            tcp_idle_timeout: Duration::from_secs(10),
            udp_batching: true,
        }
    }
}

impl ServerOptions {
    /// Sets the number of UDP receive loops (at least 1).
    pub fn udp_workers(mut self, workers: usize) -> Self {
        self.udp_workers = workers.max(1);
        self
    }

    /// Turns batched UDP on or off (see [`ServerOptions::udp_batching`]).
    pub fn udp_batching(mut self, on: bool) -> Self {
        self.udp_batching = on;
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
    udp: UdpSocket,
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
            udp,
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
        let workers = self.options.udp_workers.max(1);
        if self.options.udp_batching && cfg!(target_os = "linux") {
            spawn_batched(&mut tasks, self.udp, workers, &self.handler, &self.shutdown)?;
        } else {
            let socket = Arc::new(self.udp);
            for _ in 0..workers {
                let (socket, handler, shutdown) = (
                    Arc::clone(&socket),
                    self.handler.clone(),
                    self.shutdown.clone(),
                );
                tasks.spawn(async move {
                    udp::serve(socket, handler, shutdown)
                        .await
                        .map_err(|error| DnsError::Server(error.into()))
                });
            }
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

/// Starts `workers` batched UDP loops on blocking threads, sharing the socket.
#[cfg(target_os = "linux")]
fn spawn_batched(
    tasks: &mut JoinSet<Result<(), DnsError>>,
    socket: UdpSocket,
    workers: usize,
    handler: &SteeringHandler,
    shutdown: &CancellationToken,
) -> Result<(), DnsError> {
    let server_error = |error: std::io::Error| DnsError::Server(error.into());
    let socket = socket.into_std().map_err(server_error)?;
    for _ in 0..workers {
        let socket = socket.try_clone().map_err(server_error)?;
        let (handler, shutdown) = (handler.clone(), shutdown.clone());
        tasks.spawn_blocking(move || {
            crate::udp_batch::serve(socket, handler, shutdown).map_err(server_error)
        });
    }
    Ok(())
}

/// Batching is Linux-only; `run` never calls this elsewhere.
#[cfg(not(target_os = "linux"))]
fn spawn_batched(
    _tasks: &mut JoinSet<Result<(), DnsError>>,
    _socket: UdpSocket,
    _workers: usize,
    _handler: &SteeringHandler,
    _shutdown: &CancellationToken,
) -> Result<(), DnsError> {
    Ok(())
}
