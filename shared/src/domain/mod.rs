//! Pure domain types: ids with validating constructors, record keys, queue notifications.

mod billing;
pub mod bulk_csv;
pub mod business_hours;
pub mod credit;
pub mod deactivation;
pub mod echo;
pub mod idempotency;
mod ids;
pub mod link;
mod notification;
pub mod objects;
mod opportunity;
pub mod polled;
pub mod queue_id;
pub mod redelivery;
pub mod sap_time;
pub mod state;

pub use billing::{
    BillingContext, CreditStatus, ItemAvailability, OpenInvoice, OpenOrder, PaymentReceived, PaymentStanding,
    WarehouseStock,
};
pub use ids::{CardCode, ItemCode, SalesforceId};
pub use notification::{Notification, RecordKey, System};
pub use opportunity::{
    NewBusinessPartner, NewSalesOrder, ORDER_TOTAL_FIELDS, OpportunityLine, OpportunitySnapshot, OrderDraft, OrderRef,
    OrderState, OrderWriteBack, QUOTATION_OBJECT_TYPE, QUOTE_DOC_ENTRY, QUOTE_DOC_NUM, QuotationLine, QuotationState,
    QuoteSnapshot, SalesOrderLine, SapOrderFor, order_net_total,
};

/// A record as either system sends it: field name → JSON value.
pub type Record = serde_json::Map<String, serde_json::Value>;

/// Milliseconds since the Unix epoch.
pub type EpochMillis = i64;

/// An epoch-ms instant as RFC 3339 UTC with milliseconds, e.g. `2026-11-25T08:00:00.123Z`.
pub fn rfc3339_millis(at: EpochMillis) -> String {
    let instant = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    instant.format(&format).unwrap_or_else(|_| at.to_string())
}

/// Hex SHA-256 of some bytes: payload digests and idempotency hashes.
pub fn digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The date of an epoch-ms instant as `YYYY-MM-DD` (UTC).
pub fn date_of(epoch_millis: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(epoch_millis / 1000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// Parses a `YYYY-MM-DD` date.
pub fn parse_date(text: &str) -> crate::error::Result<time::Date> {
    let day = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, day).map_err(|_| {
        crate::error::Error::Invalid(format!(
            "{:?} is not a date (YYYY-MM-DD)",
            text.chars().take(30).collect::<String>()
        ))
    })
}
