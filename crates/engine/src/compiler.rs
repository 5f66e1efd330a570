//! The incremental compiler: builds each new snapshot from the previous
//! one, recompiling only the policies that changed.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use steerage_geo::{Line, LocationTable};
use steerage_policy::{BuiltinProvider, CustomLine, Policy, PolicyChanges, PolicySet};

use crate::compiled::{CompiledPolicy, Structure};
use crate::custom_layer::layer;
use crate::domain_index::{DomainIndex, DomainSource, IndexEdit};
use crate::group::{Group, LocationBlocks, ReadAhead};
use crate::snapshot::Entry;
use crate::{EngineError, Snapshot};

/// The default memory budget for rule-merged range maps: 256 MiB.
pub const DEFAULT_MERGE_BUDGET: usize = 256 << 20;

/// What the previous compile produced, kept for reuse.
#[derive(Debug)]
struct Previous {
    builtin: BuiltinProvider,
    domains: Arc<DomainIndex>,
    /// One entry per position of `domains`: a policy of `set` at each live
    /// position; at a vacant one, the entry of the policy that last held
    /// it (or of one added with it), which no query reaches.
    entries: Arc<[Entry]>,
    /// The set compiled: a copy, sharing its policies with the caller's, for
    /// [`PolicySet::policy_changes`].
    set: PolicySet,
    /// The vacant positions, taken by the next domains added (last first).
    free: Vec<u32>,
    /// Whether the positions are the set's domain order, none vacant (as a
    /// whole compile leaves them).
    compact: bool,
}

/// A domain index the next change of domains can edit in place instead of
/// copying the previous one: the index of an older snapshot, and the edits
/// the indexes after it made.
///
/// As with [`Spare`], once no snapshot uses it the compiler may write to
/// it: adding a name to 100,000 then costs the edits of the last two
/// changes of domains, where a copy costs some 10 MB of memory traffic.
#[derive(Debug)]
struct SpareIndex {
    domains: Arc<DomainIndex>,
    pending: Vec<IndexEdit>,
}

/// How a change lands on the previous positions, from
/// [`Compiler::plan`].
#[derive(Debug)]
struct Plan<'a> {
    /// The position of each changed or added policy, and whether its domain
    /// held that position before (its entry is then the one to reuse from).
    writes: Vec<(usize, &'a Arc<Policy>, bool)>,
    /// The index's edits: the removals, then the insertions.
    edits: Vec<IndexEdit>,
    /// The vacant positions after the change.
    free: Vec<u32>,
    /// Positions after the change (more than before when the added domains
    /// outnumber the vacant positions).
    positions: usize,
}

/// Above this share of the policies (one in 8), a change of domains is
/// compiled whole rather than edited in: the positions are made compact
/// again, and a reload that renamed many domains is not edited name by name.
const EDIT_SHARE: usize = 8;

/// An entry table the next compile can patch instead of copying the
/// previous one: the table of the snapshot before the previous one, and the
/// positions where the previous table differs from it.
///
/// Once no snapshot uses it any more (the facade drops a replaced snapshot
/// before its next change), the compiler holds the only reference and may
/// write to it: a change then touches only the entries it and the change
/// before it changed, instead of copying every entry (one reference count per
/// shared part each, and, with 100,000 policies, a 7 MB allocation and the
/// free of the table two versions back: page faults and TLB shootdowns that
/// stall the threads serving queries).
#[derive(Debug)]
struct Spare {
    entries: Arc<[Entry]>,
    stale: Vec<usize>,
}

/// A large table the compiler no longer needs but a snapshot in use still
/// holds. Kept so that the snapshot's drop, on a thread serving queries, is
/// not the last (freeing 100,000 entries takes milliseconds); a later
/// compile drops it once no one else holds it, on the writer's thread.
#[derive(Debug)]
enum Parked {
    Entries(Arc<[Entry]>),
    Domains(Arc<DomainIndex>),
}

impl Parked {
    /// Whether the compiler holds the only reference.
    fn unique(&self) -> bool {
        match self {
            Self::Entries(t) => Arc::strong_count(t) == 1,
            Self::Domains(d) => Arc::strong_count(d) == 1,
        }
    }
}

