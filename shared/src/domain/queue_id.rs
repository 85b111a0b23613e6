//! Record keys as SQS FIFO ids. SAP keys may hold spaces and non-ASCII letters, which SQS refuses in a
//! MessageGroupId or MessageDeduplicationId ("up to 128 characters; alphanumeric characters (a-z, A-Z,
//! 0-9) and punctuation (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~)": AWS-SQS, SendMessage and SendMessageBatch
//! API reference, and the "Amazon SQS message quotas" page). Every group and deduplication id is made
//! here, by [`queue_id`], so no key can make SQS refuse a send (#12 item 6). Pure code.

use super::digest;

/// The longest MessageGroupId / MessageDeduplicationId SQS accepts.
pub const MAX_QUEUE_ID_CHARS: usize = 128;

/// Where a too-long id is cut before its digest (94 + 2 + 32 = 128).
const KEPT_BEFORE_DIGEST: usize = MAX_QUEUE_ID_CHARS - 2 - 32;

/// A character SQS accepts in a group or deduplication id: ASCII letters, digits and punctuation.
pub fn is_queue_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c.is_ascii_punctuation()
}

/// True when SQS accepts `id` as a MessageGroupId or MessageDeduplicationId.
pub fn is_queue_id(id: &str) -> bool {
    !id.is_empty() && id.chars().count() <= MAX_QUEUE_ID_CHARS && id.chars().all(is_queue_id_char)
}

/// `raw` as an id SQS accepts, different for every different `raw` (injective):
/// - characters SQS accepts stay, except `%`; `%` and every other character become `%XX` per UTF-8
///   byte (so `C20000` stays `C20000`, `C/9 Ü'x` becomes `C/9%20%C3%9C'x`);
/// - a result over 128 characters keeps its first 94, then `%~`, then 32 hex digits of the SHA-256 of
///   `raw`. `%~` never occurs in an unshortened id (there every `%` starts an escape), so shortened and
///   unshortened ids never meet, and shortened ones differ by their digest.
pub fn queue_id(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if is_queue_id_char(c) && c != '%' {
            out.push(c);
        } else {
            let mut utf8 = [0u8; 4];
            for byte in c.encode_utf8(&mut utf8).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    if out.len() <= MAX_QUEUE_ID_CHARS {
        return out;
    }
    format!("{}%~{}", &out[..KEPT_BEFORE_DIGEST], &digest(raw.as_bytes())[..32])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn safe_keys_stay_as_they_are_and_others_are_escaped() {
        assert_eq!(queue_id("sap:BusinessPartners:C20000"), "sap:BusinessPartners:C20000");
        assert_eq!(queue_id("sap:BusinessPartners:C/9 Ü'x"), "sap:BusinessPartners:C/9%20%C3%9C'x");
        assert_eq!(queue_id("50%"), "50%25", "a literal % is escaped, so it cannot pose as an escape");
        assert_ne!(queue_id("a%20b"), queue_id("a b"));
    }

    #[test]
    fn a_long_key_is_cut_and_finished_with_its_digest() {
        let long = format!("sap:Items:{}", "Ü".repeat(50));
        let id = queue_id(&long);
        assert_eq!(id.len(), MAX_QUEUE_ID_CHARS);
        assert!(is_queue_id(&id));
        assert_ne!(id, queue_id(&format!("sap:Items:{}Ä", "Ü".repeat(49))), "same first 94, different digest");
    }

    proptest! {
        #[test]
        fn every_key_becomes_an_id_sqs_accepts(raw in "\\PC{1,80}") {
            prop_assert!(is_queue_id(&queue_id(&raw)), "{:?} → {:?}", raw, queue_id(&raw));
        }

        #[test]
        fn different_keys_get_different_ids(a in "[a-c %Ü/'~]{1,70}", b in "[a-c %Ü/'~]{1,70}") {
            prop_assert_eq!(queue_id(&a) == queue_id(&b), a == b);
        }
    }
}
