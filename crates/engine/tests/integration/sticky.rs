//! Sticky picks: deterministic per client subnet, and monotone when one
//! weight is raised (the gray-migration ramp).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use steerage_engine::{Snapshot, WeightedPick, sticky_client_key, sticky_target_key};
use steerage_policy::{PolicySet, Provider, ProviderKind, SelectionMode};

use crate::fixtures::*;

const NAMES: [&str; 5] = ["p0", "p1", "p2", "p3", "p4"];

fn sticky_set(weights: &[u16]) -> PolicySet {
    let mut set = empty_set();
    set.create_policy(DOMAIN).unwrap();
    for name in &NAMES[..weights.len()] {
        set.add_provider(
            DOMAIN,
            Provider::new(
                name.parse().unwrap(),
                ProviderKind::Cdn,
                format!("{name}.cdn.example").parse().unwrap(),
            ),
        )
        .unwrap();
    }
    let targets = weights
        .iter()
        .zip(NAMES)
        .map(|(&w, name)| target(name, w))
        .collect();
    // A China rule too, so the ramp is checked on a non-default rule.
    set.add_rule(DOMAIN, rule("china", &["CN"], targets))
        .unwrap();
    set.set_default_targets(
        DOMAIN,
        weights
            .iter()
            .zip(NAMES)
            .map(|(&w, name)| target(name, w))
            .collect(),
    )
    .unwrap();
    set.set_mode(DOMAIN, SelectionMode::Sticky).unwrap();
    set
}

#[test]
fn the_same_subnet_always_gets_the_same_provider() {
    let set = sticky_set(&[1, 1, 1, 1]);
    let a = compile(&set);
    let b = Snapshot::compile(&set, sample(), 99).unwrap();
    for i in 0..2000u32 {
        let base = i.wrapping_mul(0x0101_0301) & 0xffff_ff00;
        let first = a
            .select(DOMAIN, IpAddr::V4(Ipv4Addr::from(base)))
            .unwrap()
            .provider();
        for host in [1u32, 77, 255] {
            let client = IpAddr::V4(Ipv4Addr::from(base | host));
            assert_eq!(a.select(DOMAIN, client).unwrap().provider(), first);
            assert_eq!(b.select(DOMAIN, client).unwrap().provider(), first);
        }
    }
    // A different seed reshuffles clients.
    let mut reseeded = set;
    reseeded.set_seed(DOMAIN, 12345).unwrap();
    let c = compile(&reseeded);
    let moved = (0..1000u32)
        .filter(|i| {
            let client = IpAddr::V4(Ipv4Addr::from(i << 8));
            a.select(DOMAIN, client).unwrap().provider()
                != c.select(DOMAIN, client).unwrap().provider()
        })
        .count();
    assert!(moved > 500, "only {moved} of 1000 moved with a new seed");
}

#[test]
fn sticky_picks_are_a_fixed_function_of_subnet_and_key() {
    // Pinned values: a change of the hash would move real clients, so it
    // must be deliberate.
    let pick = WeightedPick::new(
        NAMES[..3]
            .iter()
            .enumerate()
            .map(|(i, n)| (i as u16, sticky_target_key(n), 1)),
    )
    .unwrap();
    let picks: Vec<u16> = (0..16u32)
        .map(|i| *pick.pick_sticky(sticky_client_key(IpAddr::V4(Ipv4Addr::from(i << 8)), 42)))
        .collect();
    let again: Vec<u16> = (0..16u32)
        .map(|i| {
            *pick.pick_sticky(sticky_client_key(
                IpAddr::V4(Ipv4Addr::from(i << 8 | 9)),
                42,
            ))
        })
        .collect();
    assert_eq!(picks, again);
    assert_eq!(picks, [1, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 2, 2, 0, 2, 1]);
}

fn client(bits: u32, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(
            0x2001_0db8_u128 << 96 | u128::from(bits) << 72,
        ))
    } else {
        IpAddr::V4(Ipv4Addr::from(bits))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Raising one provider's weight moves clients only onto it.
    #[test]
    fn raising_one_weight_moves_clients_only_onto_it(
        weights in prop::collection::vec(0u16..=10_000, 2..=5),
        raised in 0usize..5,
        increase in 1u16..=10_000,
        subnets in prop::collection::vec(any::<u32>(), 300),
        v6 in any::<bool>(),
    ) {
        let raised = raised % weights.len();
        let mut weights = weights;
        if weights.iter().all(|&w| w == 0) {
            weights[0] = 1;
        }
        let mut after = weights.clone();
        after[raised] = weights[raised].saturating_add(increase).min(10_000);
        let before_snap = compile(&sticky_set(&weights));
        let after_snap = compile(&sticky_set(&after));
        // Beijing clients (the china rule) and unknown ones (default rule).
        for (i, &bits) in subnets.iter().enumerate() {
            let c = if i % 2 == 0 {
                client(bits, v6)
            } else {
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, bits as u8))
            };
            let b = before_snap.select(DOMAIN, c).unwrap();
            let a = after_snap.select(DOMAIN, c).unwrap();
            prop_assert_eq!(b.rule(), a.rule());
            if b.provider() != a.provider() {
                prop_assert_eq!(a.provider(), NAMES[raised], "{} moved from {} to {}", c, b.provider(), a.provider());
            }
        }
    }

    /// Lowering one weight (or draining it to 0) moves clients only off it.
    #[test]
    fn lowering_one_weight_moves_clients_only_off_it(
        weights in prop::collection::vec(1u16..=10_000, 2..=5),
        lowered in 0usize..5,
        subnets in prop::collection::vec(any::<u32>(), 300),
    ) {
        let lowered = lowered % weights.len();
        let mut after = weights.clone();
        after[lowered] /= 3;
        let before_snap = compile(&sticky_set(&weights));
        let after_snap = compile(&sticky_set(&after));
        for &bits in &subnets {
            let c = client(bits, false);
            let b = before_snap.select(DOMAIN, c).unwrap();
            let a = after_snap.select(DOMAIN, c).unwrap();
            if b.provider() != a.provider() {
                prop_assert_eq!(b.provider(), NAMES[lowered]);
            }
        }
    }
}
