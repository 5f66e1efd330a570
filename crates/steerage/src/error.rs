//! Errors of the facade.

/// Why building, changing or reloading a [`Steering`](crate::Steering) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SteeringError {
    /// A console operation or validation failed; nothing changed.
    #[error(transparent)]
    Policy(#[from] steerage_policy::PolicyError),
}
