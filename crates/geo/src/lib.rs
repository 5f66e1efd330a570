//! The line taxonomy of steerage (countries, provinces and states, China
//! ISPs, continents, custom CIDR lines, with their codes and precedence) and
//! the IP geolocation lookup that puts a client address on those lines.
//!
//! The crate has two halves:
//!
//! - **Taxonomy**: [`Line`] and its textual codes (`CN`, `CN-BJ`, `US-CA`,
//!   `CN/telecom`, `CN-BJ/telecom`, `continent:EU`, `cidr:office`), parsed
//!   case-insensitively with "did you mean" errors ([`LineError`]), printed
//!   canonically, ordered by [`Precedence`]; the built-in catalogue behind
//!   [`Country`] (every ISO 3166-1 code), [`Subdivision`] (China's 31
//!   provinces, the US states and DC, India's states and union territories),
//!   [`Isp`] (China Telecom, Unicom, Mobile, CERNET, Broadnet) and [`Continent`], with
//!   English and Chinese names and the English names IP databases use. See
//!   the [line guide](docs::lines).
//! - **Lookup**: locators that read MMDB databases (GeoIP2 and flat DB-IP
//!   schemas) and ASN tables and compile them into a compact in-memory table
//!   that answers an address with a [`Location`] and the network prefix that
//!   decided it. See the [IP lookup guide](docs::geo).
//!
//! # Example
//!
//! ```
//! use steerage_geo::{Country, Isp, Line, LineError, Location, Precedence, Subdivision};
//!
//! // Codes parse in any case and print canonically.
//! let beijing_telecom = Line::parse("cn-bj/TELECOM")?;
//! assert_eq!(beijing_telecom.to_string(), "CN-BJ/telecom");
//! assert_eq!(beijing_telecom.precedence(), Precedence::SubdivisionIsp);
//!
//! // A mistyped code names itself and the closest valid one.
//! let err = Line::parse("CN-BEIJING").unwrap_err();
//! assert_eq!(err.to_string(), "unknown line `CN-BEIJING`: did you mean `CN-BJ`?");
//! assert!(matches!(Line::parse("US/telecom"), Err(LineError::IspOutsideChina { .. })));
//!
//! // A client the databases put in Beijing on China Telecom.
//! let mut client = Location::default();
//! client.country = Country::from_code("CN");
//! client.subdivision = Subdivision::from_english_name(Country::CHINA, "Beijing");
//! client.isp = Some(Isp::Telecom);
//! for code in ["CN-BJ/telecom", "CN-BJ", "CN/telecom", "CN", "continent:AS"] {
//!     assert!(Line::parse(code)?.matches(&client));
//! }
//! assert!(!Line::parse("CN-SH")?.matches(&client));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Crate features
//!
//! None: the catalogue, serde support for the code types and the lookup are
//! always built.
//!
//! # Untrusted input
//!
//! - Line codes come from configuration files and console input. Parsing never
//!   panics; every failure is a typed [`LineError`]. Valid codes parse in
//!   about 0.1 to 0.3 µs. The "did you mean" search compares the input with
//!   about 1,100 spellings, runs only on the error path, skips spellings
//!   whose length alone rules them out, and only for inputs up to 64
//!   characters (nothing longer can be close): about 0.1 ms per unknown code,
//!   so a hostile config cannot make it expensive.
//! - Subdivision names from databases are matched by one hash lookup (two with
//!   an administrative suffix); unknown names give `None`, never an error.
//! - Database files are untrusted too: the lookup reads them into memory
//!   (no memory mapping, no `unsafe`), checks them, and compiles them into its
//!   own table; malformed files are errors, not panics. The
//!   [IP lookup guide](docs::geo) lists the limits.
//!
//! # What it does not do
//!
//! It does not choose providers or answer DNS (`steerage-engine`,
//! `steerage-dns`), does not define rules or policies (`steerage-policy`), and
//! ships no IP database: users bring their own GeoIP2 or DB-IP files. Its
//! catalogue has subdivisions only for China, the United States and India,
//! and ISP lines only for China mainland.
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

// The README's code compiles and runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod docs;

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

#[doc(hidden)]
pub use cidr::{widest_len_v4, widest_len_v6};
pub use cidr::{widest_network, widest_v4, widest_v6};
pub use location_table::{LocationId, LocationTable, TableBuilder, TableHit, TableStats};
pub use locator::{Locator, RangeSource};
pub use range_map::{RangeKey, RangeMap, RangeMapBuilder};
pub use sample::{SAMPLE_DESCRIPTION, SAMPLE_RANGES, SampleRange};
pub use source_error::{CsvProblem, RangeMapError, SourceError};

mod carrier;
mod mmdb;
mod mmdb_record;
mod reserved;

pub use carrier::{CARRIER_ASNS, CarrierAsn};
pub use mmdb::{MmdbLocator, MmdbSchema};
pub use reserved::is_reserved;

mod asn_csv;

pub use asn_csv::AsnCsv;

mod custom_line_table;
mod layered;

pub use custom_line_table::CustomLineTable;
pub use layered::LayeredLocator;
