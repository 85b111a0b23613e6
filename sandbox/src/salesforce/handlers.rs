//! HTTP: the OAuth token endpoint, REST v63.0 (`/services/data/vNN.0/...`), and the control endpoints.

use super::error::{ApiError, clip};
use super::query::{self, attributes};
use super::schema::{self, FieldDef, ObjectDef};
use super::soql;
use super::store::{Record, Store, UpsertTarget, ValidationRule, WriteContext};
use super::{Cursor, Shared, values};
use crate::faults::FaultConfig;
use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use base64::Engine;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Most records one sObject Collections call takes.
const COLLECTION_LIMIT: usize = 200;
const DEFAULT_BATCH: usize = 2000;

/// The sandbox's routes.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/services/oauth2/token", post(token))
        // Bulk API 2.0 takes up to 150 MB of CSV per job (axum's default would refuse over 2 MB).
        .route("/services/data/{*rest}", any(api).layer(DefaultBodyLimit::max(super::bulk2::MAX_UPLOAD_BYTES + 1)))
        .route("/__sandbox/faults", get(get_faults).post(set_faults))
        .route("/__sandbox/calls", get(get_calls))
        .route("/__sandbox/calls/reset", post(reset_calls))
        .route("/__sandbox/expire-tokens", post(expire_tokens))
        .route("/__sandbox/api-usage", get(get_api_usage).post(set_api_usage))
        .route("/__sandbox/changes", get(get_changes))
        .route("/__sandbox/validation-rules", get(get_rules).post(set_rules).delete(clear_rules))
        .fallback(|| async { ApiError::not_found() })
        .layer(axum::middleware::map_response_with_state(shared.clone(), limit_info))
        .with_state(shared)
}

/// Every response carries the org's API usage, as Salesforce's do.
async fn limit_info(State(shared): State<Arc<Shared>>, mut response: Response) -> Response {
    let (used, max) = shared.api_usage();
    if let Ok(value) = HeaderValue::from_str(&format!("api-usage={used}/{max}")) {
        response.headers_mut().insert("sforce-limit-info", value);
    }
    response
}

fn json_response(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), axum::Json(body)).into_response()
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    shared.calls.hit("POST /services/oauth2/token");
    shared.faults.delay().await;
    let form: Map<String, Value> =
        url::form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), Value::String(v.into_owned()))).collect();
    let field = |name: &str| form.get(name).and_then(Value::as_str).map(str::to_string);
    let oauth_error =
        |error: &str, description: &str| json_response(400, json!({"error": error, "error_description": description}));
    if field("grant_type").as_deref() != Some("client_credentials") {
        return oauth_error("unsupported_grant_type", "grant type not supported");
    }
    let credentials = basic_credentials(&headers).or_else(|| Some((field("client_id")?, field("client_secret")?)));
    let Some((id, secret)) = credentials else {
        return oauth_error("invalid_client", "invalid client credentials");
    };
    if id != super::CLIENT_ID || secret != super::CLIENT_SECRET {
        return oauth_error("invalid_client", "invalid client credentials");
    }
    let issued_at = values::now_ms();
    let token = shared.issue_token();
    let (org, user) = (super::org_id(), super::user_id());
    let signature = base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes());
    json_response(
        200,
        json!({
            "access_token": token, "signature": signature, "scope": "api",
            "instance_url": shared.origin(), "id": format!("https://login.salesforce.com/id/{org}/{user}"),
            "token_type": "Bearer", "issued_at": issued_at.to_string(),
            "api_instance_url": "https://api.salesforce.com",
        }),
    )
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let (id, secret) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    let unescape = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    Some((unescape(id), unescape(secret)))
}

/// One REST request, parsed.
struct ApiRequest {
    method: Method,
    /// `v63.0`
    version: String,
    segments: Vec<String>,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
    ctx: WriteContext,
}

impl ApiRequest {
    fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn json_body(&self) -> Result<Value, ApiError> {
        serde_json::from_slice(&self.body).map_err(ApiError::bad_json)
    }

    fn object_body(&self) -> Result<Map<String, Value>, ApiError> {
        match self.json_body()? {
            Value::Object(map) => Ok(map),
            _ => Err(ApiError::bad_json("expected a JSON object")),
        }
    }
}

