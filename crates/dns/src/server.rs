//! A ready-made UDP + TCP server around a [`SteeringHandler`].

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, UdpSocket};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{DnsError, SteeringHandler, tcp, udp};

/// How a [`DnsServer`] runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// UDP receive loops sharing the socket (run them on as many runtime
    /// threads); default 1.
    pub udp_workers: usize,
    /// A TCP connection idle this long is closed (and one that takes this
    /// long to send a query or to read its answer); default 10 s.
    pub tcp_idle_timeout: Duration,
    /// At most this many TCP connections are open at once; past it the
    /// server stops accepting and new clients wait in the listen backlog
    /// until a connection closes. `None` (the default): half the process's
    /// file descriptor limit (the soft `RLIMIT_NOFILE` when the server
    /// starts; 512 where there is none to read), as Knot DNS does, which
    /// leaves the other half to the rest of the program.
    pub tcp_max_connections: Option<usize>,
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
            tcp_max_connections: None,
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

    /// Sets the most TCP connections open at once (at least 1; see
    /// [`ServerOptions::tcp_max_connections`]).
    pub fn tcp_max_connections(mut self, connections: usize) -> Self {
        self.tcp_max_connections = Some(connections.max(1));
        self
    }

    /// The TCP connection limit in force: the one set, or half the file
    /// descriptor limit.
    fn tcp_limit(&self) -> usize {
        self.tcp_max_connections
            .unwrap_or_else(|| (descriptor_limit() / 2).max(1))
            .max(1)
    }
}

/// The process's soft file descriptor limit; 1,024 where it cannot be read.
fn descriptor_limit() -> usize {
    const FALLBACK: usize = 1024;
    #[cfg(unix)]
    {
        use nix::sys::resource::{Resource, getrlimit};
        match getrlimit(Resource::RLIMIT_NOFILE) {
            Ok((soft, _hard)) => usize::try_from(soft).unwrap_or(usize::MAX),
            Err(_) => FALLBACK,
        }
    }
    #[cfg(not(unix))]
    FALLBACK
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
/// of them); TCP through an accept loop that keeps at most
/// [`ServerOptions::tcp_max_connections`] open, waits (and logs, through
/// `tracing`) when the process runs out of file descriptors rather than
/// retrying at once, and answers each connection's queries in turn. Both use
/// the same handler. To run the handler inside a hickory server of your own,
/// register it with [`hickory_server::Server::new`] instead.
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
    /// for both; one taken for TCP is passed over for another).
    ///
    /// # Errors
    ///
    /// [`DnsError::Bind`] when either socket cannot be bound.
    pub async fn bind(
        addr: SocketAddr,
        handler: SteeringHandler,
        options: ServerOptions,
    ) -> Result<Self, DnsError> {
        // Port 0 lets the system pick a free UDP port, which TCP may hold
        // (another program's listener or connection): then pick again.
        let mut attempts = if addr.port() == 0 {
            EPHEMERAL_ATTEMPTS
        } else {
            1
        };
        let (udp, tcp, local_addr) = loop {
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
            attempts -= 1;
            match listen_tcp(local_addr) {
                Ok(tcp) => break (udp, tcp, local_addr),
                Err(source) if source.kind() == ErrorKind::AddrInUse && attempts > 0 => {}
                Err(source) => {
                    return Err(DnsError::Bind {
                        addr: local_addr,
                        protocol: "tcp",
                        source,
                    });
                }
            }
        };
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
        let limits = tcp::TcpLimits {
            max_connections: self.options.tcp_limit(),
            idle_timeout: self.options.tcp_idle_timeout,
        };
        tracing::info!(
            addr = %self.local_addr,
            tcp_max_connections = limits.max_connections,
            "serving DNS over UDP and TCP"
        );
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
        let (handler, shutdown) = (self.handler.clone(), self.shutdown.clone());
        tasks.spawn(async move {
            tcp::serve(self.tcp, handler, limits, shutdown)
                .await
                .map_err(|error| DnsError::Server(error.into()))
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

/// The listen backlog: clients past the connection limit wait there (the
/// kernel completes their handshake) rather than having their SYNs dropped
/// and retried after seconds. The standard library's 128 is short of it.
const TCP_BACKLOG: u32 = 1024;

/// A TCP listener on `addr` (address reuse on, as tokio's `bind` does).
/// How many ephemeral ports `bind` tries for port 0 before it gives up.
const EPHEMERAL_ATTEMPTS: u32 = 64;

fn listen_tcp(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    #[cfg(not(windows))]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(TCP_BACKLOG)
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
