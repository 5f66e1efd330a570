//! The built-in catalogue: every country, the subdivisions with lines, and the
//! English names IP databases use for them. Pure data; `Country`,
//! `Subdivision` and `Line` are thin views over these tables.
//!
//! Both tables are sorted by code so lookups are binary searches and the
//! derived `Ord` of `Country` / `Subdivision` (an index) is code order; unit
//! tests check the order, the counts and that every name resolves.

use crate::Continent;
use crate::Continent::{
    Africa as AF, Antarctica as AN, Asia as AS, Europe as EU, NorthAmerica as NA, Oceania as OC,
    SouthAmerica as SA,
};

/// One country or region.
#[derive(Debug)]
pub(crate) struct CountryEntry {
    /// Upper-case ISO 3166-1 alpha-2 code.
    pub(crate) code: &'static str,
    /// English short name.
    pub(crate) name: &'static str,
    /// Continent, as GeoIP2 databases assign it.
    pub(crate) continent: Continent,
    /// Chinese name, where users commonly need one.
    pub(crate) chinese: Option<&'static str>,
}

const fn c(code: &'static str, name: &'static str, continent: Continent) -> CountryEntry {
    CountryEntry {
        code,
        name,
        continent,
        chinese: None,
    }
}

impl CountryEntry {
    const fn zh(self, chinese: &'static str) -> Self {
        Self {
            chinese: Some(chinese),
            ..self
        }
    }
}

