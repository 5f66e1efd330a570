//! China mainland ISPs (carriers).

use std::fmt;

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
    /// China Broadnet (中国广电): the cable and broadcast-TV networks, which
    /// since 2020 are being merged into one national operator, China's
    /// fourth carrier (DNSPod's 广电网 line), `broadnet`.
    Broadnet,
}

impl Isp {
    /// Every ISP line.
    pub const ALL: &'static [Self] = &[
        Self::Telecom,
        Self::Unicom,
        Self::Mobile,
        Self::Cernet,
        Self::Broadnet,
    ];

    /// The code (`telecom`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Telecom => "telecom",
            Self::Unicom => "unicom",
            Self::Mobile => "mobile",
            Self::Cernet => "cernet",
            Self::Broadnet => "broadnet",
        }
    }
    /// The ISP for a code, case-insensitive.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|isp| isp.code().eq_ignore_ascii_case(code))
    }
    /// The ISP for its Chinese name, short (`电信`) or full (`中国电信`);
    /// `铁通` (China TieTong, part of China Mobile) gives [`Isp::Mobile`];
    /// `广电网` (DNSPod's name for the line) gives [`Isp::Broadnet`].
    pub fn from_chinese_name(name: &str) -> Option<Self> {
        if name == "铁通" || name == "中国铁通" {
            return Some(Self::Mobile);
        }
        if name == "广电网" {
            return Some(Self::Broadnet);
        }
        let short = name.strip_prefix("中国").unwrap_or(name);
        Self::ALL
            .iter()
            .copied()
            .find(|isp| isp.chinese_name() == short)
    }
    /// The English name (`China Telecom`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Telecom => "China Telecom",
            Self::Unicom => "China Unicom",
            Self::Mobile => "China Mobile",
            Self::Cernet => "CERNET",
            Self::Broadnet => "China Broadnet",
        }
    }
    /// The Chinese name users know (`电信`).
    pub fn chinese_name(self) -> &'static str {
        match self {
            Self::Telecom => "电信",
            Self::Unicom => "联通",
            Self::Mobile => "移动",
            Self::Cernet => "教育网",
            Self::Broadnet => "广电",
        }
    }
}

impl fmt::Display for Isp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl serde::Serialize for Isp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Isp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = crate::serde_str::deserialize(deserializer)?;
        Self::from_code(&code).ok_or_else(|| {
            serde::de::Error::custom(format_args!(
                "unknown ISP `{code}` (expected telecom, unicom, mobile, cernet or broadnet)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_case_insensitively() {
        for &isp in Isp::ALL {
            assert_eq!(Isp::from_code(isp.code()), Some(isp));
            assert_eq!(Isp::from_code(&isp.code().to_ascii_uppercase()), Some(isp));
            assert_eq!(Isp::from_chinese_name(isp.chinese_name()), Some(isp));
        }
        assert_eq!(Isp::from_code("Telecom"), Some(Isp::Telecom));
        assert_eq!(Isp::from_code("telcom"), None);
        assert_eq!(Isp::from_code(""), None);
    }

    #[test]
    fn names() {
        assert_eq!(Isp::Telecom.name(), "China Telecom");
        assert_eq!(Isp::Unicom.chinese_name(), "联通");
        assert_eq!(Isp::Mobile.chinese_name(), "移动");
        assert_eq!(Isp::Cernet.chinese_name(), "教育网");
        assert_eq!(Isp::from_chinese_name("中国电信"), Some(Isp::Telecom));
        assert_eq!(Isp::from_chinese_name("铁通"), Some(Isp::Mobile));
        assert_eq!(Isp::from_chinese_name("中国广电"), Some(Isp::Broadnet));
        assert_eq!(Isp::from_chinese_name("广电网"), Some(Isp::Broadnet));
        assert_eq!(Isp::from_code("BROADNET"), Some(Isp::Broadnet));
        assert_eq!(Isp::from_chinese_name("中国"), None);
    }

    #[test]
    fn serde_uses_the_code() {
        assert_eq!(serde_json::to_string(&Isp::Cernet).unwrap(), "\"cernet\"");
        assert_eq!(
            serde_json::from_str::<Isp>("\"UNICOM\"").unwrap(),
            Isp::Unicom
        );
        let err = serde_json::from_str::<Isp>("\"cstnet\"").unwrap_err();
        assert!(err.to_string().contains("unknown ISP `cstnet`"), "{err}");
    }
}
