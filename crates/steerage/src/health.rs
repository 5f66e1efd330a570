//! Provider health as state: what a [`Steering`](crate::Steering) knows of
//! each provider (active check results and outside signals), and which
//! providers that makes down.
//!
//! This module hides how the two sources combine: an outside signal
//! ([`HealthOverride`], from an operator or a monitor) overrides the checks
//! until it expires or is cleared; without one the checker's own
//! rise/fall-debounced state decides; a provider nobody reported on is up.
//! Nothing here is configuration, and nothing is saved.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::{Duration, SystemTime};

use steerage_engine::HealthNote;

/// How many check results are kept per provider (for `explain` and the
/// health report).
pub const KEPT_RESULTS: usize = 8;

/// One provider of one policy, by the policy's domain (normalised: lower
/// case, no trailing dot) and the provider's name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderKey {
    domain: String,
    provider: String,
}

impl ProviderKey {
    /// The provider `provider` of the policy for `domain` (compared like
    /// `select` compares domains: case-insensitively, one trailing dot
    /// ignored).
    pub fn new(domain: &str, provider: &str) -> Self {
        let domain = domain.strip_suffix('.').unwrap_or(domain);
        Self {
            domain: domain.to_ascii_lowercase(),
            provider: provider.to_owned(),
        }
    }
    /// The policy's domain, normalised.
    pub fn domain(&self) -> &str {
        &self.domain
    }
    /// The provider's name.
    pub fn provider(&self) -> &str {
        &self.provider
    }
}

impl fmt::Display for ProviderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.provider)
    }
}

/// The result of one active check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckResult {
    /// When it finished.
    pub at: SystemTime,
    /// Whether it passed.
    pub ok: bool,
    /// How long it took (up to the timeout).
    pub latency: Duration,
    /// What happened, in words (`HTTP 200`, `connection refused`,
    /// `timed out after 2000 ms`, ...).
    pub detail: String,
}

impl CheckResult {
    /// A result.
    pub fn new(at: SystemTime, ok: bool, latency: Duration, detail: impl Into<String>) -> Self {
        Self {
            at,
            ok,
            latency,
            detail: detail.into(),
        }
    }
}

/// An outside signal: a provider set up or down by hand or by a monitor,
/// overriding the active checks until it expires or is cleared.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HealthOverride {
    /// Whether the provider is up.
    pub up: bool,
    /// When the override lapses (`None`: until cleared).
    pub until: Option<SystemTime>,
    /// Why, for `explain` and the health report.
    pub reason: String,
}

impl HealthOverride {
    /// The provider is down until cleared.
    pub fn down() -> Self {
        Self {
            up: false,
            until: None,
            reason: String::new(),
        }
    }
    /// The provider is up until cleared, whatever its checks say.
    pub fn up() -> Self {
        Self {
            up: true,
            ..Self::down()
        }
    }
    /// The override lapses at `until`.
    #[must_use]
    pub fn until(mut self, until: SystemTime) -> Self {
        self.until = Some(until);
        self
    }
    /// Why.
    #[must_use]
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = reason.into();
        self
    }
}

/// Where a provider's current state comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HealthSource {
    /// Nobody reported on it: up.
    Unknown,
    /// Its active checks.
    Checks,
    /// An outside signal ([`HealthOverride`]).
    Override,
}

/// What a [`Steering`](crate::Steering) knows of one provider's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderHealth {
    key: ProviderKey,
    /// The checker's debounced state and since when.
    checked: Option<(bool, SystemTime)>,
    results: VecDeque<CheckResult>,
    overridden: Option<(HealthOverride, SystemTime)>,
}

impl ProviderHealth {
    fn new(key: ProviderKey) -> Self {
        Self {
            key,
            checked: None,
            results: VecDeque::new(),
            overridden: None,
        }
    }

