//! A business partner B1Force deactivated because its Salesforce account was deleted, or lost a
//! merge to an account with another partner (issue #14 item 5). B1 has no "deleted by the CRM"
//! state and partners with documents cannot be removed, so the partner is made inactive the way
//! the B1 client's General tab does (`Valid` tNO, `Frozen` tYES) and the reason goes into
//! `FrozenRemarks` (OCRD.FrozenComm, 30 characters [U]), marked so that an undelete reactivates
//! exactly what B1Force deactivated and F4 leaves it alone (there is no account to write to).

use crate::domain::Record;
use serde_json::{Value, json};

/// The start of every remark B1Force writes.
pub const MARK: &str = "B1F:";

/// The longest `FrozenRemarks` B1Force writes.
const REMARKS_CHARS: usize = 30;

/// The PATCH that deactivates a partner, with `reason` after the mark.
pub fn deactivate(reason: &str) -> Record {
    let remarks: String = format!("{MARK} {reason}").chars().take(REMARKS_CHARS).collect();
    Record::from_iter([
        ("Valid".to_string(), json!("tNO")),
        ("Frozen".to_string(), json!("tYES")),
        ("FrozenRemarks".to_string(), json!(remarks)),
    ])
}

/// The PATCH that undoes [`deactivate`].
pub fn reactivate() -> Record {
    Record::from_iter([
        ("Valid".to_string(), json!("tYES")),
        ("Frozen".to_string(), json!("tNO")),
        ("FrozenRemarks".to_string(), Value::Null),
    ])
}

/// Whether B1Force deactivated this partner row (it carries the mark and is still frozen).
pub fn by_us(partner: &Record) -> bool {
    partner.get("Frozen").and_then(Value::as_str) == Some("tYES")
        && partner.get("FrozenRemarks").and_then(Value::as_str).is_some_and(|r| r.starts_with(MARK))
}

/// The properties [`by_us`] reads.
pub const PROPERTIES: [&str; 3] = ["Valid", "Frozen", "FrozenRemarks"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deactivation_is_marked_fits_the_remarks_and_is_recognised_until_undone() {
        let mut partner = Record::from_iter([("CardCode".to_string(), json!("C1"))]);
        partner.extend(deactivate("merged into SF001Q000001ABCDEF"));
        assert_eq!(partner["FrozenRemarks"].as_str().unwrap().chars().count(), 30);
        assert!(by_us(&partner));
        partner.extend(reactivate());
        assert!(!by_us(&partner));
        partner.insert("Frozen".into(), json!("tYES"));
        partner.insert("FrozenRemarks".into(), json!("credit hold"));
        assert!(!by_us(&partner), "frozen by a person in SAP");
    }
}
