//! Provider health as configuration: the active check of a provider
//! ([`HealthCheck`]) and what a policy does when health would leave nothing
//! but the built-in provider ([`OnAllDown`]).
//!
//! Health itself (which provider is down now) is state, not configuration:
//! it is never part of a [`PolicySet`](crate::PolicySet) that is saved. A
//! program that knows it derives the set selection reads with
//! [`PolicySet::apply_health`](crate::PolicySet::apply_health), where a
//! down provider is treated exactly like a disabled one.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{DomainName, ValueError};

/// What a policy answers when health would leave nothing but the built-in
/// provider (every provider its rules send traffic to is down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum OnAllDown {
    /// The built-in provider answers (`builtin`, the default): down
    /// providers are treated as disabled, with no exception.
    #[default]
    #[serde(rename = "builtin")]
    Builtin,
    /// Fail open (`ignore-health`): answer with the configured weights as if
    /// every provider were up.
    #[serde(rename = "ignore-health")]
    IgnoreHealth,
    /// Fail closed (`nodata`): every query for the domain gets an empty
    /// answer (a DNS server answers NOERROR with no records and the SOA).
    #[serde(rename = "nodata")]
    NoData,
}

impl OnAllDown {
    /// The config spelling (`builtin`, `ignore-health`, `nodata`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Builtin => "builtin",
            Self::IgnoreHealth => "ignore-health",
            Self::NoData => "nodata",
        }
    }

    pub(crate) fn is_default(&self) -> bool {
        *self == Self::Builtin
    }
}

impl fmt::Display for OnAllDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OnAllDown {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "builtin" => Ok(Self::Builtin),
            "ignore-health" => Ok(Self::IgnoreHealth),
            "nodata" => Ok(Self::NoData),
            _ => Err(ValueError::InvalidOnAllDown {
                value: crate::error::excerpt(s),
            }),
        }
    }
}

/// The protocol of an active check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    /// An HTTP request; up when the status is in the expected range.
    Http,
    /// An HTTPS request (SNI and `Host` from [`HealthCheck::host`], the
    /// certificate verified unless disabled); up when the status is in the
    /// expected range.
    Https,
    /// A TCP connection; up when it is accepted.
    Tcp,
}

impl CheckKind {
    /// The config spelling (`http`, `https`, `tcp`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
            Self::Tcp => "tcp",
        }
    }

    /// The port used when none is configured; `None` for `tcp`, which
    /// needs one.
    pub fn default_port(self) -> Option<u16> {
        match self {
            Self::Http => Some(80),
            Self::Https => Some(443),
            Self::Tcp => None,
        }
    }
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a check connects: a DNS name (resolved by the checker) or an
/// address. Written as a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckTarget {
    /// A name, resolved when the check runs.
    Name(DomainName),
    /// An address.
    Ip(IpAddr),
}

impl FromStr for CheckTarget {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // `[::1]` is how URLs write an IPv6 address; accept it too.
        let bare = s
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .unwrap_or(s);
        match bare.parse::<IpAddr>() {
            Ok(ip) => Ok(Self::Ip(ip)),
            Err(_) => DomainName::new(s).map(Self::Name),
        }
    }
}

impl fmt::Display for CheckTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(name) => f.write_str(name.as_str()),
            Self::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

impl Serialize for CheckTarget {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CheckTarget {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::text::parse_str(deserializer, "a host name or an IP address", str::parse)
    }
}

