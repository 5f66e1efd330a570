//! A closed standard output never makes the binary panic.

use std::io::Read as _;
use std::process::{Command, Stdio};

use crate::common::testdata;

fn binary() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin!("steerage"))
}

#[test]
fn a_reader_closing_the_pipe_ends_the_output_quietly() {
    let mut child = binary()
        .arg("simulate")
        .arg(testdata("design.toml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end before the binary writes.
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A closed descriptor 1 (`>&-`): Rust's standard output takes writes to
/// it as done (`EBADF` is ignored), so the command ends as it would have.
#[cfg(unix)]
#[test]
fn a_closed_stdout_is_not_panicked_on() {
    let bin = assert_cmd::cargo::cargo_bin!("steerage");
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!("'{}' lookup 192.0.2.10 >&-", bin.display()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // --help, printed by clap, too.
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!("'{}' --help >&-", bin.display()))
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
}
