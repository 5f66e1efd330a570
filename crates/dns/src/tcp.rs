//! DNS over TCP (RFC 7766): accepting connections within a limit, and
//! answering each connection's length-prefixed queries in turn.
//!
//! What it hides is how the server stays up when connections are many:
//! at most [`TcpLimits::max_connections`] are open at once (past that the
//! loop stops accepting and new clients wait in the kernel's listen backlog
//! until a connection closes); when accepting fails for lack of resources
//! (no file descriptor left in the process or the system: EMFILE, ENFILE,
//! ENOBUFS, ENOMEM) the loop waits before it tries again, longer each time,
//! and says so in the log, where retrying at once would spin a core; and a
//! connection idle for [`TcpLimits::idle_timeout`] is closed.
//!
//! hickory's `Server` does neither (its accept loop retries at once), so TCP
//! is served here; each query is answered by
//! [`RequestHandler::handle_request`], the handler's full path.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hickory_proto::op::MessageType;
use hickory_server::net::runtime::TokioTime;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, RequestHandler};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{SteeringHandler, udp};

/// The first wait after accepting failed for lack of resources.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// How many TCP connections, and how long an idle one stays open.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TcpLimits {
    pub(crate) max_connections: usize,
    pub(crate) idle_timeout: Duration,
}

/// Serves `listener` until `shutdown` is cancelled; open connections are
/// then closed.
///
/// # Errors
///
/// When the listening socket itself is broken (not when a connection or the
/// process's file descriptors are).
pub(crate) async fn serve(
    listener: TcpListener,
    handler: SteeringHandler,
    limits: TcpLimits,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let max = limits.max_connections.max(1);
    let permits = Arc::new(Semaphore::new(max));
    let mut connections = JoinSet::new();
    let mut at_limit = false;
    let mut failures: u32 = 0;
    loop {
        while connections.try_join_next().is_some() {}
        if permits.available_permits() == 0 && !at_limit {
            at_limit = true;
            tracing::warn!(
                limit = max,
                "TCP connection limit reached; new connections wait until one closes"
            );
        }
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                // The semaphore is never closed.
                Err(_) => return Ok(()),
            },
            () = shutdown.cancelled() => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        let (stream, src) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => match classify(&error) {
                AcceptError::Connection => continue,
                AcceptError::Resources => {
                    failures = failures.saturating_add(1);
                    let wait = backoff(failures);
                    let open = max.saturating_sub(permits.available_permits() + 1);
                    if failures == 1 {
                        tracing::warn!(
                            %error, open, limit = max, wait_ms = wait.as_millis() as u64,
                            "TCP accept failed for lack of resources; waiting before the next attempt"
                        );
                    } else {
                        tracing::debug!(%error, failures, wait_ms = wait.as_millis() as u64, "TCP accept failed again");
                    }
                    drop(permit);
                    tokio::select! {
                        () = tokio::time::sleep(wait) => continue,
                        () = shutdown.cancelled() => break,
                    }
                }
                AcceptError::Listener => {
                    tracing::error!(%error, "TCP listening socket failed");
                    connections.shutdown().await;
                    return Err(error);
                }
            },
        };
        if failures > 0 {
            tracing::info!(failures, "TCP accept works again");
            failures = 0;
        }
        if at_limit && permits.available_permits() > 0 {
            at_limit = false;
        }
        if !udp::can_answer(src) {
            continue;
        }
        let (handler, shutdown) = (handler.clone(), shutdown.clone());
        connections.spawn(async move {
            tokio::select! {
                () = connection(stream, src, &handler, limits.idle_timeout) => {}
                () = shutdown.cancelled() => {}
            }
            drop(permit);
        });
    }
    connections.shutdown().await;
    Ok(())
}

/// What an accept error means for the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AcceptError {
    /// About one connection (aborted or reset before it was accepted, a
    /// signal): accept the next one.
    Connection,
    /// The process or the system is out of something (file descriptors,
    /// buffers, memory) that closing connections gives back: wait.
    Resources,
    /// The listening socket is unusable: stop.
    Listener,
}

