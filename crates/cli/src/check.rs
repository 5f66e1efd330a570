//! `steerage check CONFIG [--geo FILE]... [--asn FILE]...`: whether a
//! configuration (and the IP data, if given) would load and serve, before
//! it ships. Errors name the file and the line and column, or the policy,
//! rule and provider. Warnings, each naming the policy and rule (those about
//! lines only when IP data is given, as it will be served):
//!
//! - a line that can never match with the data given (an ISP line without
//!   ISP data, a subdivision line where the data has no subdivisions of that
//!   country, any line no address of the data is on);
//! - a rule shadowed by other rules: its lines match somewhere, but
//!   wherever they do, a more specific rule (or an earlier rule at the same
//!   level) answers, so it never does; found by compiling the configuration
//!   against the data and asking `select` for every location;
//! - a steered name at a zone apex (its parent is a public suffix, as
//!   `example.com`): a CNAME cannot stand at a zone apex, next to its SOA
//!   and NS records.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;
use steerage::Snapshot;
use steerage::geo::{Country, Line, Location, LocationId, Locator};
use steerage::policy::{Policy, PolicySet};

use crate::data::{self, DataArgs, IpData};
use crate::output::{self, FormatArg, Report};
use crate::{CliError, Outcome};

/// Arguments of `steerage check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The configuration (TOML or JSON).
    #[arg(value_name = "CONFIG")]
    pub config: PathBuf,
    /// Exit with status 0 when there are warnings but no error.
    #[arg(long)]
    pub allow_warnings: bool,
    /// The IP data.
    #[command(flatten)]
    pub data: DataArgs,
    /// The output format.
    #[command(flatten)]
    pub output: FormatArg,
}

/// One warning.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Warning {
    /// `never-matches`, `shadowed` or `zone-apex`.
    pub kind: &'static str,
    /// The policy (its domain).
    pub policy: String,
    /// The rule, when the warning is about one.
    pub rule: Option<String>,
    /// The line, when the warning is about one.
    pub line: Option<String>,
    /// What is wrong and why.
    pub message: String,
}

/// The result of `steerage check`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The configuration file.
    pub config: String,
    /// The IP data checked against (`None` when none was given: the
    /// lines are then not checked against data).
    pub data: Option<String>,
    /// Whether the configuration and the data load.
    pub valid: bool,
    /// Errors (each with its chain of causes).
    pub errors: Vec<String>,
    /// Warnings.
    pub warnings: Vec<Warning>,
    /// Steered domains.
    pub policies: usize,
    /// Rules, default rules not counted.
    pub rules: usize,
    /// Custom lines.
    pub custom_lines: usize,
}

/// Runs `steerage check`: a finding (exit status 1) for an error, or a
/// warning unless `--allow-warnings`.
///
/// # Errors
/// Only when standard output fails: a file that does not load is the
/// finding this command reports.
pub fn run(args: &CheckArgs) -> Result<Outcome, CliError> {
    let mut report = CheckReport {
        config: args.config.display().to_string(),
        data: None,
        valid: false,
        errors: Vec::new(),
        warnings: Vec::new(),
        policies: 0,
        rules: 0,
        custom_lines: 0,
    };
    let set = data::load_config(&args.config).map_err(|e| report.errors.push(e.chain()));
    let data = args.data.load().map_err(|e| report.errors.push(e.chain()));
    if let (Ok(set), Ok(data)) = (&set, &data) {
        report.policies = set.len();
        report.rules = set.policies().map(|p| p.rules().len()).sum();
        report.custom_lines = set.custom_lines().len();
        // Without data, the configuration still compiles against the
        // sample data (limits are checked), but lines are not checked
        // against data the configuration will not be served with.
        let given = !args.data.geo.is_empty() || !args.data.asn.is_empty();
        report.data = given.then(|| data.table.describe());
        match data::compile(set, data, &args.config) {
            Ok(snapshot) if given => {
                report.valid = true;
                report.warnings = warnings(set, data, &snapshot);
            }
            Ok(_) => {
                report.valid = true;
                report.warnings = apex_warnings(set);
            }
            Err(e) => report.errors.push(e.chain()),
        }
    } else if let Ok(set) = &set {
        // The data did not load: the configuration alone is still checked.
        report.policies = set.len();
        report.rules = set.policies().map(|p| p.rules().len()).sum();
        report.custom_lines = set.custom_lines().len();
        report.warnings = apex_warnings(set);
    }
    output::emit(args.output.format, &report)?;
    Ok(Outcome::finding_if(
        !report.errors.is_empty() || (!args.allow_warnings && !report.warnings.is_empty()),
    ))
}

/// Every warning for a configuration that loads and compiles.
pub fn warnings(set: &PolicySet, data: &IpData, snapshot: &Snapshot) -> Vec<Warning> {
    let locations = Locations::of(snapshot);
    let mut out = apex_warnings(set);
    for policy in set.policies() {
        out.extend(line_warnings(policy, data, &locations));
        out.extend(shadow_warnings(policy, snapshot, &locations));
    }
    out
}

/// The locations the data places some address at, each with one of its
/// addresses.
struct Locations<'a> {
    used: Vec<(LocationId, &'a Location, IpAddr)>,
}

impl<'a> Locations<'a> {
    fn of(snapshot: &'a Snapshot) -> Self {
        let table = snapshot.locations();
        let mut seen: HashMap<LocationId, IpAddr> = HashMap::new();
        for (start, _, id) in table.ranges_v4() {
            seen.entry(id).or_insert(IpAddr::V4(start));
        }
        for (start, _, id) in table.ranges_v6() {
            seen.entry(id).or_insert(IpAddr::V6(start));
        }
        let mut used: Vec<(LocationId, &Location, IpAddr)> = seen
            .into_iter()
            .map(|(id, ip)| (id, table.location(id), ip))
            .collect();
        used.sort_by_key(|(id, _, _)| *id);
        Self { used }
    }