async fn api(State(shared): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let rest = uri.path().strip_prefix("/services/data/").unwrap_or_default();
    let (version, rest) = rest.split_once('/').unwrap_or((rest, ""));
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    shared.calls.hit(&endpoint_name(&method, &segments));
    shared.faults.delay().await;
    if !is_api_version(version) || segments.is_empty() {
        return ApiError::not_found().into_response();
    }
    if let Err(e) = shared.authenticate(&headers).and_then(|()| shared.charge_api_call()) {
        return e.into_response();
    }
    let faults = shared.faults.get();
    if shared.faults.roll(faults.request_limit_rate) {
        return request_limit_exceeded().into_response();
    }
    if shared.faults.roll(faults.error_rate) {
        return ApiError::new(503, "SERVER_UNAVAILABLE", "Server unavailable").into_response();
    }
    // The REST guide lists the resources that take Sforce-Call-Options (sObject Basic Information,
    // sObject Rows, sObject Rows by External ID, Query, QueryAll, Search; Bulk API and Bulk API 2.0):
    // sObject Collections is not among them (REST API Developer Guide, "Call Options Header",
    // headers_calloptions.htm). Strict: its writes leave changeOrigin empty (docs/wire-notes.md §8).
    let collection = segments.first().is_some_and(|s| s == "composite");
    let tagged = !(shared.strict && collection);
    let request = ApiRequest {
        ctx: write_context(version, if tagged { Some(&headers) } else { None }),
        version: version.to_string(),
        method,
        segments,
        query: url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect(),
        headers,
        body,
    };
    dispatch(&shared, &request).unwrap_or_else(IntoResponse::into_response)
}