    /// Which provider.
    pub fn key(&self) -> &ProviderKey {
        &self.key
    }
    /// Whether it is down (treated as disabled) at `now`.
    pub fn is_down_at(&self, now: SystemTime) -> bool {
        match self.live_override(now) {
            Some((o, _)) => !o.up,
            None => self.checked.is_some_and(|(up, _)| !up),
        }
    }
    /// Whether it is down now.
    pub fn is_down(&self) -> bool {
        self.is_down_at(SystemTime::now())
    }
    /// Where its state at `now` comes from.
    pub fn source_at(&self, now: SystemTime) -> HealthSource {
        if self.live_override(now).is_some() {
            HealthSource::Override
        } else if self.checked.is_some() {
            HealthSource::Checks
        } else {
            HealthSource::Unknown
        }
    }
    /// Since when its state at `now` has held, if known.
    pub fn since_at(&self, now: SystemTime) -> Option<SystemTime> {
        match self.live_override(now) {
            Some((_, since)) => Some(*since),
            None => self.checked.map(|(_, since)| since),
        }
    }
    /// The override in force at `now`, if any.
    pub fn override_at(&self, now: SystemTime) -> Option<&HealthOverride> {
        self.live_override(now).map(|(o, _)| o)
    }
    /// The checker's own state (rise/fall applied), if it reported one.
    pub fn checks_up(&self) -> Option<bool> {
        self.checked.map(|(up, _)| up)
    }
    /// The last check results, oldest first (at most [`KEPT_RESULTS`]).
    pub fn results(&self) -> impl ExactSizeIterator<Item = &CheckResult> + '_ {
        self.results.iter()
    }

    fn live_override(&self, now: SystemTime) -> Option<&(HealthOverride, SystemTime)> {
        self.overridden
            .as_ref()
            .filter(|(o, _)| o.until.is_none_or(|until| now < until))
    }

    /// A note for `explain`, as of `now`.
    pub(crate) fn note(&self, now: SystemTime) -> HealthNote {
        let mut detail = match self.live_override(now) {
            Some((o, _)) => {
                let mut d = format!("set {} by hand", if o.up { "up" } else { "down" });
                if let Some(left) = o.until.and_then(|u| u.duration_since(now).ok()) {
                    d.push_str(&format!(" for {} s more", left.as_secs()));
                }
                if !o.reason.is_empty() {
                    d.push_str(&format!(" ({})", o.reason));
                }
                d
            }
            None if self.checked.is_some() => "from its checks".to_owned(),
            None => "no report".to_owned(),
        };
        if !self.results.is_empty() {
            detail.push_str("; last checks:");
            for r in self.results.iter().rev().take(3) {
                detail.push_str(&format!(
                    " {} {} ms {};",
                    if r.ok { "ok" } else { "FAIL" },
                    r.latency.as_millis(),
                    r.detail
                ));
            }
        }
        HealthNote::new(
            self.key.provider.clone(),
            self.is_down_at(now),
            self.since_at(now),
            detail,
        )
    }
}

/// Everything a `Steering` knows of health, kept by its writer.
#[derive(Debug, Default)]
pub(crate) struct HealthBook {
    providers: BTreeMap<ProviderKey, ProviderHealth>,
}

impl HealthBook {
    fn entry(&mut self, key: &ProviderKey) -> &mut ProviderHealth {
        self.providers
            .entry(key.clone())
            .or_insert_with(|| ProviderHealth::new(key.clone()))
    }

    /// Records a check result and the checker's debounced state.
    pub(crate) fn record(&mut self, key: &ProviderKey, up: bool, result: CheckResult) {
        let entry = self.entry(key);
        let at = result.at;
        match entry.checked {
            Some((was, _)) if was == up => {}
            _ => entry.checked = Some((up, at)),
        }
        if entry.results.len() == KEPT_RESULTS {
            entry.results.pop_front();
        }
        entry.results.push_back(result);
    }

    pub(crate) fn set_override(&mut self, key: &ProviderKey, o: HealthOverride, now: SystemTime) {
        let entry = self.entry(key);
        // An override that keeps the state keeps its start.
        let since = match entry.live_override(now) {
            Some((old, since)) if old.up == o.up => *since,
            _ => now,
        };
        entry.overridden = Some((o, since));
    }

