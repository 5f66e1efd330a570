//! The line taxonomy of steerage and IP geolocation lookup.
//!
//! (Front page to be completed: example, crate features, untrusted input.)
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

mod catalogue;
mod continent;
mod country;
mod error;
mod isp;
mod line;
mod location;
mod serde_str;
mod subdivision;
mod suggestion;

pub use continent::Continent;
pub use country::Country;
pub use error::LineError;
pub use isp::Isp;
pub use line::{CustomLineName, Line, Precedence};
pub use location::{CustomLines, Location};
pub use subdivision::Subdivision;

pub use ipnet;

mod cidr;
mod location_table;
mod locator;
mod range_map;
mod sample;
mod source_error;

pub use cidr::{widest_network, widest_v4, widest_v6};
pub use location_table::{LocationId, LocationTable, TableBuilder, TableHit, TableStats};
pub use locator::{Locator, RangeSource};
pub use range_map::{RangeKey, RangeMap, RangeMapBuilder};
pub use sample::{SAMPLE_DESCRIPTION, SAMPLE_RANGES, SampleRange};
pub use source_error::{CsvProblem, RangeMapError, SourceError};
