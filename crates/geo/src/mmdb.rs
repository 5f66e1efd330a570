//! The MaxMind DB locator: city, country and ASN databases in MaxMind's
//! nested GeoIP2 schema or the flat schema of DB-IP's repackagings.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use maxminddb::{LookupResult, MaxMindDbError, Reader, WithinOptions};
use serde::de::DeserializeSeed;

use crate::mmdb_record::{KeysSeen, RawRecord, RecordSeed};
use crate::reserved::{narrow_to_unreserved, reserved_range};
use crate::{
    Continent, Country, Isp, Location, LocationId, LocationTable, Locator, RangeSource,
    SourceError, Subdivision, TableBuilder,
};

/// The record layout of a MaxMind DB file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MmdbSchema {
    /// MaxMind's GeoIP2 / GeoLite2 layout, also used by DB-IP's GeoIP2-compatible
    /// files: `continent.code`, `country.iso_code`, `subdivisions[0].iso_code`.
    Nested,
    /// The flat layout of DB-IP / ip-location-db files: `country_code`, and
    /// `state1` as an English subdivision name.
    Flat,
    /// An ASN or ISP database (GeoLite2-ASN, GeoIP2-ISP):
    /// `autonomous_system_number`, mapped to a China ISP by [`Isp::from_asn`].
    Asn,
}

impl MmdbSchema {
    /// A short name (`nested`, `flat`, `asn`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Nested => "nested",
            Self::Flat => "flat",
            Self::Asn => "asn",
        }
    }
}

/// How many records schema detection reads before giving up.
const DETECTION_RECORDS: usize = 4096;

/// Locates addresses with a MaxMind DB file read into memory.
///
/// Opening reads the whole file, checks its metadata and detects its
/// [`MmdbSchema`] from the records (or takes the one forced with
/// [`MmdbLocator::open_as`]). Lookups never fail: an address outside the
/// database, a reserved address, an IPv6 address in an IPv4-only database or
/// a damaged record is unknown (or partly known).
pub struct MmdbLocator {
    reader: Reader<Vec<u8>>,
    schema: MmdbSchema,
    label: String,
}

impl std::fmt::Debug for MmdbLocator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MmdbLocator")
            .field("label", &self.label)
            .field("schema", &self.schema)
            .field("database_type", &self.reader.metadata().database_type)
            .finish()
    }
}