    fn any(&self, f: impl Fn(&Location) -> bool) -> bool {
        self.used.iter().any(|(_, l, _)| f(l))
    }
}

fn apex_warnings(set: &PolicySet) -> Vec<Warning> {
    set.policies()
        .filter_map(|policy| {
            let domain = policy.domain().as_str();
            (psl::domain_str(domain) == Some(domain)).then(|| Warning {
                kind: "zone-apex",
                policy: domain.to_owned(),
                rule: None,
                line: None,
                message: format!(
                    "`{domain}` is a zone apex (its parent `{}` is a public suffix): \
                     a CNAME cannot stand at an apex beside its SOA and NS records; \
                     steer a name below it (`www.{domain}`)",
                    psl::suffix_str(domain).unwrap_or("")
                ),
            })
        })
        .collect()
}

/// The country a line's subdivision belongs to, for subdivision lines.
fn subdivision_country(line: &Line) -> Option<Country> {
    match line {
        Line::Subdivision(s) | Line::SubdivisionIsp(s, _) => Some(s.country()),
        _ => None,
    }
}

fn is_isp_line(line: &Line) -> bool {
    matches!(line, Line::CountryIsp(..) | Line::SubdivisionIsp(..))
}

fn line_warnings(policy: &Policy, data: &IpData, locations: &Locations<'_>) -> Vec<Warning> {
    let mut out = Vec::new();
    for rule in policy.rules() {
        for line in rule.lines() {
            if locations.any(|l| line.matches(l)) {
                continue;
            }
            let why = if is_isp_line(line) && !data.has_isp_data() {
                "no ISP data is given (pass ASN data with `--asn`)".to_owned()
            } else if let Some(country) = subdivision_country(line)
                .filter(|c| !locations.any(|l| l.subdivision.is_some_and(|s| s.country() == *c)))
            {
                format!(
                    "the IP data has no subdivisions of {} ({})",
                    country.code(),
                    country.name()
                )
            } else if is_isp_line(line) {
                "no address of the IP data is both on this line's region and its ISP".to_owned()
            } else {
                "no address of the IP data is on this line".to_owned()
            };
            out.push(Warning {
                kind: "never-matches",
                policy: policy.domain().to_string(),
                rule: Some(rule.name().to_string()),
                line: Some(line.to_string()),
                message: format!("line `{line}` can never match: {why}"),
            });
        }
    }
    out
}

fn shadow_warnings(
    policy: &Policy,
    snapshot: &Snapshot,
    locations: &Locations<'_>,
) -> Vec<Warning> {
    let domain = policy.domain().as_str();
    if !policy.is_enabled() {
        return Vec::new();
    }
    // The rule answering each location, from the compiled snapshot.
    let answering: Vec<(&Location, String)> = locations
        .used
        .iter()
        .filter_map(|(_, l, ip)| {
            snapshot
                .select(domain, *ip)
                .map(|d| (*l, d.rule().to_owned()))
        })
        .collect();
    let mut out = Vec::new();
    for rule in policy.rules() {
        let live = rule.targets().iter().any(|t| {
            t.weight().get() > 0
                && policy
                    .provider(t.provider().as_str())
                    .is_none_or(|p| p.is_enabled())
        });
        if !rule.is_enabled() || !live {
            continue;
        }
        let name = rule.name().as_str();
        let mut matched = false;
        let mut winners = BTreeSet::new();
        for (location, answer) in &answering {
            if !rule.lines().iter().any(|l| l.matches(location)) {
                continue;
            }
            matched = true;
            if answer == name {
                winners.clear();
                break;
            }
            winners.insert(answer.as_str());
        }
        if matched && !winners.is_empty() {
            let list: Vec<String> = winners.iter().map(|w| format!("`{w}`")).collect();
            out.push(Warning {
                kind: "shadowed",
                policy: domain.to_owned(),
                rule: Some(name.to_owned()),
                line: None,
                message: format!(
                    "never answers: wherever its lines match, {} answers \
                     (a more specific line, or an earlier rule at the same level)",
                    list.join(", ")
                ),
            });
        }
    }
    out
}

impl Report for CheckReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        for e in &self.errors {
            writeln!(out, "error: {e}")?;
        }
        for w in &self.warnings {
            let mut at = format!("policy `{}`", w.policy);
            if let Some(rule) = &w.rule {
                at.push_str(&format!(", rule `{rule}`"));
            }
            writeln!(out, "warning: {}: {at}: {}", self.config, w.message)?;
        }
        if self.valid || self.errors.is_empty() {
            let data = self.data.as_deref().map_or_else(
                || ", lines not checked: no IP data given (--geo, --asn)".to_owned(),
                |d| format!(", checked against {d}"),
            );
            writeln!(
                out,
                "{}: {} ({}, {}, {}{data}); {}, {}",
                self.config,
                if self.errors.is_empty() {
                    "valid"
                } else {
                    "invalid"
                },
                plural(self.policies, "steered domain"),
                plural(self.rules, "rule"),
                plural(self.custom_lines, "custom line"),
                plural(self.errors.len(), "error"),
                plural(self.warnings.len(), "warning"),
            )?;
        } else {
            writeln!(
                out,
                "{}: {}, {}",
                self.config,
                plural(self.errors.len(), "error"),
                plural(self.warnings.len(), "warning"),
            )?;
        }
        Ok(())
    }
}

/// `1 rule`, `2 rules`.
fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
