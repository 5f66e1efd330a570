//! Where a client address is, as far as the databases know.

use std::sync::Arc;

use ipnet::IpNet;

use crate::{Continent, Country, CustomLineName, Isp, Subdivision};

/// The location of a client address: every field optional, since databases
/// know more about some addresses than others.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Location {
    /// The continent.
    pub continent: Option<Continent>,
    /// The country or region.
    pub country: Option<Country>,
    /// The first-level subdivision (province, state).
    pub subdivision: Option<Subdivision>,
    /// The China mainland ISP.
    pub isp: Option<Isp>,
    /// Every custom CIDR line whose prefixes contain the address.
    pub custom: CustomLines,
    /// The network around the address over which every field above is the
    /// same (the prefix that decided it), when known.
    pub network: Option<IpNet>,
}

/// The set of custom lines that contain an address (usually empty). Cheap to
/// clone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct CustomLines(Option<Arc<[CustomLineName]>>);

impl CustomLines {
    /// A set from names, sorted and without duplicates.
    pub fn new(names: impl IntoIterator<Item = CustomLineName>) -> Self {
        let mut v: Vec<CustomLineName> = names.into_iter().collect();
        v.sort();
        v.dedup();
        if v.is_empty() {
            Self(None)
        } else {
            Self(Some(v.into()))
        }
    }
    /// Whether `name` is in the set.
    pub fn contains(&self, name: &CustomLineName) -> bool {
        self.0
            .as_deref()
            .is_some_and(|v| v.binary_search(name).is_ok())
    }
    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }
    /// The names, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &CustomLineName> {
        self.0.as_deref().unwrap_or(&[]).iter()
    }
}
