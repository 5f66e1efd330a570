//! The policies of a set, ordered by domain, in shared leaves so that a copy
//! of the set costs next to nothing.
//!
//! Every `apply` of the facade runs console operations on a copy of the whole
//! set, so copying must not cost O(policies): with 100,000 policies a
//! `BTreeMap` copy (one key allocation and one reference count per policy)
//! took about 40 ms. Here the policies sit in sorted leaves of at most
//! [`MAX_LEAF`] entries, each leaf behind an `Arc`: a copy clones one short
//! vector of leaf pointers, and a change copies only the leaf it touches.

use std::fmt;
use std::sync::Arc;

use crate::{DomainName, Policy};

/// Leaves split when they grow past this; a change copies at most this many
/// entries.
const MAX_LEAF: usize = 256;

type Leaf = Vec<(DomainName, Arc<Policy>)>;

/// A sorted map from domain to policy with copy-on-write leaves.
#[derive(Clone, Default)]
pub(crate) struct PolicyMap {
    /// Non-empty leaves, each sorted, every key of a leaf less than every key
    /// of the next.
    leaves: Vec<Arc<Leaf>>,
    len: usize,
}

impl PolicyMap {
    /// The number of policies.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no policy.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The leaf that holds `key` if it is present: the first leaf whose last
    /// key is not less than `key`.
    fn leaf_of(&self, key: &str) -> usize {
        self.leaves
            .partition_point(|leaf| leaf.last().is_some_and(|(k, _)| k.as_str() < key))
    }

    fn position(&self, key: &str) -> Option<(usize, usize)> {
        let leaf = self.leaf_of(key);
        let entries = self.leaves.get(leaf)?;
        let at = entries
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()?;
        Some((leaf, at))
    }

    /// The policy of a normalised domain.
    pub(crate) fn get(&self, key: &str) -> Option<&Arc<Policy>> {
        let (leaf, at) = self.position(key)?;
        self.leaves.get(leaf)?.get(at).map(|(_, p)| p)
    }

    /// Whether the normalised domain has a policy.
    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// The policy of a normalised domain, for a change: copies its leaf if
    /// another set shares it.
    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut Arc<Policy>> {
        let (leaf, at) = self.position(key)?;
        let entries = Arc::make_mut(self.leaves.get_mut(leaf)?);
        entries.get_mut(at).map(|(_, p)| p)
    }

    /// Inserts or replaces; returns the stored policy.
    pub(crate) fn insert(&mut self, key: DomainName, policy: Arc<Policy>) -> &Arc<Policy> {
        if self.leaves.is_empty() {
            self.leaves.push(Arc::new(Vec::new()));
        }
        // Past the last leaf's last key: append to the last leaf.
        let leaf = self.leaf_of(key.as_str()).min(self.leaves.len() - 1);
        let entries = Arc::make_mut(&mut self.leaves[leaf]);
        let at = match entries.binary_search_by(|(k, _)| k.as_str().cmp(key.as_str())) {
            Ok(at) => {
                entries[at].1 = policy;
                at
            }
            Err(at) => {
                entries.insert(at, (key, policy));
                self.len += 1;
                at
            }
        };
        if entries.len() > MAX_LEAF {
            let upper = entries.split_off(entries.len() / 2);
            let lower_len = entries.len();
            self.leaves.insert(leaf + 1, Arc::new(upper));
            let (leaf, at) = if at < lower_len {
                (leaf, at)
            } else {
                (leaf + 1, at - lower_len)
            };
            return &self.leaves[leaf][at].1;
        }
        &self.leaves[leaf][at].1
    }

    /// Removes the policy of a normalised domain.
    pub(crate) fn remove(&mut self, key: &str) -> Option<Arc<Policy>> {
        let (leaf, at) = self.position(key)?;
        let entries = Arc::make_mut(self.leaves.get_mut(leaf)?);
        let (_, policy) = entries.remove(at);
        if entries.is_empty() {
            self.leaves.remove(leaf);
        }
        self.len -= 1;
        Some(policy)
    }

