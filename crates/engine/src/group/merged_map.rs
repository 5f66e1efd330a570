//! The rule-merged range maps' memory layouts: a direct index over the top
//! bits of the address whose words answer outright for a bucket inside one
//! merged range, and otherwise point at the bucket's few ranges; three word
//! layouts (compact cells, narrow and wide words) with their bit packing and
//! window searches, so that a lookup usually costs one read.

use std::net::IpAddr;

use steerage_geo::{RangeKey, RangeMap, widest_len_v4, widest_len_v6};

/// The rule-merged range maps of a group: every address to its slot, equal
/// neighbours merged, so the range around a client is the widest over which
/// its rule cannot change.
#[derive(Debug)]
pub(super) struct Merged {
    pub(super) v4: MergedMap<u32>,
    pub(super) v6: MergedMap<u128>,
}

impl Merged {
    /// The slot of `ip` and the widest prefix length around it over which
    /// the slot is the same.
    #[inline]
    pub(super) fn land(&self, ip: IpAddr) -> (u16, u8) {
        match ip {
            IpAddr::V4(v4) => self.v4.land(u32::from(v4)),
            IpAddr::V6(v6) => self.v6.land(u128::from(v6)),
        }
    }
}

/// An address key whose scope in a range is known: the widest prefix
/// around the key inside the range.
pub(super) trait ScopeKey: RangeKey {
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
/// than the window reads its extra leaves save (measured with the ratio
/// bench's `select/1x200` on DB-IP; figures in the commit that set it).
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
pub(super) struct MergedMap<K> {
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
/// independent reads and a sum, where a binary search makes five reads
/// each waiting for the one before. A longer one: a binary search of fixed
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
    pub(super) fn new(map: &RangeMap<K, u16>) -> Self {
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
    pub(super) fn land(&self, key: K) -> (u16, u8) {
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
    pub(super) fn heap_bytes(&self) -> usize {
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
