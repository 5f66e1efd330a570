//! The server in a process limited to 256 file descriptors, sent more TCP
//! connections than it can hold: it neither spins (CPU time over a window
//! stays low) nor stops serving (UDP meanwhile, and a fresh TCP client once
//! the connections close), and it logs why it waits. Once with the default
//! connection limit (half the descriptors), once with a limit above what
//! the descriptors allow, so that accepting fails with EMFILE.
//!
//! The server runs in a child process (this test binary again, running
//! [`fd_limited_server`]), so that lowering its limit touches no other test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;
use steerage_dns::{DnsServer, ServerOptions, SteeringHandler};

use crate::client::{self, Opt};
use crate::process::cpu_time;
use crate::server::{CDN_B, scenario_steering};

/// Set in the child's environment: `NOFILE MAX` (MAX `default` or a number).
const CHILD: &str = "STEERAGE_TEST_FD_LIMITED_SERVER";
const NOFILE: u64 = 256;
const CONNECTIONS: usize = 400;

/// The server process of the tests below; does nothing unless started by
/// them. Serves until its stdin closes.
#[test]
#[ignore = "the server process of the fd_limit tests, which start it"]
fn fd_limited_server() {
    use nix::sys::resource::{Resource, setrlimit};
    let Ok(spec) = std::env::var(CHILD) else {
        return;
    };
    let (nofile, max) = spec.split_once(' ').unwrap();
    let nofile: u64 = nofile.parse().unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, nofile, nofile).unwrap();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut options = ServerOptions::default();
        if let Ok(max) = max.parse() {
            options = options.tcp_max_connections(max);
        }
        let handler = SteeringHandler::new(scenario_steering()).unwrap();
        let server = DnsServer::bind("127.0.0.1:0".parse().unwrap(), handler, options)
            .await
            .unwrap();
        println!("{CHILD}={}", server.local_addr());
        let stop = server.shutdown_handle();
        std::thread::spawn(move || {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            stop.shutdown();
        });
        server.run().await.unwrap();
    });
}

struct Server {
    child: Child,
    addr: SocketAddr,
    log: tempfile::NamedTempFile,
}

impl Server {
    fn start(max: &str) -> Self {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "fd_limit::fd_limited_server",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD, format!("{NOFILE} {max}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap();
        let prefix = format!("{CHILD}=");
        let addr = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .map(Result::unwrap)
            .find_map(|line| line.strip_prefix(&prefix).map(|a| a.parse().unwrap()))
            .expect("the server's address");
        Self { child, addr, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Closing stdin stops it; kill in case it does not.
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn query() -> Vec<u8> {
    client::query("www.example.com.", RecordType::A, Opt::None)
        .to_vec()
        .unwrap()
}

fn ask_udp(addr: SocketAddr) -> Option<Message> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    socket.send_to(&query(), addr).unwrap();
    let mut buf = [0; 1232];
    let len = socket.recv(&mut buf).ok()?;
    Message::from_vec(&buf[..len]).ok()
}

fn ask_tcp(addr: SocketAddr, timeout: Duration) -> Option<Message> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).unwrap();
    let query = query();
    let mut framed = u16::try_from(query.len()).unwrap().to_be_bytes().to_vec();
    framed.extend(query);
    stream.write_all(&framed).ok()?;
    let mut len = [0; 2];
    stream.read_exact(&mut len).ok()?;
    let mut buf = vec![0; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut buf).ok()?;
    Message::from_vec(&buf).ok()
}

/// Floods `server` with connections, checks it stays calm and answering,
/// closes them, and checks a fresh TCP client is answered.
fn flood(server: &Server) {
    assert!(
        ask_tcp(server.addr, Duration::from_secs(2)).is_some(),
        "TCP before"
    );
    // Past the listen backlog the kernel drops SYNs: stop there.
    let connections: Vec<TcpStream> = (0..CONNECTIONS)
        .map_while(|_| TcpStream::connect_timeout(&server.addr, Duration::from_millis(500)).ok())
        .collect();
    // More than the descriptors allow: the limit or EMFILE is reached.
    assert!(
        connections.len() > NOFILE as usize,
        "{} connections",
        connections.len()
    );
    // Let the server take what it can.
    std::thread::sleep(Duration::from_millis(300));
    let pid = server.child.id();
    let (cpu, wall) = (cpu_time(pid), Instant::now());
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_time(pid) - cpu;
    let share = used.as_secs_f64() / wall.elapsed().as_secs_f64();
    // Spinning takes a whole core (share near 1); the bound is loose for a
    // busy machine.
    assert!(
        share < 0.1,
        "the server used {used:?} of CPU in {:?}",
        wall.elapsed()
    );
    let answer = ask_udp(server.addr).expect("UDP answered while TCP is full");
    assert_eq!(client::cname(&answer).as_deref(), Some(CDN_B));

    drop(connections);
    let deadline = Instant::now() + Duration::from_secs(10);
    let answer = loop {
        if let Some(answer) = ask_tcp(server.addr, Duration::from_secs(1)) {
            break answer;
        }
        assert!(
            Instant::now() < deadline,
            "no TCP answer after the connections closed"
        );
    };
    assert_eq!(client::cname(&answer).as_deref(), Some(CDN_B));
}

#[test]
fn over_the_default_connection_limit_new_clients_wait_without_spinning() {
    let server = Server::start("default");
    flood(&server);
    let log = server.log();
    // Half of 256.
    assert!(log.contains("tcp_max_connections=128"), "{log}");
    assert!(log.contains("TCP connection limit reached"), "{log}");
    assert!(!log.contains("lack of resources"), "{log}");
}

#[test]
fn out_of_file_descriptors_accepting_backs_off() {
    let server = Server::start("10000");
    flood(&server);
    let log = server.log();
    assert!(
        log.contains("TCP accept failed for lack of resources"),
        "{log}"
    );
    assert!(log.contains("Too many open files"), "{log}");
    assert!(log.contains("TCP accept works again"), "{log}");
}
