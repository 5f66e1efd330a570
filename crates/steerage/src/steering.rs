//! `Steering`: the current snapshot behind an atomic pointer, and the ways to
//! change it.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::{ArcSwap, Guard};
use ipnet::IpNet;
use steerage_engine::{Compiler, DEFAULT_MERGE_BUDGET, Explanation};
use steerage_geo::{LocationTable, Locator};
use steerage_policy::{Format, PolicyError, PolicySet};

use crate::config_file::ConfigFile;
use crate::observer::{NameObserver, Observers};
use crate::{Selection, Snapshot, SteeringError};

/// A loaded snapshot; hold it for one query, not longer.
pub type SnapshotGuard = Guard<Arc<Snapshot>>;

/// The steering state of a program: the configuration, the location data and
/// the compiled snapshot every `select` reads.
///
/// Reads (`select`, `snapshot`, `config`) never block and never see a
/// half-applied change: each loads one immutable snapshot with a single
/// atomic operation. Changes (`apply`, `reload`, `set_locations`) are
/// serialized by a mutex; each builds a complete new configuration next to
/// the serving one, compiles it incrementally (only the policies it changed
/// are compiled again, see [`Compiler`]) and publishes it with one atomic
/// store, with the version one higher. A change that fails publishes nothing:
/// the old snapshot keeps serving and the version stays. Neither does an
/// `apply` or `reload` whose result equals the serving configuration: it
/// returns the current version, and readers keep the very same snapshot.
///
/// Programs that serve the steered names (a DNS handler's zones) follow
/// them through [`observe_names`](Steering::observe_names): told of each
/// change that adds or removes names, under the writer's lock, before it
/// is published, and able to refuse it.
///
/// Share it between threads with an `Arc<Steering>`.
pub struct Steering {
    /// What `select` reads: one atomic load per query.
    current: ArcSwap<Snapshot>,
    /// The configuration `current` was compiled from, stored just before
    /// `current` by the writer (see [`Steering::state`]).
    state: ArcSwap<State>,
    /// The file `reload` and `save` use.
    file: Option<ConfigFile>,
    /// Serializes writers; holds what they keep between changes.
    writer: Mutex<Writer>,
    /// The compiler's merge budget, for compilers made afresh.
    merge_budget: usize,
}

/// The configuration of one published snapshot.
#[derive(Debug)]
struct State {
    version: u64,
    config: Arc<PolicySet>,
}

/// What writers keep between changes.
#[derive(Debug)]
struct Writer {
    /// What the last compile built, for the next one to reuse.
    compiler: Compiler,
    /// The snapshot and state replaced by the last change. Keeping them
    /// until the next change means a reader whose guard outlived the swap is
    /// almost never the one to drop them: freeing a large snapshot is the
    /// writer's cost, not a query's. The next change drops them before it
    /// compiles, so that the compiler, then the only holder of the retired
    /// snapshot's entry table, patches that table instead of copying one.
    retired: Option<(Arc<Snapshot>, Arc<State>)>,
    /// Told of every change to the set of names before it is published.
    observers: Observers,
}

/// Where the builder takes the configuration from.
#[derive(Debug)]
enum ConfigSource {
    Value(PolicySet),
    File(PathBuf),
    Text(String, Format),
}

/// Builds a [`Steering`]: a configuration (a value, a file or text) and a
/// location table are required.
///
/// ```
/// use steerage::{Steering, geo::LocationTable, policy::Format};
///
/// let steering = Steering::builder()
///     .config_str("[builtin]\ncname = \"edge.example.net\"\n", Format::Toml)
///     .locations(LocationTable::sample())
///     .build()?;
/// assert_eq!(steering.version(), 1);
/// assert!(steering.config().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SteeringBuilder {
    config: Option<ConfigSource>,
    locations: Option<Arc<LocationTable>>,
    merge_budget: usize,
}

impl Default for SteeringBuilder {
    fn default() -> Self {
        Self {
            config: None,
            locations: None,
            merge_budget: DEFAULT_MERGE_BUDGET,
        }
    }
}

