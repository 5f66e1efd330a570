//! The built-in sample dataset: the table in the crate's `docs/geo.md` lists exactly
//! `SAMPLE_RANGES`, every example client resolves to its row, and the
//! compiled sample behaves as the quickstart expects.

use steerage_geo::{LocationId, LocationTable, SAMPLE_RANGES, Subdivision, widest_network};

fn docs_rows() -> Vec<(String, String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/geo.md");
    let text = std::fs::read_to_string(path).unwrap();
    let section = text.split("## The built-in sample dataset").nth(1).unwrap();
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<String> = l
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect();
            (cells[0].clone(), cells[1].clone(), cells[2].clone())
        })
        .collect()
}

#[test]
fn docs_table_lists_exactly_the_sample_ranges() {
    let rows = docs_rows();
    assert_eq!(rows.len(), SAMPLE_RANGES.len());
    for (row, range) in rows.iter().zip(SAMPLE_RANGES) {
        let mut location = vec![range.country.code().to_owned()];
        location.extend(range.subdivision.map(|s| s.code().to_owned()));
        location.extend(range.isp.map(|i| i.code().to_owned()));
        assert_eq!(
            row,
            &(
                range.network.to_string(),
                location.join(", "),
                range.client.to_string()
            )
        );
    }
}

#[test]
fn sample_table_answers_every_example_client() {
    let table = LocationTable::sample();
    let mut seen = std::collections::HashSet::new();
    for range in SAMPLE_RANGES {
        let ip = range.client;
        let hit = table.lookup(ip);
        assert_ne!(hit.id, LocationId::UNKNOWN);
        seen.insert(hit.id);
        let location = table.location(hit.id);
        assert_eq!(location.subdivision, range.subdivision);
        assert_eq!(location.isp, range.isp);
        assert_eq!(hit.network(ip), range.network);
        assert_eq!(widest_network(ip, hit.start, hit.end), Some(range.network));
    }
    // Four locations have an IPv4 and an IPv6 range each (CN-BJ telecom,
    // CN-GD mobile, US-CA, DE): one interned location each.
    assert_eq!(seen.len(), SAMPLE_RANGES.len() - 4);
    assert_eq!(table.locations().len(), seen.len() + 1);
    // 203.0.113.0/24 is Shanghai telecom: what `dig +subnet=203.0.113.7/24` shows.
    let sh = table.locate("203.0.113.7".parse().unwrap());
    assert_eq!(sh.subdivision.map(Subdivision::code), Some("CN-SH"));
    assert_eq!(sh.network.map(|n| n.prefix_len()), Some(24));
    // Iteration covers all of IPv4 and IPv6 with the sample ranges in it.
    let known_v4 = table
        .ranges_v4()
        .filter(|r| r.2 != LocationId::UNKNOWN)
        .count();
    let known_v6 = table
        .ranges_v6()
        .filter(|r| r.2 != LocationId::UNKNOWN)
        .count();
    assert_eq!(known_v4 + known_v6, SAMPLE_RANGES.len());
}
