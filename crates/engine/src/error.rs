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
    #[error("cannot layer the custom lines over the location table: {source}")]
    CustomLineLayer {
        /// What the table builder refused.
        #[source]
        source: steerage_geo::RangeMapError,
    },
    /// A policy has more rules, lines in a rule or targets in a rule than a snapshot
    /// indexes (65,534 each).
    #[error("policy `{policy}` has {count} {part}; at most 65534 are supported")]
    TooLarge {
        /// The policy's domain.
        policy: String,
        /// What it has too many of.
        part: PolicyPart,
        /// How many it has.
        count: usize,
    },
}

/// What an [`EngineError::TooLarge`] policy has too many of.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyPart {
    /// Rules.
    Rules,
    /// Lines of the named rule.
    Lines {
        /// The rule.
        rule: String,
    },
    /// Targets of the named rule.
    Targets {
        /// The rule.
        rule: String,
    },
}

impl std::fmt::Display for PolicyPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Rules => f.write_str("rules"),
            Self::Lines { rule } => write!(f, "lines in rule `{rule}`"),
            Self::Targets { rule } => write!(f, "targets in rule `{rule}`"),
        }
    }
}
