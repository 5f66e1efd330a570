//! Custom CIDR lines layered over a base location table: the engine's table
//! gives every address its base location plus the set of custom lines whose
//! prefixes contain it ([`Location::custom`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ipnet::IpNet;
use steerage_geo::{
    CustomLineName, CustomLines, LocationId, LocationTable, RangeKey, RangeMap, RangeMapBuilder,
    TableBuilder,
};
use steerage_policy::CustomLine;

use crate::EngineError;

/// The base table with `lines` layered on top; the base itself (shared, not
/// copied) when there are no custom lines.
///
/// Base locations keep their ids (they are interned first, in order), so a
/// rule index built for the base stays valid outside custom prefixes.
pub(crate) fn layer(
    base: &Arc<LocationTable>,
    lines: &[&CustomLine],
) -> Result<Arc<LocationTable>, EngineError> {
    if lines.is_empty() {
        return Ok(Arc::clone(base));
    }
    let names: Vec<CustomLineName> = lines.iter().map(|l| l.name().clone()).collect();
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        for prefix in line.prefixes() {
            match prefix.trunc() {
                IpNet::V4(net) => {
                    v4.push((u32::from(net.network()), u32::from(net.broadcast()), index));
                }
                IpNet::V6(net) => {
                    v6.push((
                        u128::from(net.network()),
                        u128::from(net.broadcast()),
                        index,
                    ));
                }
            }
        }
    }
    let mut sets = SetInterner::default();
    let custom_v4 = sweep(v4, &mut sets);
    let custom_v6 = sweep(v6, &mut sets);

    let description = format!(
        "{} + custom lines {}",
        steerage_geo::Locator::describe(&**base),
        names
            .iter()
            .map(|n| format!("cidr:{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut builder = TableBuilder::new(description);
    for location in base.locations() {
        builder.intern(location);
    }
    let mut ids: HashMap<(LocationId, u32), LocationId> = HashMap::new();
    let mut combine = |builder: &mut TableBuilder, base_id: LocationId, set: u32| {
        if set == 0 {
            return base_id;
        }
        *ids.entry((base_id, set)).or_insert_with(|| {
            let mut location = base.location(base_id).clone();
            location.custom = CustomLines::new(sets.members(set).iter().map(|&i| names[i].clone()));
            builder.intern(&location)
        })
    };
    let zipped_v4 = base.v4().zip_with(&custom_v4, |a, b| (a, b));
    for (s, e, (id, set)) in zipped_v4.iter() {
        let id = combine(&mut builder, id, set);
        builder.push_v4(s, e, id).map_err(layer_error)?;
    }
    let zipped_v6 = base.v6().zip_with(&custom_v6, |a, b| (a, b));
    for (s, e, (id, set)) in zipped_v6.iter() {
        let id = combine(&mut builder, id, set);
        builder.push_v6(s, e, id).map_err(layer_error)?;
    }
    Ok(Arc::new(builder.finish().map_err(layer_error)?))
}

fn layer_error(source: steerage_geo::SourceError) -> EngineError {
    EngineError::CustomLineLayer {
        reason: source.to_string(),
    }
}

/// Interns sets of custom line positions; set 0 is the empty set.
#[derive(Default)]
struct SetInterner {
    ids: HashMap<Vec<usize>, u32>,
    sets: Vec<Vec<usize>>,
}

impl SetInterner {
    fn intern(&mut self, members: Vec<usize>) -> u32 {
        if members.is_empty() {
            return 0;
        }
        if let Some(&id) = self.ids.get(&members) {
            return id;
        }
        // Ids start at 1; at most 2 * prefixes + 1 distinct sets.
        let id = u32::try_from(self.sets.len() + 1).unwrap_or(u32::MAX);
        self.sets.push(members.clone());
        self.ids.insert(members, id);
        id
    }

    fn members(&self, id: u32) -> &[usize] {
        (id as usize)
            .checked_sub(1)
            .and_then(|i| self.sets.get(i))
            .map_or(&[], Vec::as_slice)
    }
}

/// Splits the key space at every prefix boundary and maps each piece to the
/// set of lines covering it.
fn sweep<K: RangeKey>(prefixes: Vec<(K, K, usize)>, sets: &mut SetInterner) -> RangeMap<K, u32> {
    // Open at a prefix's first key, close after its last key.
    let mut events: Vec<(K, bool, usize)> = Vec::with_capacity(prefixes.len() * 2);
    for &(start, end, line) in &prefixes {
        events.push((start, true, line));
        if let Some(after) = end.successor() {
            events.push((after, false, line));
        }
    }
    events.sort_by_key(|e| e.0);
    let mut active: BTreeMap<usize, usize> = BTreeMap::new();
    let mut builder = RangeMapBuilder::new(0u32);
    let mut i = 0;
    while i < events.len() {
        let at = events[i].0;
        while i < events.len() && events[i].0 == at {
            let (_, opens, line) = events[i];
            if opens {
                *active.entry(line).or_insert(0) += 1;
            } else if let Some(count) = active.get_mut(&line) {
                *count -= 1;
                if *count == 0 {
                    active.remove(&line);
                }
            }
            i += 1;
        }
        let end = match events.get(i) {
            Some(next) => next.0.predecessor().unwrap_or(K::MIN),
            None => K::MAX,
        };
        let set = sets.intern(active.keys().copied().collect());
        // Pieces are ascending and disjoint by construction.
        builder.push(at, end, set);
    }
    builder.finish().unwrap_or_else(|_| RangeMap::constant(0))
}

#[cfg(test)]
mod tests {
    use steerage_geo::{Location, Locator};

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
