//! The answer for one client.

use steerage_geo::Line;

/// What one `select` decided, borrowed from the snapshot that decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision<'s> {
    pub(crate) provider: &'s str,
    pub(crate) cname: &'s str,
    pub(crate) rule: &'s str,
    pub(crate) line: Option<&'s Line>,
    pub(crate) ttl: u32,
    pub(crate) scope_prefix: u8,
    pub(crate) nodata: bool,
}

impl<'s> Decision<'s> {
    /// The provider's name (`cdn-a`, or the built-in provider's name).
    pub fn provider(&self) -> &'s str {
        self.provider
    }
    /// The CNAME target to answer with, without a trailing dot, lower case.
    pub fn cname(&self) -> &'s str {
        self.cname
    }
    /// The rule that matched: `default` for the default rule (also when it
    /// has no live target and the built-in provider answers),
    /// [`DISABLED_RULE`](crate::DISABLED_RULE) (`(disabled)`) for a disabled
    /// policy, [`NODATA_RULE`](crate::NODATA_RULE) (`(all down)`) for a
    /// decision to answer no data.
    pub fn rule(&self) -> &'s str {
        self.rule
    }
    /// The line that matched, `None` for the default rule or a disabled policy.
    pub fn line(&self) -> Option<&'s Line> {
        self.line
    }
    /// The TTL to answer with, in seconds.
    pub fn ttl(&self) -> u32 {
        self.ttl
    }
    /// The ECS scope prefix length to return: the length of the widest
    /// prefix around the client over which this answer cannot change (the
    /// rule-merged range holding the client, or the location's range). 0 when
    /// the answer does not depend on the client (a disabled policy, only a
    /// default rule picked at random); at least 24 (IPv4) or 56 (IPv6) when
    /// a sticky pick hashed the client's subnet.
    ///
    /// For [`Snapshot::select_subnet`](crate::Snapshot::select_subnet) the
    /// client is the subnet's network address, and the scope may be shorter
    /// than the source prefix (the answer holds for a wider network) or
    /// longer (the subnet mixes clients with different answers; RFC 7871
    /// section 7.2.1), and counts the bits of the subnet's family (96 + the
    /// IPv4 scope for an IPv4-mapped IPv6 subnet). For
    /// [`Snapshot::select`](crate::Snapshot::select), an IPv4-mapped address
    /// gets an IPv4 scope.
    pub fn scope_prefix(&self) -> u8 {
        self.scope_prefix
    }
    /// Whether the answer is no data: every provider of the policy is down
    /// and it fails closed (`on_all_down = "nodata"`). A DNS server answers
    /// NOERROR with no records and the zone's SOA. The provider and CNAME
    /// are then the built-in provider's, so that a program that does not
    /// ask falls back to it rather than to a provider that is down; the
    /// rule is [`NODATA_RULE`](crate::NODATA_RULE) and the scope 0.
    pub fn is_nodata(&self) -> bool {
        self.nodata
    }
}
