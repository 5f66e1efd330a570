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
    /// The rule that matched (`default` for the default rule).
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
    /// The ECS scope prefix length to return: the widest prefix around the
    /// client over which this answer cannot change, capped by the query's
    /// source prefix.
    pub fn scope_prefix(&self) -> u8 {
        self.scope_prefix
    }
}
