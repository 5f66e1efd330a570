//! Rise and fall: a provider goes down after `fall` failed checks in a row
//! and comes back after `rise` good ones, so one lost packet does not move
//! traffic and one lucky answer does not bring it back.

/// The debounced state of one probe. A probe starts up: a provider nobody
/// has checked yet gets traffic, as it did before checks were configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Debounce {
    up: bool,
    /// Results in a row that disagree with `up`.
    against: u8,
    rise: u8,
    fall: u8,
}

impl Debounce {
    /// Up, with these counts (each at least 1; 0 is taken as 1).
    pub(crate) fn new(rise: u8, fall: u8) -> Self {
        Self {
            up: true,
            against: 0,
            rise: rise.max(1),
            fall: fall.max(1),
        }
    }

    /// Counts one result; returns the state after it.
    pub(crate) fn record(&mut self, ok: bool) -> bool {
        if ok == self.up {
            self.against = 0;
            return self.up;
        }
        self.against = self.against.saturating_add(1);
        let needed = if self.up { self.fall } else { self.rise };
        if self.against >= needed {
            self.up = ok;
            self.against = 0;
        }
        self.up
    }

    /// The state.
    pub(crate) fn is_up(&self) -> bool {
        self.up
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::rngs::Xoshiro256PlusPlus;
    use rand::{RngExt, SeedableRng};

    #[test]
    fn falls_after_fall_and_rises_after_rise() {
        let mut d = Debounce::new(2, 3);
        assert!(d.record(false) && d.record(false));
        assert!(!d.record(false));
        assert!(!d.record(true));
        assert!(!d.record(false), "a good check alone does not count");
        assert!(!d.record(true));
        assert!(d.record(true));
        assert!(d.is_up());
    }

    proptest! {
        /// The state changes only after `fall` (going down) or `rise`
        /// (coming up) results in a row that disagree with it, and always
        /// then.
        #[test]
        fn changes_exactly_after_a_full_run(rise in 1u8..6, fall in 1u8..6, results in prop::collection::vec(any::<bool>(), 0..200)) {
            let mut d = Debounce::new(rise, fall);
            let mut up = true;
            let mut run = 0u32;
            for ok in results {
                run = if ok == up { 0 } else { run + 1 };
                let needed = u32::from(if up { fall } else { rise });
                if run == needed {
                    up = ok;
                    run = 0;
                }
                prop_assert_eq!(d.record(ok), up);
            }
        }
    }

    /// With checks failing at random with probability p and fall 3 / rise 2,
    /// the rate of failovers matches the Markov chain's expectation, and no
    /// failover lasts less than `rise` checks (one hold period).
    #[test]
    fn flap_rate_matches_the_binomial_expectation() {
        let (p, rise, fall) = (0.3_f64, 2u8, 3u8);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(20_261_203);
        let mut d = Debounce::new(rise, fall);
        let n = 2_000_000u32;
        let (mut downs, mut shortest, mut since) = (0u32, u32::MAX, 0u32);
        for i in 0..n {
            let was = d.is_up();
            let now = d.record(!rng.random_bool(p));
            if was && !now {
                downs += 1;
                since = i;
            }
            if !was && now {
                shortest = shortest.min(i - since);
            }
        }
        // States: up with 0..fall failures in a row, down with 0..rise
        // successes in a row. Per step, an up state with k failures moves
        // to k+1 with p, to 0 with 1-p; a down state with k successes moves
        // to k+1 with 1-p, to 0 with p. Stationary solution, by the
        // renewal argument: the expected time up (from entering up until
        // `fall` failures in a row) is (1 - p^f) / ((1-p) p^f), down
        // (until `rise` successes in a row) (1 - q^r) / (p q^r), q = 1-p.
        let q = 1.0 - p;
        let (f, r) = (i32::from(fall), i32::from(rise));
        let up_time = (1.0 - p.powi(f)) / (q * p.powi(f));
        let down_time = (1.0 - q.powi(r)) / (p * q.powi(r));
        let expected = f64::from(n) / (up_time + down_time);
        let got = f64::from(downs);
        // Failovers are a renewal count: well within 5 % over 2 million
        // steps (tens of thousands of cycles).
        assert!(
            (got - expected).abs() < 0.05 * expected,
            "{got} vs {expected}"
        );
        assert!(shortest >= u32::from(rise), "{shortest}");
    }
}
