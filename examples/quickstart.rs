//! The main job of steerage on the built-in sample data, in one run: build
//! a policy for `www.example.com` (Beijing clients -> the origin, the rest of
//! China mainland -> CDN `cdn-a` 70 % / the built-in provider 30 %, everyone
//! else -> CDN `cdn-b`) through console operations on a `Steering`, print it
//! as TOML, show three refused operations that change nothing, then print
//! the decision and its explanation for a dozen sample clients, and finally
//! the split measured over 100,000 selections per rule against the
//! configured weights.
//!
//! The same policy, with the same provider names, is what the `dns_server`
//! example serves and what the DNS peer benchmark measures.
//!
//! Run it with `cargo run --example quickstart`. It needs no data files: the
//! location data is `LocationTable::sample()`, made-up assignments in
//! documentation address ranges (the table is in the `steerage-geo` docs,
//! `crates/geo/docs/geo.md`).

use std::collections::BTreeMap;
use std::error::Error;
use std::net::IpAddr;

use steerage::geo::{Line, LocationTable, SAMPLE_RANGES};
use steerage::policy::{
    BuiltinProvider, PolicyError, PolicySet, Provider, ProviderKind, Rule, Target, Ttl, Weight,
};
use steerage::{Steering, SteeringError};

const DOMAIN: &str = "www.example.com";

/// How many selections the split is measured over, per rule.
const PICKS: u32 = 100_000;

fn main() -> Result<(), Box<dyn Error>> {
    // The built-in provider: the CNAME of your own platform, which every
    // policy has and which answers when a policy is disabled.
    let builtin = BuiltinProvider::new("edge.example.org".parse()?);
    let steering = Steering::builder()
        .config(PolicySet::new(builtin))
        .locations(LocationTable::sample())
        .build()?;

    let version = steering.apply(|set| {
        set.create_policy(DOMAIN)?;
        set.set_ttl(DOMAIN, Ttl::new(60)?)?;
        set.add_provider(
            DOMAIN,
            provider("origin", ProviderKind::Origin, "origin.example.net")?,
        )?;
        set.add_provider(
            DOMAIN,
            provider("cdn-a", ProviderKind::Cdn, "cdn-a.example.net")?,
        )?;
        set.add_provider(
            DOMAIN,
            provider("cdn-b", ProviderKind::Cdn, "cdn-b.example.net")?,
        )?;
        set.add_rule(DOMAIN, rule("beijing", "CN-BJ", &[("origin", 100)])?)?;
        set.add_rule(
            DOMAIN,
            rule("china", "CN", &[("cdn-a", 70), ("builtin", 30)])?,
        )?;
        set.set_default_targets(DOMAIN, targets(&[("cdn-b", 100)])?)
    })?;
    println!("== The policy, built with console operations (version {version}) ==\n");
    print!("{}", steering.config().to_toml_string()?);

    println!("\n== Three refused operations: nothing changes ==\n");
    show_refused(
        &steering,
        "delete provider cdn-a (rule china uses it)",
        |set| set.delete_provider(DOMAIN, "cdn-a").map(drop),
    );
    show_refused(&steering, "delete the policy (it is enabled)", |set| {
        set.delete_policy(DOMAIN).map(drop)
    });
    show_refused(&steering, "delete the default rule", |set| {
        set.delete_rule(DOMAIN, "default").map(drop)
    });

    println!("\n== Decisions and why, for a dozen sample clients ==");
    for ip in dozen_clients()? {
        let Some(explanation) = steering.explain(DOMAIN, ip) else {
            continue;
        };
        // In `random` mode every selection picks anew; this is the pick the
        // explanation made.
        let answer = &explanation.answer;
        println!(
            "\n{ip:<16} -> {} ({}), rule `{}`, TTL {} s, ECS scope /{}",
            answer.provider, answer.cname, answer.rule, answer.ttl, answer.scope_prefix
        );
        for line in explanation.to_string().lines() {
            println!("    {line}");
        }
    }

    println!("\n== Measured split over {PICKS} selections per rule ==\n");
    measure_split(&steering)?;
    Ok(())
}

/// Applies a change that the model refuses, and shows that the version
/// stayed.
fn show_refused(
    steering: &Steering,
    what: &str,
    change: impl FnOnce(&mut PolicySet) -> Result<(), PolicyError>,
) {
    let before = steering.version();
    println!("{what}:");
    match steering.apply(change) {
        Err(err) => println!("  refused: {}", chain(&err)),
        Ok(version) => println!("  accepted as version {version} (not expected)"),
    }
    println!("  version before {before}, after {}", steering.version());
}

