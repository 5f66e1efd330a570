//! The build-time merge of a location map into a rule-merged map: every
//! location replaced by its slot and equal neighbours merged, skipping whole
//! blocks of ranges whose locations all join the run in progress (per-table
//! bit sets of the locations each block holds, built once per table).

use steerage_geo::{LocationId, LocationTable, RangeKey, RangeMap, RangeMapBuilder};

/// Ranges per block of [`LocationBlocks`].
const BLOCK: usize = 64;
/// Blocks are kept for tables of up to this many 64-location words (real
/// city databases fit): past it a block's check costs about as much as
/// scanning its ranges.
const MAX_BLOCK_WORDS: usize = 8;
/// Slot sets are made for groups of up to this many slots.
const MAX_BLOCK_SLOTS: usize = 4096;

/// Which locations occur in each block of [`BLOCK`] consecutive ranges of
/// a location table's maps, one bit per location.
///
/// Built once per table, it lets the merge of a new group skip every block
/// whose locations all get the slot of the run in progress: a group that
/// decides by a few countries scans a small part of a city database's
/// ranges instead of all (figures in the compile bench and its commit).
pub(crate) struct LocationBlocks {
    /// Locations of the table (bits per block used).
    pub(super) locations: usize,
    /// `u64` words per block.
    words: usize,
    v4: Box<[u64]>,
    v6: Box<[u64]>,
}

impl LocationBlocks {
    /// The blocks of `table`; `None` when it has too many locations for
    /// blocks to pay.
    pub(crate) fn new(table: &LocationTable) -> Option<Self> {
        let locations = table.locations().len();
        let words = locations.div_ceil(64);
        if words == 0 || words > MAX_BLOCK_WORDS {
            return None;
        }
        Some(Self {
            locations,
            words,
            v4: block_bits(table.v4(), words),
            v6: block_bits(table.v6(), words),
        })
    }

    /// The block sets of the IPv4 or IPv6 map.
    pub(super) fn family(&self, v6: bool) -> Blocks<'_> {
        Blocks {
            locations: self.locations,
            words: self.words,
            bits: if v6 { &self.v6 } else { &self.v4 },
        }
    }
}

impl std::fmt::Debug for LocationBlocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocationBlocks")
            .field("locations", &self.locations)
            .field("v4_blocks", &(self.v4.len() / self.words))
            .field("v6_blocks", &(self.v6.len() / self.words))
            .finish()
    }
}

/// The block sets of one map.
#[derive(Clone, Copy)]
pub(super) struct Blocks<'a> {
    locations: usize,
    words: usize,
    bits: &'a [u64],
}

/// Per block of `map`, the set of its locations as `words` words.
fn block_bits<K: RangeKey>(map: &RangeMap<K, LocationId>, words: usize) -> Box<[u64]> {
    let mut bits = vec![0u64; map.len().div_ceil(BLOCK) * words];
    for (i, (_, _, id)) in map.iter().enumerate() {
        let id = id.index();
        if let Some(word) = bits.get_mut(i / BLOCK * words + id / 64) {
            *word |= 1 << (id % 64);
        }
    }
    bits.into_boxed_slice()
}

