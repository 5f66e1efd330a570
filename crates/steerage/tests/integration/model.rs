//! Random sequences of changes, valid and invalid, applied through
//! `Steering::apply` and to a plain copy of the configuration: after every
//! change the two agree, a refused change and one that changes nothing
//! publish nothing, and the incrementally compiled snapshot answers every
//! sample client exactly as a snapshot compiled from scratch does.

use std::sync::Arc;

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::FileFailurePersistence;
use steerage::Snapshot;
use steerage::geo::{LocationTable, SAMPLE_RANGES};
use steerage::policy::{PolicyError, PolicySet, ProviderKind, SelectionMode, Ttl};
use steerage::{Steering, SteeringError};

use crate::fixtures::{DOMAIN, design_set, provider, rule, target};

const DOMAINS: [&str; 3] = [DOMAIN, "img.example.com", "api.example.com"];
const PROVIDERS: [&str; 4] = ["origin", "vendor-a", "vendor-b", "builtin"];
const RULES: [&str; 4] = ["beijing", "china-mainland", "extra", "default"];
const LINES: [&str; 7] = [
    "CN-GD",
    "CN/telecom",
    "continent:EU",
    "US",
    "JP",
    "CN-BJ",
    "CN",
];

/// One console operation.
#[derive(Debug, Clone)]
enum Op {
    Create(&'static str),
    Enable(&'static str),
    Disable(&'static str),
    Delete(&'static str),
    Ttl(&'static str, u32),
    DisableRule(&'static str, &'static str),
    EnableRule(&'static str, &'static str),
    DeleteRule(&'static str, &'static str),
    AddRule(&'static str, &'static str, Vec<(&'static str, u16)>),
    DisableProvider(&'static str, &'static str),
    EnableProvider(&'static str, &'static str),
    DeleteProvider(&'static str, &'static str),
    Cname(&'static str, &'static str, u8),
    Default(&'static str, Vec<(&'static str, u16)>),
}

impl Op {
    fn run(&self, set: &mut PolicySet) -> Result<(), PolicyError> {
        match self {
            Self::Create(d) => {
                set.create_policy(d)?;
                // Sticky picks are deterministic, so decisions can be compared.
                set.set_mode(d, SelectionMode::Sticky)?;
                for p in ["origin", "vendor-a", "vendor-b"] {
                    set.add_provider(
                        d,
                        provider(p, ProviderKind::Cdn, &format!("{p}.cdn.example")),
                    )?;
                }
                Ok(())
            }
            Self::Enable(d) => set.enable_policy(d),
            Self::Disable(d) => set.disable_policy(d),
            Self::Delete(d) => set.delete_policy(d).map(drop),
            Self::Ttl(d, ttl) => set.set_ttl(d, Ttl::new(*ttl)?),
            Self::DisableRule(d, r) => set.disable_rule(d, r),
            Self::EnableRule(d, r) => set.enable_rule(d, r),
            Self::DeleteRule(d, r) => set.delete_rule(d, r).map(drop),
            Self::AddRule(d, line, targets) => set.add_rule(d, rule("extra", &[line], targets)),
            Self::DisableProvider(d, p) => set.disable_provider(d, p),
            Self::EnableProvider(d, p) => set.enable_provider(d, p),
            Self::DeleteProvider(d, p) => set.delete_provider(d, p).map(drop),
            Self::Cname(d, p, n) => {
                let cname = format!("{p}{n}.cdn.example");
                set.update_provider(d, p, provider(p, ProviderKind::Cdn, &cname))
            }
            Self::Default(d, targets) => {
                set.set_default_targets(d, targets.iter().map(|&(p, w)| target(p, w)).collect())
            }
        }
    }
}

fn targets() -> impl Strategy<Value = Vec<(&'static str, u16)>> {
    proptest::sample::subsequence(PROVIDERS.to_vec(), 1..=3).prop_flat_map(|providers| {
        let n = providers.len();
        (Just(providers), proptest::collection::vec(0..3_u16, n))
            .prop_map(|(p, w)| p.into_iter().zip(w).collect())
    })
}

fn op() -> impl Strategy<Value = Op> {
    let d = || select(DOMAINS.to_vec());
    let r = || select(RULES.to_vec());
    let p = || select(PROVIDERS.to_vec());
    prop_oneof![
        d().prop_map(Op::Create),
        d().prop_map(Op::Enable),
        d().prop_map(Op::Disable),
        d().prop_map(Op::Delete),
        (d(), 0..700_u32).prop_map(|(d, t)| Op::Ttl(d, t)),
        (d(), r()).prop_map(|(d, r)| Op::DisableRule(d, r)),
        (d(), r()).prop_map(|(d, r)| Op::EnableRule(d, r)),
        (d(), r()).prop_map(|(d, r)| Op::DeleteRule(d, r)),
        (d(), select(LINES.to_vec()), targets()).prop_map(|(d, l, t)| Op::AddRule(d, l, t)),
        (d(), p()).prop_map(|(d, p)| Op::DisableProvider(d, p)),
        (d(), p()).prop_map(|(d, p)| Op::EnableProvider(d, p)),
        (d(), p()).prop_map(|(d, p)| Op::DeleteProvider(d, p)),
        (d(), p(), 0..4_u8).prop_map(|(d, p, n)| Op::Cname(d, p, n)),
        (d(), targets()).prop_map(|(d, t)| Op::Default(d, t)),
    ]
}

/// The design example and two more policies, all in sticky mode.
fn start() -> PolicySet {
    let mut set = design_set();
    set.set_mode(DOMAIN, SelectionMode::Sticky).unwrap();
    for domain in &DOMAINS[1..] {
        Op::Create(domain).run(&mut set).unwrap();
        Op::AddRule(domain, "CN", vec![("vendor-a", 2), ("vendor-b", 1)])
            .run(&mut set)
            .unwrap();
    }
    set
}

/// Every sample client's decision for every domain, as
/// (provider, cname, rule, line, ttl, scope).
fn decisions(select: impl Fn(&str, std::net::IpAddr) -> Option<String>) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for domain in DOMAINS {
        for range in SAMPLE_RANGES {
            out.push(select(domain, range.client));
        }
        out.push(select(domain, "8.8.8.8".parse().unwrap()));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/model.txt",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn apply_agrees_with_the_model_and_a_fresh_compile(
        changes in proptest::collection::vec(proptest::collection::vec(op(), 1..=3), 1..=24)
    ) {
        let table = Arc::new(LocationTable::sample());
        let steering = Steering::builder()
            .config(start())
            .locations(Arc::clone(&table))
            .build()
            .unwrap();
        for ops in changes {
            let before = (steering.version(), steering.config());
            let mut model = (*before.1).clone();
            let expected = ops.iter().try_for_each(|op| op.run(&mut model));
            let result = steering.apply(|set| ops.iter().try_for_each(|op| op.run(set)));
            match (expected, result) {
                // A change publishes a version exactly when it changed
                // something.
                (Ok(()), Ok(version)) if model == *before.1 => {
                    prop_assert_eq!(version, before.0);
                    prop_assert_eq!(steering.version(), before.0);
                    prop_assert!(Arc::ptr_eq(&steering.config(), &before.1));
                }
                (Ok(()), Ok(version)) => {
                    prop_assert_eq!(version, before.0 + 1);
                    prop_assert_eq!(&*steering.config(), &model);
                }
                (Err(e), Err(SteeringError::Policy(got))) => {
                    prop_assert_eq!(got, e);
                    prop_assert_eq!(steering.version(), before.0);
                    prop_assert!(Arc::ptr_eq(&steering.config(), &before.1));
                }
                (expected, result) => {
                    prop_assert!(false, "{:?}: model {:?}, steering {:?}", ops, expected, result);
                }
            }

            // The incrementally compiled snapshot answers like a fresh one.
            let config = steering.config();
            let fresh = Snapshot::compile(&config, Arc::clone(&table), steering.version()).unwrap();
            let show = |d: steerage::Decision<'_>| {
                format!(
                    "{} {} {} {:?} {} /{}",
                    d.provider(), d.cname(), d.rule(), d.line(), d.ttl(), d.scope_prefix()
                )
            };
            let served = decisions(|d, ip| steering.select(d, ip).map(|s| {
                format!(
                    "{} {} {} {:?} {} /{}",
                    s.provider(), s.cname(), s.rule(), s.line(), s.ttl(), s.scope_prefix()
                )
            }));
            let compiled = decisions(|d, ip| fresh.select(d, ip).map(show));
            prop_assert_eq!(served, compiled, "after {:?}", ops);
        }
    }
}
