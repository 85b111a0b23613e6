//! HTTP layer: one catch-all handler under `/b1s/v2` that counts, injects faults, checks the session
//! and dispatches on a parsed [`Route`]; the `/__sandbox/*` control endpoints.

use super::entities::{EntitySet, Key, SapError, Stamp, etag};
use super::metadata::{self, Edm};
use super::query::{BadQuery, QueryOptions};
use super::store::{PatchOptions, Store};
use super::user_fields::{self, USER_FIELD_FIELDS};
use super::{COMPANY_DB, PASSWORD, SapState, USER};
use crate::faults::FaultConfig;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Request as HttpRequest, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self as layer, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::{Value, json};
use std::sync::Arc;

const ODATA_JSON: &str = "application/json;odata.metadata=minimal;charset=utf-8";
const ERROR_JSON: &str = "application/json;charset=utf-8";
const ROOT: &str = "/b1s/v2/";
/// The entity set of UDF definitions.
const USER_FIELDS: &str = "UserFieldsMD";

/// The sandbox's routes.
pub(crate) fn router(state: Arc<SapState>) -> axum::Router {
    axum::Router::new()
        .route("/b1s/v2/{*path}", any(api))
        .route("/__sandbox/faults", get(get_faults).post(set_faults))
        .route("/__sandbox/calls", get(get_calls))
        .route("/__sandbox/calls/reset", post(reset_calls))
        .route("/__sandbox/expire-sessions", post(expire_sessions))
        .layer(layer::from_fn(request_line_limit))
        .with_state(state)
}

/// Apache httpd's default `LimitRequestLine`: the request line (method, target and protocol, the CRLF not
/// counted) may hold at most 8190 bytes; a longer one is refused with 414 before the Service Layer sees
/// it [V: Apache HTTP Server 2.4 core documentation, `LimitRequestLine` (default 8190); the Service Layer's
/// load balancer is Apache 2.4, reference §0].
pub const LIMIT_REQUEST_LINE: usize = 8190;

/// The whole request line as Apache measures it: `GET /b1s/v2/Items?$filter=... HTTP/1.1`.
fn request_line_len(method: &Method, uri: &Uri) -> usize {
    let target = uri.path_and_query().map_or("/", |pq| pq.as_str());
    method.as_str().len() + 1 + target.len() + 1 + "HTTP/1.1".len()
}

/// Refuses an over-long request line as Apache does, with its HTML body (not SAP JSON).
async fn request_line_limit(request: HttpRequest, next: Next) -> Response {
    if request_line_len(request.method(), request.uri()) > LIMIT_REQUEST_LINE {
        let html = "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n\
                    <title>414 Request-URI Too Long</title>\n</head><body>\n<h1>Request-URI Too Long</h1>\n\
                    <p>The requested URL's length exceeds the capacity\nlimit for this server.<br />\n</p>\n\
                    </body></html>\n";
        return (StatusCode::URI_TOO_LONG, [(header::CONTENT_TYPE, "text/html; charset=iso-8859-1")], Body::from(html))
            .into_response();
    }
    next.run(request).await
}

/// What a `/b1s/v2/...` path addresses.
#[derive(Debug, PartialEq)]
enum Route {
    Login,
    Logout,
    /// `$metadata`: the CSDL document.
    Metadata,
    Collection(EntitySet),
    Count(EntitySet),
    Entity(EntitySet, Key),
    Action(EntitySet, Key, String),
    /// `UserFieldsMD`.
    UserFields,
    /// `UserFieldsMD(TableName='OCRD',FieldID=0)`.
    UserField(String, i64),
}

impl Route {
    /// The call-counter name, e.g. `GET /Orders`, `POST /Login`, `POST /Orders/Close`.
    fn endpoint(&self, method: &Method) -> String {
        match self {
            Route::Login => format!("{method} /Login"),
            Route::Logout => format!("{method} /Logout"),
            Route::Metadata => format!("{method} /$metadata"),
            Route::Collection(set) | Route::Entity(set, _) => format!("{method} /{}", set.name()),
            Route::Count(set) => format!("{method} /{}/$count", set.name()),
            Route::Action(set, _, action) => format!("{method} /{}/{action}", set.name()),
            Route::UserFields | Route::UserField(..) => format!("{method} /{USER_FIELDS}"),
        }
    }
}

