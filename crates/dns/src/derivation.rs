//! Which zones derive from the steered names, kept up to date change by
//! change: the parent of every steered name is a candidate unless it is a
//! public suffix (or the root), and a candidate is a zone when no ancestor
//! of it is a candidate. Hides the counts of names per parent, the sorted
//! keys that find the names under a name, and the public suffix list.
//!
//! A change costs work in proportion to the names it adds and removes and
//! the zones it creates or drops (plus a logarithm each); building from
//! nothing adds every name, O(P log P) for P parents.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

/// Separates the labels of a reversed key. It sorts below every byte of a
/// label of a steered name (letters, digits, `-`, `_`), so the keys of the
/// names under a name `n` are exactly those from `n\0` up to `n\x01`:
/// one range of a sorted map.
const SEP: char = '\0';
/// The first key past every name under a name.
const PAST: char = '\u{1}';

/// `www.example.com` -> `com\0example\0www`.
fn reversed(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for (i, label) in key.rsplit('.').enumerate() {
        if i > 0 {
            out.push(SEP);
        }
        out.push_str(label);
    }
    out
}

/// `com\0example\0www` -> `www.example.com`.
fn unreversed(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for (i, label) in key.rsplit(SEP).enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(label);
    }
    out
}

/// Whether `name` (lower case, no trailing dot) is a public suffix: listed,
/// in the ICANN or the private section, or a single label under the list's
/// default rule.
pub(crate) fn is_public_suffix(name: &str) -> bool {
    psl::suffix(name.as_bytes()).is_some_and(|suffix| suffix.as_bytes().len() == name.len())
}

/// The parent of `name` when it may be a derived zone: `None` for a
/// single-label name (the root is never served) and for a parent that is a
/// public suffix.
pub(crate) fn candidate_parent(name: &str) -> Option<&str> {
    let (_, parent) = name.split_once('.')?;
    (!is_public_suffix(parent)).then_some(parent)
}

/// The zones a change adds and removes (lower case, no trailing dot).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ZoneDelta {
    pub(crate) added: Vec<String>,
    pub(crate) removed: Vec<String>,
}

impl ZoneDelta {
    pub(crate) fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// The derived zones of a set of steered names, and what keeps them.
#[derive(Debug, Default)]
pub(crate) struct Derivation {
    /// Candidates (reversed keys) and how many steered names have each as
    /// their parent.
    parents: BTreeMap<String, u32>,
    /// The zones (reversed keys): candidates with no candidate ancestor.
    zones: BTreeSet<String>,
}

impl Derivation {
    /// Whether `key` is a derived zone.
    pub(crate) fn is_zone(&self, key: &str) -> bool {
        self.zones.contains(&reversed(key))
    }

    /// The derived zones, in no particular order.
    #[cfg(test)]
    pub(crate) fn zones(&self) -> impl Iterator<Item = String> + '_ {
        self.zones.iter().map(|z| unreversed(z))
    }

