//! `steerage diff OLD NEW [--clients FILE]`: the plan read before a
//! gray-migration step. For every domain whose policy changed, the matrix
//! of client shares moving from provider to provider (overall and per
//! rule), the share unchanged, and for sticky policies the exact number of
//! client subnets (`/24`s of IPv4, listed clients) that switch provider.
//!
//! Clients of a sticky rule are pinned to a provider, so what moves is
//! exact: every subnet's old and new pick. A random rule pins nobody; for
//! its clients the matrix is the least movement between the old and the
//! new shares (what each provider loses goes to the providers that gain,
//! in proportion to their gain), which is the traffic that changes hands.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;
use steerage::Snapshot;
use steerage::geo::Locator;
use steerage::policy::PolicySet;

use crate::data::{self, DataArgs};
use crate::output::{self, FormatArg, Report, Table, count, percent};
use crate::shares::{self, Client, Dist, Evaluator, Family, Names, Sink, Space, Span};
use crate::simulate::{Families, rule_order, same_domain};
use crate::{CliError, Outcome};

/// Arguments of `steerage diff`.
#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    /// The configuration serving now (TOML or JSON).
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// The configuration to compare it with.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// Clients to weight by instead of the address space: one address or
    /// subnet a line, optionally followed by a count.
    #[arg(long, value_name = "FILE")]
    pub clients: Option<PathBuf>,
    /// Only this domain (repeatable); default: every domain that changed.
    #[arg(long = "domain", value_name = "DOMAIN")]
    pub domains: Vec<String>,
    /// The address families of the space walk (without `--clients`).
    #[arg(long, value_enum, default_value_t = Families::Both)]
    pub family: Families,
    /// The IP data.
    #[command(flatten)]
    pub data: DataArgs,
    /// The output format.
    #[command(flatten)]
    pub output: FormatArg,
}

/// Clients moving from one provider to another (or staying: `from == to`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Move {
    /// The provider before.
    pub from: String,
    /// The provider after.
    pub to: String,
    /// The clients.
    pub clients: f64,
    /// Their share of the clients of the matrix (all clients, or the
    /// rule's).
    pub share: f64,
}

/// The moves of the clients of one rule (before -> after).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuleMoves {
    /// The rule before.
    pub old_rule: String,
    /// The rule after.
    pub new_rule: String,
    /// Its clients.
    pub clients: f64,
    /// Their share of all clients.
    pub share: f64,
    /// The share of its clients that change provider.
    pub moved: f64,
    /// Every non-empty cell, as shares of the rule's clients.
    pub moves: Vec<Move>,
}

/// Subnets that switch provider, for sticky policies.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Switches {
    /// What a subnet is: `/24`, `/48` or `listed client`.
    pub subnet: &'static str,
    /// How many switch provider.
    pub switching: f64,
    /// How many there are in all.
    pub total: f64,
    /// Whether `switching` is estimated (sampled IPv6 ranges).
    pub estimated: bool,
}

/// One domain's diff over one population.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PopulationDiff {
    /// `ipv4`, `ipv6` or `clients`.
    pub population: &'static str,
    /// What a client is.
    pub unit: &'static str,
    /// The clients in all.
    pub clients: f64,
    /// The share of clients whose provider does not change.
    pub unchanged: f64,
    /// The share that changes provider.
    pub moved: f64,
    /// Every non-empty cell of the whole matrix, as shares of all clients.
    pub moves: Vec<Move>,
    /// Per rule (before -> after), those whose clients move.
    pub rules: Vec<RuleMoves>,
    /// For sticky policies (on either side).
    pub switches: Option<Switches>,
}

/// One changed domain.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DomainDiff {
    /// The domain.
    pub domain: String,
    /// `changed`, `added` or `removed`.
    pub change: &'static str,
    /// The selection mode before and after (`random`, `sticky`).
    pub modes: Option<(&'static str, &'static str)>,
    /// One entry per population.
    pub populations: Vec<PopulationDiff>,
}

/// The result of `steerage diff`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DiffReport {
    /// The configuration serving now.
    pub old: String,
    /// The one compared with it.
    pub new: String,
    /// The location data.
    pub data: String,
    /// Every changed domain, in domain order.
    pub domains: Vec<DomainDiff>,
}

/// Clients per `(from, to)` provider pair.
type Matrix = Vec<((u16, u16), f64)>;

/// A rule pair in report order: the rules' positions, then their names.
type RulePair = (usize, usize, String, String);

