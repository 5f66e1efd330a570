//! ASN CSV files (`range_start,range_end,asn,organisation`): text ->
//! `AsnCsv` -> lookups and a compiled table.
//!
//! The input chooses rows (overlapping ranges of both families and
//! IPv4-mapped addresses, carriers' and other AS numbers, organisations with
//! commas and quotes), how each is written (quoting, padding, `AS` prefixes,
//! CRLF, blank lines) and one line of arbitrary text among them. The text
//! they make must load exactly when the rows are valid and the arbitrary
//! line is blank or a valid row; a failure names the first bad line and its
//! problem. A CSV that loads (from rows alone) answers, at every row's ends
//! and around them, the AS of the row the documented overlap rule picks (the
//! inner range, or the later start, or for equal ranges the later row), and
//! the ISP that AS maps to; the network `locate` reports contains the
//! address and answers the same ISP, AS and network at both its ends; the
//! merged ranges are sorted, disjoint and agree with `asn` (but for IPv6
//! ends inside `::ffff:0:0/96`, looked up as IPv4); the first
//! organisation given for each AS is kept; and the compiled table answers
//! the same ISP. Whatever loads (arbitrary line included) obeys the lookup
//! invariants.
//!
//! Run: `cargo fuzz run asn_csv --sanitizer none -- -max_total_time=60`
#![no_main]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use steerage_geo::{AsnCsv, CsvProblem, Isp, Locator, RangeSource, SourceError, is_reserved};

/// At most this many rows, so each run stays fast.
const MAX_ROWS: usize = 24;

/// AS numbers: unrouted, China's carriers (telecom, unicom, mobile, CERNET),
/// others, and the extremes.
const ASNS: &[u32] = &[0, 4134, 4837, 9808, 4538, 56046, 13335, 37963, 1, u32::MAX];

/// Range starts that overlap each other and reserved space.
const V4_BASES: &[u32] = &[
    0,
    0x0100_0000, // 1.0.0.0
    0x0a00_0000, // 10.0.0.0 (private)
    0x2400_0000, // 36.0.0.0
    0x7f00_0000, // 127.0.0.0 (loopback)
    0xc000_0200, // 192.0.2.0 (documentation)
    0xdfff_ff00, // 223.255.255.0
    0xffff_ff00, // 255.255.255.0
];
const V6_BASES: &[u128] = &[
    0,
    0x240e_0000_0000_0000_0000_0000_0000_0000, // 240e::
    0x2001_0db8_0000_0000_0000_0000_0000_0000, // 2001:db8:: (documentation)
    0x2a02_0000_0000_0000_0000_0000_0000_0000, // 2a02::
    0xffff_ffff_ffff_ffff_ffff_ffff_ffff_0000,
];

/// One row as the input chose it.
#[derive(Debug, Clone)]
struct Row {
    start: IpAddr,
    end: IpAddr,
    asn: u32,
    organisation: String,
}

/// What the CSV says about one family: `(start, end, asn)` in file order.
#[derive(Default)]
struct Model {
    v4: Vec<(u32, u32, u32)>,
    v6: Vec<(u128, u128, u32)>,
}

impl Model {
    /// The AS the overlap rule gives `ip`: among the rows containing it, the
    /// last in (start ascending, end descending, file order); 0 for none.
    fn asn(&self, ip: IpAddr) -> u32 {
        fn pick<K: Ord + Copy>(rows: &[(K, K, u32)], key: K) -> u32 {
            rows.iter()
                .enumerate()
                .filter(|(_, r)| r.0 <= key && key <= r.1)
                .max_by(|(i, a), (j, b)| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(i.cmp(j)))
                .map_or(0, |(_, r)| r.2)
        }
        match ip.to_canonical() {
            IpAddr::V4(v4) => pick(&self.v4, u32::from(v4)),
            IpAddr::V6(v6) => pick(&self.v6, u128::from(v6)),
        }
    }
}

