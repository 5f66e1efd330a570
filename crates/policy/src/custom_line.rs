//! Custom lines: named lists of IP prefixes that rules match as `cidr:NAME`.

use std::collections::HashSet;

use ipnet::IpNet;
use steerage_geo::CustomLineName;

use crate::PolicyError;

/// A custom line: a name and the IPv4/IPv6 prefixes it covers. The most
/// specific line there is: a client inside any of the prefixes matches
/// `cidr:NAME` before any region or ISP line.
///
/// Valid by construction: at least one prefix, every prefix a network
/// address (no host bits set), no prefix twice. Prefixes of two custom
/// lines may overlap.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CustomLine {
    name: CustomLineName,
    prefixes: Vec<IpNet>,
}

impl CustomLine {
    /// Validates a custom line.
    pub fn new(name: CustomLineName, prefixes: Vec<IpNet>) -> Result<Self, PolicyError> {
        let line = || name.as_str().to_owned();
        if prefixes.is_empty() {
            return Err(PolicyError::EmptyCustomLine { line: line() });
        }
        let mut seen = HashSet::with_capacity(prefixes.len());
        for prefix in &prefixes {
            if prefix.trunc() != *prefix {
                return Err(PolicyError::PrefixNotNetwork {
                    line: line(),
                    prefix: prefix.to_string(),
                    network: prefix.trunc().to_string(),
                });
            }
            if !seen.insert(prefix) {
                return Err(PolicyError::DuplicatePrefix {
                    line: line(),
                    prefix: prefix.to_string(),
                });
            }
        }
        Ok(Self { name, prefixes })
    }

    /// The name (`office` for `cidr:office`).
    pub fn name(&self) -> &CustomLineName {
        &self.name
    }
    /// The prefixes, as written.
    pub fn prefixes(&self) -> &[IpNet] {
        &self.prefixes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> CustomLineName {
        CustomLineName::new(n).unwrap()
    }
    fn nets(prefixes: &[&str]) -> Vec<IpNet> {
        prefixes.iter().map(|p| p.parse().unwrap()).collect()
    }

    #[test]
    fn valid_line_keeps_prefixes_in_order() {
        let line = CustomLine::new(name("office"), nets(&["2001:db8::/32", "10.0.0.0/8"])).unwrap();
        assert_eq!(line.name().as_str(), "office");
        assert_eq!(line.prefixes(), nets(&["2001:db8::/32", "10.0.0.0/8"]));
    }

    #[test]
    fn overlapping_prefixes_are_allowed() {
        CustomLine::new(name("office"), nets(&["10.0.0.0/8", "10.1.0.0/16"])).unwrap();
    }

    #[test]
    fn refusals() {
        assert_eq!(
            CustomLine::new(name("office"), vec![]),
            Err(PolicyError::EmptyCustomLine {
                line: "office".into()
            })
        );
        assert_eq!(
            CustomLine::new(name("office"), nets(&["2001:db8::1/32"])),
            Err(PolicyError::PrefixNotNetwork {
                line: "office".into(),
                prefix: "2001:db8::1/32".into(),
                network: "2001:db8::/32".into()
            })
        );
        assert_eq!(
            CustomLine::new(name("office"), nets(&["10.0.0.0/8", "10.0.0.0/8"])),
            Err(PolicyError::DuplicatePrefix {
                line: "office".into(),
                prefix: "10.0.0.0/8".into()
            })
        );
    }
}
