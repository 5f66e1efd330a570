//! `Selection`: an owned copy of one decision, free of the snapshot it came
//! from.

use std::fmt;

use steerage_geo::Line;

use crate::Decision;

/// What [`Steering::select`](crate::Steering::select) decided for one client:
/// the provider, its CNAME target, the rule and line that matched, the TTL,
/// the ECS scope prefix length and the version of the configuration that
/// decided.
///
/// An owned value: it holds no lock and pins no snapshot, so it can be kept,
/// sent to another thread or stored. Making one copies the names into inline
/// buffers (provider and rule names are at most 63 characters, CNAMEs at most
/// 253), so it allocates nothing except for a custom CIDR line's name. Where
/// even that copy matters, borrow instead:
/// `steering.snapshot().select(domain, ip)` returns a [`Decision`] that
/// points into the snapshot.
#[derive(Clone, PartialEq, Eq)]
pub struct Selection {
    provider: Text<63>,
    cname: Text<253>,
    rule: Text<63>,
    line: Option<Line>,
    ttl: u32,
    scope_prefix: u8,
    version: u64,
}

impl Selection {
    /// A copy of `decision`, made by the snapshot of `version`.
    pub fn new(decision: &Decision<'_>, version: u64) -> Self {
        Self {
            provider: Text::new(decision.provider()),
            cname: Text::new(decision.cname()),
            rule: Text::new(decision.rule()),
            line: decision.line().cloned(),
            ttl: decision.ttl(),
            scope_prefix: decision.scope_prefix(),
            version,
        }
    }

    /// The provider's name (`vendor-a`, or the built-in provider's name).
    pub fn provider(&self) -> &str {
        self.provider.as_str()
    }
    /// The CNAME target to answer with, lower case, without a trailing dot.
    pub fn cname(&self) -> &str {
        self.cname.as_str()
    }
    /// The rule that matched: a rule's name, `default` for the default rule,
    /// or [`DISABLED_RULE`](crate::engine::DISABLED_RULE) for a disabled
    /// policy.
    pub fn rule(&self) -> &str {
        self.rule.as_str()
    }
    /// The line that matched; `None` for the default rule or a disabled
    /// policy.
    pub fn line(&self) -> Option<&Line> {
        self.line.as_ref()
    }
    /// The TTL to answer with, in seconds.
    pub fn ttl(&self) -> u32 {
        self.ttl
    }
    /// The ECS scope prefix length to return (RFC 7871): the widest prefix
    /// around the client over which this answer cannot change.
    pub fn scope_prefix(&self) -> u8 {
        self.scope_prefix
    }
    /// The version of the configuration that decided.
    pub fn version(&self) -> u64 {
        self.version
    }
}

impl fmt::Debug for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selection")
            .field("provider", &self.provider())
            .field("cname", &self.cname())
            .field("rule", &self.rule())
            .field("line", &self.line)
            .field("ttl", &self.ttl)
            .field("scope_prefix", &self.scope_prefix)
            .field("version", &self.version)
            .finish()
    }
}

impl fmt::Display for Selection {
    /// `vendor-a (a.cdn.example) by rule china-mainland, line CN, TTL 600, scope /24`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}) by rule {}",
            self.provider(),
            self.cname(),
            self.rule()
        )?;
        if let Some(line) = &self.line {
            write!(f, ", line {line}")?;
        }
        write!(f, ", TTL {}, scope /{}", self.ttl, self.scope_prefix)
    }
}

/// A string of up to `N` bytes stored inline; longer ones (which validated
/// names cannot be) go to the heap rather than being cut.
#[derive(Clone)]
enum Text<const N: usize> {
    Inline { len: u8, bytes: [u8; N] },
    Heap(Box<str>),
}

impl<const N: usize> Text<N> {
    fn new(s: &str) -> Self {
        match u8::try_from(s.len()) {
            Ok(len) if s.len() <= N => {
                let mut bytes = [0; N];
                bytes[..s.len()].copy_from_slice(s.as_bytes());
                Self::Inline { len, bytes }
            }
            _ => Self::Heap(s.into()),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            // The bytes were copied from a `str` whole, so they are UTF-8;
            // the empty fallback is never taken.
            Self::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Self::Heap(s) => s,
        }
    }
}

impl<const N: usize> PartialEq for Text<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl<const N: usize> Eq for Text<N> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keeps_every_length_whole() {
        for len in [0, 1, 62, 63, 64, 253, 254, 300] {
            let s: String = "é".repeat(len / 2) + &"a".repeat(len % 2);
            let short = Text::<63>::new(&s);
            let long = Text::<253>::new(&s);
            assert_eq!(short.as_str(), s);
            assert_eq!(long.as_str(), s);
            assert_eq!(matches!(short, Text::Inline { .. }), s.len() <= 63);
        }
    }

    #[test]
    fn text_equality_ignores_the_storage() {
        let a = Text::<4>::new("abc");
        let b = Text::<4>::Heap("abc".into());
        assert!(a == b);
        assert!(a != Text::<4>::new("abd"));
    }
}
