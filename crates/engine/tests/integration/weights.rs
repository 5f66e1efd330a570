//! The weighted split is unbiased: chi-square over 1,000,000 picks per
//! mode, with a fixed seed; weight 0 and disabled providers get nothing.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use steerage_engine::seed_thread_rng;
use steerage_policy::{PolicySet, SelectionMode};

use crate::fixtures::*;

const PICKS: u32 = 1_000_000;

/// A policy whose default rule splits 50 / 30 / 20 over three providers and
/// gives vendor-c weight 0 and vendor-d (disabled) weight 40.
fn split_set(mode: SelectionMode) -> PolicySet {
    let mut set = empty_set();
    with_providers(&mut set, DOMAIN);
    for name in ["vendor-c", "vendor-d"] {
        set.add_provider(
            DOMAIN,
            steerage_policy::Provider::new(
                name.parse().unwrap(),
                steerage_policy::ProviderKind::Cdn,
                format!("www.{name}.example").parse().unwrap(),
            ),
        )
        .unwrap();
    }
    set.set_default_targets(
        DOMAIN,
        vec![
            target("origin", 50),
            target("vendor-a", 30),
            target("vendor-b", 20),
            target("vendor-c", 0),
            target("vendor-d", 40),
        ],
    )
    .unwrap();
    set.disable_provider(DOMAIN, "vendor-d").unwrap();
    set.set_mode(DOMAIN, mode).unwrap();
    set
}

/// Pearson's chi-square of observed counts against weights.
fn chi_square(counts: &HashMap<String, u32>, weights: &[(&str, f64)], n: u32) -> f64 {
    let total: f64 = weights.iter().map(|w| w.1).sum();
    weights
        .iter()
        .map(|(name, w)| {
            let expected = f64::from(n) * w / total;
            let observed = f64::from(counts.get(*name).copied().unwrap_or(0));
            (observed - expected).powi(2) / expected
        })
        .sum()
}

/// The 0.999 quantile of chi-square with 2 degrees of freedom: a fair
/// split exceeds it once in a thousand seeds.
const CHI2_DF2_P999: f64 = 13.816;

fn check(counts: &HashMap<String, u32>) {
    assert_eq!(counts.get("vendor-c"), None, "weight 0 got picks");
    assert_eq!(
        counts.get("vendor-d"),
        None,
        "a disabled provider got picks"
    );
    assert_eq!(counts.values().sum::<u32>(), PICKS);
    let chi2 = chi_square(
        counts,
        &[("origin", 50.0), ("vendor-a", 30.0), ("vendor-b", 20.0)],
        PICKS,
    );
    eprintln!("counts {counts:?}, chi-square {chi2:.3}");
    assert!(chi2 < CHI2_DF2_P999, "chi-square {chi2} for {counts:?}");
}

#[test]
fn random_split_is_unbiased() {
    let snap = compile(&split_set(SelectionMode::Random));
    seed_thread_rng(0x5eed_2026);
    let mut counts: HashMap<String, u32> = HashMap::new();
    let client = ip("198.51.100.7");
    for _ in 0..PICKS {
        let d = snap.select(DOMAIN, client).unwrap();
        *counts.entry(d.provider().to_owned()).or_default() += 1;
    }
    check(&counts);
}

#[test]
fn sticky_split_over_distinct_subnets_is_unbiased() {
    let snap = compile(&split_set(SelectionMode::Sticky));
    let mut counts: HashMap<String, u32> = HashMap::new();
    for i in 0..PICKS {
        // One address in each of 1,000,000 distinct /24s, spread over the
        // whole space by a multiplicative step (odd, so distinct).
        let subnet = i.wrapping_mul(0x9e37_79b1) >> 8;
        let client = IpAddr::V4(Ipv4Addr::from(subnet << 8 | 7));
        let d = snap.select(DOMAIN, client).unwrap();
        *counts.entry(d.provider().to_owned()).or_default() += 1;
    }
    check(&counts);
}

#[test]
fn sticky_split_over_ipv6_subnets_is_unbiased() {
    let snap = compile(&split_set(SelectionMode::Sticky));
    let mut counts: HashMap<String, u32> = HashMap::new();
    for i in 0..200_000u64 {
        let top = (0x2001_0db8_0000_0000u64 | (i << 8)) as u128;
        let client = IpAddr::V6((top << 64 | 1).into());
        let d = snap.select(DOMAIN, client).unwrap();
        *counts.entry(d.provider().to_owned()).or_default() += 1;
    }
    let chi2 = chi_square(
        &counts,
        &[("origin", 50.0), ("vendor-a", 30.0), ("vendor-b", 20.0)],
        200_000,
    );
    assert!(chi2 < CHI2_DF2_P999, "chi-square {chi2} for {counts:?}");
}
