//! Custom CIDR lines compiled for lookup: for every address, the set of
//! custom lines whose prefixes contain it.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use ipnet::IpNet;

use crate::cidr::{v4_bounds, v6_bounds};
use crate::{
    CustomLineName, CustomLines, Location, LocationId, LocationTable, Locator, RangeKey, RangeMap,
    RangeMapError, RangeSource, SourceError, TableBuilder,
};

/// Named prefix lists (`cidr:office` = `10.1.0.0/16`, `2001:db8:1::/48`),
/// IPv4 and IPv6, compiled into range maps of line sets.
///
/// An address belongs to every line with a prefix that contains it
/// ([`Location::custom`] is that set); the reported network is the widest
/// prefix around the address over which the set is the same, which for an
/// address in one prefix and no nested one is that prefix (longest-prefix
/// match). Custom lines may name any address, reserved ranges included.
///
/// ```
/// use steerage_geo::{CustomLineName, CustomLineTable, Locator};
/// let office = CustomLineName::new("office")?;
/// let lab = CustomLineName::new("lab")?;
/// let lines = CustomLineTable::new([
///     (office.clone(), vec!["10.1.0.0/16".parse()?]),
///     (lab.clone(), vec!["10.1.2.0/24".parse()?, "fd00::/8".parse()?]),
/// ]);
/// let at = lines.locate("10.1.2.3".parse()?);
/// assert!(at.custom.contains(&office) && at.custom.contains(&lab));
/// assert_eq!(at.network, Some("10.1.2.0/24".parse()?));
/// let at = lines.locate("10.1.9.9".parse()?);
/// assert!(at.custom.contains(&office) && !at.custom.contains(&lab));
/// assert_eq!(at.network, Some("10.1.8.0/21".parse()?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct CustomLineTable {
    v4: RangeMap<u32, u32>,
    v6: RangeMap<u128, u32>,
    /// Line sets; index 0 is the empty set.
    sets: Vec<CustomLines>,
    /// The distinct line names, in the order first given.
    names: Vec<CustomLineName>,
}

impl Default for CustomLineTable {
    fn default() -> Self {
        Self::new(std::iter::empty::<(CustomLineName, Vec<IpNet>)>())
    }
}

impl CustomLineTable {
    /// Compiles lines given as `(name, prefixes)`. A name given twice has the
    /// union of its prefixes; host bits of a prefix are ignored.
    pub fn new<P: IntoIterator<Item = IpNet>>(
        lines: impl IntoIterator<Item = (CustomLineName, P)>,
    ) -> Self {
        let mut names: Vec<CustomLineName> = Vec::new();
        let mut v4: Vec<(u32, u32, usize)> = Vec::new();
        let mut v6: Vec<(u128, u128, usize)> = Vec::new();
        for (name, prefixes) in lines {
            let index = match names.iter().position(|n| *n == name) {
                Some(index) => index,
                None => {
                    names.push(name);
                    names.len() - 1
                }
            };
            for prefix in prefixes {
                match prefix.trunc() {
                    IpNet::V4(net) => {
                        let (s, e) = v4_bounds(net);
                        v4.push((s, e, index));
                    }
                    IpNet::V6(net) => {
                        let (s, e) = v6_bounds(net);
                        v6.push((s, e, index));
                    }
                }
            }
        }
        let mut interner = SetInterner::new(&names);
        let v4 = sweep(v4, &mut interner);
        let v6 = sweep(v6, &mut interner);
        let sets = interner.sets;
        Self {
            v4,
            v6,
            sets,
            names,
        }
    }

    /// The number of distinct lines.
    pub fn line_count(&self) -> usize {
        self.names.len()
    }

