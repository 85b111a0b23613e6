//! Pure domain types: ids with validating constructors, record keys, queue notifications.

mod billing;
mod ids;
mod notification;
mod opportunity;

pub use billing::{
    BillingContext, CreditStatus, ItemAvailability, OpenInvoice, OpenOrder, PaymentReceived, WarehouseStock,
};
pub use ids::{CardCode, ItemCode, SalesforceId};
pub use notification::{Notification, RecordKey, System};
pub use opportunity::{
    NewBusinessPartner, NewSalesOrder, OpportunityLine, OpportunitySnapshot, OrderRef, SalesOrderLine,
};

/// A record as either system sends it: field name → JSON value.
pub type Record = serde_json::Map<String, serde_json::Value>;

/// Milliseconds since the Unix epoch.
pub type EpochMillis = i64;

/// Hex SHA-256 of some bytes: payload digests and idempotency hashes.
pub fn digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
