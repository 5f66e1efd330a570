//! The `dns_server` example as its users run it: the real binary, its
//! stdout closed after the first line (`dns_server | head -1`), real
//! signals. SIGTERM and SIGINT stop it within a second with status 0,
//! whatever it printed or was doing (a reload included); `--query-once`
//! answers itself and stops; `--help` exits 0 and bad usage 2.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use steerage_dns::hickory_proto::op::{Edns, Message, Query};
use steerage_dns::hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsOption};
use steerage_dns::hickory_proto::rr::{Name, RData, RecordType};

use crate::process::example_binary;

/// The policy the example serves without `--config`.
const SCENARIO: &str = include_str!("../../../crates/dns/testdata/scenario.toml");
/// What Beijing gets in it.
const ORIGIN: &str = "origin.example.net.";

/// A query for www.example.com A from `subnet`.
fn query(subnet: &str) -> Message {
    let mut message = Message::query();
    message.add_query(Query::query(
        Name::from_ascii("www.example.com.").unwrap(),
        RecordType::A,
    ));
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    edns.options_mut()
        .insert(EdnsOption::Subnet(subnet.parse::<ClientSubnet>().unwrap()));
    message.set_edns(edns);
    message
}

/// The CNAME target of an answer, with its trailing dot.
fn cname(message: &Message) -> Option<String> {
    message
        .answers
        .iter()
        .find_map(|record| match &record.data {
            RData::CNAME(target) => Some(target.0.to_ascii()),
            _ => None,
        })
}

/// The example serving `config`, its stdout closed once the address is
/// read; stderr (the logs) goes to `log`.
struct Example {
    child: Child,
    addr: SocketAddr,
}

impl Example {
    fn start(config: &Path, log: &Path, threads: &str) -> Self {
        let mut child = Command::new(example_binary("dns_server"))
            .args(["--listen", "127.0.0.1:0", "--threads", threads, "--config"])
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // The reader is dropped: the example's stdout is now a closed pipe,
        // as behind `| head -1`.
        let addr = line
            .split_whitespace()
            .find_map(|word| word.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Self { child, addr }
    }

    fn signal(&self, signal: Signal) {
        kill(
            Pid::from_raw(i32::try_from(self.child.id()).unwrap()),
            signal,
        )
        .unwrap();
    }

    /// The exit status within `limit`, or `None` (the process is then
    /// killed).
    fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Asks for www.example.com from Beijing over UDP.
    fn ask(&self) -> Option<Message> {
        let query = query("192.0.2.0/24");
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        socket.send_to(&query.to_vec().unwrap(), self.addr).unwrap();
        let mut buf = [0; 1232];
        let len = socket.recv(&mut buf).ok()?;
        Message::from_vec(&buf[..len]).ok()
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn sigterm_and_sigint_stop_it_with_stdout_closed() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("steerage.toml");
    std::fs::write(&config, SCENARIO).unwrap();
    for (signal, threads) in [(Signal::SIGTERM, "1"), (Signal::SIGINT, "2")] {
        let log = dir.path().join(format!("{signal}.log"));
        let mut example = Example::start(&config, &log, threads);
        let answer = example.ask().expect("an answer");
        assert_eq!(cname(&answer).as_deref(), Some(ORIGIN));
        // A reload with something to report, on a closed stdout.
        std::fs::write(&config, SCENARIO.replace("ttl = 60", "ttl = 61")).unwrap();
        example.signal(Signal::SIGHUP);
        let deadline = Instant::now() + Duration::from_secs(10);
        while example.ask().expect("an answer during the reload").answers[0].ttl != 61 {
            assert!(Instant::now() < deadline, "the reload took no effect");
            std::thread::sleep(Duration::from_millis(20));
        }
        // The reload publishes before it logs: wait for its log line too,
        // or the signal below may end the wait that would have written it.
        while !std::fs::read_to_string(&log)
            .unwrap()
            .contains("configuration reloaded")
        {
            assert!(Instant::now() < deadline, "the reload was not logged");
            std::thread::sleep(Duration::from_millis(20));
        }

        example.signal(signal);
        let status = example.wait_for(Duration::from_secs(1));
        let log_text = std::fs::read_to_string(&log).unwrap();
        assert!(
            status.is_some_and(|s| s.success()),
            "{signal}: {status:?}, log:\n{log_text}"
        );
        assert!(!log_text.contains("panicked"), "{log_text}");
        assert!(log_text.contains("configuration reloaded"), "{log_text}");
        std::fs::write(&config, SCENARIO).unwrap();
    }
}

/// A configuration of `n` policies (JSON), all in example.com.
fn large_config(n: usize, ttl: u32) -> String {
    let mut text = String::with_capacity(n * 400);
    text.push_str(r#"{"builtin":{"cname":"edge.example.org"},"policy":["#);
    for i in 0..n {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!(
            concat!(
                r#"{{"domain":"www{i}.example.com","ttl":{ttl},"provider":["#,
                r#"{{"name":"origin","kind":"origin","cname":"origin.example.net"}},"#,
                r#"{{"name":"cdn-a","kind":"cdn","cname":"cdn-a.example.net"}}],"#,
                r#""rule":[{{"name":"beijing","lines":["CN-BJ"],"targets":[{{"provider":"origin","weight":100}}]}},"#,
                r#"{{"name":"china","lines":["CN"],"targets":[{{"provider":"cdn-a","weight":70}},{{"provider":"builtin","weight":30}}]}}],"#,
                r#""default":{{"targets":[{{"provider":"cdn-a","weight":100}}]}}}}"#
            ),
            i = i,
            ttl = ttl
        ));
    }
    text.push_str("]}");
    text
}

#[test]
fn sigterm_stops_it_during_a_long_reload() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("steerage.json");
    std::fs::write(&config, large_config(100_000, 60)).unwrap();
    let log = dir.path().join("server.log");
    let mut example = Example::start(&config, &log, "1");
    std::fs::write(&config, large_config(100_000, 61)).unwrap();
    example.signal(Signal::SIGHUP);
    // The reload reads, parses and compiles 100,000 policies: it is still
    // running when SIGTERM comes.
    std::thread::sleep(Duration::from_millis(100));
    // Answering goes on meanwhile.
    assert!(example.ask().is_some(), "an answer during the reload");
    example.signal(Signal::SIGTERM);
    let status = example.wait_for(Duration::from_secs(1));
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}, log:\n{log_text}"
    );
    assert!(
        !log_text.contains("configuration reloaded"),
        "the reload ended before SIGTERM: make the file larger\n{log_text}"
    );
}

#[test]
fn query_once_answers_itself_and_stops() {
    let output = Command::new(example_binary("dns_server"))
        .args(["--listen", "127.0.0.1:0", "--query-once"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{:?}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let mut lines = stdout.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("dns_server: listening on 127.0.0.1:")
    );
    // Shanghai: cdn-a 70 % or the built-in provider 30 %, scope /24.
    let answer = lines.next().unwrap();
    assert!(
        answer == "www.example.com from 203.0.113.0/24 -> cdn-a.example.net. (ECS scope /24)"
            || answer == "www.example.com from 203.0.113.0/24 -> edge.example.org. (ECS scope /24)",
        "{answer}"
    );
}

#[test]
fn help_exits_0_and_bad_usage_2() {
    let help = Command::new(example_binary("dns_server"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success(), "{:?}", help.status);
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.starts_with("usage: dns_server"), "{text}");
    assert!(text.contains("--query-once"), "{text}");
    let bad = Command::new(example_binary("dns_server"))
        .arg("--no-such-option")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown option --no-such-option"));
}