/// Every ISO 3166-1 alpha-2 code officially assigned (249), plus `XK`
/// (Kosovo), the user-assigned code that DB-IP, MaxMind and the RIRs use, so
/// that addresses there keep their country. Continents follow the GeoIP2
/// convention (RU and CY in Europe, TR and the Caucasus in Asia, EG in Africa,
/// the uninhabited southern islands in Antarctica).
pub(crate) const COUNTRIES: &[CountryEntry] = &[
    c("AD", "Andorra", EU),
    c("AE", "United Arab Emirates", AS).zh("阿联酋"),
    c("AF", "Afghanistan", AS),
    c("AG", "Antigua and Barbuda", NA),
    c("AI", "Anguilla", NA),
    c("AL", "Albania", EU),
    c("AM", "Armenia", AS),
    c("AO", "Angola", AF),
    c("AQ", "Antarctica", AN),
    c("AR", "Argentina", SA).zh("阿根廷"),
    c("AS", "American Samoa", OC),
    c("AT", "Austria", EU).zh("奥地利"),
    c("AU", "Australia", OC).zh("澳大利亚"),
    c("AW", "Aruba", NA),
    c("AX", "Åland Islands", EU),
    c("AZ", "Azerbaijan", AS),
    c("BA", "Bosnia and Herzegovina", EU),
    c("BB", "Barbados", NA),
    c("BD", "Bangladesh", AS).zh("孟加拉国"),
    c("BE", "Belgium", EU).zh("比利时"),
    c("BF", "Burkina Faso", AF),
    c("BG", "Bulgaria", EU),
    c("BH", "Bahrain", AS),
    c("BI", "Burundi", AF),
    c("BJ", "Benin", AF),
    c("BL", "Saint Barthélemy", NA),
    c("BM", "Bermuda", NA),
    c("BN", "Brunei", AS),
    c("BO", "Bolivia", SA),
    c("BQ", "Caribbean Netherlands", NA),
    c("BR", "Brazil", SA).zh("巴西"),
    c("BS", "Bahamas", NA),
    c("BT", "Bhutan", AS),
    c("BV", "Bouvet Island", AN),
    c("BW", "Botswana", AF),
    c("BY", "Belarus", EU),
    c("BZ", "Belize", NA),
    c("CA", "Canada", NA).zh("加拿大"),
    c("CC", "Cocos (Keeling) Islands", AS),
    c("CD", "DR Congo", AF),
    c("CF", "Central African Republic", AF),
    c("CG", "Congo", AF),
    c("CH", "Switzerland", EU).zh("瑞士"),
    c("CI", "Côte d'Ivoire", AF),
    c("CK", "Cook Islands", OC),
    c("CL", "Chile", SA).zh("智利"),
    c("CM", "Cameroon", AF),
    c("CN", "China", AS).zh("中国大陆"),
    c("CO", "Colombia", SA),
    c("CR", "Costa Rica", NA),
    c("CU", "Cuba", NA),
    c("CV", "Cabo Verde", AF),
    c("CW", "Curaçao", NA),
    c("CX", "Christmas Island", AS),
    c("CY", "Cyprus", EU),
    c("CZ", "Czechia", EU).zh("捷克"),
    c("DE", "Germany", EU).zh("德国"),
    c("DJ", "Djibouti", AF),
    c("DK", "Denmark", EU).zh("丹麦"),
    c("DM", "Dominica", NA),
    c("DO", "Dominican Republic", NA),
    c("DZ", "Algeria", AF),
    c("EC", "Ecuador", SA),
    c("EE", "Estonia", EU),
    c("EG", "Egypt", AF).zh("埃及"),
    c("EH", "Western Sahara", AF),
    c("ER", "Eritrea", AF),
    c("ES", "Spain", EU).zh("西班牙"),
    c("ET", "Ethiopia", AF),
    c("FI", "Finland", EU).zh("芬兰"),
    c("FJ", "Fiji", OC),
    c("FK", "Falkland Islands", SA),
    c("FM", "Micronesia", OC),
    c("FO", "Faroe Islands", EU),
    c("FR", "France", EU).zh("法国"),
    c("GA", "Gabon", AF),
    c("GB", "United Kingdom", EU).zh("英国"),
    c("GD", "Grenada", NA),
    c("GE", "Georgia", AS),
    c("GF", "French Guiana", SA),
    c("GG", "Guernsey", EU),
    c("GH", "Ghana", AF),
    c("GI", "Gibraltar", EU),
    c("GL", "Greenland", NA),
    c("GM", "Gambia", AF),
    c("GN", "Guinea", AF),
    c("GP", "Guadeloupe", NA),
    c("GQ", "Equatorial Guinea", AF),
    c("GR", "Greece", EU).zh("希腊"),
    c("GS", "South Georgia and the South Sandwich Islands", AN),
    c("GT", "Guatemala", NA),
    c("GU", "Guam", OC),
    c("GW", "Guinea-Bissau", AF),
    c("GY", "Guyana", SA),
    c("HK", "Hong Kong", AS).zh("香港"),
    c("HM", "Heard Island and McDonald Islands", AN),
    c("HN", "Honduras", NA),
    c("HR", "Croatia", EU),
    c("HT", "Haiti", NA),
    c("HU", "Hungary", EU).zh("匈牙利"),
    c("ID", "Indonesia", AS).zh("印度尼西亚"),
    c("IE", "Ireland", EU).zh("爱尔兰"),
    c("IL", "Israel", AS).zh("以色列"),
    c("IM", "Isle of Man", EU),
    c("IN", "India", AS).zh("印度"),
    c("IO", "British Indian Ocean Territory", AS),
    c("IQ", "Iraq", AS),
    c("IR", "Iran", AS).zh("伊朗"),
    c("IS", "Iceland", EU),
    c("IT", "Italy", EU).zh("意大利"),
    c("JE", "Jersey", EU),
    c("JM", "Jamaica", NA),
    c("JO", "Jordan", AS),
    c("JP", "Japan", AS).zh("日本"),
    c("KE", "Kenya", AF),
    c("KG", "Kyrgyzstan", AS),
    c("KH", "Cambodia", AS).zh("柬埔寨"),
    c("KI", "Kiribati", OC),
    c("KM", "Comoros", AF),
    c("KN", "Saint Kitts and Nevis", NA),
    c("KP", "North Korea", AS).zh("朝鲜"),
    c("KR", "South Korea", AS).zh("韩国"),
    c("KW", "Kuwait", AS),
    c("KY", "Cayman Islands", NA),
    c("KZ", "Kazakhstan", AS).zh("哈萨克斯坦"),
    c("LA", "Laos", AS).zh("老挝"),
    c("LB", "Lebanon", AS),
    c("LC", "Saint Lucia", NA),
    c("LI", "Liechtenstein", EU),
    c("LK", "Sri Lanka", AS),
    c("LR", "Liberia", AF),
    c("LS", "Lesotho", AF),
    c("LT", "Lithuania", EU),
    c("LU", "Luxembourg", EU),
    c("LV", "Latvia", EU),
    c("LY", "Libya", AF),
    c("MA", "Morocco", AF),
    c("MC", "Monaco", EU),
    c("MD", "Moldova", EU),
    c("ME", "Montenegro", EU),
    c("MF", "Saint Martin", NA),
    c("MG", "Madagascar", AF),
    c("MH", "Marshall Islands", OC),
    c("MK", "North Macedonia", EU),
    c("ML", "Mali", AF),
    c("MM", "Myanmar", AS).zh("缅甸"),
    c("MN", "Mongolia", AS).zh("蒙古国"),
    c("MO", "Macao", AS).zh("澳门"),
    c("MP", "Northern Mariana Islands", OC),
    c("MQ", "Martinique", NA),
    c("MR", "Mauritania", AF),
    c("MS", "Montserrat", NA),
    c("MT", "Malta", EU),
    c("MU", "Mauritius", AF),
    c("MV", "Maldives", AS),
    c("MW", "Malawi", AF),
    c("MX", "Mexico", NA).zh("墨西哥"),
    c("MY", "Malaysia", AS).zh("马来西亚"),
    c("MZ", "Mozambique", AF),
    c("NA", "Namibia", AF),
    c("NC", "New Caledonia", OC),
    c("NE", "Niger", AF),
    c("NF", "Norfolk Island", OC),
    c("NG", "Nigeria", AF).zh("尼日利亚"),
    c("NI", "Nicaragua", NA),
    c("NL", "Netherlands", EU).zh("荷兰"),
    c("NO", "Norway", EU).zh("挪威"),
    c("NP", "Nepal", AS).zh("尼泊尔"),
    c("NR", "Nauru", OC),
    c("NU", "Niue", OC),
    c("NZ", "New Zealand", OC).zh("新西兰"),
    c("OM", "Oman", AS),
    c("PA", "Panama", NA),
    c("PE", "Peru", SA),
    c("PF", "French Polynesia", OC),
    c("PG", "Papua New Guinea", OC),
    c("PH", "Philippines", AS).zh("菲律宾"),
    c("PK", "Pakistan", AS).zh("巴基斯坦"),
    c("PL", "Poland", EU).zh("波兰"),
    c("PM", "Saint Pierre and Miquelon", NA),
    c("PN", "Pitcairn Islands", OC),
    c("PR", "Puerto Rico", NA),
    c("PS", "Palestine", AS),
    c("PT", "Portugal", EU).zh("葡萄牙"),
    c("PW", "Palau", OC),
    c("PY", "Paraguay", SA),
    c("QA", "Qatar", AS),
    c("RE", "Réunion", AF),
    c("RO", "Romania", EU),
    c("RS", "Serbia", EU),
    c("RU", "Russia", EU).zh("俄罗斯"),
    c("RW", "Rwanda", AF),
    c("SA", "Saudi Arabia", AS).zh("沙特阿拉伯"),
    c("SB", "Solomon Islands", OC),
    c("SC", "Seychelles", AF),
    c("SD", "Sudan", AF),
    c("SE", "Sweden", EU).zh("瑞典"),
    c("SG", "Singapore", AS).zh("新加坡"),
    c("SH", "Saint Helena, Ascension and Tristan da Cunha", AF),
    c("SI", "Slovenia", EU),
    c("SJ", "Svalbard and Jan Mayen", EU),
    c("SK", "Slovakia", EU),
    c("SL", "Sierra Leone", AF),
    c("SM", "San Marino", EU),
    c("SN", "Senegal", AF),
    c("SO", "Somalia", AF),
    c("SR", "Suriname", SA),
    c("SS", "South Sudan", AF),
    c("ST", "São Tomé and Príncipe", AF),
    c("SV", "El Salvador", NA),
    c("SX", "Sint Maarten", NA),
    c("SY", "Syria", AS),
    c("SZ", "Eswatini", AF),
    c("TC", "Turks and Caicos Islands", NA),
    c("TD", "Chad", AF),
    c("TF", "French Southern Territories", AN),
    c("TG", "Togo", AF),
    c("TH", "Thailand", AS).zh("泰国"),
    c("TJ", "Tajikistan", AS),
    c("TK", "Tokelau", OC),
    c("TL", "Timor-Leste", AS),
    c("TM", "Turkmenistan", AS),
    c("TN", "Tunisia", AF),
    c("TO", "Tonga", OC),
    c("TR", "Türkiye", AS).zh("土耳其"),
    c("TT", "Trinidad and Tobago", NA),
    c("TV", "Tuvalu", OC),
    c("TW", "Taiwan", AS).zh("台湾"),
    c("TZ", "Tanzania", AF),
    c("UA", "Ukraine", EU).zh("乌克兰"),
    c("UG", "Uganda", AF),
    c("UM", "United States Minor Outlying Islands", OC),
    c("US", "United States", NA).zh("美国"),
    c("UY", "Uruguay", SA),
    c("UZ", "Uzbekistan", AS),
    c("VA", "Vatican City", EU),
    c("VC", "Saint Vincent and the Grenadines", NA),
    c("VE", "Venezuela", SA),
    c("VG", "British Virgin Islands", NA),
    c("VI", "U.S. Virgin Islands", NA),
    c("VN", "Vietnam", AS).zh("越南"),
    c("VU", "Vanuatu", OC),
    c("WF", "Wallis and Futuna", OC),
    c("WS", "Samoa", OC),
    c("XK", "Kosovo", EU),
    c("YE", "Yemen", AS),
    c("YT", "Mayotte", AF),
    c("ZA", "South Africa", AF).zh("南非"),
    c("ZM", "Zambia", AF),
    c("ZW", "Zimbabwe", AF),
];

