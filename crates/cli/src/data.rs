//! Loading what the subcommands work on: a configuration file (`CONFIG`,
//! `--config`) and the IP data (`--geo`, `--asn`, or the built-in sample
//! data), compiled into the one location table every decision uses. Hides
//! how files are recognised (TOML or JSON by extension; an ASN file as a
//! MaxMind DB by its metadata marker, else as CSV) and how the sources are
//! layered, and keeps each source open so `lookup` can say which file
//! answered.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use steerage::engine::Snapshot;
use steerage::geo::{
    AsnCsv, LayeredLocator, LocationTable, Locator, MmdbLocator, MmdbSchema, RangeSource,
    SAMPLE_DESCRIPTION,
};
use steerage::policy::{Format, PolicySet};

use crate::CliError;

/// The IP data flags, flattened into every subcommand that locates clients.
#[derive(Debug, Clone, Default, Args)]
pub struct DataArgs {
    /// A MaxMind DB file with countries and subdivisions (GeoIP2/GeoLite2
    /// or DB-IP, nested or flat schema). Repeatable: a later file answers
    /// where the earlier ones know nothing (stack an IPv4 and an IPv6
    /// file). Without it, the built-in sample data.
    #[arg(long = "geo", value_name = "FILE")]
    pub geo: Vec<PathBuf>,
    /// ASN data that gives the China ISP lines (`CN/telecom`, ...): a CSV
    /// file (`range_start,range_end,asn,organisation`) or an ASN/ISP
    /// MaxMind DB (GeoLite2-ASN, GeoIP2-ISP). Repeatable: the first file
    /// that names a carrier for an address wins.
    #[arg(long = "asn", value_name = "FILE")]
    pub asn: Vec<PathBuf>,
}

/// What one IP data source is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Continent, country and subdivision.
    Region,
    /// The China ISP line.
    Isp,
}

/// One loaded IP data source.
#[derive(Clone)]
pub struct Source {
    /// The file (`None` for the built-in sample data).
    pub path: Option<PathBuf>,
    /// What it is consulted for.
    pub role: Role,
    /// What kind of data it is, for people (`MaxMind DB, flat schema (city
    /// ipv4)`, `ASN CSV`).
    pub kind: String,
    /// The source itself.
    pub locator: Arc<dyn Locator>,
    /// The same source when it is an ASN CSV, for its AS numbers and
    /// organisations.
    pub asn_csv: Option<Arc<AsnCsv>>,
}

impl Source {
    /// The file's name as given, or `sample data (built in)`.
    pub fn name(&self) -> String {
        self.path.as_ref().map_or_else(
            || SAMPLE_DESCRIPTION.to_owned(),
            |p| p.display().to_string(),
        )
    }
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("path", &self.path)
            .field("role", &self.role)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The IP data: its sources in the order they are consulted and the
/// compiled table that answers as their layering does.
#[derive(Debug, Clone)]
pub struct IpData {
    /// Region sources first, then ISP sources, each in flag order.
    pub sources: Vec<Source>,
    /// The compiled location table (without a configuration's custom lines).
    pub table: Arc<LocationTable>,
}

impl IpData {
    /// The built-in sample data alone.
    pub fn sample() -> Self {
        let table = Arc::new(LocationTable::sample());
        Self {
            sources: vec![Source {
                path: None,
                role: Role::Region,
                kind: "built-in sample".to_owned(),
                locator: Arc::clone(&table) as Arc<dyn Locator>,
                asn_csv: None,
            }],
            table,
        }
    }

