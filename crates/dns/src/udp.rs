//! A lean UDP loop on the tokio runtime: receive, answer inline
//! ([`SteeringHandler::answer_datagram`]), send; and the pieces every UDP path
//! shares (response encoding with truncation, FORMERR for unparsable
//! messages, which sources can be answered).
//!
//! hickory's `Server` spawns a task per UDP datagram and sends through a
//! channel to a separate writer; for an authoritative server whose answer is a
//! lookup in memory, that bookkeeping costs more than the answer.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use hickory_proto::op::{Header, HeaderCounts, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::Record;
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};
use hickory_server::net::NetError;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponse;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use crate::SteeringHandler;

/// Largest datagram read; larger ones are cut and then fail to parse.
const RECEIVE_BUFFER: usize = 4096;

/// Serves `socket` until `shutdown` is cancelled.
pub(crate) async fn serve(
    socket: Arc<UdpSocket>,
    handler: SteeringHandler,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let mut buf = vec![0u8; RECEIVE_BUFFER];
    let mut reply = Vec::with_capacity(512);
    loop {
        let received = tokio::select! {
            received = socket.recv_from(&mut buf) => received,
            () = shutdown.cancelled() => return Ok(()),
        };
        let (len, src) = match received {
            Ok(received) => received,
            // A datagram error (e.g. an ICMP error reported on the socket) is
            // about one peer; keep serving the others.
            Err(error) if is_transient(&error) => continue,
            Err(error) => return Err(error),
        };
        if handler.answer_datagram(&buf[..len], src, &mut reply) {
            // A failed send is a lost UDP answer; the client retries.
            let _ = socket.send_to(&reply, src).await;
        }
    }
}

fn is_transient(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// Same rule as hickory's server: no port 0, no unspecified or broadcast source.
pub(crate) fn can_answer(src: SocketAddr) -> bool {
    if src.port() == 0 {
        return false;
    }
    match src.ip() {
        IpAddr::V4(v4) => !v4.is_unspecified() && !v4.is_broadcast(),
        IpAddr::V6(v6) => !v6.is_unspecified(),
    }
}

/// FORMERR for a datagram whose header parses but whose body does not (what
/// hickory's server does); `None` (drop) for shorter datagrams and responses.
pub(crate) fn format_error(datagram: &[u8]) -> Option<Vec<u8>> {
    let header = Header::read(&mut BinDecoder::new(datagram)).ok()?;
    if header.metadata.message_type == MessageType::Response {
        return None;
    }
    let mut metadata = Metadata::response_from_request(&header.metadata);
    metadata.response_code = ResponseCode::FormErr;
    let reply = Header {
        metadata,
        counts: HeaderCounts::default(),
    };
    let mut bytes = Vec::with_capacity(12);
    reply.emit(&mut BinEncoder::new(&mut bytes)).ok()?;
    Some(bytes)
}

/// Encodes a response the way hickory's `ResponseHandle` does: over UDP at
/// most the response's EDNS payload size (512 without EDNS), setting TC when
/// records had to be left out; on an encoding error, a bare SERVFAIL.
pub(crate) fn encode<'a>(
    response: MessageResponse<
        '_,
        'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
    >,
    protocol: Protocol,
    bytes: &mut Vec<u8>,
) -> Result<ResponseInfo, NetError> {
    let metadata = *response.metadata();
    let max_size = match protocol {
        Protocol::Udp => response
            .edns()
            .map_or(512, |edns| edns.max_payload().max(512)),
        _ => u16::MAX,
    };
    bytes.clear();
    let mut encoder = BinEncoder::new(bytes);
    encoder.set_max_size(max_size);
    match response.destructive_emit(&mut encoder) {
        Ok(info) => Ok(info),
        Err(_) => {
            bytes.clear();
            let mut failed = Metadata::new(metadata.id, MessageType::Response, OpCode::Query);
            failed.response_code = ResponseCode::ServFail;
            let header = Header {
                metadata: failed,
                counts: HeaderCounts::default(),
            };
            header.emit(&mut BinEncoder::new(bytes))?;
            Ok(ResponseInfo::from(header))
        }
    }
}

/// Encodes the response into a shared buffer instead of sending it, without
/// waiting: a handler's future using it completes on its first poll.
#[derive(Clone)]
pub(crate) struct Captured {
    /// The transport whose size limit applies ([`encode`]).
    pub(crate) protocol: Protocol,
    /// The encoded response.
    pub(crate) bytes: Arc<Mutex<Vec<u8>>>,
}

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
        let mut bytes = self.bytes.lock().unwrap_or_else(PoisonError::into_inner);
        encode(response, self.protocol, &mut bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_error_echoes_id_and_opcode() {
        // id 0xabcd, opcode QUERY, RD, one question that is cut short.
        let datagram = [0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, b'w'];
        let reply = format_error(&datagram).unwrap();
        assert_eq!(reply.len(), 12);
        assert_eq!(&reply[..2], &[0xab, 0xcd]);
        assert_eq!(reply[2] & 0x80, 0x80, "QR");
        assert_eq!(reply[2] & 0x01, 0x01, "RD copied");
        assert_eq!(reply[3] & 0x0f, 1, "FORMERR");
        assert_eq!(&reply[4..], &[0; 8]);
    }

    #[test]
    fn short_datagrams_and_responses_are_dropped() {
        assert_eq!(format_error(&[0xab, 0xcd, 0x01]), None);
        let response = [0xab, 0xcd, 0x81, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3];
        assert_eq!(format_error(&response), None);
    }

    #[test]
    fn unanswerable_sources() {
        assert!(!can_answer("127.0.0.1:0".parse().unwrap()));
        assert!(!can_answer("0.0.0.0:53".parse().unwrap()));
        assert!(!can_answer("255.255.255.255:53".parse().unwrap()));
        assert!(!can_answer("[::]:53".parse().unwrap()));
        assert!(can_answer("127.0.0.1:5353".parse().unwrap()));
    }
}
