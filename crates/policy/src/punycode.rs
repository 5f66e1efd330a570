//! Punycode (RFC 3492) decoding, to check the A-labels (`xn--…`) of
//! internationalised domain names.
//!
//! A name is stored and served in its A-label form; decoding only answers
//! whether the label is well-formed punycode of a real Unicode label, so that
//! a typo in an `xn--` label is refused when it is configured instead of
//! being served as a name no browser or resolver maps back to Unicode.
//! IDNA2008's further rules on the decoded label (NFC, allowed code points,
//! bidi and contextual rules) are not checked.

/// The RFC 3492 section 5 parameters for IDNA.
const BASE: u32 = 36;
const T_MIN: u32 = 1;
const T_MAX: u32 = 26;
const SKEW: u32 = 38;
const DAMP: u32 = 700;
const INITIAL_BIAS: u32 = 72;
const INITIAL_N: u32 = 128;

/// Whether `label` (without the `xn--` prefix) is the punycode of a
/// Unicode label with at least one non-ASCII character: what an A-label
/// must be (RFC 5890 section 2.3.2.1).
pub(crate) fn is_valid_a_label_body(encoded: &str) -> bool {
    decode(encoded).is_some_and(|decoded| decoded.iter().any(|c| !c.is_ascii()))
}

/// Decodes punycode (RFC 3492 section 6.2); `None` when it is malformed or
/// overflows.
pub(crate) fn decode(input: &str) -> Option<Vec<char>> {
    let bytes = input.as_bytes();
    // Code points before the last delimiter are copied as they are; the
    // rest encodes the insertions.
    let (basic, deltas) = match bytes.iter().rposition(|&b| b == b'-') {
        Some(at) => (&bytes[..at], &bytes[at + 1..]),
        None => (&bytes[..0], bytes),
    };
    if !basic.is_ascii() {
        return None;
    }
    let mut output: Vec<char> = basic.iter().map(|&b| char::from(b)).collect();
    let (mut n, mut i, mut bias) = (INITIAL_N, 0u32, INITIAL_BIAS);
    let mut digits = deltas.iter();
    let mut first = true;
    while digits.len() > 0 {
        let old_i = i;
        let mut weight = 1u32;
        let mut k = BASE;
        loop {
            let digit = digit_value(*digits.next()?)?;
            i = i.checked_add(digit.checked_mul(weight)?)?;
            let threshold = threshold(k, bias);
            if digit < threshold {
                break;
            }
            weight = weight.checked_mul(BASE - threshold)?;
            k = k.checked_add(BASE)?;
        }
        let length = u32::try_from(output.len()).ok()?.checked_add(1)?;
        bias = adapt(i - old_i, length, first);
        first = false;
        n = n.checked_add(i / length)?;
        i %= length;
        // Surrogates and values past U+10FFFF are not characters; basic code
        // points must not be encoded as deltas.
        let ch = char::from_u32(n).filter(|c| !c.is_ascii())?;
        output.insert(usize::try_from(i).ok()?, ch);
        i += 1;
    }
    Some(output)
}

/// The threshold of the digit at position `k` (RFC 3492 section 6.2's
/// `t`): `k - bias`, clamped to `T_MIN..=T_MAX`.
fn threshold(k: u32, bias: u32) -> u32 {
    k.saturating_sub(bias).clamp(T_MIN, T_MAX)
}

/// The bias adaptation function (RFC 3492 section 6.1).
fn adapt(delta: u32, points: u32, first: bool) -> u32 {
    let mut delta = if first { delta / DAMP } else { delta / 2 };
    delta += delta / points;
    let mut k = 0;
    while delta > ((BASE - T_MIN) * T_MAX) / 2 {
        delta /= BASE - T_MIN;
        k += BASE;
    }
    k + (((BASE - T_MIN + 1) * delta) / (delta + SKEW))
}

