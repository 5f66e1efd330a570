//! The ASN-to-carrier table: which autonomous systems belong to China's
//! carriers (China Telecom, China Unicom, China Mobile with China TieTong,
//! CERNET, and China Broadnet's cable and broadcast-TV networks), checked
//! against the real ASN data.

use crate::Isp;

/// One autonomous system of a China carrier, with the organisation name the
/// ASN data (`asn-ipv4.csv`, DB-IP / RouteViews / NRO) gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CarrierAsn {
    /// The AS number.
    pub asn: u32,
    /// The carrier.
    pub isp: Isp,
    /// The organisation as registered (for review; the real-data test checks
    /// it against the CSV).
    pub organisation: &'static str,
}

const fn t(asn: u32, organisation: &'static str) -> CarrierAsn {
    CarrierAsn {
        asn,
        isp: Isp::Telecom,
        organisation,
    }
}
const fn u(asn: u32, organisation: &'static str) -> CarrierAsn {
    CarrierAsn {
        asn,
        isp: Isp::Unicom,
        organisation,
    }
}
const fn m(asn: u32, organisation: &'static str) -> CarrierAsn {
    CarrierAsn {
        asn,
        isp: Isp::Mobile,
        organisation,
    }
}
const fn c(asn: u32, organisation: &'static str) -> CarrierAsn {
    CarrierAsn {
        asn,
        isp: Isp::Cernet,
        organisation,
    }
}
const fn b(asn: u32, organisation: &'static str) -> CarrierAsn {
    CarrierAsn {
        asn,
        isp: Isp::Broadnet,
        organisation,
    }
}

