//! A state-machine test: random sequences of operations, valid and invalid,
//! applied to the model and to a deliberately simple reference model. After
//! every step both agree (same outcome, same state), a failed operation has
//! changed nothing, and every invariant holds.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::FileFailurePersistence;
use steerage_policy::{
    BuiltinProvider, CustomLine, CustomLineName, DomainName, DomainNameFault, Line, PolicyError,
    PolicySet, Provider, ProviderKind, Rule, RuleRef, SelectionMode, Target, Ttl, ValueError,
    Weight,
};

// Small pools so that operations collide: the same name twice, a provider
// still referenced, a line already taken, a CNAME that is the domain or
// another steered domain (a chain, or a loop).
const BUILTIN: &str = "builtin";
const BUILTIN_CNAME: &str = "edge.example";
const DOMAINS: &[&str] = &[
    "a.example",
    "A.Example.",
    "b.example",
    "c.example",
    "edge.example",
    "bad..example",
];
const PROVIDERS: &[&str] = &["p1", "p2", "p3", BUILTIN];
const TARGET_PROVIDERS: &[&str] = &["p1", "p2", "p3", BUILTIN, "ghost"];
const CNAMES: &[&str] = &[
    "x.example",
    "y.example",
    "a.example",
    "b.example",
    BUILTIN_CNAME,
];
const RULES: &[&str] = &["r1", "r2", "r3"];
const RULE_LOOKUPS: &[&str] = &["r1", "r2", "r3", "default"];
const LINES: &[&str] = &["CN", "CN-BJ", "CN/telecom", "US", "cidr:office", "cidr:lab"];
const CUSTOM_LINES: &[&str] = &["office", "lab"];
const PREFIXES: &[&str] = &["10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32"];
const WEIGHTS: &[u16] = &[0, 1, 50, 10_000];

