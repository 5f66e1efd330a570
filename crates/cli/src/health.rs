//! `steerage health`: reads provider health from a running `steerage
//! serve`'s health endpoint (`--health-api`), as a table or as JSON.
//!
//! Exit status: 0 when every provider is up, 1 (a finding) when one is
//! down, 2 when the endpoint cannot be asked (unreachable, refused token,
//! an answer that is not the endpoint's).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;

use crate::error::{EXIT_FINDING, EXIT_SUCCESS, EXIT_USAGE};
use crate::output::Format;

/// Arguments of `steerage health`.
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Example:\n  steerage health --api 127.0.0.1:9154 --token-file /etc/steerage/health-token"
)]
pub struct HealthArgs {
    /// The health endpoint's address (`steerage serve --health-api`)
    #[arg(long, value_name = "ADDR")]
    api: SocketAddr,
    /// The file whose first line is the endpoint's bearer token
    #[arg(long, value_name = "FILE")]
    token_file: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

const TIMEOUT: Duration = Duration::from_secs(10);
/// The most of an answer read: the state of many thousands of providers.
const MAX_ANSWER: u64 = 64 << 20;

/// Runs `steerage health`.
pub fn run(args: &HealthArgs) -> ExitCode {
    match fetch(args) {
        Ok(state) => print(&state, args.format),
        Err(message) => {
            eprintln!("steerage health: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn fetch(args: &HealthArgs) -> Result<Value, String> {
    let token = std::fs::read_to_string(&args.token_file)
        .map_err(|e| format!("cannot read {}: {e}", args.token_file.display()))?;
    let token = token.lines().next().unwrap_or("").trim();
    let mut stream = TcpStream::connect_timeout(&args.api, TIMEOUT)
        .map_err(|e| format!("cannot connect to {}: {e}", args.api))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET /health HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
        args.api
    )
    .map_err(|e| format!("cannot ask {}: {e}", args.api))?;
    let mut answer = Vec::new();
    stream
        .take(MAX_ANSWER)
        .read_to_end(&mut answer)
        .map_err(|e| format!("no answer from {}: {e}", args.api))?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{} did not answer HTTP", args.api))?;
    let status = head.split(' ').nth(1).unwrap_or("");
    let body: Value = serde_json::from_str(body.trim())
        .map_err(|_| format!("{} answered HTTP {status} without JSON", args.api))?;
    if status != "200" {
        let why = body["error"].as_str().unwrap_or("no reason given");
        return Err(format!("{} answered HTTP {status}: {why}", args.api));
    }
    Ok(body)
}

fn print(state: &Value, format: Format) -> ExitCode {
    let providers = state["providers"].as_array().cloned().unwrap_or_default();
    let any_down = providers.iter().any(|p| p["down"].as_bool() == Some(true));
    let text = match format {
        Format::Json => format!("{state}\n"),
        _ => {
            let mut out = format!(
                "snapshot v{}: {} providers with a health state\n",
                state["version"],
                providers.len()
            );
            for p in &providers {
                let last =
                    p["last"]
                        .as_array()
                        .and_then(|l| l.last())
                        .map_or_else(String::new, |r| {
                            format!(
                                ", last check {} in {} ms: {}",
                                if r["ok"].as_bool() == Some(true) {
                                    "ok"
                                } else {
                                    "FAILED"
                                },
                                r["latency_ms"],
                                r["detail"].as_str().unwrap_or("")
                            )
                        });
                out.push_str(&format!(
                    "  {}/{}: {} (from {}){last}\n",
                    p["domain"].as_str().unwrap_or("?"),
                    p["provider"].as_str().unwrap_or("?"),
                    if p["down"].as_bool() == Some(true) {
                        "DOWN"
                    } else {
                        "up"
                    },
                    p["source"].as_str().unwrap_or("?"),
                ));
            }
            out
        }
    };
    // A closed stdout is not worth a panic.
    let _ = std::io::stdout().write_all(text.as_bytes());
    ExitCode::from(if any_down { EXIT_FINDING } else { EXIT_SUCCESS })
}
