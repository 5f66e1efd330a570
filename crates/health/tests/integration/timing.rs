//! Figures: from a target failing to `select` changing, and from it
//! recovering to `select` sending traffic back, against the bounds
//! `fall x interval + 50 ms` and `rise x interval + 50 ms` (plus the
//! timeout for a hang, which is only detected at the timeout). Printed
//! (run with `--nocapture`); the assertions allow for a loaded machine.

use std::sync::Arc;
use std::time::Duration;

use steerage_health::HealthChecker;

use crate::fixture::{DOMAIN, checked, config, steering, wait_for};
use crate::servers::{Mode, Server};

const INTERVAL: u64 = 200;
const TIMEOUT: u64 = 100;
const RISE: u64 = 2;
const FALL: u64 = 3;
/// Slack for a shared, noisy 2-core machine (the figures printed are what
/// counts).
const SLACK: u64 = 400;

/// Whether every one of 40 selections avoids `a` (the split is 1:1, so a
/// provider still up would show with probability 1 - 2^-40).
fn a_avoided(s: &steerage::Steering) -> bool {
    (0..40).all(|_| {
        s.select(DOMAIN, "198.51.100.7".parse().unwrap())
            .is_some_and(|d| d.provider() == "b")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_and_recovery_times() {
    let mut server = Server::http().await;
    let check = format!(
        "kind = \"http\"\ntarget = \"127.0.0.1\"\nport = {}\ninterval_ms = {INTERVAL}\ntimeout_ms = {TIMEOUT}\nrise = {RISE}\nfall = {FALL}\n",
        server.port()
    );
    let s = steering(&config(&check));
    let _checker = HealthChecker::start(Arc::clone(&s)).unwrap();
    let limit = Duration::from_secs(10);
    assert!(wait_for(limit, || checked(&s, DOMAIN, "a")).await.is_some());
    let bound_down = FALL * INTERVAL + 50;
    let bound_up = RISE * INTERVAL + 50;
    for (what, extra) in [("500", 0), ("refused", 0), ("hang", TIMEOUT)] {
        match what {
            "500" => server.set_status(500),
            "refused" => server.down(),
            _ => server.set_mode(Mode::Hang),
        }
        let down = wait_for(limit, || a_avoided(&s)).await.unwrap();
        match what {
            "refused" => server.up().await,
            _ => server.set_status(200),
        }
        let up = wait_for(limit, || !a_avoided(&s)).await.unwrap();
        println!(
            "health timing ({what}): failover {} ms (bound {} ms), recovery {} ms (bound {bound_up} ms)",
            down.as_millis(),
            bound_down + extra,
            up.as_millis()
        );
        assert!(
            down.as_millis() <= u128::from(bound_down + extra + SLACK),
            "{what}: {down:?}"
        );
        assert!(
            up.as_millis() <= u128::from(bound_up + SLACK),
            "{what}: {up:?}"
        );
        // Not before fall - 1 intervals (minus the timer's tolerance):
        // rise and fall are counted, one failure does not move traffic.
        assert!(
            down.as_millis() + 20 >= u128::from((FALL - 1) * INTERVAL),
            "{what}: {down:?}"
        );
    }
}
