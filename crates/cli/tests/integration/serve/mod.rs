//! `steerage serve`, run as a process: answers over UDP and TCP (hickory's
//! client and `dig`), reloads on SIGHUP and on file changes, metrics
//! scraped over HTTP, signals. The harness reads the server's JSON log
//! lines to learn its ports and to wait for reloads.

mod answers;
mod dns;
mod health;
mod metrics;
mod real_data;
mod reload;
mod signals;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_steerage");

/// The design scenario (CN-BJ -> origin, CN -> cdn-a 70 / built-in 30,
/// default -> cdn-b), as the DNS adapter's tests use it.
pub(crate) const SCENARIO: &str = include_str!("../../../testdata/scenario.toml");

/// Sample-data clients (ECS subnets).
pub(crate) const BEIJING: &str = "192.0.2.0/25";
pub(crate) const SHANGHAI: &str = "203.0.113.0/24";

/// How long a server may take to start: compiling a city database takes
/// seconds.
const START_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a log line may take to come.
pub(crate) const LOG_TIMEOUT: Duration = Duration::from_secs(20);

/// The server's log lines so far, and a way to wait for more.
#[derive(Default)]
struct Logs {
    lines: Mutex<(Vec<Value>, bool)>,
    more: Condvar,
}

/// A running `steerage serve`; killed when dropped.
pub(crate) struct Served {
    child: Option<Child>,
    logs: Arc<Logs>,
    /// The DNS addresses, in `--listen` order.
    pub(crate) dns: Vec<SocketAddr>,
    /// The metrics endpoint, when `--metrics` was given.
    pub(crate) metrics: Option<SocketAddr>,
}

impl Served {
    /// Starts `steerage serve ARGS --log-format json` and waits until it
    /// serves.
    pub(crate) fn start(args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .arg("serve")
            .args(args)
            .args(["--log-format", "json"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the steerage binary starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let logs = Arc::new(Logs::default());
        let reader_logs = Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|_| panic!("a log line that is not JSON: {line}"));
                reader_logs.lines.lock().unwrap().0.push(value);
                reader_logs.more.notify_all();
            }
            reader_logs.lines.lock().unwrap().1 = true;
            reader_logs.more.notify_all();
        });
        let mut served = Self {
            child: Some(child),
            logs,
            dns: Vec::new(),
            metrics: None,
        };
        let serving = served.wait_log("serving", 0, START_TIMEOUT);
        served.dns = serving["listen"]
            .as_str()
            .unwrap()
            .split(' ')
            .map(|a| a.parse().unwrap())
            .collect();
        served.metrics = serving["metrics"].as_str().and_then(|m| {
            m.strip_prefix("http://")?
                .strip_suffix("/metrics")?
                .parse()
                .ok()
        });
        served
    }

    /// The first DNS address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.dns[0]
    }

    /// How many log lines came so far.
    pub(crate) fn log_len(&self) -> usize {
        self.logs.lines.lock().unwrap().0.len()
    }

    /// Every log line so far.
    pub(crate) fn log(&self) -> Vec<Value> {
        self.logs.lines.lock().unwrap().0.clone()
    }

    /// The first log line from index `since` on whose message is `message`;
    /// panics with the log after `timeout`, or when the server exited.
    pub(crate) fn wait_log(&self, message: &str, since: usize, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        let mut guard = self.logs.lines.lock().unwrap();
        loop {
            if let Some(line) = guard.0.iter().skip(since).find(|l| l["message"] == message) {
                return line.clone();
            }
            let now = Instant::now();
            if guard.1 || now >= deadline {
                let log: Vec<String> = guard.0.iter().map(Value::to_string).collect();
                panic!(
                    "no `{message}` log line ({}); the log:\n{}",
                    if guard.1 {
                        "the server exited"
                    } else {
                        "timed out"
                    },
                    log.join("\n")
                );
            }
            guard = self
                .logs
                .more
                .wait_timeout(guard, deadline - now)
                .unwrap()
                .0;
        }
    }

    /// Sends a signal (`HUP`, `TERM`, `INT`) to the server process.
    pub(crate) fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id();
        send_signal(pid, signal);
    }

    /// Sends `signal` and waits (up to 10 s) for the process to exit; its
    /// status and how long it took.
    pub(crate) fn stop(mut self, signal: &str) -> (ExitStatus, Duration) {
        let mut child = self.child.take().expect("running");
        let started = Instant::now();
        send_signal(child.id(), signal);
        let status = wait_exit(&mut child, Duration::from_secs(10));
        (status, started.elapsed())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `kill -s SIGNAL PID`, for a process this test started.
pub(crate) fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -s {signal} {pid}");
}

/// Waits for `child` to exit; kills it and panics after `timeout`.
pub(crate) fn wait_exit(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Writes `text` to `path` through a temporary file and a rename, as
/// config managers do (a reader never sees half a file).
pub(crate) fn replace_file(path: &Path, text: &str) {
    let temporary = path.with_extension("tmp-write");
    std::fs::write(&temporary, text).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

/// `STEERAGE_GEO_DATA`, or `None` with a notice (the real-data tests are
/// skipped without it; `.ci/run` sets it).
pub(crate) fn geo_data() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("STEERAGE_GEO_DATA").filter(|d| !d.is_empty());
    if dir.is_none() {
        eprintln!("notice: STEERAGE_GEO_DATA is not set: skipping the real-data serve test");
    }
    dir.map(Into::into)
}
