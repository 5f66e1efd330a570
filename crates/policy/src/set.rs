//! The set of policies, with the built-in provider and the custom lines.

use std::collections::BTreeMap;
use std::sync::Arc;

use steerage_geo::CustomLineName;

use crate::policy_map::PolicyMap;
use crate::{BuiltinProvider, CustomLine, DomainName, Policy};

/// Every steered domain's policy, the built-in provider they share and the
/// custom lines their rules may use.
///
/// Changed only through its operations (`create_policy`, `add_provider`,
/// ...), each of which either succeeds with the set valid or fails with a
/// precise [`PolicyError`](crate::PolicyError) leaving the set exactly as it
/// was. Loaded configs are validated the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySet {
    pub(crate) builtin: BuiltinProvider,
    pub(crate) custom_lines: BTreeMap<CustomLineName, CustomLine>,
    // Copy-on-write leaves of `Arc<Policy>`: every `apply` works on a copy
    // of the set, which then costs a few hundred pointer copies however many
    // policies there are, and an operation copies only what it changes.
    pub(crate) policies: PolicyMap,
}

impl PolicySet {
    /// An empty set with the built-in provider the embedding program
    /// configures.
    pub fn new(builtin: BuiltinProvider) -> Self {
        Self {
            builtin,
            custom_lines: BTreeMap::new(),
            policies: PolicyMap::default(),
        }
    }

    /// The built-in provider.
    pub fn builtin(&self) -> &BuiltinProvider {
        &self.builtin
    }

