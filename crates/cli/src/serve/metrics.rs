//! The server's metrics and their Prometheus text encoding.
//!
//! What this hides is how counting stays off the answer path's costs: each
//! answering thread counts into a shard of its own (single-writer atomics,
//! a plain load and store, no lock, no cache line shared with another
//! thread), found through a thread-local; a scrape sums the shards. An
//! answer's counter is found by one hash of its domain and then by the
//! addresses of its rule and provider names, which stay put within a
//! configuration version (the strings are compared only once per thread
//! and version). Only a thread's first answer for a (domain, rule,
//! provider) takes a lock, to register its counter for scrapes. The reload path sets the other
//! metrics (version, reloads, location table size) on prometheus-client's
//! own gauges and counters.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use hashbrown::HashTable;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use steerage::geo::LocationTable;
use steerage_dns::{Answered, QueryObserver, SteeredAnswer, Transport};

/// The `Content-Type` of what [`Metrics::encode`] writes.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Which reload a reload metric is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReloadKind {
    /// The configuration file.
    Config,
    /// The IP data files.
    IpData,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReloadLabels {
    what: &'static str,
    result: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct FamilyLabel {
    family: &'static str,
}

/// Every metric of the server; cheap to clone, clones share everything.
///
/// Give [`Metrics::observer`] to a
/// [`SteeringHandler`](steerage_dns::SteeringHandler) to count what it
/// answers, set the gauges when the configuration or the location table
/// changes, and serve [`Metrics::encode`] to Prometheus.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    shards: Arc<Shards>,
    config_version: Gauge,
    policies: Gauge,
    reloads: Family<ReloadLabels, Counter>,
    location_ranges: Family<FamilyLabel, Gauge>,
    locations: Gauge,
    location_bytes: Gauge,
    health: super::health_api::HealthMetrics,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Metrics with every counter at zero.
    pub fn new() -> Self {
        let shards = Arc::new(Shards::new());
        let config_version = Gauge::default();
        let policies = Gauge::default();
        let reloads = Family::<ReloadLabels, Counter>::default();
        let location_ranges = Family::<FamilyLabel, Gauge>::default();
        let locations = Gauge::default();
        let location_bytes = Gauge::default();
        // Both outcomes of both reloads exist from the start, so a rate over
        // them never starts from a missing series.
        for what in [ReloadKind::Config, ReloadKind::IpData] {
            for ok in [true, false] {
                drop(reloads.get_or_create(&reload_labels(what, ok)));
            }
        }

        let mut registry = Registry::default();
        registry.register(
            "steerage_config_version",
            "Version of the configuration snapshot being served (one higher for every change published)",
            config_version.clone(),
        );
        registry.register(
            "steerage_policies",
            "Steered domains in the configuration being served",
            policies.clone(),
        );
        registry.register(
            "steerage_reloads",
            "Reloads of the configuration (what=config) and of the IP data (what=ip_data), by result: ok (published, or nothing had changed) or failed (refused: the old one keeps serving)",
            reloads.clone(),
        );
        registry.register(
            "steerage_location_ranges",
            "Address ranges in the compiled location table, by address family",
            location_ranges.clone(),
        );
        registry.register(
            "steerage_locations",
            "Distinct locations in the compiled location table",
            locations.clone(),
        );
        registry.register(
            "steerage_location_table_bytes",
            "Heap bytes of the compiled location table",
            location_bytes.clone(),
        );
        registry.register_collector(Box::new(Arc::clone(&shards)));
        let health = super::health_api::HealthMetrics::register(&mut registry);
        Self {
            inner: Arc::new(Inner {
                registry,
                shards,
                config_version,
                policies,
                reloads,
                location_ranges,
                locations,
                location_bytes,
                health,
            }),
        }
    }

    /// The health checks' metrics (fed by the checker's observer).
    pub(crate) fn health(&self) -> super::health_api::HealthMetrics {
        self.inner.health.clone()
    }

    /// The observer that counts what the DNS handler answers.
    pub fn observer(&self) -> Arc<dyn QueryObserver> {
        Arc::clone(&self.inner.shards) as Arc<dyn QueryObserver>
    }

    /// Records the configuration being served.
    pub fn set_config(&self, version: u64, policies: usize) {
        self.inner
            .config_version
            .set(i64::try_from(version).unwrap_or(i64::MAX));
        self.inner
            .policies
            .set(i64::try_from(policies).unwrap_or(i64::MAX));
    }

    /// Records the location table being served.
    pub fn set_locations(&self, table: &LocationTable) {
        let stats = table.stats();
        let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let inner = &self.inner;
        inner
            .location_ranges
            .get_or_create(&FamilyLabel { family: "ipv4" })
            .set(gauge(stats.ranges_v4));
        inner
            .location_ranges
            .get_or_create(&FamilyLabel { family: "ipv6" })
            .set(gauge(stats.ranges_v6));
        inner.locations.set(gauge(stats.locations));
        inner.location_bytes.set(gauge(stats.heap_bytes));
    }

    /// Counts one reload.
    pub fn count_reload(&self, what: ReloadKind, ok: bool) {
        self.inner
            .reloads
            .get_or_create(&reload_labels(what, ok))
            .inc();
    }

    /// Every metric in the Prometheus text format (version 0.0.4).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail; an encoder error would be a
        // bug in a label value, and then the scrape gets what was written.
        let _ =
            prometheus_client::encoding::prometheus_text::encode(&mut text, &self.inner.registry);
        text
    }
}