/// Compiles successive versions of a policy set into [`Snapshot`]s, reusing
/// everything a change did not touch.
///
/// It keeps the previous snapshot's compiled policies (reused when the
/// policy is the same shared value, `Arc::ptr_eq`, as a set copied for a
/// change holds every policy the change did not touch; else when it is
/// equal), its groups (policies whose live rules have the same
/// lines share one location index and one rule-merged range map), its
/// domain index (reused when the set of domains is the same), and the
/// location table with the custom lines layered on top (rebuilt only when
/// the custom lines change).
///
/// A change that keeps the custom lines and the built-in provider costs work
/// in proportion to the change, domains added and removed included: the
/// changed policies and removed domains are found by
/// [`PolicySet::policy_changes`] (a comparison per few hundred policies),
/// found in the domain index, compiled, and written into an entry table the
/// compiler takes back from the snapshot two versions before, once no one
/// holds that snapshot any more; else into a copy of the previous table.
/// Positions stay put: a removed domain leaves its position vacant (no
/// query finds it), an added one takes a vacant position or one past the
/// last (the table then grows by a sixteenth, by a copy), and the domain
/// index is edited in place the same way, in the index two changes of
/// domains back. A change that adds or removes more than one domain in
/// eight, one that would leave more than a quarter of the positions vacant,
/// and a change of the custom lines or the built-in provider visit every
/// policy (comparing pointers; compiling only the changed ones) and lay the
/// positions out afresh in domain order.
///
/// Rule-merged range maps (one range lookup gives the rule and the widest
/// true ECS scope) are built for new groups while their total size stays
/// within a budget ([`DEFAULT_MERGE_BUDGET`], see
/// [`Compiler::with_merge_budget`]); groups past it answer through the
/// location table and a line index, with the location's range as scope,
/// which is narrower but still true.
///
/// ```
/// use std::sync::Arc;
/// use steerage_engine::Compiler;
/// use steerage_geo::{Line, LocationTable};
/// use steerage_policy::{BuiltinProvider, PolicySet};
///
/// let mut set = PolicySet::new(BuiltinProvider::new("edge.example.net".parse()?));
/// set.create_policy("www.example.com")?;
/// let mut compiler = Compiler::new(Arc::new(LocationTable::sample()));
/// let v1 = compiler.compile(&set, 1)?;
/// set.disable_policy("www.example.com")?;
/// let v2 = compiler.compile(&set, 2)?;
/// assert_eq!(v2.version(), 2);
/// assert_eq!(v1.select("www.example.com", "192.0.2.1".parse()?).unwrap().rule(), "default");
/// assert_eq!(v2.select("www.example.com", "192.0.2.1".parse()?).unwrap().rule(), "(disabled)");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Compiler {
    base: Arc<LocationTable>,
    merge_budget: usize,
    /// The custom lines `table` was layered with.
    custom_lines: Vec<CustomLine>,
    table: Arc<LocationTable>,
    groups: HashMap<Structure, Arc<Group>>,
    previous: Option<Previous>,
    spare: Option<Spare>,
    /// The domain index the next change of domains may edit in place.
    index_spare: Option<SpareIndex>,
    /// Changes compiled in proportion, for the periodic sweep of groups.
    changes: u64,
    /// Large tables the compiler let go of while a snapshot someone holds
    /// (a query, preempted mid-select) still used them.
    parked: Vec<Parked>,
    /// The block sets of the last table a group was built over (made at
    /// the first new group over a table, kept while it is in use).
    blocks: Mutex<Option<BlocksOf>>,
    /// [`FULL_SWEEP_GROUPS`], but in tests of the sweep between sweeps.
    sweep_groups: usize,
    /// The maps the last snapshot reads ahead in.
    read_ahead: Option<ReadAhead>,
}

/// A table and its block sets (`None`: too many locations for them).
type BlocksOf = (Arc<LocationTable>, Option<Arc<LocationBlocks>>);

/// Up to this many groups, every change checks them all for ones no entry
/// uses any more (a reference count read each).
const FULL_SWEEP_GROUPS: usize = 1024;
/// With more, every this many changes do (between sweeps, only the groups
/// of the entries a change overwrote are checked).
const FULL_SWEEP_PERIOD: u64 = 64;

impl Compiler {
    /// A compiler deciding with `locations`.
    pub fn new(locations: Arc<LocationTable>) -> Self {
        Self {
            table: Arc::clone(&locations),
            base: locations,
            merge_budget: DEFAULT_MERGE_BUDGET,
            custom_lines: Vec::new(),
            groups: HashMap::new(),
            previous: None,
            spare: None,
            index_spare: None,
            changes: 0,
            sweep_groups: FULL_SWEEP_GROUPS,
            parked: Vec::new(),
            blocks: Mutex::new(None),
            read_ahead: None,
        }
    }

    /// The same compiler with another budget, in bytes, for rule-merged
    /// range maps (0: none; every group answers through the location table).
    #[must_use]
    pub fn with_merge_budget(mut self, bytes: usize) -> Self {
        self.merge_budget = bytes;
        self
    }

    /// The base location table.
    pub fn locations(&self) -> &Arc<LocationTable> {
        &self.base
    }