impl Steering {
    /// The version of the snapshot [`SteeringBuilder::build`] publishes;
    /// every change that publishes adds one (one that changes nothing does
    /// not publish).
    pub const FIRST_VERSION: u64 = 1;

    /// A builder.
    pub fn builder() -> SteeringBuilder {
        SteeringBuilder::default()
    }

    /// The decision for a client address, from the current snapshot; `None`
    /// when `domain` is not steered. `domain` is compared case-insensitively,
    /// a trailing dot ignored.
    ///
    /// Never blocks: one atomic load, one domain lookup, one range lookup,
    /// a weighted pick, and a copy of the names into the returned value
    /// (inline, see [`Selection`]).
    pub fn select(&self, domain: &str, client: IpAddr) -> Option<Selection> {
        let snapshot = self.current.load();
        let decision = snapshot.select(domain, client)?;
        Some(Selection::new(&decision, snapshot.version()))
    }

    /// The decision for a client subnet (from an EDNS Client Subnet option);
    /// see [`Snapshot::select_subnet`] for the scope it returns.
    pub fn select_subnet(&self, domain: &str, client: IpNet) -> Option<Selection> {
        let snapshot = self.current.load();
        let decision = snapshot.select_subnet(domain, client)?;
        Some(Selection::new(&decision, snapshot.version()))
    }

    /// Why `client` gets its answer for `domain`, from the current snapshot:
    /// the location found and from which data, every rule in precedence
    /// order with why it answered or not, the weights, and the answer (for a
    /// `random` policy, one sample pick). `None` when `domain` is not
    /// steered. Allocates: meant for consoles and logs, not the query path.
    pub fn explain(&self, domain: &str, client: IpAddr) -> Option<Explanation> {
        self.current.load().explain(domain, client)
    }

    /// As [`explain`](Self::explain) for a client subnet (EDNS Client
    /// Subnet), located like [`select_subnet`](Self::select_subnet).
    pub fn explain_subnet(&self, domain: &str, client: IpNet) -> Option<Explanation> {
        self.current.load().explain_subnet(domain, client)
    }

    /// The current snapshot (one atomic load); read everything for one query
    /// from it. Its [`Decision`](crate::Decision)s borrow from it, so nothing
    /// is copied.
    pub fn snapshot(&self) -> SnapshotGuard {
        self.current.load()
    }

    /// The version of the current snapshot.
    pub fn version(&self) -> u64 {
        self.current.load().version()
    }

    /// The current configuration: the one the current snapshot was compiled
    /// from.
    pub fn config(&self) -> Arc<PolicySet> {
        Arc::clone(&self.state().config)
    }

    /// The current location table (without the custom lines).
    pub fn locations(&self) -> Arc<LocationTable> {
        Arc::clone(self.current.load().base_locations())
    }

    /// The config file `reload` reads and `save` writes, if the builder was
    /// given one.
    pub fn config_path(&self) -> Option<&Path> {
        self.file.as_ref().map(ConfigFile::path)
    }

    /// The state the current snapshot was compiled from.
    ///
    /// The writer stores the state, then the snapshot, so for a moment the
    /// state can be one version ahead; this waits out that moment (two
    /// pointer stores by a thread that holds no lock readers need) so the
    /// configuration returned is always the serving one.
    fn state(&self) -> Arc<State> {
        loop {
            let version = self.current.load().version();
            let state = self.state.load_full();
            if state.version == version {
                return state;
            }
            std::thread::yield_now();
        }
    }

