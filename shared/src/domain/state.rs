//! Sync state: what pollers and writers remember between runs.
//!
//! Watermarks (how far each poller has read), the cross-reference between Salesforce and SAP records,
//! the hash of what we last wrote per record and direction (SAP-side echo suppression), and leases so
//! that two runs of one poller never overlap. The pure rules here (watermark order, lease and link
//! checks) are what the DynamoDB adapter's condition expressions evaluate and what the embedded twin
//! applies, so both decide alike.

use crate::domain::EpochMillis;
use crate::error::{Error, Result};
use std::cmp::Ordering;
use std::fmt;

/// Which way a write went (the audit trail's `direction`, the sync state's hash key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Direction {
    /// Salesforce to SAP.
    #[serde(rename = "sf->sap")]
    SfToSap,
    /// SAP to Salesforce.
    #[serde(rename = "sap->sf")]
    SapToSf,
}

impl Direction {
    /// The stored spelling, the same as in the audit trail: `sf->sap` or `sap->sf`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SfToSap => "sf->sap",
            Direction::SapToSf => "sap->sf",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far a poller has read: the last record it enqueued, in the poller's paging order.
///
/// Ordered by `date`, then `time`, then `doc_entry`, then `key`; an empty `date` or `time` and a missing
/// `doc_entry` sort first. `doc_entry` comes before `key` so that documents order numerically (DocEntry 9
/// before 10), as the Service Layer pages them; IncomingPayments, which have no UpdateDate, use
/// `doc_entry` alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Watermark {
    /// `YYYY-MM-DD` (SAP UpdateDate), or empty when the entity has none.
    pub date: String,
    /// `HH:MM:SS` (SAP UpdateTime), or empty when SAP left it out.
    pub time: String,
    /// The record's key (CardCode, ItemCode, ...): the last tie-breaker.
    pub key: String,
    /// The DocEntry, for document entities.
    pub doc_entry: Option<i64>,
}

/// Joins the fields of [`Watermark::sort_key`]. It sorts below every character a date, time or DocEntry
/// may contain, so a shorter (empty) field compares as smaller, exactly as in the tuple order.
const SORT_KEY_SEPARATOR: char = ' ';

impl Watermark {
    /// The order as one string whose byte order is this type's [`Ord`]: what DynamoDB compares.
    ///
    /// Fails for a date or time not in its fixed-width form and for a negative DocEntry, whose strings
    /// would sort differently from their values.
    pub fn sort_key(&self) -> Result<String> {
        check_shape("date", &self.date, "YYYY-MM-DD")?;
        check_shape("time", &self.time, "HH:MM:SS")?;
        let doc_entry = match self.doc_entry {
            None => String::new(),
            // i64::MAX has 19 digits; zero-padding to that width makes text order numeric order.
            Some(n) if n >= 0 => format!("{n:019}"),
            Some(n) => {
                return Err(Error::Invalid(format!("watermark DocEntry {n} is negative; DocEntries start at 1")));
            }
        };
        let sep = SORT_KEY_SEPARATOR;
        Ok(format!("{}{sep}{}{sep}{doc_entry}{sep}{}", self.date, self.time, self.key))
    }

    fn order_fields(&self) -> (&str, &str, Option<i64>, &str) {
        (&self.date, &self.time, self.doc_entry, &self.key)
    }
}

/// Empty, or shaped like `pattern`: a digit where it has a letter, its own character elsewhere.
fn check_shape(field: &str, value: &str, pattern: &str) -> Result<()> {
    let digit_or_same = |(v, p): (u8, u8)| if p.is_ascii_alphabetic() { v.is_ascii_digit() } else { v == p };
    if value.is_empty() || (value.len() == pattern.len() && value.bytes().zip(pattern.bytes()).all(digit_or_same)) {
        return Ok(());
    }
    Err(Error::Invalid(format!("watermark {field} {value:?} is not {pattern} (or empty); normalize it before storing")))
}

impl Ord for Watermark {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order_fields().cmp(&other.order_fields())
    }
}

impl PartialOrd for Watermark {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Whether advancing to `to` moves the stored watermark: only strictly forward, so a stale or repeated
/// writer changes nothing.
pub fn moves_forward(stored: Option<&Watermark>, to: &Watermark) -> bool {
    stored.is_none_or(|stored| stored < to)
}

/// An exclusive, expiring claim on a named job (one poller), so two runs never overlap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub name: String,
    /// Who holds it: one run's id.
    pub owner: String,
    /// Epoch ms; the lease is held up to and including this instant.
    pub until: EpochMillis,
}

