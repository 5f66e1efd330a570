//! The checker: one task per probe on the caller's tokio runtime, one
//! reporter thread that hands results to the `Steering`, and a watcher that
//! follows configuration changes and lets lapsed overrides go.
//!
//! The reporter is a plain thread because `Steering::record_checks` may
//! wait for the writer lock (behind a large `apply` or `reload`) and then
//! compile: neither belongs on a runtime worker. It takes every report
//! waiting and passes them in one call, so a probe shared by many policies,
//! or many probes failing together, cost one publish.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, SystemTime};

use rand::RngExt;
use rustls::ClientConfig;
use steerage::policy::{CheckKind, PolicySet};
use steerage::{CheckResult, ProviderKey, Steering};
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::debounce::Debounce;
use crate::plan::{PlannedProbe, ProbeSpec, Schedule, plan};
use crate::{HealthError, probe, tls};

/// One check's result as the reporter hands it on, to the `Steering` and to
/// a [`CheckObserver`].
#[derive(Debug)]
#[non_exhaustive]
pub struct CheckEvent<'a> {
    /// The providers the probe reports for.
    pub providers: &'a [ProviderKey],
    /// The protocol.
    pub kind: CheckKind,
    /// Where it connected (`target:port`).
    pub target: String,
    /// The result.
    pub result: &'a CheckResult,
    /// The probe's state after it (rise and fall applied).
    pub up: bool,
    /// Whether this result changed that state.
    pub changed: bool,
}

/// Told of every check result, on the reporter thread, after the
/// `Steering` was (for metrics and logs). Must not block.
pub trait CheckObserver: Send + Sync {
    /// One result.
    fn observe(&self, event: &CheckEvent<'_>);
}

/// Counts since the checker started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CheckerStats {
    /// Checks run.
    pub checks: u64,
    /// Checks failed.
    pub failures: u64,
    /// Changes of a probe's state (up to down or back).
    pub changes: u64,
    /// Calls to `Steering::record_checks` that failed (the snapshot could
    /// not be compiled; the previous one kept serving).
    pub report_errors: u64,
}

/// Runs the active checks of a [`Steering`]'s configuration and feeds their
/// results to it ([`Steering::record_checks`]).
///
/// Stopping: [`stop`](Self::stop), or dropping it, ends every probe; the
/// provider states it reported stay in the `Steering` (clear them with
/// overrides if the checks will not come back).
pub struct HealthChecker {
    inner: Arc<Inner>,
    watcher: JoinHandle<()>,
}

/// Builds a [`HealthChecker`].
pub struct HealthCheckerBuilder {
    steering: Arc<Steering>,
    observer: Option<Arc<dyn CheckObserver>>,
    follow: Duration,
}

struct Inner {
    steering: Arc<Steering>,
    runtime: Handle,
    reports: mpsc::UnboundedSender<Report>,
    state: Mutex<Running>,
    /// Per probe id, the providers it reports for (read by the reporter).
    subscribers: Arc<Mutex<HashMap<u64, Probe>>>,
    stats: Arc<Stats>,
}

#[derive(Default)]
struct Stats {
    checks: AtomicU64,
    failures: AtomicU64,
    changes: AtomicU64,
    report_errors: AtomicU64,
}

/// What the reporter knows of a probe.
#[derive(Clone)]
struct Probe {
    providers: Vec<ProviderKey>,
    kind: CheckKind,
    target: String,
}

#[derive(Default)]
struct Running {
    next_id: u64,
    probes: BTreeMap<(ProbeSpec, Schedule), (u64, JoinHandle<()>)>,
    /// The configuration the probes were planned from.
    planned: Option<Arc<PolicySet>>,
    last_error: Option<HealthError>,
}

struct Report {
    probe: u64,
    up: bool,
    changed: bool,
    result: CheckResult,
}

impl HealthChecker {
    /// A builder for a checker of `steering`'s configuration.
    pub fn builder(steering: Arc<Steering>) -> HealthCheckerBuilder {
        HealthCheckerBuilder {
            steering,
            observer: None,
            follow: Duration::from_secs(1),
        }
    }

    /// Starts checking `steering`'s configuration with the defaults (no
    /// observer; configuration followed every second).
    pub fn start(steering: Arc<Steering>) -> Result<Self, HealthError> {
        Self::builder(steering).start()
    }

    /// Plans the probes of the serving configuration again now (the
    /// watcher does this by itself within a second of a change): probes
    /// that stay keep their state, new ones start, gone ones stop. Returns
    /// the number of probes. On error (a CA file that cannot be read)
    /// nothing changes.
    pub fn reload(&self) -> Result<usize, HealthError> {
        self.inner.reload()
    }

