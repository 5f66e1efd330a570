//! A rule's sticky pick decided for many clients, exactly as `select`
//! decides it but without a logarithm per target.
//!
//! The engine's weighted rendezvous pick scores each target
//! `weight / -ln(u)` (`u` in (0, 1) from a hash of the client and target
//! keys, [`sticky_unit`]) and takes the first highest score. Over the
//! whole IPv4 space that is a `ln` per target per `/24` per policy, and
//! the libm logarithm was most of a simulation's time. Here `-ln(u)` is
//! bounded instead, in two steps: first by `u`'s exponent and the top 8
//! bits of its mantissa and a table ([`coarse`], within 0.4 %), which
//! decides two targets but for about one client in a hundred; then by a
//! short series with a proven error bound ([`neg_ln`], [`NEG_LN_ERROR`]).
//! When the bounds of the scores separate the winner from every other
//! target, the engine's floating-point scores order them alike (their
//! rounding is far below the margin), so the winner is the engine's; when
//! they do not (about one client in 10^7), the engine's own pick decides.
//! The result is the engine's pick for every client key, not an estimate;
//! a proptest checks it against [`WeightedPick::pick_sticky`].

use std::sync::LazyLock;

use steerage::engine::{WeightedPick, sticky_unit};

/// A bound on `|neg_ln(u) - (-ln(u))|` for every `u` in (0, 1): the
/// series' truncation is below 7.2e-10 and its rounding below 1e-14 (see
/// [`neg_ln`]); the bound leaves a margin of ten.
const NEG_LN_ERROR: f64 = 1e-8;

/// The relative margin a comparison of bounds keeps for the rounding of
/// the engine's scores (a few units in the last place, ~1e-15) and of the
/// comparison's own products.
const ROUNDING: f64 = 1e-9;

/// The most targets decided on the fast path; a pick over more (the
/// validator allows it, configurations do not do it) uses the engine's.
const FAST_TARGETS: usize = 16;

/// `ln(1 + i / 256)` for `i` in `0..=256`.
static LN_STEPS: LazyLock<[f64; 257]> =
    LazyLock::new(|| std::array::from_fn(|i| (1.0 + i as f64 / 256.0).ln()));

/// What [`coarse`]'s bounds leave for the rounding of the table and of
/// `e ln 2` (a few units in the last place of numbers below 40).
const COARSE_SLACK: f64 = 1e-12;

/// Bounds `(low, high)` on `-ln(u)` for `u` in (0, 1): `u = 2^e (1 + f)`
/// with the top 8 bits of `f` giving `i`, so `u` is in `[2^e (1 + i/256),
/// 2^e (1 + (i+1)/256))` and `-ln(u)` in `(-e ln 2 - ln(1 + (i+1)/256),
/// -e ln 2 - ln(1 + i/256)]`: an integer conversion and two table reads.
#[inline]
fn coarse(u: f64) -> (f64, f64) {
    let bits = u.to_bits();
    // The biased exponent of a positive normal number: 11 bits.
    let e = ((bits >> 52) & 0x7ff) as i32 - 1023;
    let i = ((bits >> 44) & 0xff) as usize;
    let steps = &*LN_STEPS;
    let whole = -f64::from(e) * std::f64::consts::LN_2;
    (
        whole - steps[i + 1] - COARSE_SLACK,
        whole - steps[i] + COARSE_SLACK,
    )
}

/// `-ln(u)` for `u` in (0, 1), within [`NEG_LN_ERROR`].
///
/// `u = 2^e * m` with `m` in [sqrt(1/2), sqrt(2)), so `ln(u) = e ln 2 +
/// ln(m)`, and `ln(m) = 2 atanh(s)` with `s = (m - 1) / (m + 1)`, `|s| <=
/// 0.1716`: the series `2 (s + s^3/3 + ... + s^9/9)` leaves out terms
/// summing to at most `2 |s|^11 / 11 / (1 - s^2) < 7.2e-10`. `u` is a
/// normal number (at least 2^-54), so the exponent field is exact.
#[inline]
fn neg_ln(u: f64) -> f64 {
    let bits = u.to_bits();
    // The biased exponent of a positive normal number: 11 bits.
    let mut e = ((bits >> 52) & 0x7ff) as i32 - 1023;
    let mut m = f64::from_bits((bits & ((1 << 52) - 1)) | (1023 << 52));
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    // Exact: m - 1 by Sterbenz's lemma.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    // Plain products and sums: `mul_add` is a slow library call on
    // targets built without FMA (the default x86-64 target).
    let series = 1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0))));
    -(f64::from(e) * std::f64::consts::LN_2 + 2.0 * s * series)
}

