//! The immutable, compiled form of a policy set that answers `select`.

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use steerage_geo::{Line, LocationTable};
use steerage_policy::{BuiltinProvider, PolicySet};

use crate::compiled::{CompiledPolicy, ProviderAnswer, Slot};
use crate::domain_index::DomainIndex;
use crate::group::{AheadLanding, Group, Landing, ReadAhead};
use crate::pick::{STICKY_PREFIX_V4, STICKY_PREFIX_V6, sticky_client_key};
use crate::{Compiler, Decision, EngineError};

/// One steered domain in a snapshot: what `select` reads, inline, so a
/// decision touches the entry, the policy's slots and one pick table (plus
/// the group, shared and usually cached).
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) slots: Arc<[Slot]>,
    pub(crate) group: Arc<Group>,
    pub(crate) sticky_key: u64,
    pub(crate) ttl: u32,
    pub(crate) enabled: bool,
    pub(crate) sticky: bool,
    pub(crate) policy: Arc<CompiledPolicy>,
}

impl Entry {
    pub(crate) fn new(policy: Arc<CompiledPolicy>, group: Arc<Group>) -> Self {
        Self {
            slots: Arc::clone(&policy.slots),
            group,
            sticky_key: policy.sticky_key,
            ttl: policy.source.ttl().get(),
            // A failed-closed policy (every provider down, `nodata`)
            // answers off the usual path, like a disabled one.
            enabled: policy.source.is_enabled() && !policy.source.is_failed_closed(),
            sticky: policy.is_sticky(),
            policy,
        }
    }
}

/// A compiled policy set plus the location table it decides with. Immutable:
/// a change compiles a new snapshot (incrementally with a [`Compiler`]).
///
/// `select` costs one domain lookup, one range lookup and a weighted pick,
/// and allocates nothing.
#[derive(Debug)]
pub struct Snapshot {
    pub(crate) version: u64,
    /// The location table with the set's custom lines layered on top.
    pub(crate) table: Arc<LocationTable>,
    /// The table the snapshot was compiled against, without custom lines.
    pub(crate) base: Arc<LocationTable>,
    pub(crate) builtin: BuiltinProvider,
    pub(crate) domains: Arc<DomainIndex>,
    /// One entry per position of the index: a policy's at each live one
    /// (in domain order after a whole compile; a domain added since takes
    /// a vacant or new position), one no query reaches at a vacant one.
    pub(crate) entries: Arc<[Entry]>,
    /// The merged maps of the group the most policies use, which `select`
    /// looks the client up in before it looks up the domain.
    pub(crate) read_ahead: Option<ReadAhead>,
}

/// Sizes of a [`Snapshot`]'s compiled parts (location tables and the
/// configured policies it keeps for `explain` not included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotStats {
    /// Steered domains.
    pub policies: usize,
    /// Distinct rule structures (groups of policies sharing a location index).
    pub groups: usize,
    /// Groups with a rule-merged range map.
    pub merged_groups: usize,
    /// Heap bytes of the compiled policies (slots and pick tables).
    pub policy_bytes: usize,
    /// Heap bytes of the groups (line indices and merged range maps).
    pub group_bytes: usize,
    /// Heap bytes of the domain index and the entry table.
    pub index_bytes: usize,
}

/// The rule name a disabled policy's decisions carry. It cannot clash with a
/// configured rule: rule names cannot contain parentheses.
pub const DISABLED_RULE: &str = "(disabled)";

/// The rule name of a decision to answer no data
/// ([`Decision::is_nodata`]): every provider of the policy is down and it
/// is configured to fail closed (`on_all_down = "nodata"`).
pub const NODATA_RULE: &str = "(all down)";

impl Snapshot {
    /// Compiles a validated set against a location table (the set's custom
    /// CIDR lines are layered on top of the table).
    ///
    /// To compile the next version of a set cheaply, keep a [`Compiler`]
    /// instead: it reuses everything a change did not touch.
    ///
    /// # Errors
    /// [`EngineError::Policy`] if the set is invalid;
    /// [`EngineError::CustomLineLayer`] / [`EngineError::TooLarge`] for sets
    /// beyond what a snapshot indexes.
    pub fn compile(
        set: &PolicySet,
        locations: Arc<LocationTable>,
        version: u64,
    ) -> Result<Self, EngineError> {
        set.validate()?;
        Compiler::new(locations).compile(set, version)
    }