/// Adds up the flows between providers, per rule pair, and the switching
/// subnets.
#[derive(Debug, Default)]
struct Flows {
    /// `(old row, new row) -> (from, to) -> clients`, searched linearly
    /// (a domain has a few rules and providers; this runs per `/24`).
    cells: Vec<((u32, u32), Matrix)>,
    switching: f64,
    /// The last block counted as switching, so a `/24` cut into pieces
    /// counts once.
    last_switched: Option<(Family, u128)>,
    estimated: bool,
}

impl Flows {
    fn count_switch(&mut self, weight: f64, span: Span) {
        match span {
            Span::Blocks {
                family,
                first,
                last,
                sampled,
            } => {
                if sampled {
                    self.estimated = true;
                    self.switching += weight;
                    return;
                }
                let mut blocks = (last - first + 1) as f64;
                if self.last_switched == Some((family, first)) {
                    blocks -= 1.0;
                }
                self.switching += blocks;
                self.last_switched = Some((family, last));
            }
            Span::Whole { blocks, .. } => self.switching += blocks as f64,
            Span::Client(_) => self.switching += 1.0,
            Span::Cell => {}
        }
    }
}

/// The entry for `key`, added when missing.
fn entry<K: PartialEq, V: Default>(list: &mut Vec<(K, V)>, key: K) -> &mut V {
    let i = match list.iter().position(|(k, _)| *k == key) {
        Some(i) => i,
        None => {
            list.push((key, V::default()));
            list.len() - 1
        }
    };
    &mut list[i].1
}

