//! A group: every policy whose live rules have the same lines shares one
//! location index, and (within a memory budget) one rule-merged range map
//! that answers "which rule, over which range" with a single lookup.

use std::collections::HashMap;
use std::net::IpAddr;

use steerage_geo::{Country, Line, Location, LocationId, LocationTable, RangeMap};

use crate::compiled::Structure;
use crate::domain_index::FxBuild;
use crate::scope::{widest_len_v4, widest_len_v6};

/// No line: the default rule matched.
pub(crate) const NO_LINE: u16 = u16::MAX;

/// Where a client landed in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Landing {
    /// The slot (live rule position, or the default slot).
    pub(crate) slot: u16,
    /// The line of the slot's rule that matched, [`NO_LINE`] for the default.
    pub(crate) line: u16,
    /// The widest prefix length around the client over which the slot
    /// is the same.
    pub(crate) scope: u8,
}

/// The rule-merged range maps of a group: every address to its slot, equal
/// neighbours merged, so the range around a client is the widest over which
/// its rule cannot change.
#[derive(Debug)]
struct Merged {
    v4: RangeMap<u32, u16>,
    v6: RangeMap<u128, u16>,
}

/// The shared index of every policy with one structure.
#[derive(Debug)]
pub(crate) struct Group {
    pub(crate) structure: Structure,
    /// Non-custom lines to `(slot, line)`.
    index: HashMap<Line, (u16, u16), FxBuild>,
    /// Custom lines with their `(slot, line)`, in slot then line order (the
    /// first that contains the client wins: custom lines may overlap).
    custom: Box<[(steerage_geo::CustomLineName, u16, u16)]>,
    merged: Option<Merged>,
}

impl Group {
    /// A group for `structure`; with `merge`, also the rule-merged maps over
    /// `table`.
    pub(crate) fn new(structure: Structure, table: &LocationTable, merge: bool) -> Self {
        let mut index = HashMap::with_hasher(FxBuild::random());
        let mut custom = Vec::new();
        for (slot, lines) in structure.iter().enumerate() {
            for (i, line) in lines.iter().enumerate() {
                // Slots and lines per rule were bounded to u16 when compiled.
                let at = (slot as u16, i as u16);
                match line {
                    Line::Custom(name) => custom.push((name.clone(), at.0, at.1)),
                    other => {
                        // Validation makes lines unique in a policy; keep the
                        // first should one repeat.
                        index.entry(other.clone()).or_insert(at);
                    }
                }
            }
        }
        let mut group = Self {
            structure,
            index,
            custom: custom.into_boxed_slice(),
            merged: None,
        };
        if merge && !group.structure.is_empty() {
            let slots: Vec<u16> = table
                .locations()
                .iter()
                .map(|l| group.resolve(l).0)
                .collect();
            let slot_of = |id: LocationId| {
                slots
                    .get(id.index())
                    .copied()
                    .unwrap_or(group.default_slot())
            };
            group.merged = Some(Merged {
                v4: table.v4().map_values(slot_of),
                v6: table.v6().map_values(slot_of),
            });
        }
        group
    }

    /// The default rule's slot.
    #[inline]
    pub(crate) fn default_slot(&self) -> u16 {
        // Bounded to u16 when compiled.
        self.structure.len() as u16
    }

    /// Whether the group has rule-merged maps.
    pub(crate) fn is_merged(&self) -> bool {
        self.merged.is_some()
    }

    /// The slot and line a location gets: the most specific matching line
    /// (custom > province+ISP > province > country+ISP > country >
    /// continent), else the default slot.
    #[inline]
    pub(crate) fn resolve(&self, location: &Location) -> (u16, u16) {
        if !location.custom.is_empty() {
            for (name, slot, line) in &*self.custom {
                if location.custom.contains(name) {
                    return (*slot, *line);
                }
            }
        }
        let get = |line: Line| self.index.get(&line).copied();
        if !self.index.is_empty() {
            if let (Some(sub), Some(isp)) = (location.subdivision, location.isp)
                && let Some(hit) = get(Line::SubdivisionIsp(sub, isp))
            {
                return hit;
            }
            if let Some(sub) = location.subdivision
                && let Some(hit) = get(Line::Subdivision(sub))
            {
                return hit;
            }
            if let Some(country) = location.country {
                if let Some(isp) = location.isp
                    && let Some(hit) = get(Line::CountryIsp(country, isp))
                {
                    return hit;
                }
                if let Some(hit) = get(Line::Country(country)) {
                    return hit;
                }
            }
            if let Some(continent) = location
                .continent
                .or_else(|| location.country.map(Country::continent))
                && let Some(hit) = get(Line::Continent(continent))
            {
                return hit;
            }
        }
        (self.default_slot(), NO_LINE)
    }

    /// Where a client address lands, with the widest true scope the group
    /// can tell (the rule-merged range if the group has one, else the
    /// location's range).
    #[inline]
    pub(crate) fn land(&self, table: &LocationTable, ip: IpAddr) -> Landing {
        if self.structure.is_empty() {
            // Only the default rule: no address changes the rule.
            return Landing {
                slot: 0,
                line: NO_LINE,
                scope: 0,
            };
        }
        if let Some(merged) = &self.merged {
            let (slot, scope) = match ip {
                IpAddr::V4(v4) => {
                    let ip = u32::from(v4);
                    let (s, e, slot) = merged.v4.get_range(ip);
                    (slot, widest_len_v4(ip, s, e))
                }
                IpAddr::V6(v6) => {
                    let ip = u128::from(v6);
                    let (s, e, slot) = merged.v6.get_range(ip);
                    (slot, widest_len_v6(ip, s, e))
                }
            };
            let line = match self.structure.get(usize::from(slot)) {
                None => NO_LINE,
                Some(lines) if lines.len() == 1 => 0,
                // A rule with several lines: which one matched is a
                // property of the location, not of the merged range.
                Some(_) => {
                    let id = table.lookup(ip).id;
                    self.resolve(table.location(id)).1
                }
            };
            return Landing { slot, line, scope };
        }
        let (id, scope) = match ip {
            IpAddr::V4(v4) => {
                let ip = u32::from(v4);
                let (s, e, id) = table.lookup_v4(ip);
                (id, widest_len_v4(ip, s, e))
            }
            IpAddr::V6(v6) => {
                let ip = u128::from(v6);
                let (s, e, id) = table.lookup_v6(ip);
                (id, widest_len_v6(ip, s, e))
            }
        };
        let (slot, line) = self.resolve(table.location(id));
        Landing { slot, line, scope }
    }

    /// Heap bytes of the merged maps (0 without).
    pub(crate) fn merged_bytes(&self) -> usize {
        self.merged
            .as_ref()
            .map_or(0, |m| m.v4.heap_bytes() + m.v6.heap_bytes())
    }

    /// Heap bytes of the group.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.merged_bytes()
            + self.index.capacity() * (size_of::<(Line, (u16, u16))>() + 1)
            + self.custom.len() * size_of::<(steerage_geo::CustomLineName, u16, u16)>()
            + self
                .structure
                .iter()
                .map(|l| l.len() * size_of::<Line>())
                .sum::<usize>()
    }
}
