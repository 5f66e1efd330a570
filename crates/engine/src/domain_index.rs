//! The domain lookup of a snapshot: case-insensitive, trailing dot ignored,
//! no allocation per call.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

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

/// Builds [`FxHasher`]s from one seed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FxBuild {
    seed: u64,
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

/// Maps every steered domain (lower case, no trailing dot) to its policy's
/// position in the snapshot.
#[derive(Debug, Clone)]
pub(crate) struct DomainIndex {
    map: HashMap<Box<str>, u32, FxBuild>,
}

impl DomainIndex {
    /// An index over `domains` in order: the i-th gets position i.
    pub(crate) fn new<'a>(domains: impl ExactSizeIterator<Item = &'a str>) -> Self {
        let mut map = HashMap::with_capacity_and_hasher(domains.len(), FxBuild::random());
        for (i, d) in domains.enumerate() {
            // Positions fit: a set larger than u32::MAX policies cannot be
            // held in memory.
            map.insert(d.into(), u32::try_from(i).unwrap_or(u32::MAX));
        }
        Self { map }
    }

    /// The position of `domain`, compared case-insensitively (ASCII), one
    /// trailing dot ignored. Copies at most 253 bytes onto the stack.
    #[inline]
    pub(crate) fn get(&self, domain: &str) -> Option<u32> {
        let bytes = domain.as_bytes();
        let bytes = bytes.strip_suffix(b".").unwrap_or(bytes);
        if bytes.len() > MAX_DOMAIN_LEN {
            return None;
        }
        if !bytes.iter().any(u8::is_ascii_uppercase) {
            // Already lower case: no copy. `bytes` is `domain` minus an
            // ASCII dot, so it is valid UTF-8.
            return self.map.get(&domain[..bytes.len()]).copied();
        }
        let mut buf = [0u8; MAX_DOMAIN_LEN];
        let lower = &mut buf[..bytes.len()];
        lower.copy_from_slice(bytes);
        lower.make_ascii_lowercase();
        // Lower-casing ASCII keeps UTF-8 valid.
        let lower = std::str::from_utf8(lower).ok()?;
        self.map.get(lower).copied()
    }

    /// Heap bytes (approximate: keys and table slots).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.map.capacity() * (size_of::<(Box<str>, u32)>() + 1)
            + self.map.keys().map(|k| k.len()).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_ignores_case_and_one_trailing_dot() {
        let idx = DomainIndex::new(["www.example.com", "a.b"].into_iter());
        assert_eq!(idx.get("www.example.com"), Some(0));
        assert_eq!(idx.get("WWW.Example.COM."), Some(0));
        assert_eq!(idx.get("a.b."), Some(1));
        assert_eq!(idx.get("a.b.."), None);
        assert_eq!(idx.get("example.com"), None);
        assert_eq!(idx.get(""), None);
        assert_eq!(idx.get(&"A".repeat(300)), None);
        assert_eq!(idx.get("ẞ.example"), None);
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
