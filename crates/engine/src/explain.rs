//! `explain`: why a client gets its answer, rule by rule.

use std::fmt;
use std::net::IpAddr;
use std::time::SystemTime;

use ipnet::IpNet;
use steerage_geo::{Line, Location, Locator, Precedence};
use steerage_policy::{DefaultRule, Policy, ProviderName, SelectionMode, Target};

use crate::reference::{self, Selection};
use crate::snapshot::{Entry, subnet_scope};
use crate::{Decision, Snapshot};

/// Why one rule did or did not answer a client.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuleOutcome {
    /// It answered.
    Chosen,
    /// The policy is disabled: the built-in provider answers every client.
    PolicyDisabled,
    /// The rule is disabled (skipped as if absent).
    RuleDisabled,
    /// No target is both enabled and of weight > 0 (skipped as if absent).
    NoLiveTarget,
    /// None of its lines contains the client.
    NoLineMatched,
    /// A line matched, but a rule with a more specific line answered.
    LessSpecific {
        /// The rule that answered.
        winner: String,
    },
    /// A line of the same precedence matched (overlapping custom lines), and
    /// the earlier rule answered.
    EarlierRuleWins {
        /// The rule that answered.
        winner: String,
    },
    /// The default rule was not needed: a rule matched.
    NotNeeded,
    /// The default rule matched but has no live target: the built-in
    /// provider answers.
    BuiltinFallback,
    /// Every provider the policy sends traffic to is down and it fails
    /// closed: every client gets no data.
    AllDown,
}

impl fmt::Display for RuleOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Chosen => f.write_str("chosen"),
            Self::PolicyDisabled => f.write_str("policy disabled"),
            Self::RuleDisabled => f.write_str("rule disabled: skipped"),
            Self::NoLiveTarget => f.write_str("no enabled target with weight > 0: skipped"),
            Self::NoLineMatched => f.write_str("no line matched"),
            Self::LessSpecific { winner } => {
                write!(f, "matched, but `{winner}` is more specific")
            }
            Self::EarlierRuleWins { winner } => {
                write!(
                    f,
                    "matched at the same level as the earlier rule `{winner}`"
                )
            }
            Self::NotNeeded => f.write_str("not needed"),
            Self::BuiltinFallback => f.write_str(
                "matched, but no enabled target with weight > 0: the built-in provider answers",
            ),
            Self::AllDown => f.write_str("every provider down: no data"),
        }
    }
}

/// One rule as `explain` saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuleVerdict {
    /// The rule's name (`default` for the default rule).
    pub rule: String,
    /// Its lines (none for the default rule).
    pub lines: Vec<Line>,
    /// The most specific of its lines that contains the client.
    pub matched_line: Option<Line>,
    /// The precedence the rule was ranked by: its matched line's, else its
    /// most specific line's; `Default` for the default rule.
    pub precedence: Precedence,
    /// What happened.
    pub outcome: RuleOutcome,
}

/// A target of the answering rule, with its weights.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WeightShare {
    /// The provider.
    pub provider: String,
    /// The weight as configured.
    pub configured: u16,
    /// The weight selection uses: 0 for a disabled provider.
    pub effective: u16,
    /// Whether the provider is enabled.
    pub enabled: bool,
}

/// The answer, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Answer {
    /// The provider picked.
    pub provider: String,
    /// Its CNAME target.
    pub cname: String,
    /// The rule that answered.
    pub rule: String,
    /// The line that matched.
    pub line: Option<Line>,
    /// TTL in seconds.
    pub ttl: u32,
    /// The ECS scope prefix length.
    pub scope_prefix: u8,
    /// Whether the answer is no data ([`Decision::is_nodata`]).
    pub nodata: bool,
}

/// The health of one of the policy's providers, as the program that keeps
/// it reports (the engine compiles a set where down providers are
/// disabled, and knows no more): filled in by `steerage`'s `Steering`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HealthNote {
    /// The provider.
    pub provider: String,
    /// Whether it is down (treated as disabled).
    pub down: bool,
    /// Since when it has been in that state, if known.
    pub since: Option<SystemTime>,
    /// Where the state comes from and the last check results, in words.
    pub detail: String,
}

impl HealthNote {
    /// A note.
    pub fn new(provider: String, down: bool, since: Option<SystemTime>, detail: String) -> Self {
        Self {
            provider,
            down,
            since,
            detail,
        }
    }
}

impl From<Decision<'_>> for Answer {
    fn from(d: Decision<'_>) -> Self {
        Self {
            provider: d.provider().to_owned(),
            cname: d.cname().to_owned(),
            rule: d.rule().to_owned(),
            line: d.line().cloned(),
            ttl: d.ttl(),
            scope_prefix: d.scope_prefix(),
            nodata: d.is_nodata(),
        }
    }
}

