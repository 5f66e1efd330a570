//! What every test uses: the binary, the test data, JSON output, small IP
//! databases written on the spot.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use mmdb_writer::{IpVersion, Writer};
use serde_json::Value;

/// The `steerage` binary.
pub(crate) fn steerage() -> Command {
    assert_cmd::cargo::cargo_bin_cmd!("steerage")
}

/// A file of `testdata/`.
pub(crate) fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

/// Runs the command (with `--format json` added), expecting `status`, and
/// parses its standard output.
pub(crate) fn json(command: &mut Command, status: i32) -> Value {
    let output = command.args(["--format", "json"]).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(status),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A flat-schema (DB-IP style) country database without subdivisions:
/// CN over 1.0.0.0/8, IN over 2.0.0.0/8, US over 3.0.0.0/8.
pub(crate) fn country_db(dir: &Path) -> PathBuf {
    let mut writer = Writer::builder("Steerage-Test")
        .description(&[("en", "steerage cli test fixture")])
        .ip_version(IpVersion::V4)
        .build();
    for (network, country) in [
        ("1.0.0.0/8", "CN"),
        ("2.0.0.0/8", "IN"),
        ("3.0.0.0/8", "US"),
    ] {
        writer
            .insert(
                network.parse::<ipnet::IpNet>().unwrap(),
                &serde_json::json!({ "country_code": country }),
            )
            .unwrap();
    }
    let path = dir.join("countries.mmdb");
    std::fs::write(&path, writer.to_bytes().unwrap()).unwrap();
    path
}

/// The real data folder, or `None` (with a notice) when
/// `STEERAGE_GEO_DATA` is not set.
pub(crate) fn geo_data() -> Option<PathBuf> {
    match std::env::var_os("STEERAGE_GEO_DATA").filter(|v| !v.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            eprintln!("STEERAGE_GEO_DATA is not set: skipping the real-data test");
            None
        }
    }
}