    /// The number of probes running.
    pub fn probes(&self) -> usize {
        self.inner.lock().probes.len()
    }

    /// The last error of a reload the watcher made, if the last one failed.
    pub fn last_error(&self) -> Option<HealthError> {
        self.inner.lock().last_error.clone()
    }

    /// Counts since start.
    pub fn stats(&self) -> CheckerStats {
        let s = &self.inner.stats;
        CheckerStats {
            checks: s.checks.load(Ordering::Relaxed),
            failures: s.failures.load(Ordering::Relaxed),
            changes: s.changes.load(Ordering::Relaxed),
            report_errors: s.report_errors.load(Ordering::Relaxed),
        }
    }

    /// Stops every probe and the watcher.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for HealthChecker {
    fn drop(&mut self) {
        self.watcher.abort();
        let mut running = self.inner.lock();
        for (_, (_, task)) in std::mem::take(&mut running.probes) {
            task.abort();
        }
    }
}

impl HealthCheckerBuilder {
    /// Tells `observer` of every result.
    #[must_use]
    pub fn observer(mut self, observer: Arc<dyn CheckObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// How often the watcher looks for a new configuration and lapsed
    /// overrides (default 1 s; at least 10 ms).
    #[must_use]
    pub fn follow_every(mut self, every: Duration) -> Self {
        self.follow = every.max(Duration::from_millis(10));
        self
    }

    /// Starts: plans and starts the probes of the serving configuration,
    /// the reporter thread and the watcher, on the current tokio runtime.
    ///
    /// Errors: [`NoRuntime`](HealthError::NoRuntime) outside a runtime;
    /// [`CaFile`](HealthError::CaFile) and [`Tls`](HealthError::Tls) for a
    /// check's TLS settings.
    pub fn start(self) -> Result<HealthChecker, HealthError> {
        let runtime = Handle::try_current().map_err(|_| HealthError::NoRuntime)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let subscribers = Arc::new(Mutex::new(HashMap::new()));
        let stats = Arc::new(Stats::default());
        let inner = Arc::new(Inner {
            steering: Arc::clone(&self.steering),
            runtime,
            reports: tx,
            state: Mutex::new(Running::default()),
            subscribers: Arc::clone(&subscribers),
            stats: Arc::clone(&stats),
        });
        inner.reload()?;
        let reporter = Reporter {
            steering: self.steering,
            subscribers,
            stats,
            observer: self.observer,
        };
        thread::Builder::new()
            .name("steerage-health-reporter".into())
            .spawn(move || reporter.run(rx))
            .map_err(|e| HealthError::Tls {
                message: format!("cannot start the reporter thread: {e}"),
            })?;
        let watcher = tokio::spawn(watch(Arc::downgrade(&inner), self.follow));
        Ok(HealthChecker { inner, watcher })
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Running> {
        // A panic under this lock leaves plain data; go on with it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn reload(&self) -> Result<usize, HealthError> {
        let config = self.steering.config();
        let planned = plan(&config);
        let mut running = self.lock();
        // Build every new probe's TLS settings first: an error changes
        // nothing.
        let mut tls_cache: HashMap<(bool, Option<std::path::PathBuf>), Arc<ClientConfig>> =
            HashMap::new();
        let mut fresh = Vec::new();
        for probe in &planned {
            let key = (probe.spec.clone(), probe.schedule);
            if running.probes.contains_key(&key) {
                continue;
            }
            let tls = if probe.spec.kind == CheckKind::Https {
                let cache_key = (probe.spec.verify, probe.spec.ca_file.clone());
                let config = match tls_cache.get(&cache_key) {
                    Some(config) => Arc::clone(config),
                    None => {
                        let config =
                            tls::client_config(probe.spec.verify, probe.spec.ca_file.as_deref())?;
                        tls_cache.insert(cache_key, Arc::clone(&config));
                        config
                    }
                };
                Some(config)
            } else {
                None
            };
            fresh.push((probe.clone(), tls));
        }
        let mut wanted: BTreeMap<(ProbeSpec, Schedule), &PlannedProbe> = planned
            .iter()
            .map(|p| ((p.spec.clone(), p.schedule), p))
            .collect();
        let mut subscribers = self
            .subscribers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Gone probes stop; kept ones get their (maybe new) subscribers.
        running
            .probes
            .retain(|key, (id, task)| match wanted.remove(key) {
                Some(p) => {
                    subscribers.insert(*id, probe_info(p));
                    true
                }
                None => {
                    task.abort();
                    subscribers.remove(id);
                    false
                }
            });
        for (probe, tls) in fresh {
            let id = running.next_id;
            running.next_id += 1;
            subscribers.insert(id, probe_info(&probe));
            let task = self.runtime.spawn(run_probe(
                id,
                probe.spec.clone(),
                probe.schedule,
                tls,
                self.reports.clone(),
            ));
            running
                .probes
                .insert((probe.spec, probe.schedule), (id, task));
        }
        running.planned = Some(config);
        running.last_error = None;
        Ok(running.probes.len())
    }
}

fn probe_info(p: &PlannedProbe) -> Probe {
    Probe {
        providers: p.subscribers.clone(),
        kind: p.spec.kind,
        target: format!("{}:{}", p.spec.target, p.spec.port),
    }
}

/// One probe: a check every interval (plus jitter), counted with rise and
/// fall, reported.
async fn run_probe(
    id: u64,
    spec: ProbeSpec,
    schedule: Schedule,
    tls: Option<Arc<ClientConfig>>,
    reports: mpsc::UnboundedSender<Report>,
) {
    let mut debounce = Debounce::new(schedule.rise, schedule.fall);
    let mut ticker = tokio::time::interval(schedule.interval);
    // A late tick does not bunch checks up.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if !schedule.jitter.is_zero() {
            let jitter = rand::rng().random_range(Duration::ZERO..=schedule.jitter);
            tokio::time::sleep(jitter).await;
        }
        let result = probe::check(&spec, tls.as_ref()).await;
        let was = debounce.is_up();
        let up = debounce.record(result.ok);
        let report = Report {
            probe: id,
            up,
            changed: up != was,
            result,
        };
        if reports.send(report).is_err() {
            return;
        }
    }
}

