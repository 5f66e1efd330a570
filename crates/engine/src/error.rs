//! Errors of compiling a snapshot.

/// Why a policy set could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The set is invalid.
    #[error(transparent)]
    Policy(#[from] steerage_policy::PolicyError),
}