    /// Runs console operations on a copy of the configuration (each
    /// validates what it changes), then compiles the result incrementally
    /// and publishes it atomically, and returns its version. Once this
    /// returns `Ok`, every later `select` on every thread sees the change.
    ///
    /// A change that changes nothing publishes nothing: when the resulting
    /// configuration equals the serving one (the closure did nothing, or set
    /// values to what they already were), nothing is compiled, readers keep
    /// the same snapshot, and the version returned is the current one. The
    /// check costs about one pointer comparison per few hundred policies
    /// plus a comparison of the policies the closure touched (see
    /// [`PolicySet::changed_since`]).
    ///
    /// On any error (the closure's, a [`NameObserver`]'s refusal, or the
    /// compiler's), or a panic in the closure, nothing changes: the old snapshot keeps serving and the
    /// version stays; operations the closure ran before the failing one are
    /// dropped with the copy. Changes are serialized: a concurrent `apply`
    /// waits for this one and then works on its result.
    ///
    /// ```
    /// # use steerage::{Steering, geo::LocationTable, policy::{BuiltinProvider, DomainName, PolicySet, PolicyError}};
    /// # let set = PolicySet::new(BuiltinProvider::new(DomainName::new("edge.example.net")?));
    /// # let steering = Steering::builder().config(set).locations(LocationTable::sample()).build()?;
    /// let version = steering.apply(|set| {
    ///     set.create_policy("www.example.com")?;
    ///     Ok(())
    /// })?;
    /// assert_eq!(version, steering.version());
    ///
    /// // A failing change publishes nothing.
    /// let err = steering.apply(|set| set.delete_rule("www.example.com", "default").map(drop));
    /// assert!(err.is_err());
    /// assert_eq!(steering.version(), version);
    ///
    /// // Nor does one that changes nothing.
    /// assert_eq!(steering.apply(|set| set.enable_policy("www.example.com"))?, version);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply<F>(&self, change: F) -> Result<u64, SteeringError>
    where
        F: FnOnce(&mut PolicySet) -> Result<(), PolicyError>,
    {
        let mut writer = self.lock_writer();
        let current = self.state.load_full();
        let mut config = PolicySet::clone(&current.config);
        change(&mut config)?;
        self.publish_if_changed(&mut writer, &current, config)
    }

    /// Reads the config file the builder was given again and publishes it;
    /// returns the new version. When the file configures exactly what is
    /// serving (it was not edited, or edited only in its layout, comments or
    /// spellings), nothing is compiled or published, readers keep the same
    /// snapshot, and the version returned is the current one.
    ///
    /// When the file cannot be read or is invalid, the old configuration
    /// keeps serving and the error names the file (and, for a parse error,
    /// the line and column, in its source).
    pub fn reload(&self) -> Result<u64, SteeringError> {
        let file = self.file.as_ref().ok_or(SteeringError::NoConfigFile)?;
        // Read and parse before taking the lock: changes wait only for the
        // compilation.
        let config = file.load()?;
        let mut writer = self.lock_writer();
        let current = self.state.load_full();
        self.publish_if_changed(&mut writer, &current, config)
    }

    /// Replaces the location table (a fresh IP database), recompiling the
    /// current configuration against it; returns the new version. Always
    /// publishes, even the same table again (tables are not compared). On
    /// error the old table keeps serving.
    pub fn set_locations(
        &self,
        table: impl Into<Arc<LocationTable>>,
    ) -> Result<u64, SteeringError> {
        let table = table.into();
        let mut writer = self.lock_writer();
        let current = self.state.load_full();
        let version = current.version + 1;
        // A scratch compiler, so a failure leaves the serving one as it was.
        let mut fresh = Compiler::new(table).with_merge_budget(self.merge_budget);
        let snapshot = fresh.compile(&current.config, version)?;
        writer.compiler = fresh;
        let state = State {
            version,
            config: Arc::clone(&current.config),
        };
        self.store(&mut writer, state, snapshot);
        Ok(version)
    }

    /// Writes the current configuration to the config file the builder was
    /// given, in its format, crash-safely (see [`save_to`](Self::save_to)).
    pub fn save(&self) -> Result<(), SteeringError> {
        let file = self.file.as_ref().ok_or(SteeringError::NoConfigFile)?;
        let _writer = self.lock_writer();
        file.save(&self.state.load().config)
    }