/// The index of a country code in [`COUNTRIES`], at compile time: a typo in
/// the subdivision table below is a build error, not a runtime panic.
pub(crate) const fn country_index(code: &str) -> u16 {
    let code = code.as_bytes();
    let mut i = 0;
    while i < COUNTRIES.len() {
        let entry = COUNTRIES[i].code.as_bytes();
        if entry[0] == code[0] && entry[1] == code[1] {
            // The table has 250 rows, far below u16::MAX.
            return i as u16;
        }
        i += 1;
    }
    panic!("subdivision code names a country missing from COUNTRIES")
}

/// The index of a subdivision code in [`SUBDIVISIONS`], at compile time.
pub(crate) const fn subdivision_index(code: &str) -> u16 {
    let code = code.as_bytes();
    let mut i = 0;
    while i < SUBDIVISIONS.len() {
        let entry = SUBDIVISIONS[i].code.as_bytes();
        if entry.len() == code.len() {
            let mut j = 0;
            while j < code.len() && entry[j] == code[j] {
                j += 1;
            }
            if j == code.len() {
                // The table has 118 rows, far below u16::MAX.
                return i as u16;
            }
        }
        i += 1;
    }
    panic!("subdivision code missing from SUBDIVISIONS")
}

/// One first-level subdivision.
#[derive(Debug)]
pub(crate) struct SubdivisionEntry {
    /// Full upper-case ISO 3166-2 code (`CN-BJ`).
    pub(crate) code: &'static str,
    /// Index of its country in [`COUNTRIES`].
    pub(crate) country: u16,
    /// English name, as DB-IP spells it.
    pub(crate) name: &'static str,
    /// Chinese name (China's provinces only).
    pub(crate) chinese: Option<&'static str>,
    /// Other English spellings IP databases and ISO use for it. Matching also
    /// ignores case, punctuation, `&` versus `and`, and administrative
    /// suffixes (`Sheng`, `Shi`, `Province`, …), so those need no entry here.
    pub(crate) aliases: &'static [&'static str],
}

