//! ASN ranges from CSV files (`range_start,range_end,asn,organisation`, no
//! header, organisations quoted when they hold commas), as DB-IP's
//! "IP to ASN Lite" and the ip-location-db project publish them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;

use crate::reserved::{narrow_to_unreserved, reserved_range};
use crate::{
    CsvProblem, Isp, Location, LocationId, LocationTable, Locator, RangeMap, RangeSource,
    SourceError, TableBuilder,
};

/// Address-to-ASN data from one or more CSV files, mapped to China ISPs by
/// [`Isp::from_asn`].
///
/// Ranges may come in any order; where they overlap, the inner (or later
/// starting) range wins. AS number 0 means "not routed" and is unknown.
#[derive(Clone)]
pub struct AsnCsv {
    v4: RangeMap<u32, u32>,
    v6: RangeMap<u128, u32>,
    organisations: HashMap<u32, Box<str>>,
    files: Vec<String>,
}

impl std::fmt::Debug for AsnCsv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsnCsv")
            .field("files", &self.files)
            .field("ranges_v4", &self.v4.len())
            .field("ranges_v6", &self.v6.len())
            .finish()
    }
}

impl AsnCsv {
    /// Reads one CSV file.
    ///
    /// # Errors
    /// [`SourceError::Read`], or [`SourceError::Csv`] naming the file, line
    /// and problem of the first malformed line.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SourceError> {
        Self::open_files(&[path.as_ref()])
    }

    /// Reads several CSV files (typically the IPv4 and the IPv6 one) into one
    /// source.
    ///
    /// # Errors
    /// As [`AsnCsv::open`].
    pub fn open_files<P: AsRef<Path>>(paths: &[P]) -> Result<Self, SourceError> {
        let mut parsed = ParsedCsv::default();
        let mut files = Vec::new();
        for path in paths {
            let path = path.as_ref();
            parsed.read(path)?;
            files.push(file_label(path));
        }
        parsed.finish(files)
    }

    /// Parses CSV text; `file` names it in errors and [`Locator::describe`].
    ///
    /// # Errors
    /// [`SourceError::Csv`] for the first malformed line.
    pub fn from_text(text: &str, file: impl AsRef<Path>) -> Result<Self, SourceError> {
        let mut parsed = ParsedCsv::default();
        parsed.parse(text, file.as_ref())?;
        parsed.finish(vec![file_label(file.as_ref())])
    }

    /// The AS number announcing `ip`, if any (reserved addresses included:
    /// this is the raw data).
    pub fn asn(&self, ip: IpAddr) -> Option<u32> {
        let asn = match ip.to_canonical() {
            IpAddr::V4(v4) => self.v4.get(u32::from(v4)),
            IpAddr::V6(v6) => self.v6.get(u128::from(v6)),
        };
        (asn != 0).then_some(asn)
    }

    /// The organisation the data gives for `asn` (the first one seen).
    pub fn organisation(&self, asn: u32) -> Option<&str> {
        self.organisations.get(&asn).map(|o| &**o)
    }

    /// Every IPv4 range `(start, end, asn)` with an AS (merged where adjacent
    /// ranges have the same AS), ascending.
    pub fn ranges_v4(&self) -> impl Iterator<Item = (u32, u32, u32)> + '_ {
        self.v4.iter().filter(|r| r.2 != 0)
    }

    /// Every IPv6 range `(start, end, asn)` with an AS, ascending.
    pub fn ranges_v6(&self) -> impl Iterator<Item = (u128, u128, u32)> + '_ {
        self.v6.iter().filter(|r| r.2 != 0)
    }
}

