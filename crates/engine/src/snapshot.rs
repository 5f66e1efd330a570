//! The immutable, compiled form of a policy set that answers `select`.

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use steerage_geo::LocationTable;
use steerage_policy::PolicySet;

use crate::{Decision, EngineError};

/// A compiled policy set plus the location table it decides with. Immutable:
/// a change compiles a new snapshot.
#[derive(Debug)]
pub struct Snapshot {
    version: u64,
}

impl Snapshot {
    /// Compiles a validated set against a location table (the set's custom
    /// CIDR lines are layered on top of the table).
    pub fn compile(
        set: &PolicySet,
        locations: Arc<LocationTable>,
        version: u64,
    ) -> Result<Self, EngineError> {
        let _ = (set, locations);
        todo!("{version}")
    }

    /// The version this snapshot was published as.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The decision for a client address; `None` when `domain` is not steered.
    pub fn select(&self, domain: &str, client: IpAddr) -> Option<Decision<'_>> {
        todo!("{domain}{client}")
    }

    /// The decision for a client subnet (EDNS Client Subnet); the scope prefix
    /// is never wider than the subnet's prefix length.
    pub fn select_subnet(&self, domain: &str, client: IpNet) -> Option<Decision<'_>> {
        todo!("{domain}{client}")
    }

    /// Every steered domain (lower case, no trailing dot).
    pub fn domains(&self) -> impl Iterator<Item = &str> + '_ {
        std::iter::empty()
    }
}
