//! The crate's one error type. Every error says whether a retry can help.

/// Whether retrying the same work later can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Timeouts, 5xx, locks, rate limits, an idempotency record still in progress.
    Retryable,
    /// Validation, mapping, a missing reference: retrying the same input fails the same way.
    Permanent,
    /// Not the record's fault: a refused login, a mapping naming a field the system does not have,
    /// an app without API access. Every record would fail the same way until an operator fixes the
    /// set-up, so the work stays queued (never split, never dead-lettered) and an alarm is raised.
    Configuration,
}

/// Everything that can go wrong in B1Force; callers branch on [`Error::class`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// SAP Service Layer answered with an error body (either documented shape).
    #[error("SAP Service Layer {status} (code {code}): {message}")]
    Sap { status: u16, code: String, message: String },
    /// Salesforce answered with an error array or per-record error.
    #[error("Salesforce {status} {code}: {message}")]
    Salesforce { status: u16, code: String, message: String },
    /// The network or the server failed before a usable answer (connect, timeout, TLS, bad body).
    #[error("{system} transport error: {message}")]
    Transport { system: &'static str, message: String },
    /// Input that cannot be processed as given: malformed event, invalid id, unknown object.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// A record cannot be mapped (unknown product, account without CardCode, ...).
    #[error("mapping: {0}")]
    Mapping(String),
    /// An AWS service (or its embedded twin) failed.
    #[error("{service}: {message}")]
    Store { service: &'static str, message: String, retryable: bool },
    /// The same idempotency key is being processed by another invocation right now.
    #[error("idempotency key {0} is already in progress elsewhere; retry later")]
    InProgress(String),
    /// The same idempotency key arrived with a different payload.
    #[error("idempotency key {0} was used before with a different payload")]
    PayloadMismatch(String),
    /// Configuration or secrets are missing or malformed.
    #[error("configuration: {0}")]
    Config(String),
    /// A message failed on its last attempt, or was delivered too often without being settled:
    /// dead-lettered by the writer itself, so the queue's redrive policy never moves it unaudited.
    #[error("given up after {deliveries} deliveries: {last}")]
    Exhausted { deliveries: u32, last: String },
    /// The Salesforce API budget is below the configured headroom: leave work queued.
    #[error("Salesforce API budget low ({used}/{max} used); leaving work queued")]
    BudgetExhausted { used: u64, max: u64 },
}

impl Error {
    /// Retryable or permanent, from the error's own facts.
    pub fn class(&self) -> ErrorClass {
        use ErrorClass::*;
        match self {
            Error::Sap { status, code, message } => sap_class(*status, code, message),
            Error::Salesforce { status, code, message } => salesforce_class(*status, code, message),
            Error::Transport { .. } | Error::InProgress(_) | Error::BudgetExhausted { .. } => Retryable,
            Error::Store { retryable, .. } => {
                if *retryable {
                    Retryable
                } else {
                    Permanent
                }
            }
            Error::Invalid(_) | Error::Mapping(_) | Error::PayloadMismatch(_) | Error::Exhausted { .. } => Permanent,
            Error::Config(_) => Configuration,
        }
    }

    /// Shorthand for `class() == Configuration`: the set-up is wrong, not the record.
    pub fn is_configuration(&self) -> bool {
        self.class() == ErrorClass::Configuration
    }

    /// Shorthand for `class() == Retryable`.
    pub fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Retryable
    }

    /// The short machine-readable code stored in the audit trail.
    pub fn code(&self) -> String {
        match self {
            Error::Sap { code, .. } => format!("SAP_{code}"),
            Error::Salesforce { code, .. } => code.clone(),
            Error::Transport { system, .. } => format!("{}_TRANSPORT", system.to_uppercase()),
            Error::Invalid(_) => "INVALID_INPUT".into(),
            Error::Mapping(_) => "MAPPING".into(),
            Error::Store { service, .. } => format!("STORE_{}", service.to_uppercase().replace(' ', "_")),
            Error::InProgress(_) => "IN_PROGRESS".into(),
            Error::PayloadMismatch(_) => "PAYLOAD_MISMATCH".into(),
            Error::Config(_) => "CONFIG".into(),
            Error::Exhausted { .. } => "RETRIES_EXHAUSTED".into(),
            Error::BudgetExhausted { .. } => "API_BUDGET".into(),
        }
    }
}