impl MmdbLocator {
    /// Opens a file and detects its schema.
    ///
    /// # Errors
    /// [`SourceError::Read`] if it cannot be read,
    /// [`SourceError::InvalidDatabase`] if it is not a valid MaxMind DB,
    /// [`SourceError::UnrecognisedSchema`] if no record has a field we read.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SourceError> {
        Self::open_inner(path.as_ref(), None)
    }

    /// Opens a file, reading its records as `schema` without detection.
    ///
    /// # Errors
    /// As [`MmdbLocator::open`], without the schema error.
    pub fn open_as(path: impl AsRef<Path>, schema: MmdbSchema) -> Result<Self, SourceError> {
        Self::open_inner(path.as_ref(), Some(schema))
    }

    fn open_inner(path: &Path, schema: Option<MmdbSchema>) -> Result<Self, SourceError> {
        let bytes = std::fs::read(path).map_err(|source| SourceError::Read {
            file: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(bytes, path, schema)
    }

    /// A locator over database bytes already in memory; `file` names them in
    /// errors and in [`Locator::describe`]; `schema` forces a schema.
    ///
    /// # Errors
    /// As [`MmdbLocator::open`].
    pub fn from_bytes(
        bytes: Vec<u8>,
        file: impl AsRef<Path>,
        schema: Option<MmdbSchema>,
    ) -> Result<Self, SourceError> {
        let file = file.as_ref();
        let invalid = |source| SourceError::InvalidDatabase {
            file: file.to_path_buf(),
            source,
        };
        let reader = Reader::from_source(bytes).map_err(invalid)?;
        let schema = match schema {
            Some(schema) => schema,
            None => detect_schema(&reader).map_err(invalid)?.ok_or_else(|| {
                SourceError::UnrecognisedSchema {
                    file: file.to_path_buf(),
                    database_type: reader.metadata().database_type.clone(),
                }
            })?,
        };
        let label = file.file_name().map_or_else(
            || file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(Self {
            reader,
            schema,
            label,
        })
    }

    /// The schema records are read with.
    pub fn schema(&self) -> MmdbSchema {
        self.schema
    }

    /// The `database_type` of the file's metadata (`GeoIP2-City`, `city ipv4`).
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// Whether the database holds IPv6 addresses (`ip_version` 6).
    pub fn has_ipv6(&self) -> bool {
        self.reader.metadata().ip_version == 6
    }

    /// The underlying reader (for the benches and the tests that compare
    /// with it; `maxminddb` is not part of this crate's API).
    #[doc(hidden)]
    pub fn reader(&self) -> &Reader<Vec<u8>> {
        &self.reader
    }

    fn record_location(&self, record: &RawRecord<'_>) -> Location {
        to_location(self.schema, record)
    }
}

/// Every network of the search tree, depth first, the walk's work bounded.
///
/// A search tree is meant to be a tree, but nothing in the format stops
/// records from sharing nodes: a file of a few hundred bytes can give 2^96
/// paths. `maxminddb`'s walk skips networks without data and the aliases of
/// the IPv4 subtree without yielding, so no cap on the items it yields bounds
/// it; with both included every step yields or descends, and a tree of `n`
/// nodes yields at most `n + 1` networks plus one copy of the IPv4 subtree
/// per alias (MaxMind's files have three). Past [`WALK_FACTOR`] times that,
/// the tree shares nodes and the walk ends with an error. Aliased copies and
/// networks without data are for the caller to skip ([`is_alias`],
/// `has_data`).
fn walk(
    reader: &Reader<Vec<u8>>,
) -> Result<impl Iterator<Item = Result<LookupResult<'_, Vec<u8>>, MaxMindDbError>>, MaxMindDbError>
{
    let options = WithinOptions::default()
        .include_aliased_networks()
        .include_networks_without_data();
    let cap = (reader.metadata().node_count as usize)
        .saturating_add(1)
        .saturating_mul(WALK_FACTOR);
    let mut walked = 0usize;
    Ok(reader.networks(options)?.map(move |item| {
        walked += 1;
        if walked > cap {
            return Err(MaxMindDbError::invalid_database(format!(
                "the search tree shares nodes: more than {cap} networks"
            )));
        }
        item
    }))
}

/// How many times a tree's own network count [`walk`] allows (its IPv4
/// subtree may be walked again through each alias).
const WALK_FACTOR: usize = 8;

/// Whether a network of an IPv6 database is an alias of its IPv4 subtree
/// (`::ffff:0:0/96`, Teredo, 6to4) rather than the subtree itself: an IPv6
/// network inside one reserved range, which no database locates (so also
/// any other network there). The walk's IPv4 subtree comes as IPv4 networks.
fn is_alias(network: &IpNet) -> bool {
    match network {
        IpNet::V6(net) => {
            !net.contains(&std::net::Ipv6Addr::UNSPECIFIED)
                && reserved_range(IpAddr::V6(net.network()))
                    .is_some_and(|(_, end)| IpAddr::V6(net.broadcast()) <= end)
        }
        IpNet::V4(_) => false,
    }
}

/// Reads the first records until one shows which schema the file has.
fn detect_schema(reader: &Reader<Vec<u8>>) -> Result<Option<MmdbSchema>, MaxMindDbError> {
    let with_data = walk(reader)?.filter(|item| item.as_ref().map_or(true, |r| r.has_data()));
    for item in with_data.take(DETECTION_RECORDS) {
        let seen = seen_keys(&item?)?;
        if seen.nested {
            return Ok(Some(MmdbSchema::Nested));
        }
        if seen.flat {
            return Ok(Some(MmdbSchema::Flat));
        }
        if seen.asn {
            return Ok(Some(MmdbSchema::Asn));
        }
    }
    Ok(None)
}

fn seen_keys(result: &LookupResult<'_, Vec<u8>>) -> Result<KeysSeen, MaxMindDbError> {
    Ok(decode_record(result)?
        .map(|(_, seen)| seen)
        .unwrap_or_default())
}

/// Decodes the fields `schema` reads: typed (fast) when the record is well
/// formed, leniently (field by field) when it is not.
fn decode_for<'a>(
    schema: MmdbSchema,
    result: &LookupResult<'a, Vec<u8>>,
) -> Result<Option<RawRecord<'a>>, MaxMindDbError> {
    use crate::mmdb_record::typed;
    let fast = match schema {
        MmdbSchema::Flat => result
            .decode::<typed::Flat<'a>>()
            .map(|r| r.map(RawRecord::from)),
        MmdbSchema::Nested => result
            .decode::<typed::Nested<'a>>()
            .map(|r| r.map(RawRecord::from)),
        MmdbSchema::Asn => result
            .decode::<typed::Asn>()
            .map(|r| r.map(RawRecord::from)),
    };
    match fast {
        Ok(record) => Ok(record),
        Err(_) => decode_record(result).map(|r| r.map(|(record, _)| record)),
    }
}

