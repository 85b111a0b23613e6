//! Bulk API 2.0 (`/jobs/ingest`, `/jobs/query`) as the Bulk API 2.0 and Bulk API Developer Guide
//! describes it and simple-salesforce's `bulk2.py` / jsforce's `bulk2.ts` use it (docs/wire-notes.md
//! §10e):
//!
//! - ingest: create a job (JSON) → `Open`; upload its CSV once (`PUT …/batches`, 201); close it
//!   (`PATCH {"state":"UploadComplete"}`) or abort it (`Aborted`); poll `GET …/{id}` until
//!   `JobComplete`, `Failed` or `Aborted`; read `successfulResults` (`sf__Id`, `sf__Created`),
//!   `failedResults` (`sf__Id`, `sf__Error`) and `unprocessedrecords` as CSV; delete the job.
//! - query: create a job with the SOQL → `UploadComplete`; poll until `JobComplete`; read
//!   `results?maxRecords=&locator=` pages of CSV with the `Sforce-Locator` (`null` on the last page)
//!   and `Sforce-NumberOfRecords` headers.
//!
//! Strict where the guide leaves room: a job moves on only when it is polled (UploadComplete →
//! InProgress → JobComplete: a client that does not poll never sees results), results exist only for
//! a finished job, one upload per job, 150 MB of CSV per job; a header naming a field the object does
//! not have fails the whole job (`InvalidBatch : Field name not found : X`); a row's failure is that
//! row's (`CODE:message:fields --` in `sf__Error`); an empty cell leaves the field alone and `#N/A`
//! sets it to null. Every request counts against the daily API allowance; records do not.

use super::error::{ApiError, clip};
use super::handlers::{change_origin, upsert_keyed};
use super::schema::{self, FieldDef, ObjectDef};
use super::soql::{self, SelectItem};
use super::store::{Store, WriteContext};
use super::{Shared, query, values};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// Most CSV bytes one ingest job takes ("150 MB of raw data", Bulk API 2.0 limits).
pub const MAX_UPLOAD_BYTES: usize = 150 * 1024 * 1024;
/// Records per internal batch: each counts against `DailyBulkApiBatches` (10,000 records each).
pub const RECORDS_PER_BATCH: usize = 10_000;
/// Rows per query results page when the client names no `maxRecords`.
const DEFAULT_QUERY_PAGE: usize = 50_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    UploadComplete,
    InProgress,
    JobComplete,
    Failed,
    Aborted,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Open => "Open",
            State::UploadComplete => "UploadComplete",
            State::InProgress => "InProgress",
            State::JobComplete => "JobComplete",
            State::Failed => "Failed",
            State::Aborted => "Aborted",
        }
    }

    fn finished(self) -> bool {
        matches!(self, State::JobComplete | State::Failed | State::Aborted)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Insert,
    Update,
    Upsert,
    Delete,
    Query,
    QueryAll,
}

impl Operation {
    fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "insert" => Self::Insert,
            "update" => Self::Update,
            "upsert" => Self::Upsert,
            "delete" => Self::Delete,
            "query" => Self::Query,
            "queryAll" => Self::QueryAll,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Insert => "insert",
            Self::Update => "update",
            Self::Upsert => "upsert",
            Self::Delete => "delete",
            Self::Query => "query",
            Self::QueryAll => "queryAll",
        }
    }
}

/// What an ingest job produced, row by row, in upload order.
#[derive(Debug, Default)]
struct IngestResults {
    header: Vec<String>,
    successful: Vec<(String, bool, Vec<String>)>,
    failed: Vec<(String, String, Vec<String>)>,
    unprocessed: Vec<Vec<String>>,
}

#[derive(Debug)]
struct Job {
    id: String,
    object: String,
    operation: Operation,
    external_id: Option<String>,
    state: State,
    created: String,
    /// `client=` of the creating request's `Sforce-Call-Options` (empty in strict mode).
    change_origin: String,
    data: Option<Vec<u8>>,
    results: IngestResults,
    error_message: Option<String>,
    /// Query jobs: the result as CSV rows under `header`.
    query_header: Vec<String>,
    query_rows: Vec<Vec<String>>,
}