/// A punycode digit: `a`–`z` (either case) are 0–25, `0`–`9` are 26–35.
fn digit_value(byte: u8) -> Option<u32> {
    match byte {
        b'a'..=b'z' => Some(u32::from(byte - b'a')),
        b'A'..=b'Z' => Some(u32::from(byte - b'A')),
        b'0'..=b'9' => Some(u32::from(byte - b'0') + 26),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The RFC 3492 section 6.3 encoder, for the round-trip property only.
    fn encode(input: &[char]) -> String {
        let mut output: String = input.iter().filter(|c| c.is_ascii()).collect();
        let basic = output.len() as u32;
        let mut handled = basic;
        if basic > 0 {
            output.push('-');
        }
        let (mut n, mut delta, mut bias) = (INITIAL_N, 0u32, INITIAL_BIAS);
        let total = input.len() as u32;
        while handled < total {
            let m = input
                .iter()
                .map(|&c| c as u32)
                .filter(|&c| c >= n)
                .min()
                .unwrap();
            delta += (m - n) * (handled + 1);
            n = m;
            for &c in input {
                let c = c as u32;
                if c < n {
                    delta += 1;
                }
                if c == n {
                    let mut q = delta;
                    let mut k = BASE;
                    loop {
                        let t = threshold(k, bias);
                        if q < t {
                            break;
                        }
                        output.push(digit_char(t + (q - t) % (BASE - t)));
                        q = (q - t) / (BASE - t);
                        k += BASE;
                    }
                    output.push(digit_char(q));
                    bias = adapt(delta, handled + 1, handled == basic);
                    delta = 0;
                    handled += 1;
                }
            }
            delta += 1;
            n += 1;
        }
        output
    }

    fn digit_char(d: u32) -> char {
        if d < 26 {
            char::from(b'a' + d as u8)
        } else {
            char::from(b'0' + (d - 26) as u8)
        }
    }

    fn decoded(input: &str) -> Option<String> {
        decode(input).map(|chars| chars.into_iter().collect())
    }

    #[test]
    fn rfc_3492_samples_decode() {
        // Section 7.1: (B) Chinese (simplified), (L) 3<nen>B<gumi><kinpachi>
        // <sensei>, (K) Korean, and well-known labels.
        assert_eq!(
            decoded("ihqwcrb4cv8a8dqg056pqjye").as_deref(),
            Some("他们为什么不说中文")
        );
        assert_eq!(
            decoded("3B-ww4c5e180e575a65lsy2b").as_deref(),
            Some("3年B組金八先生")
        );
        assert_eq!(
            decoded("989aomsvi5e83db1d2a355cv1e0vak1dwrv93d5xbh15a0dt30a5jpsd879ccm6fea98c")
                .as_deref(),
            Some("세계의모든사람들이한국어를이해한다면얼마나좋을까")
        );
        assert_eq!(decoded("fiqs8s").as_deref(), Some("中国"));
        assert_eq!(decoded("mnchen-3ya").as_deref(), Some("münchen"));
    }

    #[test]
    fn a_labels_must_decode_to_non_ascii() {
        assert!(is_valid_a_label_body("fiqs8s"));
        assert!(is_valid_a_label_body("mnchen-3ya"));
        // Well-formed punycode of plain ASCII is not an A-label.
        assert!(!is_valid_a_label_body("abc-"));
        assert!(!is_valid_a_label_body(""));
        // Malformed: a truncated delta, a digit past the end, overflow.
        assert!(!is_valid_a_label_body("mnchen-3y"));
        assert!(!is_valid_a_label_body("zzzzzzzzzzzzzz"));
        assert!(!is_valid_a_label_body("99999999999999999999"));
        // Characters that are not punycode digits.
        assert!(!is_valid_a_label_body("fiqs_8s"));
    }

    proptest! {
        #[test]
        fn encode_then_decode_is_the_identity(
            chars in prop::collection::vec(any::<char>(), 0..40)
        ) {
            let encoded = encode(&chars);
            prop_assert_eq!(decode(&encoded), Some(chars));
        }

        #[test]
        fn decoding_arbitrary_text_does_not_panic(text in "[-a-zA-Z0-9_]{0,70}") {
            let _ = decode(&text);
        }
    }
}
