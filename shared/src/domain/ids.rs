//! Identifiers that are valid by construction. Nothing reaches a query string without one of these.

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
            /// Letters, digits, `-`, `_` and `.` only, 1 to the SAP column width: no quote or OData syntax can pass.
            pub fn parse(raw: &str) -> Result<Self, Error> {
                let ok = !raw.is_empty()
                    && raw.len() <= $max
                    && raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
                if ok {
                    Ok(Self(raw.to_string()))
                } else {
                    Err(Error::Invalid(format!(
                        concat!("{:?} is not a valid SAP ", $what, " (1-{} of A-Z a-z 0-9 - _ .)"),
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
        for bad in ["C1' or '1' eq '1", "C20000)", "", "ABCDEFGHIJKLMNOP", "C 1"] {
            assert!(CardCode::parse(bad).is_err(), "{bad:?}");
        }
        assert!(CardCode::parse("C20000").is_ok());
        assert!(ItemCode::parse("A00001").is_ok());
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
        fn card_codes_never_contain_a_quote(raw in ".{0,20}") {
            if let Ok(code) = CardCode::parse(&raw) {
                prop_assert!(!code.as_str().contains('\''));
            }
        }
    }
}