    /// The version this snapshot was published as.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The location table decisions are made with (custom lines layered
    /// over the base table).
    pub fn locations(&self) -> &Arc<LocationTable> {
        &self.table
    }

    /// The base location table the snapshot was compiled against.
    pub fn base_locations(&self) -> &Arc<LocationTable> {
        &self.base
    }

    /// The number of steered domains.
    pub fn len(&self) -> usize {
        self.domains.live()
    }

    /// Whether no domain is steered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries of the steered domains (vacant positions skipped).
    fn live_entries(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter(|&(position, _)| self.domains.is_live(position))
            .map(|(_, e)| e)
    }

    /// Sizes and memory of the compiled parts.
    pub fn stats(&self) -> SnapshotStats {
        let mut groups: Vec<*const Group> =
            self.live_entries().map(|e| Arc::as_ptr(&e.group)).collect();
        groups.sort_unstable();
        groups.dedup();
        let mut group_bytes = 0;
        let mut merged_groups = 0;
        let mut seen = std::collections::HashSet::new();
        for e in self.live_entries() {
            if seen.insert(Arc::as_ptr(&e.group)) {
                group_bytes += e.group.heap_bytes();
                merged_groups += usize::from(e.group.is_merged());
            }
        }
        let policy_bytes: usize = self
            .live_entries()
            .map(|e| size_of::<CompiledPolicy>() + e.policy.own_heap_bytes())
            .sum();
        SnapshotStats {
            policies: self.len(),
            groups: groups.len(),
            merged_groups,
            policy_bytes,
            group_bytes,
            index_bytes: self.domains.heap_bytes() + self.entries.len() * size_of::<Entry>(),
        }
    }