    /// Clears the override; whether there was one.
    pub(crate) fn clear_override(&mut self, key: &ProviderKey) -> bool {
        self.providers
            .get_mut(key)
            .is_some_and(|e| e.overridden.take().is_some())
    }

    /// Drops overrides that lapsed by `now`; the domains they were on.
    pub(crate) fn expire(&mut self, now: SystemTime) -> Vec<String> {
        let mut domains = Vec::new();
        for entry in self.providers.values_mut() {
            let lapsed = entry
                .overridden
                .as_ref()
                .is_some_and(|(o, _)| o.until.is_some_and(|until| now >= until));
            if lapsed {
                entry.overridden = None;
                domains.push(entry.key.domain.clone());
            }
        }
        domains
    }

    /// Whether the provider is down at `now`.
    pub(crate) fn is_down(&self, domain: &str, provider: &str, now: SystemTime) -> bool {
        self.of_domain(domain)
            .any(|h| h.key.provider == provider && h.is_down_at(now))
    }

    /// Whether the provider of `key` is down at `now`.
    pub(crate) fn is_key_down(&self, key: &ProviderKey, now: SystemTime) -> bool {
        self.providers.get(key).is_some_and(|h| h.is_down_at(now))
    }

    /// The providers of `domain` that have any state.
    pub(crate) fn of_domain<'a>(
        &'a self,
        domain: &'a str,
    ) -> impl Iterator<Item = &'a ProviderHealth> + 'a {
        let start = ProviderKey {
            domain: domain.to_owned(),
            provider: String::new(),
        };
        self.providers
            .range(start..)
            .map(|(_, h)| h)
            .take_while(move |h| h.key.domain == domain)
    }

    /// The domains with any provider down at `now`.
    pub(crate) fn domains_with_down(&self, now: SystemTime) -> Vec<String> {
        let mut domains: Vec<String> = self
            .providers
            .values()
            .filter(|h| h.is_down_at(now))
            .map(|h| h.key.domain.clone())
            .collect();
        domains.dedup();
        domains
    }

    /// Forgets the providers `keep` refuses (deleted policies and
    /// providers).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&ProviderKey) -> bool) {
        self.providers.retain(|k, _| keep(k));
    }

    pub(crate) fn get(&self, key: &ProviderKey) -> Option<&ProviderHealth> {
        self.providers.get(key)
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &ProviderHealth> + '_ {
        self.providers.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(s)
    }

    #[test]
    fn overrides_beat_checks_until_they_lapse() {
        let mut book = HealthBook::default();
        let key = ProviderKey::new("WWW.Example.com.", "a");
        assert_eq!(key.domain(), "www.example.com");
        book.record(
            &key,
            false,
            CheckResult::new(at(10), false, Duration::ZERO, "refused"),
        );
        assert!(book.is_down("www.example.com", "a", at(11)));
        book.set_override(&key, HealthOverride::up().until(at(20)), at(12));
        assert!(!book.is_down("www.example.com", "a", at(19)));
        assert_eq!(
            book.get(&key).unwrap().source_at(at(19)),
            HealthSource::Override
        );
        assert_eq!(book.get(&key).unwrap().since_at(at(19)), Some(at(12)));
        // Lapsed: the checks decide again.
        assert!(book.is_down("www.example.com", "a", at(20)));
        assert_eq!(book.expire(at(20)), ["www.example.com"]);
        assert_eq!(book.get(&key).unwrap().since_at(at(21)), Some(at(10)));
    }

    #[test]
    fn results_are_bounded_and_state_keeps_its_start() {
        let mut book = HealthBook::default();
        let key = ProviderKey::new("a.example", "p");
        for i in 0..20 {
            book.record(
                &key,
                true,
                CheckResult::new(at(i), true, Duration::ZERO, "HTTP 200"),
            );
        }
        let h = book.get(&key).unwrap();
        assert_eq!(h.results().len(), KEPT_RESULTS);
        assert_eq!(h.since_at(at(30)), Some(at(0)));
        assert_eq!(book.domains_with_down(at(30)), Vec::<String>::new());
        assert_eq!(book.of_domain("a.example").count(), 1);
        assert_eq!(book.of_domain("b.example").count(), 0);
    }
}
