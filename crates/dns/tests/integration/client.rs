//! Asking the server with hickory's DNS client over UDP or TCP.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use hickory_net::client::Client;
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_net::udp::UdpClientStream;
use hickory_net::xfer::DnsHandle;
use hickory_proto::op::{DnsRequest, DnsRequestOptions, Edns, Message, Query};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsCode, EdnsOption};
use hickory_proto::rr::{Name, RData, RecordType};

const TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Udp,
    Tcp,
}

pub(crate) const BOTH: [Transport; 2] = [Transport::Udp, Transport::Tcp];

/// What to put in the query's OPT record.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Opt<'a> {
    /// No OPT record at all.
    None,
    /// EDNS without ECS.
    Edns,
    /// EDNS with this ECS subnet.
    Ecs(&'a str),
}

pub(crate) fn query(name: &str, qtype: RecordType, opt: Opt<'_>) -> Message {
    let mut message = Message::query();
    message.metadata.recursion_desired = false;
    message.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    match opt {
        Opt::None => {}
        Opt::Edns => {
            let mut edns = Edns::new();
            edns.set_max_payload(1232);
            message.set_edns(edns);
        }
        Opt::Ecs(subnet) => {
            let mut edns = Edns::new();
            edns.set_max_payload(1232);
            edns.options_mut()
                .insert(EdnsOption::Subnet(subnet.parse::<ClientSubnet>().unwrap()));
            message.set_edns(edns);
        }
    }
    message
}

/// Sends `message` and returns the response.
pub(crate) async fn exchange(addr: SocketAddr, transport: Transport, message: Message) -> Message {
    let provider = TokioRuntimeProvider::default();
    let mut options = DnsRequestOptions::default();
    options.use_edns = message.edns.is_some();
    let request = DnsRequest::new(message, options);
    let response = match transport {
        Transport::Udp => {
            let stream = UdpClientStream::builder(addr, provider)
                .with_timeout(Some(TIMEOUT))
                .build();
            let (client, background) = Client::<TokioRuntimeProvider>::from_sender(stream);
            tokio::spawn(background);
            client.send(request).next().await
        }
        Transport::Tcp => {
            let (connect, handle) = TcpClientStream::new(addr, None, Some(TIMEOUT), provider);
            let stream = connect.await.unwrap();
            let (client, background) =
                Client::<TokioRuntimeProvider>::with_timeout(stream, handle, TIMEOUT);
            tokio::spawn(background);
            client.send(request).next().await
        }
    };
    response
        .expect("a response")
        .expect("no error")
        .into_message()
}

pub(crate) async fn ask(
    addr: SocketAddr,
    transport: Transport,
    name: &str,
    qtype: RecordType,
    opt: Opt<'_>,
) -> Message {
    exchange(addr, transport, query(name, qtype, opt)).await
}

/// The CNAME target of the answer, with its trailing dot.
pub(crate) fn cname(message: &Message) -> Option<String> {
    message
        .answers
        .iter()
        .find_map(|record| match &record.data {
            RData::CNAME(target) => Some(target.0.to_ascii()),
            _ => None,
        })
}

/// The ECS option of a response.
pub(crate) fn ecs(message: &Message) -> Option<ClientSubnet> {
    match message.edns.as_ref()?.option(EdnsCode::Subnet)? {
        EdnsOption::Subnet(subnet) => Some(*subnet),
        _ => None,
    }
}

/// Sends the raw `query` and returns the raw response (one datagram, or one
/// length-prefixed TCP message).
pub(crate) async fn exchange_raw(addr: SocketAddr, transport: Transport, query: &[u8]) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        match transport {
            Transport::Udp => {
                let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
                socket.send_to(query, addr).await.unwrap();
                let mut buf = vec![0; 4096];
                let len = socket.recv(&mut buf).await.unwrap();
                buf.truncate(len);
                buf
            }
            Transport::Tcp => {
                let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                let len = u16::try_from(query.len()).unwrap();
                stream.write_all(&len.to_be_bytes()).await.unwrap();
                stream.write_all(query).await.unwrap();
                let len = stream.read_u16().await.unwrap();
                let mut buf = vec![0; usize::from(len)];
                stream.read_exact(&mut buf).await.unwrap();
                buf
            }
        }
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .expect("a response in time")
}