    /// Whether any source gives ISP lines: an ASN source, or the sample
    /// data, whose records carry their carrier.
    pub fn has_isp_data(&self) -> bool {
        self.sources
            .iter()
            .any(|s| s.role == Role::Isp || s.path.is_none())
    }
}

impl DataArgs {
    /// Opens every file and compiles the location table: the `--geo` files
    /// as region sources (the sample data when there is none), the `--asn`
    /// files as ISP sources.
    ///
    /// # Errors
    /// [`CliError::Data`] naming the file that cannot be read or is not a
    /// valid database or CSV file, [`CliError::WrongDataFlag`] for an ASN
    /// database given to `--geo` or a city database given to `--asn`,
    /// [`CliError::Compile`] when the sources cannot be compiled.
    pub fn load(&self) -> Result<IpData, CliError> {
        if self.geo.is_empty() && self.asn.is_empty() {
            return Ok(IpData::sample());
        }
        let mut layered = LayeredLocator::new();
        let mut sources = Vec::new();
        if self.geo.is_empty() {
            let sample = Arc::new(LocationTable::sample());
            layered = layered.with_region(Arc::clone(&sample));
            sources.extend(IpData::sample().sources);
        }
        for path in &self.geo {
            let data = |source| CliError::Data {
                path: path.clone(),
                source,
            };
            let locator = Arc::new(MmdbLocator::open(path).map_err(data)?);
            if locator.schema() == MmdbSchema::Asn {
                return Err(CliError::WrongDataFlag {
                    path: path.clone(),
                    found: "an ASN database",
                    flag: "--asn",
                });
            }
            sources.push(Source {
                path: Some(path.clone()),
                role: Role::Region,
                kind: mmdb_kind(&locator),
                locator: Arc::clone(&locator) as Arc<dyn Locator>,
                asn_csv: None,
            });
            layered = layered.with_region(locator);
        }
        for path in &self.asn {
            let (source, range_source) = open_asn(path)?;
            sources.push(source);
            layered = layered.with_isp(range_source);
        }
        let table = layered.compile().map_err(CliError::Compile)?;
        Ok(IpData {
            sources,
            table: Arc::new(table),
        })
    }
}

/// The metadata marker that ends every MaxMind DB file (searched for in
/// its last 128 KiB).
const MMDB_MARKER: &[u8] = b"\xAB\xCD\xEFMaxMind.com";

/// Opens an `--asn` file: a MaxMind DB (ASN schema) or an ASN CSV.
fn open_asn(path: &Path) -> Result<(Source, Arc<dyn RangeSource>), CliError> {
    let data = |source| CliError::Data {
        path: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::read(path).map_err(|source| {
        data(steerage::geo::SourceError::Read {
            file: path.to_path_buf(),
            source,
        })
    })?;
    let tail = &bytes[bytes.len().saturating_sub(128 * 1024)..];
    if tail.windows(MMDB_MARKER.len()).any(|w| w == MMDB_MARKER) {
        let locator = Arc::new(MmdbLocator::from_bytes(bytes, path, None).map_err(data)?);
        if locator.schema() != MmdbSchema::Asn {
            return Err(CliError::WrongDataFlag {
                path: path.to_path_buf(),
                found: "a city or country database",
                flag: "--geo",
            });
        }
        let source = Source {
            path: Some(path.to_path_buf()),
            role: Role::Isp,
            kind: mmdb_kind(&locator),
            locator: Arc::clone(&locator) as Arc<dyn Locator>,
            asn_csv: None,
        };
        return Ok((source, locator));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        data(steerage::geo::SourceError::Read {
            file: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "neither a MaxMind DB nor a UTF-8 CSV file (invalid UTF-8 at byte {})",
                    e.utf8_error().valid_up_to()
                ),
            ),
        })
    })?;
    let csv = Arc::new(AsnCsv::from_text(&text, path).map_err(data)?);
    let source = Source {
        path: Some(path.to_path_buf()),
        role: Role::Isp,
        kind: "ASN CSV".to_owned(),
        locator: Arc::clone(&csv) as Arc<dyn Locator>,
        asn_csv: Some(Arc::clone(&csv)),
    };
    Ok((source, csv))
}

fn mmdb_kind(locator: &MmdbLocator) -> String {
    format!(
        "MaxMind DB, {} schema ({})",
        locator.schema().name(),
        locator.database_type()
    )
}

/// Reads, parses and validates a configuration file (TOML or JSON by its
/// extension).
///
/// # Errors
/// [`CliError::ConfigFormat`], [`CliError::ReadConfig`], or
/// [`CliError::Config`] whose source names the line and column, or the
/// policy, rule and provider.
pub fn load_config(path: &Path) -> Result<PolicySet, CliError> {
    let format = Format::from_path(path).ok_or_else(|| CliError::ConfigFormat {
        path: path.to_path_buf(),
    })?;
    let text = std::fs::read_to_string(path).map_err(|source| CliError::ReadConfig {
        path: path.to_path_buf(),
        source,
    })?;
    PolicySet::from_str_in(&text, format).map_err(|source| CliError::Config {
        path: path.to_path_buf(),
        source,
    })
}