/// Parses the decoded path after `/b1s/v2/`.
fn parse_route(path: &str) -> Result<Route, SapError> {
    let not_found = || SapError::new(404, "-1", format!("Resource not found for the segment '{path}'"));
    match path {
        "Login" => return Ok(Route::Login),
        "Logout" => return Ok(Route::Logout),
        "$metadata" => return Ok(Route::Metadata),
        _ => {}
    }
    let name_end = path.find(['(', '/']).unwrap_or(path.len());
    if &path[..name_end] == USER_FIELDS {
        return match &path[name_end..] {
            "" => Ok(Route::UserFields),
            rest => {
                let inside = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')).ok_or_else(not_found)?;
                let (table, field_id) = user_fields::parse_key(inside)?;
                Ok(Route::UserField(table, field_id))
            }
        };
    }
    let set = EntitySet::from_name(&path[..name_end]).ok_or_else(not_found)?;
    let rest = &path[name_end..];
    if rest.is_empty() {
        return Ok(Route::Collection(set));
    }
    if rest == "/$count" {
        return Ok(Route::Count(set));
    }
    let Some(inside_and_after) = rest.strip_prefix('(') else {
        return Err(not_found());
    };
    let close = closing_paren(inside_and_after).ok_or_else(not_found)?;
    let key = set.parse_key(&inside_and_after[..close])?;
    match &inside_and_after[close + 1..] {
        "" => Ok(Route::Entity(set, key)),
        action => match action.strip_prefix('/') {
            Some(name) if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()) => {
                Ok(Route::Action(set, key, name.to_string()))
            }
            _ => Err(not_found()),
        },
    }
}

/// The first path segment when an unencoded `/` sits inside a key: a real server splits the path there
/// (RFC 3986 §3.3), so `BusinessPartners('C/9')` is not the partner `C/9`; only `C%2F9` is, decoded
/// after the path is split (#12 item 6; how the client writes keys: `shared::sap::odata::key_path`).
fn key_split_by_raw_slash(raw_path: &str) -> Option<&str> {
    let open = raw_path.find('(')?;
    let close = closing_paren(&raw_path[open + 1..]).map_or(raw_path.len(), |c| open + 1 + c);
    let slash = open + raw_path[open..close].find('/')?;
    Some(&raw_path[..slash])
}

/// Index of the `)` closing a key, skipping parentheses inside quoted strings.
fn closing_paren(s: &str) -> Option<usize> {
    let mut in_quotes = false;
    for (i, c) in s.char_indices() {
        match c {
            '\'' => in_quotes = !in_quotes,
            ')' if !in_quotes => return Some(i),
            _ => {}
        }
    }
    None
}

/// The catch-all API handler.
async fn api(
    State(state): State<Arc<SapState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw_path = uri.path().strip_prefix(ROOT).unwrap_or_default();
    if let Some(segment) = key_split_by_raw_slash(raw_path) {
        state.calls.hit(&format!("{method} /{}", segment.split('(').next().unwrap_or_default()));
        return error(&SapError::new(404, "-1", format!("Resource not found for the segment '{segment}'")));
    }
    let path = percent_encoding::percent_decode_str(raw_path).decode_utf8_lossy().into_owned();
    // POST + X-HTTP-Method-Override works like the named method (9.1 PL04+).
    let method = match headers.get("x-http-method-override").and_then(|v| v.to_str().ok()) {
        Some(over) if method == Method::POST => Method::from_bytes(over.as_bytes()).unwrap_or(method),
        _ => method,
    };
    let route = match parse_route(&path) {
        Ok(route) => route,
        Err(err) => {
            state.calls.hit(&format!("{method} /{}", path.split(['(', '/']).next().unwrap_or_default()));
            return error(&err);
        }
    };
    state.calls.hit(&route.endpoint(&method));
    state.faults.delay().await;
    if route != Route::Login && state.faults.roll(state.faults.get().error_rate) {
        return gateway_failure(&state);
    }
    if route == Route::Login {
        return login(&state, &method, &body);
    }
    let Some(session) = session_id(&headers).filter(|id| authenticate(&state, id)) else {
        return error(&SapError::new(401, "301", "Invalid session or session already timeout."));
    };
    let request = Request { method, query: uri.query(), headers: &headers, body: &body };
    dispatch(&state, route, &session, request).unwrap_or_else(|err| error(&err))
}

