//! `steerage explain DOMAIN CLIENT`: why a client (an address, or a subnet
//! as an EDNS Client Subnet option carries it) gets its answer: the
//! location and which data found it, every rule in precedence order with
//! why it answered or not, the weights, and the answer with its ECS scope.

use std::io::{self, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use clap::Args;
use ipnet::IpNet;
use serde::Serialize;
use steerage::Explanation;

use crate::data::{self, DataArgs};
use crate::lookup::LocationView;
use crate::output::{self, FormatArg, Report};
use crate::{CliError, Outcome};

/// A client: an address, or a subnet (`203.0.113.0/24`) as in ECS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// One address.
    Address(IpAddr),
    /// A subnet; host bits are cleared.
    Subnet(IpNet),
}

impl FromStr for Client {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.contains('/') {
            s.parse::<IpNet>()
                .map(|n| Self::Subnet(n.trunc()))
                .map_err(|_| format!("`{s}` is not a subnet (write it as `203.0.113.0/24`)"))
        } else {
            s.parse::<IpAddr>()
                .map(Self::Address)
                .map_err(|_| format!("`{s}` is not an IP address or a subnet"))
        }
    }
}

/// Arguments of `steerage explain`.
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// The steered domain.
    #[arg(value_name = "DOMAIN")]
    pub domain: String,
    /// The client: an address, or a subnet as an EDNS Client Subnet option
    /// carries it (`203.0.113.0/24`).
    #[arg(value_name = "CLIENT")]
    pub client: Client,
    /// The configuration (TOML or JSON).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The IP data.
    #[command(flatten)]
    pub data: DataArgs,
    /// The output format.
    #[command(flatten)]
    pub output: FormatArg,
}

#[derive(Debug, Serialize)]
struct RuleView {
    rule: String,
    lines: Vec<String>,
    matched_line: Option<String>,
    precedence: String,
    outcome: String,
}

#[derive(Debug, Serialize)]
struct WeightView {
    provider: String,
    configured: u16,
    effective: u16,
    enabled: bool,
}

#[derive(Debug, Serialize)]
struct AnswerView {
    provider: String,
    cname: String,
    rule: String,
    line: Option<String>,
    ttl: u32,
    scope_prefix: u8,
}

#[derive(Debug, Serialize)]
struct ExplainReport {
    domain: String,
    client: IpAddr,
    subnet: Option<IpNet>,
    source: String,
    location: LocationView,
    enabled: bool,
    mode: &'static str,
    rules: Vec<RuleView>,
    weights: Vec<WeightView>,
    answer: AnswerView,
    #[serde(skip)]
    text: String,
}

impl From<&Explanation> for ExplainReport {
    fn from(e: &Explanation) -> Self {
        Self {
            domain: e.domain.clone(),
            client: e.client,
            subnet: e.subnet,
            source: e.source.clone(),
            location: LocationView::from(&e.location),
            enabled: e.enabled,
            mode: e.mode.as_str(),
            rules: e
                .rules
                .iter()
                .map(|r| RuleView {
                    rule: r.rule.clone(),
                    lines: r.lines.iter().map(ToString::to_string).collect(),
                    matched_line: r.matched_line.as_ref().map(ToString::to_string),
                    precedence: format!("{:?}", r.precedence),
                    outcome: r.outcome.to_string(),
                })
                .collect(),
            weights: e
                .weights
                .iter()
                .map(|w| WeightView {
                    provider: w.provider.clone(),
                    configured: w.configured,
                    effective: w.effective,
                    enabled: w.enabled,
                })
                .collect(),
            answer: AnswerView {
                provider: e.answer.provider.clone(),
                cname: e.answer.cname.clone(),
                rule: e.answer.rule.clone(),
                line: e.answer.line.as_ref().map(ToString::to_string),
                ttl: e.answer.ttl,
                scope_prefix: e.answer.scope_prefix,
            },
            text: e.to_string(),
        }
    }
}

impl Report for ExplainReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", self.text)
    }
}

/// Runs `steerage explain`: a finding (exit status 1) when the domain is
/// not steered by the configuration.
///
/// # Errors
/// When the configuration or the IP data does not load.
pub fn run(args: &ExplainArgs) -> Result<Outcome, CliError> {
    let data = args.data.load()?;
    let set = data::load_config(&args.config)?;
    let snapshot = data::compile(&set, &data, &args.config)?;
    let explanation = match args.client {
        Client::Address(ip) => snapshot.explain(&args.domain, ip),
        Client::Subnet(net) => snapshot.explain_subnet(&args.domain, net),
    };
    let Some(explanation) = explanation else {
        output::note(&format!(
            "steerage: `{}` is not steered by `{}`",
            args.domain,
            args.config.display(),
        ));
        return Ok(Outcome::Finding);
    };
    output::emit(args.output.format, &ExplainReport::from(&explanation))?;
    Ok(Outcome::Success)
}