impl Job {
    fn info(&self, version: &str) -> Value {
        let kind = if self.is_query() { "query" } else { "ingest" };
        let mut info = json!({
            "id": self.id, "operation": self.operation.name(), "object": self.object,
            "createdById": super::user_id(), "createdDate": self.created, "systemModstamp": self.created,
            "state": self.state.name(), "concurrencyMode": "Parallel", "contentType": "CSV",
            "apiVersion": version.trim_start_matches('v').parse::<f64>().unwrap_or(63.0),
            "lineEnding": "LF", "columnDelimiter": "COMMA", "jobType": "V2Ingest",
        });
        if self.is_query() {
            info["jobType"] = json!("V2Query");
            info["numberRecordsProcessed"] = json!(self.query_rows.len());
        } else {
            info["contentUrl"] = json!(format!("services/data/{version}/jobs/{kind}/{}/batches", self.id));
            info["numberRecordsProcessed"] = json!(self.results.successful.len() + self.results.failed.len());
            info["numberRecordsFailed"] = json!(self.results.failed.len());
            info["retries"] = json!(0);
            info["totalProcessingTime"] = json!(0);
        }
        if let Some(field) = &self.external_id {
            info["externalIdFieldName"] = json!(field);
        }
        if let Some(message) = &self.error_message {
            info["errorMessage"] = json!(message);
        }
        info
    }

    fn is_query(&self) -> bool {
        matches!(self.operation, Operation::Query | Operation::QueryAll)
    }
}

/// The jobs of one sandbox org.
#[derive(Debug, Default)]
pub struct BulkJobs {
    jobs: HashMap<String, Job>,
    next: u64,
    /// Internal batches used (ingest: one per 10,000 records; query: one per job).
    pub batches_used: u64,
    pub query_jobs_used: u64,
}

/// A request routed here: `segments` after `jobs/`.
pub struct BulkRequest<'a> {
    pub method: &'a str,
    pub segments: &'a [&'a str],
    pub version: &'a str,
    pub params: &'a [(String, String)],
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

impl BulkRequest<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Routes `/jobs/...`.
pub fn dispatch(shared: &Shared, req: &BulkRequest) -> Result<Response, ApiError> {
    match (req.method, req.segments) {
        ("POST", ["ingest"]) => create_ingest(shared, req),
        ("POST", ["query"]) => create_query(shared, req),
        ("GET", [kind @ ("ingest" | "query"), id]) => {
            let mut jobs = shared.bulk.lock().unwrap_or_else(|e| e.into_inner());
            let job = find(&mut jobs, kind, id)?;
            let batches = advance(shared, job);
            let info = job.info(req.version);
            jobs.batches_used += batches;
            Ok(json_ok(info))
        }
        ("PATCH", [kind @ ("ingest" | "query"), id]) => set_state(shared, req, kind, id),
        ("DELETE", [kind @ ("ingest" | "query"), id]) => {
            let mut jobs = shared.bulk.lock().unwrap_or_else(|e| e.into_inner());
            let job = find(&mut jobs, kind, id)?;
            if job.state == State::Open || job.state == State::InProgress {
                return Err(invalid_state(job, "delete"));
            }
            jobs.jobs.remove(*id);
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        ("PUT", ["ingest", id, "batches"]) => upload(shared, req, id),
        // jsforce asks for `unprocessedrecords` (the guide's spelling), simple-salesforce for
        // `unprocessedRecords`: both clients work against Salesforce, so both are served.
        ("GET", ["ingest", id, which])
            if ["successfulResults", "failedResults", "unprocessedrecords"]
                .iter()
                .any(|r| r.eq_ignore_ascii_case(which)) =>
        {
            with_job(shared, "ingest", id, |job| {
                if !job.state.finished() {
                    return Err(invalid_state(job, "read the results of"));
                }
                Ok(csv_response(ingest_results(job, which), &[]))
            })
        }
        ("GET", ["query", id, "results"]) => with_job(shared, "query", id, |job| query_results(job, req)),
        _ => Err(ApiError::not_found()),
    }
}

fn json_ok(body: Value) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn invalid_job(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "INVALIDJOB", message)
}

fn invalid_state(job: &Job, what: &str) -> ApiError {
    ApiError::new(409, "INVALIDJOBSTATE", format!("Cannot {what} a job in state {}", job.state.name()))
}

fn find<'a>(jobs: &'a mut BulkJobs, kind: &str, id: &str) -> Result<&'a mut Job, ApiError> {
    jobs.jobs.get_mut(id).filter(|job| job.is_query() == (kind == "query")).ok_or_else(ApiError::not_found)
}