/// SAP: 5xx, 401 (after the one relogin failed too), 408/429, ETag/lock conflicts are retryable; a
/// query naming a property the entity does not have (a mapping's `$select`, `-1000` "Property 'X'
/// is invalid ..." [SAP REF query options; the sandbox answers the same]) is configuration.
fn sap_class(status: u16, code: &str, message: &str) -> ErrorClass {
    let retryable_code = matches!(code, "-2039" | "301");
    if status == 400 && code == "-1000" && message.starts_with("Property '") && message.contains("is invalid") {
        ErrorClass::Configuration
    } else if status >= 500 || matches!(status, 401 | 408 | 412 | 429) || retryable_code {
        ErrorClass::Retryable
    } else {
        ErrorClass::Permanent
    }
}

/// Salesforce: lock and limit errors and 5xx are retryable; validation is permanent; a login refused
/// with a freshly read secret, an object or field the org (or the integration user) does not have,
/// and an org without API access are configuration [SF REST "Status Codes and Error Responses";
/// `INVALID_FIELD` "No such column 'X' on entity 'Y'" is a query naming a field that is not there].
fn salesforce_class(status: u16, code: &str, message: &str) -> ErrorClass {
    let retryable_code =
        matches!(code, "REQUEST_LIMIT_EXCEEDED" | "UNABLE_TO_LOCK_ROW" | "SERVER_UNAVAILABLE" | "INVALID_SESSION_ID")
            || code.contains("UNABLE_TO_LOCK_ROW");
    let configuration =
        // A Bulk API job failed as a whole: its columns or CSV (the mapping's), not one record's.
        matches!(
            code,
            "LOGIN_REFUSED" | "INVALID_TYPE" | "API_DISABLED_FOR_ORG" | "API_CURRENTLY_DISABLED" | "BULK_JOB_FAILED"
        )
            || (code == "INVALID_FIELD"
                && (message.starts_with("No such column") || message.starts_with("Didn't understand relationship")));
    if configuration {
        ErrorClass::Configuration
    } else if status >= 500 || status == 420 || retryable_code {
        ErrorClass::Retryable
    } else {
        ErrorClass::Permanent
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_and_limit_errors_are_retryable_validation_is_not() {
        let sf = |status, code: &str| Error::Salesforce { status, code: code.into(), message: String::new() };
        assert!(sf(403, "REQUEST_LIMIT_EXCEEDED").is_retryable());
        assert!(sf(400, "UNABLE_TO_LOCK_ROW").is_retryable());
        assert!(sf(503, "SERVER_UNAVAILABLE").is_retryable());
        assert!(!sf(400, "FIELD_CUSTOM_VALIDATION_EXCEPTION").is_retryable());
        assert!(!sf(400, "MALFORMED_QUERY").is_retryable());
    }

    #[test]
    fn a_field_or_relationship_the_org_does_not_have_is_the_set_up_not_the_record() {
        let sf =
            |code: &str, message: &str| Error::Salesforce { status: 400, code: code.into(), message: message.into() };
        assert!(sf("INVALID_FIELD", "No such column 'SAP_X__c' on entity 'Account'").is_configuration());
        assert!(sf("BULK_JOB_FAILED", "InvalidBatch : Field name not found : SAP_X__c").is_configuration());
        assert!(sf("INVALID_FIELD", "Didn't understand relationship 'Acount' in field path.").is_configuration());
        assert!(
            !sf("INVALID_FIELD", "Foreign key external ID: C1 not found for field SAP_CardCode__c").is_configuration()
        );
        assert!(!sf("INVALID_FIELD", "Duplicate id in list: 001").is_configuration());
    }

    #[test]
    fn sap_server_errors_retry_and_business_rules_do_not() {
        let sap = |status, code: &str| Error::Sap { status, code: code.into(), message: String::new() };
        assert!(sap(502, "").is_retryable());
        assert!(sap(412, "-2039").is_retryable());
        assert!(!sap(400, "-10").is_retryable());
        assert!(!sap(404, "-2028").is_retryable());
    }

    #[test]
    fn a_set_up_that_cannot_work_is_configuration_not_the_record() {
        let sap = |code: &str, message: &str| Error::Sap { status: 400, code: code.into(), message: message.into() };
        assert!(sap("-1000", "Property 'U_Nope' is invalid in $select").is_configuration());
        assert!(!sap("-1000", "Invalid $filter: bad literal").is_configuration());
        assert!(!sap("-10", "Property 'CardCode' is invalid").is_configuration());
        let sf =
            |code: &str, message: &str| Error::Salesforce { status: 400, code: code.into(), message: message.into() };
        assert!(sf("LOGIN_REFUSED", "invalid_client").is_configuration());
        assert!(sf("INVALID_FIELD", "No such column 'Nope__c' on entity 'Account'").is_configuration());
        assert!(!sf("INVALID_FIELD", "Foreign key external ID: C1 not found").is_configuration());
        assert!(Error::Config("MAPPING_FILE".into()).is_configuration());
        assert!(!Error::Mapping("unknown product".into()).is_configuration());
    }
}