/// Whether a target of weight `wj` whose `-ln(u)` is at most `lj_high`
/// surely scores strictly above one of weight `wi` whose `-ln(u)` is at
/// least `li_low`: `wj / Lj > wi / Li` when `wj li_low > wi lj_high`, with a
/// margin for the rounding of the engine's scores and of the products.
#[inline]
fn surely_above_bounds(wj: f64, lj_high: f64, wi: f64, li_low: f64) -> bool {
    wj * li_low > wi * lj_high * (1.0 + ROUNDING)
}

/// Whether a target of weight `wj` whose `-ln(u)` is `lj` (within
/// [`NEG_LN_ERROR`]) scores strictly above one of weight `wi` at `li`,
/// for certain: `wj / Lj > wi / Li` holds for the true values when
/// `wj (li - err) > wi (lj + err)`, with a margin for rounding.
#[inline]
fn surely_above(wj: f64, lj: f64, wi: f64, li: f64) -> bool {
    wj * (li - NEG_LN_ERROR) > wi * (lj + NEG_LN_ERROR) * (1.0 + ROUNDING)
}

/// A rule's sticky pick over its live targets, prepared for deciding many
/// clients.
#[derive(Debug, Clone)]
pub(crate) struct StickyPick {
    /// The engine's pick: the decision where the bounds cannot decide.
    pick: WeightedPick<u16>,
    /// The live targets `(value, sticky key, weight)`, in the pick's order.
    targets: Box<[(u16, u64, f64)]>,
}

impl StickyPick {
    /// A pick over `(value, sticky key, weight)`, as
    /// [`WeightedPick::new`]; `None` if no weight is positive.
    pub(crate) fn new(targets: impl IntoIterator<Item = (u16, u64, u32)>) -> Option<Self> {
        let live: Vec<(u16, u64, u32)> = targets.into_iter().filter(|t| t.2 > 0).collect();
        let pick = WeightedPick::new(live.iter().copied())?;
        let targets = live
            .into_iter()
            .map(|(value, key, weight)| (value, key, f64::from(weight)))
            .collect();
        Some(Self { pick, targets })
    }

    /// The number of live targets.
    pub(crate) fn len(&self) -> usize {
        self.targets.len()
    }

    /// The value of target `index` (in `0..len()`).
    pub(crate) fn value(&self, index: usize) -> u16 {
        self.targets[index].0
    }

    /// The engine's pick for `client_key`
    /// ([`steerage::engine::sticky_client_key`]).
    #[inline]
    pub(crate) fn pick(&self, client_key: u64) -> u16 {
        self.value(self.pick_index(client_key))
    }

    /// The position of the engine's pick for `client_key` among the live
    /// targets. Two targets are decided without a branch on which wins
    /// (a 70/30 split mispredicted a third of the time).
    #[inline]
    pub(crate) fn pick_index(&self, client_key: u64) -> usize {
        match *self.targets {
            [(_, ka, wa), (_, kb, wb)] => {
                let (ua, ub) = (sticky_unit(client_key, ka), sticky_unit(client_key, kb));
                let ((la_low, la_high), (lb_low, lb_high)) = (coarse(ua), coarse(ub));
                let b_wins = surely_above_bounds(wb, lb_high, wa, la_low);
                let a_wins = surely_above_bounds(wa, la_high, wb, lb_low);
                if !(a_wins | b_wins) {
                    return self.pick_two_near(client_key, (ua, ub));
                }
                usize::from(b_wins)
            }
            [_] => 0,
            ref many if many.len() <= FAST_TARGETS => self.pick_many(client_key),
            _ => self.exact(client_key),
        }
    }

    /// [`Self::pick_index`] of two targets whose coarse bounds overlap: the
    /// series, else the engine.
    #[cold]
    #[inline(never)]
    fn pick_two_near(&self, client_key: u64, (ua, ub): (f64, f64)) -> usize {
        match *self.targets {
            [(_, _, wa), (_, _, wb)] => {
                let (la, lb) = (neg_ln(ua), neg_ln(ub));
                if surely_above(wb, lb, wa, la) {
                    1
                } else if surely_above(wa, la, wb, lb) {
                    0
                } else {
                    self.exact(client_key)
                }
            }
            _ => self.exact(client_key),
        }
    }

    /// [`Self::pick_index`] of three to [`FAST_TARGETS`] targets: the best
    /// by the approximate scores, if it surely beats every other.
    fn pick_many(&self, client_key: u64) -> usize {
        let mut neg_lns = [0.0; FAST_TARGETS];
        let mut best = 0;
        for (i, &(_, key, weight)) in self.targets.iter().enumerate() {
            neg_lns[i] = neg_ln(sticky_unit(client_key, key));
            // Compared by cross products: no division.
            if weight * neg_lns[best] > self.targets[best].2 * neg_lns[i] {
                best = i;
            }
        }
        let weight = self.targets[best].2;
        let sure =
            self.targets.iter().enumerate().all(|(i, &(_, _, w))| {
                i == best || surely_above(weight, neg_lns[best], w, neg_lns[i])
            });
        if sure { best } else { self.exact(client_key) }
    }