fn address(u: &mut Unstructured<'_>) -> Result<IpAddr> {
    let offset: u16 = u.arbitrary()?;
    let shift = u.int_in_range(0u32..=24)?;
    Ok(match u.int_in_range(0u8..=3)? {
        0 | 1 => {
            let base = *u.choose(V4_BASES)?;
            IpAddr::V4(Ipv4Addr::from(
                base.wrapping_add(u32::from(offset) << shift.min(16)),
            ))
        }
        2 => {
            let base = *u.choose(V6_BASES)?;
            IpAddr::V6(Ipv6Addr::from(
                base.wrapping_add(u128::from(offset) << (shift * 4)),
            ))
        }
        _ => {
            // An IPv4 address written IPv4-mapped: the same range as IPv4.
            let base = *u.choose(V4_BASES)?;
            let v4 = Ipv4Addr::from(base.wrapping_add(u32::from(offset)));
            IpAddr::V6(v4.to_ipv6_mapped())
        }
    })
}

fn row(u: &mut Unstructured<'_>) -> Result<Row> {
    let start = address(u)?;
    let end = if u.ratio(1, 8)? {
        address(u)? // often another family, or before the start
    } else {
        let len: u16 = u.arbitrary()?;
        let shift = u.int_in_range(0u32..=20)?;
        match start {
            IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(
                u32::from(v4).saturating_add(u32::from(len) << shift.min(16)),
            )),
            IpAddr::V6(v6) => {
                let end = u128::from(v6).saturating_add(u128::from(len) << (shift * 5));
                IpAddr::V6(Ipv6Addr::from(end))
            }
        }
    };
    let asn = if u.ratio(7, 8)? {
        *u.choose(ASNS)?
    } else {
        u.arbitrary()?
    };
    let organisation: String = u.arbitrary()?;
    Ok(Row {
        start,
        end,
        asn,
        organisation: organisation.replace(['\n', '\r'], " "),
    })
}

/// An address as a CSV writer might: IPv4-mapped addresses in their
/// dotted form, others canonically.
fn address_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("::ffff:{v4}"),
            None => v6.to_string(),
        },
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// One row written out, the input choosing padding, `AS` prefix and quoting.
fn render(u: &mut Unstructured<'_>, row: &Row) -> Result<String> {
    let pad = |u: &mut Unstructured<'_>| -> Result<&'static str> {
        Ok(*u.choose(&["", " ", "\t", "  "])?)
    };
    let asn_prefix = *u.choose(&["", "AS", "as"])?;
    let quote = u.arbitrary::<bool>()?
        || row.organisation.contains(',')
        || row.organisation.starts_with('"');
    let organisation = if quote {
        format!("\"{}\"", row.organisation.replace('"', "\"\""))
    } else {
        row.organisation.clone()
    };
    Ok(format!(
        "{}{}{},{}{}{},{}{asn_prefix}{}{},{organisation}",
        pad(u)?,
        address_text(row.start),
        pad(u)?,
        pad(u)?,
        address_text(row.end),
        pad(u)?,
        pad(u)?,
        row.asn,
        pad(u)?,
    ))
}