const fn s(code: &'static str, name: &'static str) -> SubdivisionEntry {
    SubdivisionEntry {
        code,
        country: country_index(code),
        name,
        chinese: None,
        aliases: &[],
    }
}

impl SubdivisionEntry {
    const fn zh(self, chinese: &'static str) -> Self {
        Self {
            chinese: Some(chinese),
            ..self
        }
    }
    const fn aka(self, aliases: &'static [&'static str]) -> Self {
        Self { aliases, ..self }
    }
}

/// China's 31 mainland provincial divisions (ISO 3166-2:CN, alphabetic codes
/// since 2017; HK, MO and TW are countries here, not subdivisions), the 50 US
/// states and DC, and India's 28 states and 8 union territories (ISO 3166-2:IN
/// with the 2023 codes CG, OD, TS, UK).
pub(crate) const SUBDIVISIONS: &[SubdivisionEntry] = &[
    s("CN-AH", "Anhui").zh("安徽"),
    s("CN-BJ", "Beijing").zh("北京").aka(&["Peking"]),
    s("CN-CQ", "Chongqing").zh("重庆"),
    s("CN-FJ", "Fujian").zh("福建"),
    s("CN-GD", "Guangdong").zh("广东"),
    s("CN-GS", "Gansu").zh("甘肃"),
    s("CN-GX", "Guangxi").zh("广西").aka(&[
        "Guangxi Zhuang",
        "Guangxi Zhuangzu",
        "Guangxi Zhuang Autonomous Region",
        "Guangxi Zhuangzu Zizhiqu",
    ]),
    s("CN-GZ", "Guizhou").zh("贵州"),
    s("CN-HA", "Henan").zh("河南"),
    s("CN-HB", "Hubei").zh("湖北"),
    s("CN-HE", "Hebei").zh("河北"),
    s("CN-HI", "Hainan").zh("海南"),
    s("CN-HL", "Heilongjiang").zh("黑龙江"),
    s("CN-HN", "Hunan").zh("湖南"),
    s("CN-JL", "Jilin").zh("吉林"),
    s("CN-JS", "Jiangsu").zh("江苏"),
    s("CN-JX", "Jiangxi").zh("江西"),
    s("CN-LN", "Liaoning").zh("辽宁"),
    s("CN-NM", "Inner Mongolia").zh("内蒙古").aka(&[
        "Nei Mongol",
        "Nei Menggu",
        "Inner Mongolia Autonomous Region",
        "Nei Mongol Zizhiqu",
    ]),
    s("CN-NX", "Ningxia").zh("宁夏").aka(&[
        "Ningxia Hui",
        "Ningxia Huizu",
        "Ningxia Hui Autonomous Region",
        "Ningxia Huizu Zizhiqu",
    ]),
    s("CN-QH", "Qinghai").zh("青海"),
    s("CN-SC", "Sichuan").zh("四川"),
    s("CN-SD", "Shandong").zh("山东"),
    s("CN-SH", "Shanghai").zh("上海"),
    s("CN-SN", "Shaanxi").zh("陕西"),
    s("CN-SX", "Shanxi").zh("山西"),
    s("CN-TJ", "Tianjin").zh("天津"),
    s("CN-XJ", "Xinjiang").zh("新疆").aka(&[
        "Xinjiang Uygur",
        "Xinjiang Uyghur",
        "Xinjiang Uighur",
        "Xinjiang Uygur Autonomous Region",
        "Xinjiang Uyghur Autonomous Region",
        "Xinjiang Uygur Zizhiqu",
    ]),
    s("CN-XZ", "Tibet").zh("西藏").aka(&[
        "Xizang",
        "Tibet Autonomous Region",
        "Xizang Autonomous Region",
        "Xizang Zizhiqu",
    ]),
    s("CN-YN", "Yunnan").zh("云南"),
    s("CN-ZJ", "Zhejiang").zh("浙江"),
    s("IN-AN", "Andaman and Nicobar Islands").aka(&["Andaman and Nicobar"]),
    s("IN-AP", "Andhra Pradesh"),
    s("IN-AR", "Arunachal Pradesh"),
    s("IN-AS", "Assam"),
    s("IN-BR", "Bihar"),
    s("IN-CG", "Chhattisgarh").aka(&["Chattisgarh"]),
    s("IN-CH", "Chandigarh"),
    s("IN-DH", "Dadra and Nagar Haveli and Daman and Diu")
        .aka(&["Dadra and Nagar Haveli", "Daman and Diu"]),
    s("IN-DL", "Delhi").aka(&[
        "National Capital Territory of Delhi",
        "NCT of Delhi",
        "New Delhi",
    ]),
    s("IN-GA", "Goa"),
    s("IN-GJ", "Gujarat"),
    s("IN-HP", "Himachal Pradesh"),
    s("IN-HR", "Haryana"),
    s("IN-JH", "Jharkhand"),
    s("IN-JK", "Jammu and Kashmir"),
    s("IN-KA", "Karnataka"),
    s("IN-KL", "Kerala"),
    s("IN-LA", "Ladakh"),
    s("IN-LD", "Lakshadweep"),
    s("IN-MH", "Maharashtra"),
    s("IN-ML", "Meghalaya"),
    s("IN-MN", "Manipur"),
    s("IN-MP", "Madhya Pradesh"),
    s("IN-MZ", "Mizoram"),
    s("IN-NL", "Nagaland"),
    s("IN-OD", "Odisha").aka(&["Orissa"]),
    s("IN-PB", "Punjab"),
    s("IN-PY", "Puducherry").aka(&["Pondicherry"]),
    s("IN-RJ", "Rajasthan"),
    s("IN-SK", "Sikkim"),
    s("IN-TN", "Tamil Nadu"),
    s("IN-TR", "Tripura"),
    s("IN-TS", "Telangana"),
    s("IN-UK", "Uttarakhand").aka(&["Uttaranchal"]),
    s("IN-UP", "Uttar Pradesh"),
    s("IN-WB", "West Bengal"),
    s("US-AK", "Alaska"),
    s("US-AL", "Alabama"),
    s("US-AR", "Arkansas"),
    s("US-AZ", "Arizona"),
    s("US-CA", "California"),
    s("US-CO", "Colorado"),
    s("US-CT", "Connecticut"),
    s("US-DC", "District of Columbia").aka(&["Washington, D.C.", "Washington DC", "D.C."]),
    s("US-DE", "Delaware"),
    s("US-FL", "Florida"),
    s("US-GA", "Georgia"),
    s("US-HI", "Hawaii"),
    s("US-IA", "Iowa"),
    s("US-ID", "Idaho"),
    s("US-IL", "Illinois"),
    s("US-IN", "Indiana"),
    s("US-KS", "Kansas"),
    s("US-KY", "Kentucky"),
    s("US-LA", "Louisiana"),
    s("US-MA", "Massachusetts"),
    s("US-MD", "Maryland"),
    s("US-ME", "Maine"),
    s("US-MI", "Michigan"),
    s("US-MN", "Minnesota"),
    s("US-MO", "Missouri"),
    s("US-MS", "Mississippi"),
    s("US-MT", "Montana"),
    s("US-NC", "North Carolina"),
    s("US-ND", "North Dakota"),
    s("US-NE", "Nebraska"),
    s("US-NH", "New Hampshire"),
    s("US-NJ", "New Jersey"),
    s("US-NM", "New Mexico"),
    s("US-NV", "Nevada"),
    s("US-NY", "New York"),
    s("US-OH", "Ohio"),
    s("US-OK", "Oklahoma"),
    s("US-OR", "Oregon"),
    s("US-PA", "Pennsylvania"),
    s("US-RI", "Rhode Island"),
    s("US-SC", "South Carolina"),
    s("US-SD", "South Dakota"),
    s("US-TN", "Tennessee"),
    s("US-TX", "Texas"),
    s("US-UT", "Utah"),
    s("US-VA", "Virginia"),
    s("US-VT", "Vermont"),
    s("US-WA", "Washington"),
    s("US-WI", "Wisconsin"),
    s("US-WV", "West Virginia"),
    s("US-WY", "Wyoming"),
];

