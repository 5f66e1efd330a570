//! `steerage simulate CONFIG [--clients FILE]`: per domain, per rule and
//! line, the share of clients each provider gets. Without `--clients`, over
//! the whole IPv4 space by address (exactly, range by range of the compiled
//! location table) and the global IPv6 space by `/48`; with it, over the
//! listed clients, weighted by their counts. `random` rules give their
//! exact expected shares, `sticky` rules the shares their hash really
//! produces (see [`crate::shares`] for how).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::Serialize;
use steerage::Snapshot;
use steerage::geo::Locator;
use steerage::policy::{Policy, PolicySet};

use crate::data::{self, DataArgs};
use crate::output::{self, FormatArg, Report, Table, count, percent};
use crate::shares::{self, Client, Dist, Evaluator, Family, Names, Sink, Space, Span};
use crate::{CliError, Outcome};

/// Which address families the space walk covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Families {
    /// IPv4 by address.
    Ipv4,
    /// IPv6 (`2000::/3`) by `/48`.
    Ipv6,
    /// Both, reported apart.
    #[default]
    Both,
}

impl Families {
    /// The families, in report order.
    pub fn list(self) -> &'static [Family] {
        match self {
            Self::Ipv4 => &[Family::V4],
            Self::Ipv6 => &[Family::V6],
            Self::Both => &[Family::V4, Family::V6],
        }
    }
}

/// Arguments of `steerage simulate`.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// The configuration (TOML or JSON).
    #[arg(value_name = "CONFIG")]
    pub config: PathBuf,
    /// Clients to weight by instead of the address space: one address or
    /// subnet a line, optionally followed by a count (`203.0.113.0/24
    /// 1500`), as resolver or ECS logs give them.
    #[arg(long, value_name = "FILE")]
    pub clients: Option<PathBuf>,
    /// Only this domain (repeatable); default: every steered domain.
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

/// Who the shares are shares of.
#[derive(Debug, Clone)]
pub enum Population {
    /// The address space of these families.
    Space(Families),
    /// A client list.
    Clients(Vec<Client>),
}

/// A provider's clients and share of the population.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProviderShare {
    /// The provider.
    pub provider: String,
    /// Its clients (addresses, `/48`s or listed clients; expected values for
    /// random picks).
    pub clients: f64,
    /// Its share of the whole population.
    pub share: f64,
    /// Its share of the row's clients (of the whole population for a
    /// domain's totals).
    pub share_of_row: f64,
}

/// One rule and line.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RowShares {
    /// The rule (`default`, or `(disabled)` for a disabled policy).
    pub rule: String,
    /// The line that matched.
    pub line: Option<String>,
    /// Its clients.
    pub clients: f64,
    /// Its share of the population.
    pub share: f64,
    /// Where its clients go, as shares of the whole population.
    pub providers: Vec<ProviderShare>,
}

/// The shares of one domain over one population.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PopulationShares {
    /// `ipv4`, `ipv6` or `clients`.
    pub population: &'static str,
    /// What a client is: `address`, `/48` or `listed client`.
    pub unit: &'static str,
    /// The clients in all.
    pub clients: f64,
    /// Whether some shares are estimated (sticky rules over IPv6 ranges
    /// too large to enumerate).
    pub estimated: bool,
    /// Per rule and line, in the policy's rule order.
    pub rows: Vec<RowShares>,
    /// Per provider, over all rows.
    pub providers: Vec<ProviderShare>,
}

/// One domain's simulation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DomainShares {
    /// The domain.
    pub domain: String,
    /// `random` or `sticky`.
    pub mode: &'static str,
    /// Whether the policy is enabled.
    pub enabled: bool,
    /// One entry per population (IPv4 and IPv6 apart).
    pub populations: Vec<PopulationShares>,
}

/// The result of `steerage simulate`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SimulateReport {
    /// The configuration file.
    pub config: String,
    /// The location data.
    pub data: String,
    /// One entry per domain simulated, in domain order.
    pub domains: Vec<DomainShares>,
}

/// Adds up clients per row and provider.
#[derive(Debug, Default)]
struct Tally {
    /// `[row][provider]`.
    cells: Vec<Vec<f64>>,
}