impl Lease {
    /// A lease request, refused when it would be expired on arrival or has no owner.
    pub fn request(name: &str, owner: &str, now: EpochMillis, until: EpochMillis) -> Result<Lease> {
        if owner.is_empty() {
            return Err(Error::Invalid(format!("lease {name} requested without an owner")));
        }
        if until <= now {
            return Err(Error::Invalid(format!("lease {name} would end at {until}, not after now ({now})")));
        }
        Ok(Lease { name: name.to_string(), owner: owner.to_string(), until })
    }

    /// Whether `owner` may take this lease at `now`: it is theirs already (a renewal) or it has run out.
    pub fn can_be_taken_by(&self, owner: &str, now: EpochMillis) -> bool {
        self.owner == owner || self.until < now
    }

    /// The error for whoever tried to take this lease while it is held: retryable, naming the holder.
    pub fn held_elsewhere(&self) -> Error {
        Error::InProgress(format!("lease {} (held by {} until {})", self.name, self.owner, self.until))
    }
}

/// Refuses a link that would re-point an existing one: each Salesforce record pairs with one SAP record,
/// for good. `linked_sap` is what `salesforce_key` is linked to now, `linked_salesforce` what `sap_key` is.
pub fn check_link(
    salesforce_key: &str,
    sap_key: &str,
    linked_sap: Option<&str>,
    linked_salesforce: Option<&str>,
) -> Result<()> {
    if let Some(current) = linked_sap.filter(|current| *current != sap_key) {
        return Err(Error::Invalid(format!(
            "{salesforce_key} is already linked to {current}; refusing to link it to {sap_key} too (resolve the duplicate by hand)"
        )));
    }
    if let Some(current) = linked_salesforce.filter(|current| *current != salesforce_key) {
        return Err(Error::Invalid(format!(
            "{sap_key} is already linked to {current}; refusing to link it to {salesforce_key} too (resolve the duplicate by hand)"
        )));
    }
    Ok(())
}

