//! Errors of the facade.

use std::io;
use std::path::PathBuf;

use steerage_engine::EngineError;
use steerage_policy::{ConfigError, PolicyError};

/// Why building, changing, reloading or saving a [`Steering`](crate::Steering)
/// failed. Whatever the error, the configuration that was serving before the
/// call keeps serving and the version is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SteeringError {
    /// A console operation or the validation of the changed set failed.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The set could not be compiled into a snapshot.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A config file could not be read.
    #[error("cannot read config file `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A config file could not be written (the file at `path`, if any, is
    /// unchanged: saving writes a temporary file and renames it).
    #[error("cannot save config file `{}`", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A config file is not a valid configuration; the source carries the
    /// line and column, or the policy, rule or provider at fault.
    #[error("invalid config file `{}`", path.display())]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// What is wrong, where.
        #[source]
        source: ConfigError,
    },
    /// A config given as text (`SteeringBuilder::config_str`) is not a valid
    /// configuration, or the set could not be written in a format.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A config file name ends in neither `.toml` nor `.json`, so its format
    /// is unknown.
    #[error("config file `{}`: unknown format; name it `*.toml` or `*.json`", path.display())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The builder was given no configuration (`config`, `config_file` or
    /// `config_str`).
    #[error("no configuration: call `config`, `config_file` or `config_str` on the builder")]
    NoConfig,
    /// The builder was given no location table (`locations`).
    #[error(
        "no location table: call `locations` on the builder (`LocationTable::sample()` for a try-out)"
    )]
    NoLocations,
    /// `reload` or `save` needs the config file, but the `Steering` was built
    /// from a value or text.
    #[error("no config file: this Steering was built from a value or text; use `save_to(path)`")]
    NoConfigFile,
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn file_errors_name_the_file_and_keep_the_cause() {
        let err = SteeringError::ConfigFile {
            path: "conf/steering.toml".into(),
            source: ConfigError::Parse {
                format: steerage_policy::Format::Toml,
                line: 3,
                column: 7,
                message: "invalid type".into(),
            },
        };
        assert_eq!(err.to_string(), "invalid config file `conf/steering.toml`");
        let cause = err.source().map(ToString::to_string);
        assert_eq!(
            cause.as_deref(),
            Some("TOML config, line 3, column 7: invalid type")
        );
    }
}
