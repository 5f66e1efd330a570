//! Reloading what the server serves: the configuration file and the IP data
//! files, on SIGHUP and when a file changes. Each reload is logged with the
//! version it published and what changed; a refused one is logged with its
//! error while the old configuration or data keeps serving.
//!
//! Hides how a change is detected (a fingerprint of each file: size,
//! modification time, inode) and what a trigger reloads: a file change
//! reloads the files whose fingerprint moved; SIGHUP reads the
//! configuration again in any case (a file that configures what is already
//! served publishes nothing) and the IP data when a data file moved, since
//! compiling a city database takes seconds.
//!
//! After each reload that publishes, the warnings of `steerage check` (a
//! line that can never match with the data, a shadowed rule, a steered
//! name at a zone apex) that are new are logged.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use steerage::Steering;
use steerage::geo::LocationTable;
use steerage::policy::PolicySet;
use tracing::{debug, error, info, warn};

use super::metrics::{Metrics, ReloadKind};
use crate::check::{self, Warning};
use crate::data::{DataArgs, IpData};
use crate::logging::error_chain;

/// What asked for a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Trigger {
    /// A watched file changed (after the burst of events settled).
    FileChange,
    /// SIGHUP.
    Signal,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Self::FileChange => "file change",
            Self::Signal => "SIGHUP",
        }
    }
}

/// What identifies one state of a file: a file rewritten in place changes
/// size or modification time, a file replaced by rename changes inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    modified: Option<SystemTime>,
    inode: (u64, u64),
}

/// The fingerprint of the file `path` names now (following symbolic
/// links); `None` when it cannot be read.
fn fingerprint(path: &Path) -> Option<Fingerprint> {
    let metadata = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = {
        use std::os::unix::fs::MetadataExt;
        (metadata.dev(), metadata.ino())
    };
    #[cfg(not(unix))]
    let inode = (0, 0);
    Some(Fingerprint {
        len: metadata.len(),
        modified: metadata.modified().ok(),
        inode,
    })
}

/// Reloads the configuration and the IP data of one [`Steering`]; one
/// reload at a time (the server runs them in order, off the answering
/// threads).
pub(crate) struct Reloader {
    steering: Arc<Steering>,
    config: PathBuf,
    ip_data: DataArgs,
    /// The IP data serving (its sources, for the warnings).
    loaded: IpData,
    /// The warnings logged for what serves.
    warned: BTreeSet<Warning>,
    metrics: Option<Metrics>,
    /// Each file's fingerprint when it was last read (successfully or not),
    /// so a file is read again only once it changes again.
    seen: HashMap<PathBuf, Option<Fingerprint>>,
}

impl Reloader {
    /// Takes the fingerprints of the files as they are now: call it before
    /// they are first loaded, so a change made while they load is not missed.
    pub(crate) fn fingerprint_files(config: &Path, ip_data: &DataArgs) -> FilesSeen {
        FilesSeen(
            std::iter::once(config)
                .chain(data_files(ip_data))
                .map(|path| (path.to_path_buf(), fingerprint(path)))
                .collect(),
        )
    }

    /// A reloader for `steering`, built from `config` and `ip_data` whose
    /// fingerprints were taken before they were loaded.
    pub(crate) fn new(
        steering: Arc<Steering>,
        config: PathBuf,
        ip_data: DataArgs,
        loaded: IpData,
        seen: FilesSeen,
        metrics: Option<Metrics>,
    ) -> Self {
        Self {
            steering,
            config,
            ip_data,
            loaded,
            warned: BTreeSet::new(),
            metrics,
            seen: seen.0,
        }
    }

    /// Every file a change of which is worth a reload.
    pub(crate) fn files(&self) -> Vec<PathBuf> {
        std::iter::once(self.config.as_path())
            .chain(data_files(&self.ip_data))
            .map(Path::to_path_buf)
            .collect()
    }

    /// Reloads what `trigger` calls for. Blocking: compiling IP data takes
    /// seconds.
    pub(crate) fn reload(&mut self, trigger: Trigger) {
        let files: Vec<PathBuf> = data_files(&self.ip_data).map(Path::to_path_buf).collect();
        let moved: Vec<PathBuf> = files.into_iter().filter(|path| self.moved(path)).collect();
        if !moved.is_empty() {
            self.reload_ip_data(trigger, &moved);
        } else if trigger == Trigger::Signal && data_files(&self.ip_data).next().is_some() {
            info!(trigger = trigger.as_str(), "ip data unchanged");
        }
        let config = self.config.clone();
        if trigger == Trigger::Signal || self.moved(&config) {
            self.reload_config(trigger);
        } else {
            debug!(trigger = trigger.as_str(), "no served file changed");
        }
    }