fn reload_labels(what: ReloadKind, ok: bool) -> ReloadLabels {
    ReloadLabels {
        what: match what {
            ReloadKind::Config => "config",
            ReloadKind::IpData => "ip_data",
        },
        result: if ok { "ok" } else { "failed" },
    }
}

/// Response codes counted one by one (0 to 23, BADCOOKIE); others share
/// the last slot.
const RCODE_SLOTS: usize = 25;
const TRANSPORTS: [Transport; 3] = [Transport::Udp, Transport::Tcp, Transport::Other];

fn transport_index(transport: Transport) -> usize {
    match transport {
        Transport::Udp => 0,
        Transport::Tcp => 1,
        _ => 2,
    }
}

fn rcode_name(slot: usize) -> &'static str {
    const NAMES: [&str; RCODE_SLOTS] = [
        "NOERROR",
        "FORMERR",
        "SERVFAIL",
        "NXDOMAIN",
        "NOTIMP",
        "REFUSED",
        "YXDOMAIN",
        "YXRRSET",
        "NXRRSET",
        "NOTAUTH",
        "NOTZONE",
        "11",
        "12",
        "13",
        "14",
        "15",
        "BADVERS",
        "BADKEY",
        "BADTIME",
        "BADMODE",
        "BADNAME",
        "BADALG",
        "BADTRUNC",
        "BADCOOKIE",
        "other",
    ];
    NAMES[slot]
}

/// One thread's counters. Only its thread writes them; scrapes read them.
/// Aligned so two threads' shards never share a cache line.
#[repr(align(128))]
struct Shard {
    responses: [[AtomicU64; RCODE_SLOTS]; TRANSPORTS.len()],
    /// Queries without and with an ECS option.
    queries: [AtomicU64; 2],
    /// The thread's answer counters, registered for scrapes.
    answers: Mutex<Vec<AnswerSeries>>,
}

/// domain, rule, provider.
type AnswerLabels = (Arc<str>, Arc<str>, Arc<str>);

struct AnswerSeries {
    domain: Arc<str>,
    rule: Arc<str>,
    provider: Arc<str>,
    count: Arc<AtomicU64>,
}

