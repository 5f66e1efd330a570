//! The traits whose methods a steering program calls, in one import:
//! `use steerage::prelude::*;`.
//!
//! [`Locator`] gives `locate` and `describe` on every location source
//! ([`geo::MmdbLocator`](crate::geo::MmdbLocator),
//! [`geo::AsnCsv`](crate::geo::AsnCsv),
//! [`geo::LayeredLocator`](crate::geo::LayeredLocator), your own), and
//! [`RangeSource`] gives `compile`, which turns a source into the
//! [`LocationTable`](crate::geo::LocationTable) a
//! [`Steering`](crate::Steering) is built with. The table itself has both
//! as inherent methods, so `steering.locations().describe()` needs no
//! import.
//!
//! ```
//! use steerage::geo::{AsnCsv, LayeredLocator, LocationTable};
//! use steerage::prelude::*;
//!
//! let asn = AsnCsv::from_text("203.0.113.0,203.0.113.255,4134,Chinanet\n", "asn.csv")?;
//! let layered = LayeredLocator::new()
//!     .with_region(LocationTable::sample())
//!     .with_isp(asn);
//! let table = layered.compile()?;
//! assert_eq!(table.describe(), layered.describe());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use steerage_geo::{Locator, RangeSource};