/// Compiles a configuration against the IP data (its custom lines layered
/// on top), as the server would serve it.
///
/// # Errors
/// [`CliError::Engine`] naming `path` when the set is beyond what a
/// snapshot indexes.
pub fn compile(set: &PolicySet, data: &IpData, path: &Path) -> Result<Snapshot, CliError> {
    Snapshot::compile(set, Arc::clone(&data.table), 1).map_err(|source| CliError::Engine {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a client list (`--clients`): one client a line, an address or a
/// subnet (`203.0.113.7`, `203.0.113.0/24`, `2001:db8::/56`), optionally
/// followed by a count (the clients or queries it stands for; 1 when
/// absent), separated by spaces, a tab or a comma, as resolver and ECS logs
/// give them. Blank lines and `#` comments are skipped.
///
/// # Errors
/// [`CliError::ReadClients`], or [`CliError::ClientLine`] naming the line
/// and what is wrong with it; an empty list is an error too.
pub fn load_clients(path: &Path) -> Result<Vec<crate::shares::Client>, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::ReadClients {
        path: path.to_path_buf(),
        source,
    })?;
    let mut clients = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let problem = |problem: String| CliError::ClientLine {
            path: path.to_path_buf(),
            line: index + 1,
            problem,
        };
        let content = line.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let mut fields = content
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|f| !f.is_empty());
        let (Some(client), count, None) = (fields.next(), fields.next(), fields.next()) else {
            return Err(problem(format!(
                "expected `ADDRESS[/PREFIX] [COUNT]`, found `{}`",
                excerpt(content)
            )));
        };
        let subnet = if client.contains('/') {
            client
                .parse::<ipnet::IpNet>()
                .map(|n| n.trunc())
                .map_err(|_| problem(format!("`{}` is not a subnet", excerpt(client))))?
        } else {
            client
                .parse::<std::net::IpAddr>()
                .map(ipnet::IpNet::from)
                .map_err(|_| problem(format!("`{}` is not an IP address", excerpt(client))))?
        };
        let count = match count {
            None => 1.0,
            Some(c) => match c.parse::<u64>() {
                Ok(n) if n > 0 => n as f64,
                _ => {
                    return Err(problem(format!(
                        "count `{}` is not a positive whole number",
                        excerpt(c)
                    )));
                }
            },
        };
        clients.push(crate::shares::Client { subnet, count });
    }
    if clients.is_empty() {
        return Err(CliError::Usage(format!(
            "client list `{}` holds no client",
            path.display()
        )));
    }
    Ok(clients)
}

/// At most 64 characters of untrusted text, for error messages.
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clients(text: &str) -> Result<Vec<(String, f64)>, CliError> {
        let dir = tempfile::tempdir().map_err(|source| CliError::ReadClients {
            path: PathBuf::from("tempdir"),
            source,
        })?;
        let path = dir.path().join("clients.txt");
        std::fs::write(&path, text).map_err(|source| CliError::ReadClients {
            path: path.clone(),
            source,
        })?;
        Ok(load_clients(&path)?
            .into_iter()
            .map(|c| (c.subnet.to_string(), c.count))
            .collect())
    }

    #[test]
    fn client_lists_take_addresses_subnets_counts_and_comments() {
        let parsed = clients(
            "# resolver log\n203.0.113.7\n\n192.0.2.99/24 1500  # an ECS subnet\n2001:db8::/56,7\n\t198.51.100.0/24\t2\n",
        )
        .unwrap();
        assert_eq!(
            parsed,
            [
                ("203.0.113.7/32".to_owned(), 1.0),
                ("192.0.2.0/24".to_owned(), 1500.0),
                ("2001:db8::/56".to_owned(), 7.0),
                ("198.51.100.0/24".to_owned(), 2.0),
            ]
        );
    }

    #[test]
    fn bad_client_lines_name_the_line() {
        for (text, line, problem) in [
            (
                "192.0.2.0/24 1 2\n",
                1,
                "expected `ADDRESS[/PREFIX] [COUNT]`",
            ),
            ("# x\n192.0.2.0/33\n", 2, "is not a subnet"),
            ("192.0.2.1 -4\n", 1, "is not a positive whole number"),
            ("192.0.2.1 1.5\n", 1, "is not a positive whole number"),
        ] {
            match clients(text) {
                Err(CliError::ClientLine {
                    line: l,
                    problem: p,
                    ..
                }) => {
                    assert_eq!(l, line, "{text}");
                    assert!(p.contains(problem), "{text}: {p}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        assert!(matches!(clients("# nothing\n"), Err(CliError::Usage(_))));
    }
}
