//! Which probes a configuration needs: one per distinct check, shared by
//! every provider (of any policy) whose check resolves to the same thing.
//!
//! A check resolves against its provider and policy: the target defaults
//! to the provider's CNAME, the `Host` (and SNI) to the policy's domain.
//! Two providers share a probe when everything the probe does and counts
//! is equal: protocol, target, port, path, host, status range, timeout,
//! certificate settings, interval, jitter, rise and fall.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use steerage::ProviderKey;
use steerage::policy::{CheckKind, CheckTarget, PolicySet};

/// What one probe does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ProbeSpec {
    pub(crate) kind: CheckKind,
    pub(crate) target: CheckTarget,
    pub(crate) port: u16,
    pub(crate) path: String,
    pub(crate) host: String,
    pub(crate) status: (u16, u16),
    pub(crate) timeout: Duration,
    pub(crate) verify: bool,
    pub(crate) ca_file: Option<PathBuf>,
}

/// When it runs and how its results count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Schedule {
    pub(crate) interval: Duration,
    pub(crate) jitter: Duration,
    pub(crate) rise: u8,
    pub(crate) fall: u8,
}

/// A probe and the providers it reports for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlannedProbe {
    pub(crate) spec: ProbeSpec,
    pub(crate) schedule: Schedule,
    pub(crate) subscribers: Vec<ProviderKey>,
}

/// The probes `set` needs, in a stable order. Disabled policies and
/// providers are checked too: their health shows in `explain` and is right
/// the moment they are enabled.
pub(crate) fn plan(set: &PolicySet) -> Vec<PlannedProbe> {
    let mut probes: BTreeMap<(ProbeSpec, Schedule), Vec<ProviderKey>> = BTreeMap::new();
    for policy in set.policies() {
        for provider in policy.providers() {
            let Some(check) = provider.check() else {
                continue;
            };
            // Validation refuses a tcp check without a port; one that still
            // has none is skipped rather than guessed.
            let Some(port) = check.port() else {
                continue;
            };
            // A tcp check sends no request: what only a request carries
            // stays out of its identity, so it is shared across policies.
            let http = check.kind() != CheckKind::Tcp;
            let spec = ProbeSpec {
                kind: check.kind(),
                target: check
                    .target()
                    .cloned()
                    .unwrap_or_else(|| CheckTarget::Name(provider.cname().clone())),
                port,
                path: if http {
                    check.path().to_owned()
                } else {
                    String::new()
                },
                host: if http {
                    check.host().unwrap_or(policy.domain()).as_str().to_owned()
                } else {
                    String::new()
                },
                status: check.status(),
                timeout: Duration::from_millis(check.timeout_ms().into()),
                verify: check.verify_certificate(),
                ca_file: check.ca_file().map(PathBuf::from),
            };
            let schedule = Schedule {
                interval: Duration::from_millis(check.interval_ms().into()),
                jitter: Duration::from_millis(check.jitter_ms().into()),
                rise: check.rise(),
                fall: check.fall(),
            };
            probes
                .entry((spec, schedule))
                .or_default()
                .push(ProviderKey::new(
                    policy.domain().as_str(),
                    provider.name().as_str(),
                ));
        }
    }
    probes
        .into_iter()
        .map(|((spec, schedule), subscribers)| PlannedProbe {
            spec,
            schedule,
            subscribers,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
[builtin]
cname = "edge.example"

[[policy]]
domain = "a.example"
[[policy.provider]]
name = "v"
kind = "cdn"
cname = "v.cdn.example"
[policy.provider.check]
kind = "tcp"
port = 443
[[policy.provider]]
name = "w"
kind = "cdn"
cname = "w.cdn.example"
[policy.provider.check]
kind = "https"
host = "shared.example"

[[policy]]
domain = "b.example"
[[policy.provider]]
name = "v2"
kind = "cdn"
cname = "v.cdn.example"
[policy.provider.check]
kind = "tcp"
port = 443
[[policy.provider]]
name = "w"
kind = "cdn"
cname = "w.cdn.example"
[policy.provider.check]
kind = "https"
[[policy.provider]]
name = "unchecked"
kind = "cdn"
cname = "u.cdn.example"
"#;

    #[test]
    fn providers_with_the_same_check_share_a_probe() {
        let set = PolicySet::from_toml_str(CONFIG).unwrap();
        let probes = plan(&set);
        // The tcp check of v and v2 is one probe; the https checks differ
        // by host (shared.example against b.example, the default).
        assert_eq!(probes.len(), 3, "{probes:#?}");
        let tcp = probes
            .iter()
            .find(|p| p.spec.kind == CheckKind::Tcp)
            .unwrap();
        assert_eq!(
            tcp.subscribers,
            [
                ProviderKey::new("a.example", "v"),
                ProviderKey::new("b.example", "v2")
            ]
        );
        assert_eq!(tcp.spec.target.to_string(), "v.cdn.example");
        let hosts: Vec<&str> = probes
            .iter()
            .filter(|p| p.spec.kind == CheckKind::Https)
            .map(|p| p.spec.host.as_str())
            .collect();
        assert_eq!(hosts, ["b.example", "shared.example"]);
    }
}