    /// Adds the steered names `added` and removes `removed` (each a name
    /// the set held, or did not hold, before); returns the zones that
    /// appear and disappear. Applying the same names the other way round
    /// undoes it exactly: the state is a function of the names alone.
    pub(crate) fn apply<'a>(
        &mut self,
        added: impl IntoIterator<Item = &'a str>,
        removed: impl IntoIterator<Item = &'a str>,
    ) -> ZoneDelta {
        // Net change per candidate: a name moving between two names of
        // one parent leaves it as it was.
        let mut net: HashMap<&str, i64> = HashMap::new();
        for name in removed {
            if let Some(parent) = candidate_parent(name) {
                *net.entry(parent).or_default() -= 1;
            }
        }
        for name in added {
            if let Some(parent) = candidate_parent(name) {
                *net.entry(parent).or_default() += 1;
            }
        }
        let mut appeared = Vec::new();
        let mut vanished = Vec::new();
        for (parent, change) in net {
            if change == 0 {
                continue;
            }
            let key = reversed(parent);
            let before = self.parents.get(&key).copied().unwrap_or(0);
            // Saturating: removing a name that was not there (which the
            // facade never does) must not wrap a count.
            let after = u32::try_from((i64::from(before) + change).max(0)).unwrap_or(u32::MAX);
            match (before, after) {
                (0, 0) => {}
                (0, _) => {
                    self.parents.insert(key.clone(), after);
                    appeared.push(key);
                }
                (_, 0) => {
                    self.parents.remove(&key);
                    vanished.push(key);
                }
                _ => {
                    self.parents.insert(key, after);
                }
            }
        }
        // The names whose standing may change: the candidates that came and
        // went, the zones under a new candidate (it covers them now), and,
        // under a zone that went, the candidates it covered that no other
        // candidate covers.
        let mut affected: BTreeSet<String> = BTreeSet::new();
        for key in appeared {
            let end = past(&key);
            affected.extend(
                self.zones
                    .range::<str, _>((Bound::Excluded(key.as_str()), Bound::Excluded(end.as_str())))
                    .cloned(),
            );
            affected.insert(key);
        }
        for key in vanished {
            if self.zones.contains(&key) {
                self.outermost_under(&key, &mut affected);
            }
            affected.insert(key);
        }
        let mut delta = ZoneDelta::default();
        for key in affected {
            let now = self.parents.contains_key(&key) && !self.has_candidate_ancestor(&key);
            if now && self.zones.insert(key.clone()) {
                delta.added.push(unreversed(&key));
            } else if !now && self.zones.remove(&key) {
                delta.removed.push(unreversed(&key));
            }
        }
        delta
    }

    /// Adds to `out` the candidates under `key` with no candidate between
    /// them and `key`: one range lookup per candidate found, skipping the
    /// names under it.
    fn outermost_under(&self, key: &str, out: &mut BTreeSet<String>) {
        let end = past(key);
        let mut from = key.to_owned();
        while let Some((found, _)) = self
            .parents
            .range::<str, _>((
                Bound::Excluded(from.as_str()),
                Bound::Excluded(end.as_str()),
            ))
            .next()
        {
            out.insert(found.clone());
            // Past every name under `found`.
            from = past(found);
        }
    }

    fn has_candidate_ancestor(&self, key: &str) -> bool {
        key.char_indices()
            .filter(|&(_, c)| c == SEP)
            .any(|(at, _)| self.parents.contains_key(&key[..at]))
    }
}

