//! A change that changes nothing publishes nothing: `apply` and `reload`
//! return the current version and readers keep the very same snapshot,
//! while a real change still publishes the next version.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use steerage::geo::LocationTable;
use steerage::policy::{
    CustomLine, Format, PolicyError, PolicySet, ProviderKind, SelectionMode, Ttl,
};
use steerage::{SnapshotGuard, Steering};

use crate::fixtures::{
    BUILTIN_CNAME, DOMAIN, client, design_set, design_steering, provider, rule, steering_on, target,
};

/// What serves now: the version, the snapshot and the configuration.
struct Serving {
    version: u64,
    snapshot: SnapshotGuard,
    config: Arc<PolicySet>,
}

fn serving(steering: &Steering) -> Serving {
    Serving {
        version: steering.version(),
        snapshot: steering.snapshot(),
        config: steering.config(),
    }
}

/// `returned` is the version before, and the very same snapshot and
/// configuration still serve.
fn assert_kept(steering: &Steering, before: &Serving, returned: u64) {
    assert_eq!(returned, before.version);
    assert_eq!(steering.version(), before.version);
    assert!(SnapshotGuard::ptr_eq(
        &steering.snapshot(),
        &before.snapshot
    ));
    assert!(Arc::ptr_eq(&steering.config(), &before.config));
}

/// `returned` is the next version, and a new snapshot of it serves.
fn assert_published(steering: &Steering, before: &Serving, returned: u64) {
    assert_eq!(returned, before.version + 1);
    assert_eq!(steering.version(), returned);
    assert_eq!(steering.snapshot().version(), returned);
    assert!(!SnapshotGuard::ptr_eq(
        &steering.snapshot(),
        &before.snapshot
    ));
}

#[test]
fn an_apply_that_does_nothing_keeps_the_version_and_the_snapshot() {
    let steering = design_steering();
    let before = serving(&steering);
    let version = steering.apply(|_| Ok(())).unwrap();
    assert_kept(&steering, &before, version);
    assert_eq!(
        steering.select(DOMAIN, client("DE")).unwrap().version(),
        before.version
    );
}

#[test]
fn a_real_change_publishes_the_next_version() {
    let steering = design_steering();
    let before = serving(&steering);
    let version = steering
        .apply(|set| set.set_ttl(DOMAIN, Ttl::new(30)?))
        .unwrap();
    assert_published(&steering, &before, version);
    let selection = steering.select(DOMAIN, client("DE")).unwrap();
    assert_eq!((selection.ttl(), selection.version()), (30, version));
}

type Change = Box<dyn Fn(&mut PolicySet) -> Result<(), PolicyError>>;

/// Console operations that set what the design example already has, and
/// changes undone within the same `apply`.
fn changes_to_what_is() -> Vec<(&'static str, Change)> {
    vec![
        (
            "enable an enabled policy",
            Box::new(|set| set.enable_policy(DOMAIN)),
        ),
        (
            "the same TTL",
            Box::new(|set| set.set_ttl(DOMAIN, Ttl::new(600)?)),
        ),
        (
            "the same mode",
            Box::new(|set| set.set_mode(DOMAIN, SelectionMode::Random)),
        ),
        (
            "the same seed",
            Box::new(|set| {
                let seed = set.policy(DOMAIN).map(|p| p.seed()).unwrap_or_default();
                set.set_seed(DOMAIN, seed)
            }),
        ),
        (
            "enable an enabled rule",
            Box::new(|set| set.enable_rule(DOMAIN, "beijing")),
        ),
        (
            "enable an enabled provider",
            Box::new(|set| set.enable_provider(DOMAIN, "vendor-a")),
        ),
        (
            "the same rule",
            Box::new(|set| {
                let same = rule(
                    "china-mainland",
                    &["CN"],
                    &[("vendor-a", 70), ("builtin", 30)],
                );
                set.update_rule(DOMAIN, "china-mainland", same)
            }),
        ),
        (
            "the same provider",
            Box::new(|set| {
                let same = provider("vendor-b", ProviderKind::Cdn, "b.cdn.example");
                set.update_provider(DOMAIN, "vendor-b", same)
            }),
        ),
        (
            "the same default targets",
            Box::new(|set| set.set_default_targets(DOMAIN, vec![target("vendor-b", 100)])),
        ),
        (
            "disable and enable again",
            Box::new(|set| {
                set.disable_policy(DOMAIN)?;
                set.enable_policy(DOMAIN)
            }),
        ),
        (
            "a TTL changed and changed back",
            Box::new(|set| {
                set.set_ttl(DOMAIN, Ttl::new(30)?)?;
                set.set_ttl(DOMAIN, Ttl::new(600)?)
            }),
        ),
        (
            "a policy created and deleted",
            Box::new(|set| {
                set.create_policy("img.example.com")?;
                set.disable_policy("img.example.com")?;
                set.delete_policy("img.example.com").map(drop)
            }),
        ),
        (
            "a custom line added and deleted",
            Box::new(|set| {
                set.add_custom_line(office(&["198.18.9.0/24"]))?;
                set.delete_custom_line("office").map(drop)
            }),
        ),
    ]
}