fn with_job<T>(
    shared: &Shared,
    kind: &str,
    id: &str,
    op: impl FnOnce(&mut Job) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut jobs = shared.bulk.lock().unwrap_or_else(|e| e.into_inner());
    op(find(&mut jobs, kind, id)?)
}

fn new_job(shared: &Shared, object: &str, operation: Operation, headers: &HeaderMap, version: &str) -> Job {
    let mut jobs = shared.bulk.lock().unwrap_or_else(|e| e.into_inner());
    jobs.next += 1;
    // Strict mode leaves changeOrigin empty, as for sObject Collections (docs/wire-notes.md §8).
    let change_origin = if shared.strict { String::new() } else { change_origin("bulkapi", version, headers) };
    Job {
        id: super::ids::make_id("750", jobs.next),
        object: object.to_string(),
        operation,
        external_id: None,
        state: State::Open,
        created: values::format_datetime(values::now_ms()),
        change_origin,
        data: None,
        results: IngestResults::default(),
        error_message: None,
        query_header: Vec::new(),
        query_rows: Vec::new(),
    }
}

fn json_body(req: &BulkRequest) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice(req.body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_json("expected a JSON object")),
        Err(e) => Err(ApiError::bad_json(e)),
    }
}

fn create_ingest(shared: &Shared, req: &BulkRequest) -> Result<Response, ApiError> {
    let body = json_body(req)?;
    let text = |key: &str| body.get(key).and_then(Value::as_str);
    let operation = text("operation")
        .and_then(Operation::parse)
        .filter(|op| !matches!(op, Operation::Query | Operation::QueryAll))
        .ok_or_else(|| {
            invalid_job(format!("InvalidJob : Invalid operation: {}", clip(text("operation").unwrap_or(""))))
        })?;
    let def = text("object").and_then(schema::object).filter(|def| !def.is_platform_event()).ok_or_else(|| {
        invalid_job(format!("InvalidJob : Unable to find object: {}", clip(text("object").unwrap_or(""))))
    })?;
    if text("contentType").is_some_and(|t| t != "CSV") {
        return Err(invalid_job("InvalidJob : Only CSV content is supported"));
    }
    if text("columnDelimiter").is_some_and(|d| d != "COMMA")
        || text("lineEnding").is_some_and(|l| l != "LF" && l != "CRLF")
    {
        return Err(invalid_job("InvalidJob : The sandbox takes COMMA-delimited CSV with LF or CRLF line endings"));
    }
    let external_id = match (operation, text("externalIdFieldName")) {
        (Operation::Upsert, None) => {
            return Err(invalid_job(format!(
                "InvalidJob : External ID was blank for {}. An External ID must be specified for upsert.",
                def.name
            )));
        }
        (Operation::Upsert, Some(name)) => {
            let field = def.field(name).filter(|f| f.external_id || f.name == "Id").ok_or_else(|| {
                invalid_job(format!(
                    "InvalidJob : Field name provided, {} is not an External ID or indexed field for {}",
                    clip(name),
                    def.name
                ))
            })?;
            Some(field.name.to_string())
        }
        _ => None,
    };
    let mut job = new_job(shared, def.name, operation, req.headers, req.version);
    job.external_id = external_id;
    let info = job.info(req.version);
    shared.bulk.lock().unwrap_or_else(|e| e.into_inner()).jobs.insert(job.id.clone(), job);
    Ok(json_ok(info))
}

fn upload(shared: &Shared, req: &BulkRequest, id: &str) -> Result<Response, ApiError> {
    let content_type = req.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !content_type.starts_with("text/csv") {
        return Err(ApiError::new(400, "INVALIDJOB", "InvalidJob : Content-Type must be text/csv"));
    }
    if req.body.len() > MAX_UPLOAD_BYTES {
        return Err(ApiError::new(400, "INVALIDJOB", "InvalidJob : The upload exceeds 150 MB"));
    }
    with_job(shared, "ingest", id, |job| {
        if job.state != State::Open || job.data.is_some() {
            return Err(invalid_state(job, "upload data to"));
        }
        job.data = Some(req.body.to_vec());
        Ok(StatusCode::CREATED.into_response())
    })
}

