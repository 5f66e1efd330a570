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
/// sent to another thread or stored. Making one copies the provider name,
/// rule name and CNAME into one inline buffer of 104 bytes, so it allocates
/// nothing unless those three are longer together, or the matched line is a
/// custom CIDR line (its name is copied). Where even the copy matters,
/// borrow instead:
/// `steering.snapshot().select(domain, ip)` returns a [`Decision`] that
/// points into the snapshot.
#[derive(Clone, PartialEq, Eq)]
pub struct Selection {
    names: Names,
    line: Option<Line>,
    ttl: u32,
    scope_prefix: u8,
    nodata: bool,
    version: u64,
}

impl Selection {
    /// A copy of `decision`, made by the snapshot of `version`.
    pub fn new(decision: &Decision<'_>, version: u64) -> Self {
        Self {
            names: Names::new([decision.provider(), decision.rule(), decision.cname()]),
            line: decision.line().cloned(),
            ttl: decision.ttl(),
            scope_prefix: decision.scope_prefix(),
            nodata: decision.is_nodata(),
            version,
        }
    }

    /// The provider's name (`vendor-a`, or the built-in provider's name).
    pub fn provider(&self) -> &str {
        self.names.get(0)
    }
    /// The CNAME target to answer with, lower case, without a trailing dot.
    pub fn cname(&self) -> &str {
        self.names.get(2)
    }
    /// The rule that matched: a rule's name, `default` for the default rule,
    /// or [`DISABLED_RULE`](crate::engine::DISABLED_RULE) for a disabled
    /// policy.
    pub fn rule(&self) -> &str {
        self.names.get(1)
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
    /// Whether the answer is no data: every provider of the policy is down
    /// and it fails closed (`on_all_down = "nodata"`); see
    /// [`Decision::is_nodata`].
    pub fn is_nodata(&self) -> bool {
        self.nodata
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

/// Inline room for the three names together. Measured: a buffer this size
/// copies in about half the time of one with room for the longest valid
/// names (63 + 63 + 253 bytes), and usual names fit (`vendor-a`,
/// `china-mainland` and `www.example.com.vendor-a.example` take 54 bytes).
const INLINE: usize = 104;

/// Three strings packed one after the other into one buffer: inline when
/// they fit, on the heap otherwise, never cut.
#[derive(Clone)]
struct Names {
    bytes: Bytes,
    /// Where each string ends.
    ends: [usize; 3],
}

#[derive(Clone)]
enum Bytes {
    Inline([u8; INLINE]),
    Heap(Box<[u8]>),
}

impl Names {
    fn new(parts: [&str; 3]) -> Self {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let mut ends = [0; 3];
        let mut fill = |buf: &mut [u8]| {
            let mut at = 0;
            for (end, part) in ends.iter_mut().zip(parts) {
                buf[at..at + part.len()].copy_from_slice(part.as_bytes());
                at += part.len();
                *end = at;
            }
        };
        let bytes = if total <= INLINE {
            let mut buf = [0; INLINE];
            fill(&mut buf);
            Bytes::Inline(buf)
        } else {
            let mut buf = vec![0; total].into_boxed_slice();
            fill(&mut buf);
            Bytes::Heap(buf)
        };
        Self { bytes, ends }
    }

    fn get(&self, i: usize) -> &str {
        let start = match i {
            0 => 0,
            _ => self.ends.get(i - 1).copied().unwrap_or(0),
        };
        let end = self.ends.get(i).copied().unwrap_or(start);
        let bytes: &[u8] = match &self.bytes {
            Bytes::Inline(buf) => buf,
            Bytes::Heap(buf) => buf,
        };
        // Each part was copied from a `str` whole, so it is UTF-8 and in
        // bounds; the empty fallback is never taken.
        bytes
            .get(start..end)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }
}

impl PartialEq for Names {
    fn eq(&self, other: &Self) -> bool {
        (0..3).all(|i| self.get(i) == other.get(i))
    }
}

impl Eq for Names {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_every_length_whole() {
        for len in [0, 1, 62, 63, 64, 128, 253, 300, 400] {
            let long: String = "é".repeat(len / 2) + &"a".repeat(len % 2);
            for parts in [
                [long.as_str(), "rule", "cname.example"],
                ["provider", long.as_str(), "cname.example"],
                ["provider", "rule", long.as_str()],
                [long.as_str(), long.as_str(), long.as_str()],
            ] {
                let names = Names::new(parts);
                assert_eq!([names.get(0), names.get(1), names.get(2)], parts);
                let total: usize = parts.iter().map(|p| p.len()).sum();
                assert_eq!(matches!(names.bytes, Bytes::Inline(_)), total <= INLINE);
            }
        }
    }

    #[test]
    fn usual_names_fit_inline_and_the_longest_valid_ones_are_whole() {
        let usual = Names::new([
            "vendor-a",
            "china-mainland",
            "www.example.com.vendor-a.example",
        ]);
        assert!(matches!(usual.bytes, Bytes::Inline(_)));
        let longest = Names::new([&"p".repeat(63), &"r".repeat(63), &"c".repeat(253)]);
        assert!(matches!(longest.bytes, Bytes::Heap(_)));
        assert_eq!(longest.get(2), "c".repeat(253));
    }

    #[test]
    fn equality_ignores_the_storage() {
        let inline = Names::new(["a", "b", "c"]);
        let heap = Names {
            bytes: Bytes::Heap(b"abc".to_vec().into_boxed_slice()),
            ends: [1, 2, 3],
        };
        assert!(inline == heap);
        assert!(inline != Names::new(["a", "bc", ""]));
    }
}
