//! Salesforce record ids: key prefixes, the 18-character checksum, and a sortable id sequence.
//!
//! The sandbox deliberately does not depend on `shared`, so the checksum is reimplemented here.

const CHECKSUM_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
/// Base-62 digits in ASCII order, so fixed-width counters sort like the numbers they encode.
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The three checksum characters that turn a 15-character id into its 18-character form.
pub fn checksum(base: &str) -> String {
    base.as_bytes()
        .chunks(5)
        .map(|chunk| {
            let bits = chunk
                .iter()
                .enumerate()
                .fold(0usize, |acc, (i, b)| if b.is_ascii_uppercase() { acc | (1 << i) } else { acc });
            CHECKSUM_ALPHABET[bits] as char
        })
        .collect()
}

/// The 18-character id for `prefix` and sequence number `n`; later numbers sort after earlier ones.
pub fn make_id(prefix: &str, n: u64) -> String {
    let mut digits = [b'0'; 8];
    let mut rest = n;
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(rest % 62) as usize];
        rest /= 62;
    }
    let base = format!("{prefix}SB00{}", std::str::from_utf8(&digits).unwrap_or("00000000"));
    format!("{base}{}", checksum(&base))
}

/// The 18-character form of a 15- or 18-character id, or `None` when `raw` is not a well-formed id.
pub fn normalize(raw: &str) -> Option<String> {
    if !(raw.len() == 15 || raw.len() == 18) || !raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let base = &raw[..15];
    let full = format!("{base}{}", checksum(base));
    (raw.len() == 15 || raw[15..].eq_ignore_ascii_case(&full[15..])).then_some(full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_id_gets_its_published_checksum() {
        assert_eq!(checksum("006SM0000001Tb3"), "YAE");
        assert_eq!(normalize("006SM0000001Tb3").as_deref(), Some("006SM0000001Tb3YAE"));
    }

    #[test]
    fn generated_ids_are_valid_and_sort_in_creation_order() {
        let ids: Vec<String> = [0u64, 1, 61, 62, 3_844, 1_000_000].iter().map(|n| make_id("001", *n)).collect();
        for id in &ids {
            assert_eq!(id.len(), 18);
            assert_eq!(normalize(id).as_deref(), Some(id.as_str()));
        }
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(sorted, ids);
    }

    #[test]
    fn malformed_ids_and_wrong_checksums_are_rejected() {
        for bad in ["", "001", "001' OR Id != '", "006SM0000001Tb3AAA", "006SM0000001Tb3YAE0"] {
            assert_eq!(normalize(bad), None, "{bad:?}");
        }
    }
}