/// Refuses a [`crate::ports::SyncState::move_link`] that would re-point a third record's link.
pub fn check_move(
    from: &str,
    to: &str,
    sap_key: &str,
    linked_sap: Option<&str>,
    linked_to: Option<&str>,
) -> Result<()> {
    if let Some(current) = linked_sap.filter(|current| *current != from && *current != to) {
        return Err(Error::Invalid(format!(
            "{sap_key} is linked to {current}, not {from}; refusing to move it to {to} (resolve by hand)"
        )));
    }
    check_link(to, sap_key, linked_to, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn watermark(date: &str, time: &str, doc_entry: Option<i64>, key: &str) -> Watermark {
        Watermark { date: date.into(), time: time.into(), key: key.into(), doc_entry }
    }

    fn sort_key(w: &Watermark) -> String {
        w.sort_key().expect("a well-formed watermark")
    }

    #[test]
    fn date_decides_before_time_and_time_before_key() {
        let earlier_day = watermark("2026-01-01", "23:59:59", None, "Z");
        let later_day = watermark("2026-01-02", "00:00:00", None, "A");
        let later_time = watermark("2026-01-02", "00:00:01", None, "A");
        assert!(earlier_day < later_day && later_day < later_time);
        assert!(sort_key(&earlier_day) < sort_key(&later_day) && sort_key(&later_day) < sort_key(&later_time));
    }

    #[test]
    fn doc_entries_order_as_numbers_not_as_text() {
        let nine = watermark("", "", Some(9), "");
        let ten = watermark("", "", Some(10), "");
        assert!(nine < ten);
        assert!(sort_key(&nine) < sort_key(&ten), "{:?} vs {:?}", sort_key(&nine), sort_key(&ten));
    }

    #[test]
    fn a_missing_time_sorts_before_any_time_of_the_same_day() {
        let no_time = watermark("2026-03-04", "", None, "zzz");
        let midnight = watermark("2026-03-04", "00:00:00", None, "");
        assert!(no_time < midnight);
        assert!(sort_key(&no_time) < sort_key(&midnight));
    }

    #[test]
    fn malformed_dates_times_and_negative_doc_entries_are_refused() {
        for bad in [
            watermark("2026-3-04", "", None, "k"),
            watermark("2026-03-04T00:00:00Z", "", None, "k"),
            watermark("2026-03-04", "9:00:00", None, "k"),
            watermark("2026-03-04", "09:00", None, "k"),
            watermark("", "", Some(-1), "k"),
        ] {
            let err = bad.sort_key().expect_err("refused");
            assert!(matches!(err, Error::Invalid(_)) && !err.is_retryable(), "{bad:?}: {err}");
        }
    }

    #[test]
    fn an_equal_or_older_watermark_does_not_move_the_stored_one() {
        let stored = watermark("2026-03-04", "10:00:00", None, "C100");
        assert!(moves_forward(None, &stored));
        assert!(!moves_forward(Some(&stored), &stored.clone()));
        assert!(!moves_forward(Some(&stored), &watermark("2026-03-04", "09:59:59", None, "C999")));
        assert!(moves_forward(Some(&stored), &watermark("2026-03-04", "10:00:00", None, "C101")));
    }

    #[test]
    fn a_live_lease_blocks_others_until_after_its_last_instant() {
        let lease = Lease::request("poller:BusinessPartners", "run-1", 1_000, 31_000).unwrap();
        assert!(lease.can_be_taken_by("run-1", 5_000), "the owner renews");
        assert!(!lease.can_be_taken_by("run-2", 31_000), "still held at its until");
        assert!(lease.can_be_taken_by("run-2", 31_001));
        let err = lease.held_elsewhere();
        assert!(err.is_retryable() && err.to_string().contains("run-1"), "{err}");
    }

    #[test]
    fn a_lease_that_would_arrive_expired_or_ownerless_is_refused() {
        assert!(matches!(Lease::request("p", "run-1", 1_000, 1_000), Err(Error::Invalid(_))));
        assert!(matches!(Lease::request("p", "", 1_000, 2_000), Err(Error::Invalid(_))));
    }

    #[test]
    fn a_link_may_repeat_but_never_re_point_either_side() {
        let (sf, sap) = ("sf:Account:001000000000001AAA", "sap:BusinessPartners:C1");
        assert!(check_link(sf, sap, None, None).is_ok());
        assert!(check_link(sf, sap, Some(sap), Some(sf)).is_ok());
        let err = check_link(sf, sap, Some("sap:BusinessPartners:C2"), None).unwrap_err();
        assert!(err.to_string().contains("C2") && !err.is_retryable(), "{err}");
        assert!(check_link(sf, sap, None, Some("sf:Account:001000000000002AAA")).is_err());
    }

    /// Few distinct values per field, so that ties on the leading fields are common.
    fn any_watermark() -> impl Strategy<Value = Watermark> {
        let date = prop_oneof![Just(String::new()), "20(2[5-7])-0[1-2]-0[1-3]"];
        let time = prop_oneof![Just(String::new()), "(0[09]|1[0-2]):0[0-1]:[0-5]9"];
        let doc_entry = prop_oneof![Just(None), (0i64..12).prop_map(Some), (0..=i64::MAX).prop_map(Some)];
        // Keys include the separator, characters below it and non-ASCII.
        let key = prop_oneof!["[ A-C\\x00\\t]{0,3}", ".{0,3}"];
        (date, time, doc_entry, key).prop_map(|(date, time, doc_entry, key)| Watermark { date, time, key, doc_entry })
    }

    proptest! {
        #[test]
        fn the_stored_sort_key_orders_exactly_as_watermarks_do(a in any_watermark(), b in any_watermark()) {
            prop_assert_eq!(sort_key(&a).cmp(&sort_key(&b)), a.cmp(&b));
        }

        #[test]
        fn advancing_never_moves_backwards_and_ends_at_the_furthest(
            writes in proptest::collection::vec(any_watermark(), 1..12),
        ) {
            let mut stored: Option<Watermark> = None;
            for to in &writes {
                let before = stored.clone();
                if moves_forward(stored.as_ref(), to) {
                    stored = Some(to.clone());
                }
                prop_assert!(stored.as_ref() >= before.as_ref(), "moved back from {:?} to {:?}", before, stored);
                prop_assert!(!moves_forward(stored.as_ref(), to), "advancing to an equal watermark moves it");
            }
            prop_assert_eq!(stored.as_ref(), writes.iter().max());
        }
    }
}
