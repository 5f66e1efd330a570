//! `Steering`: the current snapshot behind an atomic pointer, and the ways to
//! change it.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use arc_swap::{ArcSwap, Guard};
use ipnet::IpNet;
use steerage_engine::{Compiler, DEFAULT_MERGE_BUDGET, Explanation};
use steerage_geo::{LocationTable, Locator};
use steerage_policy::{Format, PolicyError, PolicySet};

use crate::config_file::ConfigFile;
use crate::health::{CheckResult, HealthBook, HealthOverride, ProviderHealth, ProviderKey};
use crate::observer::{NameObserver, Observers};
use crate::{Selection, Snapshot, SteeringError};

/// A loaded snapshot (it derefs to [`Snapshot`]); hold it for one query,
/// not longer.
pub struct SnapshotGuard(Guard<Arc<Published>>);

impl std::ops::Deref for SnapshotGuard {
    type Target = Snapshot;
    fn deref(&self) -> &Snapshot {
        &self.0.snapshot
    }
}

impl SnapshotGuard {
    /// Whether both guards hold the same published snapshot (not an equal
    /// one compiled again): a change that publishes nothing keeps it.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl fmt::Debug for SnapshotGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapshotGuard")
            .field("version", &self.version())
            .finish_non_exhaustive()
    }
}

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
    /// What `select` reads, one atomic load per query: the snapshot and
    /// the configuration it was compiled from, published together.
    current: ArcSwap<Published>,
    /// The file `reload` and `save` use.
    file: Option<ConfigFile>,
    /// Serializes writers; holds what they keep between changes.
    writer: Mutex<Writer>,
    /// The compiler's merge budget, for compilers made afresh.
    merge_budget: usize,
}