/// An active health check of one provider (`[policy.provider.check]`).
///
/// Every `interval_ms` (plus a random delay up to `jitter_ms`), the checker
/// connects to [`target`](Self::target) (the provider's CNAME unless set)
/// on [`port`](Self::port) and, for `http`/`https`, sends `GET path` with
/// `Host: host` (for `https` also the SNI and the name the certificate is
/// verified against; the policy's domain unless set). A check that does not
/// finish within `timeout_ms` fails. The provider goes down after `fall`
/// failed checks in a row and comes back up after `rise` good ones.
///
/// Values are checked when the provider is added to a policy or loaded
/// ([`PolicyError::InvalidCheck`](crate::PolicyError::InvalidCheck) names
/// the policy, the provider and the field).
///
/// ```
/// use steerage_policy::{CheckKind, HealthCheck};
///
/// let check = HealthCheck::new(CheckKind::Https)
///     .with_path("/healthz")
///     .with_status(200, 204)
///     .with_interval_ms(5_000)
///     .with_rise_fall(2, 3);
/// assert_eq!(check.port(), Some(443));
/// assert_eq!(check.status(), (200, 204));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    kind: CheckKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<CheckTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    host: Option<DomainName>,
    #[serde(default = "default_status", skip_serializing_if = "is_default_status")]
    status: [u16; 2],
    #[serde(
        default = "default_interval",
        skip_serializing_if = "is_default_interval"
    )]
    interval_ms: u32,
    #[serde(
        default = "default_timeout",
        skip_serializing_if = "is_default_timeout"
    )]
    timeout_ms: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    jitter_ms: u32,
    #[serde(default = "default_rise", skip_serializing_if = "is_default_rise")]
    rise: u8,
    #[serde(default = "default_fall", skip_serializing_if = "is_default_fall")]
    fall: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ca_file: Option<PathBuf>,
    #[serde(
        default = "crate::provider::yes",
        skip_serializing_if = "crate::provider::is_true"
    )]
    verify_certificate: bool,
}

fn default_status() -> [u16; 2] {
    HealthCheck::DEFAULT_STATUS
}
fn is_default_status(s: &[u16; 2]) -> bool {
    *s == HealthCheck::DEFAULT_STATUS
}
fn default_interval() -> u32 {
    HealthCheck::DEFAULT_INTERVAL_MS
}
fn is_default_interval(v: &u32) -> bool {
    *v == HealthCheck::DEFAULT_INTERVAL_MS
}
fn default_timeout() -> u32 {
    HealthCheck::DEFAULT_TIMEOUT_MS
}
fn is_default_timeout(v: &u32) -> bool {
    *v == HealthCheck::DEFAULT_TIMEOUT_MS
}
fn is_zero(v: &u32) -> bool {
    *v == 0
}
fn default_rise() -> u8 {
    HealthCheck::DEFAULT_RISE
}
fn is_default_rise(v: &u8) -> bool {
    *v == HealthCheck::DEFAULT_RISE
}
fn default_fall() -> u8 {
    HealthCheck::DEFAULT_FALL
}
fn is_default_fall(v: &u8) -> bool {
    *v == HealthCheck::DEFAULT_FALL
}

/// What is wrong with a field of a [`HealthCheck`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckFault {
    /// A number outside its range.
    #[error("{value} is out of range {min}..={max}")]
    OutOfRange {
        /// The value given.
        value: u64,
        /// The least allowed.
        min: u64,
        /// The most allowed.
        max: u64,
    },
    /// The timeout is not below the interval.
    #[error("the timeout ({timeout_ms} ms) must be below the interval ({interval_ms} ms)")]
    TimeoutNotBelowInterval {
        /// The timeout.
        timeout_ms: u32,
        /// The interval.
        interval_ms: u32,
    },
    /// The expected status range is empty or outside `100..=599`.
    #[error("[{low}, {high}] is not a range of HTTP statuses within 100..=599")]
    StatusRange {
        /// Its lower end.
        low: u16,
        /// Its upper end.
        high: u16,
    },
    /// A `tcp` check has no port.
    #[error("a tcp check needs a port")]
    PortRequired,
    /// A field that the check's kind does not use.
    #[error("not used by a {kind} check")]
    NotForKind {
        /// The check's kind.
        kind: CheckKind,
    },
    /// The path does not start with `/` or holds a character a request
    /// line cannot carry.
    #[error("`{path}` is not an absolute path of printable ASCII without spaces")]
    Path {
        /// The path (cut to 256 characters).
        path: String,
    },
}