    /// The positions (in domain order) and policies of the entries whose
    /// policy is not the very same shared value (`Arc::ptr_eq`) as at that
    /// position in `earlier`; `None` when the two maps do not hold the same
    /// domains in the same order.
    ///
    /// A leaf both maps share is skipped whole, so a copy that changed one
    /// policy costs one comparison per leaf plus one per entry of the leaf
    /// the change copied. Where leaf boundaries differ (a leaf split or
    /// emptied by inserts and removes that left the domains as they were),
    /// the rest is compared entry by entry.
    pub(crate) fn changed_since<'a>(
        &'a self,
        earlier: &Self,
    ) -> Option<Vec<(usize, &'a Arc<Policy>)>> {
        if self.len != earlier.len {
            return None;
        }
        let mut changed = Vec::new();
        let mut position = 0;
        let mut leaf = 0;
        while let (Some(a), Some(b)) = (self.leaves.get(leaf), earlier.leaves.get(leaf)) {
            if a.len() != b.len() {
                break;
            }
            if !Arc::ptr_eq(a, b) && !compare(a.iter(), b.iter(), position, &mut changed) {
                return None;
            }
            position += a.len();
            leaf += 1;
        }
        // Equal lengths and equal counts so far: the rests are as long.
        compare(
            self.entries_from(leaf),
            earlier.entries_from(leaf),
            position,
            &mut changed,
        )
        .then_some(changed)
    }

    /// The domains of `self` that `earlier` does not hold (added) and those
    /// of `earlier` that `self` does not hold (removed), each in domain
    /// order.
    ///
    /// A merge walk over both maps' entries that skips, whole, every leaf
    /// the two share (the same `Arc`): a copy that changed a few policies
    /// costs one pointer comparison per leaf plus a key comparison per
    /// entry of the leaves it copied; two maps that share nothing (a set
    /// loaded anew) cost one comparison per domain. Where leaf boundaries
    /// differ, the walk steps entry by entry until both sides start a
    /// shared leaf again (a shared leaf holds the same keys in both, so
    /// the merge reaches its first key on both sides at once).
    pub(crate) fn domain_changes<'a>(
        &'a self,
        earlier: &'a Self,
    ) -> (Vec<&'a DomainName>, Vec<&'a DomainName>) {
        let (mut added, mut removed) = (Vec::new(), Vec::new());
        self.walk_changes(earlier, |change| match change {
            Change::Added(key, _) => added.push(key),
            Change::Removed(key) => removed.push(key),
            Change::Kept(..) => {}
        });
        (added, removed)
    }

    /// The policies of `self` that `earlier` does not hold as the very same
    /// shared value (`Arc::ptr_eq`), new domains included, and the domains
    /// of `earlier` that `self` does not hold, each in domain order: the
    /// walk of [`domain_changes`](Self::domain_changes), with a pointer
    /// comparison per domain both hold in leaves they do not share.
    pub(crate) fn policy_changes<'a, 'b>(
        &'a self,
        earlier: &'b Self,
    ) -> (Vec<&'a Arc<Policy>>, Vec<&'b DomainName>) {
        let (mut changed, mut removed) = (Vec::new(), Vec::new());
        self.walk_changes(earlier, |change| match change {
            Change::Added(_, policy) => changed.push(policy),
            Change::Kept(policy, before) => {
                if !Arc::ptr_eq(policy, before) {
                    changed.push(policy);
                }
            }
            Change::Removed(key) => removed.push(key),
        });
        (changed, removed)
    }

    /// Calls `on` for every domain of either map outside the leaves both
    /// share, in domain order.
    fn walk_changes<'a, 'b>(&'a self, earlier: &'b Self, mut on: impl FnMut(Change<'a, 'b>)) {
        let mut new = Cursor::new(&self.leaves);
        let mut old = Cursor::new(&earlier.leaves);
        loop {
            if let (Some(a), Some(b)) = (new.leaf_start(), old.leaf_start())
                && Arc::ptr_eq(a, b)
            {
                new.skip_leaf();
                old.skip_leaf();
                continue;
            }
            match (new.entry(), old.entry()) {
                (None, None) => break,
                (Some((key, policy)), None) => {
                    on(Change::Added(key, policy));
                    new.step();
                }
                (None, Some((key, _))) => {
                    on(Change::Removed(key));
                    old.step();
                }
                (Some((a, policy)), Some((b, before))) => match (*a).cmp(b) {
                    std::cmp::Ordering::Less => {
                        on(Change::Added(a, policy));
                        new.step();
                    }
                    std::cmp::Ordering::Greater => {
                        on(Change::Removed(b));
                        old.step();
                    }
                    std::cmp::Ordering::Equal => {
                        on(Change::Kept(policy, before));
                        new.step();
                        old.step();
                    }
                },
            }
        }
    }

    /// The entries of the leaves from `leaf` on.
    fn entries_from(&self, leaf: usize) -> impl Iterator<Item = &(DomainName, Arc<Policy>)> + '_ {
        self.leaves
            .get(leaf..)
            .unwrap_or(&[])
            .iter()
            .flat_map(|l| l.iter())
    }

    /// The domains in order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &DomainName> + '_ {
        self.entries_from(0).map(|(domain, _)| domain)
    }

    /// The policies in domain order.
    pub(crate) fn values(&self) -> Values<'_> {
        Values {
            leaves: self.leaves.iter(),
            current: [].iter(),
            remaining: self.len,
        }
    }
}

