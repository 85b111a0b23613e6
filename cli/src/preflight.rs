//! The live preflight `b1force check` runs against the configured systems, writing nothing: every
//! query the functions send, as they send them (`$top=1`), so the server's own parser judges the
//! literals; the UDFs B1Force needs, with type and size; the zone SAP stamps changes in; every
//! Salesforce object and field the mapping names, as the integration user sees it (describe); and
//! access to `/limits`. One finding per check, with the fix when it fails.

use crate::sap_setup::{self, Decision, ExistingField, USER_FIELDS};
use serde_json::{Value, json};
use shared::domain::polled::{EntitySpec, POLLED_ENTITIES, Start, Tracking};
use shared::domain::sap_time::SapTimeZone;
use shared::domain::state::Watermark;
use shared::domain::{CardCode, EpochMillis};
use shared::engine::poller::{PollerSettings, first_start};
use shared::error::ErrorClass;
use shared::mapping::catalogue::{Kind, KindClass};
use shared::mapping::file::{FlowMapping, MappingFile, Owner, RowSource};
use shared::ports::{AuditLog, ChangeQuery, SapBilling, SapChanges, SapReconcileReads};
use shared::salesforce::SalesforceClient;
use shared::sap::odata::Query;
use shared::sap::{SapClient, schema};
use std::collections::BTreeMap;

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Passed; what was seen.
    Ok(String),
    /// No settings for the system: what to set.
    NotConfigured(String),
    /// Failed: why.
    Failed(String),
}

/// One check's result: the system, what was checked, the outcome, and how to fix a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub system: &'static str,
    pub check: String,
    pub status: Status,
    pub fix: Option<String>,
}

impl Finding {
    pub fn ok(system: &'static str, check: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { system, check: check.into(), status: Status::Ok(detail.into()), fix: None }
    }

    pub fn failed(
        system: &'static str,
        check: impl Into<String>,
        why: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self { system, check: check.into(), status: Status::Failed(why.into()), fix: Some(fix.into()) }
    }

    pub fn not_configured(system: &'static str, what_to_set: impl Into<String>) -> Self {
        Self { system, check: "settings".into(), status: Status::NotConfigured(what_to_set.into()), fix: None }
    }

    pub fn is_failed(&self) -> bool {
        matches!(self.status, Status::Failed(_))
    }

    /// `  sap         ok              login: ...`, and `                              fix: ...` under a failure.
    pub fn line(&self) -> String {
        let (word, detail) = match &self.status {
            Status::Ok(detail) => ("ok", detail),
            Status::NotConfigured(detail) => ("not configured", detail),
            Status::Failed(detail) => ("failed", detail),
        };
        let mut line = format!("  {:<11} {word:<15} {}: {detail}", self.system, self.check);
        if let Some(fix) = &self.fix {
            line.push_str(&format!("\n  {:<11} {:<15} fix: {fix}", "", ""));
        }
        line
    }

    /// `{"system", "check", "status": "ok" | "failed" | "not_configured", "detail", "fix"}`.
    pub fn to_json(&self) -> Value {
        let (status, detail) = match &self.status {
            Status::Ok(detail) => ("ok", detail),
            Status::NotConfigured(detail) => ("not_configured", detail),
            Status::Failed(detail) => ("failed", detail),
        };
        json!({"system": self.system, "check": self.check, "status": status, "detail": detail, "fix": self.fix})
    }
}

const SAP: &str = "sap";
const SALESFORCE: &str = "salesforce";

/// A newest SAP stamp this far ahead of now, read in `SAP_TIME_ZONE`, means the zone is wrong.
const ZONE_TOLERANCE_MS: EpochMillis = 15 * 60 * 1000;

/// Every SAP check, after the login (which `login_detail` describes).
/// The system name of findings about the deployed integration itself (its audit trail).
pub const WRITERS: &str = "B1Force";

