//! SIGTERM and SIGINT stop the server with exit status 0 within a second;
//! a closed or broken stdout and stderr never stop it.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::{Command, Stdio};
use std::time::Duration;

use steerage_dns::hickory_proto::op::{Message, Query};
use steerage_dns::hickory_proto::rr::{Name, RecordType};

use super::dns::target;
use super::{BEIJING, BIN, SCENARIO, Served, send_signal, wait_exit};

fn scenario_file() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steering.toml");
    std::fs::write(&path, SCENARIO).unwrap();
    let path = path.to_str().unwrap().to_owned();
    (dir, path)
}

#[test]
fn sigterm_and_sigint_exit_0_within_a_second() {
    let (_dir, config) = scenario_file();
    for signal in ["TERM", "INT"] {
        let served = Served::start(&[
            "--config",
            &config,
            "--listen",
            "127.0.0.1:0",
            "--metrics",
            "127.0.0.1:0",
            "--threads",
            "2",
        ]);
        assert_eq!(target(served.addr(), Some(BEIJING)), "origin.example.net.");
        // An open TCP connection does not hold the server up.
        let _idle = std::net::TcpStream::connect(served.addr()).unwrap();
        let _scraper = std::net::TcpStream::connect(served.metrics.unwrap()).unwrap();
        let log_before = served.log_len();
        let (status, elapsed) = served.stop(signal);
        assert_eq!(
            status.code(),
            Some(0),
            "SIG{signal}: {status:?} after {log_before} lines"
        );
        assert!(elapsed < Duration::from_secs(1), "SIG{signal}: {elapsed:?}");
    }
}

/// A port free on 127.0.0.1 for both UDP and TCP just now.
fn free_port() -> SocketAddr {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = udp.local_addr().unwrap();
        if TcpListener::bind(addr).is_ok() {
            return addr;
        }
    }
}

/// Whether a DNS server answers on `addr` within 100 ms.
fn responds(addr: SocketAddr) -> bool {
    let mut query = Message::query();
    query.add_query(Query::query(
        Name::from_ascii("example.com.").unwrap(),
        RecordType::SOA,
    ));
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    socket.send_to(&query.to_vec().unwrap(), addr).unwrap();
    let mut buf = [0; 512];
    socket.recv(&mut buf).is_ok()
}

/// The server answers, reloads and stops cleanly with stdout and stderr
/// closed (`>&-`) and with them pipes nobody reads (EPIPE on every log line).
#[test]
fn closed_or_broken_stdout_and_stderr_change_nothing() {
    let (_dir, config) = scenario_file();
    for closed in [true, false] {
        let addr = free_port();
        let listen = addr.to_string();
        let args = [
            "serve",
            "--config",
            &config,
            "--listen",
            &listen,
            "--log-level",
            "debug",
        ];
        let mut child = if closed {
            Command::new("sh")
                .arg("-c")
                .arg("exec \"$0\" \"$@\" <&- >&- 2>&-")
                .arg(BIN)
                .args(args)
                .spawn()
                .unwrap()
        } else {
            let mut child = Command::new(BIN)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            // Nobody reads them: every write fails with EPIPE.
            drop(child.stdout.take());
            drop(child.stderr.take());
            child
        };
        // Wait until it answers.
        for _ in 0..100 {
            if responds(addr) || child.try_wait().unwrap().is_some() {
                break;
            }
        }
        assert_eq!(
            target(addr, Some(BEIJING)),
            "origin.example.net.",
            "closed: {closed}"
        );
        send_signal(child.id(), "HUP");
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(target(addr, Some(BEIJING)), "origin.example.net.");
        send_signal(child.id(), "TERM");
        let status = wait_exit(&mut child, Duration::from_secs(5));
        assert_eq!(status.code(), Some(0), "closed: {closed}: {status:?}");
    }
}
