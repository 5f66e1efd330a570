//! Batched UDP on Linux: `recvmmsg` reads up to [`BATCH`] queries in one
//! system call, the handler answers each, and `sendmmsg` sends the answers
//! in one more.
//!
//! Answering a steered name costs far less than the kernel's work per
//! datagram, so the system calls decide the throughput; batching them is what
//! gdnsd and Knot do too. The loop runs on its own blocking thread; each
//! datagram is answered by [`SteeringHandler::answer_datagram`].

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{
    ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, sendmmsg,
};
use tokio_util::sync::CancellationToken;

use crate::SteeringHandler;

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
            let datagram = &inputs[index][..len.min(RECEIVE_BUFFER)];
            if handler.answer_datagram(datagram, src, &mut outputs[index]) {
                replies.push((index, SockaddrStorage::from(src)));
            }
        }
        send_all(fd, &mut send_headers, &outputs, &replies);
    }
    Ok(())
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
