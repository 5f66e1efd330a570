//! A `Steering` whose one policy has two providers, `a` checked as told
//! and `b` unchecked, split 1:1 by the default rule; and waiting helpers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use steerage::Steering;
use steerage::geo::LocationTable;
use steerage::policy::Format;

pub(crate) const DOMAIN: &str = "www.example.com";

/// The policy's TOML with `check` as the `[policy.provider.check]` of `a`.
pub(crate) fn config(check: &str) -> String {
    format!(
        r#"
[builtin]
cname = "edge.example.net"

[[policy]]
domain = "{DOMAIN}"

[[policy.provider]]
name = "a"
kind = "cdn"
cname = "a.cdn.example"

[policy.provider.check]
{check}

[[policy.provider]]
name = "b"
kind = "cdn"
cname = "b.cdn.example"

[policy.default]
targets = [{{ provider = "a", weight = 1 }}, {{ provider = "b", weight = 1 }}]
"#
    )
}

pub(crate) fn steering(text: &str) -> Arc<Steering> {
    Arc::new(
        Steering::builder()
            .config_str(text, Format::Toml)
            .locations(LocationTable::sample())
            .build()
            .unwrap(),
    )
}

/// Whether `provider` of `domain` is down now.
pub(crate) fn is_down(steering: &Steering, domain: &str, provider: &str) -> bool {
    steering
        .provider_health(domain, provider)
        .is_some_and(|h| h.is_down())
}

/// Whether `provider` has been checked at least once.
pub(crate) fn checked(steering: &Steering, domain: &str, provider: &str) -> bool {
    steering
        .provider_health(domain, provider)
        .is_some_and(|h| h.results().len() > 0)
}

/// Waits (polling every 2 ms, at most `limit`) until `done`; the time it
/// took, or `None`.
pub(crate) async fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    done().then(|| start.elapsed())
}

/// The last check result's detail of `provider`.
pub(crate) fn last_detail(steering: &Steering, domain: &str, provider: &str) -> String {
    steering
        .provider_health(domain, provider)
        .and_then(|h| h.results().last().map(|r| r.detail.clone()))
        .unwrap_or_default()
}
