//! Lenient, allocation-free decoding of the few fields we read from a MaxMind
//! DB record. A field of an unexpected type reads as absent instead of
//! failing the record, so damaged records give partial locations.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The fields of a record that locate an address, as found (not validated).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RawRecord<'a> {
    /// `continent.code` (nested schema).
    pub(crate) continent: Option<&'a str>,
    /// `country.iso_code` (nested schema).
    pub(crate) country: Option<&'a str>,
    /// `country_code` (flat schema).
    pub(crate) country_code: Option<&'a str>,
    /// `subdivisions[0].iso_code` (nested, the part after the dash).
    pub(crate) subdivision_code: Option<&'a str>,
    /// `state1` (flat, an English name).
    pub(crate) subdivision_name: Option<&'a str>,
    /// `autonomous_system_number`.
    pub(crate) asn: Option<u32>,
}

/// Which top-level keys a record has, for schema detection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct KeysSeen {
    pub(crate) nested: bool,
    pub(crate) flat: bool,
    pub(crate) asn: bool,
}

/// Reads a whole record (a map) into a [`RawRecord`]; anything but a map
/// gives an empty record.
pub(crate) struct RecordSeed;

impl<'de> DeserializeSeed<'de> for RecordSeed {
    type Value = (RawRecord<'de>, KeysSeen);

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(RecordVisitor)
    }
}

struct RecordVisitor;

impl<'de> Visitor<'de> for RecordVisitor {
    type Value = (RawRecord<'de>, KeysSeen);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut record = RawRecord::default();
        let mut seen = KeysSeen::default();
        while let Some(key) = map.next_key::<KeyStr<'de>>()? {
            match key.0 {
                Some("continent") => {
                    seen.nested = true;
                    record.continent = map.next_value_seed(FieldOf("code"))?;
                }
                Some("country") => {
                    seen.nested = true;
                    record.country = map.next_value_seed(FieldOf("iso_code"))?;
                }
                Some("subdivisions") => {
                    seen.nested = true;
                    record.subdivision_code = map.next_value_seed(FirstOf(FieldOf("iso_code")))?;
                }
                Some("country_code") => {
                    seen.flat = true;
                    record.country_code = map.next_value_seed(LenientStr)?;
                }
                Some("state1") => {
                    seen.flat = true;
                    record.subdivision_name = map.next_value_seed(LenientStr)?;
                }
                Some("autonomous_system_number") => {
                    seen.asn = true;
                    record.asn = map.next_value_seed(LenientU32)?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok((record, seen))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq)?;
        Ok(Default::default())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Default::default())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Default::default())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Default::default())
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
        Ok(Default::default())
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
        Ok(Default::default())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Default::default())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Default::default())
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
        Ok(Default::default())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Default::default())
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Default::default())
    }
}

fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Implements every non-container `visit_*` of a lenient visitor as "absent".
macro_rules! absent_scalars {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    };
}

/// A map key: a borrowed string, or `None` for a key of another type.
struct KeyStr<'a>(Option<&'a str>);

impl<'de> de::Deserialize<'de> for KeyStr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        LenientStr.deserialize(deserializer).map(KeyStr)
    }
}

/// A borrowed string, or `None` for any other value (which is skipped).
struct LenientStr;

impl<'de> DeserializeSeed<'de> for LenientStr {
    type Value = Option<&'de str>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LenientStr {
    type Value = Option<&'de str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    // A string that cannot be borrowed from the database cannot come from
    // maxminddb's decoder; treat it as absent rather than allocate.
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map).map(|()| None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|()| None)
    }
    absent_scalars!();
}

/// An unsigned number that fits a `u32`, or `None`.
struct LenientU32;

