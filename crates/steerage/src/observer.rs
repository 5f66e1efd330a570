//! The seam through which a program serving the steered names (a DNS
//! handler's zones, say) follows the set of names: told of each change to
//! it under the writer's lock, before the change is published, and able to
//! refuse it. Hides the registry of observers, held weakly so that a
//! dropped observer stops being called, and the order of the calls.

use std::error::Error;
use std::sync::{Arc, Weak};

use steerage_policy::{DomainChanges, PolicySet};

/// What an observer's refusal carries: its own error, returned to the
/// caller of the change as the source of
/// [`SteeringError::Refused`](crate::SteeringError::Refused).
pub type Refusal = Box<dyn Error + Send + Sync + 'static>;

/// Follows the set of steered names of a [`Steering`](crate::Steering):
/// registered with [`Steering::observe_names`](crate::Steering::observe_names),
/// called by the writer for every change that adds or removes a name.
///
/// For each such change, under the writer's lock: every observer's
/// [`prepare`](Self::prepare) (any error aborts the change: nothing is
/// published and every observer that prepared gets
/// [`abort`](Self::abort)); then the snapshot is compiled (a failure there
/// aborts the same way); then every observer's [`commit`](Self::commit);
/// then the snapshot is stored. So an observer publishes its own view of
/// the names just before the snapshot that has them, and never one that is
/// not published. Changes that keep the names (rules, providers, weights,
/// states, a new location table) call nothing.
///
/// The calls come from the thread making the change, one change at a time;
/// they should not block for long, as every change waits for them (reads
/// never do). A panic in one is a bug: the writer's lock recovers from it as
/// from a panic in an `apply` closure, and nothing is published.
pub trait NameObserver: Send + Sync {
    /// Checks `change` and prepares to publish it; an error refuses the
    /// change as a whole.
    fn prepare(&self, change: &NameChange<'_>) -> Result<(), Refusal>;

    /// Publishes what the last `prepare` prepared: the change is published
    /// as `version` right after.
    fn commit(&self, version: u64);

    /// Drops what the last `prepare` prepared: the change was refused (by
    /// another observer, or the compiler) and nothing is published.
    fn abort(&self);
}

/// One change to the set of steered names, as an observer sees it.
#[derive(Debug)]
pub struct NameChange<'a> {
    version: u64,
    changes: &'a DomainChanges<'a>,
    config: &'a PolicySet,
}

impl<'a> NameChange<'a> {
    /// The version the change is to be published as.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The names the change adds (lower case, no trailing dot), in order.
    pub fn added(&self) -> impl ExactSizeIterator<Item = &'a str> + 'a {
        self.changes.added().iter().map(|d| d.as_str())
    }

    /// The names the change removes (lower case, no trailing dot), in order.
    pub fn removed(&self) -> impl ExactSizeIterator<Item = &'a str> + 'a {
        self.changes.removed().iter().map(|d| d.as_str())
    }

    /// The configuration as it will be once the change is published.
    pub fn config(&self) -> &'a PolicySet {
        self.config
    }
}

/// The observers registered with one `Steering`; kept under its writer lock.
#[derive(Default)]
pub(crate) struct Observers {
    registered: Vec<Weak<dyn NameObserver>>,
}

impl std::fmt::Debug for Observers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observers")
            .field("registered", &self.registered.len())
            .finish()
    }
}

/// The observers that prepared a change: they get `commit` or `abort`.
#[must_use = "a prepared change must be committed or aborted"]
pub(crate) struct Prepared {
    observers: Vec<Arc<dyn NameObserver>>,
}

impl Observers {
    pub(crate) fn register(&mut self, observer: Weak<dyn NameObserver>) {
        self.registered.retain(|o| o.strong_count() > 0);
        self.registered.push(observer);
    }

    /// Prepares every live observer for `changes` (the change to `config`,
    /// to be published as `version`); on a refusal, aborts those that
    /// prepared and returns it. Nothing is called when no name changes.
    pub(crate) fn prepare(
        &mut self,
        version: u64,
        changes: &DomainChanges<'_>,
        config: &PolicySet,
    ) -> Result<Prepared, Refusal> {
        let mut prepared = Prepared {
            observers: Vec::new(),
        };
        if changes.is_empty() {
            return Ok(prepared);
        }
        self.registered.retain(|o| o.strong_count() > 0);
        let change = NameChange {
            version,
            changes,
            config,
        };
        for observer in self.registered.iter().filter_map(Weak::upgrade) {
            if let Err(refusal) = observer.prepare(&change) {
                prepared.abort();
                return Err(refusal);
            }
            prepared.observers.push(observer);
        }
        Ok(prepared)
    }
}

impl Prepared {
    pub(crate) fn commit(self, version: u64) {
        for observer in &self.observers {
            observer.commit(version);
        }
    }

    pub(crate) fn abort(self) {
        for observer in self.observers.iter().rev() {
            observer.abort();
        }
    }
}