    /// Switches to another base location table (a database update); the
    /// next compile rebuilds every group.
    pub fn set_locations(&mut self, locations: Arc<LocationTable>) {
        self.table = Arc::clone(&locations);
        self.base = locations;
        self.custom_lines.clear();
        self.groups.clear();
        self.read_ahead = None;
        *self
            .blocks
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner) = None;
        if let Some(previous) = self.previous.take() {
            self.release(Parked::Entries(previous.entries));
            self.release(Parked::Domains(previous.domains));
        }
        if let Some(spare) = self.spare.take() {
            self.release(Parked::Entries(spare.entries));
        }
        if let Some(spare) = self.index_spare.take() {
            self.release(Parked::Domains(spare.domains));
        }
    }

    /// Drops `table` now if the compiler holds the only reference, else
    /// parks it until it does.
    fn release(&mut self, table: Parked) {
        if !table.unique() {
            self.parked.push(table);
        }
    }

    /// Compiles `set` as version `version`, reusing what the previous
    /// compile built for unchanged policies.
    ///
    /// The set is taken as valid (a [`PolicySet`] is valid by construction:
    /// every operation and every loaded config is validated); use
    /// [`Snapshot::compile`] to validate as well. Nothing a set holds makes
    /// this panic: a target naming an unknown provider gets nothing.
    ///
    /// Drop snapshots this compiler made once they no longer serve: the
    /// entry table of one no one holds is reused by a later compile instead
    /// of being copied.
    ///
    /// # Errors
    /// [`EngineError::CustomLineLayer`] or [`EngineError::TooLarge`]; the
    /// compiler's state is then unchanged.
    pub fn compile(&mut self, set: &PolicySet, version: u64) -> Result<Snapshot, EngineError> {
        // Tables the snapshots that held them no longer need: freed here.
        self.parked.retain(|table| !table.unique());
        let custom_changed = !set.custom_lines().eq(self.custom_lines.iter());
        if let Some(previous) = self.previous.take() {
            if !custom_changed
                && previous.builtin == *set.builtin()
                && let Some(plan) = Self::plan(&previous, &set.policy_changes(&previous.set))
            {
                return self.compile_changes(set, version, previous, plan);
            }
            self.previous = Some(previous);
        }
        self.compile_all(set, version, custom_changed)
    }

    /// Where `changes` land on the previous positions: a changed policy at
    /// its domain's, an added one at a vacant position (or a new one past
    /// the last), a removed domain's position made vacant. `None` when the
    /// change is better compiled whole: it adds or removes more than one
    /// domain in [`EDIT_SHARE`], or would leave more than a quarter of the
    /// positions vacant.
    fn plan<'a>(previous: &Previous, changes: &PolicyChanges<'a, '_>) -> Option<Plan<'a>> {
        let index = &previous.domains;
        let live = index.live();
        let mut edits = Vec::new();
        let mut free = previous.free.clone();
        for domain in changes.removed() {
            let position = index.get(domain.as_str())?;
            edits.push(IndexEdit::Remove(position));
            free.push(position);
        }
        let mut writes = Vec::with_capacity(changes.changed().len());
        let mut positions = previous.entries.len();
        for &policy in changes.changed() {
            let domain = policy.domain().as_str();
            if let Some(position) = index.get(domain) {
                writes.push((position as usize, policy, true));
                continue;
            }
            if free.is_empty() {
                // Room for this name and a share more: growing copies the
                // entry table, so it grows by a share at a time. (Not more
                // for small tables: vacant positions hold copies of an
                // entry, which count as users of its group when the
                // read-ahead is chosen.)
                let grown = positions + (positions / 16).max(1);
                let first = u32::try_from(positions).ok()?;
                let last = u32::try_from(grown).ok()?;
                free.extend((first..last).rev());
                positions = grown;
            }
            let position = free.pop()?;
            edits.push(IndexEdit::Insert(position, domain.into()));
            writes.push((position as usize, policy, false));
        }
        if edits.len() > live / EDIT_SHARE + 64 {
            return None;
        }
        let removed = changes.removed().len();
        let after = live + (edits.len() - removed) - removed.min(live);
        if !edits.is_empty() && free.len() > after / 4 + 64 {
            return None;
        }
        Some(Plan {
            writes,
            edits,
            free,
            positions,
        })
    }

    /// The maps a snapshot reads ahead in ([`ReadAhead`]) after a change
    /// compiled in proportion: those of the merged group with the most
    /// references. Every live entry table counts its entries, so the count
    /// weighs groups about as their users do (a whole compile counts
    /// exactly, [`Self::busiest_of`]). Among more than
    /// [`FULL_SWEEP_GROUPS`] groups the count is taken only when the change
    /// `swept` them all anyway (it costs nothing per group otherwise), and the
    /// previous choice is kept in between: a choice gone stale costs a
    /// wasted lookup per query, never a wrong answer, as a snapshot uses
    /// what it read ahead only for entries of the same group.
    fn choose_read_ahead(&mut self, swept: bool) -> Option<ReadAhead> {
        if swept || self.read_ahead.is_none() {
            self.read_ahead = self
                .groups
                .values()
                .filter(|g| g.is_merged())
                .max_by_key(|g| Arc::strong_count(g))
                .and_then(|g| ReadAhead::of(g));
        }
        self.read_ahead.clone()
    }

    /// The maps of the merged group the most of `entries` use, counted.
    fn busiest_of(&mut self, entries: &[Entry]) -> Option<ReadAhead> {
        let mut users: HashMap<*const Group, (usize, &Arc<Group>)> = HashMap::new();
        for entry in entries.iter().filter(|e| e.group.is_merged()) {
            users
                .entry(Arc::as_ptr(&entry.group))
                .or_insert((0, &entry.group))
                .0 += 1;
        }
        self.read_ahead = users
            .into_values()
            .max_by_key(|&(count, _)| count)
            .and_then(|(_, group)| ReadAhead::of(group));
        self.read_ahead.clone()
    }

    /// Compiles a set with the same custom lines and built-in provider as
    /// `previous`, as `plan` lands its changes on the previous positions:
    /// in time proportional to the change, domains added and removed
    /// included.
    fn compile_changes(
        &mut self,
        set: &PolicySet,
        version: u64,
        previous: Previous,
        plan: Plan<'_>,
    ) -> Result<Snapshot, EngineError> {
        let mut groups = std::mem::take(&mut self.groups);
        // Summed only if a new group is built: a change costs nothing per
        // group otherwise.
        let mut merged_bytes = None;
        let mut fresh = Vec::with_capacity(plan.writes.len());
        for &(i, policy, kept) in &plan.writes {
            let old = if kept { previous.entries.get(i) } else { None };
            match self.entry(
                old,
                policy,
                set.builtin(),
                &self.table,
                &mut groups,
                &mut merged_bytes,
                false,
            ) {
                Ok(entry) => fresh.push((i, entry)),
                Err(e) => {
                    self.groups = groups;
                    self.previous = Some(previous);
                    return Err(e);
                }
            }
        }
        // Nothing fails from here on.
        // The groups of the entries overwritten: the only ones the patch can
        // leave unused (a copy drops a whole table and checks every group).
        let mut overwritten: Vec<Arc<Group>> = Vec::new();
        let mut note = |old: &Entry, new: &Entry| {
            if !Arc::ptr_eq(&old.group, &new.group) {
                overwritten.push(Arc::clone(&old.group));
            }
        };
        let stale: Vec<usize> = fresh.iter().map(|&(i, _)| i).collect();
        let entries = match self.spare.take() {
            // New positions: the table grows, by a copy.
            spare if plan.positions > previous.entries.len() => {
                if let Some(spare) = spare {
                    self.release(Parked::Entries(spare.entries));
                }
                Err(fresh)
            }
            Some(mut spare) if spare.entries.len() == previous.entries.len() => {
                if let Some(table) = Arc::get_mut(&mut spare.entries) {
                    // The table two versions back: bring the entries the
                    // previous change made up to date, then write this one's.
                    for &i in &spare.stale {
                        if let (Some(slot), Some(entry)) =
                            (table.get_mut(i), previous.entries.get(i))
                        {
                            note(slot, entry);
                            slot.clone_from(entry);
                        }
                    }
                    for (i, entry) in fresh {
                        if let Some(slot) = table.get_mut(i) {
                            note(slot, &entry);
                            *slot = entry;
                        }
                    }
                    Ok(spare.entries)
                } else {
                    self.release(Parked::Entries(spare.entries));
                    Err(fresh)
                }
            }
            Some(spare) => {
                self.release(Parked::Entries(spare.entries));
                Err(fresh)
            }
            None => Err(fresh),
        };
        // Whether every group was checked: the read-ahead choice counts
        // them all then.
        let (entries, swept) = match entries {
            Ok(patched) => {
                overwritten.sort_unstable_by_key(Arc::as_ptr);
                overwritten.dedup_by(|a, b| Arc::ptr_eq(a, b));
                // Unused: held by the map and `overwritten` only.
                for group in overwritten {
                    if Arc::strong_count(&group) == 2
                        && groups
                            .get(&group.structure)
                            .is_some_and(|g| Arc::ptr_eq(g, &group))
                    {
                        groups.remove(&group.structure);
                    }
                }
                // Groups whose last user was a snapshot dropped elsewhere:
                // checked every time while that is cheap, else every
                // FULL_SWEEP_PERIOD changes (amortized per change).
                self.changes = self.changes.wrapping_add(1);
                let sweep = groups.len() <= self.sweep_groups
                    || self.changes.is_multiple_of(FULL_SWEEP_PERIOD);
                if sweep {
                    groups.retain(|_, g| Arc::strong_count(g) > 1);
                }
                (patched, sweep)
            }
            Err(fresh) => {
                drop(overwritten);
                let copy = patched_copy(&previous.entries, fresh, plan.positions);
                groups.retain(|_, g| Arc::strong_count(g) > 1);
                (copy, true)
            }
        };
        self.groups = groups;
        // Positions edited in are past the domain order.
        let compact = previous.compact && plan.edits.is_empty();
        let domains = if plan.edits.is_empty() {
            Arc::clone(&previous.domains)
        } else {
            self.edited_domains(&previous.domains, plan.edits)
        };
        let snapshot = Snapshot {
            version,
            table: Arc::clone(&self.table),
            base: Arc::clone(&self.base),
            builtin: set.builtin().clone(),
            domains: Arc::clone(&domains),
            entries: Arc::clone(&entries),
            read_ahead: self.choose_read_ahead(swept),
        };
        self.spare = Some(Spare {
            entries: previous.entries,
            stale,
        });
        self.previous = Some(Previous {
            builtin: previous.builtin,
            domains,
            entries,
            set: set.clone(),
            free: plan.free,
            compact,
        });
        Ok(snapshot)
    }

    /// `current` with `edits` applied: written into the spare index when no
    /// snapshot uses it any more (after the edits the indexes since made),
    /// else into a copy of `current`; rebuilt when it would be too full.
    /// `current` becomes the spare.
    fn edited_domains(
        &mut self,
        current: &Arc<DomainIndex>,
        edits: Vec<IndexEdit>,
    ) -> Arc<DomainIndex> {
        let mut patched = None;
        if let Some(mut spare) = self.index_spare.take() {
            if let Some(index) = Arc::get_mut(&mut spare.domains) {
                // Refused (too full): dropped here, on the writer's thread.
                if index.edit(&spare.pending) && index.edit(&edits) {
                    patched = Some(spare.domains);
                }
            } else {
                self.release(Parked::Domains(spare.domains));
            }
        }
        let next = patched.unwrap_or_else(|| {
            let mut copy = DomainIndex::clone(current);
            if copy.edit(&edits) {
                Arc::new(copy)
            } else {
                Arc::new(current.rebuilt(&edits))
            }
        });
        self.index_spare = Some(SpareIndex {
            domains: Arc::clone(current),
            pending: edits,
        });
        next
    }

    /// Compiles a set visiting every policy (reusing the compiled ones that
    /// did not change): for the first compile, and for changes of domains,
    /// custom lines or the built-in provider.
    fn compile_all(
        &mut self,
        set: &PolicySet,
        version: u64,
        custom_changed: bool,
    ) -> Result<Snapshot, EngineError> {
        // Work on locals; commit to `self` only on success.
        // New custom lines change the layered table and with it every
        // group; compiled policies stay reusable.
        let (table, mut groups) = if custom_changed {
            let lines: Vec<&CustomLine> = set.custom_lines().collect();
            (layer(&self.base, &lines)?, HashMap::new())
        } else {
            (Arc::clone(&self.table), std::mem::take(&mut self.groups))
        };
        let previous = self
            .previous
            .as_ref()
            .filter(|p| p.builtin == *set.builtin());
        let result = self.assemble(set, version, &table, &mut groups, previous, custom_changed);
        match result {
            Ok(mut snapshot) => {
                // Forget groups no snapshot entry uses any more.
                groups.retain(|_, g| Arc::strong_count(g) > 1);
                self.groups = groups;
                snapshot.read_ahead = self.busiest_of(&snapshot.entries);
                self.table = table;
                if custom_changed {
                    self.custom_lines = set.custom_lines().cloned().collect();
                }
                let replaced = self.previous.replace(Previous {
                    builtin: snapshot.builtin.clone(),
                    domains: Arc::clone(&snapshot.domains),
                    entries: Arc::clone(&snapshot.entries),
                    set: set.clone(),
                    free: Vec::new(),
                    compact: true,
                });
                // Positions may have moved: the old tables cannot be patched.
                if let Some(spare) = self.spare.take() {
                    self.release(Parked::Entries(spare.entries));
                }
                if let Some(spare) = self.index_spare.take() {
                    self.release(Parked::Domains(spare.domains));
                }
                if let Some(replaced) = replaced {
                    self.release(Parked::Entries(replaced.entries));
                    if !Arc::ptr_eq(&replaced.domains, &snapshot.domains) {
                        self.release(Parked::Domains(replaced.domains));
                    }
                }
                Ok(snapshot)
            }
            Err(e) => {
                if !custom_changed {
                    self.groups = groups;
                }
                Err(e)
            }
        }
    }

    fn assemble(
        &self,
        set: &PolicySet,
        version: u64,
        table: &Arc<LocationTable>,
        groups: &mut HashMap<Structure, Arc<Group>>,
        previous: Option<&Previous>,
        rebuild_groups: bool,
    ) -> Result<Snapshot, EngineError> {
        let mut merged_bytes = None;
        let mut entries: Vec<Entry> = Vec::with_capacity(set.len());
        // Whether the domains are the previous ones in the same order.
        let mut same_domains = previous.is_some_and(|p| p.compact && p.entries.len() == set.len());
        // Compact previous entries are in domain order, as the set's
        // policies are: walk both, skipping deleted domains (`next` is the
        // first previous entry not passed yet). Ordering only decides what
        // is reused; a policy without a previous entry is compiled anew.
        // Other previous entries are found through their index.
        let mut next = 0;
        // Per policy, where the domain index finds its name.
        let mut sources: Vec<DomainSource<'_>> = Vec::with_capacity(set.len());
        for policy in set.shared_policies() {
            let found = previous.filter(|p| !p.compact).and_then(|p| {
                let position = p.domains.get(policy.domain().as_str())?;
                Some((position as usize, p.entries.get(position as usize)?))
            });
            let old = previous.filter(|p| p.compact).and_then(|p| {
                while let Some(entry) = p.entries.get(next) {
                    let source = &entry.policy.source;
                    // The same shared value first: no string compare.
                    let order = if Arc::ptr_eq(source, policy) {
                        Ordering::Equal
                    } else {
                        source.domain().as_str().cmp(policy.domain().as_str())
                    };
                    match order {
                        Ordering::Equal => {
                            next += 1;
                            return Some(entry);
                        }
                        Ordering::Less => {
                            // Deleted.
                            next += 1;
                            same_domains = false;
                        }
                        Ordering::Greater => break,
                    }
                }
                // New.
                same_domains = false;
                None
            });
            let old = match (old, found) {
                // The previous entries are in the previous index's order.
                (Some(entry), _) => Some((next - 1, entry)),
                (None, found) => found,
            };
            sources.push(match old {
                Some((position, _)) => DomainSource::Previous(position),
                None => DomainSource::New(policy.domain().as_str()),
            });
            let old = old.map(|(_, entry)| entry);
            entries.push(self.entry(
                old,
                policy,
                set.builtin(),
                table,
                groups,
                &mut merged_bytes,
                rebuild_groups,
            )?);
        }
        let domains = match previous {
            Some(p) if same_domains => Arc::clone(&p.domains),
            // Kept names come from the previous index's words, not from
            // every policy.
            Some(p) => Arc::new(p.domains.edited(sources.into_iter())),
            None => Arc::new(DomainIndex::new(
                set.policies().map(|p| p.domain().as_str()),
            )),
        };
        Ok(Snapshot {
            version,
            table: Arc::clone(table),
            base: Arc::clone(&self.base),
            builtin: set.builtin().clone(),
            domains,
            entries: entries.into(),
            // Chosen once the groups are settled.
            read_ahead: None,
        })
    }

    /// The entry of `policy`: `old` (the previous entry for its domain) when
    /// the policy is the same, else compiled anew. With `rebuild_groups`,
    /// even a reused entry gets its group from `groups` (built over
    /// `table` if new).
    #[expect(
        clippy::too_many_arguments,
        reason = "the compile state is split across locals so a failed compile can restore it"
    )]
    fn entry(
        &self,
        old: Option<&Entry>,
        policy: &Arc<Policy>,
        builtin: &BuiltinProvider,
        table: &Arc<LocationTable>,
        groups: &mut HashMap<Structure, Arc<Group>>,
        merged_bytes: &mut Option<usize>,
        rebuild_groups: bool,
    ) -> Result<Entry, EngineError> {
        if let Some(old) = old {
            // A policy no operation touched is the same `Arc` (the set
            // copies on write); compare values only when it is not.
            let reused = if Arc::ptr_eq(&old.policy.source, policy) {
                Some(old.clone())
            } else if *old.policy.source == **policy {
                // Equal but loaded anew: keep the tables, hold the new
                // value so the next compile compares pointers again.
                Some(Entry::new(
                    Arc::new(old.policy.with_source(policy)),
                    Arc::clone(&old.group),
                ))
            } else {
                None
            };
            if let Some(entry) = reused {
                if rebuild_groups {
                    let group = self.group(groups, &entry.group.structure, table, merged_bytes);
                    return Ok(Entry { group, ..entry });
                }
                return Ok(entry);
            }
        }
        let (compiled, structure) = CompiledPolicy::compile(policy, builtin)?;
        let group = self.group(groups, &structure, table, merged_bytes);
        Ok(Entry::new(Arc::new(compiled), group))
    }

    /// The group of a structure, building it if new. `merged_bytes` is the
    /// size of the groups' merged maps, summed at the first new group.
    fn group(
        &self,
        groups: &mut HashMap<Structure, Arc<Group>>,
        structure: &[Box<[Line]>],
        table: &Arc<LocationTable>,
        merged_bytes: &mut Option<usize>,
    ) -> Arc<Group> {
        if let Some(g) = groups.get(structure) {
            return Arc::clone(g);
        }
        let used =
            *merged_bytes.get_or_insert_with(|| groups.values().map(|g| g.merged_bytes()).sum());
        let structure: Structure = structure.into();
        // A merged map costs about as much as the location table's maps.
        let estimate = table.v4().heap_bytes() + table.v6().heap_bytes();
        let merge = used.saturating_add(estimate) <= self.merge_budget;
        let blocks = if merge { self.blocks_of(table) } else { None };
        let group = Arc::new(Group::with_blocks(
            Arc::clone(&structure),
            table,
            merge,
            blocks.as_deref(),
        ));
        *merged_bytes = Some(used + group.merged_bytes());
        groups.insert(structure, Arc::clone(&group));
        group
    }

    /// The block sets of `table`, made at the first call for it.
    fn blocks_of(&self, table: &Arc<LocationTable>) -> Option<Arc<LocationBlocks>> {
        // Only the compiling thread takes the lock; a panic while it was
        // held left at worst no entry.
        let mut cache = self.blocks.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((cached, blocks)) = &*cache
            && Arc::ptr_eq(cached, table)
        {
            return blocks.clone();
        }
        let blocks = LocationBlocks::new(table).map(Arc::new);
        *cache = Some((Arc::clone(table), blocks.clone()));
        blocks
    }
}

