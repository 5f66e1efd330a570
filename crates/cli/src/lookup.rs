//! `steerage lookup IP...`: where each address is located (continent,
//! country, subdivision, ISP, custom lines, the network the answer holds
//! over) and what each IP data file said about it, so an operator sees
//! which file decided.

use std::io::{self, Write};
use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;
use steerage::geo::{Country, Location, Locator};

use crate::data::{self, DataArgs, Role, Source};
use crate::output::{self, FormatArg, Report};
use crate::{CliError, Outcome};

/// Arguments of `steerage lookup`.
#[derive(Debug, Clone, Args)]
pub struct LookupArgs {
    /// The addresses to look up (IPv4 or IPv6).
    #[arg(value_name = "IP", required = true)]
    pub ips: Vec<IpAddr>,
    /// A configuration whose custom CIDR lines to look the addresses up in.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The IP data.
    #[command(flatten)]
    pub data: DataArgs,
    /// The output format.
    #[command(flatten)]
    pub output: FormatArg,
}

/// A location as the output shows it: codes, and the network it holds over.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LocationView {
    /// Continent code (`AS`), from the data or the country.
    pub continent: Option<&'static str>,
    /// ISO 3166-1 code.
    pub country: Option<&'static str>,
    /// Subdivision code (`CN-BJ`).
    pub subdivision: Option<&'static str>,
    /// China ISP code (`telecom`).
    pub isp: Option<&'static str>,
    /// Custom lines containing the address.
    pub custom: Vec<String>,
    /// The network around the address over which all of the above is the
    /// same.
    pub network: Option<String>,
}

impl From<&Location> for LocationView {
    fn from(l: &Location) -> Self {
        Self {
            continent: l
                .continent
                .or_else(|| l.country.map(Country::continent))
                .map(|c| c.code()),
            country: l.country.map(Country::code),
            subdivision: l.subdivision.map(|s| s.code()),
            isp: l.isp.map(|i| i.code()),
            custom: l.custom.iter().map(|n| format!("cidr:{n}")).collect(),
            network: l.network.map(|n| n.to_string()),
        }
    }
}

impl LocationView {
    /// `country CN, subdivision CN-BJ (Beijing), ISP telecom, continent AS`,
    /// or `unknown`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = self.country {
            let name = Country::from_code(c).map_or("", Country::name);
            parts.push(format!("country {c} ({name})"));
        }
        if let Some(s) = self.subdivision {
            let name = steerage::geo::Subdivision::from_code(s).map_or("", |s| s.name());
            parts.push(format!("subdivision {s} ({name})"));
        }
        if let Some(i) = self.isp {
            parts.push(format!("ISP {i}"));
        }
        if let Some(c) = self.continent {
            parts.push(format!("continent {c}"));
        }
        parts.extend(self.custom.iter().cloned());
        if parts.is_empty() {
            "unknown".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// What one file said about an address.
#[derive(Debug, Serialize)]
struct SourceAnswer {
    file: String,
    kind: String,
    role: &'static str,
    /// What it said (`None` when an earlier file decided).
    location: Option<LocationView>,
    /// AS number and organisation, for ASN CSV files.
    asn: Option<u32>,
    organisation: Option<String>,
    /// `decided`, `consulted` (knew nothing, or a later field), `not
    /// consulted` (an earlier file decided), `overruled` (an ISP outside
    /// China mainland).
    verdict: &'static str,
}

#[derive(Debug, Serialize)]
struct AddressReport {
    ip: IpAddr,
    /// The answer every decision uses (the compiled table).
    location: LocationView,
    sources: Vec<SourceAnswer>,
}

#[derive(Debug, Serialize)]
struct LookupReport {
    data: String,
    addresses: Vec<AddressReport>,
}

/// Runs `steerage lookup`.
///
/// # Errors
/// When the IP data or the configuration does not load.
pub fn run(args: &LookupArgs) -> Result<Outcome, CliError> {
    let data = args.data.load()?;
    let table = match &args.config {
        Some(path) => {
            let set = data::load_config(path)?;
            std::sync::Arc::clone(data::compile(&set, &data, path)?.locations())
        }
        None => std::sync::Arc::clone(&data.table),
    };
    let addresses = args
        .ips
        .iter()
        .map(|&ip| address_report(ip, &table.locate(ip), &data.sources))
        .collect();
    let report = LookupReport {
        data: table.describe(),
        addresses,
    };
    output::emit(args.output.format, &report)?;
    Ok(Outcome::Success)
}

fn address_report(ip: IpAddr, merged: &Location, sources: &[Source]) -> AddressReport {
    let china = Country::from_code("CN");
    let mut region_decided = false;
    let mut isp_decided = false;
    let sources = sources
        .iter()
        .map(|source| {
            let location = source.locator.locate(ip);
            let verdict = match source.role {
                Role::Region if region_decided => "not consulted",
                Role::Region => {
                    region_decided = location.continent.is_some() || location.country.is_some();
                    if region_decided {
                        "decided"
                    } else {
                        "consulted"
                    }
                }
                Role::Isp if isp_decided => "not consulted",
                Role::Isp => {
                    isp_decided = location.isp.is_some();
                    if !isp_decided {
                        "consulted"
                    } else if merged.country.is_some() && merged.country != china {
                        "overruled: outside China mainland"
                    } else {
                        "decided"
                    }
                }
            };
            let asn = source.asn_csv.as_ref().and_then(|csv| csv.asn(ip));
            SourceAnswer {
                file: source.name(),
                kind: source.kind.clone(),
                role: match source.role {
                    Role::Region => "region",
                    Role::Isp => "isp",
                },
                location: (verdict != "not consulted").then(|| LocationView::from(&location)),
                asn,
                organisation: asn.and_then(|a| {
                    source
                        .asn_csv
                        .as_ref()
                        .and_then(|csv| csv.organisation(a))
                        .map(str::to_owned)
                }),
                verdict,
            }
        })
        .collect();
    AddressReport {
        ip,
        location: LocationView::from(merged),
        sources,
    }
}

impl Report for LookupReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        for (i, a) in self.addresses.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            writeln!(out, "{}", a.ip)?;
            writeln!(out, "  location: {}", a.location.describe())?;
            if let Some(net) = &a.location.network {
                writeln!(
                    out,
                    "  network:  {net} (every address in it is located alike)"
                )?;
            }
            for s in &a.sources {
                write!(out, "  {} [{}]: ", s.file, s.role)?;
                let Some(location) = &s.location else {
                    writeln!(out, "not consulted (an earlier file decided)")?;
                    continue;
                };
                match (s.role, s.asn) {
                    ("isp", Some(asn)) => {
                        write!(out, "AS{asn}")?;
                        if let Some(org) = &s.organisation {
                            write!(out, " {org}")?;
                        }
                        match location.isp {
                            Some(isp) => write!(out, ", ISP {isp}")?,
                            None => write!(out, ", no China carrier")?,
                        }
                    }
                    ("isp", None) => match location.isp {
                        Some(isp) => write!(out, "ISP {isp}")?,
                        None => write!(out, "no China carrier")?,
                    },
                    _ => write!(out, "{}", location.describe())?,
                }
                if let Some(net) = &location.network {
                    write!(out, " (record {net})")?;
                }
                writeln!(out, ": {}", s.verdict)?;
            }
        }
        Ok(())
    }
}
