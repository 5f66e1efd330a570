//! The `steerage` binary: parses the command line and hands each
//! subcommand to its module in the `steerage_cli` library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use steerage_cli::error::{EXIT_SUCCESS, EXIT_USAGE};
use steerage_cli::{CliError, Outcome, check, diff, explain, health, lookup, serve, simulate};

/// Multi-CDN DNS traffic steering: check, explain and plan steering
/// configurations, and serve them.
#[derive(Debug, Parser)]
#[command(name = "steerage", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate a configuration (and IP data) before it ships.
    Check(check::CheckArgs),
    /// Where addresses are located, and which IP data file said so.
    Lookup(lookup::LookupArgs),
    /// Why a client gets its answer for a domain.
    Explain(explain::ExplainArgs),
    /// The share of clients each provider gets, per domain, rule and line.
    Simulate(simulate::SimulateArgs),
    /// What share of clients moves from provider to provider between two
    /// configurations.
    Diff(diff::DiffArgs),
    /// Serve the steering decisions over DNS (UDP and TCP), with reloads,
    /// logs and metrics.
    Serve(serve::ServeArgs),
    /// Provider health, read from a running server's health endpoint.
    Health(health::HealthArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // `--help` and `--version` are "errors" that print to stdout;
            // a failed print (a closed stdout) is not worth a panic.
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_SUCCESS
            });
        }
    };
    let result: Result<Outcome, CliError> = match &cli.command {
        Command::Check(args) => check::run(args),
        Command::Lookup(args) => lookup::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Diff(args) => diff::run(args),
        // A server: it logs instead of printing, and exits with its own status.
        Command::Serve(args) => return serve::run(args),
        // Exits 0 (all up), 1 (a provider down) or 2 (cannot ask).
        Command::Health(args) => return health::run(args),
    };
    match result {
        Ok(outcome) => outcome.exit_code(),
        Err(error) => error.report(),
    }
}