/// One published snapshot with the configuration it was compiled from.
#[derive(Debug)]
struct Published {
    snapshot: Snapshot,
    config: Arc<PolicySet>,
    /// `config` as selection sees it under provider health (see
    /// [`PolicySet::apply_health`]): what the snapshot was compiled from.
    /// The same `Arc` as `config` while nothing is down.
    effective: Arc<PolicySet>,
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
    retired: Option<Arc<Published>>,
    /// Told of every change to the set of names before it is published.
    observers: Observers,
    /// Provider health: state, never saved.
    health: HealthBook,
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
        let published = self.current.load();
        let snapshot = &published.snapshot;
        let decision = snapshot.select(domain, client)?;
        Some(Selection::new(&decision, snapshot.version()))
    }

    /// The decision for a client subnet (from an EDNS Client Subnet option);
    /// see [`Snapshot::select_subnet`] for the scope it returns.
    pub fn select_subnet(&self, domain: &str, client: IpNet) -> Option<Selection> {
        let published = self.current.load();
        let snapshot = &published.snapshot;
        let decision = snapshot.select_subnet(domain, client)?;
        Some(Selection::new(&decision, snapshot.version()))
    }

    /// Why `client` gets its answer for `domain`, from the current snapshot:
    /// the location found and from which data, every rule in precedence
    /// order with why it answered or not, the weights, and the answer (for a
    /// `random` policy, one sample pick). `None` when `domain` is not
    /// steered. Allocates: meant for consoles and logs, not the query path.
    ///
    /// Its [`health`](Explanation::health) lists the policy's providers
    /// that have a health state: up or down, since when, from checks or an
    /// override, and the last check results.
    pub fn explain(&self, domain: &str, client: IpAddr) -> Option<Explanation> {
        let explanation = self.current.load().snapshot.explain(domain, client)?;
        Some(self.with_health_notes(explanation))
    }

    /// As [`explain`](Self::explain) for a client subnet (EDNS Client
    /// Subnet), located like [`select_subnet`](Self::select_subnet).
    pub fn explain_subnet(&self, domain: &str, client: IpNet) -> Option<Explanation> {
        let explanation = self
            .current
            .load()
            .snapshot
            .explain_subnet(domain, client)?;
        Some(self.with_health_notes(explanation))
    }

    fn with_health_notes(&self, mut explanation: Explanation) -> Explanation {
        let now = SystemTime::now();
        let writer = self.lock_writer();
        explanation.health = writer
            .health
            .of_domain(&explanation.domain)
            .map(|h| h.note(now))
            .collect();
        explanation
    }

    /// Sets a provider up or down by hand or from an outside monitor,
    /// overriding its active checks until the override lapses
    /// ([`HealthOverride::until`]) or is cleared
    /// ([`clear_health_override`](Self::clear_health_override)); returns
    /// the version that serves it.
    ///
    /// A provider that is down is treated exactly like a disabled one (its
    /// weight is shared by its rules' live providers, a rule with none left
    /// is skipped), except that the policy's
    /// [`OnAllDown`](crate::policy::OnAllDown) decides when that would
    /// leave nothing but the built-in provider. Health is state: it is not
    /// part of [`config`](Self::config) and never saved. The change
    /// compiles only the policy it is on; a signal that changes nothing
    /// selection sees publishes nothing.
    ///
    /// Errors ([`SteeringError::Policy`]):
    /// [`UnknownPolicy`](crate::policy::PolicyError::UnknownPolicy),
    /// [`BuiltinProviderImmutable`](crate::policy::PolicyError::BuiltinProviderImmutable)
    /// (the built-in provider is never down),
    /// [`ProviderNotFound`](crate::policy::PolicyError::ProviderNotFound).
    ///
    /// ```
    /// # use steerage::{Steering, HealthOverride, geo::LocationTable, policy::Format};
    /// let steering = Steering::builder()
    ///     .config_str(r#"
    /// [builtin]
    /// cname = "edge.example.net"
    /// [[policy]]
    /// domain = "www.example.com"
    /// [[policy.provider]]
    /// name = "a"
    /// kind = "cdn"
    /// cname = "a.cdn.example"
    /// [[policy.provider]]
    /// name = "b"
    /// kind = "cdn"
    /// cname = "b.cdn.example"
    /// [policy.default]
    /// targets = [{ provider = "a", weight = 1 }, { provider = "b", weight = 1 }]
    /// "#, Format::Toml)
    ///     .locations(LocationTable::sample())
    ///     .build()?;
    /// let client = "198.51.100.7".parse()?;
    /// steering.set_health_override("www.example.com", "a", HealthOverride::down().reason("vendor incident"))?;
    /// for _ in 0..20 {
    ///     assert_eq!(steering.select("www.example.com", client).ok_or("?")?.provider(), "b");
    /// }
    /// // Health is not configuration.
    /// assert!(steering.config().policy("www.example.com").ok_or("?")?.provider("a").ok_or("?")?.is_enabled());
    /// steering.clear_health_override("www.example.com", "a")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_health_override(
        &self,
        domain: &str,
        provider: &str,
        signal: HealthOverride,
    ) -> Result<u64, SteeringError> {
        self.set_health_override_at(domain, provider, signal, SystemTime::now())
    }

    /// [`set_health_override`](Self::set_health_override) as of `now`
    /// (for tests and replays; expiry compares against it).
    pub fn set_health_override_at(
        &self,
        domain: &str,
        provider: &str,
        signal: HealthOverride,
        now: SystemTime,
    ) -> Result<u64, SteeringError> {
        let mut writer = self.lock_writer();
        let key = self.known_provider(domain, provider)?;
        writer.health.set_override(&key, signal, now);
        let mut domains = writer.health.expire(now);
        domains.push(key.domain().to_owned());
        self.publish_health(&mut writer, &domains, now)
    }

    /// Clears an outside signal: the provider's checks decide again (up if
    /// it has none). Returns the version that serves it.
    ///
    /// Errors: as [`set_health_override`](Self::set_health_override).
    pub fn clear_health_override(
        &self,
        domain: &str,
        provider: &str,
    ) -> Result<u64, SteeringError> {
        let now = SystemTime::now();
        let mut writer = self.lock_writer();
        let key = self.known_provider(domain, provider)?;
        let mut domains = writer.health.expire(now);
        if writer.health.clear_override(&key) {
            domains.push(key.domain().to_owned());
        }
        self.publish_health(&mut writer, &domains, now)
    }

    /// Records active check results: for each provider, the result and the
    /// checker's own state after it (rise and fall applied), then publishes
    /// once for all of them if selection sees a change (an override in
    /// force still wins). Results for providers the configuration no longer
    /// has (a check that raced a change) are dropped. Also lets lapsed
    /// overrides go. Returns the version that serves it.
    ///
    /// This is how a checker (`steerage-health`) drives a `Steering`; a
    /// probe shared by several policies reports once per provider, in one
    /// call.
    pub fn record_checks<I>(&self, reports: I) -> Result<u64, SteeringError>
    where
        I: IntoIterator<Item = (ProviderKey, bool, CheckResult)>,
    {
        let now = SystemTime::now();
        let mut writer = self.lock_writer();
        let state = self.current.load_full();
        let mut domains = writer.health.expire(now);
        for (key, up, result) in reports {
            let Some(policy) = state.config.policy(key.domain()) else {
                continue;
            };
            if policy.provider(key.provider()).is_none() {
                continue;
            }
            // Keyed by the configuration's spelling of the domain.
            let key = if key.domain() == policy.domain().as_str() {
                key
            } else {
                ProviderKey::new(policy.domain().as_str(), key.provider())
            };
            let was_down = writer.health.is_key_down(&key, now);
            writer.health.record(&key, up, result);
            if writer.health.is_key_down(&key, now) != was_down {
                domains.push(key.domain().to_owned());
            }
        }
        domains.sort_unstable();
        domains.dedup();
        self.publish_health(&mut writer, &domains, now)
    }

    /// Lets the overrides that lapsed by `now` go, publishing if selection
    /// sees a change; returns the version that serves. A checker calls it
    /// every second or so; every other health call does it too.
    pub fn expire_health_overrides(&self, now: SystemTime) -> Result<u64, SteeringError> {
        let mut writer = self.lock_writer();
        let domains = writer.health.expire(now);
        self.publish_health(&mut writer, &domains, now)
    }

    /// What is known of every provider's health (the providers nobody
    /// reported on are up and not listed), ordered by domain and provider.
    pub fn health(&self) -> Vec<ProviderHealth> {
        self.lock_writer().health.all().cloned().collect()
    }

    /// What is known of one provider's health (`None`: nothing, it is up).
    pub fn provider_health(&self, domain: &str, provider: &str) -> Option<ProviderHealth> {
        let key = ProviderKey::new(domain, provider);
        self.lock_writer().health.get(&key).cloned()
    }

    /// The key of a provider of the serving configuration, or why not.
    fn known_provider(&self, domain: &str, provider: &str) -> Result<ProviderKey, SteeringError> {
        let state = self.current.load_full();
        let config = &state.config;
        let policy = config
            .policy(domain)
            .ok_or_else(|| PolicyError::UnknownPolicy {
                domain: domain.chars().take(256).collect(),
            })?;
        if config.builtin().name().as_str() == provider {
            return Err(PolicyError::BuiltinProviderImmutable {
                policy: policy.domain().to_string(),
                provider: provider.to_owned(),
            }
            .into());
        }
        if policy.provider(provider).is_none() {
            return Err(PolicyError::ProviderNotFound {
                policy: policy.domain().to_string(),
                provider: provider.chars().take(256).collect(),
            }
            .into());
        }
        Ok(ProviderKey::new(policy.domain().as_str(), provider))
    }

    /// The current snapshot (one atomic load); read everything for one query
    /// from it. Its [`Decision`](crate::Decision)s borrow from it, so nothing
    /// is copied.
    pub fn snapshot(&self) -> SnapshotGuard {
        SnapshotGuard(self.current.load())
    }

    /// The version of the current snapshot.
    pub fn version(&self) -> u64 {
        self.current.load().snapshot.version()
    }

    /// The current configuration: the one the current snapshot was compiled
    /// from.
    pub fn config(&self) -> Arc<PolicySet> {
        Arc::clone(&self.current.load().config)
    }

    /// The current location table (without the custom lines).
    pub fn locations(&self) -> Arc<LocationTable> {
        Arc::clone(self.current.load().snapshot.base_locations())
    }

    /// The config file `reload` reads and `save` writes, if the builder was
    /// given one.
    pub fn config_path(&self) -> Option<&Path> {
        self.file.as_ref().map(ConfigFile::path)
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
        let current = self.current.load_full();
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
        let current = self.current.load_full();
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
        let current = self.current.load_full();
        let version = current.snapshot.version() + 1;
        // A scratch compiler, so a failure leaves the serving one as it was.
        let mut fresh = Compiler::new(table).with_merge_budget(self.merge_budget);
        let snapshot = fresh.compile(&current.effective, version)?;
        writer.compiler = fresh;
        let published = Published {
            snapshot,
            config: Arc::clone(&current.config),
            effective: Arc::clone(&current.effective),
        };
        self.store(&mut writer, published);
        Ok(version)
    }

    /// Writes the current configuration to the config file the builder was
    /// given, in its format, crash-safely (see [`save_to`](Self::save_to)).
    pub fn save(&self) -> Result<(), SteeringError> {
        let file = self.file.as_ref().ok_or(SteeringError::NoConfigFile)?;
        let _writer = self.lock_writer();
        file.save(&self.current.load().config)
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
        file.save(&self.current.load().config)
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
        let state = self.current.load_full();
        let observer = init(&state.config, state.snapshot.version())?;
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
        current: &Published,
        config: PolicySet,
    ) -> Result<u64, SteeringError> {
        if same_configuration(&current.config, &config) {
            // `config` is dropped: the serving set keeps its shared leaves,
            // which the next change's `changed_since` compares against.
            return Ok(current.snapshot.version());
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
        current: &Published,
        config: PolicySet,
    ) -> Result<u64, SteeringError> {
        let version = current.snapshot.version() + 1;
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
        let config = Arc::new(config);
        let effective = derive_effective(&config, &writer.health, SystemTime::now());
        let snapshot = match writer.compiler.compile(&effective, version) {
            Ok(snapshot) => snapshot,
            Err(error) => {
                prepared.abort();
                return Err(error.into());
            }
        };
        prepared.commit(version);
        // Health of providers the change deleted (or renamed) is forgotten.
        writer.health.retain(|key| {
            config
                .policy(key.domain())
                .is_some_and(|p| p.provider(key.provider()).is_some())
        });
        let published = Published {
            snapshot,
            config,
            effective,
        };
        self.store(writer, published);
        Ok(version)
    }

    /// Publishes the health-derived set again for `domains` (whose
    /// providers' health changed), compiling in proportion to them; returns
    /// the current version when selection sees no change. The caller holds
    /// the writer lock.
    fn publish_health(
        &self,
        writer: &mut Writer,
        domains: &[String],
        now: SystemTime,
    ) -> Result<u64, SteeringError> {
        let current = self.current.load_full();
        if domains.is_empty() {
            return Ok(current.snapshot.version());
        }
        let mut effective = PolicySet::clone(&current.effective);
        let mut changed = false;
        for domain in domains {
            let before = effective.shared_policy(domain).cloned();
            // A domain the configuration no longer has: nothing to do.
            if effective
                .apply_health(&current.config, domain, |p| {
                    writer.health.is_down(domain, p.as_str(), now)
                })
                .is_err()
            {
                continue;
            }
            let after = effective.shared_policy(domain);
            changed |= match (before, after) {
                (Some(b), Some(a)) => !Arc::ptr_eq(&b, a) && *b != **a,
                _ => true,
            };
        }
        if !changed {
            return Ok(current.snapshot.version());
        }
        let version = current.snapshot.version() + 1;
        writer.retired = None;
        let snapshot = writer.compiler.compile(&effective, version)?;
        let published = Published {
            snapshot,
            config: Arc::clone(&current.config),
            effective: Arc::new(effective),
        };
        self.store(writer, published);
        Ok(version)
    }

    /// Publishes, with one atomic store. The caller holds the writer lock.
    fn store(&self, writer: &mut Writer, published: Published) {
        let old = self.current.swap(Arc::new(published));
        // Drops the snapshot retired by the change before this one.
        writer.retired = Some(old);
    }
}

/// `config` as selection sees it under `health` at `now`: the policies with
/// a provider down derived anew, every other one shared with `config`.
fn derive_effective(
    config: &Arc<PolicySet>,
    health: &HealthBook,
    now: SystemTime,
) -> Arc<PolicySet> {
    let domains = health.domains_with_down(now);
    if domains.is_empty() {
        return Arc::clone(config);
    }
    let mut effective = PolicySet::clone(config);
    for domain in &domains {
        // Health of a domain the configuration lacks is ignored (it is
        // forgotten once this change is published).
        let _absent =
            effective.apply_health(config, domain, |p| health.is_down(domain, p.as_str(), now));
    }
    Arc::new(effective)
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
        let published = self.current.load();
        let snapshot = &published.snapshot;
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
        let config = Arc::new(config);
        Ok(Steering {
            current: ArcSwap::from_pointee(Published {
                snapshot,
                effective: Arc::clone(&config),
                config,
            }),
            file,
            writer: Mutex::new(Writer {
                compiler,
                retired: None,
                observers: Observers::default(),
                health: HealthBook::default(),
            }),
            merge_budget: self.merge_budget,
        })
    }
}
