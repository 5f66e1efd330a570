//! The domain lookup of a snapshot: case-insensitive, trailing dot ignored,
//! no allocation per call.

use std::hash::{BuildHasher, Hasher};

use crate::pick::fold_mul;

/// The longest domain a lookup considers (RFC 1035: 253 characters without
/// the trailing dot); longer input cannot be a steered domain.
const MAX_DOMAIN_LEN: usize = 253;

/// An FxHash-style hasher (the multiply-rotate hash rustc uses), keyed with a
/// per-index random seed.
///
/// Keys are the configured domains only; a query's name is hashed to look
/// up, never inserted, so a client cannot grow a probe chain. The random
/// seed keeps configured names from being chosen to collide on purpose.
#[derive(Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const FX_K: u64 = 0xf135_7aea_2e62_a9c5;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(26) ^ word).wrapping_mul(FX_K);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // A final avalanche so the low bits hashbrown uses for the bucket
        // depend on every input bit.
        let mut h = self.hash;
        h ^= h >> 29;
        h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^ (h >> 32)
    }
}

/// The last `name.len() % 8` bytes of `name` (the part after its whole
/// words) as a little-endian word, zero-padded; 0 when there is none.
///
/// Overlapping fixed-size loads instead of a byte loop or a
/// variable-length copy (a `memcpy` call): a
/// name of eight bytes or more loads its last eight and shifts the bytes of
/// its last whole word out; a shorter one combines two overlapping 4-byte
/// loads, or three single bytes below four. Overlapping bytes land on the
/// same positions with the same values, so OR-ing them is exact.
#[inline]
fn tail(name: &[u8]) -> u64 {
    let n = name.len();
    let rest = n % 8;
    if rest == 0 {
        return 0;
    }
    if let Some(last) = name.last_chunk::<8>() {
        return u64::from_le_bytes(*last) >> (64 - 8 * rest);
    }
    // n == rest, 1..=7.
    if let (Some(first), Some(last)) = (name.first_chunk::<4>(), name.last_chunk::<4>()) {
        let lo = u64::from(u32::from_le_bytes(*first));
        let hi = u64::from(u32::from_le_bytes(*last));
        return lo | (hi << (8 * (n - 4)));
    }
    let byte = |i: usize| name.get(i).map_or(0, |&b| u64::from(b)) << (8 * i);
    byte(0) | byte(n / 2) | byte(n - 1)
}

/// Eight bytes as a little-endian word.
#[inline]
fn load8(chunk: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(chunk);
    u64::from_le_bytes(w)
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// Every byte with its 0x20 bit set: equal for names that differ only in
/// ASCII case (`A`-`Z` become `a`-`z`), in one instruction. It also folds a
/// few other pairs (`@` and `` ` ``, for one), which only costs the compare
/// that every hit makes anyway.
#[inline]
fn fold_case(w: u64) -> u64 {
    w | (0x20 * ONES)
}

/// The constants of [`hash_folded`]: the length's multiplier, a whole
/// pair's and the rest's.
const HASH_LEN_K: u64 = 0xa076_1d64_78bd_642f;
const HASH_PAIR_K: u64 = 0xe703_7ed1_a0b4_28db;
const HASH_REST_K: u64 = 0x8ebc_6af0_9c88_c6e3;

/// The hash of a name whose trailing partial word is `tail` (see [`tail`]),
/// the same for names equal but for ASCII case.
///
/// Sixteen bytes per step, each step one 128-bit multiply folded to 64 bits
/// (the wyhash mixer), with the length in the starting state: a name of up
/// to 16 bytes costs a single multiply on the critical path where a word at
/// a time plus a final avalanche took four. The fold mixes every input bit
/// into the low bits the bucket comes from, so no avalanche is needed.
#[inline]
fn hash_folded(seed: u64, name: &[u8], tail: u64) -> u64 {
    const K1: u64 = HASH_PAIR_K;
    const K2: u64 = HASH_REST_K;
    let mut h = seed ^ (name.len() as u64).wrapping_mul(HASH_LEN_K);
    let mut pairs = name.chunks_exact(16);
    for pair in &mut pairs {
        let (a, b) = pair.split_at(8);
        h = fold_mul(fold_case(load8(a)) ^ h, fold_case(load8(b)) ^ K1);
    }
    let rest = pairs.remainder();
    if rest.is_empty() {
        return h;
    }
    // The partial word is the one after the last whole word of the rest,
    // if it has one.
    let (a, b) = match rest.first_chunk::<8>() {
        Some(word) => (u64::from_le_bytes(*word), tail),
        None => (tail, 0),
    };
    fold_mul(fold_case(a) ^ h, fold_case(b) ^ K2)
}

/// Eight bytes of a stored domain, with what a query's eight bytes must be
/// to match them.
///
/// Precomputed so that a compare costs one OR per word instead of
/// lower-casing the query (seven operations per word): the domain's bytes
/// in lower case, and `0x20` in the bytes that are ASCII letters. A query
/// word `q` matches when `q | letters == lower`: a letter byte takes its
/// lower or upper case, every other byte only itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct KeyWord {
    lower: u64,
    letters: u64,
}

