//! Errors of compiling a snapshot.

/// Why a policy set could not be compiled. A failed compile changes nothing:
/// the previous snapshot (and an incremental [`Compiler`](crate::Compiler)'s
/// state) stay as they were.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The set is invalid.
    #[error(transparent)]
    Policy(#[from] steerage_policy::PolicyError),
    /// The custom lines could not be layered over the location table (more
    /// ranges than a table holds).
    #[error("cannot layer the custom lines over the location table: {reason}")]
    CustomLineLayer {
        /// What the table builder refused.
        reason: String,
    },
    /// A policy has more rules, providers or targets than a snapshot indexes
    /// (65,535 each).
    #[error("policy `{policy}` has {count} {what}; at most 65535 are supported")]
    TooLarge {
        /// The policy's domain.
        policy: String,
        /// `rules`, `providers` or `targets in rule NAME`.
        what: String,
        /// How many it has.
        count: usize,
    },
}
