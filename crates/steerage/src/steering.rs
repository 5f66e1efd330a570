//! `Steering`: the current snapshot behind an atomic pointer, and the ways to
//! change it.

use std::path::Path;
use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};
use steerage_geo::LocationTable;
use steerage_policy::{Format, PolicyError, PolicySet};

use crate::{Snapshot, SteeringError};

/// A loaded snapshot; hold it for one query, not longer.
pub type SnapshotGuard = Guard<Arc<Snapshot>>;

/// The steering state of a program: the configuration, the location data and
/// the compiled snapshot every `select` reads.
#[derive(Debug)]
pub struct Steering {
    current: ArcSwap<Snapshot>,
}

/// Builds a [`Steering`].
#[derive(Debug, Default)]
pub struct SteeringBuilder {
    set: Option<PolicySet>,
}

impl Steering {
    /// A builder.
    pub fn builder() -> SteeringBuilder {
        SteeringBuilder::default()
    }
    /// The current snapshot (one atomic load); read everything for one query
    /// from it.
    pub fn snapshot(&self) -> SnapshotGuard {
        self.current.load()
    }
    /// The version of the current snapshot.
    pub fn version(&self) -> u64 {
        self.current.load().version()
    }
    /// The current configuration.
    pub fn config(&self) -> Arc<PolicySet> {
        todo!()
    }
    /// Runs console operations on a copy of the configuration, validates,
    /// compiles and publishes it atomically; on error nothing changes.
    pub fn apply<F>(&self, change: F) -> Result<u64, SteeringError>
    where
        F: FnOnce(&mut PolicySet) -> Result<(), PolicyError>,
    {
        let _ = change;
        todo!()
    }
    /// Reloads the configuration file; on error the old one keeps serving.
    pub fn reload(&self) -> Result<u64, SteeringError> {
        todo!()
    }
}

impl SteeringBuilder {
    /// Uses this configuration value.
    pub fn config(mut self, set: PolicySet) -> Self {
        self.set = Some(set);
        self
    }
    /// Loads the configuration from a file (TOML or JSON by extension); `reload`
    /// reads it again.
    pub fn config_file(self, path: impl AsRef<Path>) -> Self {
        let _ = path.as_ref();
        todo!()
    }
    /// Parses the configuration from text.
    pub fn config_str(self, text: &str, format: Format) -> Self {
        let _ = (text, format);
        todo!()
    }
    /// Uses this location table (for example `LocationTable::sample()`).
    pub fn locations(self, table: impl Into<Arc<LocationTable>>) -> Self {
        let _ = table.into();
        todo!()
    }
    /// Builds, validating and compiling the configuration.
    pub fn build(self) -> Result<Steering, SteeringError> {
        todo!()
    }
}
