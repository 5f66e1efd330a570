//! Custom CIDR lines layered over a base location table: the engine's table
//! gives every address its base location plus the set of custom lines whose
//! prefixes contain it ([`Location::custom`](steerage_geo::Location::custom)).

use std::sync::Arc;

use steerage_geo::{CustomLineTable, LocationTable};
use steerage_policy::CustomLine;

use crate::EngineError;

/// The base table with `lines` layered on top; the base itself (shared, not
/// copied) when there are no custom lines.
///
/// Base locations keep their ids ([`CustomLineTable::layer_over`]), so a
/// rule index built for the base stays valid outside custom prefixes.
pub(crate) fn layer(
    base: &Arc<LocationTable>,
    lines: &[&CustomLine],
) -> Result<Arc<LocationTable>, EngineError> {
    if lines.is_empty() {
        return Ok(Arc::clone(base));
    }
    let custom = CustomLineTable::new(
        lines
            .iter()
            .map(|line| (line.name().clone(), line.prefixes().iter().copied())),
    );
    let layered = custom
        .layer_over(base)
        .map_err(|source| EngineError::CustomLineLayer { source })?;
    Ok(Arc::new(layered))
}

#[cfg(test)]
mod tests {
    use steerage_geo::{CustomLineName, Location, Locator};

    use super::*;

    fn line(name: &str, prefixes: &[&str]) -> CustomLine {
        CustomLine::new(
            CustomLineName::new(name).unwrap(),
            prefixes.iter().map(|p| p.parse().unwrap()).collect(),
        )
        .unwrap()
    }

    #[test]
    fn no_lines_shares_the_base() {
        let base = Arc::new(LocationTable::sample());
        let layered = layer(&base, &[]).unwrap();
        assert!(Arc::ptr_eq(&base, &layered));
    }

    #[test]
    fn custom_sets_over_base_locations() {
        let base = Arc::new(LocationTable::sample());
        let office = line("office", &["192.0.2.0/28", "2001:db8:100::/48"]);
        let lab = line("lab", &["192.0.2.8/29", "10.0.0.0/8"]);
        let layered = layer(&base, &[&office, &lab]).unwrap();
        let at = |ip: &str| layered.locate(ip.parse().unwrap());
        let names = |l: &Location| l.custom.iter().map(|n| n.to_string()).collect::<Vec<_>>();

        let a = at("192.0.2.9");
        assert_eq!(names(&a), ["lab", "office"]);
        assert_eq!(
            a.subdivision,
            base.locate("192.0.2.9".parse().unwrap()).subdivision
        );
        assert_eq!(a.network, Some("192.0.2.8/29".parse().unwrap()));
        assert_eq!(names(&at("192.0.2.1")), ["office"]);
        assert_eq!(
            at("192.0.2.1").network,
            Some("192.0.2.0/29".parse().unwrap())
        );
        assert!(at("192.0.2.16").custom.is_empty());
        assert_eq!(
            at("192.0.2.16").network,
            Some("192.0.2.16/28".parse().unwrap())
        );
        let ten = at("10.1.2.3");
        assert_eq!(names(&ten), ["lab"]);
        assert_eq!(ten.country, None);
        assert_eq!(names(&at("2001:db8:100::1")), ["office"]);
        assert!(at("2001:db8:101::1").custom.is_empty());
        // Base ids are kept outside custom prefixes.
        for (s, _, id) in base.ranges_v4() {
            if !u32::from(s).to_be_bytes().starts_with(&[192, 0, 2]) && s.octets()[0] != 10 {
                assert_eq!(layered.lookup(s.into()).id, id, "{s}");
            }
        }
        assert!(layered.describe().contains("cidr:office"));
    }
}