impl HealthCheck {
    /// The expected status range unless configured: 200 to 399.
    pub const DEFAULT_STATUS: [u16; 2] = [200, 399];
    /// The interval unless configured: 10 s.
    pub const DEFAULT_INTERVAL_MS: u32 = 10_000;
    /// The timeout unless configured: 2 s.
    pub const DEFAULT_TIMEOUT_MS: u32 = 2_000;
    /// Good checks in a row that bring a provider up unless configured.
    pub const DEFAULT_RISE: u8 = 2;
    /// Failed checks in a row that take a provider down unless configured.
    pub const DEFAULT_FALL: u8 = 3;
    /// The shortest interval: 100 ms.
    pub const MIN_INTERVAL_MS: u32 = 100;
    /// The longest interval: one hour.
    pub const MAX_INTERVAL_MS: u32 = 3_600_000;
    /// The most `rise` or `fall` can be.
    pub const MAX_COUNT: u8 = 100;

    /// A check of this kind with every other field at its default: the
    /// provider's CNAME as the target, the kind's port (`tcp` needs one:
    /// [`with_port`](Self::with_port)), path `/`, the policy's domain as
    /// `Host`, status 200 to 399, every 10 s with a 2 s timeout and no
    /// jitter, rise 2, fall 3, certificates verified against the system's
    /// roots.
    pub fn new(kind: CheckKind) -> Self {
        Self {
            kind,
            target: None,
            port: None,
            path: None,
            host: None,
            status: Self::DEFAULT_STATUS,
            interval_ms: Self::DEFAULT_INTERVAL_MS,
            timeout_ms: Self::DEFAULT_TIMEOUT_MS,
            jitter_ms: 0,
            rise: Self::DEFAULT_RISE,
            fall: Self::DEFAULT_FALL,
            ca_file: None,
            verify_certificate: true,
        }
    }