fn set_state(shared: &Shared, req: &BulkRequest, kind: &str, id: &str) -> Result<Response, ApiError> {
    let body = json_body(req)?;
    let wanted = body.get("state").and_then(Value::as_str).unwrap_or_default();
    with_job(shared, kind, id, |job| {
        match (wanted, job.state) {
            ("UploadComplete", State::Open) if !job.is_query() => {
                job.state = State::UploadComplete;
            }
            ("Aborted", state) if !state.finished() => {
                job.state = State::Aborted;
                if let Some(data) = job.data.take() {
                    // Nothing was processed: every row is unprocessed.
                    if let Ok((header, rows)) = parse_csv(&data) {
                        job.results.header = header;
                        job.results.unprocessed = rows;
                    }
                }
            }
            ("UploadComplete" | "Aborted", _) => return Err(invalid_state(job, &format!("set {wanted} on"))),
            _ => return Err(invalid_job(format!("InvalidJob : Invalid state: {}", clip(wanted)))),
        }
        Ok(json_ok(job.info(req.version)))
    })
}

/// One poll's worth of progress: a closed job starts, a started one finishes. Returns the
/// internal batches the step used (10,000 records each, counted against `DailyBulkApiBatches`).
fn advance(shared: &Shared, job: &mut Job) -> u64 {
    match job.state {
        State::UploadComplete => job.state = State::InProgress,
        State::InProgress if job.is_query() => job.state = State::JobComplete,
        State::InProgress => return process_ingest(shared, job),
        _ => {}
    }
    0
}

fn process_ingest(shared: &Shared, job: &mut Job) -> u64 {
    let Some(data) = job.data.take() else {
        job.state = State::Failed;
        job.error_message = Some("InvalidBatch : No data was uploaded for this job".into());
        return 0;
    };
    let def = schema::object(&job.object).expect("checked at creation");
    let (header, rows) = match parse_csv(&data).and_then(|(header, rows)| check_header(def, job, header, rows)) {
        Ok(parsed) => parsed,
        Err(message) => {
            job.state = State::Failed;
            job.error_message = Some(message);
            return 1;
        }
    };
    let batches = (rows.len().div_ceil(RECORDS_PER_BATCH) as u64).max(1);
    let ctx = WriteContext {
        change_origin: job.change_origin.clone(),
        transaction_key: uuid::Uuid::new_v4().to_string(),
        now_ms: values::now_ms(),
    };
    let mut store = shared.store.lock().unwrap_or_else(|e| e.into_inner());
    for row in rows {
        let outcome = shared.maybe_lock_row().and_then(|()| apply_row(&mut store, def, job, &header, &row, &ctx));
        match outcome {
            Ok((id, created)) => job.results.successful.push((id, created, row)),
            Err(e) => {
                let id = cell(&header, &row, "Id").unwrap_or_default().to_string();
                job.results.failed.push((id, format!("{}:{}:{} --", e.code, e.message, e.fields.join(",")), row));
            }
        }
    }
    job.results.header = header;
    job.state = State::JobComplete;
    batches
}

fn cell<'a>(header: &[String], row: &'a [String], name: &str) -> Option<&'a str> {
    header.iter().position(|h| h.eq_ignore_ascii_case(name)).and_then(|i| row.get(i)).map(String::as_str)
}

/// Every column must be a field of the object (the whole job fails otherwise), every row as long as the header.
#[allow(clippy::type_complexity)]
fn check_header(
    def: &ObjectDef,
    job: &Job,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    for column in &header {
        // `Account__r.SAP_CardCode__c`: a lookup set by the parent's external id.
        let known = match column.split_once('.') {
            None => def.field(column).is_some(),
            Some((relationship, key)) => def
                .relationship(relationship)
                .and_then(|(_, parent)| parent.field(key))
                .is_some_and(|f| f.external_id || f.name == "Id"),
        };
        if !known {
            return Err(format!("InvalidBatch : Field name not found : {}", clip(column)));
        }
    }
    if let Some(field) = &job.external_id
        && !header.iter().any(|h| h.eq_ignore_ascii_case(field))
    {
        return Err(format!("InvalidBatch : Field name not found : {field}"));
    }
    if matches!(job.operation, Operation::Update | Operation::Delete)
        && !header.iter().any(|h| h.eq_ignore_ascii_case("Id"))
    {
        return Err("InvalidBatch : Field name not found : Id".into());
    }
    if job.operation == Operation::Delete && header.len() != 1 {
        return Err("InvalidBatch : The 'delete' batch must contain only 'Id'".into());
    }
    if let Some(n) = rows.iter().position(|r| r.len() != header.len()) {
        return Err(format!("InvalidBatch : Row {} has {} columns, the header {}", n + 2, rows[n].len(), header.len()));
    }
    Ok((header, rows))
}