/// Twelve of the sample dataset's example clients across its regions (both
/// address families), and one address the data does not know.
fn dozen_clients() -> Result<Vec<IpAddr>, Box<dyn Error>> {
    let wanted = [
        "192.0.2.10",      // Beijing, China Telecom
        "192.0.2.200",     // Beijing, China Unicom
        "2001:db8:100::7", // Beijing, China Telecom (IPv6)
        "198.18.0.7",      // Guangdong, China Telecom
        "2001:db8:200::7", // Guangdong, China Mobile (IPv6)
        "198.18.3.7",      // China, CERNET, no province
        "203.0.113.7",     // Shanghai, China Telecom
        "198.18.4.7",      // India, Maharashtra
        "198.18.5.7",      // Germany
        "198.18.7.7",      // Japan
        "198.51.100.7",    // United States, California
    ];
    let mut clients = Vec::new();
    for ip in wanted {
        // Taken from the dataset so the example cannot drift from it.
        let ip: IpAddr = ip.parse()?;
        if SAMPLE_RANGES.iter().any(|r| r.client == ip) {
            clients.push(ip);
        }
    }
    clients.push("8.8.8.8".parse()?); // Not in the sample data: unknown.
    Ok(clients)
}

/// Selects `PICKS` times for one client per rule and compares each
/// provider's share with its configured weight.
fn measure_split(steering: &Steering) -> Result<(), Box<dyn Error>> {
    let config = steering.config();
    let policy = config.policy(DOMAIN).ok_or("the policy is missing")?;
    let per_rule = [
        ("beijing", "192.0.2.10"),
        ("china", "198.18.0.7"),
        ("default", "198.18.5.7"),
    ];
    println!(
        "{:<16} {:<10} {:>8} {:>10} {:>10} {:>8}",
        "rule", "provider", "weight", "expected", "measured", "3 sigma"
    );
    for (rule_name, ip) in per_rule {
        let ip: IpAddr = ip.parse()?;
        let configured: &[Target] = match policy.rule(rule_name) {
            Some(rule) => rule.targets(),
            None => policy.default_rule().targets(),
        };
        let total: u32 = configured.iter().map(|t| u32::from(t.weight().get())).sum();
        let mut counts: BTreeMap<String, u32> = BTreeMap::new();
        for _ in 0..PICKS {
            let selection = steering.select(DOMAIN, ip).ok_or("not steered")?;
            if selection.rule() != rule_name {
                return Err(
                    format!("{ip} got rule {} instead of {rule_name}", selection.rule()).into(),
                );
            }
            *counts.entry(selection.provider().to_owned()).or_default() += 1;
        }
        for target in configured {
            let name = target.provider().as_str();
            let expected = 100.0 * f64::from(target.weight().get()) / f64::from(total);
            let measured =
                100.0 * f64::from(counts.get(name).copied().unwrap_or(0)) / f64::from(PICKS);
            // Three standard deviations of a binomial share: the measured
            // share falls this close to the expected one 99.7 % of the time.
            let p = expected / 100.0;
            let sigma3 = 300.0 * (p * (1.0 - p) / f64::from(PICKS)).sqrt();
            println!(
                "{rule_name:<16} {name:<10} {:>8} {expected:>9.2}% {measured:>9.2}% {sigma3:>7.2}%",
                target.weight().get()
            );
        }
    }
    Ok(())
}

fn provider(name: &str, kind: ProviderKind, cname: &str) -> Result<Provider, PolicyError> {
    Ok(Provider::new(name.parse()?, kind, cname.parse()?))
}

fn targets(split: &[(&str, u16)]) -> Result<Vec<Target>, PolicyError> {
    split
        .iter()
        .map(|&(p, w)| Ok(Target::new(p.parse()?, Weight::new(w)?)))
        .collect()
}

fn rule(name: &str, line: &str, split: &[(&str, u16)]) -> Result<Rule, PolicyError> {
    Ok(Rule::new(
        name.parse()?,
        vec![Line::parse(line)?],
        targets(split)?,
    ))
}

/// An error and its causes, on one line.
fn chain(err: &SteeringError) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