fn decode_record<'a>(
    result: &LookupResult<'a, Vec<u8>>,
) -> Result<Option<(RawRecord<'a>, KeysSeen)>, MaxMindDbError> {
    result
        .decode::<RecordDecode<'a>>()
        .map(|r| r.map(|r| (r.0, r.1)))
}

/// Adapter so `LookupResult::decode` can run [`RecordSeed`].
struct RecordDecode<'a>(RawRecord<'a>, KeysSeen);

impl<'de> serde::Deserialize<'de> for RecordDecode<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        RecordSeed
            .deserialize(deserializer)
            .map(|(r, s)| Self(r, s))
    }
}

/// Turns the raw fields of a record into a location, dropping codes the
/// taxonomy does not know. The continent follows from the country when the
/// record has none.
pub(crate) fn to_location(schema: MmdbSchema, record: &RawRecord<'_>) -> Location {
    match schema {
        MmdbSchema::Asn => Location {
            isp: record.asn.and_then(Isp::from_asn),
            ..Location::default()
        },
        MmdbSchema::Nested | MmdbSchema::Flat => {
            let country = match schema {
                MmdbSchema::Nested => record.country,
                _ => record.country_code,
            }
            .and_then(Country::from_code);
            let subdivision = country.and_then(|c| match schema {
                MmdbSchema::Nested => record
                    .subdivision_code
                    .and_then(|code| Subdivision::from_country_and_code(c, code)),
                _ => record
                    .subdivision_name
                    .and_then(|name| subdivision_by_name(c, name)),
            });
            let continent = match schema {
                MmdbSchema::Nested => record.continent.and_then(Continent::from_code),
                _ => None,
            }
            .or_else(|| country.map(Country::continent));
            Location {
                continent,
                country,
                subdivision,
                ..Location::default()
            }
        }
    }
}

