//! Asking the server: hickory's DNS client over UDP and TCP, `dig`, and a
//! plain HTTP/1.1 scrape of the metrics endpoint.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use futures_util::StreamExt;
use hickory_net::client::Client;
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_net::udp::UdpClientStream;
use hickory_net::xfer::DnsHandle;
use steerage_dns::hickory_proto::op::{DnsRequest, DnsRequestOptions, Edns, Message, Query};
use steerage_dns::hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsOption};
use steerage_dns::hickory_proto::rr::{Name, RData, RecordType};

const TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    Udp,
    Tcp,
}

/// Asks for `name` (type A) with the ECS subnet `ecs` if given, and returns
/// the response.
pub(crate) fn ask(addr: SocketAddr, via: Via, name: &str, ecs: Option<&str>) -> Message {
    let mut message = Message::query();
    message.metadata.recursion_desired = false;
    message.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    if let Some(subnet) = ecs {
        edns.options_mut()
            .insert(EdnsOption::Subnet(subnet.parse::<ClientSubnet>().unwrap()));
    }
    message.set_edns(edns);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(exchange(addr, via, message))
}

async fn exchange(addr: SocketAddr, via: Via, message: Message) -> Message {
    let provider = TokioRuntimeProvider::default();
    let mut options = DnsRequestOptions::default();
    options.use_edns = true;
    let request = DnsRequest::new(message, options);
    let response = match via {
        Via::Udp => {
            let stream = UdpClientStream::builder(addr, provider)
                .with_timeout(Some(TIMEOUT))
                .build();
            let (client, background) = Client::<TokioRuntimeProvider>::from_sender(stream);
            tokio::spawn(background);
            client.send(request).next().await
        }
        Via::Tcp => {
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

/// The CNAME target of an answer, with its trailing dot.
pub(crate) fn cname(message: &Message) -> Option<String> {
    message
        .answers
        .iter()
        .find_map(|record| match &record.data {
            RData::CNAME(target) => Some(target.0.to_ascii()),
            _ => None,
        })
}

/// Asks over UDP with hickory and returns the CNAME target.
pub(crate) fn target(addr: SocketAddr, ecs: Option<&str>) -> String {
    let response = ask(addr, Via::Udp, "www.example.com.", ecs);
    cname(&response).unwrap_or_else(|| panic!("no CNAME: {response:?}"))
}

/// Whether `dig` can run; a notice when it cannot (`.ci/run` installs it).
pub(crate) fn dig_available() -> bool {
    let ok = Command::new("dig")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("notice: `dig` not found; skipping the dig checks (install bind9-dnsutils)");
    }
    ok
}

/// The CNAME target `dig` gets for `name` (with `+subnet=ECS` when given,
/// over TCP with `tcp`), and its status.
pub(crate) fn dig(
    addr: SocketAddr,
    name: &str,
    ecs: Option<&str>,
    tcp: bool,
) -> (String, Option<String>) {
    let mut command = Command::new("dig");
    command.arg(format!("@{}", addr.ip())).args([
        "-p",
        &addr.port().to_string(),
        "+norec",
        "+time=2",
        "+tries=1",
        name,
        "A",
    ]);
    if let Some(subnet) = ecs {
        command.arg(format!("+subnet={subnet}"));
    }
    if tcp {
        command.arg("+tcp");
    }
    let output = command.output().expect("dig runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let status = text
        .lines()
        .find_map(|l| l.split("status: ").nth(1))
        .map(|rest| rest.split(',').next().unwrap_or("").to_owned())
        .unwrap_or_default();
    let cname = text
        .lines()
        .filter(|l| !l.starts_with(';'))
        .find_map(
            |line| match line.split_whitespace().collect::<Vec<_>>().as_slice() {
                [_, _, "IN", "CNAME", target] => Some((*target).to_owned()),
                _ => None,
            },
        );
    (status, cname)
}

/// `GET /metrics`: the status line and the body.
pub(crate) fn scrape(addr: SocketAddr) -> (String, String) {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .expect("a complete response");
    let status = head.lines().next().unwrap_or("").to_owned();
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    (status, body.to_owned())
}

/// The value of one series (`name{labels}`) in a scrape; `None` when absent.
pub(crate) fn series(body: &str, series: &str) -> Option<u64> {
    body.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}