/// Records the writers keep queued because the set-up is wrong, from the audit trail's last hour: a
/// refused login or an unknown field shows here even when this machine's own settings work.
pub async fn held_work(audit: &dyn AuditLog, now: EpochMillis) -> Finding {
    const HOUR_MS: EpochMillis = 3_600_000;
    let check = "configuration errors";
    let entries = match audit.failures_since(now - HOUR_MS, None).await {
        Ok(entries) => entries,
        Err(err) => return Finding::failed(WRITERS, check, err.to_string(), "check AUDIT_TABLE and read access to it"),
    };
    let held: Vec<_> = entries.iter().filter(|e| e.error_class == Some(ErrorClass::Configuration)).collect();
    let Some(latest) = held.iter().max_by_key(|e| e.at) else {
        return Finding::ok(WRITERS, check, "no record was held for a configuration error in the last hour");
    };
    let records: std::collections::BTreeSet<&str> = held.iter().map(|e| e.record_key.as_str()).collect();
    let what = format!(
        "{} record(s) kept queued in the last hour, the latest at {}: {}",
        records.len(),
        shared::domain::rfc3339_millis(latest.at),
        latest.error.as_deref().unwrap_or_default()
    );
    // The sf-writer retries held work at its next drain (DrainSchedule, 5 minutes): nothing new for ten minutes means it went through.
    if now - latest.at > 10 * 60_000 {
        return Finding::ok(WRITERS, check, format!("none in the last 10 minutes ({what})"));
    }
    Finding::failed(
        WRITERS,
        check,
        what,
        "fix the login, secret or mapping named (runbook: 'Configuration error'); the held work resumes by itself",
    )
}

pub async fn sap_findings(
    client: &SapClient,
    zone: &SapTimeZone,
    mapping: &MappingFile,
    now: EpochMillis,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let (today, _) = zone.stamp_at(now);
    let first_customer = match client.query("BusinessPartners", &Query::new().select(["CardCode"]).top(1)).await {
        Ok(rows) => {
            findings.push(Finding::ok(SAP, "login", "logged in and read a business partner (no writes)"));
            rows.first().and_then(|r| r["CardCode"].as_str()).and_then(|c| CardCode::parse(c).ok())
        }
        Err(err) => {
            findings.push(Finding::failed(
                SAP,
                "login",
                err.to_string(),
                "check SAP_URL, SAP_COMPANY_DB, SAP_USER and the password in SAP_SECRET_ID; B1 locks a user after repeated failed logins",
            ));
            return findings;
        }
    };
    findings.extend(poll_queries(client, zone, mapping, &today, now).await);
    findings.extend(reconcile_queries(client, &today).await);
    if let Some(card_code) = first_customer {
        findings.push(match client.billing_context(&card_code, &today).await {
            Ok(_) => {
                Finding::ok(SAP, "billing queries", "the Service Layer accepted F3's open-document and payment filters")
            }
            Err(err) => Finding::failed(SAP, "billing queries", err.to_string(), literal_fix()),
        });
    }
    findings.push(metadata_types(client).await);
    findings.extend(user_fields(client).await);
    findings.push(time_zone(client, zone, now).await);
    findings
}

fn literal_fix() -> &'static str {
    "the Service Layer refused B1Force's own query: compare the literal forms in docs/wire-notes.md (section 1) with this server's $metadata and report it"
}

/// Each poller's query as the sap-poller sends its later pages (every literal form: date, time,
/// key), starting today at midnight, limited to one row.
async fn poll_queries(
    client: &SapClient,
    zone: &SapTimeZone,
    mapping: &MappingFile,
    today: &str,
    now: EpochMillis,
) -> Vec<Finding> {
    let settings =
        PollerSettings { initial_date: today.to_string(), time_zone: zone.clone(), ..PollerSettings::default() };
    let mut findings = Vec::new();
    for name in POLLED_ENTITIES {
        let check = format!("poll query {name}");
        let start = |spec: &EntitySpec| match spec.tracking {
            Tracking::UpdateStamp => Ok(Start::After(Watermark {
                date: today.to_string(),
                time: "00:00:00".into(),
                key: "0".into(),
                doc_entry: Some(0),
            })),
            Tracking::DocEntry | Tracking::Scan => first_start(spec, None, None, &settings, now),
        };
        let outcome = match EntitySpec::named(name) {
            Ok(spec) => match start(&spec) {
                Ok(start) => {
                    let only = mapping.sap_filter(spec.entity_set);
                    client
                        .changed(&ChangeQuery { entity: &spec, start: &start, limit: 1, only: &only, also_select: &[] })
                        .await
                }
                Err(err) => Err(err),
            },
            Err(err) => Err(err),
        };
        findings.push(match outcome {
            Ok(page) => Finding::ok(SAP, check, format!("accepted ({} row)", page.rows.len())),
            Err(err) => Finding::failed(SAP, check, err.to_string(), literal_fix()),
        });
    }
    findings
}

/// The reconciler's dated document reads, for today only.
async fn reconcile_queries(client: &SapClient, today: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    for entity in ["Invoices", "CreditNotes", "IncomingPayments"] {
        let check = format!("reconcile query {entity}");
        findings.push(match client.documents_dated(entity, today, today, &[]).await {
            Ok(rows) => Finding::ok(SAP, check, format!("accepted ({} dated today)", rows.len())),
            Err(err) => Finding::failed(SAP, check, err.to_string(), literal_fix()),
        });
    }
    findings
}