/// One domain met by [`PolicyMap::walk_changes`].
enum Change<'a, 'b> {
    /// Only the later map holds it.
    Added(&'a DomainName, &'a Arc<Policy>),
    /// Only the earlier map holds it.
    Removed(&'b DomainName),
    /// Both hold it: the later policy, then the earlier.
    Kept(&'a Arc<Policy>, &'b Arc<Policy>),
}

/// A position in a map's entries, leaf by leaf, for [`PolicyMap::walk_changes`].
struct Cursor<'a> {
    leaves: &'a [Arc<Leaf>],
    leaf: usize,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(leaves: &'a [Arc<Leaf>]) -> Self {
        Self {
            leaves,
            leaf: 0,
            at: 0,
        }
    }

    /// The leaf the cursor is at the start of, if it is at one.
    fn leaf_start(&self) -> Option<&'a Arc<Leaf>> {
        if self.at == 0 {
            self.leaves.get(self.leaf)
        } else {
            None
        }
    }

    fn skip_leaf(&mut self) {
        self.leaf += 1;
        self.at = 0;
    }

    fn entry(&self) -> Option<(&'a DomainName, &'a Arc<Policy>)> {
        self.leaves
            .get(self.leaf)
            .and_then(|leaf| leaf.get(self.at))
            .map(|(key, policy)| (key, policy))
    }

    fn step(&mut self) {
        self.at += 1;
        if self
            .leaves
            .get(self.leaf)
            .is_none_or(|leaf| self.at >= leaf.len())
        {
            self.skip_leaf();
        }
    }
}

/// Compares entries pairwise from `position` on, pushing the positions
/// where the policy is another value onto `changed`; false as soon as a
/// domain differs.
fn compare<'a, 'b>(
    entries: impl Iterator<Item = &'a (DomainName, Arc<Policy>)>,
    earlier: impl Iterator<Item = &'b (DomainName, Arc<Policy>)>,
    position: usize,
    changed: &mut Vec<(usize, &'a Arc<Policy>)>,
) -> bool {
    for (i, ((key, policy), (earlier_key, earlier_policy))) in entries.zip(earlier).enumerate() {
        if key != earlier_key {
            return false;
        }
        if !Arc::ptr_eq(policy, earlier_policy) {
            changed.push((position + i, policy));
        }
    }
    true
}

impl PartialEq for PolicyMap {
    fn eq(&self, other: &Self) -> bool {
        // Leaf boundaries depend on history; compare the entries.
        self.len == other.len
            && self
                .leaves
                .iter()
                .flat_map(|l| l.iter())
                .zip(other.leaves.iter().flat_map(|l| l.iter()))
                .all(|((ka, pa), (kb, pb))| ka == kb && (Arc::ptr_eq(pa, pb) || pa == pb))
    }
}

impl Eq for PolicyMap {}

impl fmt::Debug for PolicyMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.leaves
                    .iter()
                    .flat_map(|l| l.iter().map(|(k, p)| (k, p))),
            )
            .finish()
    }
}

/// The policies of a [`PolicyMap`] in domain order.
#[derive(Debug, Clone)]
pub(crate) struct Values<'a> {
    leaves: std::slice::Iter<'a, Arc<Leaf>>,
    current: std::slice::Iter<'a, (DomainName, Arc<Policy>)>,
    remaining: usize,
}

