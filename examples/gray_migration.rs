//! A gray migration from one CDN to another in `sticky` mode: the new
//! vendor's weight goes 0 -> 1 -> 10 -> 50 -> 100 %, and at each step the
//! example counts how many of 100,000 clients changed provider, and in which
//! direction. In sticky mode a client's pick is a deterministic hash of its
//! subnet and the domain, and raising the new vendor's weight only moves
//! clients onto it: no client ever goes back to the old vendor, and a client
//! that moved once stays moved. The example checks both and fails if either
//! is broken.
//!
//! Run it with `cargo run --example gray_migration`. It needs no data files
//! (the clients are unknown to the built-in sample data, so they all fall to
//! the default rule, which is what is being migrated).

use std::error::Error;
use std::net::{IpAddr, Ipv4Addr};

use steerage::Steering;
use steerage::geo::LocationTable;
use steerage::policy::{Format, Target, Weight};

const DOMAIN: &str = "www.example.com";

/// The policy before the migration: everyone on `cdn-a`, with `cdn-b`
/// already configured at weight 0 (drained), in sticky mode.
const CONFIG: &str = r#"
[builtin]
cname = "edge.example.org"

[[policy]]
domain = "www.example.com"
ttl = 60
mode = "sticky"

[[policy.provider]]
name = "cdn-a"
kind = "cdn"
cname = "cdn-a.example.net"

[[policy.provider]]
name = "cdn-b"
kind = "cdn"
cname = "cdn-b.example.net"

[policy.default]
targets = [{ provider = "cdn-a", weight = 100 }, { provider = "cdn-b", weight = 0 }]
"#;

/// The new vendor's share at each step, in percent.
const STEPS: [u16; 5] = [0, 1, 10, 50, 100];

/// How many clients are followed through the migration.
const CLIENTS: u32 = 100_000;

fn main() -> Result<(), Box<dyn Error>> {
    let steering = Steering::builder()
        .config_str(CONFIG, Format::Toml)
        .locations(LocationTable::sample())
        .build()?;
    // One client per /24 (sticky mode hashes the client's /24, or /56 for
    // IPv6): 100,000 distinct subnets from 11.0.0.0 up.
    let clients: Vec<IpAddr> = (0..CLIENTS)
        .map(|i| IpAddr::V4(Ipv4Addr::from(0x0b00_0001 + (i << 8))))
        .collect();

    println!(
        "{:>13} {:>10} {:>10} {:>12} {:>12}",
        "cdn-b weight", "on cdn-a", "on cdn-b", "a -> b", "b -> a"
    );
    let mut previous: Option<Vec<bool>> = None;
    for percent in STEPS {
        steering.apply(|set| {
            set.set_default_targets(
                DOMAIN,
                vec![
                    Target::new("cdn-a".parse()?, Weight::new(100 - percent)?),
                    Target::new("cdn-b".parse()?, Weight::new(percent)?),
                ],
            )
        })?;
        // One snapshot for the whole pass: every client sees this step.
        let snapshot = steering.snapshot();
        let mut on_b = Vec::with_capacity(clients.len());
        for ip in &clients {
            let decision = snapshot.select(DOMAIN, *ip).ok_or("not steered")?;
            on_b.push(decision.provider() == "cdn-b");
        }
        let (mut a_to_b, mut b_to_a) = (0u32, 0u32);
        if let Some(before) = &previous {
            for (&was_b, &is_b) in before.iter().zip(&on_b) {
                match (was_b, is_b) {
                    (false, true) => a_to_b += 1,
                    (true, false) => b_to_a += 1,
                    _ => {}
                }
            }
        }
        let count_b = u32::try_from(on_b.iter().filter(|&&b| b).count())?;
        println!(
            "{:>12}% {:>10} {:>10} {:>12} {:>12}",
            percent,
            CLIENTS - count_b,
            count_b,
            a_to_b,
            b_to_a
        );
        if b_to_a > 0 {
            return Err(format!("{b_to_a} clients went back to cdn-a at {percent} %").into());
        }
        // The share on cdn-b is the weight, within five standard deviations
        // of a binomial share (exact at 0 and 100 %).
        let p = f64::from(percent) / 100.0;
        let share = f64::from(count_b) / f64::from(CLIENTS);
        let sigma = (p * (1.0 - p) / f64::from(CLIENTS)).sqrt();
        if (share - p).abs() > 5.0 * sigma + f64::EPSILON {
            return Err(format!("cdn-b has {share:.4} of the clients at weight {p}").into());
        }
        previous = Some(on_b);
    }
    println!(
        "\nEvery step moved clients only from cdn-a onto cdn-b, none went back,\n\
         and each step's share of cdn-b is its weight within sampling error."
    );
    Ok(())
}
