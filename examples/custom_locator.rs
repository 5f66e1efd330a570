//! A location source of your own: here, the network team's inventory of
//! prefixes (`prefix,country,subdivision,isp`), which knows the company's
//! sites better than any public database. Implementing `Locator` (look one
//! address up) and `RangeSource` (list every range, so it can be compiled)
//! is all it takes; the inventory is then layered over another source (the
//! built-in sample data here; DB-IP or GeoLite2 files in production) and
//! compiled into the table a `Steering` answers from.
//!
//! Run it with `cargo run --example custom_locator`. It needs no data files
//! (the inventory's prefixes, like the sample data's, are in ranges set
//! aside for documentation and benchmarks).

use std::error::Error;
use std::net::IpAddr;

use steerage::Steering;
use steerage::geo::ipnet::IpNet;
use steerage::geo::{
    Country, Isp, LayeredLocator, Location, LocationTable, SourceError, Subdivision, TableBuilder,
};
use steerage::policy::Format;
use steerage::prelude::*;

/// The inventory as the network team keeps it.
const INVENTORY: &str = "\
# prefix, country, subdivision, isp
198.19.0.0/24, CN, CN-BJ, telecom
198.19.1.0/24, CN, CN-SH, unicom
198.19.2.0/24, DE, ,
";

/// A prefix list with a location per prefix.
struct Inventory {
    /// Sorted by address, no two overlapping.
    entries: Vec<(IpNet, Location)>,
}

impl Inventory {
    /// Parses `prefix, country, subdivision, isp` lines; `#` starts a
    /// comment. Errors name the line.
    fn parse(text: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let at = |problem: String| format!("inventory line {}: {problem}", number + 1);
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let [prefix, country, subdivision, isp] = fields[..] else {
                return Err(at(format!("expected 4 fields, found {}", fields.len())));
            };
            let network: IpNet = prefix.parse().map_err(|e| at(format!("{prefix}: {e}")))?;
            let mut location = Location::default();
            let country = Country::from_code(country)
                .ok_or_else(|| at(format!("unknown country {country}")))?;
            location.country = Some(country);
            location.continent = Some(country.continent());
            if !subdivision.is_empty() {
                location.subdivision = Some(
                    Subdivision::from_code(subdivision)
                        .ok_or_else(|| at(format!("unknown subdivision {subdivision}")))?,
                );
            }
            if !isp.is_empty() {
                location.isp =
                    Some(Isp::from_code(isp).ok_or_else(|| at(format!("unknown ISP {isp}")))?);
            }
            entries.push((network.trunc(), location));
        }
        entries.sort_by_key(|(network, _)| (network.addr().is_ipv6(), network.network()));
        if let Some(pair) = entries
            .windows(2)
            .find(|w| w[0].0.contains(&w[1].0.network()))
        {
            return Err(format!("inventory: {} overlaps {}", pair[0].0, pair[1].0));
        }
        Ok(Self { entries })
    }
}

impl Locator for Inventory {
    fn locate(&self, ip: IpAddr) -> Location {
        let ip = ip.to_canonical();
        match self
            .entries
            .iter()
            .find(|(network, _)| network.contains(&ip))
        {
            Some((network, location)) => {
                let mut location = location.clone();
                location.network = Some(*network);
                location
            }
            // Unknown here: a layered locator asks the next source.
            None => Location::default(),
        }
    }

    fn describe(&self) -> String {
        format!("inventory ({} prefixes)", self.entries.len())
    }
}

impl RangeSource for Inventory {
    fn compile(&self) -> Result<LocationTable, SourceError> {
        // Ranges in ascending order per family; the gaps stay unknown.
        let mut builder = TableBuilder::new(self.describe());
        for (network, location) in &self.entries {
            builder.push_network(*network, location)?;
        }
        builder.finish()
    }
}

const CONFIG: &str = r#"
[builtin]
cname = "edge.example.org"

[[policy]]
domain = "www.example.com"

[[policy.provider]]
name = "origin"
kind = "origin"
cname = "origin.example.net"

[[policy.provider]]
name = "cdn-a"
kind = "cdn"
cname = "cdn-a.example.net"

[[policy.rule]]
name = "beijing"
lines = ["CN-BJ"]
targets = [{ provider = "origin", weight = 100 }]

[[policy.rule]]
name = "china"
lines = ["CN"]
targets = [{ provider = "cdn-a", weight = 100 }]
"#;

fn main() -> Result<(), Box<dyn Error>> {
    let inventory = Inventory::parse(INVENTORY)?;
    // The inventory first: where it knows an address, it decides; elsewhere
    // the next region source does.
    let layered = LayeredLocator::new()
        .with_region(inventory)
        .with_region(LocationTable::sample());
    let table = layered.compile()?;
    println!("locations: {}\n", table.describe());

    let steering = Steering::builder()
        .config_str(CONFIG, Format::Toml)
        .locations(table)
        .build()?;
    let clients = [
        "198.19.0.9",   // inventory: Beijing telecom -> origin
        "198.19.1.9",   // inventory: Shanghai unicom -> cdn-a
        "198.19.2.9",   // inventory: Germany -> default (built-in)
        "192.0.2.10",   // sample data: Beijing -> origin
        "198.51.100.7", // sample data: California -> default
    ];
    for client in clients {
        let ip: IpAddr = client.parse()?;
        // The layered sources (the reference) and the compiled table agree.
        let located = layered.locate(ip);
        if steering.locations().locate(ip).country != located.country {
            return Err(format!("{ip}: the compiled table disagrees with its sources").into());
        }
        let selection = steering
            .select("www.example.com", ip)
            .ok_or("not steered")?;
        println!(
            "{ip:<14} {:<3} {:<6} {:<8} -> {:<7} rule `{}`",
            located.country.map_or("-", |c| c.code()),
            located.subdivision.map_or("-", |s| s.code()),
            located.isp.map_or("-", |i| i.code()),
            selection.provider(),
            selection.rule()
        );
    }
    Ok(())
}
