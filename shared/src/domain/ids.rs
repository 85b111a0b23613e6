//! Identifiers that are valid by construction. SAP codes may hold any text SAP allows (quotes, `/`,
//! spaces, non-ASCII letters), so they are made safe where they are written: OData literals and key
//! paths in `sap::odata`, SOQL literals in `salesforce::soql`, queue ids in `domain::queue_id`.

use crate::error::Error;
use std::fmt;

/// A Salesforce record id, always held in its 18-character case-insensitive form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct SalesforceId(String);

const CHECKSUM_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

impl SalesforceId {
    /// Accepts a 15-char (case-sensitive) or 18-char id; an 18-char id must carry the right checksum.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let raw = raw.trim();
        if !(raw.len() == 15 || raw.len() == 18) || !raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Error::Invalid(format!(
                "{:?} is not a Salesforce id (15 or 18 letters and digits)",
                truncate(raw)
            )));
        }
        let base = &raw[..15];
        let full = format!("{base}{}", checksum(base));
        if raw.len() == 18 && !raw[15..].eq_ignore_ascii_case(&full[15..]) {
            return Err(Error::Invalid(format!("{raw:?} has a wrong Salesforce id checksum")));
        }
        Ok(Self(full))
    }

    /// The 18-character form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first three characters, which name the object (006 = Opportunity, 001 = Account, ...).
    pub fn key_prefix(&self) -> &str {
        &self.0[..3]
    }

    /// The 15-character case-sensitive form.
    pub fn short(&self) -> &str {
        &self.0[..15]
    }
}

/// The three checksum characters of a 15-character id.
fn checksum(base: &str) -> String {
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

impl<'de> serde::Deserialize<'de> for SalesforceId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SalesforceId::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for SalesforceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! sap_code {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Any text of 1 to the SAP column width in characters (nvarchar counts characters), without
            /// control characters and not blank: what B1 accepts as a key (#12 item 6). The column
            /// width is SAP's (SDK Help: OCRD.CardCode 15, OITM.ItemCode 50 characters).
            pub fn parse(raw: &str) -> Result<Self, Error> {
                let ok = !raw.trim().is_empty()
                    && raw.chars().count() <= $max
                    && !raw.chars().any(char::is_control);
                if ok {
                    Ok(Self(raw.to_string()))
                } else {
                    Err(Error::Invalid(format!(
                        concat!("{:?} is not a valid SAP ", $what, " (1-{} characters, no control characters)"),
                        truncate(raw),
                        $max
                    )))
                }
            }

            /// The code as SAP stores it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

sap_code!(
    /// A business partner key (`OCRD.CardCode`, nvarchar 15).
    CardCode, "CardCode", 15
);
sap_code!(
    /// An item key (`OITM.ItemCode`, nvarchar 50).
    ItemCode, "ItemCode", 50
);

/// Keeps error messages short and free of whole payloads.
fn truncate(raw: &str) -> String {
    raw.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_15_char_id_gains_its_checksum() {
        let id = SalesforceId::parse("006SM0000001Tb3").unwrap();
        assert_eq!(id.as_str(), "006SM0000001Tb3YAE");
        assert_eq!(id.key_prefix(), "006");
    }

    #[test]
    fn an_18_char_id_with_a_wrong_checksum_is_rejected() {
        assert!(SalesforceId::parse("006SM0000001Tb3YAE").is_ok());
        assert!(SalesforceId::parse("006SM0000001Tb3yae").is_ok(), "checksum is case-insensitive");
        assert!(SalesforceId::parse("006SM0000001Tb3AAA").is_err());
    }

    #[test]
    fn ids_carrying_query_syntax_are_rejected() {
        for bad in ["006' OR Id != '", "0065g00000XyZ1'", "", "006SM0000001Tb3YAE0", "006SM00 0001Tb3"] {
            assert!(SalesforceId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(CardCode::parse("C20000").is_ok());
        assert!(ItemCode::parse("A00001").is_ok());
    }

    #[test]
    fn sap_codes_take_every_key_sap_allows_up_to_the_column_width_in_characters() {
        for good in ["C/9 Ü'x", "C20000)", "O'Brien & Söhne", "ÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜ", "C#1?a=b%20"] {
            assert_eq!(CardCode::parse(good).unwrap().as_str(), good);
        }
        assert!(ItemCode::parse(&"ß".repeat(50)).is_ok(), "50 characters, 100 bytes");
        for bad in ["", "   ", "ABCDEFGHIJKLMNOP", "C1\nX", "C\u{0}1"] {
            assert!(CardCode::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ItemCode::parse(&"ß".repeat(51)).is_err());
    }

    proptest! {
        #[test]
        fn every_15_char_id_round_trips_through_its_18_char_form(base in "[a-zA-Z0-9]{15}") {
            let id = SalesforceId::parse(&base).unwrap();
            prop_assert_eq!(id.short(), base.as_str());
            let again = SalesforceId::parse(id.as_str()).unwrap();
            prop_assert_eq!(again, id);
        }

        #[test]
        fn a_card_code_is_kept_exactly_as_given(raw in "[^\\p{Cc}]{1,15}") {
            if !raw.trim().is_empty() {
                let code = CardCode::parse(&raw).unwrap();
                prop_assert_eq!(code.as_str(), raw.as_str());
            }
        }
    }
}