/// The parts of an authenticated request the operations need.
struct Request<'a> {
    method: Method,
    query: Option<&'a str>,
    headers: &'a HeaderMap,
    body: &'a Bytes,
}

fn dispatch(state: &SapState, route: Route, session: &str, request: Request<'_>) -> Result<Response, SapError> {
    let Request { method, query, headers, body } = request;
    let if_match = header_str(headers, header::IF_MATCH);
    let replace_collections = header_str(headers, header::HeaderName::from_static("b1s-replacecollectionsonpatch"))
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    match (route, method) {
        (Route::Logout, Method::POST) => {
            state.sessions.lock().unwrap().last_used.remove(session);
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        // The metadata document needs a session too [V: SAP "OData Client for Service Layer" guide §2].
        (Route::Metadata, Method::GET) => Ok((
            [(header::CONTENT_TYPE, "application/xml"), (header::HeaderName::from_static("odata-version"), "4.0")],
            metadata::document_with(&state.redeclared.lock().unwrap()),
        )
            .into_response()),
        (Route::Collection(set), Method::GET) => list(state, set, query, headers),
        (Route::Collection(set), Method::POST) => create(state, set, body, headers),
        (Route::Count(set), Method::GET) => count(state, set, query),
        (Route::Entity(set, key), Method::GET) => read(state, set, &key, query),
        (Route::Entity(set, key), Method::PATCH) => {
            let body = parse_body(body)?;
            let options = PatchOptions { if_match, replace_collections };
            write(state, |store, now| store.patch(set, &key, body, options, now))
        }
        (Route::Entity(set, key), Method::DELETE) => write(state, |store, _| store.delete(set, &key)),
        (Route::Action(set, key, action), Method::POST) => {
            write(state, |store, now| store.action(set, &key, &action, if_match, now))
        }
        (Route::UserFields, Method::GET) => list_user_fields(state, query, headers),
        (Route::UserFields, Method::POST) => create_user_field(state, body),
        (Route::UserField(table, field_id), Method::GET) => read_user_field(state, &table, field_id, query),
        (_, method) => Err(SapError::new(405, "-1000", format!("Method {method} is not allowed on this resource"))),
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `B1SESSION` from the Cookie header(s); `ROUTEID` (even `ROUTEID=None`) is ignored.
fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == "B1SESSION")
        .map(|(_, value)| value.trim().to_string())
}

/// Checks and refreshes the session, and applies `expire_sessions_every`.
fn authenticate(state: &SapState, id: &str) -> bool {
    let every = state.faults.get().expire_sessions_every;
    let mut sessions = state.sessions.lock().unwrap();
    if !sessions.touch(id) {
        return false;
    }
    sessions.authenticated += 1;
    // This request is served; every session dies after it, so the next one needs a new login.
    if every.is_some_and(|n| n > 0 && sessions.authenticated.is_multiple_of(n)) {
        sessions.last_used.clear();
    }
    true
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LoginBody {
    #[serde(rename = "CompanyDB")]
    company_db: String,
    user_name: String,
    password: String,
}

fn login(state: &SapState, method: &Method, body: &Bytes) -> Response {
    if method != Method::POST {
        return error(&SapError::new(405, "-1000", "Login accepts POST only"));
    }
    let Ok(credentials) = serde_json::from_slice::<LoginBody>(body) else {
        return error(&SapError::new(400, "-1000", "Login needs a JSON body with CompanyDB, UserName and Password"));
    };
    if credentials.company_db != COMPANY_DB || credentials.user_name != USER || credentials.password != PASSWORD {
        return error(&SapError::new(401, "-304", "Fail to get DB Credentials from SLD"));
    }
    let id = state.sessions.lock().unwrap().open();
    let body = json!({
        "@odata.context": format!("{}/$metadata#B1Sessions/$entity", state.base_url()),
        "SessionId": id,
        "Version": "1000280",
        "SessionTimeout": state.session_timeout_minutes,
    });
    let mut response = odata_json(StatusCode::OK, &body);
    let cookies = response.headers_mut();
    // Exact shapes of a real server: no Path and a stray `;` on B1SESSION, ROUTEID from the balancer.
    if let Ok(v) = HeaderValue::from_str(&format!("B1SESSION={id};HttpOnly;")) {
        cookies.append(header::SET_COOKIE, v);
    }
    cookies.append(header::SET_COOKIE, HeaderValue::from_static("ROUTEID=.node1; path=/b1s"));
    response
}

fn list(state: &SapState, set: EntitySet, raw_query: Option<&str>, headers: &HeaderMap) -> Result<Response, SapError> {
    let options = entity_options(state, set, raw_query)?;
    let (page_size, applied) = page_size(headers, state.default_page_size);
    let (mut page, next_skip) = {
        let mut store = state.store.lock().unwrap();
        let rows = store.select(set, &options, options.rows_needed(page_size));
        if any_unreadable(state, set, rows.iter().copied().filter(|row| options.matches(row))) {
            return Err(unreadable_error());
        }
        options.page(rows, page_size)
    };
    // A selected row carries no ETag annotation (as `read` sends no ETag header with `$select`).
    if options.select.is_none() {
        page = page.into_iter().map(|row| annotate(set, row)).collect();
    }
    Ok(collection(state, set.name(), &options, page, next_skip, applied))
}

/// One page of a collection: its context, `@odata.nextLink` when more rows follow, and
/// `Preference-Applied` when the client's page size was used.
fn collection(
    state: &SapState,
    name: &str,
    options: &QueryOptions,
    page: Vec<Value>,
    next_skip: Option<usize>,
    applied: Option<String>,
) -> Response {
    let mut body = json!({
        "@odata.context": format!("{}/$metadata#{name}", state.base_url()),
        "value": page,
    });
    if let Some(skip) = next_skip {
        body["@odata.nextLink"] = json!(options.next_link(name, skip));
    }
    let mut response = odata_json(StatusCode::OK, &body);
    if let Some(applied) = applied.and_then(|a| HeaderValue::from_str(&a).ok()) {
        response.headers_mut().insert("preference-applied", applied);
    }
    response
}

fn list_user_fields(state: &SapState, raw_query: Option<&str>, headers: &HeaderMap) -> Result<Response, SapError> {
    let options =
        typed_options(raw_query, &|f| USER_FIELD_FIELDS.contains(&f), &|p| metadata::lookup(metadata::USER_FIELD, p))?;
    let (page_size, applied) = page_size(headers, state.default_page_size);
    let (page, next_skip) = options.page(state.user_fields.lock().unwrap().rows().iter().collect(), page_size);
    Ok(collection(state, USER_FIELDS, &options, page, next_skip, applied))
}

fn read_user_field(
    state: &SapState,
    table: &str,
    field_id: i64,
    raw_query: Option<&str>,
) -> Result<Response, SapError> {
    let options =
        typed_options(raw_query, &|f| USER_FIELD_FIELDS.contains(&f), &|p| metadata::lookup(metadata::USER_FIELD, p))?;
    let mut body = options.project(state.user_fields.lock().unwrap().get(table, field_id)?);
    body["@odata.context"] = json!(format!("{}/$metadata#{USER_FIELDS}/$entity", state.base_url()));
    Ok(odata_json(StatusCode::OK, &body))
}

/// POST UserFieldsMD: 201 with the definition as stored (its `FieldID` assigned) and its `Location`.
fn create_user_field(state: &SapState, body: &Bytes) -> Result<Response, SapError> {
    let Value::Object(body) = parse_body(body)? else {
        return Err(SapError::bad_request("The request body must be a JSON object"));
    };
    let mut row = state.user_fields.lock().unwrap().create(body)?;
    let key = format!(
        "(TableName='{}',FieldID={})",
        row["TableName"].as_str().unwrap_or_default().replace('\'', "''"),
        row["FieldID"]
    );
    row["@odata.context"] = json!(format!("{}/$metadata#{USER_FIELDS}/$entity", state.base_url()));
    let mut response = odata_json(StatusCode::CREATED, &row);
    if let Ok(location) = HeaderValue::from_str(&format!("{ROOT}{USER_FIELDS}{key}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

fn count(state: &SapState, set: EntitySet, raw_query: Option<&str>) -> Result<Response, SapError> {
    let options = entity_options(state, set, raw_query)?;
    let n = state.store.lock().unwrap().count(set, &options);
    Ok((
        [(header::CONTENT_TYPE, "text/plain;charset=utf-8"), (header::HeaderName::from_static("odata-version"), "4.0")],
        n.to_string(),
    )
        .into_response())
}

/// Whether the fault injector marked one of `rows` as a row the server cannot serve. The rows are
/// not looked at (nor filtered) while nothing is marked, so reads pay nothing for the injector.
fn any_unreadable<'a>(state: &SapState, set: EntitySet, rows: impl IntoIterator<Item = &'a Value>) -> bool {
    let unreadable = state.unreadable.lock().unwrap();
    !unreadable.is_empty()
        && rows.into_iter().any(|row| {
            let key = match row.get(set.key_field()) {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => return false,
            };
            unreadable.contains(&(set.name().to_string(), key))
        })
}

fn unreadable_error() -> SapError {
    SapError::new(400, "-1", "Internal error (-1) occurred")
}

fn read(state: &SapState, set: EntitySet, key: &Key, raw_query: Option<&str>) -> Result<Response, SapError> {
    let options = entity_options(state, set, raw_query)?;
    let row = state.store.lock().unwrap().get(set, key)?.clone();
    if any_unreadable(state, set, [&row]) {
        return Err(unreadable_error());
    }
    let tag = etag(&row);
    // With $select a real server sends no ETag header (section 5 quirk); without it, both header and annotation.
    let selected = options.select.is_some();
    let mut body = if selected { options.project(&row) } else { annotate(set, row) };
    body["@odata.context"] = json!(format!("{}/$metadata#{}/$entity", state.base_url(), set.name()));
    let mut response = odata_json(StatusCode::OK, &body);
    if !selected
        && set.has_etag()
        && let Ok(v) = HeaderValue::from_str(&tag)
    {
        response.headers_mut().insert(header::ETAG, v);
    }
    Ok(response)
}

fn create(state: &SapState, set: EntitySet, body: &Bytes, headers: &HeaderMap) -> Result<Response, SapError> {
    let body = parse_body(body)?;
    let no_content = preferences(headers).any(|p| p.eq_ignore_ascii_case("return-no-content"));
    if set == EntitySet::Orders && state.store.lock().unwrap().order_approval {
        return create_order_draft(state, body, no_content);
    }
    let (key, row) = state.store.lock().unwrap().create(set, body, &state.now())?;
    let location = format!("{ROOT}{}{}", set.name(), key.to_url_segment());
    let tag = etag(&row);
    let mut response = if no_content {
        let mut r = StatusCode::NO_CONTENT.into_response();
        r.headers_mut().insert("preference-applied", HeaderValue::from_static("return-no-content"));
        r
    } else {
        let mut body = annotate(set, row);
        body["@odata.context"] = json!(format!("{}/$metadata#{}/$entity", state.base_url(), set.name()));
        odata_json(StatusCode::CREATED, &body)
    };
    let etag_header = set.has_etag().then_some((header::ETAG, tag));
    for (name, value) in [(header::LOCATION, location)].into_iter().chain(etag_header) {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, v);
        }
    }
    Ok(response)
}

/// `POST /Orders` under an approval procedure. REF 1.27 (`Orders` POST): "when activating approval
/// procedures, a draft would be created ... and service would return the error code -2028. For this
/// case, a header (Prefer: return-no-content) should be appended to avoid this error. Accordingly,
/// service would return http status 204, with empty response body." The draft exists either way;
/// the strict side sends no `Location` (where it would point is not documented).
fn create_order_draft(state: &SapState, body: Value, no_content: bool) -> Result<Response, SapError> {
    let Value::Object(body) = body else {
        return Err(SapError::bad_request("The request body must be a JSON object"));
    };
    state.store.lock().unwrap().create_order_draft(body, &state.now())?;
    if no_content {
        let mut response = StatusCode::NO_CONTENT.into_response();
        response.headers_mut().insert("preference-applied", HeaderValue::from_static("return-no-content"));
        return Ok(response);
    }
    Err(SapError::new(400, "-2028", "No matching records found (ODBC -2028)"))
}

/// Runs a write against the store and answers 204.
fn write(
    state: &SapState,
    change: impl FnOnce(&mut Store, &Stamp) -> Result<(), SapError>,
) -> Result<Response, SapError> {
    change(&mut state.store.lock().unwrap(), &state.now())?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn parse_body(body: &Bytes) -> Result<Value, SapError> {
    serde_json::from_slice(body)
        .map_err(|e| SapError::new(400, "-1000", format!("Invalid JSON in the request body: {e}")))
}

/// The query options of a request on `set`, its `$filter` type-checked against `$metadata`.
fn entity_options(state: &SapState, set: EntitySet, raw_query: Option<&str>) -> Result<QueryOptions, SapError> {
    let redeclared = state.redeclared.lock().unwrap().clone();
    typed_options(raw_query, &|f| set.has_field(f), &|p| metadata::declared_type(set, p, &redeclared))
}

/// Parses the options and refuses a `$filter` literal whose form does not fit the property's type with
/// 400 and the v2 error shape [U: the real code and text of this refusal were not found; -1000 as for
/// the other query errors here].
fn typed_options(
    raw_query: Option<&str>,
    known: &dyn Fn(&str) -> bool,
    types: &dyn Fn(&str) -> Option<Edm>,
) -> Result<QueryOptions, SapError> {
    let options = QueryOptions::parse(raw_query, known).map_err(bad_query)?;
    if let Some(filter) = &options.filter {
        metadata::check(filter, types).map_err(|e| SapError::new(400, "-1000", format!("Invalid $filter: {e}")))?;
    }
    Ok(options)
}

fn bad_query(err: BadQuery) -> SapError {
    SapError::new(400, "-1000", err.0)
}

/// Adds `@odata.etag` to a full row of a set that has ETags.
fn annotate(set: EntitySet, mut row: Value) -> Value {
    if set.has_etag() {
        row["@odata.etag"] = json!(etag(&row));
    }
    row
}

fn preferences(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim)
}

/// `Prefer: odata.maxpagesize=N` (echoed as applied), else `B1S-PageSize: N`, else the default; 0 = no paging.
fn page_size(headers: &HeaderMap, default: usize) -> (usize, Option<String>) {
    let preferred = preferences(headers)
        .filter_map(|p| p.strip_prefix("odata.maxpagesize="))
        .find_map(|n| n.trim().parse::<usize>().ok());
    if let Some(n) = preferred {
        return (n, Some(format!("odata.maxpagesize={n}")));
    }
    let b1s = header_str(headers, header::HeaderName::from_static("b1s-pagesize")).and_then(|n| n.trim().parse().ok());
    (b1s.unwrap_or(default), None)
}

fn odata_json(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ODATA_JSON));
    h.insert("odata-version", HeaderValue::from_static("4.0"));
    response
}