fn office(prefixes: &[&str]) -> CustomLine {
    CustomLine::new(
        "office".parse().unwrap(),
        prefixes.iter().map(|p| p.parse().unwrap()).collect(),
    )
    .unwrap()
}

#[test]
fn an_apply_setting_values_to_what_they_are_keeps_the_version() {
    let steering = design_steering();
    for (what, change) in changes_to_what_is() {
        let before = serving(&steering);
        let version = steering.apply(|set| change(set)).unwrap();
        assert_eq!(version, before.version, "{what}");
        assert_kept(&steering, &before, version);
    }
    // The same after a real change, against the set it published.
    let before = serving(&steering);
    let version = steering
        .apply(|set| set.disable_rule(DOMAIN, "beijing"))
        .unwrap();
    assert_published(&steering, &before, version);
    let before = serving(&steering);
    let version = steering
        .apply(|set| set.disable_rule(DOMAIN, "beijing"))
        .unwrap();
    assert_kept(&steering, &before, version);
    assert_eq!(
        steering
            .select(DOMAIN, client("CN-BJ/telecom"))
            .unwrap()
            .rule(),
        "china-mainland"
    );
}

#[test]
fn custom_lines_count_as_configuration() {
    let steering = design_steering();
    let before = serving(&steering);
    let version = steering
        .apply(|set| set.add_custom_line(office(&["198.18.9.0/24"])))
        .unwrap();
    assert_published(&steering, &before, version);

    let before = serving(&steering);
    let version = steering
        .apply(|set| set.update_custom_line(office(&["198.18.9.0/24"])))
        .unwrap();
    assert_kept(&steering, &before, version);

    let version = steering
        .apply(|set| set.update_custom_line(office(&["198.18.9.0/25"])))
        .unwrap();
    assert_published(&steering, &before, version);
}

/// The design example plus `fillers` policies of their own, so that a
/// change touches one policy in many.
fn large_set(fillers: usize) -> PolicySet {
    let mut set = design_set();
    for i in 0..fillers {
        set.create_policy(&format!("p{i}.example.net")).unwrap();
    }
    set
}

#[test]
fn one_policy_in_a_thousand_set_to_what_it_is_keeps_the_version() {
    let steering = Steering::builder()
        .config(large_set(1_000))
        .locations(LocationTable::sample())
        .build()
        .unwrap();
    for domain in ["p0.example.net", "p500.example.net", "p999.example.net"] {
        let before = serving(&steering);
        let version = steering
            .apply(|set| set.set_ttl(domain, Ttl::new(600)?))
            .unwrap();
        assert_kept(&steering, &before, version);
        let version = steering
            .apply(|set| set.set_ttl(domain, Ttl::new(60)?))
            .unwrap();
        assert_published(&steering, &before, version);
    }
}

fn write(path: &Path, set: &PolicySet) {
    let format = Format::from_path(path).unwrap();
    fs::write(path, set.to_string_in(format).unwrap()).unwrap();
}

#[test]
fn reloading_an_unchanged_file_keeps_the_version_and_a_changed_one_bumps_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steering.toml");
    write(&path, &design_set());
    let steering = steering_on(&path);

    let before = serving(&steering);
    let version = steering.reload().unwrap();
    assert_kept(&steering, &before, version);

    // Only the layout changed: a comment and blank lines.
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, format!("# edited by hand\n\n{text}\n\n")).unwrap();
    let version = steering.reload().unwrap();
    assert_kept(&steering, &before, version);

    let mut edited = design_set();
    edited.set_ttl(DOMAIN, Ttl::new(30).unwrap()).unwrap();
    write(&path, &edited);
    let version = steering.reload().unwrap();
    assert_published(&steering, &before, version);
    assert_eq!(*steering.config(), edited);
    assert_eq!(steering.select(DOMAIN, client("DE")).unwrap().ttl(), 30);

    let before = serving(&steering);
    let version = steering.reload().unwrap();
    assert_kept(&steering, &before, version);

    // The built-in provider is configuration too: the same policies with
    // another built-in CNAME.
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(text.matches(BUILTIN_CNAME).count(), 1, "{text}");
    fs::write(&path, text.replace(BUILTIN_CNAME, "edge2.steerage.example")).unwrap();
    let version = steering.reload().unwrap();
    assert_published(&steering, &before, version);
    assert!(steering.config().policies().eq(before.config.policies()));
    steering.apply(|set| set.disable_policy(DOMAIN)).unwrap();
    assert_eq!(
        steering.select(DOMAIN, client("DE")).unwrap().cname(),
        "edge2.steerage.example"
    );

    // A change after a reload that published nothing compiles as usual.
    write(&path, &steering.config());
    let before = serving(&steering);
    assert_kept(&steering, &before, steering.reload().unwrap());
    let version = steering.apply(|set| set.enable_policy(DOMAIN)).unwrap();
    assert_published(&steering, &before, version);
    assert_eq!(
        steering.select(DOMAIN, client("DE")).unwrap().provider(),
        "vendor-b"
    );
}

