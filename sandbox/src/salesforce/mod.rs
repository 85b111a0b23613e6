//! Salesforce REST v63.0 sandbox. Placeholder until implemented.

/// Placeholder.
pub struct SalesforceOptions;
/// Placeholder.
pub struct SalesforceSandbox;