/// 403 REQUEST_LIMIT_EXCEEDED, as for an exhausted daily allocation.
pub fn request_limit_exceeded() -> ApiError {
    ApiError::new(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
}

fn is_api_version(version: &str) -> bool {
    version
        .strip_prefix('v')
        .and_then(|v| v.strip_suffix(".0"))
        .is_some_and(|major| !major.is_empty() && major.bytes().all(|b| b.is_ascii_digit()))
}

/// The call counter's name for a request: `GET query`, `PATCH sobjects/Opportunity`, `PATCH composite/sobjects`.
fn endpoint_name(method: &Method, segments: &[String]) -> String {
    let canonical = |name: &str| schema::object(name).map(|o| o.name.to_string()).unwrap_or_else(|| clip(name));
    let route = match segments {
        [first, ..] if first == "query" || first == "queryAll" => "query".to_string(),
        [first, object, ..] if first == "sobjects" => format!("sobjects/{}", canonical(object)),
        [first, second] if first == "composite" && second == "sobjects" => "composite/sobjects".into(),
        [first, second, object, ..] if first == "composite" && second == "sobjects" => {
            format!("composite/sobjects/{}", canonical(object))
        }
        [first, kind, ..] if first == "jobs" => format!("jobs/{}", clip(kind)),
        [first, ..] => clip(first),
        [] => String::new(),
    };
    format!("{method} {route}")
}

/// Who writes: `headers` carry the call options when the resource honours them (`None` when not).
fn write_context(version: &str, headers: Option<&HeaderMap>) -> WriteContext {
    let change_origin = headers.map(|h| change_origin("rest", version, h)).unwrap_or_default();
    WriteContext { change_origin, transaction_key: uuid::Uuid::new_v4().to_string(), now_ms: values::now_ms() }
}

/// CDC's `changeOrigin` for a write through `api` (`rest`, `bulkapi`) tagged with the request's
/// `Sforce-Call-Options: client=...`; empty without the tag.
pub(super) fn change_origin(api: &str, version: &str, headers: &HeaderMap) -> String {
    let client = headers
        .get("sforce-call-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').find_map(|option| option.trim().strip_prefix("client=")));
    match client {
        Some(client) => format!("com/salesforce/api/{api}/{};client={client}", version.trim_start_matches('v')),
        None => String::new(),
    }
}

fn dispatch(shared: &Shared, req: &ApiRequest) -> Result<Response, ApiError> {
    let segments: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    match (req.method.as_str(), segments.as_slice()) {
        ("GET", ["limits"]) => limits(shared),
        ("GET", ["query"]) => run_query(shared, req, false),
        ("GET", ["queryAll"]) => run_query(shared, req, true),
        ("GET", ["query" | "queryAll", locator]) => query_more(shared, req, locator),
        ("GET", ["sobjects"]) => Ok(describe_global()),
        (method, ["sobjects", object, rest @ ..]) => {
            let def = schema::object(object).ok_or_else(ApiError::not_found)?;
            match (method, rest) {
                ("POST", []) => create_one(shared, req, def),
                _ if def.is_platform_event() => Err(method_not_allowed(method)),
                ("GET", ["describe"]) => {
                    let store = shared.store.lock().unwrap_or_else(|e| e.into_inner());
                    Ok(json_response(200, store.security.describe(def)))
                }
                ("GET", [id]) => get_one(shared, req, def, id),
                ("PATCH", [id]) => update_one(shared, req, def, id),
                ("DELETE", [id]) => delete_one(shared, req, def, id),
                ("GET", [field, value]) => get_by_external_id(shared, req, def, field, value),
                ("PATCH", [field, value]) => upsert_one(shared, req, def, field, value),
                _ => Err(method_not_allowed(method)),
            }
        }
        ("POST", ["composite", "sobjects"]) => collection_create(shared, req),
        ("PATCH", ["composite", "sobjects"]) => collection_update(shared, req),
        ("DELETE", ["composite", "sobjects"]) => collection_delete(shared, req),
        ("GET", ["composite", "sobjects", object]) => collection_retrieve(shared, req, object),
        ("PATCH", ["composite", "sobjects", object, field]) => collection_upsert(shared, req, object, field),
        (method, ["jobs", rest @ ..]) => super::bulk2::dispatch(
            shared,
            &super::bulk2::BulkRequest {
                method,
                segments: rest,
                version: &req.version,
                params: &req.query,
                headers: &req.headers,
                body: &req.body,
            },
        ),
        _ => Err(ApiError::not_found()),
    }
}

/// `GET /limits`, for users with "View Setup and Configuration": the REST guide's Limits resource
/// "is available in REST API version 29.0 and later for API users with the View Setup and
/// Configuration permission" (resources_limits.htm). The refusal's exact body is not documented;
/// INSUFFICIENT_ACCESS with Salesforce's generic wording is modelled (docs/wire-notes.md §10).
fn limits(shared: &Shared) -> Result<Response, ApiError> {
    if !shared.user_has("ViewSetup") {
        return Err(insufficient_access());
    }
    Ok(json_response(200, shared.limits()))
}

/// 403 INSUFFICIENT_ACCESS with Salesforce's generic "Insufficient Privileges" wording.
pub fn insufficient_access() -> ApiError {
    ApiError::new(
        403,
        "INSUFFICIENT_ACCESS",
        "You do not have the level of access necessary to perform the operation you requested. Please contact \
         the owner of the record or your administrator if access is necessary.",
    )
}

fn method_not_allowed(method: &str) -> ApiError {
    ApiError::new(405, "METHOD_NOT_ALLOWED", format!("HTTP Method '{}' not allowed.", clip(method)))
}

fn describe_global() -> Response {
    let objects: Vec<Value> = [
        "Account",
        "Contact",
        "Opportunity",
        "OpportunityLineItem",
        "Product2",
        "Pricebook2",
        "PricebookEntry",
        "Case",
        "Lead",
        "SAP_Invoice__c",
    ]
    .iter()
    .filter_map(|name| schema::object(name))
    .map(|o| json!({"name": o.name, "keyPrefix": o.prefix, "queryable": true, "createable": true, "updateable": true}))
    .collect();
    json_response(200, json!({"encoding": "UTF-8", "maxBatchSize": COLLECTION_LIMIT, "sobjects": objects}))
}

// ---- query -------------------------------------------------------------------------------------

fn batch_size(headers: &HeaderMap) -> usize {
    headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').find_map(|o| o.trim().strip_prefix("batchSize=")?.trim().parse::<usize>().ok()))
        .map_or(DEFAULT_BATCH, |n| n.clamp(200, DEFAULT_BATCH))
}

/// `query`, or with `all` `queryAll`: deleted records (the recycle bin) too.
fn run_query(shared: &Shared, req: &ApiRequest, all: bool) -> Result<Response, ApiError> {
    let soql = req.param("q").ok_or_else(|| ApiError::new(400, "MALFORMED_QUERY", "query string is missing: q"))?;
    let parsed = soql::parse(soql).map_err(|e| ApiError::new(400, "MALFORMED_QUERY", e.0))?;
    if schema::object(&parsed.from).is_some_and(schema::ObjectDef::is_platform_event) {
        let message = format!("sObject type '{}' is not supported.", clip(&parsed.from));
        return Err(ApiError::new(400, "INVALID_TYPE", message));
    }
    let result = {
        let store = shared.store.lock().unwrap_or_else(|e| e.into_inner());
        query::refuse_hidden_fields(&store, &parsed)?;
        query::run(&store, &parsed, &req.version, all)?
    };
    let cursor =
        Cursor { records: Arc::new(result.records), total: result.total_size, batch: batch_size(&req.headers) };
    Ok(json_response(200, page(shared, &req.version, None, cursor, 0)))
}

fn query_more(shared: &Shared, req: &ApiRequest, locator: &str) -> Result<Response, ApiError> {
    let invalid = || ApiError::new(400, "INVALID_QUERY_LOCATOR", "invalid query locator");
    let (locator, offset) = locator.rsplit_once('-').ok_or_else(invalid)?;
    let offset: usize = offset.parse().map_err(|_| invalid())?;
    let cursor = shared.cursor(locator).ok_or_else(invalid)?;
    if offset > cursor.total {
        return Err(invalid());
    }
    Ok(json_response(200, page(shared, &req.version, Some(locator.to_string()), cursor, offset)))
}

/// One page of a query result, registering a locator when more pages follow.
fn page(shared: &Shared, version: &str, locator: Option<String>, cursor: Cursor, offset: usize) -> Value {
    let end = (offset + cursor.batch).min(cursor.records.len());
    let records = cursor.records[offset..end].to_vec();
    let mut body = json!({"totalSize": cursor.total, "done": end >= cursor.records.len(), "records": records});
    if end < cursor.records.len() {
        let locator = locator.unwrap_or_else(|| shared.register_cursor(cursor));
        body["nextRecordsUrl"] = json!(format!("/services/data/{version}/query/{locator}-{end}"));
    }
    body
}

// ---- single records ----------------------------------------------------------------------------

/// The 18-character id of a `def` record named in a URL.
fn record_id(def: &ObjectDef, raw: &str) -> Result<String, ApiError> {
    super::ids::normalize(raw)
        .filter(|id| id.starts_with(def.prefix))
        .ok_or_else(|| ApiError::malformed_id(def.name, raw))
}

/// A record as REST returns it: attributes plus all fields (or only `fields`), nulls included.
pub fn record_json(def: &ObjectDef, record: &Record, fields: Option<&[&FieldDef]>, version: &str) -> Value {
    let id = record.get("Id").and_then(Value::as_str).unwrap_or_default();
    let mut out = Map::new();
    out.insert("attributes".into(), attributes(def.name, id, version));
    let all: Vec<&FieldDef> = def.fields.iter().collect();
    for field in fields.unwrap_or(&all) {
        out.insert(field.name.into(), record.get(field.name).cloned().unwrap_or(Value::Null));
    }
    Value::Object(out)
}

fn requested_fields(def: &'static ObjectDef, param: Option<&str>) -> Result<Option<Vec<&'static FieldDef>>, ApiError> {
    let Some(param) = param.filter(|p| !p.trim().is_empty()) else { return Ok(None) };
    param
        .split(',')
        .map(|name| {
            def.field(name.trim()).ok_or_else(|| {
                ApiError::new(
                    400,
                    "INVALID_FIELD",
                    format!("No such column '{}' on sobject of type {}", clip(name.trim()), def.name),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn get_one(shared: &Shared, req: &ApiRequest, def: &'static ObjectDef, raw_id: &str) -> Result<Response, ApiError> {
    let id = record_id(def, raw_id)?;
    let fields = requested_fields(def, req.param("fields"))?;
    let store = shared.store.lock().unwrap_or_else(|e| e.into_inner());
    let record =
        store.get(def.name, &id).filter(|_| !store.security.is_record_hidden(&id)).ok_or_else(ApiError::not_found)?;
    Ok(json_response(200, record_json(def, record, fields.as_deref(), &req.version)))
}

fn create_one(shared: &Shared, req: &ApiRequest, def: &'static ObjectDef) -> Result<Response, ApiError> {
    let body = req.object_body()?;
    shared.maybe_lock_row()?;
    let id = shared.write(|store| store.create(def, body, &req.ctx))?;
    Ok(json_response(201, json!({"id": id, "success": true, "errors": []})))
}

fn update_one(shared: &Shared, req: &ApiRequest, def: &'static ObjectDef, raw_id: &str) -> Result<Response, ApiError> {
    let id = record_id(def, raw_id)?;
    let body = req.object_body()?;
    shared.maybe_lock_row()?;
    shared.write(|store| store.update(def, &id, body, &req.ctx))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn delete_one(shared: &Shared, req: &ApiRequest, def: &'static ObjectDef, raw_id: &str) -> Result<Response, ApiError> {
    let id = record_id(def, raw_id)?;
    shared.maybe_lock_row()?;
    shared.write(|store| store.delete(def, &id, &req.ctx))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The external id field named in a URL; anything else is NOT_FOUND, as in Salesforce.
fn external_id_field(def: &'static ObjectDef, name: &str) -> Result<&'static FieldDef, ApiError> {
    def.field(name).filter(|f| f.external_id).ok_or_else(ApiError::not_found)
}

fn multiple_choices(def: &ObjectDef, ids: &[String], version: &str) -> Response {
    let urls: Vec<String> =
        ids.iter().map(|id| format!("/services/data/{version}/sobjects/{}/{id}", def.name)).collect();
    json_response(300, json!(urls))
}

fn get_by_external_id(
    shared: &Shared,
    req: &ApiRequest,
    def: &'static ObjectDef,
    field: &str,
    value: &str,
) -> Result<Response, ApiError> {
    if field.eq_ignore_ascii_case("Id") {
        return get_one(shared, req, def, value);
    }
    let field = external_id_field(def, field)?;
    let fields = requested_fields(def, req.param("fields"))?;
    let store = shared.store.lock().unwrap_or_else(|e| e.into_inner());
    match store.upsert_target(def.name, field.name, value) {
        UpsertTarget::New => Err(ApiError::new(
            404,
            "NOT_FOUND",
            format!("Provided external ID field does not exist or is not accessible: {}", clip(value)),
        )),
        UpsertTarget::Existing(id) => {
            let record = store.get(def.name, &id).ok_or_else(ApiError::not_found)?;
            Ok(json_response(200, record_json(def, record, fields.as_deref(), &req.version)))
        }
        UpsertTarget::Ambiguous(ids) => Ok(multiple_choices(def, &ids, &req.version)),
    }
}

fn upsert_one(
    shared: &Shared,
    req: &ApiRequest,
    def: &'static ObjectDef,
    field: &str,
    value: &str,
) -> Result<Response, ApiError> {
    let field = external_id_field(def, field)?;
    let body = req.object_body()?;
    shared.maybe_lock_row()?;
    let outcome = shared.write(|store| upsert_record(store, def, field, value, body, &req.ctx))?;
    match outcome {
        Upserted::Done { id, created } => Ok(json_response(
            if created { 201 } else { 200 },
            json!({"id": id, "success": true, "errors": [], "created": created}),
        )),
        Upserted::Ambiguous(ids) => Ok(multiple_choices(def, &ids, &req.version)),
    }
}

enum Upserted {
    Done { id: String, created: bool },
    Ambiguous(Vec<String>),
}

/// One record of a many-record upsert (sObject Collections, a Bulk API row) by its external id
/// value: a missing value is MISSING_ARGUMENT and several matches DUPLICATE_EXTERNAL_ID, both that
/// record's own failure.
pub(super) fn upsert_keyed(
    store: &mut Store,
    def: &'static ObjectDef,
    field: &FieldDef,
    value: Option<&str>,
    body: Map<String, Value>,
    ctx: &WriteContext,
) -> Result<(String, bool), ApiError> {
    let value = value.filter(|v| !v.is_empty()).ok_or_else(|| {
        ApiError::new(400, "MISSING_ARGUMENT", format!("{} not specified", field.name))
            .with_fields(vec![field.name.into()])
    })?;
    match upsert_record(store, def, field, value, body, ctx)? {
        Upserted::Done { id, created } => Ok((id, created)),
        Upserted::Ambiguous(_) => Err(ApiError::new(
            300,
            "DUPLICATE_EXTERNAL_ID",
            format!("Provided external ID field exists on multiple records: {}", clip(value)),
        )
        .with_fields(vec![field.name.into()])),
    }
}

/// Inserts or updates the record whose external id `field` is `value`.
fn upsert_record(
    store: &mut Store,
    def: &'static ObjectDef,
    field: &FieldDef,
    value: &str,
    mut body: Map<String, Value>,
    ctx: &WriteContext,
) -> Result<Upserted, ApiError> {
    if body.keys().any(|k| k.eq_ignore_ascii_case("Id")) {
        return Err(ApiError::new(400, "INVALID_FIELD", "Id field should not be specified in the sobject data.")
            .with_fields(vec!["Id".into()]));
    }
    let in_body = body.iter().find(|(k, _)| k.eq_ignore_ascii_case(field.name)).map(|(_, v)| v);
    if let Some(in_body) = in_body
        && external_id_text(in_body).is_none_or(|v| !v.eq_ignore_ascii_case(value))
    {
        return Err(ApiError::new(
            400,
            "INVALID_FIELD",
            format!("The value of {} in the body does not match the external id in the URL", field.name),
        )
        .with_fields(vec![field.name.to_string()]));
    }
    match store.upsert_target(def.name, field.name, value) {
        UpsertTarget::New => {
            body.insert(field.name.to_string(), json!(value));
            let id = store.create(def, body, ctx)?;
            Ok(Upserted::Done { id, created: true })
        }
        UpsertTarget::Existing(id) => {
            store.update(def, &id, body, ctx)?;
            Ok(Upserted::Done { id, created: false })
        }
        UpsertTarget::Ambiguous(ids) => Ok(Upserted::Ambiguous(ids)),
    }
}

/// An external id value as text: a Text external id's string, or a Number external id's number.
fn external_id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

// ---- sObject Collections -----------------------------------------------------------------------

struct CollectionRequest {
    all_or_none: bool,
    records: Vec<Map<String, Value>>,
}

fn collection_body(req: &ApiRequest) -> Result<CollectionRequest, ApiError> {
    let mut body = req.object_body()?;
    let all_or_none = body.get("allOrNone").and_then(Value::as_bool).unwrap_or(false);
    let Some(Value::Array(records)) = body.remove("records") else {
        return Err(ApiError::bad_json("records must be an array"));
    };
    let records = records
        .into_iter()
        .map(|record| match record {
            Value::Object(record) => Ok(record),
            _ => Err(ApiError::bad_json("each record must be an object")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if records.len() > COLLECTION_LIMIT {
        return Err(ApiError::new(
            400,
            "EXCEEDED_ID_LIMIT",
            format!("record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call"),
        ));
    }
    Ok(CollectionRequest { all_or_none, records })
}

/// The object named by a record's `attributes.type`; collections refuse records without one.
fn record_type(record: &Map<String, Value>) -> Result<&'static ObjectDef, ApiError> {
    record
        .get("attributes")
        .and_then(|a| a.get("type"))
        .and_then(Value::as_str)
        .and_then(schema::object)
        .ok_or_else(|| ApiError::new(400, "INVALID_TYPE", "Must send a concrete entity type."))
}

/// What one record of a collection did.
struct RecordOutcome {
    id: String,
    created: Option<bool>,
}

/// Applies `op` to every record in order; with allOrNone, all or nothing is applied.
fn apply_collection(
    shared: &Shared,
    request: CollectionRequest,
    op: impl Fn(&mut Store, Map<String, Value>) -> Result<RecordOutcome, ApiError>,
) -> Vec<Value> {
    let mut store = shared.store.lock().unwrap_or_else(|e| e.into_inner());
    let savepoint = request.all_or_none.then(|| store.savepoint());
    let outcomes: Vec<Result<RecordOutcome, ApiError>> = request
        .records
        .into_iter()
        .map(|record| {
            shared.maybe_lock_row()?;
            op(&mut store, record)
        })
        .collect();
    let failed = outcomes.iter().any(Result::is_err);
    match savepoint {
        Some(savepoint) if failed => store.rollback(savepoint),
        Some(savepoint) => store.release(savepoint),
        None => {}
    }
    let rolled_back = request.all_or_none && failed;
    outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Ok(_) if rolled_back => json!({"success": false, "errors": [ApiError::new(
                400,
                "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "Record rolled back because not all records were valid and the request was using AllOrNone header",
            ).record_error()]}),
            Ok(RecordOutcome { id, created }) => {
                let mut result = json!({"id": id, "success": true, "errors": []});
                if let Some(created) = created {
                    result["created"] = json!(created);
                }
                result
            }
            Err(e) => json!({"success": false, "errors": [e.record_error()]}),
        })
        .collect()
}

fn collection_create(shared: &Shared, req: &ApiRequest) -> Result<Response, ApiError> {
    let request = collection_body(req)?;
    request.records.iter().try_for_each(|r| record_type(r).map(drop))?;
    let results = apply_collection(shared, request, |store, record| {
        let def = record_type(&record)?;
        Ok(RecordOutcome { id: store.create(def, record, &req.ctx)?, created: None })
    });
    Ok(json_response(200, json!(results)))
}

/// The ids named more than once in an update collection (as 18-character ids).
fn repeated_ids(records: &[Map<String, Value>]) -> std::collections::BTreeSet<String> {
    let mut seen = std::collections::BTreeSet::new();
    records
        .iter()
        .filter_map(|r| super::ids::normalize(r.get("Id").and_then(Value::as_str)?))
        .filter(|id| !seen.insert(id.clone()))
        .collect()
}

fn collection_update(shared: &Shared, req: &ApiRequest) -> Result<Response, ApiError> {
    let request = collection_body(req)?;
    request.records.iter().try_for_each(|r| record_type(r).map(drop))?;
    // Salesforce refuses a DML list naming one record twice ("Duplicate id in list", Apex Developer
    // Guide, ListException); how sObject Collections reports it is not documented. Strict: every
    // record carrying a repeated id fails, the rest are applied (docs/wire-notes.md §9).
    let repeated = if shared.strict { repeated_ids(&request.records) } else { Default::default() };
    let results = apply_collection(shared, request, |store, record| {
        let def = record_type(&record)?;
        if let Some(id) = record.get("Id").and_then(Value::as_str).and_then(super::ids::normalize)
            && repeated.contains(&id)
        {
            return Err(ApiError::new(400, "INVALID_FIELD", format!("Duplicate id in list: {id}"))
                .with_fields(vec!["Id".into()]));
        }
        let raw = record.get("Id").and_then(Value::as_str).ok_or_else(|| {
            ApiError::new(400, "MISSING_ARGUMENT", "Id not specified in an update call").with_fields(vec!["Id".into()])
        })?;
        let id = record_id(def, raw)?;
        if store.get(def.name, &id).is_none() {
            return Err(ApiError::new(400, "INVALID_CROSS_REFERENCE_KEY", format!("invalid cross reference id: {id}"))
                .with_fields(vec!["Id".into()]));
        }
        store.update(def, &id, record, &req.ctx)?;
        Ok(RecordOutcome { id, created: None })
    });
    Ok(json_response(200, json!(results)))
}

fn collection_upsert(shared: &Shared, req: &ApiRequest, object: &str, field: &str) -> Result<Response, ApiError> {
    let def = schema::object(object).ok_or_else(ApiError::not_found)?;
    let field = def.field(field).filter(|f| f.external_id).ok_or_else(|| {
        ApiError::new(
            400,
            "INVALID_FIELD",
            format!("Field name provided, {} is not an External ID or indexed field for {}", clip(field), def.name),
        )
    })?;
    let request = collection_body(req)?;
    for record in &request.records {
        if record_type(record)?.name != def.name {
            return Err(ApiError::new(400, "INVALID_TYPE", format!("All records must be of type {}", def.name)));
        }
    }
    let results = apply_collection(shared, request, |store, record| {
        let value =
            record.iter().find(|(k, _)| k.eq_ignore_ascii_case(field.name)).and_then(|(_, v)| external_id_text(v));
        let (id, created) = upsert_keyed(store, def, field, value.as_deref(), record, &req.ctx)?;
        Ok(RecordOutcome { id, created: Some(created) })
    });
    Ok(json_response(200, json!(results)))
}

fn collection_delete(shared: &Shared, req: &ApiRequest) -> Result<Response, ApiError> {
    let ids: Vec<Map<String, Value>> = req
        .param("ids")
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|id| Map::from_iter([("Id".to_string(), json!(id))]))
        .collect();
    if ids.len() > COLLECTION_LIMIT {
        return Err(ApiError::new(400, "EXCEEDED_ID_LIMIT", "record limit reached"));
    }
    let request = CollectionRequest { all_or_none: req.param("allOrNone") == Some("true"), records: ids };
    let results = apply_collection(shared, request, |store, record| {
        let raw = record.get("Id").and_then(Value::as_str).unwrap_or_default();
        let def = super::ids::normalize(raw)
            .and_then(|id| schema::object_by_prefix(&id[..3]))
            .ok_or_else(|| ApiError::new(400, "MALFORMED_ID", format!("malformed id {}", clip(raw))))?;
        let id = record_id(def, raw)?;
        store
            .delete(def, &id, &req.ctx)
            .map_err(|_| ApiError::new(400, "ENTITY_IS_DELETED", "entity is deleted").with_fields(vec![]))?;
        Ok(RecordOutcome { id, created: None })
    });
    Ok(json_response(200, json!(results)))
}

fn collection_retrieve(shared: &Shared, req: &ApiRequest, object: &str) -> Result<Response, ApiError> {
    let def = schema::object(object).ok_or_else(ApiError::not_found)?;
    let fields = requested_fields(def, req.param("fields"))?
        .ok_or_else(|| ApiError::new(400, "MISSING_ARGUMENT", "fields parameter is required"))?;
    let ids: Vec<&str> = req.param("ids").unwrap_or_default().split(',').filter(|s| !s.is_empty()).collect();
    if ids.len() > COLLECTION_LIMIT {
        return Err(ApiError::new(400, "EXCEEDED_ID_LIMIT", "record limit reached"));
    }
    let store = shared.store.lock().unwrap_or_else(|e| e.into_inner());
    let records: Vec<Value> = ids
        .iter()
        .map(|raw| {
            record_id(def, raw)
                .ok()
                .and_then(|id| store.get(def.name, &id))
                .map_or(Value::Null, |r| record_json(def, r, Some(&fields), &req.version))
        })
        .collect();
    Ok(json_response(200, json!(records)))
}

// ---- control endpoints -------------------------------------------------------------------------

async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    json_response(200, json!(shared.faults.get()))
}

async fn set_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<FaultConfig>(&body) {
        Ok(config) => {
            shared.faults.set(config);
            json_response(200, json!(shared.faults.get()))
        }
        Err(e) => ApiError::bad_json(e).into_response(),
    }
}

async fn get_calls(State(shared): State<Arc<Shared>>) -> Response {
    json_response(200, json!(shared.calls.snapshot()))
}

async fn reset_calls(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.calls.reset();
    StatusCode::NO_CONTENT
}

async fn expire_tokens(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.expire_tokens();
    StatusCode::NO_CONTENT
}

async fn get_api_usage(State(shared): State<Arc<Shared>>) -> Response {
    let (used, max) = shared.api_usage();
    json_response(200, json!({"used": used, "max": max}))
}

#[derive(serde::Deserialize)]
struct ApiUsage {
    used: u64,
    max: u64,
}

async fn set_api_usage(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<ApiUsage>(&body) {
        Ok(usage) => {
            shared.set_api_usage(usage.used, usage.max);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => ApiError::bad_json(e).into_response(),
    }
}

async fn get_rules(State(shared): State<Arc<Shared>>) -> Response {
    json_response(200, json!(shared.store.lock().unwrap_or_else(|e| e.into_inner()).rules()))
}

/// One rule as the control endpoint takes it.
#[derive(serde::Deserialize)]
struct RuleBody {
    object: String,
    field: String,
    equals: Value,
    message: String,
}

/// A rule object adds one rule; an array replaces all of them (`[]` clears).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum RulesBody {
    One(RuleBody),
    All(Vec<RuleBody>),
}

async fn set_rules(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let (replace, bodies) = match serde_json::from_slice::<RulesBody>(&body) {
        Ok(RulesBody::One(rule)) => (false, vec![rule]),
        Ok(RulesBody::All(rules)) => (true, rules),
        Err(e) => return ApiError::bad_json(e).into_response(),
    };
    let rules = bodies.iter().map(|r| ValidationRule::new(&r.object, &r.field, &r.equals, &r.message));
    let rules = match rules.collect::<Result<Vec<_>, _>>() {
        Ok(rules) => rules,
        Err(e) => return e.into_response(),
    };
    let mut store = shared.store.lock().unwrap_or_else(|e| e.into_inner());
    if replace {
        store.clear_rules();
    }
    rules.into_iter().for_each(|rule| store.add_rule(rule));
    json_response(200, json!(store.rules()))
}

async fn clear_rules(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.store.lock().unwrap_or_else(|e| e.into_inner()).clear_rules();
    StatusCode::NO_CONTENT
}

async fn get_changes(State(shared): State<Arc<Shared>>) -> Response {
    let store = shared.store.lock().unwrap_or_else(|e| e.into_inner());
    json_response(200, json!(store.changes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_names_group_calls_by_resource() {
        let name = |m: Method, path: &str| endpoint_name(&m, &path.split('/').map(str::to_string).collect::<Vec<_>>());
        assert_eq!(name(Method::GET, "query"), "GET query");
        assert_eq!(name(Method::GET, "query/01gSB0000000001AAA-2000"), "GET query");
        assert_eq!(name(Method::PATCH, "sobjects/opportunity/006SB0000000001AAA"), "PATCH sobjects/Opportunity");
        assert_eq!(name(Method::PATCH, "composite/sobjects"), "PATCH composite/sobjects");
        assert_eq!(
            name(Method::PATCH, "composite/sobjects/Account/SAP_CardCode__c"),
            "PATCH composite/sobjects/Account"
        );
    }

    #[test]
    fn only_major_versions_with_a_zero_minor_are_api_versions() {
        assert!(is_api_version("v63.0") && is_api_version("v46.0"));
        assert!(!is_api_version("63.0") && !is_api_version("v63.1") && !is_api_version("v.0"));
    }

    #[test]
    fn the_call_options_client_becomes_the_change_origin() {
        let mut headers = HeaderMap::new();
        assert_eq!(write_context("v63.0", Some(&headers)).change_origin, "");
        headers.insert("sforce-call-options", HeaderValue::from_static("client=b1force, defaultNamespace=x"));
        assert_eq!(write_context("v63.0", Some(&headers)).change_origin, "com/salesforce/api/rest/63.0;client=b1force");
        assert_eq!(write_context("v63.0", None).change_origin, "", "a resource that ignores the header");
    }

    #[test]
    fn batch_size_is_clamped_to_the_documented_range() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert("sforce-query-options", HeaderValue::from_static(v));
            batch_size(&h)
        };
        assert_eq!(batch_size(&HeaderMap::new()), 2000);
        assert_eq!(with("batchSize=200"), 200);
        assert_eq!(with("batchSize=5"), 200);
        assert_eq!(with("batchSize=99999"), 2000);
    }
}
