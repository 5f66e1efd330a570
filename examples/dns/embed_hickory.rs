//! steerage's DNS handler in a hickory-dns server of your own: build a
//! `Steering`, wrap it in a `SteeringHandler`, and register it with
//! `hickory_server::Server` on sockets you bind (here UDP and TCP on an
//! ephemeral loopback port). The example then asks its own server for
//! `www.example.com` from three client subnets (EDNS Client Subnet), over
//! UDP and over TCP, prints each answer's CNAME and ECS scope, changes the
//! policy while serving, asks again, and shuts the server down.
//!
//! Use this when your server does more than steering (other handlers,
//! your own sockets, listeners or runtime); `steerage_dns::DnsServer` is the
//! ready-made alternative (the `dns_server` example).
//!
//! Run it with `cargo run --example embed_hickory`. It needs no data files
//! and sends nothing beyond 127.0.0.1.

use std::error::Error;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use steerage::Steering;
use steerage::geo::Line;
use steerage::geo::LocationTable;
use steerage::policy::{Format, Rule, Target, Weight};
use steerage_dns::SteeringHandler;
use steerage_dns::hickory_proto::op::{Edns, Message, Query};
use steerage_dns::hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsCode, EdnsOption};
use steerage_dns::hickory_proto::rr::{Name, RData, RecordType};
use steerage_dns::hickory_server::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::time::timeout;

/// Beijing -> origin, rest of China -> cdn-a 70 % / built-in 30 %,
/// everyone else -> cdn-b (the `quickstart` example's policy).
const CONFIG: &str = r#"
[builtin]
cname = "edge.example.org"

[[policy]]
domain = "www.example.com"
ttl = 60

[[policy.provider]]
name = "origin"
kind = "origin"
cname = "origin.example.net"

[[policy.provider]]
name = "cdn-a"
kind = "cdn"
cname = "cdn-a.example.net"

[[policy.provider]]
name = "cdn-b"
kind = "cdn"
cname = "cdn-b.example.net"

[[policy.rule]]
name = "beijing"
lines = ["CN-BJ"]
targets = [{ provider = "origin", weight = 100 }]

[[policy.rule]]
name = "china"
lines = ["CN"]
targets = [{ provider = "cdn-a", weight = 70 }, { provider = "builtin", weight = 30 }]

[policy.default]
targets = [{ provider = "cdn-b", weight = 100 }]
"#;

/// Client subnets of the built-in sample data.
const SUBNETS: [(&str, &str); 3] = [
    ("192.0.2.0/24", "Beijing"),
    ("203.0.113.0/24", "Shanghai"),
    ("198.51.100.0/24", "California"),
];

/// How long to wait for any one answer.
const WAIT: Duration = Duration::from_secs(5);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let steering = Arc::new(
        Steering::builder()
            .config_str(CONFIG, Format::Toml)
            .locations(LocationTable::sample())
            .build()?,
    );
    // Authoritative for example.com (derived from the steered name), with
    // ECS, on hickory's request handler seam.
    let handler = SteeringHandler::new(Arc::clone(&steering))?;

    // Your server, your sockets.
    let udp = UdpSocket::bind("127.0.0.1:0").await?;
    let addr = udp.local_addr()?;
    let tcp = TcpListener::bind(addr).await?;
    let mut server = Server::new(handler);
    server.register_socket(udp);
    server.register_listener(tcp, Duration::from_secs(5), 32);
    println!("serving on {addr} (udp+tcp)\n");

    for (subnet, place) in SUBNETS {
        let response = ask_udp(addr, subnet).await?;
        println!("udp {place:<10} {subnet:<16} -> {}", describe(&response));
    }
    let response = ask_tcp(addr, "192.0.2.0/24").await?;
    println!(
        "tcp {:<10} {:<16} -> {}",
        "Beijing",
        "192.0.2.0/24",
        describe(&response)
    );

    // A change while serving: Beijing now goes to cdn-b. Once `apply`
    // returns, every later answer uses it.
    steering.apply(|set| {
        let beijing = Rule::new(
            "beijing".parse()?,
            vec![Line::parse("CN-BJ")?],
            vec![Target::new("cdn-b".parse()?, Weight::new(100)?)],
        );
        set.update_rule("www.example.com", "beijing", beijing)
    })?;
    let response = ask_udp(addr, "192.0.2.0/24").await?;
    println!(
        "\nafter the change:\nudp {:<10} {:<16} -> {}",
        "Beijing",
        "192.0.2.0/24",
        describe(&response)
    );
    if cname(&response).as_deref() != Some("cdn-b.example.net.") {
        return Err("the change did not reach the server".into());
    }

    server.shutdown_gracefully().await?;
    println!("\nstopped");
    Ok(())
}

/// A query for www.example.com A with `subnet` as its client subnet.
fn query(subnet: &str) -> Result<Vec<u8>, Box<dyn Error>> {
    let mut message = Message::query();
    message.add_query(Query::query(
        Name::from_ascii("www.example.com.")?,
        RecordType::A,
    ));
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    edns.options_mut()
        .insert(EdnsOption::Subnet(subnet.parse::<ClientSubnet>()?));
    message.set_edns(edns);
    Ok(message.to_vec()?)
}

async fn ask_udp(server: SocketAddr, subnet: &str) -> Result<Message, Box<dyn Error>> {
    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    socket.send_to(&query(subnet)?, server).await?;
    let mut buf = vec![0; 1232];
    let len = timeout(WAIT, socket.recv(&mut buf)).await??;
    Ok(Message::from_vec(&buf[..len])?)
}

/// Over TCP each message has a two-byte length in front.
async fn ask_tcp(server: SocketAddr, subnet: &str) -> Result<Message, Box<dyn Error>> {
    let query = query(subnet)?;
    let mut stream = timeout(WAIT, TcpStream::connect(server)).await??;
    stream
        .write_all(&u16::try_from(query.len())?.to_be_bytes())
        .await?;
    stream.write_all(&query).await?;
    let len = timeout(WAIT, stream.read_u16()).await??;
    let mut buf = vec![0; usize::from(len)];
    timeout(WAIT, stream.read_exact(&mut buf)).await??;
    Ok(Message::from_vec(&buf)?)
}

/// The CNAME target of an answer.
fn cname(response: &Message) -> Option<String> {
    response
        .answers
        .iter()
        .find_map(|record| match &record.data {
            RData::CNAME(target) => Some(target.0.to_ascii()),
            _ => None,
        })
}

/// CNAME, TTL and ECS scope, on one line.
fn describe(response: &Message) -> String {
    let scope = response
        .edns
        .as_ref()
        .and_then(|edns| match edns.option(EdnsCode::Subnet) {
            Some(EdnsOption::Subnet(subnet)) => Some(subnet.scope_prefix()),
            _ => None,
        });
    format!(
        "{} TTL {} ECS scope /{}{}",
        cname(response).unwrap_or_else(|| "(no CNAME)".into()),
        response.answers.first().map_or(0, |r| r.ttl),
        scope.map_or_else(|| "-".into(), |s| s.to_string()),
        if response.metadata.authoritative {
            ", authoritative"
        } else {
            ""
        }
    )
}
