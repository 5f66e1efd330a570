//! Logs: `tracing` events written to stderr as text or as JSON lines, by a
//! writer that drops what it cannot write, so a closed or broken stderr
//! never stops or panics the program.

use std::io::{self, IsTerminal, Write};

use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `fields`...).
    Json,
}

/// Installs the global subscriber: this crate's events at `level` and
/// above, other crates' (hickory's per-request lines, say) at warnings and
/// above. Installing twice keeps the first.
pub(crate) fn init(format: LogFormat, level: LevelFilter) {
    let others = if level == LevelFilter::OFF || level == LevelFilter::ERROR {
        level
    } else {
        LevelFilter::WARN
    };
    let targets = Targets::new()
        .with_default(others)
        .with_target(env!("CARGO_CRATE_NAME"), level);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(Stderr)
        .with_target(false)
        // tracing-subscriber reports its own write errors on stderr, which
        // is what failed.
        .log_internal_errors(false);
    let result = match format {
        LogFormat::Text => tracing_subscriber::registry()
            .with(
                layer
                    .with_ansi(io::stderr().is_terminal())
                    .with_filter(targets),
            )
            .try_init(),
        LogFormat::Json => tracing_subscriber::registry()
            .with(
                layer
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_filter(targets),
            )
            .try_init(),
    };
    // Already installed (tests calling twice): the first one stays.
    drop(result);
}

/// Points standard input, output and error at `/dev/null` when the process
/// was started with them closed, and keeps them so for its life.
///
/// Otherwise the next file the server opens (a socket, a client's TCP
/// connection) would take descriptor 2, and log lines would go to it.
/// Safe Rust cannot `dup2`, but `open` returns the lowest free descriptor:
/// opening `/dev/null` until a descriptor above 2 comes back fills exactly
/// the closed ones.
#[cfg(unix)]
pub(crate) fn hold_standard_streams() {
    use std::os::fd::AsRawFd;
    loop {
        let Ok(null) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
        else {
            return;
        };
        if null.as_raw_fd() > 2 {
            return;
        }
        // It took the place of a closed standard stream: keep it there.
        std::mem::forget(null);
    }
}

/// Nothing to do where standard streams are not plain descriptors.
#[cfg(not(unix))]
pub(crate) fn hold_standard_streams() {}

/// Makes [`StderrWriter`]s.
struct Stderr;

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = StderrWriter;

    fn make_writer(&'a self) -> Self::Writer {
        StderrWriter
    }
}

/// Writes each formatted event to stderr in one call and reports success
/// whatever happened: a log line that cannot be written is lost, and the
/// server goes on.
struct StderrWriter;

impl Write for StderrWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = io::stderr().lock().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = io::stderr().flush();
        Ok(())
    }
}

/// An error and its sources on one line, `: `-separated: how errors are
/// logged, so the file, line and column a source names are never lost.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Errors that wrap with `#[error(transparent)]`-like messages repeat
        // their source; say it once.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("invalid config file `a.toml`")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("TOML config, line 3, column 7: invalid type")]
    struct Inner;

    #[test]
    fn error_chain_keeps_every_source() {
        assert_eq!(
            error_chain(&Outer(Inner)),
            "invalid config file `a.toml`: TOML config, line 3, column 7: invalid type"
        );
    }
}