    /// The engine's own pick, as a position (the first target holding its
    /// value: a rule names a provider once).
    #[inline(never)]
    fn exact(&self, client_key: u64) -> usize {
        let value = *self.pick.pick_sticky(client_key);
        self.targets
            .iter()
            .position(|t| t.0 == value)
            .unwrap_or_default()
    }

    /// The engine's pick this decides like.
    #[cfg(test)]
    fn engine(&self) -> &WeightedPick<u16> {
        &self.pick
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The engine's pick, computed the plain way: every score in full, the
    /// first highest wins.
    fn naive(targets: &[(u16, u64, u32)], client_key: u64) -> u16 {
        let mut best: Option<(u16, f64)> = None;
        for &(value, key, weight) in targets.iter().filter(|t| t.2 > 0) {
            let score = f64::from(weight) / -sticky_unit(client_key, key).ln();
            if best.is_none_or(|(_, b)| score > b) {
                best = Some((value, score));
            }
        }
        best.map_or(u16::MAX, |b| b.0)
    }

    #[test]
    fn neg_ln_is_within_its_bound() {
        let mut worst: f64 = 0.0;
        let mut u = f64::MIN_POSITIVE.max(2f64.powi(-54));
        while u < 1.0 {
            worst = worst.max((neg_ln(u) - -u.ln()).abs());
            u = (u * 1.000_37).min(u + 1e-4);
        }
        for u in [
            0.5,
            0.75,
            std::f64::consts::FRAC_1_SQRT_2,
            1.0 - 2f64.powi(-53),
        ] {
            worst = worst.max((neg_ln(u) - -u.ln()).abs());
        }
        assert!(worst < NEG_LN_ERROR / 10.0, "{worst}");
    }

    #[test]
    fn coarse_bounds_hold() {
        let mut u = 2f64.powi(-54);
        let mut widest: f64 = 0.0;
        while u < 1.0 {
            let (low, high) = coarse(u);
            let exact = -u.ln();
            assert!(low <= exact && exact <= high, "{u}: {low} {exact} {high}");
            widest = widest.max(high - low);
            u = (u * 1.000_37).min(u + 1e-4);
        }
        for u in [0.5, 0.75, 1.0 - 2f64.powi(-53), 2f64.powi(-54)] {
            let (low, high) = coarse(u);
            assert!(low <= -u.ln() && -u.ln() <= high, "{u}");
        }
        assert!(widest < 0.004, "{widest}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The coarse bounds hold on every unit a hash gives.
        #[test]
        fn coarse_bounds_hold_on_hashed_units(client in any::<u64>(), target in any::<u64>()) {
            let u = sticky_unit(client, target);
            let (low, high) = coarse(u);
            prop_assert!(low <= -u.ln() && -u.ln() <= high);
        }


        /// The fast pick is the engine's and the naive scan's for every
        /// client key, with weights and target counts of every kind
        /// (equal weights make near ties likely, so the fallback runs too).
        #[test]
        fn fast_pick_is_the_engines(
            targets in proptest::collection::vec((any::<u64>(), 0u32..=10_000), 1..20),
            equal in any::<bool>(),
            keys in proptest::collection::vec(any::<u64>(), 200),
        ) {
            let targets: Vec<(u16, u64, u32)> = targets
                .iter()
                .enumerate()
                .map(|(i, &(key, w))| (i as u16, key, if equal { 1 } else { w }))
                .collect();
            let Some(fast) = StickyPick::new(targets.iter().copied()) else {
                prop_assert!(targets.iter().all(|t| t.2 == 0));
                return Ok(());
            };
            for key in keys {
                let picked = fast.pick(key);
                prop_assert_eq!(picked, *fast.engine().pick_sticky(key));
                prop_assert_eq!(picked, naive(&targets, key));
            }
        }
    }

    /// Near ties go to the engine: two targets of one weight whose units
    /// differ in the last bits cannot be ordered by the bound.
    #[test]
    fn near_ties_fall_back() {
        assert!(!surely_above(1.0, 0.5, 1.0, 0.5 + 1e-12));
        assert!(!surely_above(1.0, 0.5 + 1e-12, 1.0, 0.5));
        assert!(surely_above(1.0, 0.5, 1.0, 0.6));
        assert!(surely_above(70.0, 0.5, 30.0, 0.5));
        // No bound below 0: an unknowably small -ln(u) never decides.
        assert!(!surely_above(1.0, 1e-9, 1.0, 1e-9));
    }
}