/// Every carrier ASN, sorted by number.
///
/// Cloud and content networks are deliberately absent even where they sit
/// in carrier data centres (Alibaba AS37963, Tencent AS45090 / AS133478,
/// Huawei Cloud AS55990, Volcano Engine AS137718, Baidu AS38365…), as are
/// the carriers' international arms, which serve clients outside China
/// mainland, and other networks (China eGovNet AS37937, CNIX AS4847).
/// China Broadnet is every provincial and city cable or broadcast-TV
/// network; the broadcasters' own networks (China Central Television
/// AS45075, China Radio International AS55468) serve no subscribers and are
/// absent.
pub const CARRIER_ASNS: &[CarrierAsn] = &[
    t(4134, "Chinanet"),
    c(4538, "China Education and Research Network Center"),
    u(4808, "China Unicom Beijing Province Network"),
    t(4809, "China Telecom Next Generation Carrier Network"),
    t(4811, "China Telecom (Group)"),
    t(4812, "China Telecom (Group)"),
    t(4813, "China Telecom(Group)"),
    t(4816, "China Telecom (Group)"),
    t(4835, "China Telecom (Group)"),
    u(4837, "CHINA UNICOM China169 Backbone"),
    b(7641, "China Broadcasting TV Net"),
    m(9394, "China TieTong Telecommunications Corporation"),
    c(9425, "China Education and Research Network (CERNET)"),
    m(9808, "China Mobile"),
    b(9812, "Oriental Cable Network Co., Ltd."),
    u(9929, "CHINA UNICOM Industrial Internet Backbone"),
    u(10206, "China Unicom Zhongwei Cloud"),
    b(17429, "BEIJING GEHUA CATV NETWORK CO.LTD"),
    u(17621, "China Unicom Shanghai network"),
    u(17622, "China Unicom Guangzhou network"),
    u(17623, "China Unicom Shenzen network"),
    t(17633, "ASN for Shandong Provincial Net of CT"),
    t(17638, "ASN for TIANJIN Provincial Net of CT"),
    u(17789, "CNCGROUP IP network of ShangHai IDC"),
    t(17799, "asn for Liaoning Provincial Net of CT"),
    u(17816, "China Unicom IP network China169 Guangdong province"),
    t(17897, "asn for Heilongjiang Provincial Net of CT"),
    b(17962, "ShenZhen Topway Video Communication Co. Ltd"),
    b(17969, "ChongQing Broadcast & TV Transfer Network Co. Ltd"),
    t(23650, "Chinanet Jiangsu"),
    t(23724, "IDC, China Telecommunications Corporation"),
    t(23764, "China Telecom Global Limited"),
    b(23771, "SXBCTV ,Internet Service Provider,"),
    b(23840, "TEDA Cable Television Network Co.,Ltd"),
    m(24138, "China TieTong Telecommunications Corporation"),
    b(24139, "Huashu media&Network Limited"),
    b(24143, "Qingdao Cable TV Network Center"),
    c(24302, "China Education and Research Network (CERNET)"),
    c(24348, "CERNET2 IX at Tsinghua University"),
    c(24349, "CERNET2 IX at Peking University"),
    c(
        24350,
        "CERNET2 IX at Beijing University of Posts and Telecommunications",
    ),
    c(24352, "CERNET2 IX at Tianjin University"),
    c(24353, "CERNET2 IX at Xi'an Jiaotong University"),
    c(
        24355,
        "CERNET2 IX at University of Electronic Science and Technology of China",
    ),
    c(24356, "CERNET2 IX at Chongqing University"),
    c(24357, "CERNET2 IX at South China University of Technology"),
    c(
        24358,
        "CERNET2 IX at Huazhong University of Science and Technology",
    ),
    c(24361, "CERNET2 IX at Southeast University"),
    c(
        24362,
        "CERNET2 IX at University of Science and Technology of China",
    ),
    c(24363, "CERNET2 IX at Shandong University"),
    c(24364, "CERNET2 IX at Shanghai Jiaotong University"),
    c(24367, "CERNET2 IX at Zhejiang University"),
    c(24369, "CERNET2 IX at Northeast University"),
    c(24370, "CERNET2 IX at Dalian University of Technology"),
    c(24371, "CERNET2 IX at Jilin University"),
    c(24372, "CERNET2 IX at Harbin Institute of Technology"),
    m(24400, "China Mobile"),
    m(24444, "China Mobile"),
    m(24445, "China Mobile"),
    m(24547, "China Mobile"),
    m(38019, "China Mobile"),
    c(38255, "China Education and Research Network (CERNET)"),
    c(38272, "China Education and Research Network (CERNET)"),
    t(38283, "CHINANET SiChuan Telecom Internet Data Center"),
    c(38587, "CERNET Internet Data Center"),
    m(45057, "CHINA TIETONG SHANGHAI"),
    u(45083, "China UNICOM, Beijing Branch"),
    b(
        45106,
        "JIANGSU BROADCASTING DATA NETWORK CORPORATION LIMITED",
    ),
    m(56040, "China Mobile Communications Corporation"),
    m(56041, "China Mobile Communications Corporation"),
    m(56042, "China Mobile Communications Corporation"),
    m(56044, "China Mobile Communications Corporation"),
    m(56045, "China Mobile Communications Corporation"),
    m(56046, "China Mobile Communications Corporation"),
    m(56047, "China Mobile Communications Corporation"),
    m(56048, "China Mobile Communications Corporation"),
    m(58453, "China Mobile International Limited"),
    t(58461, "Chinanet"),
    t(58466, "CHINANET Guangdong province network"),
    t(58517, "China Telecom"),
    t(58518, "China Telecom"),
    t(58563, "CHINANET Hubei province network"),
    t(58772, "CHINANET Fujian province Fuzhou IDC network"),
    m(58807, "China Mobile International Limited"),
    b(58834, "Guangdong Cable Corporation Limited"),
    b(
        58852,
        "Guizhou provincial radio and television information Network Inc",
    ),
    b(59016, "China Broadcast Henan Network Co., Ltd"),
    b(59064, "The North United Cable Network.Inc"),
    b(59084, "SHANXI CABLE&BROADCASTING INFORMATION NETWORK"),
    t(59223, "CHINANET Qinghai province IDC network"),
    t(59265, "China telecom ? China Next Generation Internet"),
    t(63527, "China Telecom Global Limited"),
    b(
        63581,
        "GUANGXI RADIO & TELEVISION INFORMATION NETWORK CO.,LTD.",
    ),
    b(63590, "Hebei Broadcasting&TV Network"),
    b(
        63607,
        "Anhui Radio and Television Information Network Co.,Ltd.",
    ),
    b(63621, "NINGXIA BROADCAST&TV NETWORK CO.,LTD"),
    b(
        63704,
        "Guizhou provincial radio and television information Network Inc",
    ),
    b(
        63719,
        "Gansu Province Radio and Television Network Co., Ltd.",
    ),
    t(64079, "China Telecom Global Limited"),
    t(131285, "China Telecom"),
    t(131325, "CHINATELECOM JIANGSU province NANTONG MAN network"),
    b(131506, "HEILONGJIANG RADIO & TV NETWORK CO.,LTD"),
    b(131562, "HUNAN CATV Network Group CO.,LTD."),
    b(
        131565,
        "INNER MONGOLIA BROADCAST&TV NETWORK GROUP CORPORATION",
    ),
    t(132225, "China Telecom"),
    m(132389, "China Mobile International Limited"),
    t(132437, "China Telecom"),
    m(132510, "China Mobile Communications Corporation"),
    m(132525, "China Mobile Communications Corporation"),
    t(132536, "China Telecom"),
    t(132833, "China Telecom"),
    u(133118, "China Unicom IP network"),
    u(133119, "China Unicom IP network"),
    t(134238, "CHINANET Jiangx province IDC network"),
    t(134417, "Nanjing"), // in a block of China Telecom MAN ASNs
    t(134419, "Beihai"),  // in a block of China Telecom MAN ASNs
    t(134420, "Chongqing Telecom"),
    t(134421, "Yunnan Telecom"),
    t(134425, "China Telecom"),
    u(134542, "China Unicom IP network"),
    u(134543, "China Unicom Guangdong IP network"),
    t(134756, "China Telecom"),
    t(134760, "Shijiazhuang IDC network, CHINANET Hebei province"),
    t(134761, "CHINANET NINGXIA province ZHONGWEI IDC network"),
    t(134762, "CHINANET Liaoning province Dalian MAN network"),
    t(134763, "CHINANET Guangdong province network"),
    t(134764, "CHINANET Guangdong province network"),
    t(134765, "CHINANET Yunnan province IDC1 network"),
    t(134766, "CHINANET Yunnan province IDC2 network"),
    t(134767, "CHINANET Sichuan province Chengdu MAN network"),
    t(134768, "CHINANET SHAANXI province Cloud Base network"),
    t(134769, "ChinaNet Jiangsu Changzhou Liyang IDC network"),
    t(134770, "CHINANET Jiangsu province Suzhou taihu IDC network"),
    t(134771, "WENZHOU, ZHEJIANG Province, P.R.China."), // in a block of China Telecom MAN ASNs
    t(134772, "CHINANET Guangdong province Dongguan MAN network"),
    t(134773, "CHINANET Guangdong province Guangzhou MAN network"),
    t(134774, "CHINANET Guangdong province Shenzhen MAN network"),
    m(134810, "China Mobile Communications Corporation"),
    b(135011, "Kunming Broadcast&TV Network CO.,LTD"),
    m(135054, "China Mobile Communications Corporation"),
    u(135061, "China Unicom Guangdong IP network"),
    t(135089, "China Telecom"),
    t(136188, "NINGBO, ZHEJIANG Province, P.R.China."), // in a block of China Telecom MAN ASNs
    t(136190, "JINHUA, ZHEJIANG Province, P.R.China."), // in a block of China Telecom MAN ASNs
    t(136191, "YICHANG, Hubei Province, P.R.China."),   // in a block of China Telecom MAN ASNs
    t(136192, "Xiangyang, Hubei Province, P.R.China."), // in a block of China Telecom MAN ASNs
    t(136194, "Huangshi, Hubei Province, P.R.China."),  // in a block of China Telecom MAN ASNs
    t(136195, "Qingdao, Shandong Province, P.R.China."), // in a block of China Telecom MAN ASNs
    t(136197, "Xiong'an, Hebei Province, P.R.China."),  // in a block of China Telecom MAN ASNs
    t(136198, "CHINANET Guangdong province Yuexi MAN network"),
    t(136199, "CHINANET Guangdong province Yuedong MAN network"),
    t(136200, "CHINANET Guangdong province Foshan MAN network"),
    m(136750, "China Mobile International Limited"),
    u(136958, "China Unicom Guangdong IP network"),
    u(136959, "China Unicom Guangdong IP network"),
    t(137266, "China Telecom"),
    u(137539, "China Unicom"),
    t(137688, "CHINATELECOM Liaoning Benxi MAN"),
    t(137689, "IOT Jiangsu network, Chinatelecom, P.R.China."),
    t(137690, "Zaozhuang,Shandong Province, P.R.China."), // in a block of China Telecom MAN ASNs
    t(137691, "Heilongjiang Province, P.R.China."),       // in a block of China Telecom MAN ASNs
    t(137692, "IOT Guangdong network, Chinatelecom, P.R.China."),
    t(
        137693,
        "CHINATELECOM Guangxi Nanning IDC networkdescr: Nanning , Guangxi Province, P.R.",
    ),
    t(137694, "CHINATELECOM Xinjiang Kezhou MAN network"),
    t(137695, "CHINATELECOM Xinjiang Wulumuqi MAN network"),
    t(
        137697,
        "CHINATELECOM JiangSu YangZhou IDC networkdescr: YangZhou , Jiangsu Province, P.",
    ),
    t(137698, "Haerbing , Heilongjiang Province, P.R.China."), // in a block of China Telecom MAN ASNs
    t(137699, "CHINATELECOM Jiangsu Suqian IDC network"),
    t(137702, "China Telecom"),
    b(137755, "China Radio and Television Qinghai Network Co. Ltd"),
    t(138169, "China Telecom"),
    c(138369, "China Education and Research Network (CERNET)"),
    c(138371, "China Education and Research Network (CERNET)"),
    c(138378, "China Education and Research Network (CERNET)"),
    c(138381, "China Education and Research Network (CERNET)"),
    c(138393, "China Education and Research Network (CERNET)"),
    m(138407, "China Mobile Communications Corporation"),
    u(138421, "China Unicom"),
    c(138438, "China Education and Research Network (CERNET)"),
    t(138570, "China Telecom"),
    t(138950, "China Telecom"),
    t(138982, "China Telecom"),
    t(138991, "China Telecom"),
    u(139007, "UNICOM InnerMongolia province network"),
    t(139018, "China Telecom"),
    m(139080, "China Mobile Communications Corporation"),
    t(139201, "China Telecom"),
    t(139203, "China Telecom"),
    t(139220, "China Telecom"),
    t(139462, "China Telecom"),
    t(139587, "China Telecom"),
    m(139619, "China Mobile International Limited"),
    t(139721, "China Telecom"),
    t(139767, "China Telecom"),
    t(139887, "China Telecom"),
    t(140061, "China Telecom"),
    t(140083, "China Telecom"),
    m(140105, "China Mobile Communications Corporation"),
    t(140292, "China Telecom"),
    t(140293, "China Telecom"),
    t(140308, "China Telecom"),
    t(140309, "China Telecom"),
    t(140311, "China Telecom"),
    t(140318, "China Telecom"),
    t(140319, "China Telecom"),
    t(140320, "China Telecom"),
    t(140329, "China Telecom"),
    t(140330, "China Telecom"),
    t(140345, "China Telecom"),
    t(140484, "China Telecom"),
    t(140485, "China Telecom"),
    t(140486, "China Telecom"),
    t(140527, "China Telecom"),
    t(140553, "China Telecom"),
    t(140636, "China Telecom"),
    t(140638, "China Telecom"),
    t(140647, "China Telecom"),
    u(140707, "China Unicom"),
    u(140716, "China Unicom"),
    u(140717, "China Unicom"),
    u(140726, "China Unicom"),
    u(140886, "China Unicom"),
    t(140903, "China Telecom"),
    u(140979, "China Unicom"),
    t(141006, "China Telecom"),
    t(141025, "China Telecom"),
    m(141425, "China Mobile Communications Corporation"),
    t(141679, "China Telecom"),
    t(141739, "China Telecom"),
    t(141771, "China Telecom"),
    t(141998, "China Telecom"),
    t(142404, "China Telecom"),
    t(142608, "China Telecom"),
    b(146788, "China Broadcasting Network Co., Ltd"),
    b(146838, "China Broadcasting TV Net"),
    t(146966, "China Telecom"),
    t(147038, "China Telecom"),
    t(148969, "China Telecom"),
    t(148981, "China Telecom"),
    t(149178, "China Telecom"),
    t(149837, "China Telecom"),
    t(149979, "China Telecom"),
    t(150145, "China Telecom"),
    t(151058, "China Telecom"),
    t(151185, "China Telecom"),
    t(151397, "China Telecom"),
    t(151823, "China Telecom"),
    u(152120, "China Unicom"),
];

impl Isp {
    /// The China carrier that owns autonomous system `asn`, from
    /// [`CARRIER_ASNS`]; `None` for every other network.
    pub fn from_asn(asn: u32) -> Option<Self> {
        CARRIER_ASNS
            .binary_search_by_key(&asn, |entry| entry.asn)
            .ok()
            .map(|i| CARRIER_ASNS[i].isp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_without_duplicates() {
        assert!(CARRIER_ASNS.windows(2).all(|w| w[0].asn < w[1].asn));
    }

    #[test]
    fn the_backbones_and_no_cloud_provider() {
        assert_eq!(Isp::from_asn(4134), Some(Isp::Telecom));
        assert_eq!(Isp::from_asn(4837), Some(Isp::Unicom));
        assert_eq!(Isp::from_asn(9808), Some(Isp::Mobile));
        for cloud in [
            37963, 45090, 133478, 55990, 137718, 38365, 37937, 4847, 13335, 0,
        ] {
            assert_eq!(Isp::from_asn(cloud), None, "AS{cloud}");
        }
    }
}
