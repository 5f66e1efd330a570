//! The lookup made ahead of the domain lookup: `select` looks the client up
//! in the merged maps of the group most policies share before it knows the
//! domain, so that the two lookups' cache misses overlap; a query whose
//! policy is in another group discards the result.

use std::net::IpAddr;
use std::sync::Arc;

use super::Group;
use super::merged_map::Merged;

/// The merged maps of one group, which a snapshot looks the client up in
/// ahead of the domain lookup (see [`Snapshot::select`](crate::Snapshot::select)):
/// the lookup's cache misses (the merged index is up to a MiB, so a hot
/// set of clients alone overflows the first-level cache) then overlap the
/// domain lookup's work and misses instead of following them.
/// [`Group::land_ahead`] uses the result when the entry's group is this one.
#[derive(Debug, Clone)]
pub(crate) struct ReadAhead(pub(super) Arc<Merged>);

/// A client's slot and scope in a [`ReadAhead`]'s maps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AheadLanding {
    pub(super) slot: u16,
    pub(super) scope: u8,
}

impl ReadAhead {
    /// The merged maps of `group`, if it has them.
    pub(crate) fn of(group: &Group) -> Option<Self> {
        group.merged.as_ref().map(|m| Self(Arc::clone(m)))
    }

    /// `ip`'s slot and scope in these maps.
    #[inline]
    pub(crate) fn land(&self, ip: IpAddr) -> AheadLanding {
        let (slot, scope) = self.0.land(ip);
        AheadLanding { slot, scope }
    }

    /// Whether these are `group`'s maps.
    #[cfg(test)]
    pub(crate) fn is_of(&self, group: &Group) -> bool {
        group
            .merged
            .as_ref()
            .is_some_and(|m| Arc::ptr_eq(m, &self.0))
    }
}