/// The server's `$metadata` against the client's table of property types: every literal the
/// functions write is formatted from that table, so a property typed differently here would be
/// refused (or, worse, compared wrongly) by this server.
async fn metadata_types(client: &SapClient) -> Finding {
    let check = "metadata types";
    let xml = match client.metadata().await {
        Ok(xml) => xml,
        Err(err) => {
            return Finding::failed(
                SAP,
                check,
                format!("GET $metadata: {err}"),
                "give the SAP user read access to $metadata",
            );
        }
    };
    let disagreements = schema::disagreements(&xml);
    if disagreements.is_empty() {
        let pairs: usize = schema::PROPERTY_TYPES.iter().map(|(_, _, sets)| sets.len()).sum();
        return Finding::ok(
            SAP,
            check,
            format!("the {pairs} filtered properties have the types the client writes literals for"),
        );
    }
    let listed: Vec<String> = disagreements
        .iter()
        .map(|d| {
            let server = d.server.as_deref().unwrap_or("not declared");
            format!("{}.{} is {server} here, the client writes {}", d.entity_set, d.property, d.client)
        })
        .collect();
    Finding::failed(SAP, check, listed.join("; "), literal_fix())
}

/// The UDFs B1Force reads and writes, with their type and size.
async fn user_fields(client: &SapClient) -> Vec<Finding> {
    let rows = match client.query(USER_FIELDS, &sap_setup::existing_query()).await {
        Ok(rows) => rows,
        Err(err) => {
            return vec![Finding::failed(
                SAP,
                "user-defined fields",
                format!("reading UserFieldsMD: {err}"),
                "give the SAP user read access to UserFieldsMD (user-defined fields)",
            )];
        }
    };
    let existing: Vec<ExistingField> = rows.iter().filter_map(ExistingField::from_row).collect();
    sap_setup::plan(&existing)
        .into_iter()
        .map(|step| {
            let check = format!("UDF {}", step.field.label());
            match step.decision {
                Decision::Present { size, .. } => Finding::ok(SAP, check, format!("{}({size})", sap_setup::FIELD_TYPE)),
                Decision::Create => Finding::failed(
                    SAP,
                    check,
                    "missing",
                    "run `b1force setup sap` (it creates B1Force's UDFs), then restart the Service Layer so it sees them",
                ),
                Decision::Conflict(reason) => {
                    Finding::failed(SAP, check, reason, "see the reason: fix the UDF in SAP, then run `b1force setup sap`")
                }
            }
        })
        .collect()
}

/// The newest change stamps, read in `zone`: one ahead of now says the zone is wrong. (A zone
/// behind SAP's looks like a quiet company; telling the two apart would need a write.)
async fn time_zone(client: &SapClient, zone: &SapTimeZone, now: EpochMillis) -> Finding {
    let check = format!("time zone {}", zone.name());
    let newest = Query::new()
        .select(["UpdateDate", "UpdateTime"])
        .order_by("UpdateDate", false)
        .order_by("UpdateTime", false)
        .top(1);
    let mut latest: Option<(EpochMillis, String)> = None;
    for entity in ["BusinessPartners", "Items", "Orders"] {
        let rows = match client.query(entity, &newest).await {
            Ok(rows) => rows,
            Err(err) => return Finding::failed(SAP, check, format!("{entity}: {err}"), literal_fix()),
        };
        let Some(row) = rows.first() else { continue };
        let (date, time) =
            (row["UpdateDate"].as_str().unwrap_or_default(), row["UpdateTime"].as_str().unwrap_or_default());
        if let Some(at) = zone.earliest_instant(date, time)
            && latest.as_ref().is_none_or(|(seen, _)| at > *seen)
        {
            latest = Some((at, format!("{} {time} ({entity})", &date[..date.len().min(10)])));
        }
    }
    match latest {
        None => Finding::ok(SAP, check, "no change stamps to compare"),
        Some((at, stamp)) if at > now + ZONE_TOLERANCE_MS => Finding::failed(
            SAP,
            check,
            format!(
                "the newest change, stamped {stamp}, is {:.1} h in the future when read in {}",
                (at - now) as f64 / 3_600_000.0,
                zone.name()
            ),
            "set SAP_TIME_ZONE (template parameter SapTimeZone) to the SAP server's IANA time zone, e.g. Europe/Berlin",
        ),
        Some((at, stamp)) => Finding::ok(
            SAP,
            check,
            format!("newest change stamped {stamp}, {} min ago read in {}", (now - at).max(0) / 60_000, zone.name()),
        ),
    }
}

