//! Salesforce error bodies: a JSON array with `errorCode` at the top level, `statusCode` per record.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One failed operation, answered as `[{"message","errorCode","fields"}]` or as a per-record error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub fields: Vec<String>,
}

impl ApiError {
    /// An error with no field list.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self { status, code: code.into(), message: message.into(), fields: Vec::new() }
    }

    /// The same error naming the fields at fault.
    pub fn with_fields(mut self, fields: Vec<String>) -> Self {
        self.fields = fields;
        self
    }

    /// 404 NOT_FOUND with Salesforce's wording.
    pub fn not_found() -> Self {
        Self::new(404, "NOT_FOUND", "The requested resource does not exist")
    }

    /// 400 MALFORMED_ID for an id that is not an id of `object`.
    pub fn malformed_id(object: &str, raw: &str) -> Self {
        Self::new(400, "MALFORMED_ID", format!("{object} ID: id value of incorrect type: {}", clip(raw)))
    }

    /// 400 JSON_PARSER_ERROR for a body that is not what the endpoint takes.
    pub fn bad_json(detail: impl std::fmt::Display) -> Self {
        Self::new(400, "JSON_PARSER_ERROR", format!("The request body is not valid: {detail}"))
    }

    /// 400 UNABLE_TO_LOCK_ROW (injected).
    pub fn lock_row() -> Self {
        Self::new(400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
    }

    /// The top-level REST shape.
    pub fn body(&self) -> Value {
        let mut error = json!({"message": self.message, "errorCode": self.code});
        if !self.fields.is_empty() {
            error["fields"] = json!(self.fields);
        }
        json!([error])
    }

    /// The per-record shape used inside sObject Collections results.
    pub fn record_error(&self) -> Value {
        json!({"statusCode": self.code, "message": self.message, "fields": self.fields})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        (status, axum::Json(self.body())).into_response()
    }
}

/// Keeps echoed input short in error messages.
pub fn clip(raw: &str) -> String {
    raw.chars().take(80).collect()
}
