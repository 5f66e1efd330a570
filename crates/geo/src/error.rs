//! Errors of the taxonomy and lookup.

/// An invalid line code or name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// The code does not name a known line.
    #[error("unknown line `{code}`{}", suggestion.as_ref().map(|s| format!(": did you mean `{s}`?")).unwrap_or_default())]
    Unknown {
        /// The code as given.
        code: String,
        /// The closest valid code, if any is close.
        suggestion: Option<String>,
    },
    /// The code is empty (or only whitespace).
    #[error("empty line code")]
    Empty,
    /// An ISP line outside China mainland (`US/telecom`, `HK/unicom`,
    /// `US-CA/mobile`): ISP lines are China mainland carriers, so only `CN/…`
    /// and `CN-XX/…` take one.
    #[error(
        "line `{code}`: ISP lines exist only for China mainland (`CN/<isp>` or `CN-<province>/<isp>`)"
    )]
    IspOutsideChina {
        /// The code as given.
        code: String,
    },
    /// A custom line name (`cidr:NAME`) breaks the naming rule.
    #[error(
        "invalid custom line name `{name}`: {reason} (names are 1 to 63 characters of a-z, 0-9, `-`, `_`, starting with a letter or digit)"
    )]
    InvalidCustomName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_code_and_the_suggestion() {
        let e = LineError::Unknown {
            code: "CN-BEIJING".into(),
            suggestion: Some("CN-BJ".into()),
        };
        assert_eq!(
            e.to_string(),
            "unknown line `CN-BEIJING`: did you mean `CN-BJ`?"
        );
        let e = LineError::Unknown {
            code: "ZZ".into(),
            suggestion: None,
        };
        assert_eq!(e.to_string(), "unknown line `ZZ`");
        let e = LineError::IspOutsideChina {
            code: "US/telecom".into(),
        };
        assert!(
            e.to_string()
                .starts_with("line `US/telecom`: ISP lines exist only for China")
        );
        let e = LineError::InvalidCustomName {
            name: "Office".into(),
            reason: "upper-case letter",
        };
        assert!(
            e.to_string()
                .starts_with("invalid custom line name `Office`: upper-case letter")
        );
    }
}
