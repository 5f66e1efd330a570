//! Batched UDP on Linux: `recvmmsg` reads up to [`BATCH`] queries in one
//! system call, the handler answers each, and `sendmmsg` sends the answers
//! in one more.
//!
//! Answering a steered name costs far less than the kernel's work per
//! datagram, so the system calls decide the throughput; batching them is what
//! gdnsd and Knot do too. The loop runs on its own blocking thread. Each
//! query goes through the same [`SteeringHandler`] as everywhere else; its
//! answer is captured by a response handler that encodes without waiting,
//! so the handler's future completes on its first poll.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Waker};
use std::time::Duration;

use hickory_proto::op::MessageType;
use hickory_proto::rr::Record;
use hickory_server::net::NetError;
use hickory_server::net::runtime::TokioTime;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponse;
use nix::errno::Errno;
use nix::sys::socket::{
    ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, sendmmsg,
};
use tokio_util::sync::CancellationToken;

use crate::SteeringHandler;
use crate::udp::{can_answer, encode, format_error};

/// Datagrams per system call.
const BATCH: usize = 32;
/// Largest datagram read; larger ones are cut and then fail to parse.
const RECEIVE_BUFFER: usize = 4096;
/// How often a blocked receive wakes up to look for shutdown.
const SHUTDOWN_POLL: Duration = Duration::from_millis(100);

/// Serves `socket` (blocking) until `shutdown` is cancelled.
pub(crate) fn serve(
    socket: UdpSocket,
    handler: SteeringHandler,
    shutdown: CancellationToken,
) -> io::Result<()> {
    socket.set_nonblocking(false)?;
    socket.set_read_timeout(Some(SHUTDOWN_POLL))?;
    let fd = socket.as_raw_fd();
    let mut inputs = vec![[0u8; RECEIVE_BUFFER]; BATCH];
    let mut outputs: Vec<Vec<u8>> = (0..BATCH).map(|_| Vec::with_capacity(512)).collect();
    let mut received: Vec<(usize, SocketAddr)> = Vec::with_capacity(BATCH);
    let mut replies: Vec<(usize, SockaddrStorage)> = Vec::with_capacity(BATCH);
    let mut receive_headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
    let mut send_headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
    let slot = Arc::new(Mutex::new(Vec::with_capacity(512)));

    while !shutdown.is_cancelled() {
        received.clear();
        {
            let mut slices: Vec<[IoSliceMut<'_>; 1]> = inputs
                .iter_mut()
                .map(|buf| [IoSliceMut::new(buf)])
                .collect();
            // MSG_WAITFORONE: block (up to the read timeout) for the first
            // datagram, then take what is already queued.
            match recvmmsg(
                fd,
                &mut receive_headers,
                slices.iter_mut(),
                MsgFlags::MSG_WAITFORONE,
                None,
            ) {
                Ok(messages) => {
                    for message in messages {
                        if let Some(src) = message.address.as_ref().and_then(to_std) {
                            received.push((message.bytes, src));
                        } else {
                            received.push((0, SocketAddr::from(([0, 0, 0, 0], 0))));
                        }
                    }
                }
                Err(Errno::EAGAIN | Errno::EINTR | Errno::ECONNREFUSED | Errno::ECONNRESET) => {
                    continue;
                }
                Err(errno) => return Err(errno.into()),
            }
        }

        replies.clear();
        for (index, &(len, src)) in received.iter().enumerate() {
            if !can_answer(src) {
                continue;
            }
            let datagram = &inputs[index][..len.min(RECEIVE_BUFFER)];
            let output = &mut outputs[index];
            output.clear();
            if answer(&handler, datagram, src, &slot, output) {
                replies.push((index, SockaddrStorage::from(src)));
            }
        }
        send_all(fd, &mut send_headers, &outputs, &replies);
    }
    Ok(())
}

/// Answers one datagram into `output`; `false` when there is nothing to send.
fn answer(
    handler: &SteeringHandler,
    datagram: &[u8],
    src: SocketAddr,
    slot: &Arc<Mutex<Vec<u8>>>,
    output: &mut Vec<u8>,
) -> bool {
    let Ok(request) = Request::from_bytes(datagram.to_vec(), src, Protocol::Udp) else {
        return match format_error(datagram) {
            Some(reply) => {
                output.extend_from_slice(&reply);
                true
            }
            None => false,
        };
    };
    // Never answer a response: that is how reflection loops start.
    if request.metadata.message_type == MessageType::Response {
        return false;
    }
    let reply = Captured(Arc::clone(slot));
    let mut future = pin!(handler.handle_request::<_, TokioTime>(&request, reply));
    // The handler never waits on anything but the response handler, and
    // `Captured` does not wait, so one poll finishes it. Were it ever not
    // ready, the query would be dropped (a resolver retries) rather than
    // block the batch.
    if future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
        .is_pending()
    {
        return false;
    }
    let mut captured = slot.lock().unwrap_or_else(PoisonError::into_inner);
    std::mem::swap(output, &mut captured);
    captured.clear();
    !output.is_empty()
}

/// Sends `replies` (indexes into `outputs`) with as few `sendmmsg` calls as
/// the kernel allows; a datagram the kernel refuses is dropped, as a lost
/// UDP answer would be.
fn send_all(
    fd: i32,
    headers: &mut MultiHeaders<SockaddrStorage>,
    outputs: &[Vec<u8>],
    replies: &[(usize, SockaddrStorage)],
) {
    let mut start = 0;
    while start < replies.len() {
        let pending = &replies[start..];
        let slices: Vec<[IoSlice<'_>; 1]> = pending
            .iter()
            .map(|(index, _)| [IoSlice::new(&outputs[*index])])
            .collect();
        let addresses: Vec<Option<SockaddrStorage>> =
            pending.iter().map(|(_, addr)| Some(*addr)).collect();
        let no_control: [ControlMessage<'_>; 0] = [];
        match sendmmsg(
            fd,
            headers,
            slices.iter(),
            addresses,
            no_control,
            MsgFlags::empty(),
        ) {
            Ok(results) => {
                let sent = results.count();
                // The first unsent datagram failed: skip it.
                start += sent.max(1);
            }
            Err(Errno::EINTR) => {}
            Err(_) => start += 1,
        }
    }
}

fn to_std(address: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::V4(SocketAddrV4::from(*v4)));
    }
    address
        .as_sockaddr_in6()
        .map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
}

/// Encodes the response into a shared buffer instead of sending it.
#[derive(Clone)]
struct Captured(Arc<Mutex<Vec<u8>>>);

#[async_trait::async_trait]
impl ResponseHandler for Captured {
    async fn send_response<'a>(
        &mut self,
        response: MessageResponse<
            '_,
            'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
        >,
    ) -> Result<ResponseInfo, NetError> {
        let mut bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        encode(response, Protocol::Udp, &mut bytes)
    }
}
