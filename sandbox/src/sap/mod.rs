//! SAP Business One Service Layer sandbox (OData v4 at `/b1s/v2`). Placeholder until implemented.

/// Placeholder.
pub struct SapOptions;
/// Placeholder.
pub struct SapSandbox;
