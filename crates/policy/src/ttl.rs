//! The TTL of the answers a policy gives.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ValueError;

/// The TTL of a policy's answers, in seconds: `1..=86400`, default 600.
///
/// 600 s (the default of the console this crate models) keeps a change
/// visible to most clients within ten minutes without loading the
/// authoritative servers; lower it before a migration step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ttl(u32);

impl Ttl {
    /// The shortest TTL, 1 s.
    pub const MIN: Self = Self(1);
    /// The longest TTL, 86400 s (one day).
    pub const MAX: Self = Self(86_400);
    /// The TTL of a new policy, 600 s.
    pub const DEFAULT: Self = Self(600);

    /// Validates a TTL in seconds.
    pub fn new(seconds: u32) -> Result<Self, ValueError> {
        Self::try_from(i64::from(seconds))
    }

    /// The TTL in seconds.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for Ttl {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<i64> for Ttl {
    type Error = ValueError;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        match u32::try_from(value) {
            Ok(s) if (Self::MIN.0..=Self::MAX.0).contains(&s) => Ok(Self(s)),
            _ => Err(ValueError::TtlOutOfRange { value }),
        }
    }
}

impl fmt::Display for Ttl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Ttl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(self.0)
    }
}

impl<'de> Deserialize<'de> for Ttl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::text::parse_int(deserializer, "a TTL in 1..=86400 seconds", Self::try_from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert_eq!(Ttl::new(1).unwrap(), Ttl::MIN);
        assert_eq!(Ttl::new(86_400).unwrap(), Ttl::MAX);
        assert_eq!(Ttl::default().get(), 600);
        assert_eq!(Ttl::new(0), Err(ValueError::TtlOutOfRange { value: 0 }));
        assert_eq!(
            Ttl::new(86_401),
            Err(ValueError::TtlOutOfRange { value: 86_401 })
        );
        assert_eq!(
            Ttl::try_from(-5),
            Err(ValueError::TtlOutOfRange { value: -5 })
        );
    }
}