    /// The decision for a client address; `None` when `domain` is not steered.
    ///
    /// `domain` is compared case-insensitively, one trailing dot ignored.
    /// IPv4-mapped IPv6 addresses are treated as IPv4 (and the scope is then
    /// an IPv4 prefix length).
    #[inline]
    pub fn select(&self, domain: &str, client: IpAddr) -> Option<Decision<'_>> {
        // `IpAddr::to_canonical` spelled out: rebuilding the IPv4 arm from
        // its four bytes lets them travel in a register, where the method
        // copied the whole 17-byte enum through memory.
        let ip = match client {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => v6.to_canonical(),
        };
        let ahead = self.read_ahead(ip);
        let entry = self.entry(domain)?;
        Some(self.decide_ahead(entry, ip, ahead))
    }

    /// The decision for a client subnet (EDNS Client Subnet).
    ///
    /// The client is located by the subnet's network address. The scope is
    /// the widest prefix around that address over which the answer cannot
    /// change, whatever the subnet's own prefix length (RFC 7871 section
    /// 7.2.1):
    ///
    /// - shorter than the subnet's prefix when the answer holds for a wider
    ///   network (resolvers then cache it once for that network, as gdnsd
    ///   reports it);
    /// - longer when the subnet mixes clients with different answers (a /16
    ///   sent for addresses that several rules split): the answer is the
    ///   network address's and holds only for its scope, which tells the
    ///   resolver to ask again with that many bits. Capping it at the
    ///   subnet's prefix would claim the answer for the whole subnet.
    ///
    /// A sticky pick hashes the client's /24 (IPv4) or /56 (IPv6), so its
    /// scope is never shorter than that.
    ///
    /// The scope counts the bits of the subnet's own family: an IPv4-mapped
    /// IPv6 subnet (`::ffff:192.0.2.0/120`) is located as IPv4 and its scope
    /// is the IPv4 scope plus the 96 mapping bits (`/120` for an IPv4 `/24`),
    /// so that it reads right in an IPv6 ECS option.
    #[inline]
    pub fn select_subnet(&self, domain: &str, client: IpNet) -> Option<Decision<'_>> {
        let ip = client.network().to_canonical();
        let ahead = self.read_ahead(ip);
        let entry = self.entry(domain)?;
        let mut decision = self.decide_ahead(entry, ip, ahead);
        decision.scope_prefix = subnet_scope(client, ip, decision.scope_prefix);
        Some(decision)
    }

    /// The client's landing in the read-ahead maps, looked up before the
    /// domain: in a snapshot whose policies mostly share one group, that
    /// lookup's cache misses then overlap the domain lookup's work and
    /// misses instead of following them (see [`ReadAhead`]). A query whose
    /// policy is in another group wastes the lookup.
    #[inline]
    fn read_ahead(&self, ip: IpAddr) -> Option<(&ReadAhead, AheadLanding)> {
        self.read_ahead.as_ref().map(|r| (r, r.land(ip)))
    }

    /// Every steered domain (lower case, no trailing dot), in order.
    ///
    /// Collects and sorts them: domains added since the last whole compile
    /// sit at positions out of order. Meant for tools and tests, not the
    /// query path.
    pub fn domains(&self) -> impl Iterator<Item = &str> + '_ {
        let mut domains: Vec<&str> = self
            .live_entries()
            .map(|e| e.policy.source.domain().as_str())
            .collect();
        domains.sort_unstable();
        domains.into_iter()
    }

    #[inline]
    pub(crate) fn entry(&self, domain: &str) -> Option<&Entry> {
        let position = self.domains.get(domain)?;
        self.entries.get(position as usize)
    }

    /// The decision for a canonical client address.
    #[inline]
    pub(crate) fn decide<'s>(&'s self, entry: &'s Entry, ip: IpAddr) -> Decision<'s> {
        self.decide_ahead(entry, ip, None)
    }

    /// [`Self::decide`] with the client's landing in the read-ahead maps,
    /// if looked up.
    #[inline]
    fn decide_ahead<'s>(
        &'s self,
        entry: &'s Entry,
        ip: IpAddr,
        ahead: Option<(&ReadAhead, AheadLanding)>,
    ) -> Decision<'s> {
        if !entry.enabled {
            return self.not_steering(entry);
        }
        let landing = entry.group.land_ahead(&self.table, ip, ahead);
        match entry.slots.get(usize::from(landing.slot)) {
            Some(slot) => self.answer(entry, slot, landing, ip),
            None => self.answer_stray(entry, landing, ip),
        }
    }

    /// [`Self::decide`] for a landing past the policy's slots, which cannot
    /// happen (the group was built from this policy's structure): the
    /// default slot answers. Out of line, so that the usual path has one
    /// bounds check and no fallback to compute.
    #[cold]
    #[inline(never)]
    fn answer_stray<'s>(&'s self, entry: &'s Entry, landing: Landing, ip: IpAddr) -> Decision<'s> {
        match entry.slots.last() {
            Some(slot) => self.answer(entry, slot, landing, ip),
            None => self.builtin(entry, DISABLED_RULE, None, 0),
        }
    }

    /// The decision of a policy that does not steer: disabled (the
    /// built-in provider), or failed closed (no data). Out of line: the
    /// usual path tests one flag for both.
    #[cold]
    #[inline(never)]
    fn not_steering<'s>(&'s self, entry: &Entry) -> Decision<'s> {
        let mut decision = self.builtin(entry, DISABLED_RULE, None, 0);
        if entry.policy.source.is_failed_closed() {
            decision.rule = NODATA_RULE;
            decision.nodata = true;
        }
        decision
    }

    /// The built-in provider's answer.
    #[inline]
    fn builtin<'s>(
        &'s self,
        entry: &Entry,
        rule: &'s str,
        line: Option<&'s Line>,
        scope_prefix: u8,
    ) -> Decision<'s> {
        Decision {
            provider: self.builtin.name().as_str(),
            cname: self.builtin.cname().as_str(),
            rule,
            line,
            ttl: entry.ttl,
            scope_prefix,
            nodata: false,
        }
    }

    /// The decision of `slot`, where the client landed.
    #[inline]
    fn answer<'s>(
        &'s self,
        entry: &'s Entry,
        slot: &'s Slot,
        landing: Landing,
        ip: IpAddr,
    ) -> Decision<'s> {
        let rule = slot
            .rule
            .as_deref()
            .unwrap_or(steerage_policy::DefaultRule::NAME);
        let line = entry.group.line(landing.slot, landing.line);
        let mut scope = landing.scope;
        let answer = match &slot.pick {
            // Nothing live even in the default rule.
            None => return self.builtin(entry, rule, line, scope),
            Some(pick) if entry.sticky && pick.len() > 1 => {
                // The answer also depends on the client's subnet.
                scope = scope.max(match ip {
                    IpAddr::V4(_) => STICKY_PREFIX_V4,
                    IpAddr::V6(_) => STICKY_PREFIX_V6,
                });
                pick.pick_sticky(sticky_client_key(ip, entry.sticky_key))
            }
            Some(pick) => pick.pick_random(),
        };
        let ProviderAnswer::Provider { name, cname } = answer else {
            return self.builtin(entry, rule, line, scope);
        };
        Decision {
            provider: name,
            cname,
            rule,
            line,
            ttl: entry.ttl,
            scope_prefix: scope,
            nodata: false,
        }
    }
}

