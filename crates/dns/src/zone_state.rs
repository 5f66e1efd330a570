//! The zones as they follow the steering: built by the writer for each
//! change to the steered names, in proportion to the names it adds and
//! removes, checked before the change is published, and read by queries
//! without a lock. Hides the writer's bookkeeping, the two-step publish
//! (prepare, then commit or abort) and how a query finds the table that
//! matches its snapshot.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arc_swap::{ArcSwap, Guard};

use crate::DnsError;
use crate::derivation::{Derivation, ZoneDelta};
use crate::zone_table::ZoneTable;
use crate::zones::{SteeredApex, ZoneSettings, key_of};

/// The steered names of the configuration a change would publish, as the
/// zone checks need them.
pub(crate) trait SteeredNames {
    /// Whether `name` (lower case, no trailing dot) is steered.
    fn contains(&self, name: &str) -> bool;
    /// A steered name whose parent is `name`, if any (for error messages).
    fn child_of(&self, name: &str) -> Option<String>;
}

/// Names given as a slice, for tests.
#[cfg(test)]
pub(crate) struct TestNames<'a>(pub(crate) &'a [&'a str]);

#[cfg(test)]
impl SteeredNames for TestNames<'_> {
    fn contains(&self, name: &str) -> bool {
        self.0.contains(&name)
    }

    fn child_of(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|n| n.split_once('.').is_some_and(|(_, parent)| parent == name))
            .map(|n| (*n).to_owned())
    }
}

/// The table of `settings` for `names`, for tests.
#[cfg(test)]
pub(crate) fn table_for(settings: &ZoneSettings, names: &[&str]) -> Result<ZoneTable, DnsError> {
    let zones = Zones::new(
        settings.clone(),
        1,
        names.iter().copied(),
        &TestNames(names),
    )?;
    Ok(zones.load().latest().clone())
}

/// The published zone tables: the latest, and the one before it.
#[derive(Debug)]
pub(crate) struct Published {
    /// The steering version from which `table` serves.
    since: u64,
    table: Arc<ZoneTable>,
    /// The table before, and the version from which it served.
    previous: Option<(u64, Arc<ZoneTable>)>,
}

impl Published {
    /// The table for answers from the steering's `version`: `None` when
    /// both tables held are newer (the query read its snapshot two changes
    /// ago; it reads it again).
    ///
    /// A change publishes its table just before its snapshot, so a query
    /// that loads its snapshot and then the tables finds either the table
    /// of its snapshot or one newer, whose predecessor is then its own.
    pub(crate) fn serving(&self, version: u64) -> Option<&ZoneTable> {
        if self.since <= version {
            return Some(&self.table);
        }
        match &self.previous {
            Some((since, table)) if *since <= version => Some(table),
            _ => None,
        }
    }

    /// The latest table.
    pub(crate) fn latest(&self) -> &ZoneTable {
        &self.table
    }
}

/// The zones of one handler.
pub(crate) struct Zones {
    published: ArcSwap<Published>,
    writer: Mutex<Writer>,
}

impl fmt::Debug for Zones {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let published = self.published.load();
        f.debug_struct("Zones")
            .field("since", &published.since)
            .field("zones", &published.table.len())
            .finish_non_exhaustive()
    }
}

/// What the writer keeps between changes.
struct Writer {
    settings: ZoneSettings,
    /// The explicit zones' apexes; `None` when zones are derived.
    explicit: Option<HashSet<String>>,
    derivation: Derivation,
    /// The table a prepared change will publish, with the change (to undo
    /// in the derivation if it is aborted).
    pending: Option<Pending>,
    /// The tables the last commit replaced: dropped by the next commit, on
    /// the writer's thread rather than a query's.
    retired: Option<Arc<Published>>,
    /// Tables built, for the tests that check a change builds none.
    builds: u64,
}

struct Pending {
    table: ZoneTable,
    added: Vec<String>,
    removed: Vec<String>,
}