/// Why a client gets its answer: the location found and from which source,
/// every rule in precedence order with its outcome, the weights of the
/// answering rule, and the answer (for `random` policies, one sample pick).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Explanation {
    /// The steered domain.
    pub domain: String,
    /// The address the client was located by.
    pub client: IpAddr,
    /// The client subnet given, for [`Snapshot::explain_subnet`].
    pub subnet: Option<IpNet>,
    /// The snapshot version that answered.
    pub version: u64,
    /// The location table's description (which data located the client).
    pub source: String,
    /// The location; its `network` is the location table's range around the
    /// client.
    pub location: Location,
    /// Whether the policy is enabled.
    pub enabled: bool,
    /// The selection mode.
    pub mode: SelectionMode,
    /// Every rule, most specific first, the default rule last.
    pub rules: Vec<RuleVerdict>,
    /// The targets of the answering rule (empty when the built-in provider
    /// answers for lack of anything else).
    pub weights: Vec<WeightShare>,
    /// The answer.
    pub answer: Answer,
    /// The health of the policy's providers that have any (empty from
    /// [`Snapshot::explain`]; `steerage`'s `Steering::explain` fills it).
    pub health: Vec<HealthNote>,
}

impl Snapshot {
    /// Why `client` gets its answer for `domain`; `None` when the domain is
    /// not steered. Allocates: meant for consoles and logs, not the query
    /// path.
    pub fn explain(&self, domain: &str, client: IpAddr) -> Option<Explanation> {
        let entry = self.entry(domain)?;
        Some(self.explain_entry(entry, client.to_canonical(), None))
    }

    /// As [`Snapshot::explain`] for a client subnet, located by its network
    /// address like [`Snapshot::select_subnet`]; the answer's scope is the one `select_subnet` returns (in the bits of
    /// the subnet's family).
    pub fn explain_subnet(&self, domain: &str, client: IpNet) -> Option<Explanation> {
        let entry = self.entry(domain)?;
        let ip = client.network().to_canonical();
        let mut explanation = self.explain_entry(entry, ip, Some(client));
        explanation.answer.scope_prefix = subnet_scope(client, ip, explanation.answer.scope_prefix);
        Some(explanation)
    }

    fn explain_entry(&self, entry: &Entry, ip: IpAddr, subnet: Option<IpNet>) -> Explanation {
        let policy = &entry.policy.source;
        let builtin = self.builtin.name();
        let location = self.table.locate(ip);
        // The rule walk is the definition's; the answer is `select`'s (the
        // reference proptest holds them equal).
        let selection = reference::select_at(policy, builtin, &location);
        let rules = verdicts(policy, builtin, &location, &selection);
        let weights = if selection.is_builtin_fallback() {
            Vec::new()
        } else {
            let targets: &[Target] = match policy.rule(selection.rule) {
                Some(rule) => rule.targets(),
                None => policy.default_rule().targets(),
            };
            targets
                .iter()
                .map(|t| {
                    let enabled = reference::is_enabled(policy, builtin, t.provider());
                    WeightShare {
                        provider: t.provider().to_string(),
                        configured: t.weight().get(),
                        effective: if enabled { t.weight().get() } else { 0 },
                        enabled,
                    }
                })
                .collect()
        };
        Explanation {
            domain: policy.domain().to_string(),
            client: ip,
            subnet,
            version: self.version,
            source: self.table.describe(),
            location,
            enabled: policy.is_enabled(),
            mode: policy.mode(),
            rules,
            weights,
            answer: self.decide(entry, ip).into(),
            health: Vec::new(),
        }
    }
}

/// Every rule's verdict, most specific first, the default rule last, as the
/// definition ([`reference`]) walks them.
fn verdicts(
    policy: &Policy,
    builtin: &ProviderName,
    location: &Location,
    selection: &Selection<'_>,
) -> Vec<RuleVerdict> {
    let chosen = selection.rule;
    let chosen_precedence = selection.line.map(Line::precedence);
    let mut out: Vec<(usize, RuleVerdict)> = Vec::new();
    for (i, rule) in policy.rules().iter().enumerate() {
        let matched_line = reference::matched_line(rule, location).cloned();
        let precedence = matched_line.as_ref().map_or_else(
            || {
                rule.lines()
                    .iter()
                    .map(Line::precedence)
                    .min()
                    .unwrap_or(Precedence::Default)
            },
            Line::precedence,
        );
        let outcome = if !policy.is_enabled() {
            RuleOutcome::PolicyDisabled
        } else if policy.is_failed_closed() {
            RuleOutcome::AllDown
        } else if !rule.is_enabled() {
            RuleOutcome::RuleDisabled
        } else if !reference::is_candidate(policy, builtin, rule) {
            RuleOutcome::NoLiveTarget
        } else if matched_line.is_none() {
            RuleOutcome::NoLineMatched
        } else if rule.name().as_str() == chosen {
            RuleOutcome::Chosen
        } else if Some(precedence) == chosen_precedence {
            RuleOutcome::EarlierRuleWins {
                winner: chosen.to_owned(),
            }
        } else {
            RuleOutcome::LessSpecific {
                winner: chosen.to_owned(),
            }
        };
        out.push((
            i,
            RuleVerdict {
                rule: rule.name().to_string(),
                lines: rule.lines().to_vec(),
                matched_line,
                precedence,
                outcome,
            },
        ));
    }
    out.sort_by_key(|(i, v)| (v.precedence, *i));
    let default_outcome = if !policy.is_enabled() {
        RuleOutcome::PolicyDisabled
    } else if policy.is_failed_closed() {
        RuleOutcome::AllDown
    } else if chosen != DefaultRule::NAME {
        RuleOutcome::NotNeeded
    } else if selection.is_builtin_fallback() {
        RuleOutcome::BuiltinFallback
    } else {
        RuleOutcome::Chosen
    };
    let mut rules: Vec<RuleVerdict> = out.into_iter().map(|(_, v)| v).collect();
    rules.push(RuleVerdict {
        rule: DefaultRule::NAME.to_owned(),
        lines: Vec::new(),
        matched_line: None,
        precedence: Precedence::Default,
        outcome: default_outcome,
    });
    rules
}

