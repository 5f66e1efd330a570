//! Errors of the taxonomy and lookup.

/// An invalid line code or name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// The code does not name a known line.
    #[error("unknown line `{code}`{}", suggestion.as_ref().map(|s| format!(": did you mean `{s}`?")).unwrap_or_default())]
    Unknown {
        /// The code as given.
        code: String,
        /// The closest valid code, if any is close.
        suggestion: Option<String>,
    },
}