fn file_label(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[derive(Default)]
struct ParsedCsv {
    v4: Vec<(u32, u32, u32)>,
    v6: Vec<(u128, u128, u32)>,
    organisations: HashMap<u32, Box<str>>,
}

impl ParsedCsv {
    /// Reads a file a line at a time: the text of a whole file (tens of
    /// megabytes) is never in memory, and no large buffer is freed that
    /// would make the allocator keep later ones on its heap (see
    /// `LocationTable::compacted`).
    fn read(&mut self, path: &Path) -> Result<(), SourceError> {
        use std::io::BufRead as _;
        let read_error = |source| SourceError::Read {
            file: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let mut reader = std::io::BufReader::new(file);
        let mut line = String::new();
        let mut number = 0;
        loop {
            line.clear();
            if reader.read_line(&mut line).map_err(read_error)? == 0 {
                return Ok(());
            }
            number += 1;
            self.parse_line(line.strip_suffix('\n').unwrap_or(&line), number, path)?;
        }
    }

    fn parse(&mut self, text: &str, file: &Path) -> Result<(), SourceError> {
        for (index, line) in text.lines().enumerate() {
            self.parse_line(line, index + 1, file)?;
        }
        Ok(())
    }

    /// Parses line `number` (without its `\n`) of `file`.
    fn parse_line(&mut self, line: &str, number: usize, file: &Path) -> Result<(), SourceError> {
        let error = |line: usize, problem: CsvProblem| SourceError::Csv {
            file: PathBuf::from(file),
            line,
            problem,
        };
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            return Ok(());
        }
        let fields = split_csv_line(line).map_err(|problem| error(number, problem))?;
        let [start, end, asn, organisation] = fields.as_slice() else {
            return Err(error(
                number,
                CsvProblem::FieldCount {
                    found: fields.len(),
                },
            ));
        };
        let parse_ip = |text: &str, column: usize| {
            text.trim().parse::<IpAddr>().map_err(|_| {
                error(
                    number,
                    CsvProblem::BadAddress {
                        column,
                        value: text.to_owned(),
                    },
                )
            })
        };
        let (first, last) = (parse_ip(start, 1)?, parse_ip(end, 2)?);
        let asn_text = asn.trim();
        let asn_text = asn_text
            .strip_prefix("AS")
            .or_else(|| asn_text.strip_prefix("as"))
            .unwrap_or(asn_text);
        let asn: u32 = asn_text.parse().map_err(|_| {
            error(
                number,
                CsvProblem::BadAsn {
                    value: asn.to_string(),
                },
            )
        })?;
        let inverted = || {
            error(
                number,
                CsvProblem::Inverted {
                    start: start.to_string(),
                    end: end.to_string(),
                },
            )
        };
        match (first.to_canonical(), last.to_canonical()) {
            (IpAddr::V4(s), IpAddr::V4(e)) => {
                let (s, e) = (u32::from(s), u32::from(e));
                if e < s {
                    return Err(inverted());
                }
                self.v4.push((s, e, asn));
            }
            (IpAddr::V6(s), IpAddr::V6(e)) => {
                let (s, e) = (u128::from(s), u128::from(e));
                if e < s {
                    return Err(inverted());
                }
                self.v6.push((s, e, asn));
            }
            _ => {
                return Err(error(
                    number,
                    CsvProblem::MixedFamilies {
                        start: start.to_string(),
                        end: end.to_string(),
                    },
                ));
            }
        }
        if asn != 0 && !self.organisations.contains_key(&asn) {
            self.organisations.insert(asn, organisation.as_ref().into());
        }
        Ok(())
    }

    fn finish(self, files: Vec<String>) -> Result<AsnCsv, SourceError> {
        Ok(AsnCsv {
            v4: RangeMap::from_overlapping(0, self.v4)?,
            v6: RangeMap::from_overlapping(0, self.v6)?,
            organisations: self.organisations,
            files,
        })
    }
}

/// Splits one CSV line into fields: `"…"` quotes a field, `""` inside quotes
/// is a quote.
fn split_csv_line(line: &str) -> Result<Vec<std::borrow::Cow<'_, str>>, CsvProblem> {
    use std::borrow::Cow;
    let mut fields = Vec::with_capacity(4);
    let mut rest = line;
    loop {
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let after = loop {
                match chars.next() {
                    None => return Err(CsvProblem::UnterminatedQuote),
                    Some((i, '"')) => {
                        if quoted[i + 1..].starts_with('"') {
                            value.push('"');
                            chars.next();
                        } else {
                            break &quoted[i + 1..];
                        }
                    }
                    Some((_, ch)) => value.push(ch),
                }
            };
            // Text after a closing quote up to the next comma is kept with
            // the field, as lenient CSV readers do.
            let (tail, next) = match after.split_once(',') {
                Some((tail, next)) => (tail, Some(next)),
                None => (after, None),
            };
            value.push_str(tail);
            fields.push(Cow::Owned(value));
            match next {
                Some(next) => rest = next,
                None => return Ok(fields),
            }
        } else {
            match rest.split_once(',') {
                Some((field, next)) => {
                    fields.push(Cow::Borrowed(field));
                    rest = next;
                }
                None => {
                    fields.push(Cow::Borrowed(rest));
                    return Ok(fields);
                }
            }
        }
    }
}