/// The scope of a decision made for `client` located at `ip` (its canonical
/// network address), in the bits of `client`'s family: an IPv4-mapped IPv6
/// subnet is decided as IPv4, and the 96 mapping bits come first (so such a
/// scope is at least 96, even for an answer that holds for all of IPv4: the
/// IPv4 table says nothing about the rest of IPv6).
#[inline]
pub(crate) fn subnet_scope(client: IpNet, ip: IpAddr, scope: u8) -> u8 {
    match (client, ip) {
        // An IPv4 scope is at most 32: the sum is at most 128.
        (IpNet::V6(_), IpAddr::V4(_)) => scope.min(32) + 96,
        _ => scope,
    }
}

#[cfg(test)]
mod tests {
    use steerage_policy::{DomainName, Line, Provider, ProviderKind, Rule, Target, Weight};

    use super::*;

    fn target(provider: &str, weight: u16) -> Target {
        Target::new(provider.parse().unwrap(), Weight::new(weight).unwrap())
    }

    /// The design brief's example on the sample data.
    fn design_set() -> PolicySet {
        let mut set = PolicySet::new(BuiltinProvider::new(
            DomainName::new("edge.steerage.example").unwrap(),
        ));
        let d = "www.example.com";
        set.create_policy(d).unwrap();
        for (name, kind, cname) in [
            ("origin", ProviderKind::Origin, "origin.example.com"),
            ("vendor-a", ProviderKind::Cdn, "a.vendor-a.example"),
            ("vendor-b", ProviderKind::Cdn, "b.vendor-b.example"),
        ] {
            set.add_provider(
                d,
                Provider::new(name.parse().unwrap(), kind, cname.parse().unwrap()),
            )
            .unwrap();
        }
        set.add_rule(
            d,
            Rule::new(
                "beijing".parse().unwrap(),
                vec![Line::parse("CN-BJ").unwrap()],
                vec![target("origin", 100)],
            ),
        )
        .unwrap();
        set.add_rule(
            d,
            Rule::new(
                "china".parse().unwrap(),
                vec![Line::parse("CN").unwrap()],
                vec![target("vendor-a", 70), target("builtin", 30)],
            ),
        )
        .unwrap();
        set.set_default_targets(d, vec![target("vendor-b", 100)])
            .unwrap();
        set
    }