impl Shard {
    fn new() -> Self {
        Self {
            responses: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            queries: std::array::from_fn(|_| AtomicU64::new(0)),
            answers: Mutex::new(Vec::new()),
        }
    }
}

/// Adds one to a counter only this thread writes: a load and a store, no
/// locked read-modify-write.
fn bump(counter: &AtomicU64) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(1),
        Ordering::Relaxed,
    );
}

/// Every thread's shard, and the observer that counts into them.
struct Shards {
    /// Tells this instance's thread-locals from another's.
    id: u64,
    list: Mutex<Vec<Arc<Shard>>>,
}

impl std::fmt::Debug for Shards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shards")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// What a thread keeps to count without looking anything up but its own map.
struct Local {
    owner: u64,
    shard: Arc<Shard>,
    /// The thread's answer counters, by domain (hashed with [`domain_hash`]).
    domains: HashTable<(Box<str>, DomainCounters)>,
}

/// A hash of a domain: a multiply-rotate over 8-byte words, a few
/// instructions per word. Only steered domains (from the configuration, not
/// from clients) are ever hashed, so no flooding resistance is needed.
fn domain_hash(domain: &str) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mix = |hash: u64, word: u64| (hash.rotate_left(5) ^ word).wrapping_mul(K);
    let bytes = domain.as_bytes();
    let mut hash = bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for chunk in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        hash = mix(hash, u64::from_le_bytes(word));
    }
    if words.remainder().is_empty() {
        return hash;
    }
    // The tail: the last 8 bytes (overlapping the last word; the length is
    // in the hash already), or the bytes one by one when there are fewer.
    let tail = match bytes.len().checked_sub(8) {
        Some(start) => {
            let mut word = [0u8; 8];
            word.copy_from_slice(&bytes[start..]);
            u64::from_le_bytes(word)
        }
        None => bytes
            .iter()
            .fold(0u64, |word, &byte| (word << 8) | u64::from(byte)),
    };
    mix(hash, tail)
}

/// A string's address and length: equal within one configuration version
/// only for the same string (see `Answered::version`).
type StrAddr = (usize, usize);

fn str_addr(text: &str) -> StrAddr {
    (text.as_ptr() as usize, text.len())
}

/// One domain's answer counters in one thread.
#[derive(Default)]
struct DomainCounters {
    /// The version whose string addresses `by_address` holds.
    version: u64,
    /// (rule, provider) by address, for `version`.
    by_address: Vec<(StrAddr, StrAddr, Arc<AtomicU64>)>,
    /// (rule, provider) by name: every series of the domain this thread
    /// counted, across versions.
    by_name: Vec<(Arc<str>, Arc<str>, Arc<AtomicU64>)>,
}

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