impl<'a> Iterator for Values<'a> {
    type Item = &'a Arc<Policy>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((_, policy)) = self.current.next() {
                self.remaining -= 1;
                return Some(policy);
            }
            self.current = self.leaves.next()?.iter();
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Values<'_> {}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    fn policy(domain: &str) -> (DomainName, Arc<Policy>) {
        let name = DomainName::new(domain).unwrap();
        let builtin = crate::BuiltinProvider::new(DomainName::new("builtin.example.net").unwrap());
        let mut set = crate::PolicySet::new(builtin);
        set.create_policy(domain).unwrap();
        let p = Arc::new(set.policy(domain).unwrap().clone());
        (name, p)
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16),
        Remove(u16),
        Copy,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u16..2000).prop_map(Op::Insert),
            2 => (0u16..2000).prop_map(Op::Remove),
            1 => Just(Op::Copy),
        ]
    }

    proptest! {
        /// The map agrees with a `BTreeMap` after any sequence of inserts and
        /// removes, copies included, and a copy never sees later changes.
        #[test]
        fn agrees_with_btreemap(ops in prop::collection::vec(op(), 1..1500)) {
            let mut map = PolicyMap::default();
            let mut model: BTreeMap<DomainName, Arc<Policy>> = BTreeMap::new();
            let mut copies: Vec<(PolicyMap, Vec<DomainName>)> = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(n) => {
                        let (k, p) = policy(&format!("d{n}.example.com"));
                        map.insert(k.clone(), Arc::clone(&p));
                        model.insert(k, p);
                    }
                    Op::Remove(n) => {
                        let key = format!("d{n}.example.com");
                        prop_assert_eq!(map.remove(&key).is_some(), model.remove(key.as_str()).is_some());
                    }
                    Op::Copy => copies.push((map.clone(), model.keys().cloned().collect())),
                }
                prop_assert_eq!(map.len(), model.len());
                prop_assert_eq!(map.values().len(), model.len());
                let keys: Vec<&str> = map.values().map(|p| p.domain().as_str()).collect();
                let expected: Vec<&str> = model.keys().map(DomainName::as_str).collect();
                prop_assert_eq!(keys, expected);
                for leaf in &map.leaves {
                    prop_assert!(!leaf.is_empty() && leaf.len() <= MAX_LEAF);
                }
            }
            for key in model.keys() {
                prop_assert!(map.contains_key(key.as_str()));
                prop_assert_eq!(map.get(key.as_str()).map(|p| p.domain()), Some(key));
            }
            for (copy, keys) in copies {
                let seen: Vec<DomainName> = copy.values().map(|p| p.domain().clone()).collect();
                prop_assert_eq!(&seen, &keys);
                // Changes since the copy, against a plain pairwise walk.
                let now: Vec<&Arc<Policy>> = map.values().collect();
                let expected = map
                    .values()
                    .map(|p| p.domain())
                    .eq(seen.iter())
                    .then(|| {
                        now.iter()
                            .zip(copy.values())
                            .enumerate()
                            .filter(|(_, (a, b))| !Arc::ptr_eq(a, b))
                            .map(|(i, (a, _))| (i, Arc::as_ptr(a)))
                            .collect::<Vec<_>>()
                    });
                let found = map
                    .changed_since(&copy)
                    .map(|c| c.into_iter().map(|(i, p)| (i, Arc::as_ptr(p))).collect::<Vec<_>>());
                prop_assert_eq!(found, expected);
                // Domains added and removed since the copy, against sets.
                let (added, removed) = map.domain_changes(&copy);
                let before: std::collections::BTreeSet<&DomainName> = seen.iter().collect();
                let after: std::collections::BTreeSet<&DomainName> = map.keys().collect();
                prop_assert_eq!(added, after.difference(&before).copied().collect::<Vec<_>>());
                prop_assert_eq!(removed, before.difference(&after).copied().collect::<Vec<_>>());
                let (back, forth) = copy.domain_changes(&map);
                prop_assert_eq!(back.len() + forth.len(), after.symmetric_difference(&before).count());
                // Policies changed or added since the copy, against lookups.
                let (changed, gone) = map.policy_changes(&copy);
                let expected: Vec<*const Policy> = map
                    .values()
                    .filter(|p| copy.get(p.domain().as_str()).is_none_or(|q| !Arc::ptr_eq(p, q)))
                    .map(Arc::as_ptr)
                    .collect();
                prop_assert_eq!(changed.into_iter().map(Arc::as_ptr).collect::<Vec<_>>(), expected);
                prop_assert_eq!(gone, before.difference(&after).copied().collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn changes_are_found_across_different_leaf_boundaries() {
        let mut map = PolicyMap::default();
        for n in 0..MAX_LEAF {
            let (k, p) = policy(&format!("d{n:04}.example.com"));
            map.insert(k, p);
        }
        let copy = map.clone();
        assert_eq!(map.changed_since(&copy).map(|c| c.len()), Some(0));
        // One insert splits the full leaf; removing it again leaves the
        // domains as they were in two leaves.
        let (k, p) = policy("d0000a.example.com");
        map.insert(k, p);
        map.remove("d0000a.example.com");
        assert_eq!(map.leaves.len(), 2);
        assert_eq!(copy.leaves.len(), 1);
        let (k, p) = policy("d0200.example.com");
        map.insert(k, Arc::clone(&p));
        let changed = map.changed_since(&copy).unwrap();
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].0, 200);
        assert!(Arc::ptr_eq(changed[0].1, &p));
        map.remove("d0001.example.com");
        assert!(map.changed_since(&copy).is_none());
        let (k, p) = policy("d0001b.example.com");
        map.insert(k, p);
        assert!(map.changed_since(&copy).is_none());
    }

    #[test]
    fn equal_maps_with_different_leaf_boundaries_are_equal() {
        let mut a = PolicyMap::default();
        let mut b = PolicyMap::default();
        for n in 0..600 {
            let (k, p) = policy(&format!("d{n:04}.example.com"));
            a.insert(k.clone(), Arc::clone(&p));
        }
        for n in (0..600).rev() {
            let (k, p) = policy(&format!("d{n:04}.example.com"));
            b.insert(k, p);
        }
        assert_eq!(a, b);
        a.remove("d0000.example.com");
        assert_ne!(a, b);
    }
}