impl KeyWord {
    /// Up to eight bytes, zero-padded.
    fn new(bytes: &[u8]) -> Self {
        let mut lower = [0u8; 8];
        let mut letters = [0u8; 8];
        for ((l, m), b) in lower.iter_mut().zip(&mut letters).zip(bytes) {
            *l = b.to_ascii_lowercase();
            if l.is_ascii_lowercase() {
                *m = 0x20;
            }
        }
        Self {
            lower: u64::from_le_bytes(lower),
            letters: u64::from_le_bytes(letters),
        }
    }

    /// Whether the query word `q` equals these bytes but for ASCII case.
    #[inline]
    fn matches(self, q: u64) -> bool {
        q | self.letters == self.lower
    }
}

/// Whether `query` (whose trailing partial word is `tail`) equals the
/// stored `key` of the same length but for ASCII case.
#[inline]
fn key_matches(query: &[u8], tail: u64, key: &[KeyWord]) -> bool {
    let mut chunks = query.chunks_exact(8);
    let mut words = key.iter();
    for (chunk, word) in (&mut chunks).zip(&mut words) {
        if !word.matches(load8(chunk)) {
            return false;
        }
    }
    match words.next() {
        Some(word) => word.matches(tail),
        None => chunks.remainder().is_empty(),
    }
}

/// The position of the domain of `n` bytes with hash `hash` whose stored
/// key `matches` accepts (given the index's words from the key's first on).
///
/// A bucket carries its key's span, so a probe reads the bucket and then
/// the key's words, while the caller's read of the entry at the bucket's
/// position can start at once (the key compare is predicted to succeed):
/// with the span in an array of its own, a lookup over many domains waited
/// for one more cache miss before both.
#[inline(always)]
fn probe(
    buckets: &[Bucket],
    words: &[KeyWord],
    n: usize,
    hash: u64,
    matches: impl Fn(&[KeyWord]) -> bool,
) -> Option<u32> {
    let mask = buckets.len() - 1;
    let tag = (hash >> 32) as u32;
    let mut i = hash as usize & mask;
    // The table is at most half full, so a free bucket ends every probe.
    loop {
        let b = buckets[i];
        // A free bucket's length matches no name, so the usual hit asks
        // nothing about freedom.
        if b.tag == tag
            && b.len as usize == n
            && let Some(key) = words.get(b.start as usize..)
            && matches(key)
        {
            return Some(b.position);
        }
        if b.position == EMPTY {
            return None;
        }
        i = (i + 1) & mask;
    }
}

/// Builds [`FxHasher`]s from one seed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FxBuild {
    pub(crate) seed: u64,
}

impl FxBuild {
    pub(crate) fn random() -> Self {
        Self {
            seed: crate::pick::os_seed(),
        }
    }
}

impl BuildHasher for FxBuild {
    type Hasher = FxHasher;
    #[inline]
    fn build_hasher(&self) -> FxHasher {
        FxHasher { hash: self.seed }
    }
}

/// A bucket of the open-addressing table: the high half of the key's hash,
/// the domain's position (`EMPTY` if free), and where its words start and
/// its length in bytes (a copy of its [`KeySpan`]; `u32::MAX` if free).
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tag: u32,
    position: u32,
    start: u32,
    len: u32,
}

/// A free bucket.
const FREE: Bucket = Bucket {
    tag: 0,
    position: EMPTY,
    start: 0,
    len: u32::MAX,
};

const EMPTY: u32 = u32::MAX;

/// Where a domain's words start in [`DomainIndex::words`], and its length
/// in bytes: one read gives both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct KeySpan {
    start: u32,
    len: u32,
}

/// Where [`DomainIndex::edited`] takes a domain from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DomainSource<'a> {
    /// The domain at this position of the index being edited.
    Previous(usize),
    /// A domain of its own.
    New(&'a str),
    /// No domain: a position no query finds.
    Vacant,
}

/// A [`DomainIndex`] being built: names hashed as they come (as a query
/// would hash them), buckets filled at the end in bucket order.
///
/// Filling buckets in the domains' order writes all over a table of a few
/// MiB (with 100,000 domains, most of the build was waiting for those
/// cache misses); grouped by home bucket, nearby writes share cache lines.
struct Build {
    hasher: FxBuild,
    words: Vec<KeyWord>,
    spans: Vec<KeySpan>,
    /// Per position, the hash of its name (unused for an unfindable one).
    hashes: Vec<u64>,
}

/// Buckets are filled in up to 2^12 runs of neighbouring home buckets.
const FILL_GROUP_BITS: u32 = 12;

impl Build {
    fn new(count: usize) -> Self {
        Self {
            hasher: FxBuild::random(),
            words: Vec::with_capacity(count * 4),
            spans: Vec::with_capacity(count),
            hashes: Vec::with_capacity(count),
        }
    }

    /// Gives `name` the next position.
    fn push(&mut self, name: &[u8]) {
        self.hashes
            .push(hash_folded(self.hasher.seed, name, tail(name)));
        // Snapshots of more than 4 GiB of names cannot be built; saturate.
        self.spans.push(KeySpan {
            start: u32::try_from(self.words.len()).unwrap_or(u32::MAX),
            len: u32::try_from(name.len()).unwrap_or(u32::MAX),
        });
        self.words.extend(name.chunks(8).map(KeyWord::new));
    }