#[test]
fn reloading_a_large_unchanged_file_keeps_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steering.json");
    let set = large_set(1_000);
    write(&path, &set);
    let steering = steering_on(&path);
    let before = serving(&steering);
    assert_kept(&steering, &before, steering.reload().unwrap());

    // One policy of the thousand differs, the last in domain order.
    let mut edited = set;
    edited
        .set_mode("www.example.com", SelectionMode::Sticky)
        .unwrap();
    write(&path, &edited);
    assert_published(&steering, &before, steering.reload().unwrap());
    assert_eq!(*steering.config(), edited);
}

/// One console operation: most set values the configuration may already
/// have, so that sequences mix changes with non-changes.
#[derive(Debug, Clone)]
enum Op {
    Ttl(u32),
    Enabled(bool),
    BeijingEnabled(bool),
    ChinaWeight(u16),
    Mode(SelectionMode),
    /// Policy `i` of the fillers gets this TTL.
    FillerTtl(usize, u32),
    Nothing,
}

impl Op {
    fn run(&self, set: &mut PolicySet) -> Result<(), PolicyError> {
        match *self {
            Self::Ttl(ttl) => set.set_ttl(DOMAIN, Ttl::new(ttl)?),
            Self::Enabled(true) => set.enable_policy(DOMAIN),
            Self::Enabled(false) => set.disable_policy(DOMAIN),
            Self::BeijingEnabled(true) => set.enable_rule(DOMAIN, "beijing"),
            Self::BeijingEnabled(false) => set.disable_rule(DOMAIN, "beijing"),
            Self::ChinaWeight(w) => set.update_rule(
                DOMAIN,
                "china-mainland",
                rule(
                    "china-mainland",
                    &["CN"],
                    &[("vendor-a", w), ("builtin", 100 - w)],
                ),
            ),
            Self::Mode(mode) => set.set_mode(DOMAIN, mode),
            Self::FillerTtl(i, ttl) => set.set_ttl(&format!("p{i}.example.net"), Ttl::new(ttl)?),
            Self::Nothing => Ok(()),
        }
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        prop_oneof![Just(600_u32), Just(30)].prop_map(Op::Ttl),
        any::<bool>().prop_map(Op::Enabled),
        any::<bool>().prop_map(Op::BeijingEnabled),
        prop_oneof![Just(70_u16), Just(60)].prop_map(Op::ChinaWeight),
        prop_oneof![Just(SelectionMode::Random), Just(SelectionMode::Sticky)].prop_map(Op::Mode),
        (0..FILLERS, prop_oneof![Just(600_u32), Just(30)])
            .prop_map(|(i, ttl)| Op::FillerTtl(i, ttl)),
        Just(Op::Nothing),
    ]
}

/// Filler policies in the property test's set: enough that a one-policy
/// change is found by domain, not by a walk of the set.
const FILLERS: usize = 200;

/// One step: operations run by `apply`, or written into the config file
/// (applied to the serving configuration) and `reload`ed.
fn step() -> impl Strategy<Value = (bool, Vec<Op>)> {
    (any::<bool>(), proptest::collection::vec(op(), 1..=3))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/no_op_changes.txt",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn versions_rise_exactly_on_real_changes(steps in proptest::collection::vec(step(), 1..=24)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steering.toml");
        write(&path, &large_set(FILLERS));
        let steering = steering_on(&path);
        let mut expected = steering.version();
        for (reload, ops) in steps {
            let before = serving(&steering);
            let mut model = (*before.config).clone();
            ops.iter().try_for_each(|op| op.run(&mut model)).unwrap();
            let changed = model != *before.config;
            let version = if reload {
                write(&path, &model);
                steering.reload().unwrap()
            } else {
                steering.apply(|set| ops.iter().try_for_each(|op| op.run(set))).unwrap()
            };
            expected += u64::from(changed);
            prop_assert_eq!(version, expected, "{:?} (reload: {})", ops, reload);
            prop_assert_eq!(steering.version(), expected);
            prop_assert_eq!(&*steering.config(), &model);
            prop_assert_eq!(
                SnapshotGuard::ptr_eq(&steering.snapshot(), &before.snapshot),
                !changed
            );
            prop_assert_eq!(
                steering.select(DOMAIN, client("DE")).unwrap().version(),
                expected
            );
        }
    }
}