/// Codes that ISO 3166-2 retired, or that databases still use, and the
/// current code they now mean. China's numeric codes (GB/T 2260, used by ISO
/// until 2017 and by older GeoIP2 builds and MaxMind's test data); India
/// changed four codes in 2023 and merged Dadra and Nagar Haveli (DN) with
/// Daman and Diu (DD) in 2020.
pub(crate) const SUBDIVISION_CODE_ALIASES: &[(&str, &str)] = &[
    ("CN-11", "CN-BJ"),
    ("CN-12", "CN-TJ"),
    ("CN-13", "CN-HE"),
    ("CN-14", "CN-SX"),
    ("CN-15", "CN-NM"),
    ("CN-21", "CN-LN"),
    ("CN-22", "CN-JL"),
    ("CN-23", "CN-HL"),
    ("CN-31", "CN-SH"),
    ("CN-32", "CN-JS"),
    ("CN-33", "CN-ZJ"),
    ("CN-34", "CN-AH"),
    ("CN-35", "CN-FJ"),
    ("CN-36", "CN-JX"),
    ("CN-37", "CN-SD"),
    ("CN-41", "CN-HA"),
    ("CN-42", "CN-HB"),
    ("CN-43", "CN-HN"),
    ("CN-44", "CN-GD"),
    ("CN-45", "CN-GX"),
    ("CN-46", "CN-HI"),
    ("CN-50", "CN-CQ"),
    ("CN-51", "CN-SC"),
    ("CN-52", "CN-GZ"),
    ("CN-53", "CN-YN"),
    ("CN-54", "CN-XZ"),
    ("CN-61", "CN-SN"),
    ("CN-62", "CN-GS"),
    ("CN-63", "CN-QH"),
    ("CN-64", "CN-NX"),
    ("CN-65", "CN-XJ"),
    ("IN-CT", "IN-CG"),
    ("IN-DD", "IN-DH"),
    ("IN-DN", "IN-DH"),
    ("IN-OR", "IN-OD"),
    ("IN-TG", "IN-TS"),
    ("IN-UT", "IN-UK"),
];