fn precedence_name(p: Precedence) -> &'static str {
    match p {
        Precedence::Custom => "custom CIDR",
        Precedence::SubdivisionIsp => "province + ISP",
        Precedence::Subdivision => "province/state",
        Precedence::CountryIsp => "country + ISP",
        Precedence::Country => "country",
        Precedence::Continent => "continent",
        Precedence::Default => "default",
    }
}

fn describe_location(l: &Location) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(c) = l.country {
        parts.push(format!("country {c}"));
    }
    if let Some(s) = l.subdivision {
        parts.push(format!("subdivision {s}"));
    }
    if let Some(i) = l.isp {
        parts.push(format!("ISP {i}"));
    }
    if let Some(c) = l
        .continent
        .or_else(|| l.country.map(steerage_geo::Country::continent))
    {
        parts.push(format!("continent {}", c.code()));
    }
    for name in l.custom.iter() {
        parts.push(format!("cidr:{name}"));
    }
    if parts.is_empty() {
        "unknown".to_owned()
    } else {
        parts.join(", ")
    }
}

impl Explanation {
    /// Whether [`health`](Self::health) says `provider` is down.
    fn is_down(&self, provider: &str) -> bool {
        self.health.iter().any(|h| h.down && h.provider == provider)
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.subnet {
            Some(net) => writeln!(
                f,
                "{} for subnet {} (snapshot v{})",
                self.domain, net, self.version
            )?,
            None => writeln!(
                f,
                "{} for {} (snapshot v{})",
                self.domain, self.client, self.version
            )?,
        }
        write!(f, "  location: {}", describe_location(&self.location))?;
        if let Some(net) = self.location.network {
            write!(f, " (network {net})")?;
        }
        writeln!(f, ", from {}", self.source)?;
        if !self.enabled {
            writeln!(
                f,
                "  policy disabled: every client gets the built-in provider"
            )?;
        } else {
            writeln!(
                f,
                "  policy enabled, {} pick; rules, most specific first:",
                self.mode
            )?;
            for v in &self.rules {
                let lines = if v.lines.is_empty() {
                    "*".to_owned()
                } else {
                    v.lines
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                };
                write!(f, "    {:<16} {:<24} ", v.rule, lines)?;
                if let Some(line) = &v.matched_line {
                    write!(f, "[{line}: {}] ", precedence_name(line.precedence()))?;
                }
                writeln!(f, "{}", v.outcome)?;
            }
            if !self.weights.is_empty() {
                let total: u32 = self.weights.iter().map(|w| u32::from(w.effective)).sum();
                write!(f, "  weights of `{}`:", self.answer.rule)?;
                for w in &self.weights {
                    let share = if total == 0 {
                        0.0
                    } else {
                        100.0 * f64::from(w.effective) / f64::from(total)
                    };
                    write!(f, " {} {}", w.provider, w.configured)?;
                    if self.is_down(&w.provider) {
                        write!(f, " (down: 0)")?;
                    } else if !w.enabled {
                        write!(f, " (disabled: 0)")?;
                    }
                    write!(f, " = {share:.1}%;")?;
                }
                writeln!(f)?;
            }
        }
        for h in &self.health {
            write!(
                f,
                "  health: {} {}",
                h.provider,
                if h.down { "down" } else { "up" }
            )?;
            if let Some(for_secs) = h
                .since
                .and_then(|since| SystemTime::now().duration_since(since).ok())
            {
                write!(f, " for {} s", for_secs.as_secs())?;
            }
            writeln!(f, ": {}", h.detail)?;
        }
        if self.answer.nodata {
            write!(
                f,
                "  answer: no data (every provider down, on_all_down = nodata), rule `{}`",
                self.answer.rule
            )?;
        } else {
            write!(
                f,
                "  answer: {} -> {}, rule `{}`",
                self.answer.provider, self.answer.cname, self.answer.rule
            )?;
        }
        if let Some(line) = &self.answer.line {
            write!(f, " via {line}")?;
        }
        // A subnet's scope counts the bits of the subnet's family.
        let scope_base = self.subnet.map_or(self.client, |subnet| subnet.network());
        let scope = IpNet::new(scope_base, self.answer.scope_prefix)
            .map(|n| n.trunc().to_string())
            .unwrap_or_default();
        write!(
            f,
            ", TTL {} s, ECS scope /{} ({scope})",
            self.answer.ttl, self.answer.scope_prefix
        )
    }
}