/// The problem the loader must report for a row, if any.
fn problem(row: &Row) -> Option<CsvProblem> {
    let (start, end) = (address_text(row.start), address_text(row.end));
    match (row.start.to_canonical(), row.end.to_canonical()) {
        (IpAddr::V4(s), IpAddr::V4(e)) if e < s => Some(CsvProblem::Inverted { start, end }),
        (IpAddr::V6(s), IpAddr::V6(e)) if e < s => Some(CsvProblem::Inverted { start, end }),
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => None,
        _ => Some(CsvProblem::MixedFamilies { start, end }),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = run(&mut u);
});

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let mut rows = Vec::new();
    while rows.len() < MAX_ROWS && u.arbitrary::<bool>()? {
        rows.push(row(u)?);
    }
    let free_line: Option<String> = u.arbitrary()?;
    let free_line = free_line.map(|l| l.replace('\n', " "));
    let free_at = u.int_in_range(0..=rows.len())?;

    // The text, the line number of each row and of the free line.
    let mut text = String::new();
    let mut line = 0usize;
    let mut row_lines = Vec::new();
    let mut free_line_number = None;
    for i in 0..=rows.len() {
        if i == free_at
            && let Some(free) = &free_line
        {
            line += 1;
            free_line_number = Some(line);
            text.push_str(free);
            text.push('\n');
        }
        if let Some(r) = rows.get(i) {
            // (`ratio` is true on exhausted input: bound the loop.)
            for _ in 0..3 {
                if u.is_empty() || !u.ratio(1, 8)? {
                    break;
                }
                line += 1;
                text.push_str(u.choose(&["", " ", "\t"])?);
                text.push('\n');
            }
            line += 1;
            row_lines.push(line);
            text.push_str(&render(u, r)?);
            text.push_str(if u.arbitrary()? { "\r\n" } else { "\n" });
        }
    }

    let loaded = AsnCsv::from_text(&text, "fuzz.csv");

    // The first bad line, as far as the rows and the free line tell.
    let free_alone = free_line
        .as_deref()
        .map(|l| AsnCsv::from_text(l, "free.csv"));
    let mut first_bad: Option<(usize, Option<CsvProblem>)> = None;
    for (r, &number) in rows.iter().zip(&row_lines) {
        if let Some(p) = problem(r) {
            first_bad = Some((number, Some(p)));
            break;
        }
    }
    if let (Some(Err(_)), Some(number)) = (&free_alone, free_line_number)
        && first_bad.as_ref().is_none_or(|(n, _)| number < *n)
    {
        // What is wrong with it is checked where its parse is: here only where.
        first_bad = Some((number, None));
    }

    match (first_bad, &loaded) {
        (
            Some((number, expected)),
            Err(SourceError::Csv {
                file,
                line,
                problem,
            }),
        ) => {
            assert_eq!(file.to_str(), Some("fuzz.csv"));
            assert_eq!(*line, number, "{text:?}: {problem}");
            if let Some(expected) = expected {
                assert_eq!(trimmed(problem), expected, "{text:?}");
            }
        }
        (None, Ok(csv)) => {
            check_lookups(csv, &rows);
            // A free line that is a row of its own (even of AS 0) is not in
            // the model: compare with the model only without one.
            let free_is_row = free_line.as_deref().is_some_and(|l| !l.trim().is_empty());
            if !free_is_row {
                check_model(csv, &rows, &text);
            }
        }
        (expected, got) => panic!("{text:?}: expected a failure at {expected:?}, got {got:?}"),
    }
    Ok(())
}

/// A problem with the fields it quotes (as written, padding included)
/// trimmed.
fn trimmed(problem: &CsvProblem) -> CsvProblem {
    let trim = |s: &String| s.trim().to_owned();
    match problem {
        CsvProblem::Inverted { start, end } => CsvProblem::Inverted {
            start: trim(start),
            end: trim(end),
        },
        CsvProblem::MixedFamilies { start, end } => CsvProblem::MixedFamilies {
            start: trim(start),
            end: trim(end),
        },
        other => other.clone(),
    }
}

/// The addresses probed: every row's ends and their neighbours, and the middle.
fn probes(rows: &[Row]) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for r in rows {
        for ip in [r.start, r.end] {
            out.push(ip);
            match ip.to_canonical() {
                IpAddr::V4(v4) => {
                    let n = u32::from(v4);
                    out.extend(
                        [n.wrapping_sub(1), n.wrapping_add(1)].map(|n| IpAddr::V4(n.into())),
                    );
                }
                IpAddr::V6(v6) => {
                    let n = u128::from(v6);
                    out.extend(
                        [n.wrapping_sub(1), n.wrapping_add(1)].map(|n| IpAddr::V6(n.into())),
                    );
                }
            }
        }
        if let (IpAddr::V4(s), IpAddr::V4(e)) = (r.start.to_canonical(), r.end.to_canonical()) {
            let (s, e) = (u64::from(u32::from(s)), u64::from(u32::from(e)));
            out.push(IpAddr::V4(Ipv4Addr::from(((s + e) / 2) as u32)));
        }
    }
    out.push("1.2.3.4".parse().expect("valid"));
    out.push("::".parse().expect("valid"));
    out
}

