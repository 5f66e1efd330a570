//! Readers selecting on several threads while writers apply changes: no torn
//! reads, versions never go backwards, and a change is visible everywhere
//! once `apply` returns.

use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use steerage::Steering;
use steerage::policy::{ProviderKind, Ttl};

use crate::fixtures::{DOMAIN, client, design_steering, provider};

const CHANGES: u64 = 3_000;
const READERS: usize = 3;

/// Change `k` sets the TTL to `k` and vendor-b's CNAME to `v{k}.cdn.example`
/// in one `apply`, so a (TTL, CNAME) pair names the change that published
/// it, and the snapshot's version must be the first version plus `k`.
fn apply_change(steering: &Steering, k: u64) -> u64 {
    steering
        .apply(|set| {
            set.set_ttl(DOMAIN, Ttl::new(u32::try_from(k).unwrap())?)?;
            let cname = format!("v{k}.cdn.example");
            set.update_provider(
                DOMAIN,
                "vendor-b",
                provider("vendor-b", ProviderKind::Cdn, &cname),
            )
        })
        .unwrap()
}

/// The change a decision for a default-rule client comes from, checking that
/// its TTL, CNAME and version all agree on it.
fn change_of(provider: &str, cname: &str, ttl: u32, version: Option<u64>) -> u64 {
    assert_eq!(provider, "vendor-b");
    let k = if cname == "b.cdn.example" {
        assert_eq!(ttl, 600, "torn read: initial CNAME with TTL {ttl}");
        0
    } else {
        let k: u64 = cname
            .strip_prefix('v')
            .and_then(|rest| rest.strip_suffix(".cdn.example"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected CNAME {cname}"));
        assert_eq!(
            u64::from(ttl),
            k,
            "torn read: CNAME of change {k} with TTL {ttl}"
        );
        k
    };
    if let Some(version) = version {
        assert_eq!(
            version,
            Steering::FIRST_VERSION + k,
            "version of change {k}"
        );
    }
    k
}

#[test]
fn readers_see_whole_versions_in_order_and_every_finished_change() {
    let steering = design_steering();
    let finished = AtomicU64::new(0);
    let ips = [
        client("DE"),
        client("US-CA"),
        client("JP"),
        "8.8.8.8".parse().unwrap(),
    ];

    let observed: Vec<(u64, u64)> = thread::scope(|scope| {
        let readers: Vec<_> = (0..READERS)
            .map(|r| {
                let (steering, finished) = (&steering, &finished);
                scope.spawn(move || {
                    let (mut last, mut last_config, mut selects, mut distinct) =
                        (0, 0, 0_u64, 0_u64);
                    loop {
                        // Read the writer's progress before selecting: the
                        // decision must be at least that new.
                        let done = finished.load(Ordering::Acquire);
                        let ip = ips[(selects as usize + r) % ips.len()];
                        let s = steering.select(DOMAIN, ip).unwrap();
                        let k = change_of(s.provider(), s.cname(), s.ttl(), Some(s.version()));
                        assert!(k >= done, "change {done} had returned, but saw {k}");
                        assert!(k >= last, "went back from change {last} to {k}");
                        distinct += u64::from(k != last);
                        last = k;
                        selects += 1;

                        // The configuration value follows the same rules.
                        if selects % 64 == 0 {
                            let config = steering.config();
                            let policy = config.policy(DOMAIN).unwrap();
                            let vendor_b = policy.provider("vendor-b").unwrap();
                            let ttl = policy.ttl().get();
                            let k = change_of("vendor-b", vendor_b.cname().as_str(), ttl, None);
                            assert!(k >= done, "config: change {done} had returned, but saw {k}");
                            assert!(
                                k >= last_config,
                                "config went back from {last_config} to {k}"
                            );
                            last_config = k;
                        }
                        if done == CHANGES {
                            return (selects, distinct);
                        }
                    }
                })
            })
            .collect();

        for k in 1..=CHANGES {
            let version = apply_change(&steering, k);
            assert_eq!(version, Steering::FIRST_VERSION + k);
            finished.store(k, Ordering::Release);
        }
        readers.into_iter().map(|h| h.join().unwrap()).collect()
    });

    for (selects, distinct) in observed {
        // Each reader ran during the changes and saw several of them.
        assert!(
            selects > 0 && distinct > 1,
            "{selects} selects, {distinct} versions"
        );
    }
    assert_eq!(steering.version(), Steering::FIRST_VERSION + CHANGES);
}

#[test]
fn concurrent_writers_lose_no_update() {
    let steering = design_steering();
    let per_writer = 400;
    thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                for _ in 0..per_writer {
                    steering
                        .apply(|set| {
                            let ttl = set.policy(DOMAIN).unwrap().ttl().get();
                            set.set_ttl(DOMAIN, Ttl::new(ttl + 1)?)
                        })
                        .unwrap();
                }
            });
        }
    });
    let total = 2 * per_writer;
    assert_eq!(
        steering.version(),
        Steering::FIRST_VERSION + u64::from(total)
    );
    assert_eq!(
        steering.config().policy(DOMAIN).unwrap().ttl().get(),
        600 + total
    );
    assert_eq!(
        steering.select(DOMAIN, client("DE")).unwrap().ttl(),
        600 + total
    );
}