impl Sink<1> for Tally {
    fn add(&mut self, weight: f64, _span: Span, [(row, dist)]: [(u32, Dist<'_>); 1]) {
        let row = row as usize;
        if self.cells.len() <= row {
            self.cells.resize_with(row + 1, Vec::new);
        }
        let cells = &mut self.cells[row];
        dist.each(|p, w| {
            let p = usize::from(p);
            if cells.len() <= p {
                cells.resize(p + 1, 0.0);
            }
            cells[p] += weight * w;
        });
    }

    /// Shares only: a location whose rules hash nothing is one piece.
    fn counts_subnets(&self) -> bool {
        false
    }
}

/// The position of a rule in its policy, for the report's row order:
/// configured rules in order, then `default`, then anything else.
pub(crate) fn rule_order(set: &PolicySet, domain: &str, rule: &str) -> usize {
    let rules = set.policy(domain).map(|p| p.rules()).unwrap_or_default();
    rules
        .iter()
        .position(|r| r.name().as_str() == rule)
        .unwrap_or(if rule == "default" {
            rules.len()
        } else {
            rules.len() + 1
        })
}

/// Simulates every domain of `set` (or those in `only`) compiled in
/// `snapshot` over `population`.
pub fn simulate(
    set: &PolicySet,
    snapshot: &Snapshot,
    population: &Population,
    only: &[String],
) -> Vec<DomainShares> {
    let space = match population {
        Population::Space(_) => Some(Space::new(snapshot)),
        Population::Clients(_) => None,
    };
    let policies: Vec<&Policy> = set
        .policies()
        .filter(|p| only.is_empty() || only.iter().any(|d| same_domain(d, p.domain().as_str())))
        .collect();
    shares::par_map(&policies, |&policy| {
        let populations = match (population, &space) {
            (Population::Space(families), Some(space)) => families
                .list()
                .iter()
                .map(|&family| simulate_family(set, snapshot, policy, space, family))
                .collect(),
            (Population::Clients(clients), _) => {
                vec![simulate_clients(set, snapshot, policy, clients)]
            }
            (Population::Space(_), None) => Vec::new(),
        };
        DomainShares {
            domain: policy.domain().to_string(),
            mode: policy.mode().as_str(),
            enabled: policy.is_enabled(),
            populations,
        }
    })
}

/// Whether a domain as typed names a steered domain (case and one trailing
/// dot ignored).
pub(crate) fn same_domain(typed: &str, domain: &str) -> bool {
    typed
        .strip_suffix('.')
        .unwrap_or(typed)
        .eq_ignore_ascii_case(domain)
}

fn simulate_family(
    set: &PolicySet,
    snapshot: &Snapshot,
    policy: &Policy,
    space: &Space<1>,
    family: Family,
) -> PopulationShares {
    let domain = policy.domain().as_str();
    let mut names = Names::default();
    let mut tally = Tally::default();
    let mut policies = [Evaluator::new(snapshot, policy)];
    let estimated = shares::walk_space(&mut policies, &mut names, space, family, &mut tally);
    let [evaluator] = policies;
    let (population, unit) = family_name(family);
    shares_of(
        set,
        domain,
        &evaluator,
        &names,
        &tally,
        space.total(family),
        population,
        unit,
        estimated,
    )
}

fn simulate_clients(
    set: &PolicySet,
    snapshot: &Snapshot,
    policy: &Policy,
    clients: &[Client],
) -> PopulationShares {
    let domain = policy.domain().as_str();
    let mut names = Names::default();
    let mut tally = Tally::default();
    let mut policies = [Evaluator::new(snapshot, policy)];
    shares::walk_clients(&mut policies, &mut names, clients, &mut tally);
    let [evaluator] = policies;
    let total = clients.iter().map(|c| c.count).sum();
    shares_of(
        set,
        domain,
        &evaluator,
        &names,
        &tally,
        total,
        "clients",
        "listed client",
        false,
    )
}

fn family_name(family: Family) -> (&'static str, &'static str) {
    match family {
        Family::V4 => ("ipv4", "address"),
        Family::V6 => ("ipv6", "/48"),
    }
}

#[allow(clippy::too_many_arguments)] // the parts of one report, all needed
fn shares_of(
    set: &PolicySet,
    domain: &str,
    evaluator: &Evaluator<'_>,
    names: &Names,
    tally: &Tally,
    total: f64,
    population: &'static str,
    unit: &'static str,
    estimated: bool,
) -> PopulationShares {
    let share = |clients: f64| if total > 0.0 { clients / total } else { 0.0 };
    let provider_shares = |cells: &[f64]| -> Vec<ProviderShare> {
        let row: f64 = cells.iter().sum();
        let mut v: Vec<ProviderShare> = cells
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0.0)
            .map(|(p, &c)| ProviderShare {
                provider: names.all()[p].clone(),
                clients: c,
                share: share(c),
                share_of_row: c / row,
            })
            .collect();
        v.sort_by(|a, b| a.provider.cmp(&b.provider));
        v
    };
    let mut rows: Vec<RowShares> = evaluator
        .rows()
        .iter()
        .enumerate()
        .filter_map(|(i, key)| {
            let cells = tally.cells.get(i)?;
            let clients: f64 = cells.iter().sum();
            (clients > 0.0).then(|| RowShares {
                rule: key.rule.clone(),
                line: key.line.clone(),
                clients,
                share: share(clients),
                providers: provider_shares(cells),
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        rule_order(set, domain, &a.rule)
            .cmp(&rule_order(set, domain, &b.rule))
            .then_with(|| a.line.cmp(&b.line))
    });
    let mut all = vec![0.0; names.all().len()];
    for cells in &tally.cells {
        for (p, c) in cells.iter().enumerate() {
            all[p] += c;
        }
    }
    PopulationShares {
        population,
        unit,
        clients: total,
        estimated,
        rows,
        providers: provider_shares(&all),
    }
}

/// Runs `steerage simulate`.
///
/// # Errors
/// When the configuration, the IP data or the client list does not load,
/// or `--domain` names a domain the configuration does not steer.
pub fn run(args: &SimulateArgs) -> Result<Outcome, CliError> {
    let set = data::load_config(&args.config)?;
    for d in &args.domains {
        if !set.policies().any(|p| same_domain(d, p.domain().as_str())) {
            return Err(CliError::Usage(format!(
                "`{d}` is not steered by `{}`",
                args.config.display()
            )));
        }
    }
    let population = match &args.clients {
        Some(path) => Population::Clients(data::load_clients(path)?),
        None => Population::Space(args.family),
    };
    let data = args.data.load()?;
    let snapshot = data::compile(&set, &data, &args.config)?;
    let report = SimulateReport {
        config: args.config.display().to_string(),
        data: snapshot.locations().describe(),
        domains: simulate(&set, &snapshot, &population, &args.domains),
    };
    output::emit(args.output.format, &report)?;
    Ok(Outcome::Success)
}

/// The providers of a domain's report, in column order.
fn columns(d: &PopulationShares) -> Vec<String> {
    let mut names: BTreeMap<&str, ()> = BTreeMap::new();
    for p in &d.providers {
        names.insert(&p.provider, ());
    }
    names.keys().map(|s| (*s).to_owned()).collect()
}

fn population_title(p: &PopulationShares) -> String {
    let exact = if p.estimated {
        "sticky shares of large ranges estimated from sampled /48s"
    } else {
        "exact"
    };
    match p.population {
        "ipv4" => format!("IPv4, by address ({} addresses, {exact})", count(p.clients)),
        "ipv6" => format!(
            "IPv6 2000::/3, by /48 ({} networks, {exact})",
            count(p.clients)
        ),
        _ => format!("listed clients ({} in all)", count(p.clients)),
    }
}

impl Report for SimulateReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}: locations from {}", self.config, self.data)?;
        for d in &self.domains {
            writeln!(out)?;
            let state = if d.enabled { "" } else { ", disabled" };
            writeln!(out, "{} ({} pick{state})", d.domain, d.mode)?;
            for p in &d.populations {
                writeln!(out, "  {}", population_title(p))?;
                writeln!(
                    out,
                    "    (per row: its clients and, per provider, the share of them; \
                     last row: of all clients)"
                )?;
                let providers = columns(p);
                let mut table = Table::new(
                    ["rule", "line", "clients", "share"]
                        .into_iter()
                        .map(str::to_owned)
                        .chain(providers.iter().cloned()),
                );
                let cell = |shares: &[ProviderShare], name: &str| {
                    percent(
                        shares
                            .iter()
                            .find(|s| s.provider == name)
                            .map_or(0.0, |s| s.share_of_row),
                    )
                };
                for row in &p.rows {
                    table.row(
                        [
                            row.rule.clone(),
                            row.line.clone().unwrap_or_else(|| "-".to_owned()),
                            count(row.clients),
                            percent(row.share),
                        ]
                        .into_iter()
                        .chain(providers.iter().map(|n| cell(&row.providers, n))),
                    );
                }
                let all: f64 = p.providers.iter().map(|s| s.share).sum();
                table.row(
                    [
                        "all".to_owned(),
                        String::new(),
                        count(p.clients),
                        percent(all),
                    ]
                    .into_iter()
                    .chain(providers.iter().map(|n| cell(&p.providers, n))),
                );
                table.write(out, 4)?;
            }
        }
        Ok(())
    }
}