/// The Salesforce side of each flow: what it reads, what it writes, and by which external id.
#[derive(Debug, Default)]
struct Needs {
    /// Field → the kind the mapping gives it (none for a derived field: the flow computes its value).
    read: BTreeMap<String, Option<Kind>>,
    written: BTreeMap<String, Option<Kind>>,
    external_ids: Vec<String>,
}

/// Per Salesforce object, the fields the mapping reads and writes.
fn mapping_needs(mapping: &MappingFile) -> BTreeMap<String, Needs> {
    let mut needs: BTreeMap<String, Needs> = BTreeMap::new();
    fn add(needs: &mut BTreeMap<String, Needs>, object: &str, flow_fields: &[shared::mapping::file::FieldMapping]) {
        let entry = needs.entry(object.to_string()).or_default();
        for field in flow_fields.iter().filter(|f| !f.salesforce.contains('.')) {
            if matches!(field.owner, Owner::Salesforce | Owner::Both) {
                entry.read.insert(field.salesforce.clone(), Some(field.salesforce_kind));
            }
            if matches!(field.owner, Owner::Sap | Owner::Both) {
                entry.written.insert(field.salesforce.clone(), Some(field.salesforce_kind));
            }
        }
    }
    fn visit(needs: &mut BTreeMap<String, Needs>, flow: &FlowMapping) {
        add(needs, &flow.salesforce_object, &flow.fields);
        let entry = needs.entry(flow.salesforce_object.clone()).or_default();
        for derived in &flow.derived {
            entry.written.entry(derived.clone()).or_insert(None);
        }
        if let Some(key) = &flow.key
            && key.salesforce != "Id"
            && !key.salesforce.contains('.')
        {
            entry.read.entry(key.salesforce.clone()).or_insert(None);
            entry.external_ids.push(key.salesforce.clone());
        }
        for collection in &flow.collections {
            match &collection.source {
                RowSource::Children { salesforce_object, .. } => add(needs, salesforce_object, &collection.fields),
                RowSource::Fixed { .. } => add(needs, &flow.salesforce_object, &collection.fields),
            }
        }
        for related in &flow.related {
            visit(needs, related);
        }
    }
    for flow in mapping.flows() {
        visit(&mut needs, flow);
    }
    if !shared::mapping::f1::quotes_on(mapping) {
        // F5.quote writes quotes only for quotations the quote flow made: none while it is off,
        // and an org without Quotes enabled has no Quote object to check.
        needs.remove("Quote");
    } else if let Ok(lines) = mapping.flow("F1").and_then(shared::mapping::f1::lines_collection) {
        // The quote flow reads F1's line fields from quote lines too (ProductCode is the product's).
        let copied: Vec<_> = lines.fields.iter().filter(|f| f.salesforce != "ProductCode").cloned().collect();
        add(&mut needs, "QuoteLineItem", &copied);
    }
    needs
}

/// The describe types of a kind class.
fn compatible(kind: Kind, described: &str) -> bool {
    let textual = [
        "string",
        "picklist",
        "multipicklist",
        "textarea",
        "email",
        "phone",
        "url",
        "combobox",
        "id",
        "reference",
        "encryptedstring",
    ];
    match kind.class() {
        KindClass::Textual | KindClass::Enum => textual.contains(&described),
        KindClass::Numeric => ["double", "currency", "int", "percent", "long"].contains(&described),
        KindClass::Date => described == "date",
        KindClass::DateTime => described == "datetime",
        KindClass::Time => ["time", "string"].contains(&described),
        KindClass::Boolean => described == "boolean",
        KindClass::Collection => true,
    }
}