/// The first key past `key` and every key under it.
fn past(key: &str) -> String {
    format!("{key}{PAST}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_suffixes() {
        for suffix in [
            "com",
            "co.uk",
            "github.io",
            "blogspot.com",
            "test",
            "nosuchtld",
        ] {
            assert!(is_public_suffix(suffix), "{suffix}");
        }
        for name in [
            "example.com",
            "example.co.uk",
            "alice.github.io",
            "example.nosuchtld",
        ] {
            assert!(!is_public_suffix(name), "{name}");
        }
        assert_eq!(candidate_parent("www.example.com"), Some("example.com"));
        assert_eq!(candidate_parent("example.com"), None);
        assert_eq!(candidate_parent("localhost"), None);
        assert_eq!(candidate_parent("alice.github.io"), None);
        assert_eq!(
            candidate_parent("www.alice.github.io"),
            Some("alice.github.io")
        );
        // Internationalised suffixes in their A-label form: 公司.cn.
        assert!(is_public_suffix("xn--55qx5d.cn"));
        assert!(!is_public_suffix("xn--85x722f.xn--55qx5d.cn"));
    }

    #[test]
    fn reversed_keys_round_trip_and_sort_names_under_a_name_together() {
        assert_eq!(reversed("www.example.com"), "com\0example\0www");
        assert_eq!(unreversed(&reversed("www.example.com")), "www.example.com");
        let mut keys: Vec<String> = [
            "example.com",
            "a-b.example.com",
            "x.example.com",
            "a.example.com",
            "b.a.example.com",
            "a.example.comm",
        ]
        .iter()
        .map(|k| reversed(k))
        .collect();
        keys.sort();
        let names: Vec<String> = keys.iter().map(|k| unreversed(k)).collect();
        assert_eq!(
            names,
            [
                "example.com",
                "a.example.com",
                "b.a.example.com",
                "a-b.example.com",
                "x.example.com",
                "a.example.comm"
            ]
        );
    }

    /// The zones of `names` by the definition, from nothing.
    fn naive(names: &BTreeSet<String>) -> BTreeSet<String> {
        let candidates: BTreeSet<&str> = names.iter().filter_map(|n| candidate_parent(n)).collect();
        candidates
            .iter()
            .filter(|c| {
                !candidates
                    .iter()
                    .any(|d| c.len() > d.len() && c.ends_with(&format!(".{d}")))
            })
            .map(|c| (*c).to_owned())
            .collect()
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// Names of one to four labels over a few that make public
        /// suffixes (`com`, `co.uk`, `github.io`, and the default rule's
        /// unlisted single labels) and nested parents.
        fn name() -> impl Strategy<Value = String> {
            prop::collection::vec(
                prop::sample::select(vec![
                    "www", "a", "b", "example", "com", "co", "uk", "github", "io", "zz",
                ]),
                1..5,
            )
            .prop_map(|labels| labels.join("."))
        }

        proptest! {
            /// After every change (several names added and removed at
            /// once), the zones kept incrementally equal the zones derived
            /// from nothing, the delta is exactly what changed, no zone is
            /// a public suffix or under another zone, and undoing a change
            /// restores the zones.
            #[test]
            fn incremental_equals_from_scratch(changes in prop::collection::vec(prop::collection::vec((any::<bool>(), name()), 1..6), 1..40)) {
                let mut derivation = Derivation::default();
                let mut names: BTreeSet<String> = BTreeSet::new();
                for change in changes {
                    let mut added: Vec<String> = Vec::new();
                    let mut removed: Vec<String> = Vec::new();
                    for (add, name) in change {
                        if added.contains(&name) || removed.contains(&name) {
                            continue;
                        }
                        match (add, names.contains(&name)) {
                            (true, false) => added.push(name),
                            (false, true) => removed.push(name),
                            _ => {}
                        }
                    }
                    let before: BTreeSet<String> = derivation.zones().collect();
                    let delta = derivation.apply(added.iter().map(String::as_str), removed.iter().map(String::as_str));
                    let mut after = names.clone();
                    after.extend(added.iter().cloned());
                    for name in &removed {
                        after.remove(name);
                    }
                    let zones: BTreeSet<String> = derivation.zones().collect();
                    prop_assert_eq!(&zones, &naive(&after));
                    let mut expected = before.clone();
                    for z in &delta.removed {
                        prop_assert!(expected.remove(z), "removed {} was not a zone", z);
                    }
                    for z in &delta.added {
                        prop_assert!(expected.insert(z.clone()), "added {} was a zone", z);
                    }
                    prop_assert_eq!(&expected, &zones);
                    for z in &zones {
                        prop_assert!(!is_public_suffix(z), "{}", z);
                        prop_assert!(derivation.is_zone(z));
                    }
                    // Undo, redo.
                    derivation.apply(removed.iter().map(String::as_str), added.iter().map(String::as_str));
                    prop_assert_eq!(derivation.zones().collect::<BTreeSet<_>>(), before);
                    derivation.apply(added.iter().map(String::as_str), removed.iter().map(String::as_str));
                    names = after;
                }
                prop_assert_eq!(derivation.parents.len(), names.iter().filter_map(|n| candidate_parent(n)).collect::<BTreeSet<_>>().len());
            }
        }
    }

    #[test]
    fn nested_parents_merge_and_split_again() {
        let mut d = Derivation::default();
        let delta = d.apply(["x.b.a.example.com"], []);
        assert_eq!(delta.added, ["b.a.example.com"]);
        // A parent above takes the zone over.
        let delta = d.apply(["www.example.com"], []);
        assert_eq!(delta.added, ["example.com"]);
        assert_eq!(delta.removed, ["b.a.example.com"]);
        // Gone again: the zone below comes back.
        let delta = d.apply([], ["www.example.com"]);
        assert_eq!(delta.added, ["b.a.example.com"]);
        assert_eq!(delta.removed, ["example.com"]);
        // A name moving within one parent changes no zone.
        let delta = d.apply(["y.b.a.example.com"], ["x.b.a.example.com"]);
        assert!(delta.is_empty());
        // Under a public suffix: no zone, and none above it.
        let delta = d.apply(["example.com", "alice.github.io", "localhost"], []);
        assert!(delta.is_empty());
        assert!(!d.is_zone("com") && !d.is_zone("github.io"));
    }
}
