//! The incremental compiler: builds each new snapshot from the previous
//! one, recompiling only the policies that changed.

use std::collections::HashMap;
use std::sync::Arc;

use steerage_geo::{Line, LocationTable};
use steerage_policy::{BuiltinProvider, CustomLine, PolicySet};

use crate::compiled::{CompiledPolicy, Structure};
use crate::custom_layer::layer;
use crate::domain_index::DomainIndex;
use crate::group::Group;
use crate::snapshot::Entry;
use crate::{EngineError, Snapshot};

/// The default memory budget for rule-merged range maps: 256 MiB.
pub const DEFAULT_MERGE_BUDGET: usize = 256 << 20;

/// What the previous compile produced, kept for reuse.
#[derive(Debug, Clone)]
struct Previous {
    builtin: BuiltinProvider,
    domains: Arc<DomainIndex>,
    entries: Arc<[Entry]>,
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
/// the custom lines change). A one-rule change therefore costs one policy
/// compile plus a comparison per policy.
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
}

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
        self.previous = None;
    }

    /// Compiles `set` as version `version`, reusing what the previous
    /// compile built for unchanged policies.
    ///
    /// The set is taken as valid (a [`PolicySet`] is valid by construction:
    /// every operation and every loaded config is validated); use
    /// [`Snapshot::compile`] to validate as well. Nothing a set holds makes
    /// this panic: a target naming an unknown provider gets nothing.
    ///
    /// # Errors
    /// [`EngineError::CustomLineLayer`] or [`EngineError::TooLarge`]; the
    /// compiler's state is then unchanged.
    pub fn compile(&mut self, set: &PolicySet, version: u64) -> Result<Snapshot, EngineError> {
        // Work on locals; commit to `self` only on success.
        let custom_changed = !set.custom_lines().eq(self.custom_lines.iter());
        // New custom lines change the layered table and with it every
        // group; compiled policies stay reusable.
        let (table, mut groups, mut previous) = if custom_changed {
            let lines: Vec<&CustomLine> = set.custom_lines().collect();
            (
                layer(&self.base, &lines)?,
                HashMap::new(),
                self.previous.clone(),
            )
        } else {
            (
                Arc::clone(&self.table),
                std::mem::take(&mut self.groups),
                self.previous.clone(),
            )
        };
        if previous
            .as_ref()
            .is_some_and(|p| p.builtin != *set.builtin())
        {
            previous = None;
        }
        let result = self.assemble(
            set,
            version,
            &table,
            &mut groups,
            previous.as_ref(),
            custom_changed,
        );
        match result {
            Ok(snapshot) => {
                // Forget groups no snapshot entry uses any more.
                groups.retain(|_, g| Arc::strong_count(g) > 1);
                self.groups = groups;
                self.table = table;
                if custom_changed {
                    self.custom_lines = set.custom_lines().cloned().collect();
                }
                self.previous = Some(Previous {
                    builtin: snapshot.builtin.clone(),
                    domains: Arc::clone(&snapshot.domains),
                    entries: Arc::clone(&snapshot.entries),
                });
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
        let mut merged_bytes: usize = groups.values().map(|g| g.merged_bytes()).sum();
        let mut entries: Vec<Entry> = Vec::with_capacity(set.len());
        // Whether the domains are the previous ones in the same order.
        let mut same_domains = previous.is_some_and(|p| p.entries.len() == set.len());
        for (i, policy) in set.shared_policies().enumerate() {
            let old = previous.and_then(|p| {
                // Same position first (the usual case: domains are sorted and
                // a change rarely adds or removes one), else by name.
                let at = p
                    .entries
                    .get(i)
                    .filter(|e| e.policy.source.domain() == policy.domain());
                if at.is_none() {
                    same_domains = false;
                }
                at.or_else(|| {
                    p.domains
                        .get(policy.domain().as_str())
                        .and_then(|j| p.entries.get(j as usize))
                })
            });
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
                        let group =
                            self.group(groups, &entry.group.structure, table, &mut merged_bytes);
                        entries.push(Entry { group, ..entry });
                    } else {
                        entries.push(entry);
                    }
                    continue;
                }
            }
            let (compiled, structure) = CompiledPolicy::compile(policy, set.builtin())?;
            let group = self.group(groups, &structure, table, &mut merged_bytes);
            entries.push(Entry::new(Arc::new(compiled), group));
        }
        let domains = match previous {
            Some(p) if same_domains => Arc::clone(&p.domains),
            _ => Arc::new(DomainIndex::new(
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
        })
    }

    /// The group of a structure, building it if new.
    fn group(
        &self,
        groups: &mut HashMap<Structure, Arc<Group>>,
        structure: &[Box<[Line]>],
        table: &LocationTable,
        merged_bytes: &mut usize,
    ) -> Arc<Group> {
        if let Some(g) = groups.get(structure) {
            return Arc::clone(g);
        }
        let structure: Structure = structure.into();
        // A merged map costs about as much as the location table's maps.
        let estimate = table.v4().heap_bytes() + table.v6().heap_bytes();
        let merge = merged_bytes.saturating_add(estimate) <= self.merge_budget;
        let group = Arc::new(Group::new(Arc::clone(&structure), table, merge));
        *merged_bytes += group.merged_bytes();
        groups.insert(structure, Arc::clone(&group));
        group
    }
}