    /// Writes the current configuration to `path`, as TOML or JSON by its
    /// extension. Crash-safe: the text goes to a temporary file in the same
    /// directory, which is flushed to disk and renamed over `path`, and the
    /// directory is flushed; `path` holds the old file or the complete new
    /// one, never a part. The old file's permissions are kept, and a
    /// symbolic link at `path` is followed (the file it points to is
    /// replaced). Changes wait while it writes, so the file never
    /// goes back to an older version than one saved before. Temporary files
    /// that earlier saves of `path` left when they were killed are removed
    /// first (not those of a save still running in another process); so are
    /// they when a `Steering` is built from a config file.
    pub fn save_to(&self, path: impl AsRef<Path>) -> Result<(), SteeringError> {
        let file = ConfigFile::new(path.as_ref())?;
        let _writer = self.lock_writer();
        file.save(&self.state.load().config)
    }

    /// Registers a [`NameObserver`], made by `init` from the configuration
    /// serving now and its version, so that it is told of every later
    /// change to the set of steered names before that change is published,
    /// and may refuse it. `init` runs under the writer's lock: no change
    /// can come between what it sees and the first change the observer is
    /// told of.
    ///
    /// The `Steering` holds the observer weakly: once every other `Arc` to
    /// it is dropped, it is no longer called. What `init` returns is
    /// returned; an error registers nothing.
    ///
    /// A DNS handler (`steerage-dns`) registers its zones this way, so that
    /// their data is built by the writer in proportion to each change, and
    /// refuses a change that would steer the apex of a zone it serves.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use steerage::{NameChange, NameObserver, Refusal, Steering};
    /// # use steerage::{geo::LocationTable, policy::{BuiltinProvider, DomainName, PolicySet}};
    ///
    /// /// Refuses names under `.internal`; counts the names otherwise.
    /// struct Names(Mutex<(usize, usize)>);
    ///
    /// impl NameObserver for Names {
    ///     fn prepare(&self, change: &NameChange<'_>) -> Result<(), Refusal> {
    ///         if let Some(name) = change.added().find(|n| n.ends_with(".internal")) {
    ///             return Err(format!("{name} is internal").into());
    ///         }
    ///         let mut counts = self.0.lock().unwrap();
    ///         counts.1 = counts.0 + change.added().len() - change.removed().len();
    ///         Ok(())
    ///     }
    ///     fn commit(&self, _version: u64) {
    ///         let mut counts = self.0.lock().unwrap();
    ///         counts.0 = counts.1;
    ///     }
    ///     fn abort(&self) {}
    /// }
    ///
    /// # let set = PolicySet::new(BuiltinProvider::new(DomainName::new("edge.example.net")?));
    /// # let steering = Steering::builder().config(set).locations(LocationTable::sample()).build()?;
    /// let names = steering.observe_names(|config, _version| {
    ///     Ok::<_, std::convert::Infallible>(Arc::new(Names(Mutex::new((config.len(), 0)))))
    /// })?;
    /// steering.apply(|set| set.create_policy("www.example.com").map(drop))?;
    /// assert_eq!(names.0.lock().unwrap().0, 1);
    /// let refused = steering.apply(|set| set.create_policy("db.example.internal").map(drop));
    /// assert!(matches!(refused, Err(steerage::SteeringError::Refused(_))));
    /// assert_eq!(steering.config().len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn observe_names<O, E>(
        &self,
        init: impl FnOnce(&PolicySet, u64) -> Result<Arc<O>, E>,
    ) -> Result<Arc<O>, E>
    where
        O: NameObserver + 'static,
    {
        let mut writer = self.lock_writer();
        let state = self.state.load_full();
        let observer = init(&state.config, state.version)?;
        // Coerced to the trait object from a clone of the concrete `Arc`.
        let registered: Arc<dyn NameObserver> = observer.clone();
        writer.observers.register(Arc::downgrade(&registered));
        Ok(observer)
    }

    fn lock_writer(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|poisoned| {
            // A panic while the lock was held (in an `apply` closure, say)
            // published nothing, but may have left the compiler's reuse
            // state half-updated: start it afresh from the serving table.
            let mut writer = poisoned.into_inner();
            let table = Arc::clone(writer.compiler.locations());
            writer.compiler = Compiler::new(table).with_merge_budget(self.merge_budget);
            self.writer.clear_poison();
            writer
        })
    }

    /// Publishes `config` as the version after `current`, unless it
    /// configures exactly what `current` does: then returns `current`'s
    /// version and publishes nothing. The caller holds the writer lock.
    fn publish_if_changed(
        &self,
        writer: &mut Writer,
        current: &State,
        config: PolicySet,
    ) -> Result<u64, SteeringError> {
        if same_configuration(&current.config, &config) {
            // `config` is dropped: the serving set keeps its shared leaves,
            // which the next change's `changed_since` compares against.
            return Ok(current.version);
        }
        self.publish(writer, current, config)
    }

    /// Compiles `config` and publishes it as the version after `current`,
    /// once the name observers have accepted its names. The caller holds
    /// the writer lock.
    ///
    /// `config` is not validated again as a whole: a [`PolicySet`] is valid
    /// by construction (its fields are private, every operation validates
    /// what it changes in the context of the set and leaves the set as it
    /// was on error, and every loaded config is validated), and a whole-set
    /// validation costs time linear in the set: tens of milliseconds for
    /// 100,000 policies, against a budget of 20 ms for the whole change.
    fn publish(
        &self,
        writer: &mut Writer,
        current: &State,
        config: PolicySet,
    ) -> Result<u64, SteeringError> {
        let version = current.version + 1;
        // Before compiling: a refused change then costs no compile, and the
        // compiler never holds a result that is not published.
        let changes = config.domain_changes(&current.config);
        let prepared = writer
            .observers
            .prepare(version, &changes, &config)
            .map_err(SteeringError::Refused)?;
        drop(changes);
        // No one reads the retired snapshot any more (bar a query still
        // holding it, which then drops it): hand its entry table back to the
        // compiler for reuse.
        writer.retired = None;
        let snapshot = match writer.compiler.compile(&config, version) {
            Ok(snapshot) => snapshot,
            Err(error) => {
                prepared.abort();
                return Err(error.into());
            }
        };
        prepared.commit(version);
        let state = State {
            version,
            config: Arc::new(config),
        };
        self.store(writer, state, snapshot);
        Ok(version)
    }

    /// Publishes: the state first, then the snapshot (the order
    /// [`state`](Self::state) relies on). The caller holds the writer lock.
    fn store(&self, writer: &mut Writer, state: State, snapshot: Snapshot) {
        let old_state = self.state.swap(Arc::new(state));
        let old_snapshot = self.current.swap(Arc::new(snapshot));
        // Drops the pair retired by the change before this one.
        writer.retired = Some((old_snapshot, old_state));
    }
}

