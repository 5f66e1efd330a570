//! China mainland ISPs (carriers).

/// A China mainland ISP line. Codes are lower-case words (`telecom`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Isp {
    /// China Telecom (中国电信), `telecom`.
    Telecom,
    /// China Unicom (中国联通), `unicom`.
    Unicom,
    /// China Mobile (中国移动), including China TieTong, `mobile`.
    Mobile,
    /// CERNET, the China Education and Research Network (教育网), `cernet`.
    Cernet,
}

impl Isp {
    /// Every ISP line.
    pub const ALL: &'static [Self] = &[Self::Telecom, Self::Unicom, Self::Mobile, Self::Cernet];

    /// The code (`telecom`).
    pub fn code(self) -> &'static str {
        todo!()
    }
    /// The ISP for a code, case-insensitive.
    pub fn from_code(code: &str) -> Option<Self> {
        todo!("{code}")
    }
    /// The English name (`China Telecom`).
    pub fn name(self) -> &'static str {
        todo!()
    }
    /// The Chinese name users know (`电信`).
    pub fn chinese_name(self) -> &'static str {
        todo!()
    }
}