/// A copy of `entries` grown to `positions` with `fresh` (position, entry)
/// written over it. New positions no entry of `fresh` takes (vacant ones,
/// room for later additions) hold a copy of the first entry of `fresh`,
/// which no query reaches.
fn patched_copy(entries: &[Entry], fresh: Vec<(usize, Entry)>, positions: usize) -> Arc<[Entry]> {
    let filler = fresh.first().map(|(_, e)| e.clone());
    let grown = filler
        .iter()
        .cycle()
        .take(positions.saturating_sub(entries.len()))
        .cloned();
    // Collected straight into the shared table: one allocation.
    let mut copy: Arc<[Entry]> = entries.iter().cloned().chain(grown).collect();
    if let Some(table) = Arc::get_mut(&mut copy) {
        for (i, entry) in fresh {
            if let Some(slot) = table.get_mut(i) {
                *slot = entry;
            }
        }
    }
    copy
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use proptest::prelude::*;
    use steerage_geo::SAMPLE_RANGES;
    use steerage_policy::{
        DomainName, Provider, ProviderKind, Rule, SelectionMode, Target, Ttl, Weight,
    };

    use super::*;

    const DOMAINS: [&str; 9] = [
        "a.example.com",
        "b.example.com",
        "c.example.com",
        "d.example.com",
        "e.example.com",
        "f.example.com",
        "g.example.com",
        "h.example.com",
        "i.example.com",
    ];

    fn target(provider: &str, weight: u16) -> Target {
        Target::new(provider.parse().unwrap(), Weight::new(weight).unwrap())
    }

    fn rule(name: &str, lines: &[&str], targets: Vec<Target>) -> Rule {
        Rule::new(
            name.parse().unwrap(),
            lines.iter().map(|l| Line::parse(l).unwrap()).collect(),
            targets,
        )
    }

    fn create(set: &mut PolicySet, domain: &str) {
        set.create_policy(domain).unwrap();
        for (name, cname) in [
            ("origin", "origin.example.net"),
            ("vendor-a", "a.vendor.example"),
            ("vendor-b", "b.vendor.example"),
        ] {
            let provider = Provider::new(
                name.parse().unwrap(),
                ProviderKind::Cdn,
                cname.parse().unwrap(),
            );
            set.add_provider(domain, provider).unwrap();
        }
        // Sticky: answers are a function of the client, comparable.
        set.set_mode(domain, SelectionMode::Sticky).unwrap();
        set.add_rule(
            domain,
            rule("beijing", &["CN-BJ"], vec![target("origin", 1)]),
        )
        .unwrap();
        set.add_rule(
            domain,
            rule(
                "china",
                &["CN"],
                vec![target("vendor-a", 3), target("vendor-b", 1)],
            ),
        )
        .unwrap();
        set.set_default_targets(domain, vec![target("vendor-b", 1)])
            .unwrap();
    }

    /// A set with every one of [`DOMAINS`] made by [`create`].
    fn every_domain() -> PolicySet {
        let mut set = PolicySet::new(BuiltinProvider::new(
            DomainName::new("edge.steerage.example").unwrap(),
        ));
        for d in DOMAINS {
            create(&mut set, d);
        }
        set
    }

    type Answer = Option<(String, String, String, Option<String>, u32, u8)>;

    /// Every answer of a snapshot: each domain (steered or not) for each
    /// sample client.
    fn answers(snapshot: &Snapshot) -> Vec<Answer> {
        let mut all = Vec::new();
        for domain in DOMAINS {
            for range in SAMPLE_RANGES {
                let client: IpAddr = range.client;
                all.push(snapshot.select(domain, client).map(|d| {
                    (
                        d.provider().to_owned(),
                        d.cname().to_owned(),
                        d.rule().to_owned(),
                        d.line().map(ToString::to_string),
                        d.ttl(),
                        d.scope_prefix(),
                    )
                }));
            }
        }
        all
    }

    #[derive(Debug, Clone)]
    enum Op {
        Weights(usize, u16),
        ToggleRule(usize),
        ToggleProvider(usize),
        /// A rule's lines change: a new structure, so a new group.
        Lines(usize, bool),
        Ttl(usize, u32),
        TogglePolicy(usize),
        Delete(usize),
        Create(usize),
        /// Several domains created or deleted in one change.
        Flip(Vec<usize>),
        /// A custom line added or removed: a whole compile.
        CustomLine,
        /// Compile the same set again.
        Nothing,
        /// Keep the latest snapshot alive (its table then cannot be reused).
        Keep,
        /// Drop the snapshots kept.
        Release,
    }

    fn op() -> impl Strategy<Value = Op> {
        let d = 0..DOMAINS.len();
        prop_oneof![
            4 => (d.clone(), 1u16..100).prop_map(|(d, w)| Op::Weights(d, w)),
            2 => d.clone().prop_map(Op::ToggleRule),
            2 => d.clone().prop_map(Op::ToggleProvider),
            2 => (d.clone(), any::<bool>()).prop_map(|(d, b)| Op::Lines(d, b)),
            1 => (d.clone(), 1u32..1000).prop_map(|(d, t)| Op::Ttl(d, t)),
            1 => d.clone().prop_map(Op::TogglePolicy),
            2 => d.clone().prop_map(Op::Delete),
            2 => d.clone().prop_map(Op::Create),
            1 => prop::collection::vec(d, 1..5).prop_map(Op::Flip),
            1 => Just(Op::CustomLine),
            1 => Just(Op::Nothing),
            2 => Just(Op::Keep),
            1 => Just(Op::Release),
        ]
    }

    /// Runs an operation; errors (an unknown policy, say) change nothing.
    fn run(set: &mut PolicySet, op: &Op) {
        let name = |d: &usize| DOMAINS[*d];
        let enabled_rule = |set: &PolicySet, d: &str| {
            set.policy(d)
                .and_then(|p| p.rules().iter().find(|r| r.name().as_str() == "beijing"))
                .is_some_and(Rule::is_enabled)
        };
        let _ = match op {
            Op::Weights(d, w) => set.update_rule(
                name(d),
                "china",
                rule(
                    "china",
                    &["CN"],
                    vec![target("vendor-a", *w), target("vendor-b", 100 - *w)],
                ),
            ),
            Op::ToggleRule(d) if enabled_rule(set, name(d)) => set.disable_rule(name(d), "beijing"),
            Op::ToggleRule(d) => set.enable_rule(name(d), "beijing"),
            Op::ToggleProvider(d) => set
                .disable_provider(name(d), "origin")
                .or_else(|_| set.enable_provider(name(d), "origin")),
            Op::Lines(d, wide) => {
                let lines: &[&str] = if *wide { &["CN-BJ", "US"] } else { &["CN-BJ"] };
                set.update_rule(
                    name(d),
                    "beijing",
                    rule("beijing", lines, vec![target("origin", 1)]),
                )
            }
            Op::Ttl(d, t) => set.set_ttl(name(d), Ttl::new(*t).unwrap()),
            Op::TogglePolicy(d) => set
                .disable_policy(name(d))
                .and_then(|()| set.enable_policy(name(d)))
                .and_then(|()| set.disable_policy(name(d))),
            Op::Delete(d) => set
                .disable_policy(name(d))
                .and_then(|()| set.delete_policy(name(d)).map(drop)),
            Op::Create(d) => {
                if set.policy(name(d)).is_none() {
                    create(set, name(d));
                }
                Ok(())
            }
            Op::Flip(ds) => {
                for d in ds {
                    if set.policy(name(d)).is_none() {
                        create(set, name(d));
                    } else {
                        let _ = set
                            .disable_policy(name(d))
                            .and_then(|()| set.delete_policy(name(d)).map(drop));
                    }
                }
                Ok(())
            }
            Op::CustomLine => {
                if set.custom_line("office").is_some() {
                    set.delete_custom_line("office").map(drop)
                } else {
                    set.add_custom_line(
                        CustomLine::new(
                            "office".parse().unwrap(),
                            vec!["192.0.2.0/24".parse().unwrap()],
                        )
                        .unwrap(),
                    )
                }
            }
            Op::Nothing | Op::Keep | Op::Release => Ok(()),
        };
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// After any sequence of changes the incremental compile answers as
        /// a fresh one, and every snapshot still held answers as it did when
        /// it was made (reusing a table never touches a live snapshot).
        #[test]
        fn incremental_compiles_equal_fresh_ones_and_kept_snapshots_never_change(
            ops in prop::collection::vec(op(), 1..40)
        ) {
            let table = Arc::new(LocationTable::sample());
            let mut set = PolicySet::new(BuiltinProvider::new(
                DomainName::new("edge.steerage.example").unwrap(),
            ));
            for d in &DOMAINS[..3] {
                create(&mut set, d);
            }
            let mut compiler = Compiler::new(Arc::clone(&table));
            let mut latest = compiler.compile(&set, 0).unwrap();
            let mut kept: Vec<(Snapshot, Vec<Answer>)> = Vec::new();
            for (version, op) in (1..).zip(&ops) {
                run(&mut set, op);
                let next = compiler.compile(&set, version).unwrap();
                let replaced = std::mem::replace(&mut latest, next);
                match op {
                    Op::Keep => {
                        let answers = answers(&replaced);
                        kept.push((replaced, answers));
                    }
                    Op::Release => kept.clear(),
                    _ => drop(replaced),
                }
                let fresh = Snapshot::compile(&set, Arc::clone(&table), version).unwrap();
                prop_assert_eq!(latest.version(), version);
                prop_assert_eq!(answers(&latest), answers(&fresh), "after {:?}", op);
                prop_assert_eq!(latest.len(), set.len());
                prop_assert!(latest.domains().eq(fresh.domains()));
                prop_assert_eq!(latest.stats().policies, fresh.stats().policies);
                prop_assert_eq!(latest.stats().policy_bytes, fresh.stats().policy_bytes);
                for (snapshot, expected) in &kept {
                    prop_assert_eq!(&answers(snapshot), expected);
                }
            }
        }
    }

    #[test]
    fn groups_no_entry_uses_are_forgotten() {
        let mut set = every_domain();
        let mut compiler = Compiler::new(Arc::new(LocationTable::sample()));
        // Only the groups of overwritten entries are checked.
        compiler.sweep_groups = 0;
        let lines = |set: &mut PolicySet, lines: &[&str]| {
            let beijing = rule("beijing", lines, vec![target("origin", 1)]);
            set.update_rule(DOMAINS[0], "beijing", beijing).unwrap();
        };
        let weights = |set: &mut PolicySet, w: u16| {
            let china = rule("china", &["CN"], vec![target("vendor-a", w)]);
            set.update_rule(DOMAINS[1], "china", china).unwrap();
        };
        let mut version = 0;
        let mut compile = |compiler: &mut Compiler, set: &PolicySet| {
            version += 1;
            let snapshot = compiler.compile(set, version).unwrap();
            (snapshot.stats().groups, compiler.groups.len())
        };
        assert_eq!(compile(&mut compiler, &set), (1, 1));
        lines(&mut set, &["CN-BJ", "US"]);
        assert_eq!(compile(&mut compiler, &set), (2, 2));
        lines(&mut set, &["CN-BJ"]);
        // The table two versions back still uses the other group.
        assert_eq!(compile(&mut compiler, &set), (1, 2));
        weights(&mut set, 3);
        // Patched into the table that used it: forgotten.
        assert_eq!(compile(&mut compiler, &set), (1, 1));
        weights(&mut set, 4);
        assert_eq!(compile(&mut compiler, &set), (1, 1));
    }

    #[test]
    fn a_table_a_held_snapshot_uses_is_freed_by_a_compile_not_by_the_holder() {
        let mut set = every_domain();
        let mut compiler = Compiler::new(Arc::new(LocationTable::sample()));
        let mut weights = |set: &mut PolicySet, w: u16| {
            let china = rule("china", &["CN"], vec![target("vendor-a", w)]);
            set.update_rule(DOMAINS[1], "china", china).unwrap();
            compiler.compile(set, u64::from(w)).unwrap()
        };
        drop(weights(&mut set, 1));
        // A query holds version 2 while the writer goes on.
        let held = weights(&mut set, 2);
        drop(weights(&mut set, 3));
        // Version 4 cannot reuse the held table: it is parked, not dropped.
        drop(weights(&mut set, 4));
        assert_eq!(Arc::strong_count(&held.entries), 2);
        let table = Arc::downgrade(&held.entries);
        drop(held);
        assert!(table.upgrade().is_some(), "the holder's drop freed nothing");
        drop(weights(&mut set, 5));
        assert!(table.upgrade().is_none(), "the next compile freed it");
        drop(compiler);
    }

    #[test]
    fn a_one_rule_change_reuses_the_table_two_versions_back() {
        let table = Arc::new(LocationTable::sample());
        let mut set = every_domain();
        let mut compiler = Compiler::new(table);
        let mut held = compiler.compile(&set, 1).unwrap();
        let mut tables = Vec::new();
        for (version, w) in (2..8).zip([10, 20, 30, 40, 50, 60]) {
            set.update_rule(
                DOMAINS[usize::from(w / 10) % DOMAINS.len()],
                "china",
                rule(
                    "china",
                    &["CN"],
                    vec![target("vendor-a", w), target("vendor-b", 1)],
                ),
            )
            .unwrap();
            let next = compiler.compile(&set, version).unwrap();
            // The snapshot replaced is dropped, as the facade does.
            drop(std::mem::replace(&mut held, next));
            tables.push(held.entries.as_ptr());
        }
        // From the third change on, two tables alternate.
        assert_eq!(tables[2], tables[4]);
        assert_eq!(tables[3], tables[5]);
        assert_ne!(tables[4], tables[5]);
    }
}