/// Whether `new` configures exactly what `current` does: the same built-in
/// provider, custom lines and policies.
///
/// Cheaper than `PolicySet`'s `==`, which compares every domain name: the
/// policies the set shares with `current` (every one an `apply` closure did
/// not touch) are skipped by [`PolicySet::changed_since`] a leaf of a few
/// hundred at a time, and only the rest are compared by value. A set loaded
/// from a file shares nothing, so every policy is compared: one pass over
/// both sets in domain order.
fn same_configuration(current: &PolicySet, new: &PolicySet) -> bool {
    if new.builtin() != current.builtin() || !new.custom_lines().eq(current.custom_lines()) {
        return false;
    }
    // `None`: the domains differ.
    let Some(changed) = new.changed_since(current) else {
        return false;
    };
    // Same domains in the same order: a changed policy's earlier value is
    // the one at its position in `current`. A few are found by domain (a
    // binary search each); many by walking `current` once.
    if changed.len().saturating_mul(LOOKUPS_PER_WALK) < current.len() {
        changed.iter().all(|(_, policy)| {
            current
                .policy(policy.domain().as_str())
                .is_some_and(|earlier| earlier == &***policy)
        })
    } else {
        let mut earlier = current.shared_policies().enumerate();
        changed.iter().all(|&(position, policy)| {
            earlier
                .find(|&(at, _)| at == position)
                .is_some_and(|(_, earlier)| earlier == policy)
        })
    }
}