    /// Gives `name`, stored as `key` in another index, the next position:
    /// the words are copied, not made again.
    fn push_stored(&mut self, name: &[u8], key: &[KeyWord]) {
        self.hashes
            .push(hash_folded(self.hasher.seed, name, tail(name)));
        self.spans.push(KeySpan {
            start: u32::try_from(self.words.len()).unwrap_or(u32::MAX),
            len: u32::try_from(name.len()).unwrap_or(u32::MAX),
        });
        self.words.extend_from_slice(key);
    }

    /// Takes the next position for nothing: no name has its length, and it
    /// gets no bucket.
    fn push_unfindable(&mut self) {
        self.hashes.push(0);
        self.spans.push(KeySpan {
            start: u32::try_from(self.words.len()).unwrap_or(u32::MAX),
            len: u32::MAX,
        });
    }

    /// The length and stored words of the name at `position`.
    fn key(&self, position: usize) -> (u32, &[KeyWord]) {
        self.spans.get(position).map_or((u32::MAX, &[]), |span| {
            let start = span.start as usize;
            let words = self
                .words
                .get(start..start + (span.len as usize).div_ceil(8))
                .unwrap_or(&[]);
            (span.len, words)
        })
    }

    fn findable(&self, position: usize) -> bool {
        self.spans
            .get(position)
            .is_some_and(|span| span.len != u32::MAX)
    }

    fn finish(self) -> DomainIndex {
        let count = self.spans.len();
        let capacity = (count.max(4) * 2).next_power_of_two();
        let mask = capacity - 1;
        let bits = capacity.trailing_zeros();
        let shift = bits - bits.min(FILL_GROUP_BITS);
        let group = |hash: u64| (hash as usize & mask) >> shift;
        // Positions by group (a counting sort, stable: within a group, and
        // so among equal names, in position order).
        let mut starts = vec![0u32; (1usize << bits.min(FILL_GROUP_BITS)) + 1];
        for (position, &hash) in self.hashes.iter().enumerate() {
            if self.findable(position) {
                starts[group(hash) + 1] += 1;
            }
        }
        for g in 1..starts.len() {
            starts[g] += starts[g - 1];
        }
        let mut order = vec![0u32; starts.last().map_or(0, |&n| n as usize)];
        for (position, &hash) in self.hashes.iter().enumerate() {
            if self.findable(position) {
                let at = &mut starts[group(hash)];
                // Positions fit: fewer than u32::MAX domains fit in memory.
                order[*at as usize] = position as u32;
                *at += 1;
            }
        }
        let mut buckets = vec![FREE; capacity].into_boxed_slice();
        for &position in &order {
            let hash = self.hashes[position as usize];
            let tag = (hash >> 32) as u32;
            let mut i = hash as usize & mask;
            loop {
                let b = buckets[i];
                if b.position == EMPTY {
                    let span = self.spans[position as usize];
                    buckets[i] = Bucket {
                        tag,
                        position,
                        start: span.start,
                        len: span.len,
                    };
                    break;
                }
                // A name given twice keeps its first position, which came
                // first in its group.
                if b.tag == tag && self.key(b.position as usize) == self.key(position as usize) {
                    break;
                }
                i = (i + 1) & mask;
            }
        }
        DomainIndex {
            hasher: self.hasher,
            buckets,
            live: order.len(),
            garbage: 0,
            words: self.words,
            spans: self.spans,
        }
    }
}

/// Maps every steered domain (lower case, no trailing dot) to its policy's
/// position in the snapshot.
///
/// A compact open-addressing table (linear probing, at most half full):
/// 16-byte buckets (two to four per domain) plus each domain as
/// [`KeyWord`]s (16 bytes per 8 bytes of name) and an 8-byte span kept for
/// [`edited`](Self::edited), about 100 bytes per domain. Keys are
/// configured domains only, hashed with a random seed; a query only probes.
///
/// A position may be vacant (no query finds it): [`edit`](Self::edit)
/// removes and inserts domains in place, in time proportional to the
/// edit, so that adding a name to 100,000 does not rebuild the table.
#[derive(Debug, Clone)]
pub(crate) struct DomainIndex {
    hasher: FxBuild,
    buckets: Box<[Bucket]>,
    /// Every domain's words, concatenated (a domain inserted by `edit` at
    /// the end, whatever its position; a removed one's stay until the next
    /// rebuild).
    words: Vec<KeyWord>,
    /// Per position, where its domain's words start and its length
    /// (`u32::MAX`: vacant).
    spans: Vec<KeySpan>,
    /// Positions with a bucket.
    live: usize,
    /// Words of removed domains still in `words`.
    garbage: usize,
}

/// One change [`DomainIndex::edit`] makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IndexEdit {
    /// The domain at this position goes; the position becomes vacant.
    Remove(u32),
    /// This domain (lower case, no trailing dot, not in the index) takes
    /// this vacant position, or a new one past the last.
    Insert(u32, Box<str>),
}