    /// `base` with these lines layered on top: every address keeps its base
    /// location and gains the set of lines containing it
    /// ([`Location::custom`]). Base locations keep their ids (they are
    /// interned first, in order), so anything indexed by the base's ids stays
    /// valid outside the custom prefixes.
    ///
    /// # Errors
    /// [`RangeMapError::TooManyRanges`] if the combined table outgrows the
    /// limits of [`TableBuilder`].
    pub fn layer_over(&self, base: &LocationTable) -> Result<LocationTable, RangeMapError> {
        let description = format!(
            "{} + custom lines {}",
            base.describe(),
            self.names
                .iter()
                .map(|n| format!("cidr:{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut builder = TableBuilder::new(description);
        for location in base.locations() {
            builder.intern(location);
        }
        let mut ids: HashMap<(LocationId, u32), LocationId> = HashMap::new();
        let mut combine = |builder: &mut TableBuilder, base_id: LocationId, set: u32| {
            if set == 0 {
                return base_id;
            }
            *ids.entry((base_id, set)).or_insert_with(|| {
                let mut location = base.location(base_id).clone();
                location.custom = self.sets[set as usize].clone();
                builder.intern(&location)
            })
        };
        for (s, e, (id, set)) in base.v4().zip_with(&self.v4, |a, b| (a, b)).iter() {
            let id = combine(&mut builder, id, set);
            builder.push_v4_range(s, e, id)?;
        }
        for (s, e, (id, set)) in base.v6().zip_with(&self.v6, |a, b| (a, b)).iter() {
            let id = combine(&mut builder, id, set);
            builder.push_v6_range(s, e, id)?;
        }
        builder.finish_ranges()
    }

    /// The lines containing `ip` (IPv4-mapped IPv6 looked up as IPv4).
    pub fn lines_at(&self, ip: IpAddr) -> &CustomLines {
        let set = match ip.to_canonical() {
            IpAddr::V4(v4) => self.v4.get(u32::from(v4)),
            IpAddr::V6(v6) => self.v6.get(u128::from(v6)),
        };
        &self.sets[set as usize]
    }
}

/// Interns sets of line indices as [`CustomLines`].
struct SetInterner<'a> {
    names: &'a [CustomLineName],
    ids: HashMap<Vec<usize>, u32>,
    sets: Vec<CustomLines>,
}

impl<'a> SetInterner<'a> {
    fn new(names: &'a [CustomLineName]) -> Self {
        let mut ids = HashMap::new();
        ids.insert(Vec::new(), 0);
        Self {
            names,
            ids,
            sets: vec![CustomLines::default()],
        }
    }

    fn intern(&mut self, members: Vec<usize>) -> u32 {
        if let Some(&id) = self.ids.get(&members) {
            return id;
        }
        // At most 2 * prefixes + 1 distinct sets, far below u32::MAX.
        let id = u32::try_from(self.sets.len()).unwrap_or(u32::MAX);
        self.sets.push(CustomLines::new(
            members.iter().map(|&i| self.names[i].clone()),
        ));
        self.ids.insert(members, id);
        id
    }
}

/// Splits the key space at every prefix boundary and records, for each
/// piece, the set of lines covering it.
fn sweep<K: RangeKey>(
    prefixes: Vec<(K, K, usize)>,
    interner: &mut SetInterner<'_>,
) -> RangeMap<K, u32> {
    // +1 at a prefix's first key, -1 after its last key (none past MAX).
    let mut events: Vec<(K, bool, usize)> = Vec::with_capacity(prefixes.len() * 2);
    for &(start, end, line) in &prefixes {
        events.push((start, true, line));
        if let Some(after) = end.successor() {
            events.push((after, false, line));
        }
    }
    events.sort_by_key(|e| e.0);
    let mut active: BTreeMap<usize, usize> = BTreeMap::new();
    let mut pieces: Vec<(K, K, u32)> = Vec::new();
    let mut i = 0;
    while i < events.len() {
        let at = events[i].0;
        while i < events.len() && events[i].0 == at {
            let (_, opens, line) = events[i];
            if opens {
                *active.entry(line).or_insert(0) += 1;
            } else if let Some(count) = active.get_mut(&line) {
                *count -= 1;
                if *count == 0 {
                    active.remove(&line);
                }
            }
            i += 1;
        }
        let end = match events.get(i) {
            Some(next) => next.0.predecessor().unwrap_or(K::MIN),
            None => K::MAX,
        };
        if !active.is_empty() {
            let set = interner.intern(active.keys().copied().collect());
            pieces.push((at, end, set));
        }
    }
    // Pieces are sorted and disjoint by construction.
    RangeMap::from_sorted(0, pieces).unwrap_or_else(|_| RangeMap::constant(0))
}

impl Locator for CustomLineTable {
    fn locate(&self, ip: IpAddr) -> Location {
        let (set, network) = match ip.to_canonical() {
            IpAddr::V4(v4) => {
                let ip = u32::from(v4);
                let (s, e, set) = self.v4.get_range(ip);
                (set, IpNet::V4(crate::widest_v4(ip, s, e)))
            }
            IpAddr::V6(v6) => {
                let ip = u128::from(v6);
                let (s, e, set) = self.v6.get_range(ip);
                (set, IpNet::V6(crate::widest_v6(ip, s, e)))
            }
        };
        Location {
            custom: self.sets[set as usize].clone(),
            network: Some(network),
            ..Location::default()
        }
    }

    fn describe(&self) -> String {
        match self.names.len() {
            1 => "1 custom line".to_owned(),
            n => format!("{n} custom lines"),
        }
    }
}

impl RangeSource for CustomLineTable {
    fn compile(&self) -> Result<LocationTable, SourceError> {
        let mut builder = TableBuilder::new(self.describe());
        let ids: Vec<_> = self
            .sets
            .iter()
            .map(|set| {
                builder.intern(&Location {
                    custom: set.clone(),
                    ..Location::default()
                })
            })
            .collect();
        for (s, e, set) in self.v4.iter() {
            builder.push_v4(s, e, ids[set as usize])?;
        }
        for (s, e, set) in self.v6.iter() {
            builder.push_v6(s, e, ids[set as usize])?;
        }
        builder.finish()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn name(n: &str) -> CustomLineName {
        CustomLineName::new(n).unwrap()
    }

    #[test]
    fn reserved_and_ipv6_prefixes_work() {
        let lines = CustomLineTable::new([
            (name("loop"), vec!["127.0.0.0/8".parse().unwrap()]),
            (
                name("v6"),
                vec!["fd00::/8".parse().unwrap(), "::/0".parse().unwrap()],
            ),
        ]);
        assert!(
            lines
                .locate("127.0.0.1".parse().unwrap())
                .custom
                .contains(&name("loop"))
        );
        assert!(
            lines
                .locate("::ffff:127.0.0.1".parse().unwrap())
                .custom
                .contains(&name("loop"))
        );
        assert!(
            lines
                .locate("fd00::1".parse().unwrap())
                .custom
                .contains(&name("v6"))
        );
        assert_eq!(
            lines.locate("fd00::1".parse().unwrap()).network,
            Some("::/0".parse().unwrap())
        );
        assert!(lines.locate("8.8.8.8".parse().unwrap()).custom.is_empty());
        assert_eq!(lines.describe(), "2 custom lines");
        assert!(
            CustomLineTable::default()
                .locate("1.1.1.1".parse().unwrap())
                .custom
                .is_empty()
        );
    }

    proptest! {
        #[test]
        fn sets_equal_a_scan_of_all_prefixes(
            raw in prop::collection::vec((0usize..4, any::<u32>(), 0u8..=32), 0..10),
            probes in prop::collection::vec(any::<u32>(), 1..30),
        ) {
            let names: Vec<CustomLineName> = ["a", "b", "c", "d"].iter().map(|n| name(n)).collect();
            let prefixes: Vec<(usize, IpNet)> = raw
                .iter()
                .map(|&(l, addr, len)| (l, IpNet::V4(ipnet::Ipv4Net::new(addr.into(), len).unwrap().trunc())))
                .collect();
            let table = CustomLineTable::new(prefixes.iter().map(|(l, p)| (names[*l].clone(), vec![*p])));
            let mut all = probes;
            for (_, p) in &prefixes {
                if let IpNet::V4(p) = p {
                    let (s, e) = v4_bounds(*p);
                    all.extend([s, e, s.wrapping_sub(1), e.wrapping_add(1)]);
                }
            }
            for key in all {
                let ip = IpAddr::V4(key.into());
                let expected = CustomLines::new(
                    prefixes.iter().filter(|(_, p)| p.contains(&ip)).map(|(l, _)| names[*l].clone()),
                );
                let got = table.locate(ip);
                prop_assert_eq!(&got.custom, &expected);
                // Every address of the reported network has the same set.
                let net = got.network.unwrap();
                for edge in [net.network(), net.broadcast()] {
                    prop_assert_eq!(table.lines_at(edge), &expected);
                }
            }
        }
    }
}
