//! What a subcommand can end with: an [`Outcome`] (success or a finding)
//! or a [`CliError`] (bad usage or input it cannot work with), and the exit
//! status each maps to.

use std::error::Error as _;
use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use steerage::geo::SourceError;
use steerage::policy::ConfigError;

/// Exit status: success.
pub const EXIT_SUCCESS: u8 = 0;
/// Exit status: the command found something (an invalid configuration, a
/// warning, a domain that is not steered, a change that moves clients).
pub const EXIT_FINDING: u8 = 1;
/// Exit status: bad usage (what clap refuses) or input the command cannot
/// work with (an unreadable file, a configuration or database that does not
/// load where one is needed to answer).
pub const EXIT_USAGE: u8 = 2;

/// How a subcommand that ran to its end finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to report beyond the output.
    Success,
    /// A finding: exit status [`EXIT_FINDING`].
    Finding,
}

impl Outcome {
    /// [`Outcome::Finding`] when `found`, else [`Outcome::Success`].
    pub fn finding_if(found: bool) -> Self {
        if found { Self::Finding } else { Self::Success }
    }

    /// The exit status.
    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(match self {
            Self::Success => EXIT_SUCCESS,
            Self::Finding => EXIT_FINDING,
        })
    }
}

/// Why a subcommand could not do what it was asked: every variant exits
/// with [`EXIT_USAGE`] and names the file or argument at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// A configuration file could not be read.
    #[error("cannot read configuration `{}`", path.display())]
    ReadConfig {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A configuration file's name ends in neither `.toml` nor `.json`.
    #[error("configuration `{}`: unknown format; name it `*.toml` or `*.json`", path.display())]
    ConfigFormat {
        /// The file.
        path: PathBuf,
    },
    /// A configuration file does not load (the source has the line and
    /// column, or the policy, rule and provider).
    #[error("invalid configuration `{}`", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong, where.
        #[source]
        source: ConfigError,
    },
    /// An IP data file (`--geo`, `--asn`) could not be opened or compiled.
    #[error("cannot load IP data `{}`", path.display())]
    Data {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: SourceError,
    },
    /// A `--geo` file is an ASN database, or an `--asn` file a city or
    /// country database.
    #[error("`{}` is {found}: pass it with `{flag}`", path.display())]
    WrongDataFlag {
        /// The file.
        path: PathBuf,
        /// What the file holds.
        found: &'static str,
        /// The flag it belongs to.
        flag: &'static str,
    },
    /// The location table could not be built from the IP data.
    #[error("cannot compile the IP data into a location table")]
    Compile(#[source] SourceError),
    /// A configuration does not compile against the IP data.
    #[error("cannot compile configuration `{}`", path.display())]
    Engine {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: steerage::engine::EngineError,
    },
    /// A client list (`--clients`) could not be read.
    #[error("cannot read client list `{}`", path.display())]
    ReadClients {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A line of a client list is not `ADDRESS[/PREFIX] [COUNT]`.
    #[error("{}:{line}: {problem}", path.display())]
    ClientLine {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// An argument is well-formed for clap but cannot be used.
    #[error("{0}")]
    Usage(String),
    /// Standard output failed (other than a reader closing a pipe, which
    /// ends the output quietly).
    #[error("cannot write to standard output")]
    Stdout(#[source] io::Error),
}

impl CliError {
    /// The message with its chain of causes, `a: b: c`.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut cause = self.source();
        while let Some(c) = cause {
            let _ = write!(text, ": {c}");
            cause = c.source();
        }
        text
    }

    /// Prints `steerage: <chain>` on standard error (a failure to write it
    /// is ignored: there is nowhere left to report it) and gives the exit
    /// status [`EXIT_USAGE`].
    pub fn report(&self) -> ExitCode {
        use std::io::Write as _;
        let _ = writeln!(io::stderr(), "steerage: {}", self.chain());
        ExitCode::from(EXIT_USAGE)
    }
}
