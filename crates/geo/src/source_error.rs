//! Errors of location sources: opening databases, reading CSV files, building
//! range tables.

use std::error::Error;
use std::fmt;
use std::path::PathBuf;

/// A location source (a database file, a CSV file, a list of custom lines)
/// could not be opened or compiled. Every variant names what to fix.
///
/// The message (`Display`) is complete on its own: [`Read`](Self::Read) and
/// [`InvalidDatabase`](Self::InvalidDatabase) print their cause after the
/// file's name, and [`source`](Error::source) then gives the cause's own
/// source, so printing the chain of sources repeats nothing.
#[derive(Debug)]
#[non_exhaustive]
pub enum SourceError {
    /// The file could not be read.
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid MaxMind DB (truncated, corrupt, wrong format).
    InvalidDatabase {
        /// The file (or the label given for in-memory bytes).
        file: PathBuf,
        /// What the reader found.
        source: maxminddb::MaxMindDbError,
    },
    /// The database holds neither schema this crate reads.
    UnrecognisedSchema {
        /// The file.
        file: PathBuf,
        /// The `database_type` from the file's metadata.
        database_type: String,
    },
    /// A line of an ASN CSV file is malformed.
    Csv {
        /// The file.
        file: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it.
        problem: CsvProblem,
    },
    /// Ranges given to a range map were not sorted and disjoint.
    Ranges(RangeMapError),
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { file, source } => write!(f, "cannot read `{}`: {source}", file.display()),
            Self::InvalidDatabase { file, source } => write!(
                f,
                "`{}` is not a valid MaxMind DB file: {source}",
                file.display()
            ),
            Self::UnrecognisedSchema {
                file,
                database_type,
            } => write!(
                f,
                "`{}` (database type `{database_type}`) has no field this crate reads \
                 (`country.iso_code`, `country_code` or `autonomous_system_number`)",
                file.display()
            ),
            Self::Csv {
                file,
                line,
                problem,
            } => write!(f, "{}:{line}: {problem}", file.display()),
            Self::Ranges(error) => error.fmt(f),
        }
    }
}

impl Error for SourceError {
    /// The source of the cause the message already carries.
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Read { source, .. } => source.source(),
            Self::InvalidDatabase { source, .. } => source.source(),
            Self::UnrecognisedSchema { .. } | Self::Csv { .. } | Self::Ranges(_) => None,
        }
    }
}

impl From<RangeMapError> for SourceError {
    fn from(error: RangeMapError) -> Self {
        Self::Ranges(error)
    }
}

/// What is wrong with one line of an ASN CSV file
/// (`range_start,range_end,asn,organisation`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsvProblem {
    /// Not four fields.
    #[error("expected 4 fields (start,end,asn,organisation), found {found}")]
    FieldCount {
        /// Fields found.
        found: usize,
    },
    /// A quoted field is not closed.
    #[error("unterminated quoted field")]
    UnterminatedQuote,
    /// A range bound is not an IP address.
    #[error("column {column}: `{value}` is not an IP address")]
    BadAddress {
        /// 1 or 2.
        column: usize,
        /// The text.
        value: String,
    },
    /// Start and end are of different families.
    #[error("range `{start}`-`{end}` mixes IPv4 and IPv6")]
    MixedFamilies {
        /// The start.
        start: String,
        /// The end.
        end: String,
    },
    /// The end is below the start.
    #[error("range `{start}`-`{end}` ends before it starts")]
    Inverted {
        /// The start.
        start: String,
        /// The end.
        end: String,
    },
    /// The ASN is not a number.
    #[error("column 3: `{value}` is not an AS number")]
    BadAsn {
        /// The text.
        value: String,
    },
}

/// Ranges given to [`RangeMap::from_sorted`](crate::RangeMap::from_sorted)
/// were not sorted and disjoint, or were too many.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RangeMapError {
    /// A range starts before the previous one ends.
    #[error("range #{position} (starting at {start}) overlaps or precedes the previous range")]
    Unsorted {
        /// 0-based position in the input.
        position: usize,
        /// Its start.
        start: String,
    },
    /// A range ends before it starts.
    #[error("range #{position} ends ({end}) before it starts ({start})")]
    Inverted {
        /// 0-based position in the input.
        position: usize,
        /// Its start.
        start: String,
        /// Its end.
        end: String,
    },
    /// More ranges than a `u32` can count.
    #[error("{ranges} ranges exceed the table limit of 2^32 - 1")]
    TooManyRanges {
        /// Ranges after merging.
        ranges: usize,
    },
}