/// A row as a record body: empty cells left out, `#N/A` null, `Rel.Key` columns as
/// `{"Rel": {"Key": value}}` (the lookup by the parent's external id).
fn row_body(def: &ObjectDef, header: &[String], row: &[String], skip_id: bool) -> Map<String, Value> {
    let mut body = Map::new();
    for (name, value) in header.iter().zip(row) {
        if value.is_empty() || (skip_id && name.eq_ignore_ascii_case("Id")) {
            continue;
        }
        let value = if value == "#N/A" { Value::Null } else { Value::String(value.clone()) };
        match name.split_once('.') {
            Some((relationship, key)) => {
                body.insert(relationship.to_string(), json!({ key: value }));
            }
            None => {
                let name = def.field(name).map_or(name.as_str(), |f: &FieldDef| f.name).to_string();
                body.insert(name, value);
            }
        }
    }
    body
}

fn apply_row(
    store: &mut Store,
    def: &'static ObjectDef,
    job: &Job,
    header: &[String],
    row: &[String],
    ctx: &WriteContext,
) -> Result<(String, bool), ApiError> {
    let id_cell = || {
        let raw = cell(header, row, "Id").unwrap_or_default();
        super::ids::normalize(raw)
            .filter(|id| id.starts_with(def.prefix))
            .ok_or_else(|| ApiError::malformed_id(def.name, raw).with_fields(vec!["Id".into()]))
    };
    match job.operation {
        Operation::Insert => Ok((store.create(def, row_body(def, header, row, false), ctx)?, true)),
        Operation::Update => {
            let id = id_cell()?;
            store.update(def, &id, row_body(def, header, row, true), ctx)?;
            Ok((id, false))
        }
        Operation::Delete => {
            let id = id_cell()?;
            store
                .delete(def, &id, ctx)
                .map_err(|_| ApiError::new(400, "ENTITY_IS_DELETED", "entity is deleted").with_fields(vec![]))?;
            Ok((id, false))
        }
        Operation::Upsert => {
            let field_name = job.external_id.as_deref().unwrap_or("Id");
            let field = def.field(field_name).expect("checked at creation");
            upsert_keyed(store, def, field, cell(header, row, field_name), row_body(def, header, row, false), ctx)
        }
        Operation::Query | Operation::QueryAll => unreachable!("query jobs take no rows"),
    }
}

fn ingest_results(job: &Job, which: &str) -> Vec<Vec<String>> {
    let header = &job.results.header;
    let with = |first: &str, second: &str| [vec![first.to_string(), second.to_string()], header.clone()].concat();
    match which.to_ascii_lowercase().as_str() {
        "successfulresults" => std::iter::once(with("sf__Id", "sf__Created"))
            .chain(
                job.results
                    .successful
                    .iter()
                    .map(|(id, created, row)| [vec![id.clone(), created.to_string()], row.clone()].concat()),
            )
            .collect(),
        "failedresults" => std::iter::once(with("sf__Id", "sf__Error"))
            .chain(
                job.results
                    .failed
                    .iter()
                    .map(|(id, error, row)| [vec![id.clone(), error.clone()], row.clone()].concat()),
            )
            .collect(),
        _ => std::iter::once(header.clone()).chain(job.results.unprocessed.iter().cloned()).collect(),
    }
}