/// Above one changed policy in this many, walking the set beats looking
/// each up by domain: a lookup is two binary searches (over the leaves, then
/// within one) of string comparisons, a step of the walk a pointer bump and
/// an index comparison.
const LOOKUPS_PER_WALK: usize = 64;

impl fmt::Debug for Steering {
    /// A summary: the whole snapshot would print every policy.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snapshot = self.current.load();
        f.debug_struct("Steering")
            .field("version", &snapshot.version())
            .field("policies", &snapshot.len())
            .field("locations", &snapshot.base_locations().describe())
            .field("config_path", &self.config_path())
            .finish_non_exhaustive()
    }
}

impl SteeringBuilder {
    /// Uses this configuration value.
    pub fn config(mut self, set: PolicySet) -> Self {
        self.config = Some(ConfigSource::Value(set));
        self
    }

    /// Loads the configuration from a file (TOML or JSON by extension) when
    /// building; [`Steering::reload`] reads it again and [`Steering::save`]
    /// writes it.
    pub fn config_file(mut self, path: impl AsRef<Path>) -> Self {
        self.config = Some(ConfigSource::File(path.as_ref().to_path_buf()));
        self
    }

    /// Parses the configuration from text when building.
    pub fn config_str(mut self, text: &str, format: Format) -> Self {
        self.config = Some(ConfigSource::Text(text.to_owned(), format));
        self
    }

    /// Uses this location table (for example `LocationTable::sample()`).
    pub fn locations(mut self, table: impl Into<Arc<LocationTable>>) -> Self {
        self.locations = Some(table.into());
        self
    }

    /// The memory budget, in bytes, for the range maps that merge a
    /// policy's rules with the location table (one lookup then gives the
    /// rule and the widest true ECS scope); policies past it answer through
    /// the location table with narrower scopes. Default:
    /// [`DEFAULT_MERGE_BUDGET`](steerage_engine::DEFAULT_MERGE_BUDGET).
    pub fn merge_budget(mut self, bytes: usize) -> Self {
        self.merge_budget = bytes;
        self
    }

    /// Builds, validating and compiling the configuration, as version
    /// [`Steering::FIRST_VERSION`].
    ///
    /// Errors: [`NoConfig`](SteeringError::NoConfig),
    /// [`NoLocations`](SteeringError::NoLocations); for a file
    /// [`UnknownFormat`](SteeringError::UnknownFormat),
    /// [`Read`](SteeringError::Read) and
    /// [`ConfigFile`](SteeringError::ConfigFile), naming it; for text
    /// [`Config`](SteeringError::Config); for a value
    /// [`Policy`](SteeringError::Policy); and
    /// [`Engine`](SteeringError::Engine) when compiling fails.
    pub fn build(self) -> Result<Steering, SteeringError> {
        let source = self.config.ok_or(SteeringError::NoConfig)?;
        let locations = self.locations.ok_or(SteeringError::NoLocations)?;
        let (config, file) = match source {
            ConfigSource::Value(set) => {
                set.validate()?;
                (set, None)
            }
            ConfigSource::File(path) => {
                let file = ConfigFile::new(path)?;
                file.remove_stale_temporaries();
                (file.load()?, Some(file))
            }
            ConfigSource::Text(text, format) => (PolicySet::from_str_in(&text, format)?, None),
        };
        let version = Steering::FIRST_VERSION;
        let mut compiler = Compiler::new(locations).with_merge_budget(self.merge_budget);
        let snapshot = compiler.compile(&config, version)?;
        Ok(Steering {
            current: ArcSwap::from_pointee(snapshot),
            state: ArcSwap::from_pointee(State {
                version,
                config: Arc::new(config),
            }),
            file,
            writer: Mutex::new(Writer {
                compiler,
                retired: None,
                observers: Observers::default(),
            }),
            merge_budget: self.merge_budget,
        })
    }
}
