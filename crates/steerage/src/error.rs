//! Errors of the facade.

use std::error::Error;
use std::fmt;
use std::io;
use std::path::PathBuf;

use steerage_engine::EngineError;
use steerage_policy::{ConfigError, PolicyError};

/// Why building, changing, reloading or saving a [`Steering`](crate::Steering)
/// failed. Whatever the error, the configuration that was serving before the
/// call keeps serving and the version is unchanged.
///
/// The message (`Display`) is complete on its own: a variant that wraps a
/// cause (an I/O error, a parse error with its line and column, an
/// observer's refusal) prints it after its own words, so logging
/// `{error}` tells the whole story. [`source`](Error::source) then skips
/// that cause, which the message already holds, and gives the cause's own
/// source, so printing the chain of sources repeats nothing. Match on the
/// variant to reach the cause as a value.
#[derive(Debug)]
#[non_exhaustive]
pub enum SteeringError {
    /// A console operation or the validation of the changed set failed.
    Policy(PolicyError),
    /// The set could not be compiled into a snapshot.
    Engine(EngineError),
    /// A [`NameObserver`](crate::NameObserver) refused the change: a DNS
    /// handler serving the names, say, when the change would steer the apex
    /// of a zone it serves. The refusal is the observer's own error
    /// (`steerage_dns::DnsError` for the DNS handler; downcast it to match
    /// on it). Nothing was published.
    Refused(crate::Refusal),
    /// A config file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A config file could not be written (the file at `path`, if any, is
    /// unchanged: saving writes a temporary file and renames it).
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A config file is not a valid configuration; `source` carries the
    /// line and column, or the policy, rule or provider at fault.
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// What is wrong, where.
        source: ConfigError,
    },
    /// A config given as text (`SteeringBuilder::config_str`) is not a valid
    /// configuration, or the set could not be written in a format.
    Config(ConfigError),
    /// A config file name ends in neither `.toml` nor `.json`, so its format
    /// is unknown.
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The builder was given no configuration (`config`, `config_file` or
    /// `config_str`).
    NoConfig,
    /// The builder was given no location table (`locations`).
    NoLocations,
    /// `reload` or `save` needs the config file, but the `Steering` was built
    /// from a value or text.
    NoConfigFile,
}

impl fmt::Display for SteeringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Policy(error) => error.fmt(f),
            Self::Engine(error) => error.fmt(f),
            Self::Config(error) => error.fmt(f),
            Self::Refused(refusal) => write!(
                f,
                "the change was refused by a server of the steered names: {refusal}"
            ),
            Self::Read { path, source } => {
                write!(f, "cannot read config file `{}`: {source}", path.display())
            }
            Self::Write { path, source } => {
                write!(f, "cannot save config file `{}`: {source}", path.display())
            }
            Self::ConfigFile { path, source } => {
                write!(f, "invalid config file `{}`: {source}", path.display())
            }
            Self::UnknownFormat { path } => write!(
                f,
                "config file `{}`: unknown format; name it `*.toml` or `*.json`",
                path.display()
            ),
            Self::NoConfig => f.write_str(
                "no configuration: call `config`, `config_file` or `config_str` on the builder",
            ),
            Self::NoLocations => f.write_str(
                "no location table: call `locations` on the builder (`LocationTable::sample()` for a try-out)",
            ),
            Self::NoConfigFile => f.write_str(
                "no config file: this Steering was built from a value or text; use `save_to(path)`",
            ),
        }
    }
}

impl Error for SteeringError {
    /// The source of the cause the message already carries (see the type's
    /// documentation).
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Policy(error) => error.source(),
            Self::Engine(error) => error.source(),
            Self::Config(error) | Self::ConfigFile { source: error, .. } => error.source(),
            Self::Refused(refusal) => refusal.source(),
            Self::Read { source, .. } | Self::Write { source, .. } => source.source(),
            Self::UnknownFormat { .. }
            | Self::NoConfig
            | Self::NoLocations
            | Self::NoConfigFile => None,
        }
    }
}

impl From<PolicyError> for SteeringError {
    fn from(error: PolicyError) -> Self {
        Self::Policy(error)
    }
}

impl From<EngineError> for SteeringError {
    fn from(error: EngineError) -> Self {
        Self::Engine(error)
    }
}

impl From<ConfigError> for SteeringError {
    fn from(error: ConfigError) -> Self {
        Self::Config(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error and its chain of sources, as log lines and the CLI print
    /// them.
    fn chain(err: &dyn Error) -> String {
        let mut text = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }

    #[test]
    fn file_errors_name_the_file_and_carry_the_cause() {
        let err = SteeringError::ConfigFile {
            path: "conf/steering.toml".into(),
            source: ConfigError::Parse {
                format: steerage_policy::Format::Toml,
                line: 3,
                column: 7,
                message: "invalid type".into(),
            },
        };
        let whole =
            "invalid config file `conf/steering.toml`: TOML config, line 3, column 7: invalid type";
        assert_eq!(err.to_string(), whole);
        // Printed as a chain, the cause is not repeated.
        assert!(err.source().is_none());
        assert_eq!(chain(&err), whole);

        let err = SteeringError::Read {
            path: "conf/steering.toml".into(),
            source: io::Error::new(io::ErrorKind::NotFound, "no such file"),
        };
        assert_eq!(
            err.to_string(),
            "cannot read config file `conf/steering.toml`: no such file"
        );
        assert_eq!(chain(&err), err.to_string());
    }

    #[test]
    fn a_refusal_is_in_the_message_and_its_own_source_follows() {
        #[derive(Debug)]
        struct Outer(io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("apex `example.com`")
            }
        }
        impl Error for Outer {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                Some(&self.0)
            }
        }
        let err = SteeringError::Refused(Box::new(Outer(io::Error::other("inner"))));
        assert_eq!(
            err.to_string(),
            "the change was refused by a server of the steered names: apex `example.com`"
        );
        assert_eq!(
            err.source().map(ToString::to_string).as_deref(),
            Some("inner")
        );
        assert_eq!(
            chain(&err),
            "the change was refused by a server of the steered names: apex `example.com`: inner"
        );
    }
}
