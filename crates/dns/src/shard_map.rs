//! A map from names to values split in shards, each behind an `Arc`: a
//! clone shares every shard, and a change to the clone copies only the
//! shards it touches. Hides the sharding and the one hash per lookup that
//! picks both the shard and the bucket.
//!
//! The zone table is published anew for every change to the steered names;
//! a whole copy of maps with 100,000 names would cost milliseconds per
//! change, a shard a few microseconds.

use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::HashTable;

/// Shards per map: enough that one of a million names' maps is a few
/// thousand entries, few enough that cloning the shard pointers (one
/// reference count each) costs about a microsecond.
const SHARDS: usize = 256;

/// The hasher of the maps: every query looks names up in them several times
/// (each suffix of the name, then the host and interior sets), and SipHash
/// made that the largest part of answering. foldhash is several times faster
/// and still seeded per process, so which names collide cannot be predicted
/// from outside; the maps are built from the configuration and never grow
/// from queries.
type Seeded = foldhash::fast::RandomState;

type Shard<V> = HashTable<(Arc<str>, V)>;

/// A map from names to `V`, cheap to clone, copied on write shard by shard.
#[derive(Clone)]
pub(crate) struct ShardMap<V> {
    hasher: Seeded,
    shards: Box<[Arc<Shard<V>>]>,
    len: usize,
}

impl<V: Clone> Default for ShardMap<V> {
    fn default() -> Self {
        let empty = Arc::new(HashTable::new());
        Self {
            hasher: Seeded::default(),
            shards: (0..SHARDS).map(|_| Arc::clone(&empty)).collect(),
            len: 0,
        }
    }
}

impl<V: std::fmt::Debug> std::fmt::Debug for ShardMap<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(
                self.shards
                    .iter()
                    .flat_map(|s| s.iter().map(|(k, v)| (&**k, v))),
            )
            .finish()
    }
}

/// The shard of a hash: bits hashbrown uses for neither the bucket (the low
/// bits) nor the tag (the top seven), so every shard's table still spreads
/// its names over all buckets and tags.
fn shard_of(hash: u64) -> usize {
    (hash >> 32) as usize % SHARDS
}

impl<V: Clone> ShardMap<V> {
    fn hash(&self, key: &str) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The value of `key`.
    #[inline]
    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        let hash = self.hash(key);
        self.shards[shard_of(hash)]
            .find(hash, |(k, _)| **k == *key)
            .map(|(_, v)| v)
    }

    /// Whether `key` has a value.
    #[inline]
    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The number of names.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The value of `key` to change in place, copying its shard if another
    /// map shares it.
    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        let hash = self.hash(key);
        let shard = Arc::make_mut(&mut self.shards[shard_of(hash)]);
        shard.find_mut(hash, |(k, _)| **k == *key).map(|(_, v)| v)
    }

    /// Sets the value of `key`; returns the one it replaces.
    pub(crate) fn insert(&mut self, key: Arc<str>, value: V) -> Option<V> {
        let hash = self.hash(&key);
        let hasher = &self.hasher;
        let shard = Arc::make_mut(&mut self.shards[shard_of(hash)]);
        match shard.entry(hash, |(k, _)| *k == key, |(k, _)| hasher.hash_one(&**k)) {
            hashbrown::hash_table::Entry::Occupied(mut entry) => {
                Some(std::mem::replace(&mut entry.get_mut().1, value))
            }
            hashbrown::hash_table::Entry::Vacant(entry) => {
                entry.insert((key, value));
                self.len += 1;
                None
            }
        }
    }

    /// Removes `key`; returns its value.
    pub(crate) fn remove(&mut self, key: &str) -> Option<V> {
        let hash = self.hash(key);
        // Only a shard that holds the key is copied.
        self.shards[shard_of(hash)].find(hash, |(k, _)| **k == *key)?;
        let shard = Arc::make_mut(&mut self.shards[shard_of(hash)]);
        let (entry, _) = shard.find_entry(hash, |(k, _)| **k == *key).ok()?.remove();
        self.len -= 1;
        Some(entry.1)
    }

    /// Every name and value, in no particular order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &V)> + '_ {
        self.shards
            .iter()
            .flat_map(|s| s.iter().map(|(k, v)| (k, v)))
    }

    /// How many shards `self` does not share with `other` (a map it was
    /// cloned from, or a clone of it).
    #[cfg(test)]
    pub(crate) fn unshared_with(&self, other: &Self) -> usize {
        self.shards
            .iter()
            .zip(other.shards.iter())
            .filter(|(a, b)| !Arc::ptr_eq(a, b))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_change_copies_only_its_shard() {
        let mut map = ShardMap::default();
        for i in 0..10_000 {
            map.insert(format!("n{i}.example.com").into(), i);
        }
        let copy = map.clone();
        assert_eq!(map.unshared_with(&copy), 0);
        *map.get_mut("n7.example.com").unwrap() += 1;
        assert_eq!(map.unshared_with(&copy), 1);
        map.insert("new.example.com".into(), 1);
        map.remove("n9.example.com");
        assert!(map.unshared_with(&copy) <= 3);
        // Removing what is not there copies nothing.
        let before = map.clone();
        assert_eq!(map.remove("absent.example.com"), None);
        assert_eq!(map.unshared_with(&before), 0);
        assert_eq!(copy.get("n7.example.com"), Some(&7));
        assert_eq!(map.get("n7.example.com"), Some(&8));
        assert_eq!(copy.get("n9.example.com"), Some(&9));
        assert_eq!(map.get("n9.example.com"), None);
    }

    proptest! {
        /// The map agrees with a `HashMap` after any inserts and removes,
        /// and clones taken on the way never change.
        #[test]
        fn agrees_with_hashmap(ops in prop::collection::vec((any::<bool>(), 0u16..300, any::<u8>()), 1..600)) {
            let mut map = ShardMap::default();
            let mut model = HashMap::new();
            let mut clones = Vec::new();
            for (i, (insert, key, value)) in ops.into_iter().enumerate() {
                let key = format!("k{key}");
                if insert {
                    prop_assert_eq!(map.insert(key.as_str().into(), value), model.insert(key, value));
                } else {
                    prop_assert_eq!(map.remove(&key), model.remove(&key));
                }
                prop_assert_eq!(map.len(), model.len());
                if i % 50 == 0 {
                    clones.push((map.clone(), model.clone()));
                }
            }
            for (k, v) in &model {
                prop_assert_eq!(map.get(k), Some(v));
            }
            prop_assert_eq!(map.iter().count(), model.len());
            for (clone, expected) in clones {
                prop_assert_eq!(clone.len(), expected.len());
                for (k, v) in &expected {
                    prop_assert_eq!(clone.get(k), Some(v));
                }
            }
        }
    }
}