    #[test]
    fn snapshots_are_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Snapshot>();
        shareable::<Compiler>();
        shareable::<crate::Explanation>();
    }

    #[test]
    fn design_example_on_sample_data() {
        let snap = Snapshot::compile(&design_set(), Arc::new(LocationTable::sample()), 7).unwrap();
        assert_eq!(snap.version(), 7);
        assert_eq!(snap.domains().collect::<Vec<_>>(), ["www.example.com"]);
        let at = |ip: &str| {
            snap.select("WWW.example.com.", ip.parse().unwrap())
                .unwrap()
        };
        let bj = at("192.0.2.10");
        assert_eq!((bj.provider(), bj.rule()), ("origin", "beijing"));
        assert_eq!(bj.cname(), "origin.example.com");
        assert_eq!(bj.line().map(ToString::to_string).as_deref(), Some("CN-BJ"));
        assert_eq!(bj.ttl(), 600);
        // Both Beijing /25s merge into one /24 (same rule).
        assert_eq!(bj.scope_prefix(), 24);
        let sh = at("203.0.113.7");
        assert_eq!(sh.rule(), "china");
        assert!(["vendor-a", "builtin"].contains(&sh.provider()));
        let us = at("198.51.100.7");
        assert_eq!(
            (us.provider(), us.rule(), us.line()),
            ("vendor-b", "default", None)
        );
        let unknown = at("10.0.0.1");
        assert_eq!(unknown.rule(), "default");
        assert!(
            snap.select("example.com", "10.0.0.1".parse().unwrap())
                .is_none()
        );
        let v6 = snap
            .select_subnet("www.example.com", "2001:db8:100::/48".parse().unwrap())
            .unwrap();
        assert_eq!(v6.rule(), "beijing");
    }

    /// `n` policies `{prefix}{i}.example` with one rule on `line` and a
    /// default, one target each (so that a decision is deterministic).
    fn add_policies(set: &mut PolicySet, prefix: &str, n: usize, line: &str) {
        for i in 0..n {
            let d = format!("{prefix}{i}.example");
            set.create_policy(&d).unwrap();
            for (name, cname) in [("near", "near.cdn.example"), ("far", "far.cdn.example")] {
                set.add_provider(
                    &d,
                    Provider::new(
                        name.parse().unwrap(),
                        ProviderKind::Cdn,
                        cname.parse().unwrap(),
                    ),
                )
                .unwrap();
            }
            set.add_rule(
                &d,
                Rule::new(
                    "near".parse().unwrap(),
                    vec![Line::parse(line).unwrap()],
                    vec![target("near", 1)],
                ),
            )
            .unwrap();
            set.set_default_targets(&d, vec![target("far", 1)]).unwrap();
        }
    }

    /// Whether `snap` reads ahead in the group of `domain`'s policy.
    fn reads_ahead_for(snap: &Snapshot, domain: &str) -> bool {
        let entry = snap.entry(domain).unwrap();
        snap.read_ahead
            .as_ref()
            .is_some_and(|r| r.is_of(&entry.group))
    }

    /// Every decision with the read-ahead equals the one without it.
    fn assert_read_ahead_changes_nothing(snap: &Snapshot, ips: &[IpAddr]) {
        for domain in snap.domains() {
            let entry = snap.entry(domain).unwrap();
            for &ip in ips {
                let plain = snap.decide(entry, ip.to_canonical());
                assert_eq!(snap.select(domain, ip), Some(plain), "{domain} {ip}");
            }
        }
    }

    /// Addresses across the sample table: each range's ends, the addresses
    /// around them, and a spread of others, IPv4 and IPv6.
    fn sample_addresses(table: &LocationTable) -> Vec<IpAddr> {
        let mut ips: Vec<IpAddr> = Vec::new();
        for (start, end, _) in table.ranges_v4() {
            let (s, e) = (u32::from(start), u32::from(end));
            for a in [s, e, s.wrapping_sub(1), e.wrapping_add(1)] {
                ips.push(IpAddr::from(std::net::Ipv4Addr::from(a)));
            }
        }
        ips.extend(
            (0..2000u32)
                .map(|i| IpAddr::from(std::net::Ipv4Addr::from(i.wrapping_mul(0x9e37_79b9)))),
        );
        ips.extend(
            ["2001:db8:100::1", "2001:db8::1", "::ffff:192.0.2.10", "::1"]
                .map(|a| a.parse::<IpAddr>().unwrap()),
        );
        ips
    }

    #[test]
    fn read_ahead_follows_the_busiest_group_and_never_changes_a_decision() {
        let table = Arc::new(LocationTable::sample());
        let ips = sample_addresses(&table);
        let mut set = PolicySet::new(BuiltinProvider::new(
            DomainName::new("edge.steerage.example").unwrap(),
        ));
        add_policies(&mut set, "bj", 3, "CN-BJ");
        add_policies(&mut set, "cn", 1, "CN");
        let mut compiler = Compiler::new(Arc::clone(&table));
        let snap = compiler.compile(&set, 1).unwrap();
        assert!(reads_ahead_for(&snap, "bj0.example"));
        assert!(!reads_ahead_for(&snap, "cn0.example"));
        assert_read_ahead_changes_nothing(&snap, &ips);

        // New domains, compiled in proportion: the choice may lag (a
        // stale one costs a lookup, never a decision).
        add_policies(&mut set, "cn-more", 4, "CN");
        let snap = compiler.compile(&set, 2).unwrap();
        assert_read_ahead_changes_nothing(&snap, &ips);
        // Compiled whole, the count is exact: the China group is the
        // busiest now.
        let mut compiler = Compiler::new(Arc::clone(&table));
        let snap = compiler.compile(&set, 2).unwrap();
        assert!(reads_ahead_for(&snap, "cn0.example"));
        assert!(!reads_ahead_for(&snap, "bj0.example"));
        assert_read_ahead_changes_nothing(&snap, &ips);

        // A change compiled in proportion moves four policies over.
        for i in 0..4 {
            let d = format!("cn-more{i}.example");
            set.update_rule(
                &d,
                "near",
                Rule::new(
                    "near".parse().unwrap(),
                    vec![Line::parse("CN-BJ").unwrap()],
                    vec![target("near", 1)],
                ),
            )
            .unwrap();
        }
        let snap = compiler.compile(&set, 3).unwrap();
        assert!(reads_ahead_for(&snap, "bj0.example"));
        assert!(reads_ahead_for(&snap, "cn-more0.example"));
        assert!(!reads_ahead_for(&snap, "cn0.example"));
        assert_read_ahead_changes_nothing(&snap, &ips);
    }

    proptest::proptest! {
        /// With two groups, a query answered through the read-ahead maps
        /// (its policy's group) and one that falls back (the other group)
        /// both decide as without the read-ahead, for any address.
        #[test]
        fn read_ahead_decides_as_the_plain_path(
            v4 in proptest::collection::vec(proptest::prelude::any::<u32>(), 1..64),
            v6 in proptest::collection::vec(proptest::prelude::any::<u128>(), 1..16),
        ) {
            let mut set = PolicySet::new(BuiltinProvider::new(
                DomainName::new("edge.steerage.example").unwrap(),
            ));
            add_policies(&mut set, "bj", 2, "CN-BJ");
            add_policies(&mut set, "cn", 1, "CN");
            let snap = Snapshot::compile(&set, Arc::new(LocationTable::sample()), 1).unwrap();
            let ips: Vec<IpAddr> = v4
                .iter()
                .map(|&a| IpAddr::from(std::net::Ipv4Addr::from(a)))
                .chain(v6.iter().map(|&a| IpAddr::from(std::net::Ipv6Addr::from(a))))
                .collect();
            assert_read_ahead_changes_nothing(&snap, &ips);
        }
    }

    #[test]
    fn explain_agrees_with_select_and_reads_well() {
        let snap = Snapshot::compile(&design_set(), Arc::new(LocationTable::sample()), 3).unwrap();
        let e = snap
            .explain("www.example.com", "192.0.2.10".parse().unwrap())
            .unwrap();
        let text = e.to_string();
        println!("{text}");
        assert_eq!(e.answer.rule, "beijing");
        assert_eq!(e.rules.len(), 3);
        assert_eq!(e.rules[0].rule, "beijing");
        assert_eq!(e.rules[0].outcome, crate::RuleOutcome::Chosen);
        assert_eq!(
            e.rules[1].outcome,
            crate::RuleOutcome::LessSpecific {
                winner: "beijing".into()
            }
        );
        assert_eq!(e.rules[2].outcome, crate::RuleOutcome::NotNeeded);
        assert!(text.contains("CN-BJ"), "{text}");
        assert!(text.contains("ECS scope /24 (192.0.2.0/24)"), "{text}");
        let e = snap
            .explain_subnet("www.example.com", "203.0.113.0/24".parse().unwrap())
            .unwrap();
        assert_eq!(e.answer.rule, "china");
        assert_eq!(e.weights.len(), 2);
        println!("{e}");
    }
}