impl Zones {
    /// The zones of `settings` for the steered `names` of `version`.
    ///
    /// # Errors
    ///
    /// [`DnsError::SteeredApex`] when a steered name is a zone's apex (and
    /// `settings` refuse it).
    pub(crate) fn new<'a>(
        settings: ZoneSettings,
        version: u64,
        names: impl IntoIterator<Item = &'a str>,
        steered: &dyn SteeredNames,
    ) -> Result<Self, DnsError> {
        let mut table = ZoneTable::empty(&settings);
        let explicit = if settings.zones.is_empty() {
            None
        } else {
            let apexes: Vec<String> = settings.zones.iter().map(key_of).collect();
            table.change_zones(&settings, &apexes, &[]);
            Some(apexes.into_iter().collect())
        };
        let mut writer = Writer {
            settings,
            explicit,
            derivation: Derivation::default(),
            pending: None,
            retired: None,
            builds: 0,
        };
        let names: Vec<&str> = names.into_iter().collect();
        let table = writer.prepare(&table, &names, &[], steered)?;
        Ok(Self {
            published: ArcSwap::from_pointee(Published {
                since: version,
                table: Arc::new(table),
                previous: None,
            }),
            writer: Mutex::new(writer),
        })
    }

    /// The published tables (one atomic load).
    #[inline]
    pub(crate) fn load(&self) -> Guard<Arc<Published>> {
        self.published.load()
    }

    fn lock(&self) -> MutexGuard<'_, Writer> {
        // Only the steering's writer takes the lock, one change at a time;
        // `prepare` starts by dropping whatever a panicked change left.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Checks the change that adds `added` and removes `removed` (steered
    /// names, lower case, no trailing dot) and builds the table it would
    /// publish; [`commit`](Self::commit) publishes it,
    /// [`abort`](Self::abort) drops it. On error nothing changes.
    pub(crate) fn prepare(
        &self,
        added: &[&str],
        removed: &[&str],
        steered: &dyn SteeredNames,
    ) -> Result<(), DnsError> {
        let mut writer = self.lock();
        writer.abort();
        let current = self.published.load_full();
        let table = writer.prepare(&current.table, added, removed, steered)?;
        writer.pending = Some(Pending {
            table,
            added: added.iter().map(|n| (*n).to_owned()).collect(),
            removed: removed.iter().map(|n| (*n).to_owned()).collect(),
        });
        writer.builds += 1;
        Ok(())
    }

    /// Publishes the prepared table for answers from `version` on.
    pub(crate) fn commit(&self, version: u64) {
        let mut writer = self.lock();
        let Some(pending) = writer.pending.take() else {
            return;
        };
        let current = self.published.load_full();
        let next = Published {
            since: version,
            table: Arc::new(pending.table),
            previous: Some((current.since, Arc::clone(&current.table))),
        };
        drop(current);
        let replaced = self.published.swap(Arc::new(next));
        // Drops the tables the commit before this one replaced.
        writer.retired = Some(replaced);
    }

    /// Drops the prepared table.
    pub(crate) fn abort(&self) {
        self.lock().abort();
    }

    /// The published tables, held.
    #[cfg(test)]
    pub(crate) fn load_full(&self) -> Arc<Published> {
        self.published.load_full()
    }

    /// Tables built since the handler was made.
    #[cfg(test)]
    pub(crate) fn builds(&self) -> u64 {
        self.lock().builds
    }
}

impl Writer {
    /// Drops a prepared table, undoing its change in the derivation.
    fn abort(&mut self) {
        if let Some(pending) = self.pending.take()
            && self.explicit.is_none()
        {
            self.derivation.apply(
                pending.removed.iter().map(String::as_str),
                pending.added.iter().map(String::as_str),
            );
        }
    }

    /// Applies the change to the derivation, checks it, and builds the
    /// table it publishes from `current`; on error the derivation is as it
    /// was.
    fn prepare(
        &mut self,
        current: &ZoneTable,
        added: &[&str],
        removed: &[&str],
        steered: &dyn SteeredNames,
    ) -> Result<ZoneTable, DnsError> {
        let delta = match self.explicit {
            Some(_) => ZoneDelta::default(),
            None => self
                .derivation
                .apply(added.iter().copied(), removed.iter().copied()),
        };
        if self.settings.steered_apex == SteeredApex::Refuse
            && let Some(conflict) = self.conflict(added, &delta, steered)
        {
            if self.explicit.is_none() {
                self.derivation
                    .apply(removed.iter().copied(), added.iter().copied());
            }
            return Err(conflict);
        }
        let mut table = current.clone();
        for name in removed {
            table.count_ancestors(name, -1);
        }
        for name in added {
            table.count_ancestors(name, 1);
        }
        if !delta.is_empty() {
            table.change_zones(&self.settings, &delta.added, &delta.removed);
        }
        Ok(table)
    }