    /// Whether `path` changed since it was last read; records its new
    /// fingerprint.
    fn moved(&mut self, path: &Path) -> bool {
        let now = fingerprint(path);
        let before = self.seen.insert(path.to_path_buf(), now);
        before != Some(now)
    }

    fn reload_config(&mut self, trigger: Trigger) {
        let started = Instant::now();
        let previous = self.steering.version();
        let old = self.steering.config();
        // `moved` recorded the fingerprint before this read: a write that
        // lands during it is seen as a change next time.
        let _ = self.moved(&self.config.clone());
        match self.steering.reload() {
            Ok(version) if version == previous => {
                self.count(ReloadKind::Config, true);
                info!(
                    trigger = trigger.as_str(),
                    version,
                    config = %self.config.display(),
                    elapsed_ms = elapsed_ms(started),
                    "config unchanged"
                );
            }
            Ok(version) => {
                self.count(ReloadKind::Config, true);
                let new = self.steering.config();
                info!(
                    trigger = trigger.as_str(),
                    version,
                    previous,
                    config = %self.config.display(),
                    policies = new.len(),
                    changes = %ConfigChanges::between(&old, &new),
                    elapsed_ms = elapsed_ms(started),
                    "config reloaded"
                );
                self.publish_gauges();
                self.log_warnings();
            }
            Err(err) => {
                self.count(ReloadKind::Config, false);
                error!(
                    trigger = trigger.as_str(),
                    version = previous,
                    config = %self.config.display(),
                    error = %error_chain(&err),
                    "config reload refused; the previous configuration keeps serving"
                );
            }
        }
    }

    fn reload_ip_data(&mut self, trigger: Trigger, moved: &[PathBuf]) {
        let started = Instant::now();
        let previous = self.steering.version();
        let changed = moved
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let refused = |this: &Self, message: String| {
            this.count(ReloadKind::IpData, false);
            error!(
                trigger = trigger.as_str(),
                version = previous,
                changed = %changed,
                error = %message,
                "ip data reload refused; the previous ip data keeps serving"
            );
        };
        let loaded = match self.ip_data.load() {
            Ok(loaded) => loaded,
            Err(err) => return refused(self, error_chain(&err)),
        };
        let before = TableSize::of(&self.steering.locations());
        let after = TableSize::of(&loaded.table);
        match self.steering.set_locations(Arc::clone(&loaded.table)) {
            Ok(version) => {
                self.count(ReloadKind::IpData, true);
                info!(
                    trigger = trigger.as_str(),
                    version,
                    previous,
                    changed = %changed,
                    table = %format_args!("{before} -> {after}"),
                    elapsed_ms = elapsed_ms(started),
                    "ip data reloaded"
                );
                self.loaded = loaded;
                self.publish_gauges();
                self.log_warnings();
            }
            Err(err) => refused(self, error_chain(&err)),
        }
    }

    fn count(&self, what: ReloadKind, ok: bool) {
        if let Some(metrics) = &self.metrics {
            metrics.count_reload(what, ok);
        }
    }

    /// Logs the warnings `steerage check` gives for what serves now that
    /// were not logged for what served before (all of them the first time).
    pub(crate) fn log_warnings(&mut self) {
        let config = self.steering.config();
        let snapshot = self.steering.snapshot();
        let now: BTreeSet<Warning> = check::warnings(&config, &self.loaded, &snapshot)
            .into_iter()
            .collect();
        for warning in now.difference(&self.warned) {
            warn!(
                kind = warning.kind,
                policy = %warning.policy,
                rule = warning.rule.as_deref().unwrap_or(""),
                line = warning.line.as_deref().unwrap_or(""),
                "{}",
                warning.message
            );
        }
        self.warned = now;
    }

    /// Sets the gauges to what is serving now.
    pub(crate) fn publish_gauges(&self) {
        if let Some(metrics) = &self.metrics {
            metrics.set_config(self.steering.version(), self.steering.config().len());
            metrics.set_locations(&self.steering.locations());
        }
    }
}

/// The `--geo` and `--asn` files.
pub(crate) fn data_files(data: &DataArgs) -> impl Iterator<Item = &Path> {
    data.geo.iter().chain(&data.asn).map(PathBuf::as_path)
}