#[derive(Debug, Clone)]
enum Op {
    CreatePolicy(&'static str),
    EnablePolicy(&'static str),
    DisablePolicy(&'static str),
    DeletePolicy(&'static str),
    SetTtl(&'static str, u32),
    SetMode(&'static str, bool),
    SetSeed(&'static str, u64),
    AddProvider(&'static str, ProviderSpec),
    UpdateProvider(&'static str, &'static str, ProviderSpec),
    DeleteProvider(&'static str, &'static str),
    EnableProvider(&'static str, &'static str),
    DisableProvider(&'static str, &'static str),
    AddRule(&'static str, RuleSpec),
    UpdateRule(&'static str, &'static str, RuleSpec),
    DeleteRule(&'static str, &'static str),
    EnableRule(&'static str, &'static str),
    DisableRule(&'static str, &'static str),
    SetDefaultTargets(&'static str, Vec<(&'static str, u16)>),
    AddCustomLine(&'static str, Vec<&'static str>),
    UpdateCustomLine(&'static str, Vec<&'static str>),
    DeleteCustomLine(&'static str),
}

#[derive(Debug, Clone)]
struct ProviderSpec {
    name: &'static str,
    origin: bool,
    cname: &'static str,
    enabled: bool,
}

#[derive(Debug, Clone)]
struct RuleSpec {
    name: &'static str,
    lines: Vec<&'static str>,
    targets: Vec<(&'static str, u16)>,
    enabled: bool,
}

/// Mostly targets that can be valid (known providers, a positive weight
/// first), sometimes anything.
fn targets() -> impl Strategy<Value = Vec<(&'static str, u16)>> {
    prop_oneof![
        4 => (
            (select(&[BUILTIN, "p1", "p2"][..]), select(&[1u16, 50, 10_000][..])),
            prop::collection::vec((select(TARGET_PROVIDERS), select(WEIGHTS)), 0..=1),
        )
            .prop_map(|(first, rest)| {
                let mut v = vec![first];
                v.extend(rest);
                v
            }),
        1 => prop::collection::vec((select(TARGET_PROVIDERS), select(WEIGHTS)), 0..=3),
    ]
}

/// Mostly one or two lines, sometimes none or a repeat.
fn lines() -> impl Strategy<Value = Vec<&'static str>> {
    prop_oneof![
        4 => prop::collection::vec(select(LINES), 1..=2),
        1 => prop::collection::vec(select(LINES), 0..=3),
    ]
}

fn provider_spec() -> impl Strategy<Value = ProviderSpec> {
    (
        select(PROVIDERS),
        any::<bool>(),
        select(CNAMES),
        any::<bool>(),
    )
        .prop_map(|(name, origin, cname, enabled)| ProviderSpec {
            name,
            origin,
            cname,
            enabled,
        })
}

fn rule_spec() -> impl Strategy<Value = RuleSpec> {
    (select(RULES), lines(), targets(), any::<bool>()).prop_map(
        |(name, lines, targets, enabled)| RuleSpec {
            name,
            lines,
            targets,
            enabled,
        },
    )
}

fn prefixes() -> impl Strategy<Value = Vec<&'static str>> {
    prop::sample::subsequence(PREFIXES, 1..=PREFIXES.len())
}

/// Domains for operations on an existing policy: mostly the two the
/// prelude creates, spelled both ways.
const LOOKUPS: &[&str] = &[
    "a.example",
    "A.Example.",
    "b.example",
    "B.EXAMPLE",
    "c.example",
    "nope.example",
];

fn op() -> impl Strategy<Value = Op> {
    let d = || select(LOOKUPS);
    prop_oneof![
        3 => select(DOMAINS).prop_map(Op::CreatePolicy),
        1 => d().prop_map(Op::EnablePolicy),
        1 => d().prop_map(Op::DisablePolicy),
        1 => d().prop_map(Op::DeletePolicy),
        1 => (d(), 1..=86_400u32).prop_map(|(d, t)| Op::SetTtl(d, t)),
        1 => (d(), any::<bool>()).prop_map(|(d, s)| Op::SetMode(d, s)),
        1 => (d(), any::<u64>()).prop_map(|(d, s)| Op::SetSeed(d, s)),
        4 => (d(), provider_spec()).prop_map(|(d, p)| Op::AddProvider(d, p)),
        2 => (d(), select(PROVIDERS), provider_spec()).prop_map(|(d, n, p)| Op::UpdateProvider(d, n, p)),
        2 => (d(), select(PROVIDERS)).prop_map(|(d, n)| Op::DeleteProvider(d, n)),
        1 => (d(), select(PROVIDERS)).prop_map(|(d, n)| Op::EnableProvider(d, n)),
        1 => (d(), select(PROVIDERS)).prop_map(|(d, n)| Op::DisableProvider(d, n)),
        5 => (d(), rule_spec()).prop_map(|(d, r)| Op::AddRule(d, r)),
        4 => (d(), select(RULE_LOOKUPS), rule_spec()).prop_map(|(d, n, r)| Op::UpdateRule(d, n, r)),
        2 => (d(), select(RULE_LOOKUPS)).prop_map(|(d, n)| Op::DeleteRule(d, n)),
        1 => (d(), select(RULE_LOOKUPS)).prop_map(|(d, n)| Op::EnableRule(d, n)),
        1 => (d(), select(RULE_LOOKUPS)).prop_map(|(d, n)| Op::DisableRule(d, n)),
        2 => (d(), targets()).prop_map(|(d, t)| Op::SetDefaultTargets(d, t)),
        1 => (select(CUSTOM_LINES), prefixes()).prop_map(|(n, p)| Op::AddCustomLine(n, p)),
        1 => (select(CUSTOM_LINES), prefixes()).prop_map(|(n, p)| Op::UpdateCustomLine(n, p)),
        1 => select(CUSTOM_LINES).prop_map(Op::DeleteCustomLine),
    ]
}

// ---- The reference model: plain data, plain loops, no validation types. ----

#[derive(Debug, Clone, PartialEq, Eq)]
struct RefSet {
    custom_lines: BTreeMap<String, Vec<String>>,
    policies: BTreeMap<String, RefPolicy>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RefPolicy {
    enabled: bool,
    ttl: u32,
    sticky: bool,
    seed: u64,
    /// (name, origin, cname, enabled)
    providers: Vec<(String, bool, String, bool)>,
    rules: Vec<RefRule>,
    default: Vec<(String, u16)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RefRule {
    name: String,
    lines: Vec<String>,
    targets: Vec<(String, u16)>,
    enabled: bool,
}

/// What the reference expects of a failing operation: an exact error, or
/// "the result breaks a validation rule" (the model names which).
#[derive(Debug, PartialEq)]
enum Refusal {
    Exact(PolicyError),
    /// The result would break these invariants (model variant names).
    Invalid(BTreeSet<&'static str>),
}

fn key(domain: &str) -> String {
    domain.strip_suffix('.').unwrap_or(domain).to_lowercase()
}

fn owned(targets: &[(&str, u16)]) -> Vec<(String, u16)> {
    targets.iter().map(|&(p, w)| (p.to_owned(), w)).collect()
}

impl RefPolicy {
    /// Every invariant the policy breaks, by the name of the model's error
    /// variant for it.
    fn violations(
        &self,
        domain: &str,
        custom_lines: &BTreeMap<String, Vec<String>>,
    ) -> BTreeSet<&'static str> {
        let mut found = BTreeSet::new();
        let mut flag = |broken: bool, name: &'static str| {
            if broken {
                found.insert(name);
            }
        };
        let has_dups = |v: &[&str]| (0..v.len()).any(|i| v[i + 1..].contains(&v[i]));
        let names: Vec<&str> = self.providers.iter().map(|p| p.0.as_str()).collect();
        flag(
            domain == BUILTIN_CNAME || self.providers.iter().any(|p| p.2 == domain),
            "CnameIsSteeredName",
        );
        flag(has_dups(&names), "DuplicateProvider");
        flag(names.contains(&BUILTIN), "ProviderNameReserved");
        let rule_names: Vec<&str> = self.rules.iter().map(|r| r.name.as_str()).collect();
        flag(has_dups(&rule_names), "DuplicateRule");
        for (i, r) in self.rules.iter().enumerate() {
            let lines: Vec<&str> = r.lines.iter().map(String::as_str).collect();
            flag(lines.is_empty(), "EmptyRuleLines");
            flag(has_dups(&lines), "RepeatedLine");
            flag(
                self.rules[..i]
                    .iter()
                    .any(|earlier| earlier.lines.iter().any(|l| r.lines.contains(l))),
                "DuplicateLine",
            );
            flag(
                lines.iter().any(|l| {
                    l.strip_prefix("cidr:")
                        .is_some_and(|name| !custom_lines.contains_key(name))
                }),
                "UnknownCustomLine",
            );
        }
        for targets in self.rules.iter().map(|r| &r.targets).chain([&self.default]) {
            let providers: Vec<&str> = targets.iter().map(|t| t.0.as_str()).collect();
            flag(targets.is_empty(), "EmptyTargets");
            flag(has_dups(&providers), "DuplicateTarget");
            flag(
                providers
                    .iter()
                    .any(|p| *p != BUILTIN && !names.contains(p)),
                "UnknownProvider",
            );
            flag(
                !targets.is_empty() && targets.iter().map(|t| u32::from(t.1)).sum::<u32>() == 0,
                "WeightTotalZero",
            );
        }
        found
    }
}

/// The CNAMEs of the providers a policy's rules or default rule target
/// (disabled or weight 0 alike).
fn cname_edges(p: &RefPolicy) -> Vec<&str> {
    p.providers
        .iter()
        .filter(|x| {
            p.rules
                .iter()
                .flat_map(|r| &r.targets)
                .chain(&p.default)
                .any(|t| t.0 == x.0)
        })
        .map(|x| x.2.as_str())
        .collect()
}

/// Whether some steered domain's CNAMEs lead back to it: a walk from each
/// domain over everything it reaches.
fn has_cname_loop(policies: &BTreeMap<String, RefPolicy>) -> bool {
    policies.keys().any(|start| {
        let mut reached: BTreeSet<&str> = BTreeSet::new();
        let mut todo = vec![start.as_str()];
        while let Some(d) = todo.pop() {
            for next in policies.get(d).map(cname_edges).unwrap_or_default() {
                if next == start {
                    return true;
                }
                if policies.contains_key(next) && reached.insert(next) {
                    todo.push(next);
                }
            }
        }
        false
    })
}

impl RefSet {
    fn apply(&mut self, op: &Op) -> Result<(), Refusal> {
        let unknown = |d: &str| {
            Refusal::Exact(PolicyError::UnknownPolicy {
                domain: d.to_owned(),
            })
        };
        // Operations on one policy: find it, change a copy, check validity.
        let lines = self.custom_lines.clone();
        let mut with_policy = |d: &str,
                               validate: bool,
                               f: &mut dyn FnMut(&mut RefPolicy, &str) -> Result<(), Refusal>|
         -> Result<(), Refusal> {
            let k = key(d);
            let policy = self.policies.get(&k).ok_or_else(|| unknown(d))?;
            let mut copy = policy.clone();
            f(&mut copy, &k)?;
            if validate {
                let mut broken = copy.violations(&k, &lines);
                let mut after = self.policies.clone();
                after.insert(k.clone(), copy.clone());
                if has_cname_loop(&after) {
                    broken.insert("CnameLoop");
                }
                if !broken.is_empty() {
                    return Err(Refusal::Invalid(broken));
                }
            }
            self.policies.insert(k, copy);
            Ok(())
        };
        let builtin_immutable = |k: &str| {
            Refusal::Exact(PolicyError::BuiltinProviderImmutable {
                policy: k.to_owned(),
                provider: BUILTIN.to_owned(),
            })
        };
        let provider_not_found = |k: &str, n: &str| {
            Refusal::Exact(PolicyError::ProviderNotFound {
                policy: k.to_owned(),
                provider: n.to_owned(),
            })
        };
        let rule_not_found = |k: &str, n: &str| {
            Refusal::Exact(PolicyError::RuleNotFound {
                policy: k.to_owned(),
                rule: n.to_owned(),
            })
        };
        match op {
            Op::CreatePolicy(d) => {
                if *d == "bad..example" {
                    return Err(Refusal::Exact(PolicyError::Value(
                        ValueError::InvalidDomain {
                            name: (*d).to_owned(),
                            reason: DomainNameFault::EmptyLabel,
                        },
                    )));
                }
                let k = key(d);
                if self.policies.contains_key(&k) {
                    return Err(Refusal::Exact(PolicyError::DuplicatePolicy { domain: k }));
                }
                if k == BUILTIN_CNAME {
                    return Err(Refusal::Exact(PolicyError::CnameIsSteeredName {
                        policy: k,
                        provider: BUILTIN.to_owned(),
                    }));
                }
                let mut seed = 0xcbf2_9ce4_8422_2325_u64;
                for b in k.bytes() {
                    seed = (seed ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
                }
                self.policies.insert(
                    k,
                    RefPolicy {
                        enabled: true,
                        ttl: 600,
                        sticky: false,
                        seed,
                        providers: vec![],
                        rules: vec![],
                        default: vec![(BUILTIN.to_owned(), 10_000)],
                    },
                );
                Ok(())
            }
            Op::EnablePolicy(d) => with_policy(d, false, &mut |p, _| {
                p.enabled = true;
                Ok(())
            }),
            Op::DisablePolicy(d) => with_policy(d, false, &mut |p, _| {
                p.enabled = false;
                Ok(())
            }),
            Op::DeletePolicy(d) => {
                let k = key(d);
                match self.policies.get(&k) {
                    None => Err(unknown(d)),
                    Some(p) if p.enabled => {
                        Err(Refusal::Exact(PolicyError::PolicyEnabled { domain: k }))
                    }
                    Some(_) => {
                        self.policies.remove(&k);
                        Ok(())
                    }
                }
            }
            Op::SetTtl(d, t) => with_policy(d, false, &mut |p, _| {
                p.ttl = *t;
                Ok(())
            }),
            Op::SetMode(d, s) => with_policy(d, false, &mut |p, _| {
                p.sticky = *s;
                Ok(())
            }),
            Op::SetSeed(d, s) => with_policy(d, false, &mut |p, _| {
                p.seed = *s;
                Ok(())
            }),
            Op::AddProvider(d, s) => with_policy(d, true, &mut |p, _| {
                p.providers
                    .push((s.name.to_owned(), s.origin, key(s.cname), s.enabled));
                Ok(())
            }),
            Op::UpdateProvider(d, n, s) => with_policy(d, true, &mut |p, k| {
                if *n == BUILTIN {
                    return Err(builtin_immutable(k));
                }
                let i = p
                    .providers
                    .iter()
                    .position(|x| x.0 == *n)
                    .ok_or_else(|| provider_not_found(k, n))?;
                let enabled = p.providers[i].3;
                p.providers[i] = (s.name.to_owned(), s.origin, key(s.cname), enabled);
                let rename = |t: &mut Vec<(String, u16)>| {
                    for x in t.iter_mut().filter(|x| x.0 == *n) {
                        x.0 = s.name.to_owned();
                    }
                };
                for r in &mut p.rules {
                    rename(&mut r.targets);
                }
                rename(&mut p.default);
                Ok(())
            }),
            Op::DeleteProvider(d, n) => with_policy(d, false, &mut |p, k| {
                if *n == BUILTIN {
                    return Err(builtin_immutable(k));
                }
                let i = p
                    .providers
                    .iter()
                    .position(|x| x.0 == *n)
                    .ok_or_else(|| provider_not_found(k, n))?;
                let mut rules: Vec<String> = p
                    .rules
                    .iter()
                    .filter(|r| r.targets.iter().any(|t| t.0 == *n))
                    .map(|r| r.name.clone())
                    .collect();
                if p.default.iter().any(|t| t.0 == *n) {
                    rules.push("default".to_owned());
                }
                if !rules.is_empty() {
                    return Err(Refusal::Exact(PolicyError::ProviderInUse {
                        policy: k.to_owned(),
                        provider: (*n).to_owned(),
                        rules,
                    }));
                }
                p.providers.remove(i);
                Ok(())
            }),
            Op::EnableProvider(d, n) | Op::DisableProvider(d, n) => {
                let enable = matches!(op, Op::EnableProvider(..));
                with_policy(d, false, &mut |p, k| {
                    if *n == BUILTIN {
                        return if enable {
                            Ok(())
                        } else {
                            Err(builtin_immutable(k))
                        };
                    }
                    let x = p
                        .providers
                        .iter_mut()
                        .find(|x| x.0 == *n)
                        .ok_or_else(|| provider_not_found(k, n))?;
                    x.3 = enable;
                    Ok(())
                })
            }
            Op::AddRule(d, s) => with_policy(d, true, &mut |p, _| {
                p.rules.push(RefRule {
                    name: s.name.to_owned(),
                    lines: s.lines.iter().map(|l| (*l).to_owned()).collect(),
                    targets: owned(&s.targets),
                    enabled: s.enabled,
                });
                Ok(())
            }),
            Op::UpdateRule(d, n, s) => with_policy(d, true, &mut |p, k| {
                if *n == "default" {
                    return Err(Refusal::Exact(PolicyError::DefaultRuleTargetsOnly {
                        policy: k.to_owned(),
                    }));
                }
                let r = p
                    .rules
                    .iter_mut()
                    .find(|r| r.name == *n)
                    .ok_or_else(|| rule_not_found(k, n))?;
                r.name = s.name.to_owned();
                r.lines = s.lines.iter().map(|l| (*l).to_owned()).collect();
                r.targets = owned(&s.targets);
                Ok(())
            }),
            Op::DeleteRule(d, n) => with_policy(d, false, &mut |p, k| {
                if *n == "default" {
                    return Err(Refusal::Exact(PolicyError::DefaultRuleUndeletable {
                        policy: k.to_owned(),
                    }));
                }
                let i = p
                    .rules
                    .iter()
                    .position(|r| r.name == *n)
                    .ok_or_else(|| rule_not_found(k, n))?;
                p.rules.remove(i);
                Ok(())
            }),
            Op::EnableRule(d, n) | Op::DisableRule(d, n) => {
                let enable = matches!(op, Op::EnableRule(..));
                with_policy(d, false, &mut |p, k| {
                    if *n == "default" {
                        return if enable {
                            Ok(())
                        } else {
                            Err(Refusal::Exact(PolicyError::DefaultRuleAlwaysEnabled {
                                policy: k.to_owned(),
                            }))
                        };
                    }
                    let r = p
                        .rules
                        .iter_mut()
                        .find(|r| r.name == *n)
                        .ok_or_else(|| rule_not_found(k, n))?;
                    r.enabled = enable;
                    Ok(())
                })
            }
            Op::SetDefaultTargets(d, t) => with_policy(d, true, &mut |p, _| {
                p.default = owned(t);
                Ok(())
            }),
            Op::AddCustomLine(n, prefixes) => {
                if self.custom_lines.contains_key(*n) {
                    return Err(Refusal::Exact(PolicyError::DuplicateCustomLine {
                        line: (*n).to_owned(),
                    }));
                }
                let prefixes = prefixes.iter().map(|p| (*p).to_owned()).collect();
                self.custom_lines.insert((*n).to_owned(), prefixes);
                Ok(())
            }
            Op::UpdateCustomLine(n, prefixes) => match self.custom_lines.get_mut(*n) {
                None => Err(Refusal::Exact(PolicyError::CustomLineNotFound {
                    line: (*n).to_owned(),
                })),
                Some(slot) => {
                    *slot = prefixes.iter().map(|p| (*p).to_owned()).collect();
                    Ok(())
                }
            },
            Op::DeleteCustomLine(n) => {
                if !self.custom_lines.contains_key(*n) {
                    return Err(Refusal::Exact(PolicyError::CustomLineNotFound {
                        line: (*n).to_owned(),
                    }));
                }
                let code = format!("cidr:{n}");
                let mut rules = Vec::new();
                for (domain, p) in &self.policies {
                    for r in &p.rules {
                        if r.lines.contains(&code) {
                            rules.push(RuleRef {
                                policy: domain.clone(),
                                rule: r.name.clone(),
                            });
                        }
                    }
                }
                if !rules.is_empty() {
                    return Err(Refusal::Exact(PolicyError::CustomLineInUse {
                        line: (*n).to_owned(),
                        rules,
                    }));
                }
                self.custom_lines.remove(*n);
                Ok(())
            }
        }
    }
}

// ---- Driving the real model. ----

fn target(&(provider, weight): &(&str, u16)) -> Target {
    Target::new(provider.parse().unwrap(), Weight::new(weight).unwrap())
}

fn provider(s: &ProviderSpec) -> Provider {
    let kind = if s.origin {
        ProviderKind::Origin
    } else {
        ProviderKind::Cdn
    };
    Provider::new(s.name.parse().unwrap(), kind, s.cname.parse().unwrap()).with_enabled(s.enabled)
}

fn rule(s: &RuleSpec) -> Rule {
    Rule::new(
        s.name.parse().unwrap(),
        s.lines.iter().map(|l| Line::parse(l).unwrap()).collect(),
        s.targets.iter().map(target).collect(),
    )
    .with_enabled(s.enabled)
}

fn custom_line(name: &str, prefixes: &[&str]) -> CustomLine {
    CustomLine::new(
        CustomLineName::new(name).unwrap(),
        prefixes.iter().map(|p| p.parse().unwrap()).collect(),
    )
    .unwrap()
}

fn apply(set: &mut PolicySet, op: &Op) -> Result<(), PolicyError> {
    match op {
        Op::CreatePolicy(d) => set.create_policy(d).map(|_| ()),
        Op::EnablePolicy(d) => set.enable_policy(d),
        Op::DisablePolicy(d) => set.disable_policy(d),
        Op::DeletePolicy(d) => set.delete_policy(d).map(|_| ()),
        Op::SetTtl(d, t) => set.set_ttl(d, Ttl::new(*t).unwrap()),
        Op::SetMode(d, s) => set.set_mode(
            d,
            if *s {
                SelectionMode::Sticky
            } else {
                SelectionMode::Random
            },
        ),
        Op::SetSeed(d, s) => set.set_seed(d, *s),
        Op::AddProvider(d, s) => set.add_provider(d, provider(s)),
        Op::UpdateProvider(d, n, s) => set.update_provider(d, n, provider(s)),
        Op::DeleteProvider(d, n) => set.delete_provider(d, n).map(|_| ()),
        Op::EnableProvider(d, n) => set.enable_provider(d, n),
        Op::DisableProvider(d, n) => set.disable_provider(d, n),
        Op::AddRule(d, s) => set.add_rule(d, rule(s)),
        Op::UpdateRule(d, n, s) => set.update_rule(d, n, rule(s)),
        Op::DeleteRule(d, n) => set.delete_rule(d, n).map(|_| ()),
        Op::EnableRule(d, n) => set.enable_rule(d, n),
        Op::DisableRule(d, n) => set.disable_rule(d, n),
        Op::SetDefaultTargets(d, t) => set.set_default_targets(d, t.iter().map(target).collect()),
        Op::AddCustomLine(n, p) => set.add_custom_line(custom_line(n, p)),
        Op::UpdateCustomLine(n, p) => set.update_custom_line(custom_line(n, p)),
        Op::DeleteCustomLine(n) => set.delete_custom_line(n).map(|_| ()),
    }
}

/// The model seen through its getters, in the reference's terms.
fn project(set: &PolicySet) -> RefSet {
    let targets = |t: &[Target]| -> Vec<(String, u16)> {
        t.iter()
            .map(|t| (t.provider().to_string(), t.weight().get()))
            .collect()
    };
    RefSet {
        custom_lines: set
            .custom_lines()
            .map(|l| {
                (
                    l.name().as_str().to_owned(),
                    l.prefixes().iter().map(ToString::to_string).collect(),
                )
            })
            .collect(),
        policies: set
            .policies()
            .map(|p| {
                let policy = RefPolicy {
                    enabled: p.is_enabled(),
                    ttl: p.ttl().get(),
                    sticky: p.mode() == SelectionMode::Sticky,
                    seed: p.seed(),
                    providers: p
                        .providers()
                        .iter()
                        .map(|x| {
                            (
                                x.name().to_string(),
                                x.kind() == ProviderKind::Origin,
                                x.cname().to_string(),
                                x.is_enabled(),
                            )
                        })
                        .collect(),
                    rules: p
                        .rules()
                        .iter()
                        .map(|r| RefRule {
                            name: r.name().to_string(),
                            lines: r.lines().iter().map(ToString::to_string).collect(),
                            targets: targets(r.targets()),
                            enabled: r.is_enabled(),
                        })
                        .collect(),
                    default: targets(p.default_rule().targets()),
                };
                (p.domain().to_string(), policy)
            })
            .collect(),
    }
}

/// The variant name of a validation error, `None` for other errors.
fn validation_kind(err: &PolicyError) -> Option<&'static str> {
    Some(match err {
        PolicyError::DuplicateProvider { .. } => "DuplicateProvider",
        PolicyError::ProviderNameReserved { .. } => "ProviderNameReserved",
        PolicyError::CnameIsSteeredName { .. } => "CnameIsSteeredName",
        PolicyError::DuplicateRule { .. } => "DuplicateRule",
        PolicyError::EmptyRuleLines { .. } => "EmptyRuleLines",
        PolicyError::EmptyTargets { .. } => "EmptyTargets",
        PolicyError::UnknownCustomLine { .. } => "UnknownCustomLine",
        PolicyError::RepeatedLine { .. } => "RepeatedLine",
        PolicyError::DuplicateLine { .. } => "DuplicateLine",
        PolicyError::UnknownProvider { .. } => "UnknownProvider",
        PolicyError::DuplicateTarget { .. } => "DuplicateTarget",
        PolicyError::WeightTotalZero { .. } => "WeightTotalZero",
        PolicyError::CnameLoop { .. } => "CnameLoop",
        _ => return None,
    })
}

/// Invariants of the design that must hold after every step.
fn check_invariants(set: &PolicySet) -> Result<(), TestCaseError> {
    prop_assert_eq!(set.validate(), Ok(()));
    prop_assert_eq!(set.builtin().name().as_str(), BUILTIN);
    prop_assert_eq!(set.builtin().cname().as_str(), BUILTIN_CNAME);
    for p in set.policies() {
        // The default rule exists and can always answer.
        prop_assert!(!p.default_rule().targets().is_empty());
        // Every provider any rule references exists (or is the built-in one).
        for t in p
            .rules()
            .iter()
            .flat_map(|r| r.targets())
            .chain(p.default_rule().targets())
        {
            prop_assert!(
                t.provider().as_str() == BUILTIN || p.provider(t.provider().as_str()).is_some()
            );
        }
        prop_assert!(p.provider(BUILTIN).is_none());
        prop_assert!(set.policy(&p.domain().as_str().to_uppercase()).is_some());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/state_machine.txt",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn model_agrees_with_reference(ops in prop::collection::vec(op(), 1..60)) {
        let mut set = PolicySet::new(BuiltinProvider::new(DomainName::new(BUILTIN_CNAME).unwrap()));
        let mut reference = RefSet { custom_lines: BTreeMap::new(), policies: BTreeMap::new() };
        // Start from two policies so that most operations find one.
        let prelude = [
            Op::CreatePolicy("a.example"),
            Op::CreatePolicy("b.example"),
            Op::AddProvider("a.example", ProviderSpec { name: "p1", origin: true, cname: "x.example", enabled: true }),
            // A chain to `a.example` once a rule of `b.example` targets
            // `p2`: a loop is then one change of `a.example` away.
            Op::AddProvider("b.example", ProviderSpec { name: "p2", origin: false, cname: "a.example", enabled: true }),
            Op::AddCustomLine("office", vec!["10.0.0.0/8"]),
        ];
        for op in prelude.iter().chain(&ops) {
            let before = set.clone();
            let got = apply(&mut set, op);
            let want = reference.apply(op);
            match (&got, &want) {
                (Ok(()), Ok(())) => {}
                (Err(err), Err(Refusal::Exact(expected))) => {
                    prop_assert_eq!(err, expected, "{:?}", op);
                }
                (Err(err), Err(Refusal::Invalid(broken))) => {
                    // The model reports one of the invariants the change
                    // really breaks.
                    let kind = validation_kind(err);
                    prop_assert!(
                        kind.is_some_and(|k| broken.contains(k)),
                        "{:?}: model {:?}, reference finds {:?}", op, err, broken
                    );
                }
                _ => prop_assert!(false, "{:?}: model {:?}, reference {:?}", op, got, want),
            }
            if got.is_err() {
                prop_assert_eq!(&set, &before, "a failed operation changed the set: {:?}", op);
            }
            prop_assert_eq!(project(&set), reference.clone(), "after {:?}", op);
            check_invariants(&set)?;
        }
        // Whatever the operations built, config as code gives it back.
        prop_assert_eq!(&PolicySet::from_toml_str(&set.to_toml_string().unwrap()).unwrap(), &set);
        prop_assert_eq!(&PolicySet::from_json_str(&set.to_json_string().unwrap()).unwrap(), &set);
    }
}