fn create_query(shared: &Shared, req: &BulkRequest) -> Result<Response, ApiError> {
    let body = json_body(req)?;
    let operation = body
        .get("operation")
        .and_then(Value::as_str)
        .and_then(Operation::parse)
        .filter(|op| matches!(op, Operation::Query | Operation::QueryAll))
        .ok_or_else(|| invalid_job("InvalidJob : operation must be query or queryAll"))?;
    let soql =
        body.get("query").and_then(Value::as_str).ok_or_else(|| invalid_job("InvalidJob : query is required"))?;
    let parsed = soql::parse(soql).map_err(|e| ApiError::new(400, "MALFORMED_QUERY", e.0))?;
    let mut header = Vec::new();
    for item in &parsed.select {
        match item {
            SelectItem::Field(path) => header.push(path.join(".")),
            SelectItem::Count => {
                return Err(ApiError::new(400, "API_ERROR", "Aggregate queries are not supported by Bulk API 2.0"));
            }
            SelectItem::SubQuery(_) => {
                return Err(ApiError::new(400, "API_ERROR", "Nested queries are not supported by Bulk API 2.0"));
            }
        }
    }
    let def = schema::object(&parsed.from).filter(|def| !def.is_platform_event()).ok_or_else(|| {
        ApiError::new(400, "INVALID_TYPE", format!("sObject type '{}' is not supported.", clip(&parsed.from)))
    })?;
    let result = {
        let store = shared.store.lock().unwrap_or_else(|e| e.into_inner());
        query::refuse_hidden_fields(&store, &parsed)?;
        query::run(&store, &parsed, req.version, operation == Operation::QueryAll)?
    };
    let rows = result.records.iter().map(|record| header.iter().map(|path| flatten(record, path)).collect()).collect();
    let mut job = new_job(shared, def.name, operation, req.headers, req.version);
    job.state = State::UploadComplete;
    job.query_header = header;
    job.query_rows = rows;
    let info = job.info(req.version);
    let mut jobs = shared.bulk.lock().unwrap_or_else(|e| e.into_inner());
    jobs.query_jobs_used += 1;
    jobs.batches_used += 1;
    jobs.jobs.insert(job.id.clone(), job);
    Ok(json_ok(info))
}

/// A query row's value at `Account.Name` as CSV text: null is empty, numbers as JSON writes them.
fn flatten(record: &Value, path: &str) -> String {
    let mut value = record;
    for step in path.split('.') {
        let found =
            value.as_object().and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(step)).map(|(_, v)| v));
        match found {
            Some(next) => value = next,
            None => return String::new(),
        }
    }
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn query_results(job: &mut Job, req: &BulkRequest) -> Result<Response, ApiError> {
    if job.state != State::JobComplete {
        return Err(invalid_state(job, "read the results of"));
    }
    let invalid_locator = || ApiError::new(400, "INVALIDLOCATOR", "Invalid locator");
    let offset: usize = match req.param("locator") {
        None | Some("") => 0,
        Some(locator) => locator
            .strip_prefix("L")
            .and_then(|n| usize::from_str_radix(n, 36).ok())
            .filter(|&n| n <= job.query_rows.len())
            .ok_or_else(invalid_locator)?,
    };
    let page = match req.param("maxRecords") {
        None => DEFAULT_QUERY_PAGE,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| invalid_job("InvalidJob : maxRecords must be a positive number"))?,
    };
    let end = (offset + page).min(job.query_rows.len());
    let locator = if end < job.query_rows.len() { format!("L{}", radix36(end)) } else { "null".to_string() };
    let rows: Vec<Vec<String>> =
        std::iter::once(job.query_header.clone()).chain(job.query_rows[offset..end].iter().cloned()).collect();
    Ok(csv_response(rows, &[("sforce-locator", locator), ("sforce-numberofrecords", (end - offset).to_string())]))
}

fn radix36(mut n: usize) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[n % 36]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn csv_response(rows: Vec<Vec<String>>, headers: &[(&'static str, String)]) -> Response {
    let mut writer = csv::WriterBuilder::new().quote_style(csv::QuoteStyle::Always).from_writer(Vec::new());
    for row in rows {
        // Writing to a Vec cannot fail.
        let _ = writer.write_record(&row);
    }
    let body = writer.into_inner().unwrap_or_default();
    let mut response = (StatusCode::OK, [("content-type", "text/csv")], body).into_response();
    for (name, value) in headers {
        if let Ok(value) = value.parse() {
            response.headers_mut().insert(*name, value);
        }
    }
    response
}

/// The header row and the data rows of an uploaded CSV.
fn parse_csv(data: &[u8]) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(data);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("InvalidBatch : {e}"))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err("InvalidBatch : The CSV has no header row".into());
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("InvalidBatch : {e}"))?;
        rows.push(record.iter().map(str::to_string).collect());
    }
    Ok((header, rows))
}