/// `/limits`, then every object and field the mapping names, as the integration user sees them.
pub async fn salesforce_findings(client: &SalesforceClient, mapping: &MappingFile) -> Vec<Finding> {
    let mut findings = Vec::new();
    match client.limits().await {
        Ok(limits) => findings.push(match crate::check::api_headroom(&limits) {
            Some(line) => Finding::ok(SALESFORCE, "limits", line),
            None => Finding::failed(
                SALESFORCE,
                "limits",
                "GET /limits has no DailyApiRequests Max and Remaining",
                "check the API version in SF_API_VERSION",
            ),
        }),
        // Tolerated: the sf-writer's budget check then uses Sforce-Limit-Info (#12 item 10).
        Err(err) if shared::salesforce::limits_not_permitted(&err) => findings.push(Finding::ok(
            SALESFORCE,
            "limits",
            format!(
                "GET /limits refused ({}): the integration user lacks View Setup and Configuration, so the \
                 sf-writer skips its /limits budget refresh (warning) and relies on Sforce-Limit-Info{}; fix: grant \
                 ViewSetup (the shipped B1Force_Integration permission set does)",
                err.code(),
                client.api_usage().map(|(used, max)| format!(" (api-usage={used}/{max})")).unwrap_or_default()
            ),
        )),
        Err(err) => {
            findings.push(Finding::failed(
                SALESFORCE,
                "limits",
                err.to_string(),
                "check SF_LOGIN_URL, SF_CLIENT_ID and the client secret; the connected app needs the client-credentials flow with a run-as user",
            ));
            return findings;
        }
    }
    for (object, needs) in mapping_needs(mapping) {
        findings.extend(object_findings(client, &object, &needs).await);
    }
    findings
}

async fn object_findings(client: &SalesforceClient, object: &str, needs: &Needs) -> Vec<Finding> {
    let deploy = "deploy force-app (`sf project deploy start --source-dir force-app`) and assign the B1Force Integration permission set to the integration user";
    let described = match client.describe(object).await {
        Ok(Some(described)) => described,
        Ok(None) => {
            return vec![Finding::failed(
                SALESFORCE,
                format!("object {object}"),
                "not found or not visible to the integration user",
                deploy,
            )];
        }
        Err(err) => return vec![Finding::failed(SALESFORCE, format!("object {object}"), err.to_string(), deploy)],
    };
    let fields: BTreeMap<&str, &Value> = described["fields"]
        .as_array()
        .map(|fields| fields.iter().filter_map(|f| Some((f["name"].as_str()?, f))).collect())
        .unwrap_or_default();
    let mut findings = Vec::new();
    let mut problems = 0;
    let all = needs
        .read
        .iter()
        .map(|(name, kind)| (name, kind, false))
        .chain(needs.written.iter().map(|(name, kind)| (name, kind, true)));
    for (name, kind, written) in all {
        let check = format!("field {object}.{name}");
        let Some(field) = fields.get(name.as_str()) else {
            problems += 1;
            findings.push(Finding::failed(SALESFORCE, check, "missing, or hidden from the integration user", deploy));
            continue;
        };
        let ty = field["type"].as_str().unwrap_or_default();
        if let Some(kind) = kind
            && !compatible(*kind, ty)
        {
            problems += 1;
            findings.push(Finding::failed(
                SALESFORCE,
                check.clone(),
                format!("is a {ty} field; the mapping needs {kind:?}"),
                "change the field's type in Salesforce, or the entry in the mapping file",
            ));
        }
        if written && field["updateable"] != true && field["createable"] != true {
            problems += 1;
            findings.push(Finding::failed(
                SALESFORCE,
                check,
                "read-only for the integration user, and B1Force writes it",
                format!("give the integration user's permission set edit access to {object}.{name}"),
            ));
        }
    }
    for name in &needs.external_ids {
        if let Some(field) = fields.get(name.as_str())
            && field["externalId"] != true
        {
            problems += 1;
            findings.push(Finding::failed(
                SALESFORCE,
                format!("field {object}.{name}"),
                "records are matched by this field, but it is not an External ID",
                format!("mark {object}.{name} External ID in Setup (force-app defines it so)"),
            ));
        }
    }
    if problems == 0 {
        findings.push(Finding::ok(
            SALESFORCE,
            format!("object {object}"),
            format!(
                "{} read and {} written fields present with compatible types and access",
                needs.read.len(),
                needs.written.len()
            ),
        ));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_objects_are_checked_only_while_quotes_are_on() {
        let shipped = MappingFile::shipped();
        let off = mapping_needs(&shipped);
        assert!(!off.contains_key("Quote") && !off.contains_key("QuoteLineItem"), "an org without Quotes passes");
        let text = MappingFile::shipped_text().replace("quote_statuses = []", r#"quote_statuses = ["Approved"]"#);
        let on = mapping_needs(&MappingFile::parse(&text, "on.toml").unwrap());
        assert!(on["Quote"].written.contains_key("SAP_Quotation_Status__c"), "F5.quote's field");
        let lines = &on["QuoteLineItem"].read;
        assert!(lines.contains_key("Discount") && lines.contains_key("Quantity"), "{lines:?}");
        assert!(!lines.contains_key("ProductCode"), "quote lines take it from the product");
    }
}