fn error(err: &SapError) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(err.body())).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(ERROR_JSON));
    response
}

/// What an overloaded Apache balancer answers: an empty 502 or an HTML 503, never SAP JSON.
fn gateway_failure(state: &SapState) -> Response {
    if state.faults.roll(0.5) {
        StatusCode::BAD_GATEWAY.into_response()
    } else {
        let html = "<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1>\
                    <p>The server is temporarily unable to service your request.</p></body></html>";
        (StatusCode::SERVICE_UNAVAILABLE, [(header::CONTENT_TYPE, "text/html; charset=iso-8859-1")], Body::from(html))
            .into_response()
    }
}

async fn get_faults(State(state): State<Arc<SapState>>) -> Json<FaultConfig> {
    Json(state.faults.get())
}

async fn set_faults(State(state): State<Arc<SapState>>, Json(config): Json<FaultConfig>) -> Json<FaultConfig> {
    state.faults.set(config);
    Json(state.faults.get())
}

async fn get_calls(State(state): State<Arc<SapState>>) -> Json<std::collections::BTreeMap<String, u64>> {
    Json(state.calls.snapshot())
}

async fn reset_calls(State(state): State<Arc<SapState>>) -> StatusCode {
    state.calls.reset();
    StatusCode::NO_CONTENT
}

