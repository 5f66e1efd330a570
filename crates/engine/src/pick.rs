//! The weighted pick among a rule's live targets: `random` with a fast
//! per-thread generator, `sticky` with weighted rendezvous hashing.

use std::cell::Cell;
use std::net::IpAddr;

/// The prefix length of the IPv4 client subnet a sticky pick hashes: every
/// address of one `/24` gets the same provider.
pub const STICKY_PREFIX_V4: u8 = 24;
/// The prefix length of the IPv6 client subnet a sticky pick hashes (`/56`,
/// the usual delegation to one customer site).
pub const STICKY_PREFIX_V6: u8 = 56;

thread_local! {
    /// The state of this thread's wyrand generator; 0 means "not seeded yet".
    static RNG: Cell<u64> = const { Cell::new(0) };
}

/// A 64-bit seed from the operating system's generator (through `rand`).
pub(crate) fn os_seed() -> u64 {
    rand::random::<u64>()
}

/// Reseeds the calling thread's generator for `random` picks, making its
/// later picks a fixed sequence (for tests and reproducible simulations).
/// Threads that never call it are seeded from the operating system on their
/// first pick.
pub fn seed_thread_rng(seed: u64) {
    // 0 is the "unseeded" marker; any other fixed value keeps the sequence
    // deterministic.
    RNG.with(|s| {
        s.set(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    });
}

/// wyrand's increment and its mixing constant.
const WY_ADD: u64 = 0xa076_1d64_78bd_642f;
const WY_XOR: u64 = 0xe703_7ed1_a0b4_28db;

/// The next number of this thread's wyrand generator (Wang Yi's 64-bit
/// generator: passes PractRand and BigCrush, one multiply per number).
#[inline]
fn next_u64() -> u64 {
    RNG.with(|s| {
        let mut state = s.get();
        if state == 0 {
            state = os_seed() | 1;
        }
        state = state.wrapping_add(WY_ADD);
        s.set(state);
        fold_mul(state, state ^ WY_XOR)
    })
}

/// A uniform integer in `0..n` (`n > 0`), unbiased: Lemire's multiply with
/// rejection of the few low products that would favour small values. The
/// same numbers as `next_u64` draws, in the same order.
///
/// Always inlined, with the first draw of a thread and the rare rejection
/// out of line (cold): merely `#[inline]`, in a caller as large as `select`
/// the thread-local access stayed an out-of-line `LocalKey::with` with an
/// indirect call through the key; inlined, the draw is a few instructions
/// around one `fs`-relative load and store (the `pick` bench measures it).
#[inline(always)]
fn below(n: u64) -> u64 {
    let state = RNG.with(Cell::get);
    if state == 0 {
        return below_seeding(n);
    }
    let state = state.wrapping_add(WY_ADD);
    RNG.with(|s| s.set(state));
    let m = u128::from(fold_mul(state, state ^ WY_XOR)) * u128::from(n);
    // Truncation keeps the low 64 bits, which is the point.
    if (m as u64) < n {
        return below_rejecting(n, m);
    }
    (m >> 64) as u64
}

/// [`below`] on a thread's first draw: seeds the generator (as `next_u64`
/// does), then draws.
#[cold]
#[inline(never)]
fn below_seeding(n: u64) -> u64 {
    RNG.with(|s| s.set(os_seed() | 1));
    below(n)
}

/// The end of [`below`] for a product `m` whose low half is below `n`:
/// rejects it, and every next one, while its low half is below `2^64 mod n`.
#[cold]
#[inline(never)]
fn below_rejecting(n: u64, mut m: u128) -> u64 {
    let threshold = n.wrapping_neg() % n;
    while (m as u64) < threshold {
        m = u128::from(next_u64()) * u128::from(n);
    }
    (m >> 64) as u64
}

/// The 128-bit product of two words folded to 64 bits (the wyhash mixer).
#[inline]
pub(crate) fn fold_mul(a: u64, b: u64) -> u64 {
    let m = u128::from(a) * u128::from(b);
    (m as u64) ^ ((m >> 64) as u64)
}

/// A good 64-bit mix of two words: two rounds of folded multiplication with
/// distinct constants, so every input bit reaches every output bit.
#[inline]
pub(crate) fn mix(a: u64, b: u64) -> u64 {
    let h = fold_mul(a ^ 0xa076_1d64_78bd_642f, b ^ 0xe703_7ed1_a0b4_28db);
    fold_mul(h ^ 0x8ebc_6af0_9c88_c6e3, h ^ 0x5899_65cc_7537_4cc3)
}

/// FNV-1a 64 of bytes: a stable, platform-independent key for names.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The key of a sticky provider: its name hashed, so adding, removing or
/// reordering other providers never moves a client between the rest.
pub fn sticky_target_key(provider: &str) -> u64 {
    mix(fnv1a(provider.as_bytes()), 0x7374_6963_6b79)
}

/// The key of a policy for sticky picks: its seed mixed with its domain
/// (lower case, without the trailing dot). `select` picks a sticky rule's
/// target with [`WeightedPick::pick_sticky`] of
/// [`sticky_client_key`]`(client, sticky_policy_key(seed, domain))` over
/// targets keyed by [`sticky_target_key`], so a tool can reproduce every
/// client's pick without a `select` per client (a simulation over every
/// `/24`, say).
pub fn sticky_policy_key(seed: u64, domain: &str) -> u64 {
    mix(seed, fnv1a(domain.as_bytes()))
}

/// The key of a client for sticky picks: its `/24` (IPv4) or `/56` (IPv6)
/// subnet mixed with the policy's key. IPv4-mapped IPv6 addresses count as
/// IPv4.
#[inline]
pub fn sticky_client_key(client: IpAddr, policy_key: u64) -> u64 {
    match client.to_canonical() {
        IpAddr::V4(v4) => {
            let subnet = u32::from(v4) & (u32::MAX << (32 - STICKY_PREFIX_V4));
            mix(u64::from(subnet) | (4 << 32), policy_key)
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            // Truncation to the top 64 bits, then the /56 mask.
            let subnet = ((bits >> 64) as u64) & (u64::MAX << (64 - STICKY_PREFIX_V6));
            mix(mix(subnet, 6), policy_key)
        }
    }
}

/// The uniform number in (0, 1) a sticky pick draws for a client key and a
/// target key: the target scores `weight / -ln(u)` ([`WeightedPick::pick_sticky`]).
/// Public for tools that decide many clients' sticky picks exactly
/// without the pick's logarithm per target (the CLI's simulation); not a
/// stable API.
#[doc(hidden)]
#[inline]
pub fn sticky_unit(client_key: u64, target_key: u64) -> f64 {
    let h = mix(client_key, target_key);
    ((h >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// One live target of a [`WeightedPick`].
#[derive(Debug, Clone, PartialEq)]
struct Entry<T> {
    /// Sum of the weights before this one: a draw at or above it reaches
    /// this target (and the last such target is the one drawn).
    from: u32,
    /// The weight, > 0.
    weight: u32,
    /// The target's sticky key ([`sticky_target_key`]).
    key: u64,
    /// What picking it yields.
    value: T,
}

impl<T> Entry<T> {
    /// The rendezvous score for a client: `weight / -ln(u)` with `u` in
    /// (0, 1) from 53 bits of the hash, offset by half a step so it is never
    /// 0 or 1.
    #[inline]
    fn score(&self, client_key: u64) -> f64 {
        f64::from(self.weight) / -sticky_unit(client_key, self.key).ln()
    }
}

/// A precompiled weighted choice among live targets (weight > 0), each
/// carrying a value `T` (the engine stores the provider's answer there, so a
/// pick reads one array).
///
/// `random` draws an unbiased integer below the total weight and scans the
/// cumulative weights (pools are small, so a linear scan beats a binary
/// search or an alias table). The scan has a fixed length and no early exit,
/// so its comparisons become conditional moves: a 70/30 pool costs no
/// mispredicted branch on the three draws in ten that go the other way. `sticky` is weighted rendezvous hashing: each
/// target scores `weight / -ln(u)` with `u` uniform from a hash of the client
/// key and the target key, and the highest score wins. That gives each
/// target a share proportional to its weight, and raising one weight raises
/// only that target's score, so clients move only onto it (the monotone
/// ramp).
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedPick<T> {
    /// The sum of the live weights (read on every draw).
    total: u32,
    /// The number of live targets (at least 1).
    len: u32,
    /// The first two live targets, inline: a pool of one or two (the
    /// usual gray migration and the usual split) reads nothing else, where
    /// a second target behind a pointer made every draw wait for one more
    /// dependent read (a cache miss when the policy is not in cache). A
    /// one-target pick holds its target twice; the copy is never drawn.
    head: [Entry<T>; 2],
    /// The third and later targets, in order.
    rest: Box<[Entry<T>]>,
}

impl<T: Clone> WeightedPick<T> {
    /// A pick over `(value, sticky key, weight)`; targets of weight 0 are
    /// left out. `None` if no weight is positive.
    pub fn new(targets: impl IntoIterator<Item = (T, u64, u32)>) -> Option<Self> {
        let mut total = 0u32;
        let mut entries = targets
            .into_iter()
            .filter(|t| t.2 > 0)
            .map(|(value, key, weight)| {
                let from = total;
                // Weights are at most 10,000 and targets per rule bounded by
                // validation; saturate instead of wrapping regardless.
                total = total.saturating_add(weight);
                Entry {
                    from,
                    weight,
                    key,
                    value,
                }
            });
        let first = entries.next()?;
        let second = entries.next();
        let rest: Box<[Entry<T>]> = entries.collect();
        let len = match &second {
            None => 1,
            // Targets per rule are bounded by validation (and by the
            // engine's u16 limit); saturate regardless.
            Some(_) => u32::try_from(rest.len()).map_or(u32::MAX, |n| n.saturating_add(2)),
        };
        let second = second.unwrap_or_else(|| first.clone());
        Some(Self {
            total,
            len,
            head: [first, second],
            rest,
        })
    }
}

impl<T> WeightedPick<T> {
    fn entries(&self) -> impl Iterator<Item = &Entry<T>> + '_ {
        let head = if self.len == 1 {
            &self.head[..1]
        } else {
            &self.head[..]
        };
        head.iter().chain(self.rest.iter())
    }

    /// The number of live targets.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Always `false`: a pick has at least one live target.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The sum of the live weights.
    pub fn total(&self) -> u32 {
        self.total
    }

    /// Live targets as `(value, weight)`.
    pub fn weights(&self) -> impl Iterator<Item = (&T, u32)> + '_ {
        self.entries().map(|e| (&e.value, e.weight))
    }

    /// A random pick from this thread's generator.
    #[inline]
    pub fn pick_random<'a>(&'a self) -> &'a T {
        let [first, second] = &self.head;
        if self.len == 1 {
            return &first.value;
        }
        // Below the total, which is a u32.
        let r = below(u64::from(self.total)) as u32;
        // The last target whose range starts at or below the draw; the
        // usual pools of two and three are spelled out, as the general loop
        // compiles to an unrolled scan with a division for its trip count.
        let step = |chosen: &'a T, e: &'a Entry<T>| if r >= e.from { &e.value } else { chosen };
        let two = step(&first.value, second);
        match &*self.rest {
            [] => two,
            [third] => step(two, third),
            rest => rest.iter().fold(two, step),
        }
    }

    /// The sticky pick for a client key ([`sticky_client_key`]).
    #[inline]
    pub fn pick_sticky(&self, client_key: u64) -> &T {
        let [first, second] = &self.head;
        if self.len == 1 {
            return &first.value;
        }
        let mut best = &first.value;
        let mut best_score = first.score(client_key);
        for e in std::iter::once(second).chain(self.rest.iter()) {
            let score = e.score(client_key);
            if score > best_score {
                best_score = score;
                best = &e.value;
            }
        }
        best
    }

    /// Heap bytes (of the table, not of what values own).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.rest.len() * size_of::<Entry<T>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_weights_are_left_out() {
        assert!(WeightedPick::new([(0u16, 1, 0), (1, 2, 0)]).is_none());
        let p = WeightedPick::new([(0u16, 1, 0), (1, 2, 5)]).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p.total(), 5);
        for _ in 0..100 {
            assert_eq!(*p.pick_random(), 1);
            assert_eq!(*p.pick_sticky(next_u64()), 1);
        }
    }

    /// Lemire's method drawn from `next_u64`, as `below` was written
    /// before its fast path was split off.
    fn below_reference(n: u64) -> u64 {
        let mut m = u128::from(next_u64()) * u128::from(n);
        let mut low = m as u64;
        if low < n {
            let threshold = n.wrapping_neg() % n;
            while low < threshold {
                m = u128::from(next_u64()) * u128::from(n);
                low = m as u64;
            }
        }
        (m >> 64) as u64
    }

    proptest::proptest! {
        /// `below` draws the same numbers as Lemire's method on
        /// `next_u64`, rejections included (bounds near 2^64 reject about
        /// half their draws).
        #[test]
        fn below_equals_the_reference_draw(
            seed in proptest::prelude::any::<u64>(),
            bounds in proptest::collection::vec(
                proptest::prop_oneof![1u64..=20_000, (1u64 << 63)..=u64::MAX],
                1..40,
            ),
        ) {
            seed_thread_rng(seed);
            let drawn: Vec<u64> = bounds.iter().map(|&n| below(n)).collect();
            seed_thread_rng(seed);
            let expected: Vec<u64> = bounds.iter().map(|&n| below_reference(n)).collect();
            proptest::prop_assert_eq!(drawn, expected);
        }
    }

    #[test]
    fn a_threads_first_draw_seeds_its_generator() {
        let draws = std::thread::spawn(|| {
            let first = RNG.with(Cell::get);
            let drawn: Vec<u64> = (0..1000).map(|_| below(3)).collect();
            (first, RNG.with(Cell::get), drawn)
        })
        .join()
        .unwrap();
        assert_eq!(draws.0, 0, "a new thread starts unseeded");
        assert_ne!(draws.1, 0);
        assert!(draws.2.iter().all(|&v| v < 3));
        assert!((0..3).all(|v| draws.2.contains(&v)), "{:?}", &draws.2[..20]);
    }

    #[test]
    fn below_stays_in_range_and_hits_every_value() {
        seed_thread_rng(7);
        let mut seen = [0u32; 7];
        for _ in 0..7000 {
            let v = below(7);
            seen[usize::try_from(v).unwrap()] += 1;
        }
        assert!(seen.iter().all(|&c| c > 800), "{seen:?}");
    }

    #[test]
    fn seeding_makes_the_sequence_repeat() {
        let p = WeightedPick::new([(0u16, 1, 1), (1, 2, 1), (2, 3, 1)]).unwrap();
        seed_thread_rng(42);
        let a: Vec<u16> = (0..50).map(|_| *p.pick_random()).collect();
        seed_thread_rng(42);
        let b: Vec<u16> = (0..50).map(|_| *p.pick_random()).collect();
        assert_eq!(a, b);
        assert!(a.contains(&0) && a.contains(&1) && a.contains(&2));
    }

    proptest::proptest! {
        /// The branch-free scan picks what a scan of the cumulative
        /// weights for the same draw picks.
        #[test]
        fn random_pick_is_the_first_cumulative_weight_above_the_draw(
            weights in proptest::collection::vec(0u32..=10_000, 1..12),
            seed in proptest::prelude::any::<u64>(),
        ) {
            let Some(p) = WeightedPick::new(weights.iter().enumerate().map(|(i, &w)| (i, 0, w))) else {
                proptest::prop_assert!(weights.iter().all(|&w| w == 0));
                return Ok(());
            };
            seed_thread_rng(seed);
            let picked: Vec<usize> = (0..50).map(|_| *p.pick_random()).collect();
            seed_thread_rng(seed);
            let live: Vec<(usize, u32)> = weights.iter().copied().enumerate().filter(|w| w.1 > 0).collect();
            let expected: Vec<usize> = (0..50)
                .map(|_| {
                    if live.len() == 1 {
                        return live[0].0;
                    }
                    let r = below(u64::from(p.total()));
                    let mut cumulative = 0u64;
                    live.iter()
                        .find(|(_, w)| {
                            cumulative += u64::from(*w);
                            r < cumulative
                        })
                        .unwrap()
                        .0
                })
                .collect();
            proptest::prop_assert_eq!(picked, expected);
        }
    }

    #[test]
    fn sticky_subnets() {
        let k = 99;
        let a = sticky_client_key("192.0.2.1".parse().unwrap(), k);
        assert_eq!(a, sticky_client_key("192.0.2.254".parse().unwrap(), k));
        assert_eq!(a, sticky_client_key("::ffff:192.0.2.9".parse().unwrap(), k));
        assert_ne!(a, sticky_client_key("192.0.3.1".parse().unwrap(), k));
        assert_ne!(a, sticky_client_key("192.0.2.1".parse().unwrap(), k + 1));
        let b = sticky_client_key("2001:db8:0:ff::1".parse().unwrap(), k);
        assert_eq!(b, sticky_client_key("2001:db8:0:1::1".parse().unwrap(), k));
        assert_ne!(
            b,
            sticky_client_key("2001:db8:0:100::1".parse().unwrap(), k)
        );
    }
}
