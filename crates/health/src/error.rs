//! Errors of the health checker.

use std::path::PathBuf;

/// Why the checker could not start or load a configuration's checks. A
/// failing check is not an error: it is a result, and takes its provider
/// down after `fall` of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HealthError {
    /// Not called inside a tokio runtime.
    #[error("the health checker must be started inside a tokio runtime")]
    NoRuntime,
    /// A check's CA file cannot be read or holds no usable certificate.
    #[error("CA file {path}: {reason}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The TLS settings could not be built.
    #[error("TLS settings: {message}")]
    Tls {
        /// What went wrong.
        message: String,
    },
}