    /// Connects to this target instead of the provider's CNAME.
    #[must_use]
    pub fn with_target(mut self, target: CheckTarget) -> Self {
        self.target = Some(target);
        self
    }
    /// Connects to this port.
    #[must_use]
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }
    /// Requests this path (`http`, `https`).
    #[must_use]
    pub fn with_path(mut self, path: &str) -> Self {
        self.path = Some(path.to_owned());
        self
    }
    /// Sends this `Host` (and for `https`, SNI) instead of the policy's
    /// domain.
    #[must_use]
    pub fn with_host(mut self, host: DomainName) -> Self {
        self.host = Some(host);
        self
    }
    /// Counts statuses `low..=high` as up (`http`, `https`).
    #[must_use]
    pub fn with_status(mut self, low: u16, high: u16) -> Self {
        self.status = [low, high];
        self
    }
    /// Checks every `ms` milliseconds.
    #[must_use]
    pub fn with_interval_ms(mut self, ms: u32) -> Self {
        self.interval_ms = ms;
        self
    }
    /// Fails a check that takes longer than `ms` milliseconds.
    #[must_use]
    pub fn with_timeout_ms(mut self, ms: u32) -> Self {
        self.timeout_ms = ms;
        self
    }
    /// Delays each check by a random time up to `ms` milliseconds.
    #[must_use]
    pub fn with_jitter_ms(mut self, ms: u32) -> Self {
        self.jitter_ms = ms;
        self
    }
    /// Up after `rise` good checks in a row, down after `fall` failed ones.
    #[must_use]
    pub fn with_rise_fall(mut self, rise: u8, fall: u8) -> Self {
        self.rise = rise;
        self.fall = fall;
        self
    }
    /// Trusts the CA certificates (PEM) in this file instead of the system's
    /// roots (`https`).
    #[must_use]
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }
    /// Whether to verify the server's certificate (`https`; default yes).
    #[must_use]
    pub fn with_verify_certificate(mut self, verify: bool) -> Self {
        self.verify_certificate = verify;
        self
    }

    /// The protocol.
    pub fn kind(&self) -> CheckKind {
        self.kind
    }
    /// The configured target; `None`: the provider's CNAME.
    pub fn target(&self) -> Option<&CheckTarget> {
        self.target.as_ref()
    }
    /// The port: configured, else the kind's default.
    pub fn port(&self) -> Option<u16> {
        self.port.or_else(|| self.kind.default_port())
    }
    /// The request path (`/` unless configured).
    pub fn path(&self) -> &str {
        self.path.as_deref().unwrap_or("/")
    }
    /// The configured `Host`/SNI; `None`: the policy's domain.
    pub fn host(&self) -> Option<&DomainName> {
        self.host.as_ref()
    }
    /// The expected status range, inclusive.
    pub fn status(&self) -> (u16, u16) {
        (self.status[0], self.status[1])
    }
    /// The interval in milliseconds.
    pub fn interval_ms(&self) -> u32 {
        self.interval_ms
    }
    /// The timeout in milliseconds.
    pub fn timeout_ms(&self) -> u32 {
        self.timeout_ms
    }
    /// The largest random delay added to each interval, in milliseconds.
    pub fn jitter_ms(&self) -> u32 {
        self.jitter_ms
    }
    /// Good checks in a row that bring the provider up.
    pub fn rise(&self) -> u8 {
        self.rise
    }
    /// Failed checks in a row that take the provider down.
    pub fn fall(&self) -> u8 {
        self.fall
    }
    /// The CA file, if configured.
    pub fn ca_file(&self) -> Option<&std::path::Path> {
        self.ca_file.as_deref()
    }
    /// Whether the certificate is verified.
    pub fn verify_certificate(&self) -> bool {
        self.verify_certificate
    }

    /// The first field that is wrong, and why.
    pub(crate) fn fault(&self) -> Option<(&'static str, CheckFault)> {
        let range = |value: u64, min: u64, max: u64| {
            (!(min..=max).contains(&value)).then_some(CheckFault::OutOfRange { value, min, max })
        };
        if let Some(f) = range(
            self.interval_ms.into(),
            Self::MIN_INTERVAL_MS.into(),
            Self::MAX_INTERVAL_MS.into(),
        ) {
            return Some(("interval_ms", f));
        }
        if let Some(f) = range(self.timeout_ms.into(), 1, Self::MAX_INTERVAL_MS.into()) {
            return Some(("timeout_ms", f));
        }
        if self.timeout_ms >= self.interval_ms {
            return Some((
                "timeout_ms",
                CheckFault::TimeoutNotBelowInterval {
                    timeout_ms: self.timeout_ms,
                    interval_ms: self.interval_ms,
                },
            ));
        }
        if let Some(f) = range(self.jitter_ms.into(), 0, self.interval_ms.into()) {
            return Some(("jitter_ms", f));
        }
        for (field, value) in [("rise", self.rise), ("fall", self.fall)] {
            if let Some(f) = range(value.into(), 1, Self::MAX_COUNT.into()) {
                return Some((field, f));
            }
        }
        if self.port == Some(0) {
            return Some((
                "port",
                CheckFault::OutOfRange {
                    value: 0,
                    min: 1,
                    max: 65535,
                },
            ));
        }
        let http = self.kind != CheckKind::Tcp;
        if !http {
            if self.port.is_none() {
                return Some(("port", CheckFault::PortRequired));
            }
            let unused = [
                ("path", self.path.is_some()),
                ("host", self.host.is_some()),
                ("status", self.status != Self::DEFAULT_STATUS),
            ];
            if let Some((field, _)) = unused.into_iter().find(|(_, set)| *set) {
                return Some((field, CheckFault::NotForKind { kind: self.kind }));
            }
        }
        if self.kind != CheckKind::Https {
            let unused = [
                ("ca_file", self.ca_file.is_some()),
                ("verify_certificate", !self.verify_certificate),
            ];
            if let Some((field, _)) = unused.into_iter().find(|(_, set)| *set) {
                return Some((field, CheckFault::NotForKind { kind: self.kind }));
            }
        }
        let [low, high] = self.status;
        if low > high || low < 100 || high > 599 {
            return Some(("status", CheckFault::StatusRange { low, high }));
        }
        if let Some(path) = &self.path {
            let valid = path.starts_with('/') && path.bytes().all(|b| b.is_ascii_graphic());
            if !valid {
                return Some((
                    "path",
                    CheckFault::Path {
                        path: crate::error::excerpt(path),
                    },
                ));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_all_down_spellings() {
        for v in [
            OnAllDown::Builtin,
            OnAllDown::IgnoreHealth,
            OnAllDown::NoData,
        ] {
            assert_eq!(v.as_str().parse::<OnAllDown>(), Ok(v));
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(json, format!("\"{v}\""));
        }
        assert_eq!(
            "fail-open".parse::<OnAllDown>(),
            Err(ValueError::InvalidOnAllDown {
                value: "fail-open".into()
            })
        );
    }

    #[test]
    fn targets_parse_names_and_addresses() {
        assert_eq!(
            "[::1]".parse::<CheckTarget>(),
            Ok(CheckTarget::Ip("::1".parse().unwrap()))
        );
        assert_eq!(
            "127.0.0.1".parse::<CheckTarget>().unwrap().to_string(),
            "127.0.0.1"
        );
        assert_eq!(
            "Probe.Example.".parse::<CheckTarget>().unwrap().to_string(),
            "probe.example"
        );
        assert!("bad name!".parse::<CheckTarget>().is_err());
    }

    #[test]
    fn defaults_are_valid_and_faults_name_the_field() {
        assert_eq!(HealthCheck::new(CheckKind::Http).fault(), None);
        assert_eq!(HealthCheck::new(CheckKind::Https).fault(), None);
        assert_eq!(
            HealthCheck::new(CheckKind::Tcp).fault(),
            Some(("port", CheckFault::PortRequired))
        );
        assert_eq!(HealthCheck::new(CheckKind::Tcp).with_port(22).fault(), None);
        let cases = [
            (
                HealthCheck::new(CheckKind::Http).with_interval_ms(50),
                "interval_ms",
            ),
            (
                HealthCheck::new(CheckKind::Http).with_timeout_ms(10_000),
                "timeout_ms",
            ),
            (
                HealthCheck::new(CheckKind::Http).with_jitter_ms(20_000),
                "jitter_ms",
            ),
            (
                HealthCheck::new(CheckKind::Http).with_rise_fall(0, 3),
                "rise",
            ),
            (
                HealthCheck::new(CheckKind::Http).with_rise_fall(2, 101),
                "fall",
            ),
            (
                HealthCheck::new(CheckKind::Http).with_status(500, 200),
                "status",
            ),
            (
                HealthCheck::new(CheckKind::Http).with_status(0, 200),
                "status",
            ),
            (
                HealthCheck::new(CheckKind::Http).with_path("health"),
                "path",
            ),
            (HealthCheck::new(CheckKind::Http).with_path("/a b"), "path"),
            (HealthCheck::new(CheckKind::Http).with_port(0), "port"),
            (
                HealthCheck::new(CheckKind::Http).with_ca_file("/ca.pem"),
                "ca_file",
            ),
            (
                HealthCheck::new(CheckKind::Tcp).with_port(1).with_path("/"),
                "path",
            ),
        ];
        for (check, field) in cases {
            assert_eq!(check.fault().map(|f| f.0), Some(field), "{check:?}");
        }
    }
}
