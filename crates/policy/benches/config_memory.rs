//! Peak and steady resident memory of loading a large config, TOML and JSON.
//!
//! The parent writes the same 100,000-policy set (each the design example:
//! three providers, two rules, the default rule; 1,000 under
//! `cargo test --benches`) as a TOML and a JSON file, then loads each in
//! a child process of its own, so that neither format's peak or heap
//! fragmentation pollutes the other's figures. A child reads the file,
//! parses and validates it, drops the text and reports, from
//! `/proc/self/status` (Linux): its resident memory before reading
//! (`VmRSS`), the peak (`VmHWM`) and the resident memory with the loaded set
//! alive (steady), and the time the load took (one run: a rough figure).
//! The target is a peak under 6x the file's size.
//!
//! Run: `cargo bench -p steerage-policy --bench config_memory`.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

use steerage_policy::{
    BuiltinProvider, DomainName, Format, Line, PolicySet, Provider, ProviderKind, Rule, Target,
    Weight,
};

/// The set: `n` policies, each the design example (as in the `steerage`
/// crate's bench fixture): three providers, the Beijing and China rules and
/// the default rule.
fn policy_set(n: usize) -> PolicySet {
    let target = |provider: &str, weight: u16| {
        Target::new(provider.parse().unwrap(), Weight::new(weight).unwrap())
    };
    let mut set = PolicySet::new(BuiltinProvider::new(
        DomainName::new("edge.steerage.example").unwrap(),
    ));
    for i in 0..n {
        let domain = format!("www{i}.example.com");
        set.create_policy(&domain).unwrap();
        for (name, kind, cname) in [
            ("origin", ProviderKind::Origin, "origin.example.com"),
            ("vendor-a", ProviderKind::Cdn, "a.cdn.example"),
            ("vendor-b", ProviderKind::Cdn, "b.cdn.example"),
        ] {
            let provider = Provider::new(name.parse().unwrap(), kind, cname.parse().unwrap());
            set.add_provider(&domain, provider).unwrap();
        }
        let beijing = Rule::new(
            "beijing".parse().unwrap(),
            vec![Line::parse("CN-BJ").unwrap()],
            vec![target("origin", 1)],
        );
        let china = Rule::new(
            "china-mainland".parse().unwrap(),
            vec![Line::parse("CN").unwrap()],
            vec![target("vendor-a", 70), target("builtin", 30)],
        );
        set.add_rule(&domain, beijing).unwrap();
        set.add_rule(&domain, china).unwrap();
        set.set_default_targets(&domain, vec![target("vendor-b", 1)])
            .unwrap();
    }
    set
}

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

/// The child: loads one file and prints `before peak steady policies
/// milliseconds`.
fn child(format: &str, path: &Path) -> ExitCode {
    let format = if format == "toml" {
        Format::Toml
    } else {
        Format::Json
    };
    let before = status_bytes("VmRSS:").unwrap_or(0);
    let text = std::fs::read_to_string(path).expect("read the config");
    let start = Instant::now();
    let set = PolicySet::from_str_in(&text, format).expect("load the config");
    let millis = start.elapsed().as_millis();
    drop(text);
    let peak = status_bytes("VmHWM:").unwrap_or(0);
    let steady = status_bytes("VmRSS:").unwrap_or(0);
    println!("{before} {peak} {steady} {} {millis}", set.len());
    ExitCode::SUCCESS
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--child") {
        return child(&args[at + 1], Path::new(&args[at + 2]));
    }
    if status_bytes("VmHWM:").is_none() {
        println!("config_memory: /proc/self/status is not available; nothing measured");
        return ExitCode::SUCCESS;
    }
    let bench = args.iter().any(|a| a == "--bench");
    let n = if bench { 100_000 } else { 1_000 };
    let set = policy_set(n);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let files = [
        ("toml", set.to_toml_string().unwrap()),
        ("json", set.to_json_string().unwrap()),
    ]
    .map(|(name, text)| {
        let path = dir.path().join(format!("policies.{name}"));
        std::fs::write(&path, text).expect("write the config");
        (name, path)
    });
    drop(set);
    println!("config load, {n} policies (peak and steady resident memory of a child process):");
    let mut over = false;
    for (name, path) in &files {
        let size = std::fs::metadata(path).unwrap().len();
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--child", name])
            .arg(path)
            .output()
            .expect("run the child");
        assert!(
            out.status.success(),
            "child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let fields: Vec<u64> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(|f| f.parse().unwrap())
            .collect();
        let [before, peak, steady, loaded, millis] = fields[..] else {
            panic!("unexpected child output {fields:?}");
        };
        assert_eq!(loaded, n as u64);
        let ratio = peak as f64 / size as f64;
        println!(
            "  {name}: file {:6.1} MiB  peak {:7.1} MiB ({ratio:4.1}x the file)  steady {:6.1} MiB  (at start {:4.1} MiB)  load {millis} ms",
            mib(size),
            mib(peak),
            mib(steady),
            mib(before),
        );
        // The target holds for a large file; a small one is dominated by the
        // process's own few MiB.
        over |= bench && ratio >= 6.0;
    }
    if over {
        println!("config_memory: a peak is at or over 6x its file's size");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