/// Administrative words that names carry in some databases and in ISO
/// (`Beijing Shi`, `Hebei Sheng`, `Tibet Autonomous Region`); stripped, once,
/// when a name does not match as given.
pub(crate) const NAME_SUFFIXES: &[&str] = &[
    " autonomous region",
    " zizhiqu",
    " municipality",
    " province",
    " sheng",
    " shi",
    " union territory",
    " state",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_are_sorted_unique_and_complete() {
        assert!(COUNTRIES.windows(2).all(|w| w[0].code < w[1].code));
        // 249 officially assigned codes plus XK.
        assert_eq!(COUNTRIES.len(), 250);
        for entry in COUNTRIES {
            assert_eq!(entry.code.len(), 2, "{}", entry.code);
            assert!(
                entry.code.bytes().all(|b| b.is_ascii_uppercase()),
                "{}",
                entry.code
            );
            assert!(!entry.name.is_empty());
        }
    }

    #[test]
    fn subdivisions_are_sorted_unique_and_complete() {
        assert!(SUBDIVISIONS.windows(2).all(|w| w[0].code < w[1].code));
        let count = |cc: &str| {
            SUBDIVISIONS
                .iter()
                .filter(|s| s.code.starts_with(cc))
                .count()
        };
        assert_eq!(count("CN-"), 31);
        assert_eq!(count("US-"), 51);
        assert_eq!(count("IN-"), 36);
        assert_eq!(SUBDIVISIONS.len(), 31 + 51 + 36);
        for entry in SUBDIVISIONS {
            assert_eq!(COUNTRIES[usize::from(entry.country)].code, &entry.code[..2]);
            assert_eq!(entry.code.as_bytes()[2], b'-');
            // Every China province has a Chinese name, and only those.
            assert_eq!(
                entry.chinese.is_some(),
                entry.code.starts_with("CN-"),
                "{}",
                entry.code
            );
        }
    }

    #[test]
    fn code_aliases_point_at_current_codes_and_are_not_codes_themselves() {
        for (old, new) in SUBDIVISION_CODE_ALIASES {
            assert!(SUBDIVISIONS.iter().any(|s| s.code == *new), "{new}");
            assert!(SUBDIVISIONS.iter().all(|s| s.code != *old), "{old}");
        }
        let numeric = SUBDIVISION_CODE_ALIASES
            .iter()
            .filter(|(old, _)| old.starts_with("CN-"));
        let targets: std::collections::BTreeSet<&str> = numeric.map(|(_, new)| *new).collect();
        assert_eq!(
            targets.len(),
            31,
            "every province has exactly one numeric code"
        );
    }

    #[test]
    fn continents_follow_geoip2_for_the_usual_edge_cases() {
        let continent = |cc: &str| COUNTRIES.iter().find(|e| e.code == cc).map(|e| e.continent);
        assert_eq!(continent("RU"), Some(EU));
        assert_eq!(continent("TR"), Some(AS));
        assert_eq!(continent("EG"), Some(AF));
        assert_eq!(continent("AQ"), Some(AN));
        assert_eq!(continent("CY"), Some(EU));
        assert_eq!(continent("GE"), Some(AS));
        assert_eq!(continent("PA"), Some(NA));
        assert_eq!(continent("GF"), Some(SA));
        assert_eq!(continent("UM"), Some(OC));
    }
}