/// An unfindable position's span.
const VACANT: KeySpan = KeySpan {
    start: 0,
    len: u32::MAX,
};

impl DomainIndex {
    /// An index over `domains` in order: the i-th gets position i. A domain
    /// given twice keeps its first position. Domains compare without ASCII
    /// case.
    pub(crate) fn new<'a>(domains: impl ExactSizeIterator<Item = &'a str>) -> Self {
        let mut build = Build::new(domains.len());
        for d in domains {
            build.push(d.as_bytes());
        }
        build.finish()
    }

    /// An index over a new order of domains made mostly of this index's:
    /// the i-th source gets position i, taken from this index's words
    /// ([`DomainSource::Previous`]) or from the name given.
    ///
    /// Reading the kept names from this index's contiguous words rather
    /// than from each policy (a cache miss or two per domain: most of the
    /// cost of adding a domain to 100,000) is what makes this cheaper than
    /// [`new`](Self::new). A previous position past the last gets a
    /// position no query finds.
    pub(crate) fn edited<'a>(
        &self,
        sources: impl ExactSizeIterator<Item = DomainSource<'a>>,
    ) -> Self {
        let mut build = Build::new(sources.len());
        let mut name = Vec::with_capacity(MAX_DOMAIN_LEN + 8);
        for source in sources {
            match source {
                DomainSource::Previous(position) => {
                    let Some(span) = self.spans.get(position).filter(|s| s.len != u32::MAX) else {
                        build.push_unfindable();
                        continue;
                    };
                    let start = span.start as usize;
                    let words = (span.len as usize).div_ceil(8);
                    let key = self.words.get(start..start + words).unwrap_or(&[]);
                    name.clear();
                    name.extend(key.iter().flat_map(|w| w.lower.to_le_bytes()));
                    name.truncate(span.len as usize);
                    build.push_stored(&name, key);
                }
                DomainSource::New(domain) => build.push(domain.as_bytes()),
                DomainSource::Vacant => build.push_unfindable(),
            }
        }
        build.finish()
    }

    /// The number of positions, vacant ones included.
    #[cfg(test)]
    fn positions(&self) -> usize {
        self.spans.len()
    }

    /// The number of domains (positions a query can find).
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// Whether a query can find the domain at `position`.
    pub(crate) fn is_live(&self, position: usize) -> bool {
        self.spans.get(position).is_some_and(|s| s.len != u32::MAX)
    }

    /// The stored words and length of the domain at `position`.
    fn key_at(&self, position: usize) -> Option<(&[KeyWord], usize)> {
        let span = self.spans.get(position).filter(|s| s.len != u32::MAX)?;
        let start = span.start as usize;
        let key = self
            .words
            .get(start..start + (span.len as usize).div_ceil(8))?;
        Some((key, span.len as usize))
    }

    /// The hash of the stored key `key` of `len` bytes, as a query for it
    /// hashes (the hash folds case, so the lower-case bytes serve).
    fn hash_of_key(&self, key: &[KeyWord], len: usize, name: &mut Vec<u8>) -> u64 {
        name.clear();
        name.extend(key.iter().flat_map(|w| w.lower.to_le_bytes()));
        name.truncate(len);
        hash_folded(self.hasher.seed, name, tail(name))
    }

    /// Applies `edits` in order, in place, in time proportional to them
    /// (plus the probe runs they touch); `false`, with the index unchanged,
    /// when the table would be more than half full at any point of the
    /// batch or the result would hold more removed words than live ones:
    /// then rebuild it with [`rebuilt`](Self::rebuilt).
    ///
    /// Each `Remove` must name a live position and each `Insert` a vacant
    /// (or new) position and a domain the index does not hold; the
    /// compiler's edits do.
    pub(crate) fn edit(&mut self, edits: &[IndexEdit]) -> bool {
        let mut live = self.live;
        // The most names the table holds at any point of the batch: an
        // insert before a remove counts before the remove frees its bucket,
        // and every probe needs a free bucket to end at.
        let mut peak = live;
        let mut garbage = self.garbage;
        let mut words = self.words.len();
        for edit in edits {
            match edit {
                IndexEdit::Remove(position) => {
                    live = live.saturating_sub(1);
                    garbage += self
                        .key_at(*position as usize)
                        .map_or(0, |(key, _)| key.len());
                }
                IndexEdit::Insert(_, name) => {
                    live += 1;
                    peak = peak.max(live);
                    words += name.len().div_ceil(8);
                }
            }
        }
        if peak * 2 > self.buckets.len() || garbage > words / 2 + 64 {
            return false;
        }
        let mut name = Vec::with_capacity(MAX_DOMAIN_LEN + 8);
        for edit in edits {
            match edit {
                IndexEdit::Remove(position) => self.remove(*position, &mut name),
                IndexEdit::Insert(position, domain) => self.insert(*position, domain),
            }
        }
        true
    }

    /// Removes the domain at `position` (backward-shift deletion: the
    /// probe runs stay unbroken without tombstones).
    fn remove(&mut self, position: u32, name: &mut Vec<u8>) {
        let Some((key, len)) = self.key_at(position as usize) else {
            return;
        };
        let words = key.len();
        let hash = self.hash_of_key(key, len, name);
        let mask = self.buckets.len() - 1;
        let mut hole = hash as usize & mask;
        // Find its bucket. (Every loop here stops at a free bucket, which a
        // table at most half full has; the bounds are a second guard.)
        let mut found = false;
        for _ in 0..=mask {
            let b = self.buckets[hole];
            if b.position == position {
                found = true;
                break;
            }
            if b.position == EMPTY {
                break;
            }
            hole = (hole + 1) & mask;
        }
        if !found {
            return;
        }
        // Pull back every later bucket of the run that may sit in the hole
        // (whose home is not between the hole and it).
        let mut next = (hole + 1) & mask;
        for _ in 0..mask {
            let b = self.buckets[next];
            if b.position == EMPTY {
                break;
            }
            let home = self.key_at(b.position as usize).map_or(next, |(key, len)| {
                self.hash_of_key(key, len, name) as usize & mask
            });
            if (next.wrapping_sub(home) & mask) >= (next.wrapping_sub(hole) & mask) {
                self.buckets[hole] = b;
                hole = next;
            }
            next = (next + 1) & mask;
        }
        self.buckets[hole] = FREE;
        if let Some(span) = self.spans.get_mut(position as usize) {
            *span = VACANT;
        }
        self.live -= 1;
        self.garbage += words;
    }

    /// Puts `domain` at `position`, vacant or new.
    fn insert(&mut self, position: u32, domain: &str) {
        let bytes = domain.as_bytes();
        let index = position as usize;
        if self.spans.len() <= index {
            self.spans.resize(index + 1, VACANT);
        }
        let span = KeySpan {
            start: u32::try_from(self.words.len()).unwrap_or(u32::MAX),
            len: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
        };
        self.spans[index] = span;
        self.words.extend(bytes.chunks(8).map(KeyWord::new));
        let hash = hash_folded(self.hasher.seed, bytes, tail(bytes));
        let mask = self.buckets.len() - 1;
        let mut i = hash as usize & mask;
        while self.buckets[i].position != EMPTY {
            i = (i + 1) & mask;
        }
        self.buckets[i] = Bucket {
            tag: (hash >> 32) as u32,
            position,
            start: span.start,
            len: span.len,
        };
        self.live += 1;
    }

    /// A new index holding what this one would after `edits`, built afresh
    /// (room for twice the positions, removed words dropped).
    pub(crate) fn rebuilt(&self, edits: &[IndexEdit]) -> Self {
        let mut sources: Vec<DomainSource<'_>> = (0..self.spans.len())
            .map(|p| {
                if self.is_live(p) {
                    DomainSource::Previous(p)
                } else {
                    DomainSource::Vacant
                }
            })
            .collect();
        for edit in edits {
            match edit {
                IndexEdit::Remove(p) => {
                    if let Some(s) = sources.get_mut(*p as usize) {
                        *s = DomainSource::Vacant;
                    }
                }
                IndexEdit::Insert(p, domain) => {
                    let p = *p as usize;
                    if sources.len() <= p {
                        sources.resize(p + 1, DomainSource::Vacant);
                    }
                    sources[p] = DomainSource::New(domain);
                }
            }
        }
        self.edited(sources.into_iter())
    }

    #[inline]
    fn find(&self, name: &[u8], tail: u64, hash: u64) -> Option<u32> {
        let words = name.len().div_ceil(8);
        probe(&self.buckets, &self.words, name.len(), hash, |key| {
            key.get(..words)
                .is_some_and(|key| key_matches(name, tail, key))
        })
    }

    /// The position of `domain`, compared case-insensitively (ASCII), one
    /// trailing dot ignored. Reads the query once per word for the hash and
    /// once to compare with the one candidate; copies nothing.
    #[inline]
    pub(crate) fn get(&self, domain: &str) -> Option<u32> {
        let bytes = domain.as_bytes();
        let bytes = bytes.strip_suffix(b".").unwrap_or(bytes);
        let n = bytes.len();
        if n > 8
            && n <= 16
            && let (Some(first), Some(last)) = (bytes.first_chunk::<8>(), bytes.last_chunk::<8>())
        {
            // Shifts out the bytes of the first word: 8 to 56 bits.
            let second = u64::from_le_bytes(*last) >> (8 * (16 - n));
            return self.get_two_words(n, u64::from_le_bytes(*first), second);
        }
        if n > 16
            && n <= 24
            && let (Some(pair), Some(last)) = (bytes.first_chunk::<16>(), bytes.last_chunk::<8>())
            && let (first, second) = pair.split_at(8)
        {
            // Shifts out the bytes of the second word: 0 to 56 bits.
            let third = u64::from_le_bytes(*last) >> (8 * (24 - n));
            return self.get_three_words(n, [load8(first), load8(second), third]);
        }
        self.get_any(bytes)
    }

    /// [`Self::get`] for a name of 17 to 24 bytes, given as its first two
    /// words and the rest zero-padded (the word [`tail`] makes, or the
    /// whole third word for 24 bytes): [`Self::get_two_words`] one word on.
    #[inline]
    fn get_three_words(&self, n: usize, words: [u64; 3]) -> Option<u32> {
        let [first, second, third] = words;
        // `hash_folded` for this length: the pair of the first two words,
        // then the rest as one word and an empty one.
        let h = self.hasher.seed ^ (n as u64).wrapping_mul(HASH_LEN_K);
        let h = fold_mul(fold_case(first) ^ h, fold_case(second) ^ HASH_PAIR_K);
        let hash = fold_mul(fold_case(third) ^ h, fold_case(0) ^ HASH_REST_K);
        probe(&self.buckets, &self.words, n, hash, |key| {
            key.first_chunk::<3>()
                .is_some_and(|[a, m, z]| a.matches(first) & m.matches(second) & z.matches(third))
        })
    }

    /// [`Self::get`] for a name of 9 to 16 bytes (`www.example.com` has
    /// 15), given as its first word and the rest zero-padded (the word
    /// [`tail`] makes, or the whole second word for 16 bytes).
    ///
    /// The same hash and compare as for any length, with both words held
    /// in registers from the hash to the compare: the general path's
    /// iterators over chunks and stored words, and its bounds checks, cost
    /// more per lookup.
    #[inline]
    fn get_two_words(&self, n: usize, first: u64, second: u64) -> Option<u32> {
        // `hash_folded` for this length: one step over both words, with
        // the constant of a whole pair for 16 bytes, of a rest below.
        let h = self.hasher.seed ^ (n as u64).wrapping_mul(HASH_LEN_K);
        let k = if n == 16 { HASH_PAIR_K } else { HASH_REST_K };
        let hash = fold_mul(fold_case(first) ^ h, fold_case(second) ^ k);
        probe(&self.buckets, &self.words, n, hash, |key| {
            key.first_chunk::<2>()
                .is_some_and(|[a, z]| a.matches(first) & z.matches(second))
        })
    }

    /// [`Self::get`] for a name of any length (without its trailing dot).
    #[inline]
    fn get_any(&self, bytes: &[u8]) -> Option<u32> {
        if bytes.len() > MAX_DOMAIN_LEN {
            return None;
        }
        let t = tail(bytes);
        self.find(bytes, t, hash_folded(self.hasher.seed, bytes, t))
    }

    /// Heap bytes.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.buckets.len() * size_of::<Bucket>()
            + self.words.len() * size_of::<KeyWord>()
            + self.spans.len() * size_of::<KeySpan>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_ignores_case_and_one_trailing_dot() {
        let idx = DomainIndex::new(["www.example.com", "a.b", "a.b"].into_iter());
        assert_eq!(idx.get("www.example.com"), Some(0));
        assert_eq!(idx.get("WWW.Example.COM."), Some(0));
        assert_eq!(idx.get("a.b."), Some(1));
        assert_eq!(idx.get("a.b.."), None);
        assert_eq!(idx.get("example.com"), None);
        assert_eq!(idx.get(""), None);
        assert_eq!(idx.get(&"A".repeat(300)), None);
        assert_eq!(idx.get("ẞ.example"), None);
        let many: Vec<String> = (0..1000).map(|i| format!("d{i}.example")).collect();
        let idx = DomainIndex::new(many.iter().map(String::as_str));
        for (i, d) in many.iter().enumerate() {
            assert_eq!(idx.get(d), Some(i as u32));
        }
        assert_eq!(idx.get("d1000.example"), None);
    }

    proptest::proptest! {
        /// An edited index answers as one built from the new order.
        #[test]
        fn edited_indexes_equal_new_ones(
            old in proptest::collection::vec("[a-z0-9.-]{1,30}", 0..40),
            edits in proptest::collection::vec((proptest::prelude::any::<bool>(), 0usize..50, "[a-zA-Z0-9.-]{1,30}"), 0..40),
        ) {
            let previous = DomainIndex::new(old.iter().map(String::as_str));
            let mut sources: Vec<DomainSource<'_>> =
                (0..old.len()).map(DomainSource::Previous).collect();
            for (insert, at, name) in &edits {
                let at = at % (sources.len() + 1);
                if *insert {
                    sources.insert(at, DomainSource::New(name));
                } else if at < sources.len() {
                    sources.remove(at);
                }
            }
            let names: Vec<String> = sources
                .iter()
                .map(|s| match s {
                    DomainSource::Previous(p) => old[*p].clone(),
                    DomainSource::New(n) => (*n).to_owned(),
                    // Never made above.
                    DomainSource::Vacant => String::new(),
                })
                .collect();
            let edited = previous.edited(sources.iter().copied());
            let fresh = DomainIndex::new(names.iter().map(String::as_str));
            for probe in names.iter().chain(old.iter()).chain(edits.iter().map(|e| &e.2)) {
                proptest::prop_assert_eq!(edited.get(probe), fresh.get(probe), "{}", probe);
                let upper = probe.to_ascii_uppercase();
                proptest::prop_assert_eq!(edited.get(&upper), fresh.get(&upper));
            }
            // A position past the last is never found.
            let odd = previous.edited([DomainSource::Previous(old.len() + 3)].into_iter());
            proptest::prop_assert_eq!(odd.get(""), None);
            proptest::prop_assert_eq!(odd.spans.len(), 1);
        }
    }

    /// An edit on an index of positions (`None`: vacant).
    #[derive(Debug, Clone)]
    enum Edit {
        Remove(usize),
        Insert(String),
    }

    fn edit_strategy() -> impl proptest::strategy::Strategy<Value = Edit> {
        use proptest::prelude::*;
        prop_oneof![
            (0usize..64).prop_map(Edit::Remove),
            "[a-z0-9.-]{1,30}".prop_map(Edit::Insert),
        ]
    }

    /// An index over `slots` built afresh.
    fn fresh(slots: &[Option<String>]) -> DomainIndex {
        DomainIndex::new(std::iter::empty()).edited(slots.iter().map(|s| match s {
            Some(name) => DomainSource::New(name),
            None => DomainSource::Vacant,
        }))
    }

    proptest::proptest! {
        /// Indexes edited in place, batch after batch (rebuilt when an edit
        /// does not fit), answer exactly as ones built afresh over the same
        /// positions.
        #[test]
        fn indexes_edited_in_place_equal_fresh_ones(
            old in proptest::collection::vec("[a-z0-9.-]{1,30}", 0..30),
            batches in proptest::collection::vec(proptest::collection::vec(edit_strategy(), 0..12), 1..12),
        ) {
            let mut slots: Vec<Option<String>> = Vec::new();
            for name in old {
                if !slots.iter().flatten().any(|n| *n == name) {
                    slots.push(Some(name));
                }
            }
            let mut index = fresh(&slots);
            let mut probes: Vec<String> = slots.iter().flatten().cloned().collect();
            for batch in batches {
                let mut edits = Vec::new();
                for edit in batch {
                    match edit {
                        Edit::Remove(at) => {
                            let live: Vec<usize> = (0..slots.len()).filter(|&p| slots[p].is_some()).collect();
                            if let Some(&p) = live.get(at % live.len().max(1)) {
                                slots[p] = None;
                                edits.push(IndexEdit::Remove(p as u32));
                            }
                        }
                        Edit::Insert(name) => {
                            if slots.iter().flatten().any(|n| *n == name) {
                                continue;
                            }
                            let p = slots.iter().position(Option::is_none).unwrap_or(slots.len());
                            if p == slots.len() {
                                slots.push(None);
                            }
                            slots[p] = Some(name.clone());
                            probes.push(name.clone());
                            edits.push(IndexEdit::Insert(p as u32, name.into_boxed_str()));
                        }
                    }
                }
                let before = index.clone();
                if !index.edit(&edits) {
                    proptest::prop_assert_eq!(&index.spans[..], &before.spans[..], "a refused edit changes nothing");
                    index = index.rebuilt(&edits);
                }
                let expected = fresh(&slots);
                proptest::prop_assert_eq!(index.live(), expected.live());
                for p in 0..slots.len().max(index.positions()) {
                    proptest::prop_assert_eq!(index.is_live(p), slots.get(p).is_some_and(Option::is_some));
                }
                for probe in &probes {
                    proptest::prop_assert_eq!(index.get(probe), expected.get(probe), "{}", probe);
                    let upper = probe.to_ascii_uppercase();
                    proptest::prop_assert_eq!(index.get(&upper), expected.get(&upper));
                }
                // At most half full: every probe ends.
                proptest::prop_assert!(index.live * 2 <= index.buckets.len());
                let used = index.buckets.iter().filter(|b| b.position != EMPTY).count();
                proptest::prop_assert_eq!(used, index.live);
            }
        }
    }

    /// Inserts before removes in one batch: the table must never fill up
    /// on the way, even when the result is half full (a full table leaves
    /// an insert's probe no free bucket to end at: it would spin).
    #[test]
    fn a_batch_that_inserts_before_it_removes_never_fills_the_table() {
        let (done, result) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // 4 names in 8 buckets; 5 inserts, then 5 removes: 4 at the end.
            let old: Vec<Option<String>> =
                (0..4).map(|i| Some(format!("old{i}.example"))).collect();
            let mut index = fresh(&old);
            assert_eq!(index.buckets.len(), 8);
            let mut edits: Vec<IndexEdit> = (0..5u32)
                .map(|i| IndexEdit::Insert(4 + i, format!("new{i}.example").into_boxed_str()))
                .collect();
            edits.extend((0..4u32).map(IndexEdit::Remove));
            edits.push(IndexEdit::Remove(8));
            if !index.edit(&edits) {
                index = index.rebuilt(&edits);
            }
            let mut slots: Vec<Option<String>> = vec![None; 4];
            slots.extend((0..4).map(|i| Some(format!("new{i}.example"))));
            let expected = fresh(&slots);
            for i in 0..5 {
                for name in [format!("old{i}.example"), format!("new{i}.example")] {
                    assert_eq!(index.get(&name), expected.get(&name), "{name}");
                }
            }
            assert!(index.live * 2 <= index.buckets.len());
            let _ = done.send(());
        });
        assert!(
            result
                .recv_timeout(std::time::Duration::from_secs(10))
                .is_ok(),
            "the edit hung or failed"
        );
    }

    #[test]
    fn key_words_match_exactly_but_for_ascii_letter_case() {
        for k in 0..=255u8 {
            let key = KeyWord::new(&[k]);
            for q in 0..=255u8 {
                let expected = k.eq_ignore_ascii_case(&q);
                assert_eq!(
                    key.matches(u64::from(q)),
                    expected,
                    "key {k:#x} query {q:#x}"
                );
            }
        }
        let key = |s: &str| s.as_bytes().chunks(8).map(KeyWord::new).collect::<Vec<_>>();
        let at = |q: &[u8], k: &str| key_matches(q, tail(q), &key(k));
        assert!(at(b"WWW.Example.COM", "www.example.com"));
        assert!(at(b"d0.example.com", "D0.EXAMPLE.COM"));
        assert!(!at(b"www.example.con", "www.example.com"));
        assert!(!at(b"WWW@example.com", "www`example.com"));
        assert!(!at(b"www.example.com", "www.example.com.a"));
        assert_eq!(
            hash_folded(7, b"A.B", tail(b"A.B")),
            hash_folded(7, b"a.b", tail(b"a.b"))
        );
    }

    proptest::proptest! {
        #[test]
        fn tail_is_the_bytes_after_the_whole_words(name in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            let rest = &name[name.len() - name.len() % 8..];
            let expected = rest.iter().rev().fold(0u64, |w, &b| (w << 8) | u64::from(b));
            proptest::prop_assert_eq!(tail(&name), expected);
        }

        #[test]
        fn hash_ignores_ascii_case_only(name in "[ -~]{0,70}", flip in 0usize..70) {
            let h = |n: &[u8]| hash_folded(42, n, tail(n));
            let upper = name.to_ascii_uppercase();
            proptest::prop_assert_eq!(h(name.as_bytes()), h(upper.as_bytes()));
            // Changing one byte other than by its 0x20 bit (which the hash
            // folds, the compare does not) changes the hash (a collision
            // here has probability 2^-64 per case).
            let mut other = name.clone().into_bytes();
            if let Some(b) = other.get_mut(flip) {
                *b = if *b == b'0' { b'1' } else { b'0' };
                proptest::prop_assert_ne!(h(name.as_bytes()), h(&other));
            }
            let longer = format!("{name}a");
            proptest::prop_assert_ne!(h(name.as_bytes()), h(longer.as_bytes()));
        }

        #[test]
        fn lookups_agree_with_ascii_lower_case(names in proptest::collection::vec("([a-zA-Z0-9-]{1,8}[.]){0,3}[a-zA-Z0-9-]{1,8}", 1..20), probe in "([a-zA-Z0-9-]{1,8}[.]){0,3}[a-zA-Z0-9-]{0,8}[.]?") {
            let lower: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
            let idx = DomainIndex::new(lower.iter().map(String::as_str));
            for (i, n) in names.iter().enumerate() {
                let first = lower.iter().position(|l| *l == lower[i]).unwrap();
                proptest::prop_assert_eq!(idx.get(n), Some(first as u32));
            }
            let p = probe.to_ascii_lowercase();
            let p = p.strip_suffix('.').unwrap_or(&p);
            proptest::prop_assert_eq!(idx.get(&probe), lower.iter().position(|l| l == p).map(|i| i as u32));
        }
    }

    proptest::proptest! {
        /// The two- and three-word paths find what the general one does,
        /// for names of every length around theirs (any bytes, letters in
        /// either case).
        #[test]
        fn word_lookups_equal_general_ones(
            names in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 7..27), 1..30),
            flips in proptest::collection::vec(0usize..26, 0..4),
        ) {
            let names: Vec<String> = names
                .iter()
                // Stored names have no trailing dot (a lookup drops one).
                .map(|n| String::from_utf8_lossy(n).trim_end_matches('.').to_ascii_lowercase())
                .collect();
            let idx = DomainIndex::new(names.iter().map(String::as_str));
            for name in &names {
                // The stored name, its upper case, and a few bytes changed.
                let mut probes = vec![name.clone(), name.to_ascii_uppercase()];
                let mut changed = name.clone().into_bytes();
                for &f in &flips {
                    if let Some(b) = changed.get_mut(f) {
                        *b ^= 0x01;
                    }
                }
                probes.push(String::from_utf8_lossy(&changed).into_owned());
                for probe in &probes {
                    let bytes = probe.as_bytes();
                    let general = idx.get_any(bytes.strip_suffix(b".").unwrap_or(bytes));
                    proptest::prop_assert_eq!(idx.get(probe), general, "{:?}", probe);
                }
                proptest::prop_assert!(idx.get(name).is_some());
            }
        }
    }

    #[test]
    fn hasher_spreads_similar_keys() {
        let b = FxBuild { seed: 1 };
        let h1 = b.hash_one("www1.example.com");
        let h2 = b.hash_one("www2.example.com");
        assert_ne!(h1, h2);
        assert_ne!(h1 & 0xff, h2 & 0xff);
    }
}