impl Locator for AsnCsv {
    fn locate(&self, ip: IpAddr) -> Location {
        let ip = ip.to_canonical();
        if let Some((start, end)) = reserved_range(ip) {
            return Location {
                network: crate::widest_network(ip, start, end),
                ..Location::default()
            };
        }
        let (asn, network) = match ip {
            IpAddr::V4(v4) => {
                let ip = u32::from(v4);
                let (s, e, asn) = self.v4.get_range(ip);
                (asn, IpNet::V4(crate::widest_v4(ip, s, e)))
            }
            IpAddr::V6(v6) => {
                let ip = u128::from(v6);
                let (s, e, asn) = self.v6.get_range(ip);
                (asn, IpNet::V6(crate::widest_v6(ip, s, e)))
            }
        };
        Location {
            isp: Isp::from_asn(asn),
            network: Some(narrow_to_unreserved(ip, network)),
            ..Location::default()
        }
    }

    fn describe(&self) -> String {
        self.files.join(" + ")
    }
}

impl RangeSource for AsnCsv {
    fn compile(&self) -> Result<LocationTable, SourceError> {
        let mut builder = TableBuilder::new(self.describe());
        let mut ids: HashMap<Option<Isp>, LocationId> = HashMap::new();
        let mut id_of = |isp: Option<Isp>, builder: &mut TableBuilder| {
            *ids.entry(isp).or_insert_with(|| {
                builder.intern(&Location {
                    isp,
                    ..Location::default()
                })
            })
        };
        for (s, e, asn) in self.v4.iter() {
            let id = id_of(Isp::from_asn(asn), &mut builder);
            builder.push_v4(s, e, id)?;
        }
        for (s, e, asn) in self.v6.iter() {
            let id = id_of(Isp::from_asn(asn), &mut builder);
            builder.push_v6(s, e, id)?;
        }
        Ok(builder.finish()?.without_reserved())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_fields() {
        let fields = split_csv_line(r#"1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc.""#).unwrap();
        assert_eq!(
            fields,
            ["1.0.0.0", "1.0.0.255", "13335", "Cloudflare, Inc."]
        );
        let fields = split_csv_line(r#"a,"say ""hi""",c"#).unwrap();
        assert_eq!(fields, ["a", r#"say "hi""#, "c"]);
        assert_eq!(
            split_csv_line(r#"a,"open"#),
            Err(CsvProblem::UnterminatedQuote)
        );
        assert_eq!(split_csv_line("a,,").unwrap(), ["a", "", ""]);
    }

    #[test]
    fn reads_ranges_and_maps_carriers() {
        let csv = "1.0.1.0,1.0.3.255,4134,Chinanet\n\
                   1.0.8.0,1.0.15.255,37963,\"Hangzhou Alibaba Advertising Co.,Ltd.\"\n\
                   240e::,240e:ff:ffff:ffff:ffff:ffff:ffff:ffff,4134,Chinanet\n";
        let asn = AsnCsv::from_text(csv, "t.csv").unwrap();
        let at = |ip: &str| asn.locate(ip.parse().unwrap());
        assert_eq!(at("1.0.2.9").isp, Some(Isp::Telecom));
        assert_eq!(at("1.0.2.9").network.unwrap().to_string(), "1.0.2.0/23");
        assert_eq!(at("1.0.9.1").isp, None);
        assert_eq!(at("240e::1").isp, Some(Isp::Telecom));
        assert_eq!(at("::ffff:1.0.1.1").isp, Some(Isp::Telecom));
        assert_eq!(asn.asn("1.0.9.1".parse().unwrap()), Some(37963));
        assert_eq!(
            asn.organisation(37963),
            Some("Hangzhou Alibaba Advertising Co.,Ltd.")
        );
        assert_eq!(asn.describe(), "t.csv");
        let table = asn.compile().unwrap();
        for ip in ["1.0.2.9", "1.0.9.1", "240e::1", "9.9.9.9", "10.0.0.1"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(table.locate(ip).isp, asn.locate(ip).isp, "{ip}");
        }
    }

    #[test]
    fn malformed_lines_name_file_line_and_problem() {
        let cases = [
            (
                "1.0.0.0,1.0.0.255,13335",
                CsvProblem::FieldCount { found: 3 },
            ),
            (
                "1.0.0.x,1.0.0.255,1,x",
                CsvProblem::BadAddress {
                    column: 1,
                    value: "1.0.0.x".into(),
                },
            ),
            (
                "1.0.0.0,::1,1,x",
                CsvProblem::MixedFamilies {
                    start: "1.0.0.0".into(),
                    end: "::1".into(),
                },
            ),
            (
                "1.0.0.9,1.0.0.1,1,x",
                CsvProblem::Inverted {
                    start: "1.0.0.9".into(),
                    end: "1.0.0.1".into(),
                },
            ),
            (
                "1.0.0.0,1.0.0.1,big,x",
                CsvProblem::BadAsn {
                    value: "big".into(),
                },
            ),
            ("1.0.0.0,1.0.0.1,1,\"x", CsvProblem::UnterminatedQuote),
        ];
        for (line, expected) in cases {
            let text = format!("1.1.1.0,1.1.1.255,13335,ok\n\n{line}\n");
            match AsnCsv::from_text(&text, "bad.csv") {
                Err(SourceError::Csv {
                    file,
                    line: 3,
                    problem,
                }) => {
                    assert_eq!(file, PathBuf::from("bad.csv"));
                    assert_eq!(problem, expected);
                }
                other => panic!("{line}: {other:?}"),
            }
        }
        let message = AsnCsv::from_text("x", "bad.csv").unwrap_err().to_string();
        assert_eq!(
            message,
            "bad.csv:1: expected 4 fields (start,end,asn,organisation), found 1"
        );
    }

    #[test]
    fn files_read_a_line_at_a_time_read_as_their_text() {
        let dir = tempfile::tempdir().unwrap();
        let texts = [
            "1.0.1.0,1.0.3.255,4134,Chinanet\n1.0.8.0,1.0.15.255,37963,\"Alibaba, Inc.\"\n",
            "1.0.1.0,1.0.3.255,4134,Chinanet\r\n\r\n  \r\n240e::,240e::ff,4134,\"a \"\"b\"\"\"\r\n",
            "1.0.1.0,1.0.3.255,4134,x\n1.0.1.0,1.0.1.255,4837,inner\n1.0.0.0,1.0.0.9,9808,no final newline",
            "",
        ];
        for (i, text) in texts.iter().enumerate() {
            let path = dir.path().join(format!("{i}.csv"));
            std::fs::write(&path, text).unwrap();
            let read = AsnCsv::open(&path).unwrap();
            let parsed = AsnCsv::from_text(text, &path).unwrap();
            assert!(read.ranges_v4().eq(parsed.ranges_v4()), "{text:?}");
            assert!(read.ranges_v6().eq(parsed.ranges_v6()), "{text:?}");
            assert_eq!(read.organisations, parsed.organisations, "{text:?}");
            assert_eq!(read.describe(), format!("{i}.csv"));
        }
        // A malformed line is reported with its number, counting blank
        // lines and carriage returns as the text does.
        let path = dir.path().join("bad.csv");
        std::fs::write(&path, "1.1.1.0,1.1.1.255,1,x\r\n\r\n1.1.2.0,1.1.2.9,1\r\n").unwrap();
        match AsnCsv::open(&path) {
            Err(SourceError::Csv {
                file,
                line: 3,
                problem: CsvProblem::FieldCount { found: 3 },
            }) => assert_eq!(file, path),
            other => panic!("{other:?}"),
        }
        // Text that is not UTF-8 cannot be read, naming the file.
        std::fs::write(&path, b"1.1.1.0,1.1.1.255,1,\xff\n").unwrap();
        match AsnCsv::open(&path) {
            Err(SourceError::Read { file, source }) => {
                assert_eq!(file, path);
                assert_eq!(source.kind(), std::io::ErrorKind::InvalidData);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            AsnCsv::open(dir.path().join("missing.csv")),
            Err(SourceError::Read { .. })
        ));
    }
}