    /// The policies, ordered by domain.
    pub fn policies(&self) -> impl ExactSizeIterator<Item = &Policy> + '_ {
        self.policies.values().map(|p| &**p)
    }

    /// The policy for a domain, compared case-insensitively with a trailing
    /// dot ignored.
    pub fn policy(&self, domain: &str) -> Option<&Policy> {
        self.policies
            .get(&DomainName::lookup_key(domain))
            .map(|p| &**p)
    }

    /// The policies, ordered by domain, as the shared values the set holds:
    /// a policy an operation did not touch is the same `Arc` in the copy
    /// (`Arc::ptr_eq`), which lets a compiler skip it cheaply.
    #[doc(hidden)]
    pub fn shared_policies(&self) -> impl ExactSizeIterator<Item = &Arc<Policy>> + '_ {
        self.policies.values()
    }

    /// The policy for `domain` as the shared value the set holds (see
    /// [`shared_policies`](Self::shared_policies)).
    pub fn shared_policy(&self, domain: &str) -> Option<&Arc<Policy>> {
        self.policies.get(&DomainName::lookup_key(domain))
    }

    /// What changed in the policies since `earlier`, an earlier copy of this
    /// set: the position (in domain order) and policy of every policy that is
    /// not the very same shared value as at that position in `earlier`
    /// (`Arc::ptr_eq`), or `None` when the two sets do not steer the same
    /// domains. The built-in provider and the custom lines are not compared.
    ///
    /// A copy shares its policies in leaves of a few hundred, and an
    /// operation copies only the leaf it changes, so this costs about one
    /// comparison per leaf plus one per policy in the leaves a change
    /// copied: what lets a compiler work in proportion to a change rather
    /// than to the set. A policy copied without a change in value (an
    /// enable of an enabled policy, say) is reported too.
    ///
    /// ```
    /// use steerage_policy::{BuiltinProvider, PolicySet};
    ///
    /// let mut set = PolicySet::new(BuiltinProvider::new("edge.example.net".parse()?));
    /// set.create_policy("a.example.com")?;
    /// set.create_policy("b.example.com")?;
    /// let earlier = set.clone();
    /// set.disable_policy("b.example.com")?;
    /// let changed = set.changed_since(&earlier).ok_or("same domains")?;
    /// assert_eq!(changed.len(), 1);
    /// assert_eq!(changed[0].0, 1);
    /// assert_eq!(changed[0].1.domain().as_str(), "b.example.com");
    /// set.create_policy("c.example.com")?;
    /// assert!(set.changed_since(&earlier).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(hidden)]
    pub fn changed_since<'a>(&'a self, earlier: &Self) -> Option<Vec<(usize, &'a Arc<Policy>)>> {
        self.policies.changed_since(&earlier.policies)
    }

    /// The domains this set steers that `earlier` did not, and those
    /// `earlier` steered that this set does not: what a program serving the
    /// steered names (a DNS zone, say) must add and remove to follow a
    /// change from `earlier` to this set.
    ///
    /// Costs about one pointer comparison per few hundred policies the two
    /// sets share (as a copy shares every policy an operation did not
    /// touch) plus a comparison per policy of the leaves a change copied;
    /// two sets that share nothing (one loaded anew from a file) cost a
    /// comparison per domain.
    ///
    /// ```
    /// use steerage_policy::{BuiltinProvider, PolicySet};
    ///
    /// let mut set = PolicySet::new(BuiltinProvider::new("edge.example.net".parse()?));
    /// set.create_policy("a.example.com")?;
    /// set.create_policy("b.example.com")?;
    /// let earlier = set.clone();
    /// set.disable_policy("a.example.com")?;
    /// set.delete_policy("a.example.com")?;
    /// set.create_policy("c.example.com")?;
    /// let changes = set.domain_changes(&earlier);
    /// assert_eq!(changes.added().iter().map(|d| d.as_str()).collect::<Vec<_>>(), ["c.example.com"]);
    /// assert_eq!(changes.removed().iter().map(|d| d.as_str()).collect::<Vec<_>>(), ["a.example.com"]);
    /// assert!(set.domain_changes(&set.clone()).is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn domain_changes<'a>(&'a self, earlier: &'a Self) -> DomainChanges<'a> {
        let (added, removed) = self.policies.domain_changes(&earlier.policies);
        DomainChanges { added, removed }
    }

    /// The policies of this set that are not the very same shared value
    /// (`Arc::ptr_eq`) in `earlier`, new domains included, and the domains
    /// `earlier` steered that this set does not: what a compiler must build
    /// again and drop to follow a change from `earlier` to this set.
    ///
    /// Costs as [`domain_changes`](Self::domain_changes) does: about one
    /// pointer comparison per few hundred policies the two sets share, plus
    /// one per policy of the leaves a change copied.
    ///
    /// ```
    /// use steerage_policy::{BuiltinProvider, PolicySet};
    ///
    /// let mut set = PolicySet::new(BuiltinProvider::new("edge.example.net".parse()?));
    /// set.create_policy("a.example.com")?;
    /// set.create_policy("b.example.com")?;
    /// let earlier = set.clone();
    /// set.disable_policy("a.example.com")?;
    /// set.delete_policy("a.example.com")?;
    /// set.create_policy("c.example.com")?;
    /// set.disable_policy("b.example.com")?;
    /// let changes = set.policy_changes(&earlier);
    /// let changed: Vec<&str> = changes.changed().iter().map(|p| p.domain().as_str()).collect();
    /// assert_eq!(changed, ["b.example.com", "c.example.com"]);
    /// assert_eq!(changes.removed()[0].as_str(), "a.example.com");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn policy_changes<'a, 'b>(&'a self, earlier: &'b Self) -> PolicyChanges<'a, 'b> {
        let (changed, removed) = self.policies.policy_changes(&earlier.policies);
        PolicyChanges { changed, removed }
    }

    /// The custom lines, ordered by name.
    pub fn custom_lines(&self) -> impl ExactSizeIterator<Item = &CustomLine> + '_ {
        self.custom_lines.values()
    }

    /// The custom line of that name (`office`, without `cidr:`).
    pub fn custom_line(&self, name: &str) -> Option<&CustomLine> {
        let name = CustomLineName::new(name).ok()?;
        self.custom_lines.get(&name)
    }

    /// Whether the set has no policy.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// The number of policies.
    pub fn len(&self) -> usize {
        self.policies.len()
    }
}

/// The policies changed or added and the domains removed between two policy
/// sets, from [`PolicySet::policy_changes`].
#[derive(Debug, Clone)]
pub struct PolicyChanges<'a, 'b> {
    changed: Vec<&'a Arc<Policy>>,
    removed: Vec<&'b DomainName>,
}

impl<'a, 'b> PolicyChanges<'a, 'b> {
    /// The policies of the later set that the earlier did not hold as the
    /// same shared value (changed, or of a new domain), in domain order.
    pub fn changed(&self) -> &[&'a Arc<Policy>] {
        &self.changed
    }

    /// The domains the earlier set steered and the later does not, in order.
    pub fn removed(&self) -> &[&'b DomainName] {
        &self.removed
    }
}

/// The domains added and removed between two policy sets, from
/// [`PolicySet::domain_changes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainChanges<'a> {
    added: Vec<&'a DomainName>,
    removed: Vec<&'a DomainName>,
}

impl<'a> DomainChanges<'a> {
    /// The domains the later set steers and the earlier did not, in order.
    pub fn added(&self) -> &[&'a DomainName] {
        &self.added
    }

    /// The domains the earlier set steered and the later does not, in order.
    pub fn removed(&self) -> &[&'a DomainName] {
        &self.removed
    }

    /// Whether both sets steer the same domains.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}
