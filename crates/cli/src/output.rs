//! Where results go: `--format text|json` on standard output, with the
//! text helpers the subcommands share (aligned tables, percentages,
//! grouped counts). Hides how a closed standard output is handled: a
//! reader that closes the pipe (`steerage simulate ... | head`) ends the
//! output quietly, any other write error is a [`CliError::Stdout`]; nothing
//! here panics.

use std::io::{self, Write};

use clap::{Args, ValueEnum};
use serde::Serialize;

use crate::CliError;

/// The output format of a subcommand's results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// Text for people.
    #[default]
    Text,
    /// One JSON document, for scripts.
    Json,
}

/// The `--format` flag, flattened into every subcommand that prints results.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct FormatArg {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// A subcommand's result: serializable for `--format json`, and written as
/// text for people.
pub trait Report: Serialize {
    /// Writes the text form.
    ///
    /// # Errors
    /// When writing fails.
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()>;
}

/// Writes `report` to standard output in `format`.
///
/// # Errors
/// [`CliError::Stdout`] when standard output fails, except for a closed
/// pipe (the reader went away), which ends the output without an error.
pub fn emit(format: Format, report: &impl Report) -> Result<(), CliError> {
    let stdout = io::stdout();
    write_report(&mut io::BufWriter::new(stdout.lock()), format, report)
}

/// [`emit`] to any writer (tests use a closed one).
pub(crate) fn write_report(
    out: &mut dyn Write,
    format: Format,
    report: &impl Report,
) -> Result<(), CliError> {
    let written = match format {
        Format::Text => report.write_text(out),
        Format::Json => serde_json::to_writer_pretty(&mut *out, report)
            .map_err(io::Error::from)
            .and_then(|()| writeln!(out)),
    }
    .and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::Stdout(e)),
        Ok(()) => Ok(()),
    }
}

/// Writes a line on standard error (warnings and notes that are not the
/// result); a failure to write it is ignored, there is nowhere else to say
/// it.
pub fn note(text: &str) {
    let _ = writeln!(io::stderr(), "{text}");
}

/// A share as a percentage with two decimals (`12.34%`), or two
/// significant digits below 0.01 % (`0.0012%`); `-` for nothing.
pub fn percent(share: f64) -> String {
    let value = share * 100.0;
    if share <= 0.0 {
        "-".to_owned()
    } else if share < 1.0 && value >= 99.995 {
        // Not all: as many decimals as it takes to show it.
        let rest = 100.0 - value;
        let decimals = ((-rest.log10()).ceil() as usize + 1).min(12);
        format!("{value:.decimals$}%")
    } else if value >= 0.01 {
        format!("{value:.2}%")
    } else if value >= 1e-9 {
        // Digits after the point up to the second significant one; the
        // value is at least 1e-9, so at most 10.
        let decimals = (-value.log10()).ceil() as usize + 1;
        format!("{value:.decimals$}%")
    } else {
        "<0.000000001%".to_owned()
    }
}

/// A count with thousands separators (`3,702,258,432`); fractional counts
/// (expected values) keep one decimal.
pub fn count(value: f64) -> String {
    // Counts are at most 2^64 here; the cast saturates beyond.
    let tenths = (value.abs() * 10.0).round() as u128;
    let digits = (tenths / 10).to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 + 3);
    if value < 0.0 && tenths > 0 {
        grouped.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if !tenths.is_multiple_of(10) {
        grouped.push('.');
        grouped.push_str(&(tenths % 10).to_string());
    }
    grouped
}

/// A text table: the first column left-aligned, the others right-aligned,
/// each as wide as its widest cell, indented by `indent` spaces.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with this header row.
    pub fn new(header: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            rows: vec![header.into_iter().map(Into::into).collect()],
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: impl IntoIterator<Item = impl Into<String>>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// Writes the table.
    ///
    /// # Errors
    /// When writing fails.
    pub fn write(&self, out: &mut dyn Write, indent: usize) -> io::Result<()> {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0usize; columns];
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        for row in &self.rows {
            let mut line = " ".repeat(indent);
            for (i, cell) in row.iter().enumerate() {
                let pad = widths[i] - cell.chars().count();
                if i == 0 {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad));
                } else {
                    line.push_str("  ");
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Hello;

    impl Report for Hello {
        fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
            writeln!(out, "hello")
        }
    }

    /// A writer whose reader went away, or that fails otherwise.
    struct Failing(io::ErrorKind);

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(self.0))
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::from(self.0))
        }
    }

    #[test]
    fn a_closed_pipe_ends_the_output_quietly_and_other_errors_are_reported() {
        for format in [Format::Text, Format::Json] {
            let mut closed = Failing(io::ErrorKind::BrokenPipe);
            assert!(write_report(&mut closed, format, &Hello).is_ok());
            let mut full = Failing(io::ErrorKind::StorageFull);
            assert!(matches!(
                write_report(&mut full, format, &Hello),
                Err(CliError::Stdout(_))
            ));
        }
        let mut text = Vec::new();
        write_report(&mut text, Format::Json, &Hello).unwrap();
        assert_eq!(text, b"null\n");
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(count(3_702_258_432.0), "3,702,258,432");
        assert_eq!(count(999.0), "999");
        assert_eq!(count(1000.0), "1,000");
        assert_eq!(count(0.0), "0");
        assert_eq!(count(1234.25), "1,234.3");
        assert_eq!(count(1234.6), "1,234.6");
        assert_eq!(count(1234.96), "1,235");
        assert_eq!(percent(0.0), "-");
        assert_eq!(percent(0.123_45), "12.35%");
        assert_eq!(percent(0.000_01), "0.0010%");
        assert_eq!(percent(0.000_012_34), "0.0012%");
        assert_eq!(percent(1e-15), "<0.000000001%");
        assert_eq!(percent(1.0), "100.00%");
        assert_eq!(percent(1.0 - 6e-8), "99.9999940%");
    }

    #[test]
    fn tables_align() {
        let mut t = Table::new(["rule", "share"]);
        t.row(["beijing", "1.00%"]);
        t.row(["default", "90.00%"]);
        let mut out = Vec::new();
        t.write(&mut out, 2).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "  rule      share\n  beijing   1.00%\n  default  90.00%\n"
        );
    }
}