impl Shards {
    fn new() -> Self {
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            list: Mutex::new(Vec::new()),
        }
    }

    /// A new shard for the calling thread, registered for scrapes.
    fn local(&self) -> Local {
        let shard = Arc::new(Shard::new());
        self.list
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&shard));
        Local {
            owner: self.id,
            shard,
            domains: HashTable::new(),
        }
    }

    fn count(&self, local: &mut Local, answered: &Answered<'_>) {
        let rcode = usize::from(u16::from(answered.response_code)).min(RCODE_SLOTS - 1);
        bump(&local.shard.responses[transport_index(answered.transport)][rcode]);
        bump(&local.shard.queries[usize::from(answered.client_subnet)]);
        let Some(answer) = &answered.steered else {
            return;
        };
        let hash = domain_hash(answer.domain);
        let is_domain = |(domain, _): &(Box<str>, DomainCounters)| **domain == *answer.domain;
        if let Some((_, counters)) = local.domains.find_mut(hash, is_domain) {
            return counters.count(answered.version, answer, &local.shard);
        }
        // The thread's first answer for this domain.
        let entry = local.domains.insert_unique(
            hash,
            (answer.domain.into(), DomainCounters::default()),
            |(domain, _)| domain_hash(domain),
        );
        entry
            .into_mut()
            .1
            .count(answered.version, answer, &local.shard);
    }

    fn shards(&self) -> Vec<Arc<Shard>> {
        self.list
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl DomainCounters {
    /// Counts one answer of this domain from configuration `version`.
    fn count(&mut self, version: u64, answer: &SteeredAnswer<'_>, shard: &Shard) {
        if self.version != version {
            // The addresses of another version's strings mean nothing now.
            self.version = version;
            self.by_address.clear();
        }
        let (rule, provider) = (str_addr(answer.rule), str_addr(answer.provider));
        if let Some((_, _, count)) = self
            .by_address
            .iter()
            .find(|(r, p, _)| *r == rule && *p == provider)
        {
            bump(count);
            return;
        }
        // This thread's first answer with these strings in this version.
        let found = self
            .by_name
            .iter()
            .find(|(r, p, _)| **r == *answer.rule && **p == *answer.provider)
            .map(|(_, _, count)| Arc::clone(count));
        let count = found.unwrap_or_else(|| {
            let series = AnswerSeries {
                domain: answer.domain.into(),
                rule: answer.rule.into(),
                provider: answer.provider.into(),
                count: Arc::new(AtomicU64::new(0)),
            };
            let count = Arc::clone(&series.count);
            self.by_name.push((
                Arc::clone(&series.rule),
                Arc::clone(&series.provider),
                Arc::clone(&count),
            ));
            shard
                .answers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(series);
            count
        });
        bump(&count);
        self.by_address.push((rule, provider, count));
    }
}

impl QueryObserver for Shards {
    fn observe(&self, answered: &Answered<'_>) {
        // During thread exit the thread-local may be gone: that query goes
        // uncounted.
        let _ = LOCAL.try_with(|cell| {
            // Never re-entered (observe calls nothing that observes).
            let Ok(mut slot) = cell.try_borrow_mut() else {
                return;
            };
            if slot.as_ref().is_none_or(|local| local.owner != self.id) {
                *slot = Some(self.local());
            }
            if let Some(local) = slot.as_mut() {
                self.count(local, answered);
            }
        });
    }
}

impl Collector for Shards {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let shards = self.shards();
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);

        let mut answers: BTreeMap<AnswerLabels, u64> = BTreeMap::new();
        for shard in &shards {
            let series = shard.answers.lock().unwrap_or_else(PoisonError::into_inner);
            for s in series.iter() {
                let key = (
                    Arc::clone(&s.domain),
                    Arc::clone(&s.rule),
                    Arc::clone(&s.provider),
                );
                *answers.entry(key).or_default() += load(&s.count);
            }
        }
        let mut family = encoder.encode_descriptor(
            "steerage_answers",
            "Steered answers (CNAMEs) sent, by domain, the rule that matched and the provider picked.",
            None,
            MetricType::Counter,
        )?;
        for ((domain, rule, provider), count) in &answers {
            let labels = [
                ("domain", &**domain),
                ("rule", &**rule),
                ("provider", &**provider),
            ];
            ConstCounter::new(*count).encode(family.encode_family(&labels)?)?;
        }

        let mut family = encoder.encode_descriptor(
            "steerage_responses",
            "DNS responses sent, by response code and transport.",
            None,
            MetricType::Counter,
        )?;
        for (t, transport) in TRANSPORTS.iter().enumerate() {
            for slot in 0..RCODE_SLOTS {
                let count: u64 = shards.iter().map(|s| load(&s.responses[t][slot])).sum();
                // NOERROR over UDP and TCP always; other codes once seen.
                let always = slot == 0 && *transport != Transport::Other;
                if count == 0 && !always {
                    continue;
                }
                let labels = [
                    ("rcode", rcode_name(slot)),
                    ("transport", transport.as_str()),
                ];
                ConstCounter::new(count).encode(family.encode_family(&labels)?)?;
            }
        }

        let mut family = encoder.encode_descriptor(
            "steerage_queries",
            "Queries answered, by whether they carried an EDNS Client Subnet option (ecs=true) or not.",
            None,
            MetricType::Counter,
        )?;
        for (index, ecs) in ["false", "true"].into_iter().enumerate() {
            let count: u64 = shards.iter().map(|s| load(&s.queries[index])).sum();
            ConstCounter::new(count).encode(family.encode_family(&[("ecs", ecs)])?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use steerage::Steering;
    use steerage::policy::Format;
    use steerage_dns::SteeringHandler;
    use steerage_dns::hickory_proto::op::{Edns, Message, Query};
    use steerage_dns::hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsOption};
    use steerage_dns::hickory_proto::rr::{Name, RecordType};

    use steerage_dns::hickory_proto::op::ResponseCode;

    use super::*;

    const CONFIG: &str = r#"
        [builtin]
        cname = "edge.example.org"
        [[policy]]
        domain = "www.example.com"
        [[policy.provider]]
        name = "origin"
        kind = "origin"
        cname = "origin.example.net"
        [[policy.rule]]
        name = "beijing"
        lines = ["CN-BJ"]
        targets = [{ provider = "origin", weight = 1 }]
    "#;

    fn query(name: &str, ecs: Option<&str>) -> Vec<u8> {
        let mut message = Message::query();
        message.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
        if let Some(subnet) = ecs {
            let mut edns = Edns::new();
            edns.options_mut()
                .insert(EdnsOption::Subnet(subnet.parse::<ClientSubnet>().unwrap()));
            message.set_edns(edns);
        }
        message.to_vec().unwrap()
    }

    fn value(text: &str, series: &str) -> Option<u64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn rcode_names_match_their_codes() {
        let slot = |code: ResponseCode| usize::from(u16::from(code)).min(RCODE_SLOTS - 1);
        assert_eq!(rcode_name(slot(ResponseCode::NoError)), "NOERROR");
        assert_eq!(rcode_name(slot(ResponseCode::NXDomain)), "NXDOMAIN");
        assert_eq!(rcode_name(slot(ResponseCode::Refused)), "REFUSED");
        assert_eq!(rcode_name(slot(ResponseCode::BADVERS)), "BADVERS");
        assert_eq!(rcode_name(slot(ResponseCode::BADCOOKIE)), "BADCOOKIE");
        assert_eq!(rcode_name(slot(ResponseCode::Unknown(3000))), "other");
    }

    /// Threads count into shards of their own; a scrape sums them.
    #[test]
    fn counts_from_every_thread_are_summed() {
        let steering = Steering::builder()
            .config_str(CONFIG, Format::Toml)
            .locations(LocationTable::sample())
            .build()
            .unwrap();
        let metrics = Metrics::new();
        let handler = SteeringHandler::new(Arc::new(steering))
            .unwrap()
            .with_observer(metrics.observer());
        let src: SocketAddr = "127.0.0.1:5353".parse().unwrap();
        let before = metrics.encode();
        assert_eq!(
            value(
                &before,
                "steerage_responses_total{rcode=\"NOERROR\",transport=\"udp\"}"
            ),
            Some(0)
        );
        std::thread::scope(|scope| {
            for _ in 0..3 {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    for _ in 0..1000 {
                        // Beijing in the sample data, with ECS: steered.
                        assert!(handler.answer_datagram(
                            &query("www.example.com.", Some("192.0.2.0/25")),
                            src,
                            &mut out
                        ));
                        // Not steered, no ECS: NXDOMAIN.
                        assert!(handler.answer_datagram(
                            &query("nope.example.com.", None),
                            src,
                            &mut out
                        ));
                    }
                });
            }
        });
        let text = metrics.encode();
        let answers = "steerage_answers_total{domain=\"www.example.com\",rule=\"beijing\",provider=\"origin\"}";
        assert_eq!(value(&text, answers), Some(3000), "{text}");
        assert_eq!(
            value(
                &text,
                "steerage_responses_total{rcode=\"NOERROR\",transport=\"udp\"}"
            ),
            Some(3000)
        );
        assert_eq!(
            value(
                &text,
                "steerage_responses_total{rcode=\"NXDOMAIN\",transport=\"udp\"}"
            ),
            Some(3000)
        );
        assert_eq!(
            value(&text, "steerage_queries_total{ecs=\"true\"}"),
            Some(3000)
        );
        assert_eq!(
            value(&text, "steerage_queries_total{ecs=\"false\"}"),
            Some(3000)
        );
        assert!(
            text.contains("# TYPE steerage_answers_total counter"),
            "{text}"
        );
    }

    /// A new version moves the strings; counting goes on in the same
    /// series for the same names, and in a new one for a renamed rule.
    #[test]
    fn counts_follow_configuration_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steering.toml");
        std::fs::write(&path, CONFIG).unwrap();
        let steering = Arc::new(
            Steering::builder()
                .config_file(&path)
                .locations(LocationTable::sample())
                .build()
                .unwrap(),
        );
        let metrics = Metrics::new();
        let handler = SteeringHandler::new(Arc::clone(&steering))
            .unwrap()
            .with_observer(metrics.observer());
        let src: SocketAddr = "127.0.0.1:5353".parse().unwrap();
        let beijing = query("www.example.com.", Some("192.0.2.0/25"));
        let mut out = Vec::new();
        let series = |rule: &str| {
            format!(
                "steerage_answers_total{{domain=\"www.example.com\",rule=\"{rule}\",provider=\"origin\"}}"
            )
        };
        for round in 1..=3u64 {
            for _ in 0..10 {
                assert!(handler.answer_datagram(&beijing, src, &mut out));
            }
            let text = metrics.encode();
            assert_eq!(value(&text, &series("beijing")), Some(10 * round), "{text}");
            // A change elsewhere in the policy: a new version, new strings.
            std::fs::write(
                &path,
                CONFIG.replace("weight = 1 }", &format!("weight = {} }}", round + 1)),
            )
            .unwrap();
            assert_eq!(steering.reload().unwrap(), round + 1);
        }
        std::fs::write(
            &path,
            CONFIG.replace("name = \"beijing\"", "name = \"capital\""),
        )
        .unwrap();
        steering.reload().unwrap();
        for _ in 0..5 {
            assert!(handler.answer_datagram(&beijing, src, &mut out));
        }
        let text = metrics.encode();
        assert_eq!(value(&text, &series("beijing")), Some(30));
        assert_eq!(value(&text, &series("capital")), Some(5));
    }

    #[test]
    fn gauges_and_reloads() {
        let metrics = Metrics::new();
        metrics.set_config(7, 2);
        metrics.set_locations(&LocationTable::sample());
        metrics.count_reload(ReloadKind::Config, true);
        metrics.count_reload(ReloadKind::IpData, false);
        let text = metrics.encode();
        assert_eq!(value(&text, "steerage_config_version"), Some(7));
        assert_eq!(value(&text, "steerage_policies"), Some(2));
        assert_eq!(
            value(
                &text,
                "steerage_reloads_total{what=\"config\",result=\"ok\"}"
            ),
            Some(1)
        );
        assert_eq!(
            value(
                &text,
                "steerage_reloads_total{what=\"config\",result=\"failed\"}"
            ),
            Some(0)
        );
        assert_eq!(
            value(
                &text,
                "steerage_reloads_total{what=\"ip_data\",result=\"failed\"}"
            ),
            Some(1)
        );
        let stats = LocationTable::sample().stats();
        assert_eq!(
            value(&text, "steerage_location_ranges{family=\"ipv4\"}"),
            Some(stats.ranges_v4 as u64)
        );
    }
}