impl Sink<2> for Flows {
    fn add(
        &mut self,
        weight: f64,
        span: Span,
        [(row_old, old), (row_new, new)]: [(u32, Dist<'_>); 2],
    ) {
        let cells = entry(&mut self.cells, (row_old, row_new));
        if let (Dist::One(a), Dist::One(b)) = (old, new) {
            *entry(cells, (a, b)) += weight;
            if a != b {
                self.count_switch(weight, span);
            }
            return;
        }
        // The least movement: each provider keeps min(old, new) of its
        // share; the losses go to the gains in proportion.
        let mut providers: Vec<u16> = Vec::with_capacity(4);
        old.each(|p, _| providers.push(p));
        new.each(|p, _| providers.push(p));
        providers.sort_unstable();
        providers.dedup();
        let mut losses: Vec<(u16, f64)> = Vec::new();
        let mut gains: Vec<(u16, f64)> = Vec::new();
        for &p in &providers {
            let (before, after) = (old.of(p), new.of(p));
            let kept = before.min(after);
            if kept > 0.0 {
                *entry(cells, (p, p)) += weight * kept;
            }
            if before > kept {
                losses.push((p, before - kept));
            }
            if after > kept {
                gains.push((p, after - kept));
            }
        }
        let gained: f64 = gains.iter().map(|g| g.1).sum();
        if gained > 0.0 {
            for &(from, loss) in &losses {
                for &(to, gain) in &gains {
                    *entry(cells, (from, to)) += weight * loss * gain / gained;
                }
            }
        }
    }
}

/// Domains to compare: those whose policy differs (every domain when the
/// built-in provider or the custom lines differ), added or removed.
fn changed_domains(old: &PolicySet, new: &PolicySet) -> Vec<(String, &'static str)> {
    let everything = old.builtin() != new.builtin() || !old.custom_lines().eq(new.custom_lines());
    let domains: BTreeSet<&str> = old
        .policies()
        .chain(new.policies())
        .map(|p| p.domain().as_str())
        .collect();
    domains
        .into_iter()
        .filter_map(|d| match (old.policy(d), new.policy(d)) {
            (Some(a), Some(b)) if everything || a != b => Some((d.to_owned(), "changed")),
            (Some(_), None) => Some((d.to_owned(), "removed")),
            (None, Some(_)) => Some((d.to_owned(), "added")),
            _ => None,
        })
        .collect()
}

/// Configurations and their snapshots on the same IP data.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// The configuration.
    pub set: &'a PolicySet,
    /// Its snapshot.
    pub snapshot: &'a Snapshot,
}

/// Who the shares are shares of (as for `simulate`).
pub use crate::simulate::Population;

/// The diff of every changed domain (or those in `only`).
pub fn diff(
    old: Side<'_>,
    new: Side<'_>,
    population: &Population,
    only: &[String],
) -> Vec<DomainDiff> {
    let space = match population {
        Population::Space(_) => Some(Space::zipped(old.snapshot, new.snapshot)),
        Population::Clients(_) => None,
    };
    let changed: Vec<(String, &'static str)> = changed_domains(old.set, new.set)
        .into_iter()
        .filter(|(d, _)| only.is_empty() || only.iter().any(|o| same_domain(o, d)))
        .collect();
    shares::par_map(&changed, |(domain, change)| {
        let (domain, change) = (domain.clone(), *change);
        let (Some(old_policy), Some(new_policy)) =
            (old.set.policy(&domain), new.set.policy(&domain))
        else {
            return DomainDiff {
                domain,
                change,
                modes: None,
                populations: Vec::new(),
            };
        };
        let evaluators = || {
            [
                Evaluator::new(old.snapshot, old_policy),
                Evaluator::new(new.snapshot, new_policy),
            ]
        };
        let modes = (old_policy.mode().as_str(), new_policy.mode().as_str());
        let sticky = modes.0 == "sticky" || modes.1 == "sticky";
        let sets = (old.set, new.set, domain.as_str());
        let populations = match (population, &space) {
            (Population::Space(families), Some(space)) => families
                .list()
                .iter()
                .map(|&family| {
                    let mut evaluators = evaluators();
                    let mut names = Names::default();
                    let mut flows = Flows::default();
                    let estimated =
                        shares::walk_space(&mut evaluators, &mut names, space, family, &mut flows);
                    flows.estimated |= estimated;
                    let (population, unit, subnet, subnets) = match family {
                        Family::V4 => ("ipv4", "address", "/24", 2f64.powi(24)),
                        Family::V6 => ("ipv6", "/48", "/48", 2f64.powi(45)),
                    };
                    population_diff(
                        sets,
                        &evaluators,
                        &names,
                        &flows,
                        (population, unit, space.total(family)),
                        sticky.then_some((subnet, subnets)),
                    )
                })
                .collect(),
            (Population::Clients(clients), _) => {
                let mut evaluators = evaluators();
                let mut names = Names::default();
                let mut flows = Flows::default();
                shares::walk_clients(&mut evaluators, &mut names, clients, &mut flows);
                let total: f64 = clients.iter().map(|c: &Client| c.count).sum();
                vec![population_diff(
                    sets,
                    &evaluators,
                    &names,
                    &flows,
                    ("clients", "listed client", total),
                    sticky.then_some(("listed client", clients.len() as f64)),
                )]
            }
            (Population::Space(_), None) => Vec::new(),
        };
        DomainDiff {
            domain,
            change,
            modes: Some(modes),
            populations,
        }
    })
}

fn population_diff(
    (old_set, new_set, domain): (&PolicySet, &PolicySet, &str),
    policies: &[Evaluator<'_>; 2],
    names: &Names,
    flows: &Flows,
    (population, unit, total): (&'static str, &'static str, f64),
    switches: Option<(&'static str, f64)>,
) -> PopulationDiff {
    let share = |c: f64, of: f64| if of > 0.0 { c / of } else { 0.0 };
    let name = |p: u16| names.all()[usize::from(p)].clone();
    let moves_of = |cells: &BTreeMap<(u16, u16), f64>, of: f64| -> Vec<Move> {
        let mut moves: Vec<Move> = cells
            .iter()
            .filter(|(_, c)| **c > 0.0)
            .map(|(&(from, to), &c)| Move {
                from: name(from),
                to: name(to),
                clients: c,
                share: share(c, of),
            })
            .collect();
        moves.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
        moves
    };
    let rule = |p: &Evaluator<'_>, row: u32| {
        p.rows()
            .get(row as usize)
            .map(|r| r.rule.clone())
            .unwrap_or_default()
    };
    // Rows are rule and line: add up the lines of each rule pair.
    let mut all: BTreeMap<(u16, u16), f64> = BTreeMap::new();
    let mut per_rule: BTreeMap<RulePair, BTreeMap<(u16, u16), f64>> = BTreeMap::new();
    for ((row_old, row_new), cells) in &flows.cells {
        let (old_rule, new_rule) = (rule(&policies[0], *row_old), rule(&policies[1], *row_new));
        let key = (
            rule_order(old_set, domain, &old_rule),
            rule_order(new_set, domain, &new_rule),
            old_rule,
            new_rule,
        );
        let pair = per_rule.entry(key).or_default();
        for (k, v) in cells {
            *all.entry(*k).or_default() += v;
            *pair.entry(*k).or_default() += v;
        }
    }
    let rules = per_rule
        .into_iter()
        .filter_map(|((_, _, old_rule, new_rule), cells)| {
            let clients: f64 = cells.values().sum();
            let moved: f64 = cells
                .iter()
                .filter(|((a, b), _)| a != b)
                .map(|(_, c)| c)
                .sum();
            (moved > 0.0).then(|| RuleMoves {
                old_rule,
                new_rule,
                clients,
                share: share(clients, total),
                moved: share(moved, clients),
                moves: moves_of(&cells, clients),
            })
        })
        .collect();
    let moved: f64 = all
        .iter()
        .filter(|((a, b), _)| a != b)
        .map(|(_, c)| c)
        .sum();
    PopulationDiff {
        population,
        unit,
        clients: total,
        unchanged: share(total - moved, total),
        moved: share(moved, total),
        moves: moves_of(&all, total),
        rules,
        switches: switches.map(|(subnet, subnets)| Switches {
            subnet,
            switching: flows.switching,
            total: subnets,
            estimated: flows.estimated,
        }),
    }
}

/// Runs `steerage diff`: a finding (exit status 1) when some client
/// changes provider or a domain is added or removed.
///
/// # Errors
/// When a configuration, the IP data or the client list does not load.
pub fn run(args: &DiffArgs) -> Result<Outcome, CliError> {
    let old_set = data::load_config(&args.old)?;
    let new_set = data::load_config(&args.new)?;
    let population = match &args.clients {
        Some(path) => Population::Clients(data::load_clients(path)?),
        None => Population::Space(args.family),
    };
    let data = args.data.load()?;
    let old_snapshot = data::compile(&old_set, &data, &args.old)?;
    let new_snapshot = data::compile(&new_set, &data, &args.new)?;
    let domains = diff(
        Side {
            set: &old_set,
            snapshot: &old_snapshot,
        },
        Side {
            set: &new_set,
            snapshot: &new_snapshot,
        },
        &population,
        &args.domains,
    );
    let finding = domains
        .iter()
        .any(|d| d.change != "changed" || d.populations.iter().any(|p| p.moved > 0.0));
    let report = DiffReport {
        old: args.old.display().to_string(),
        new: args.new.display().to_string(),
        data: new_snapshot.locations().describe(),
        domains,
    };
    output::emit(args.output.format, &report)?;
    Ok(Outcome::finding_if(finding))
}

fn matrix(moves: &[Move], out: &mut dyn Write, indent: usize) -> io::Result<()> {
    let from: BTreeSet<&str> = moves.iter().map(|m| m.from.as_str()).collect();
    let to: BTreeSet<&str> = moves.iter().map(|m| m.to.as_str()).collect();
    let mut table = Table::new(
        std::iter::once("from \\ to".to_owned()).chain(to.iter().map(|s| (*s).to_owned())),
    );
    for f in &from {
        table.row(std::iter::once((*f).to_owned()).chain(to.iter().map(|t| {
            percent(
                moves
                    .iter()
                    .find(|m| m.from == *f && m.to == *t)
                    .map_or(0.0, |m| m.share),
            )
        })));
    }
    table.write(out, indent)
}

impl Report for DiffReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "{} -> {}: locations from {}",
            self.old, self.new, self.data
        )?;
        if self.domains.is_empty() {
            writeln!(out, "no steered domain changed")?;
        }
        for d in &self.domains {
            writeln!(out)?;
            match (d.change, d.modes) {
                ("changed", Some((a, b))) if a == b => writeln!(out, "{} ({a} pick)", d.domain)?,
                ("changed", Some((a, b))) => writeln!(out, "{} ({a} pick -> {b} pick)", d.domain)?,
                (change, _) => writeln!(out, "{}: {change}", d.domain)?,
            }
            for p in &d.populations {
                let what = match p.population {
                    "ipv4" => "IPv4 addresses".to_owned(),
                    "ipv6" => "IPv6 /48s in 2000::/3".to_owned(),
                    _ => format!("listed clients ({} in all)", count(p.clients)),
                };
                writeln!(
                    out,
                    "  {what}: {} change provider, {} unchanged",
                    percent(p.moved),
                    percent(p.unchanged)
                )?;
                if let Some(s) = &p.switches {
                    let estimated = if s.estimated { " (estimated)" } else { "" };
                    writeln!(
                        out,
                        "  sticky: {} of {} {} subnets switch provider{estimated}",
                        count(s.switching),
                        count(s.total),
                        s.subnet
                    )?;
                }
                if p.moved <= 0.0 {
                    continue;
                }
                writeln!(out, "    all clients, from (rows) to (columns):")?;
                matrix(&p.moves, out, 6)?;
                for r in &p.rules {
                    let rule = if r.old_rule == r.new_rule {
                        format!("rule {}", r.old_rule)
                    } else {
                        format!("rule {} -> {}", r.old_rule, r.new_rule)
                    };
                    writeln!(
                        out,
                        "    {rule} ({} of clients): {} of its clients change provider",
                        percent(r.share),
                        percent(r.moved)
                    )?;
                    matrix(&r.moves, out, 6)?;
                }
            }
        }
        Ok(())
    }
}