    /// A steered name at a zone's apex after the change, if any: an added
    /// name that is an apex, or a new derived zone whose apex is steered.
    fn conflict(
        &self,
        added: &[&str],
        delta: &ZoneDelta,
        steered: &dyn SteeredNames,
    ) -> Option<DnsError> {
        let apex = |name: &str, derived_from: Option<String>| DnsError::SteeredApex {
            name: name.to_owned(),
            zone: name.to_owned(),
            derived_from,
        };
        match &self.explicit {
            Some(zones) => added
                .iter()
                .find(|name| zones.contains(**name))
                .map(|name| apex(name, None)),
            None => added
                .iter()
                .copied()
                .filter(|name| self.derivation.is_zone(name))
                .chain(
                    delta
                        .added
                        .iter()
                        .map(String::as_str)
                        .filter(|zone| steered.contains(zone)),
                )
                .next()
                .map(|name| apex(name, steered.child_of(name))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use super::*;
    use crate::zone_table::Place;

    fn settings_with_hosts() -> ZoneSettings {
        ZoneSettings::new()
            .nameserver("ns1.example.com", ["192.0.2.1".parse().unwrap()])
            .unwrap()
            .nameserver("ns2.b.a.example.com", ["2001:db8::2".parse().unwrap()])
            .unwrap()
            .nameserver("ns.elsewhere.net", [])
            .unwrap()
    }

    /// What a table serves, compared across tables built differently.
    fn summary(
        table: &ZoneTable,
    ) -> (
        BTreeSet<String>,
        BTreeMap<String, u32>,
        BTreeMap<String, usize>,
    ) {
        let apexes: BTreeSet<String> = table.apexes().map(str::to_owned).collect();
        let interior = table.interior().map(|(n, c)| (n.to_owned(), c)).collect();
        let glue = apexes
            .iter()
            .map(|apex| match table.place(apex) {
                Place::Apex(zone) => (apex.clone(), zone.glue.len()),
                other => panic!("{apex}: {other:?}"),
            })
            .collect();
        (apexes, interior, glue)
    }

    fn name() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec![
                "www", "a", "b", "ns1", "example", "com", "co", "uk", "github", "io",
            ]),
            2..6,
        )
        .prop_map(|labels| labels.join("."))
    }

    proptest! {
        /// Zones kept change by change equal zones built from the names at
        /// once; a refused change leaves the published table as it was; and
        /// the table a change publishes shares every shard it did not touch.
        #[test]
        fn incremental_zones_equal_zones_built_at_once(
            changes in prop::collection::vec(prop::collection::vec((any::<bool>(), name()), 1..5), 1..25),
            explicit in any::<bool>(),
        ) {
            let settings = if explicit {
                settings_with_hosts().zone("example.com").unwrap().zone("b.a.example.com").unwrap().zone("example.co.uk").unwrap()
            } else {
                settings_with_hosts()
            };
            let mut names: Vec<String> = Vec::new();
            let zones = Zones::new(settings.clone(), 1, [], &TestNames(&[])).unwrap();
            for (i, change) in changes.into_iter().enumerate() {
                let version = i as u64 + 2;
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
                let mut after: Vec<String> = names.iter().filter(|n| !removed.contains(n)).cloned().collect();
                after.extend(added.iter().cloned());
                let after_refs: Vec<&str> = after.iter().map(String::as_str).collect();
                let added_refs: Vec<&str> = added.iter().map(String::as_str).collect();
                let removed_refs: Vec<&str> = removed.iter().map(String::as_str).collect();
                let before = zones.load_full();
                let fresh = Zones::new(settings.clone(), version, after_refs.iter().copied(), &TestNames(&after_refs));
                match zones.prepare(&added_refs, &removed_refs, &TestNames(&after_refs)) {
                    Ok(()) => {
                        zones.commit(version);
                        let fresh = fresh.expect("built at once too");
                        let published = zones.load();
                        prop_assert_eq!(summary(published.latest()), summary(fresh.load().latest()));
                        // What the change did not touch is shared.
                        prop_assert!(published.latest().unshared_with(before.latest()) <= 2 * (added.len() + removed.len()) * 6 + 4);
                        names = after;
                    }
                    Err(DnsError::SteeredApex { name, zone, .. }) => {
                        prop_assert_eq!(&name, &zone);
                        prop_assert!(after_refs.contains(&name.as_str()));
                        prop_assert!(fresh.is_err(), "refused only when building at once is");
                        prop_assert!(Arc::ptr_eq(&before, &zones.load_full()), "nothing published");
                        // The derivation is as it was: the next change starts from `names`.
                        let current: Vec<&str> = names.iter().map(String::as_str).collect();
                        let again = Zones::new(settings.clone(), 1, current.iter().copied(), &TestNames(&current)).unwrap();
                        prop_assert_eq!(summary(zones.load().latest()), summary(again.load().latest()));
                    }
                    Err(other) => prop_assert!(false, "{}", other),
                }
            }
        }
    }

