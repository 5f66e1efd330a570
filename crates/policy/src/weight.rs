//! Target weights.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ValueError;

/// A target's weight: an integer in `0..=10000`. A target's share of its rule
/// is its weight over the sum of the rule's weights; 0 keeps a provider in a
/// rule but sends it nothing (drained).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Weight(u16);

impl Weight {
    /// Weight 0: the target gets nothing.
    pub const ZERO: Self = Self(0);
    /// The largest weight, 10000.
    pub const MAX: Self = Self(10_000);

    /// Validates a weight.
    pub fn new(value: u16) -> Result<Self, ValueError> {
        Self::try_from(i64::from(value))
    }

    /// The weight.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl TryFrom<i64> for Weight {
    type Error = ValueError;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        match u16::try_from(value) {
            Ok(w) if w <= Self::MAX.0 => Ok(Self(w)),
            _ => Err(ValueError::WeightOutOfRange { value }),
        }
    }
}

impl fmt::Display for Weight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Weight {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u16(self.0)
    }
}

impl<'de> Deserialize<'de> for Weight {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::text::parse_int(deserializer, "a weight in 0..=10000", Self::try_from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert_eq!(Weight::new(0).unwrap(), Weight::ZERO);
        assert_eq!(Weight::new(10_000).unwrap(), Weight::MAX);
        assert_eq!(
            Weight::new(10_001),
            Err(ValueError::WeightOutOfRange { value: 10_001 })
        );
        assert_eq!(
            Weight::try_from(-1),
            Err(ValueError::WeightOutOfRange { value: -1 })
        );
        assert_eq!(
            Weight::try_from(i64::MAX),
            Err(ValueError::WeightOutOfRange { value: i64::MAX })
        );
    }
}