/// The `--geo` and `--asn` files for logs (`geo a.mmdb, asn b.csv`), or
/// the built-in sample data.
pub(crate) fn describe_data(data: &DataArgs) -> String {
    if data.geo.is_empty() && data.asn.is_empty() {
        return "built-in sample data".to_owned();
    }
    data.geo
        .iter()
        .map(|p| format!("geo {}", p.display()))
        .chain(data.asn.iter().map(|p| format!("asn {}", p.display())))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The fingerprints of the served files before their first load.
#[derive(Debug)]
pub(crate) struct FilesSeen(HashMap<PathBuf, Option<Fingerprint>>);

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The size of a location table, for logs.
struct TableSize {
    v4: usize,
    v6: usize,
    locations: usize,
}

impl TableSize {
    fn of(table: &LocationTable) -> Self {
        let stats = table.stats();
        Self {
            v4: stats.ranges_v4,
            v6: stats.ranges_v6,
            locations: stats.locations,
        }
    }
}

impl fmt::Display for TableSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ipv4 ranges, {} ipv6 ranges, {} locations",
            self.v4, self.v6, self.locations
        )
    }
}

/// Which policies a reload added, removed or changed, and whether the
/// built-in provider or the custom lines changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ConfigChanges {
    added: Vec<String>,
    removed: Vec<String>,
    changed: Vec<String>,
    builtin: bool,
    custom_lines: bool,
}

/// Names listed per kind of change in a log line; the rest are counted.
const NAMES_LISTED: usize = 10;

impl ConfigChanges {
    pub(crate) fn between(old: &PolicySet, new: &PolicySet) -> Self {
        let mut changes = Self {
            builtin: old.builtin() != new.builtin(),
            custom_lines: !old.custom_lines().eq(new.custom_lines()),
            ..Self::default()
        };
        for policy in new.policies() {
            let domain = policy.domain().as_str();
            match old.policy(domain) {
                None => changes.added.push(domain.to_owned()),
                Some(before) if before != policy => changes.changed.push(domain.to_owned()),
                Some(_) => {}
            }
        }
        for policy in old.policies() {
            let domain = policy.domain().as_str();
            if new.policy(domain).is_none() {
                changes.removed.push(domain.to_owned());
            }
        }
        changes
    }
}

impl fmt::Display for ConfigChanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for (what, names) in [
            ("added", &self.added),
            ("removed", &self.removed),
            ("changed", &self.changed),
        ] {
            if names.is_empty() {
                continue;
            }
            let mut part = format!(
                "{what} {}",
                names[..names.len().min(NAMES_LISTED)].join(" ")
            );
            if names.len() > NAMES_LISTED {
                part.push_str(&format!(" and {} more", names.len() - NAMES_LISTED));
            }
            parts.push(part);
        }
        if self.builtin {
            parts.push("built-in provider changed".to_owned());
        }
        if self.custom_lines {
            parts.push("custom lines changed".to_owned());
        }
        if parts.is_empty() {
            // Only order, layout or spelling: nothing that serves differently.
            return f.write_str("none");
        }
        f.write_str(&parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use steerage::policy::Format;

    use super::*;

    fn set(text: &str) -> PolicySet {
        PolicySet::from_str_in(text, Format::Toml).unwrap()
    }

    const BASE: &str = r#"
        [builtin]
        cname = "edge.example.org"
        [[policy]]
        domain = "a.example.com"
        [[policy]]
        domain = "b.example.com"
    "#;

    #[test]
    fn changes_name_the_domains() {
        let old = set(BASE);
        let new = set(r#"
            [builtin]
            cname = "edge.example.org"
            [[policy]]
            domain = "b.example.com"
            ttl = 30
            [[policy]]
            domain = "c.example.com"
            "#);
        let changes = ConfigChanges::between(&old, &new);
        assert_eq!(
            changes.to_string(),
            "added c.example.com; removed a.example.com; changed b.example.com"
        );
        assert_eq!(ConfigChanges::between(&old, &old).to_string(), "none");
    }

    #[test]
    fn long_lists_are_counted() {
        let mut text = String::from("[builtin]\ncname = \"edge.example.org\"\n");
        for i in 0..25 {
            text.push_str(&format!("[[policy]]\ndomain = \"d{i:02}.example.com\"\n"));
        }
        let changes = ConfigChanges::between(&set(BASE), &set(&text));
        let shown = changes.to_string();
        assert!(
            shown.starts_with("added d00.example.com d01.example.com"),
            "{shown}"
        );
        assert!(shown.contains("and 15 more"), "{shown}");
    }

    #[test]
    fn a_file_rewritten_or_replaced_has_a_new_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.toml");
        std::fs::write(&path, "one").unwrap();
        let first = fingerprint(&path);
        assert!(first.is_some());
        assert_eq!(fingerprint(&path), first);
        std::fs::write(&path, "three").unwrap();
        let second = fingerprint(&path);
        assert_ne!(second, first);
        // Same size, replaced by rename: another inode.
        let other = dir.path().join("g.toml");
        std::fs::write(&other, "three").unwrap();
        std::fs::rename(&other, &path).unwrap();
        assert_ne!(fingerprint(&path), second);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(fingerprint(&path), None);
    }
}