    #[test]
    fn glue_follows_the_closest_zone() {
        let settings = settings_with_hosts();
        let zones = Zones::new(
            settings,
            1,
            ["x.b.a.example.com"],
            &TestNames(&["x.b.a.example.com"]),
        )
        .unwrap();
        let glue_of = |zones: &Zones, apex: &str| match zones.load().latest().place(apex) {
            Place::Apex(zone) => zone.glue.len(),
            _ => usize::MAX,
        };
        assert_eq!(
            glue_of(&zones, "b.a.example.com"),
            1,
            "ns2 inside b.a.example.com"
        );
        let names = ["x.b.a.example.com", "www.example.com"];
        zones
            .prepare(&["www.example.com"], &[], &TestNames(&names))
            .unwrap();
        zones.commit(2);
        // example.com now covers both hosts.
        assert_eq!(glue_of(&zones, "example.com"), 2);
        assert_eq!(glue_of(&zones, "b.a.example.com"), usize::MAX);
        assert!(matches!(
            zones.load().latest().place("ns2.b.a.example.com"),
            Place::Host(..)
        ));
        assert!(matches!(
            zones.load().latest().place("a.example.com"),
            Place::Inside { interior: true, .. }
        ));
        zones
            .prepare(&[], &["www.example.com"], &TestNames(&names[..1]))
            .unwrap();
        zones.commit(3);
        assert_eq!(glue_of(&zones, "b.a.example.com"), 1);
        assert!(matches!(
            zones.load().latest().place("ns1.example.com"),
            Place::Outside
        ));
    }

    #[test]
    fn the_table_of_a_version_is_found_across_one_newer_publish() {
        let zones = Zones::new(
            ZoneSettings::new(),
            5,
            ["www.example.com"],
            &TestNames(&["www.example.com"]),
        )
        .unwrap();
        let names = ["www.example.com", "www.example.org"];
        zones
            .prepare(&["www.example.org"], &[], &TestNames(&names))
            .unwrap();
        zones.commit(7);
        let published = zones.load();
        // A query holding snapshot 6 (no new names) gets the first table.
        assert!(matches!(
            published.serving(6).unwrap().place("example.org"),
            Place::Outside
        ));
        assert!(matches!(
            published.serving(7).unwrap().place("example.org"),
            Place::Apex(_)
        ));
        assert!(published.serving(4).is_none());
    }

    #[test]
    fn an_aborted_change_publishes_nothing_and_is_undone() {
        let zones = Zones::new(
            ZoneSettings::new(),
            1,
            ["www.example.com"],
            &TestNames(&["www.example.com"]),
        )
        .unwrap();
        let names = ["www.example.com", "a.b.example.com"];
        zones
            .prepare(&["a.b.example.com"], &[], &TestNames(&names))
            .unwrap();
        zones.abort();
        assert!(matches!(
            zones.load().latest().place("b.example.com"),
            Place::Inside {
                interior: false,
                ..
            }
        ));
        // Adding `www.example.com` as a zone's child again finds the
        // derivation as it was: removing it drops the zone.
        zones
            .prepare(&[], &["www.example.com"], &TestNames(&[]))
            .unwrap();
        zones.commit(2);
        assert_eq!(zones.load().latest().len(), 0);
        // A commit without a prepare changes nothing.
        zones.commit(3);
        assert!(zones.load().serving(2).is_some());
    }
}