/// What holds of any CSV that loads.
fn check_lookups(csv: &AsnCsv, rows: &[Row]) {
    let mut previous: Option<u32> = None;
    for (s, e, asn) in csv.ranges_v4() {
        assert!(s <= e && asn != 0);
        assert!(
            previous.is_none_or(|p| p < s),
            "ranges overlap or are unsorted"
        );
        previous = Some(e);
        for ip in [s, e] {
            assert_eq!(csv.asn(IpAddr::V4(ip.into())), Some(asn));
        }
    }
    let mut previous: Option<u128> = None;
    for (s, e, asn) in csv.ranges_v6() {
        assert!(s <= e && asn != 0);
        assert!(
            previous.is_none_or(|p| p < s),
            "ranges overlap or are unsorted"
        );
        previous = Some(e);
        // IPv4-mapped addresses are looked up as IPv4: an IPv6 row over
        // `::ffff:0:0/96` is raw data no lookup reaches there.
        for ip in [s, e].map(Ipv6Addr::from) {
            if ip.to_ipv4_mapped().is_none() {
                assert_eq!(csv.asn(IpAddr::V6(ip)), Some(asn), "{ip}");
            }
        }
    }
    let table = csv.compile().expect("a loaded CSV compiles");
    for ip in probes(rows) {
        let location = csv.locate(ip);
        assert_eq!(csv.locate(ip), location, "{ip}: locating twice differs");
        let asn = csv.asn(ip);
        if is_reserved(ip) {
            assert_eq!(location.isp, None, "{ip} is reserved");
        } else {
            assert_eq!(location.isp, asn.and_then(Isp::from_asn), "{ip}: AS{asn:?}");
        }
        assert_eq!(table.locate(ip).isp, location.isp, "{ip}: table and CSV");
        let network = location.network.expect("the CSV knows every network");
        let canonical = ip.to_canonical();
        assert!(network.contains(&canonical), "{ip} outside {network}");
        for end in [network.network(), network.broadcast()] {
            let there = csv.locate(end);
            assert_eq!(there.isp, location.isp, "{ip} in {network}, {end}");
            assert_eq!(there.network, Some(network), "{ip} in {network}, {end}");
            if !is_reserved(ip) {
                assert_eq!(csv.asn(end), asn, "{ip} in {network}, {end}");
            }
        }
    }
}

/// What the rows say, when they are all the CSV holds.
fn check_model(csv: &AsnCsv, rows: &[Row], text: &str) {
    let mut model = Model::default();
    let mut organisations: HashMap<u32, &str> = HashMap::new();
    for r in rows {
        match (r.start.to_canonical(), r.end.to_canonical()) {
            (IpAddr::V4(s), IpAddr::V4(e)) => model.v4.push((s.into(), e.into(), r.asn)),
            (IpAddr::V6(s), IpAddr::V6(e)) => model.v6.push((s.into(), e.into(), r.asn)),
            _ => unreachable!("mixed rows do not load"),
        }
        if r.asn != 0 {
            organisations.entry(r.asn).or_insert(&r.organisation);
        }
    }
    for ip in probes(rows) {
        let expected = model.asn(ip);
        assert_eq!(
            csv.asn(ip),
            (expected != 0).then_some(expected),
            "{ip} in {text:?}"
        );
    }
    for (asn, organisation) in organisations {
        assert_eq!(
            csv.organisation(asn),
            Some(organisation),
            "AS{asn} in {text:?}"
        );
    }
}