/// The subdivision for an English name: the catalogue's own spelling by one
/// allocation-free hash lookup (the common case in DB-IP data), any other
/// spelling through [`Subdivision::from_english_name`].
fn subdivision_by_name(country: Country, name: &str) -> Option<Subdivision> {
    static EXACT: OnceLock<HashMap<(Country, &'static str), Subdivision>> = OnceLock::new();
    let exact = EXACT.get_or_init(|| {
        Subdivision::all()
            .map(|s| ((s.country(), s.name()), s))
            .collect()
    });
    match exact.get(&(country, name)) {
        Some(&found) => Some(found),
        None => Subdivision::from_english_name(country, name),
    }
}

/// Turns maxminddb's network type into ipnet's.
fn to_ipnet(network: ipnetwork::IpNetwork) -> Option<IpNet> {
    match network {
        ipnetwork::IpNetwork::V4(n) => Ipv4Net::new(n.network(), n.prefix()).ok().map(IpNet::V4),
        ipnetwork::IpNetwork::V6(n) => Ipv6Net::new(n.network(), n.prefix()).ok().map(IpNet::V6),
    }
}

impl Locator for MmdbLocator {
    fn locate(&self, ip: IpAddr) -> Location {
        let ip = ip.to_canonical();
        if let Some((start, end)) = reserved_range(ip) {
            return Location {
                network: crate::widest_network(ip, start, end),
                ..Location::default()
            };
        }
        if ip.is_ipv6() && !self.has_ipv6() {
            return Location::default();
        }
        let Ok(result) = self.reader.lookup(ip) else {
            return Location::default();
        };
        let network = result
            .network()
            .ok()
            .and_then(to_ipnet)
            .map(|net| match (net, ip) {
                // An IPv6 database without an IPv4 subtree answers IPv4 addresses
                // from a prefix of `::`; the whole IPv4 space shares that answer.
                (IpNet::V6(_), IpAddr::V4(_)) => IpNet::V4(Ipv4Net::default()),
                _ => net,
            })
            // Reserved ranges inside the record's network answer differently.
            .map(|net| narrow_to_unreserved(ip, net));
        let mut location = match decode_for(self.schema, &result) {
            Ok(Some(record)) => self.record_location(&record),
            // A damaged record is an unknown location, not an error.
            Ok(None) | Err(_) => Location::default(),
        };
        location.network = network;
        location
    }

    fn describe(&self) -> String {
        self.label.clone()
    }
}

impl RangeSource for MmdbLocator {
    fn compile(&self) -> Result<LocationTable, SourceError> {
        let invalid = |source| SourceError::InvalidDatabase {
            file: PathBuf::from(&self.label),
            source,
        };
        let mut builder = TableBuilder::new(self.describe());
        // Records are shared by many networks: decode each once.
        let mut by_offset: HashMap<usize, LocationId> = HashMap::new();
        let mut v4_done = false;
        for item in walk(&self.reader).map_err(invalid)? {
            let result = item.map_err(invalid)?;
            let Some(offset) = result.offset() else {
                continue;
            };
            let Some(network) = result.network().ok().and_then(to_ipnet) else {
                continue;
            };
            // Reserved: the table has none of it (`without_reserved`).
            if is_alias(&network) {
                continue;
            }
            let id = match by_offset.get(&offset) {
                Some(&id) => id,
                None => {
                    let location = match decode_for(self.schema, &result) {
                        Ok(Some(record)) => self.record_location(&record),
                        Ok(None) | Err(_) => Location::default(),
                    };
                    let id = builder.intern(&location);
                    by_offset.insert(offset, id);
                    id
                }
            };
            match network {
                IpNet::V4(net) => {
                    builder.push_v4(u32::from(net.network()), u32::from(net.broadcast()), id)?;
                }
                IpNet::V6(net) => {
                    // A record above the IPv4 subtree (a prefix of `::` no
                    // longer than /96) also answers every IPv4 address.
                    if net.prefix_len() <= 96
                        && net.contains(&std::net::Ipv6Addr::UNSPECIFIED)
                        && !v4_done
                    {
                        builder.push_v4(0, u32::MAX, id)?;
                        v4_done = true;
                    }
                    builder.push_v6(u128::from(net.network()), u128::from(net.broadcast()), id)?;
                }
            }
        }
        Ok(builder.finish()?.without_reserved())
    }
}

impl LocationTable {
    /// The same table with every special-purpose address (private, loopback,
    /// documentation…, see [`crate::is_reserved`]) unknown.
    pub fn without_reserved(&self) -> Self {
        let v4 = self
            .v4()
            .zip_with(&crate::reserved::reserved_map_v4(), |id, reserved| {
                if reserved { LocationId::UNKNOWN } else { id }
            });
        let v6 = self
            .v6()
            .zip_with(&crate::reserved::reserved_map_v6(), |id, reserved| {
                if reserved { LocationId::UNKNOWN } else { id }
            });
        self.with_maps(v4, v6)
    }
}