/// The location map `map` with every location replaced by its slot and
/// equal neighbours merged: what [`RangeMap::map_values`] gives, built with
/// a push per merged range instead of one per location range, and, with
/// `blocks` (the table's block sets for `map`), skipping every block whose
/// locations all have the slot of the run in progress.
pub(super) fn merge_by_slot<K: RangeKey>(
    map: &RangeMap<K, LocationId>,
    slot_of: impl Fn(LocationId) -> u16,
    blocks: Option<Blocks<'_>>,
) -> RangeMap<K, u16> {
    let Some((first, id)) = map.range_start(0) else {
        return map.map_values(slot_of);
    };
    // Per slot, the locations that have it.
    let sets = blocks.and_then(|b| {
        let slots: Vec<u16> = (0..b.locations)
            // Locations were counted from a table's list: ids fit u32.
            .map(|l| slot_of(LocationId(l as u32)))
            .collect();
        let count = usize::from(slots.iter().copied().max()?) + 1;
        if count > MAX_BLOCK_SLOTS {
            return None;
        }
        let mut sets = vec![0u64; count * b.words];
        for (l, &slot) in slots.iter().enumerate() {
            if let Some(word) = sets.get_mut(usize::from(slot) * b.words + l / 64) {
                *word |= 1 << (l % 64);
            }
        }
        Some((b, sets))
    });
    let (mut run_start, mut run_slot) = (first, slot_of(id));
    let mut builder = RangeMapBuilder::new(run_slot);
    let len = map.len();
    let mut i = 1;
    while i < len {
        if i % BLOCK == 0
            && let Some((b, sets)) = &sets
        {
            let at = i / BLOCK * b.words;
            let run = usize::from(run_slot) * b.words;
            if let (Some(block), Some(set)) =
                (b.bits.get(at..at + b.words), sets.get(run..run + b.words))
                && block
                    .iter()
                    .zip(set)
                    .all(|(locations, in_run)| locations & !in_run == 0)
            {
                // Every range of the block joins the run.
                i += BLOCK;
                continue;
            }
        }
        let Some((start, id)) = map.range_start(i) else {
            break;
        };
        let slot = slot_of(id);
        if slot != run_slot {
            // A later range starts above K::MIN, so it has a predecessor.
            if let Some(end) = start.predecessor() {
                builder.push(run_start, end, run_slot);
            }
            (run_start, run_slot) = (start, slot);
        }
        i += 1;
    }
    builder.push(run_start, K::MAX, run_slot);
    // The ranges are sorted, disjoint and no more than `map`'s.
    match builder.finish() {
        Ok(merged) => merged,
        Err(_) => map.map_values(slot_of),
    }
}

#[cfg(test)]
mod merge_tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Merging by slot gives what mapping every value does.
        #[test]
        fn merge_by_slot_equals_map_values(
            cuts in prop::collection::btree_map(any::<u32>(), 0u32..6, 0..600),
            first in 0u32..6,
            slots in prop::collection::vec(0u16..3, 6),
            stretch in 1usize..300,
        ) {
            let mut starts: Vec<(u32, u32)> = vec![(0, first)];
            starts.extend(cuts.into_iter().filter(|&(c, _)| c > 0));
            let ranges: Vec<(u32, u32, LocationId)> = starts
                .iter()
                .enumerate()
                .map(|(i, &(start, id))| {
                    let end = starts.get(i + 1).map_or(u32::MAX, |&(next, _)| next - 1);
                    (start, end, LocationId(id))
                })
                .collect();
            let map = RangeMap::from_sorted(LocationId(0), ranges).unwrap();
            let slot_of = |id: LocationId| slots[id.index()];
            let expected = map.map_values(slot_of);
            prop_assert_eq!(&merge_by_slot(&map, slot_of, None), &expected);
            // With block sets (blocks skipped where they join the run).
            let bits = block_bits(&map, 1);
            let blocks = Blocks { locations: 6, words: 1, bits: &bits };
            prop_assert_eq!(merge_by_slot(&map, slot_of, Some(blocks)), expected);
            let v6 = RangeMap::<u128, LocationId>::constant(LocationId(1));
            prop_assert_eq!(merge_by_slot(&v6, slot_of, None), v6.map_values(slot_of));
            // Long stretches of one location, so that whole blocks join runs.
            let stretchy: Vec<(u32, u32, LocationId)> = starts
                .iter()
                .enumerate()
                .map(|(i, &(start, _))| {
                    let end = starts.get(i + 1).map_or(u32::MAX, |&(next, _)| next - 1);
                    (start, end, LocationId((i / stretch) as u32 % 6))
                })
                .collect();
            let map = RangeMap::from_sorted(LocationId(0), stretchy).unwrap();
            let bits = block_bits(&map, 1);
            let blocks = Blocks { locations: 6, words: 1, bits: &bits };
            prop_assert_eq!(merge_by_slot(&map, slot_of, Some(blocks)), map.map_values(slot_of));
        }
    }
}