impl<'de> DeserializeSeed<'de> for LenientU32 {
    type Value = Option<u32>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LenientU32 {
    type Value = Option<u32>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an AS number")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(u32::try_from(v).ok())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map).map(|()| None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|()| None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(u32::try_from(v).ok())
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Self::Value, E> {
        Ok(u32::try_from(v).ok())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// The string under `key` in a map, or `None` (other values are skipped).
struct FieldOf(&'static str);

impl<'de> DeserializeSeed<'de> for FieldOf {
    type Value = Option<&'de str>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FieldOf {
    type Value = Option<&'de str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a map with `{}`", self.0)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<KeyStr<'de>>()? {
            if key.0 == Some(self.0) && found.is_none() {
                found = map.next_value_seed(LenientStr)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|()| None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    absent_scalars!();
}

/// The first element of an array, read with the inner seed; the rest skipped.
struct FirstOf(FieldOf);

impl<'de> DeserializeSeed<'de> for FirstOf {
    type Value = Option<&'de str>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FirstOf {
    type Value = Option<&'de str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let first = seq.next_element_seed(self.0)?.flatten();
        drain_seq(seq)?;
        Ok(first)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map).map(|()| None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    absent_scalars!();
}

/// The fast path for well-formed records: plain typed decoding of the fields
/// one schema reads. Any type mismatch fails the whole decode, and the caller
/// then reads the record again with the lenient [`RecordSeed`].
pub(crate) mod typed {
    use std::fmt;

    use serde::Deserialize;
    use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};

    use super::RawRecord;

    /// The flat schema.
    #[derive(Deserialize)]
    pub(crate) struct Flat<'a> {
        #[serde(borrow, default)]
        country_code: Option<&'a str>,
        #[serde(borrow, default)]
        state1: Option<&'a str>,
    }

    /// The nested schema.
    #[derive(Deserialize)]
    pub(crate) struct Nested<'a> {
        #[serde(borrow, default)]
        continent: Option<Code<'a>>,
        #[serde(borrow, default)]
        country: Option<Iso<'a>>,
        #[serde(borrow, default)]
        subdivisions: Option<FirstIso<'a>>,
    }

    /// The ASN schema.
    #[derive(Deserialize)]
    pub(crate) struct Asn {
        #[serde(default)]
        autonomous_system_number: Option<u32>,
    }

    #[derive(Deserialize)]
    struct Code<'a> {
        #[serde(borrow, default)]
        code: Option<&'a str>,
    }

    #[derive(Deserialize)]
    struct Iso<'a> {
        #[serde(borrow, default)]
        iso_code: Option<&'a str>,
    }

    /// `iso_code` of the first element of an array, without collecting it.
    struct FirstIso<'a>(Option<&'a str>);

    impl<'de: 'a, 'a> Deserialize<'de> for FirstIso<'a> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct First<'a>(std::marker::PhantomData<&'a ()>);
            impl<'de: 'a, 'a> Visitor<'de> for First<'a> {
                type Value = FirstIso<'a>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an array of subdivisions")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                    let first = seq.next_element::<Iso<'de>>()?.and_then(|iso| iso.iso_code);
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    Ok(FirstIso(first))
                }
            }
            deserializer.deserialize_seq(First(std::marker::PhantomData))
        }
    }

    impl<'a> From<Flat<'a>> for RawRecord<'a> {
        fn from(r: Flat<'a>) -> Self {
            Self {
                country_code: r.country_code,
                subdivision_name: r.state1,
                ..Self::default()
            }
        }
    }

    impl<'a> From<Nested<'a>> for RawRecord<'a> {
        fn from(r: Nested<'a>) -> Self {
            Self {
                continent: r.continent.and_then(|c| c.code),
                country: r.country.and_then(|c| c.iso_code),
                subdivision_code: r.subdivisions.and_then(|s| s.0),
                ..Self::default()
            }
        }
    }

    impl From<Asn> for RawRecord<'_> {
        fn from(r: Asn) -> Self {
            Self {
                asn: r.autonomous_system_number,
                ..Self::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(json: &str) -> (RawRecord<'_>, KeysSeen) {
        let mut de = serde_json::Deserializer::from_str(json);
        RecordSeed.deserialize(&mut de).unwrap()
    }

    #[test]
    fn nested_flat_and_asn_records() {
        let (r, seen) = decode(
            r#"{"continent":{"code":"AS","names":{"en":"Asia"}},"country":{"iso_code":"CN","x":[1]},
                "subdivisions":[{"iso_code":"BJ"},{"iso_code":"XX"}],"city":{"names":{}}}"#,
        );
        assert_eq!(
            (r.continent, r.country, r.subdivision_code),
            (Some("AS"), Some("CN"), Some("BJ"))
        );
        assert!(seen.nested && !seen.flat && !seen.asn);
        let (r, seen) = decode(r#"{"country_code":"CN","state1":"Inner Mongolia","latitude":1.5}"#);
        assert_eq!(
            (r.country_code, r.subdivision_name),
            (Some("CN"), Some("Inner Mongolia"))
        );
        assert!(seen.flat && !seen.nested);
        let (r, seen) =
            decode(r#"{"autonomous_system_number":4134,"autonomous_system_organization":"x"}"#);
        assert_eq!(r.asn, Some(4134));
        assert!(seen.asn);
    }

    #[test]
    fn unexpected_types_read_as_absent() {
        let (r, _) = decode(
            r#"{"continent":"AS","country":{"iso_code":5},"subdivisions":{"iso_code":"BJ"},
                "country_code":["CN"],"state1":{"a":1},"autonomous_system_number":-3}"#,
        );
        assert_eq!(r, RawRecord::default());
        let (r, _) = decode(
            r#"{"subdivisions":[7,{"iso_code":"BJ"}],"autonomous_system_number":99999999999}"#,
        );
        assert_eq!(r, RawRecord::default());
        assert_eq!(decode("[1,2]").0, RawRecord::default());
        assert_eq!(decode("\"x\"").0, RawRecord::default());
    }
}
