//! Traffic spread over three CDN vendors for resilience, by region and by
//! weight, from a TOML configuration: China mainland 60 / 40 over `cdn-a`
//! and `cdn-b`, Europe half and half over `cdn-b` and `cdn-c`, North America
//! 20 / 30 / 50 over all three, and everyone else a third each. The example
//! measures the split over 100,000 selections per region against the
//! weights, then takes `cdn-b` out of service (a manual failover: disabling a
//! provider gives it nothing from any rule) and measures again: its share
//! goes to the other vendors of each rule, in proportion to their weights.
//! It fails if a measured share is off by more than five standard
//! deviations.
//!
//! Run it with `cargo run --example multi_vendor`. It needs no data files:
//! the clients are addresses of the built-in sample data.

use std::collections::BTreeMap;
use std::error::Error;
use std::net::IpAddr;

use steerage::Steering;
use steerage::geo::LocationTable;
use steerage::policy::Format;

const DOMAIN: &str = "www.example.com";

const CONFIG: &str = r#"
[builtin]
cname = "edge.example.org"

[[policy]]
domain = "www.example.com"
ttl = 60

[[policy.provider]]
name = "cdn-a"
kind = "cdn"
cname = "cdn-a.example.net"

[[policy.provider]]
name = "cdn-b"
kind = "cdn"
cname = "cdn-b.example.net"

[[policy.provider]]
name = "cdn-c"
kind = "cdn"
cname = "cdn-c.example.net"

[[policy.rule]]
name = "china"
lines = ["CN"]
targets = [{ provider = "cdn-a", weight = 60 }, { provider = "cdn-b", weight = 40 }]

[[policy.rule]]
name = "europe"
lines = ["continent:EU"]
targets = [{ provider = "cdn-b", weight = 50 }, { provider = "cdn-c", weight = 50 }]

[[policy.rule]]
name = "north-america"
lines = ["continent:NA"]
targets = [
    { provider = "cdn-a", weight = 20 },
    { provider = "cdn-b", weight = 30 },
    { provider = "cdn-c", weight = 50 },
]

[policy.default]
targets = [
    { provider = "cdn-a", weight = 1 },
    { provider = "cdn-b", weight = 1 },
    { provider = "cdn-c", weight = 1 },
]
"#;

/// One client of the sample data per rule.
const CLIENTS: [(&str, &str); 4] = [
    ("china", "198.18.0.7"),           // Guangdong, China Telecom
    ("europe", "198.18.5.7"),          // Germany
    ("north-america", "198.51.100.7"), // California
    ("default", "198.18.7.7"),         // Japan: no rule for Asia outside China
];

/// Selections per client.
const PICKS: u32 = 100_000;

fn main() -> Result<(), Box<dyn Error>> {
    let steering = Steering::builder()
        .config_str(CONFIG, Format::Toml)
        .locations(LocationTable::sample())
        .build()?;

    println!("== All three vendors in service ==\n");
    measure(&steering)?;

    steering.apply(|set| set.disable_provider(DOMAIN, "cdn-b"))?;
    println!("\n== cdn-b disabled (manual failover) ==\n");
    measure(&steering)?;

    steering.apply(|set| set.enable_provider(DOMAIN, "cdn-b"))?;
    println!("\ncdn-b enabled again: the configured split is back.");
    Ok(())
}

/// Selects `PICKS` times per client and compares each vendor's share with
/// what the rule's weights and the enabled providers give it.
fn measure(steering: &Steering) -> Result<(), Box<dyn Error>> {
    let config = steering.config();
    let policy = config.policy(DOMAIN).ok_or("the policy is missing")?;
    println!(
        "{:<14} {:<16} {:<7} {:>7} {:>9} {:>9}",
        "rule", "client", "vendor", "weight", "expected", "measured"
    );
    for (rule_name, ip) in CLIENTS {
        let ip: IpAddr = ip.parse()?;
        let targets = match policy.rule(rule_name) {
            Some(rule) => rule.targets(),
            None => policy.default_rule().targets(),
        };
        // A disabled provider counts as weight 0.
        let live = |name: &str| policy.provider(name).is_some_and(|p| p.is_enabled());
        let total: u32 = targets
            .iter()
            .filter(|t| live(t.provider().as_str()))
            .map(|t| u32::from(t.weight().get()))
            .sum();
        let mut counts: BTreeMap<String, u32> = BTreeMap::new();
        for _ in 0..PICKS {
            let selection = steering.select(DOMAIN, ip).ok_or("not steered")?;
            if selection.rule() != rule_name {
                return Err(
                    format!("{ip} matched {} instead of {rule_name}", selection.rule()).into(),
                );
            }
            *counts.entry(selection.provider().to_owned()).or_default() += 1;
        }
        for target in targets {
            let name = target.provider().as_str();
            let weight = target.weight().get();
            let p = if live(name) {
                f64::from(weight) / f64::from(total)
            } else {
                0.0
            };
            let got = counts.get(name).copied().unwrap_or(0);
            let share = f64::from(got) / f64::from(PICKS);
            println!(
                "{rule_name:<14} {ip:<16} {name:<7} {weight:>7} {:>8.2}% {:>8.2}%{}",
                100.0 * p,
                100.0 * share,
                if live(name) { "" } else { "  (disabled)" }
            );
            let sigma = (p * (1.0 - p) / f64::from(PICKS)).sqrt();
            if (share - p).abs() > 5.0 * sigma + f64::EPSILON {
                return Err(
                    format!("{name} got {share:.4} of {rule_name}, expected {p:.4}").into(),
                );
            }
        }
    }
    Ok(())
}