/// Follows the configuration and lets lapsed overrides go, until the
/// checker is dropped.
async fn watch(inner: std::sync::Weak<Inner>, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(strong) = inner.upgrade() else {
            return;
        };
        // Both may wait for the writer lock: off the runtime's workers.
        let done = tokio::task::spawn_blocking(move || {
            let _ignored = strong.steering.expire_health_overrides(SystemTime::now());
            let current = strong.steering.config();
            let changed = strong
                .lock()
                .planned
                .as_ref()
                .is_none_or(|planned| !Arc::ptr_eq(planned, &current));
            if changed && let Err(error) = strong.reload() {
                let mut running = strong.lock();
                // Not planned: tried again on the next change only.
                running.planned = Some(current);
                running.last_error = Some(error);
            }
        })
        .await;
        if done.is_err() {
            return;
        }
    }
}

/// How long the reporter gathers results before handing them on.
const GATHER: Duration = Duration::from_millis(10);

struct Reporter {
    steering: Arc<Steering>,
    subscribers: Arc<Mutex<HashMap<u64, Probe>>>,
    stats: Arc<Stats>,
    observer: Option<Arc<dyn CheckObserver>>,
}

impl Reporter {
    fn run(self, mut rx: mpsc::UnboundedReceiver<Report>) {
        while let Some(first) = rx.blocking_recv() {
            // Results that come within the gathering window join this
            // batch: one wake-up and one `record_checks` for all of them
            // rather than one each (at a thousand checks a second, the
            // wake-ups alone cost more than the checks' own work). The
            // window adds at most its length to a failover.
            thread::sleep(GATHER);
            let mut batch = vec![first];
            while let Ok(more) = rx.try_recv() {
                batch.push(more);
            }
            self.report(&batch);
        }
    }

    fn report(&self, batch: &[Report]) {
        let probes: Vec<Option<Probe>> = {
            let subscribers = self
                .subscribers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            batch
                .iter()
                .map(|r| subscribers.get(&r.probe).cloned())
                .collect()
        };
        let mut records = Vec::new();
        for (report, probe) in batch.iter().zip(&probes) {
            self.stats.checks.fetch_add(1, Ordering::Relaxed);
            if !report.result.ok {
                self.stats.failures.fetch_add(1, Ordering::Relaxed);
            }
            if report.changed {
                self.stats.changes.fetch_add(1, Ordering::Relaxed);
            }
            // A probe stopped by a reload since: its result is dropped.
            let Some(probe) = probe else { continue };
            for key in &probe.providers {
                records.push((key.clone(), report.up, report.result.clone()));
            }
        }
        if self.steering.record_checks(records).is_err() {
            self.stats.report_errors.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(observer) = &self.observer {
            for (report, probe) in batch.iter().zip(&probes) {
                let Some(probe) = probe else { continue };
                observer.observe(&CheckEvent {
                    providers: &probe.providers,
                    kind: probe.kind,
                    target: probe.target.clone(),
                    result: &report.result,
                    up: report.up,
                    changed: report.changed,
                });
            }
        }
    }
}