async fn expire_sessions(State(state): State<Arc<SapState>>) -> StatusCode {
    state.expire_sessions();
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raw_slash_splits_a_key_and_only_an_encoded_one_stays_in_it() {
        assert_eq!(key_split_by_raw_slash("BusinessPartners('C/9')"), Some("BusinessPartners('C"));
        assert_eq!(key_split_by_raw_slash("BusinessPartners('C/9"), Some("BusinessPartners('C"));
        assert_eq!(key_split_by_raw_slash("BusinessPartners('C%2F9%20%C3%9C''x')"), None);
        assert_eq!(key_split_by_raw_slash("Orders(3)/Close"), None, "a slash after the key is a segment");
        assert_eq!(key_split_by_raw_slash("Orders/$count"), None);
        let decoded = percent_encoding::percent_decode_str("BusinessPartners('C%2F9%20%C3%9C''x')").decode_utf8_lossy();
        assert_eq!(
            parse_route(&decoded).unwrap(),
            Route::Entity(EntitySet::BusinessPartners, Key::Text("C/9 Ü'x".into()))
        );
    }

    #[test]
    fn routes_parse_every_key_form_and_the_count_and_action_segments() {
        let bp = |code: &str| Route::Entity(EntitySet::BusinessPartners, Key::Text(code.into()));
        assert_eq!(parse_route("BusinessPartners('C001')").unwrap(), bp("C001"));
        assert_eq!(parse_route("BusinessPartners(CardCode='C001')").unwrap(), bp("C001"));
        assert_eq!(parse_route("BusinessPartners('A)B')").unwrap(), bp("A)B"));
        assert_eq!(parse_route("Orders(22)").unwrap(), Route::Entity(EntitySet::Orders, Key::Int(22)));
        assert_eq!(parse_route("Orders/$count").unwrap(), Route::Count(EntitySet::Orders));
        assert_eq!(parse_route("Items").unwrap(), Route::Collection(EntitySet::Items));
        assert_eq!(
            parse_route("Orders(3)/Close").unwrap(),
            Route::Action(EntitySet::Orders, Key::Int(3), "Close".into())
        );
        assert_eq!(parse_route("Nope").unwrap_err().status, 404);
        assert_eq!(parse_route("Orders(3").unwrap_err().status, 404);
        assert_eq!(parse_route("Orders('x')").unwrap_err().status, 400);
        assert_eq!(parse_route("UserFieldsMD").unwrap(), Route::UserFields);
        assert_eq!(
            parse_route("UserFieldsMD(TableName='OCRD',FieldID=2)").unwrap(),
            Route::UserField("OCRD".into(), 2)
        );
        assert_eq!(parse_route("UserFieldsMD(TableName='OCRD')").unwrap_err().status, 400);
        assert_eq!(parse_route("UserFieldsMD/$count").unwrap_err().status, 404);
    }

    #[test]
    fn the_session_cookie_is_found_beside_any_routeid() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("ROUTEID=None; B1SESSION=abc-1"));
        assert_eq!(session_id(&headers).as_deref(), Some("abc-1"));
        headers.insert(header::COOKIE, HeaderValue::from_static("ROUTEID=.node1"));
        assert_eq!(session_id(&headers), None);
    }

    #[test]
    fn prefer_beats_b1s_page_size_and_is_echoed() {
        let mut headers = HeaderMap::new();
        headers.insert("b1s-pagesize", HeaderValue::from_static("30"));
        assert_eq!(page_size(&headers, 20), (30, None));
        headers.insert("prefer", HeaderValue::from_static("return-no-content, odata.maxpagesize=7"));
        assert_eq!(page_size(&headers, 20), (7, Some("odata.maxpagesize=7".into())));
        assert_eq!(page_size(&HeaderMap::new(), 20), (20, None));
    }
}