fn classify(error: &io::Error) -> AcceptError {
    #[cfg(unix)]
    if let Some(code) = error.raw_os_error() {
        use nix::errno::Errno;
        return match Errno::from_raw(code) {
            Errno::EMFILE | Errno::ENFILE | Errno::ENOBUFS | Errno::ENOMEM => {
                AcceptError::Resources
            }
            Errno::EBADF | Errno::EINVAL | Errno::ENOTSOCK | Errno::EOPNOTSUPP => {
                AcceptError::Listener
            }
            _ => AcceptError::Connection,
        };
    }
    match error.kind() {
        io::ErrorKind::OutOfMemory => AcceptError::Resources,
        io::ErrorKind::InvalidInput => AcceptError::Listener,
        // Whatever else it is, waiting a little costs a client little and
        // keeps an unknown persistent error from spinning.
        io::ErrorKind::ConnectionAborted
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::Interrupted
        | io::ErrorKind::WouldBlock => AcceptError::Connection,
        _ => AcceptError::Resources,
    }
}

/// The wait after the `failures`-th failure in a row: doubling from
/// [`FIRST_BACKOFF`] up to [`MAX_BACKOFF`].
fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    FIRST_BACKOFF
        .saturating_mul(1 << doublings)
        .min(MAX_BACKOFF)
}

/// Answers the queries of one connection in turn until the client closes
/// it, sends something that is not a DNS message stream, or stays idle (or
/// slow to send or receive one message) for `idle`.
async fn connection(
    mut stream: TcpStream,
    src: SocketAddr,
    handler: &SteeringHandler,
    idle: Duration,
) {
    // Answers are small and written whole: no need to wait for more.
    let _ = stream.set_nodelay(true);
    let mut reply = Vec::with_capacity(512);
    loop {
        let message = tokio::time::timeout(idle, async {
            let len = stream.read_u16().await?;
            let mut message = vec![0u8; usize::from(len)];
            stream.read_exact(&mut message).await?;
            Ok::<_, io::Error>(message)
        })
        .await;
        let Ok(Ok(message)) = message else {
            return;
        };
        if !answer(handler, message, src, &mut reply).await {
            continue;
        }
        let Ok(len) = u16::try_from(reply.len()) else {
            continue;
        };
        let mut framed = Vec::with_capacity(2 + reply.len());
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(&reply);
        match tokio::time::timeout(idle, stream.write_all(&framed)).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
}

/// The response to one TCP message into `reply`; `false` when nothing is
/// to be sent (a response, or a message too short for a header). A message
/// whose header parses but whose body does not gets FORMERR.
async fn answer(
    handler: &SteeringHandler,
    message: Vec<u8>,
    src: SocketAddr,
    reply: &mut Vec<u8>,
) -> bool {
    reply.clear();
    // Kept for a FORMERR, as hickory answers a message whose header parses
    // but whose body does not.
    let mut header = [0u8; 12];
    let header_len = message.len().min(header.len());
    header[..header_len].copy_from_slice(&message[..header_len]);
    let Ok(request) = Request::from_bytes(message, src, Protocol::Tcp) else {
        return match udp::format_error(&header[..header_len]) {
            Some(error) => {
                reply.extend_from_slice(&error);
                true
            }
            None => false,
        };
    };
    if request.metadata.message_type == MessageType::Response {
        return false;
    }
    let bytes = Arc::new(Mutex::new(std::mem::take(reply)));
    handler
        .handle_request::<_, TokioTime>(
            &request,
            udp::Captured {
                protocol: Protocol::Tcp,
                bytes: Arc::clone(&bytes),
            },
        )
        .await;
    *reply = std::mem::take(&mut *bytes.lock().unwrap_or_else(PoisonError::into_inner));
    !reply.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_second() {
        assert_eq!(backoff(1), Duration::from_millis(10));
        assert_eq!(backoff(2), Duration::from_millis(20));
        assert_eq!(backoff(7), Duration::from_millis(640));
        assert_eq!(backoff(8), MAX_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[cfg(unix)]
    #[test]
    fn running_out_of_descriptors_is_waited_out_not_fatal() {
        use nix::errno::Errno;
        let error = |errno: Errno| io::Error::from_raw_os_error(errno as i32);
        for errno in [Errno::EMFILE, Errno::ENFILE, Errno::ENOBUFS, Errno::ENOMEM] {
            assert_eq!(classify(&error(errno)), AcceptError::Resources, "{errno}");
        }
        for errno in [
            Errno::ECONNABORTED,
            Errno::EINTR,
            Errno::EPROTO,
            Errno::EPERM,
        ] {
            assert_eq!(classify(&error(errno)), AcceptError::Connection, "{errno}");
        }
        assert_eq!(classify(&error(Errno::EBADF)), AcceptError::Listener);
    }
}
