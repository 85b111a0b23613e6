//! `b1force check [--mapping FILE] [--sandbox]`: validates a mapping file the way a Lambda does at
//! cold start and summarises what it configures; then, for each system whose settings are present,
//! reaches it with them and writes nothing: SAP (log in, read one business partner code, log out)
//! and Salesforce (`GET /limits`: daily API requests used and the headroom left).
//!
//! Settings as in Lambda: `SAP_URL`, `SAP_COMPANY_DB`, `SAP_USER`, `SAP_PASSWORD` or `SAP_SECRET_ID`;
//! `SF_LOGIN_URL`, `SF_CLIENT_ID`, `SF_CLIENT_SECRET` or `SF_SECRET_ID`. `--sandbox` runs the same
//! checks against in-process sandboxes instead.

use crate::local::{salesforce_config, sap_config};
use anyhow::bail;
use sandbox::{SalesforceOptions, SalesforceSandbox, SapOptions, SapSandbox};
use secrecy::ExposeSecret;
use shared::config::Source;
use shared::mapping::file::{FlowMapping, MappingFile, Owner};
use shared::sap::odata::Query;
use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;

/// What one system's check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Reached; what was seen.
    Ok(String),
    /// No settings for it: what to set.
    NotConfigured(String),
    /// Settings present but the system could not be used: why.
    Failed(String),
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemCheck {
    pub system: &'static str,
    pub status: Status,
}

impl SystemCheck {
    /// `  sap         ok              logged in ...`
    pub fn line(&self) -> String {
        let (word, detail) = match &self.status {
            Status::Ok(detail) => ("ok", detail),
            Status::NotConfigured(detail) => ("not configured", detail),
            Status::Failed(detail) => ("failed", detail),
        };
        format!("  {:<11} {word:<15} {detail}", self.system)
    }
}

const SAP_SETTINGS: [&str; 5] = ["SAP_URL", "SAP_COMPANY_DB", "SAP_USER", "SAP_PASSWORD", "SAP_SECRET_ID"];
const SF_SETTINGS: [&str; 4] = ["SF_LOGIN_URL", "SF_CLIENT_ID", "SF_CLIENT_SECRET", "SF_SECRET_ID"];

/// The whole command: the mapping report, then one line per system on `out`. Fails when the mapping
/// is invalid or a configured system could not be reached.
pub async fn run(
    mapping: Option<&Path>,
    use_sandbox: bool,
    src: &dyn Source,
    out: &mut (dyn std::io::Write + Send),
) -> anyhow::Result<Vec<SystemCheck>> {
    write!(out, "{}", run_mapping(mapping)?)?;
    let checks = if use_sandbox {
        writeln!(out, "systems: in-process SAP and Salesforce sandboxes (--sandbox)")?;
        let sap = SapSandbox::start(SapOptions::default()).await?;
        let salesforce = SalesforceSandbox::start(SalesforceOptions::default()).await?;
        systems(&sandbox_settings(&sap, &salesforce)).await
    } else {
        systems(src).await
    };
    for check in &checks {
        writeln!(out, "{}", check.line())?;
    }
    let failed: Vec<&str> = checks.iter().filter(|c| matches!(c.status, Status::Failed(_))).map(|c| c.system).collect();
    if !failed.is_empty() {
        bail!("{} could not be reached with the configured settings", failed.join(" and "));
    }
    Ok(checks)
}

/// Checks SAP and Salesforce with the settings in `src`.
pub async fn systems(src: &dyn Source) -> Vec<SystemCheck> {
    vec![
        SystemCheck { system: "sap", status: check_sap(src).await },
        SystemCheck { system: "salesforce", status: check_salesforce(src).await },
    ]
}

/// The settings that point the checks at running sandboxes.
pub fn sandbox_settings(sap: &SapSandbox, salesforce: &SalesforceSandbox) -> HashMap<String, String> {
    let sap = sap_config(sap);
    let sf = salesforce_config(salesforce);
    HashMap::from([
        ("SAP_URL".to_string(), sap.base_url),
        ("SAP_COMPANY_DB".to_string(), sap.company_db),
        ("SAP_USER".to_string(), sap.user),
        ("SAP_PASSWORD".to_string(), sap.password.expose_secret().to_string()),
        ("SF_LOGIN_URL".to_string(), sf.login_url),
        ("SF_CLIENT_ID".to_string(), sf.client_id),
        ("SF_CLIENT_SECRET".to_string(), sf.client_secret.expose_secret().to_string()),
    ])
}

/// Logs in, reads one business partner code (no writes), logs out.
pub async fn check_sap(src: &dyn Source) -> Status {
    if !SAP_SETTINGS.iter().any(|name| src.var(name).is_some()) {
        return Status::NotConfigured(
            "set SAP_URL, SAP_COMPANY_DB, SAP_USER and SAP_PASSWORD (or SAP_SECRET_ID)".into(),
        );
    }
    let client = match shared::wiring::sap_client_from_settings(src).await {
        Ok(client) => client,
        Err(err) => return Status::Failed(err.to_string()),
    };
    let url = src.var("SAP_URL").unwrap_or_default();
    let company = src.var("SAP_COMPANY_DB").unwrap_or_default();
    let read = client.query("BusinessPartners", &Query::new().select(["CardCode"]).top(1)).await;
    let status = match read {
        Ok(rows) => Status::Ok(format!(
            "{url}, company {company}: logged in, read {} business partner{} (no writes)",
            rows.len(),
            if rows.len() == 1 { "" } else { "s" }
        )),
        Err(err) => Status::Failed(format!("{url}, company {company}: {err}")),
    };
    // Frees the licence seat; a failed logout changes nothing the check saw.
    if let Err(err) = client.logout().await {
        tracing::warn!(error = %err, "SAP logout failed");
    }
    status
}

/// `GET /limits`: daily API requests used of the maximum and the headroom left.
pub async fn check_salesforce(src: &dyn Source) -> Status {
    if !SF_SETTINGS.iter().any(|name| src.var(name).is_some()) {
        return Status::NotConfigured("set SF_LOGIN_URL, SF_CLIENT_ID and SF_CLIENT_SECRET (or SF_SECRET_ID)".into());
    }
    let client = match shared::wiring::salesforce_client_from_settings(src).await {
        Ok(client) => client,
        Err(err) => return Status::Failed(err.to_string()),
    };
    let url = src.var("SF_LOGIN_URL").unwrap_or_default();
    match client.limits().await {
        Ok(limits) => match api_headroom(&limits) {
            Some(line) => Status::Ok(format!("{url}: {line}")),
            None => Status::Failed(format!("{url}: GET /limits has no DailyApiRequests Max and Remaining")),
        },
        // Tolerated: the sf-writer's budget check then uses Sforce-Limit-Info (#12 item 10).
        Err(err) if shared::salesforce::limits_not_permitted(&err) => Status::Ok(format!(
            "{url}: logged in; GET /limits refused ({}): the integration user lacks View Setup and Configuration, \
             so the sf-writer skips its /limits budget refresh (warning) and relies on Sforce-Limit-Info{}; \
             fix: grant ViewSetup (the shipped B1Force_Integration permission set does)",
            err.code(),
            client.api_usage().map(|(used, max)| format!(" (api-usage={used}/{max})")).unwrap_or_default()
        )),
        Err(err) => Status::Failed(format!("{url}: {err}")),
    }
}

/// `DailyApiRequests 1200/15000 used, headroom 92.0%` from a `/limits` answer.
pub fn api_headroom(limits: &serde_json::Value) -> Option<String> {
    let daily = limits.get("DailyApiRequests")?;
    let max = daily.get("Max")?.as_u64()?;
    let remaining = daily.get("Remaining")?.as_u64()?;
    let used = max.saturating_sub(remaining);
    let headroom = if max == 0 { 0.0 } else { remaining as f64 * 100.0 / max as f64 };
    Some(format!("DailyApiRequests {used}/{max} used, headroom {headroom:.1}%"))
}

/// Validates `path` (the shipped defaults when `None`). On success, a short human report; on
/// failure, an error whose message lists every problem as `FILE:LINE:COL: reason`, one per line.
pub fn run_mapping(path: Option<&Path>) -> anyhow::Result<String> {
    let file = match path {
        Some(path) => MappingFile::load(path)?,
        None => MappingFile::shipped(),
    };
    Ok(report(&file))
}

/// The summary: one line per flow with its objects, field count and owners.
pub fn report(file: &MappingFile) -> String {
    let mut out = format!("{}: valid (mapping version 1, {} flows)\n", file.origin, file.flows().len());
    let mut total = 0;
    for flow in file.flows() {
        let fields = flow.all_fields();
        total += fields.len();
        let count = |owner: Owner| fields.iter().filter(|f| f.owner == owner).count();
        let _ = write!(
            out,
            "  {:<3} {} <-> {}: {} fields (salesforce {}, sap {}, both {})",
            flow.name,
            flow.salesforce_object,
            flow.sap_entity,
            fields.len(),
            count(Owner::Salesforce),
            count(Owner::Sap),
            count(Owner::Both),
        );
        let _ = writeln!(out, "{}", extras(flow));
    }
    let _ = writeln!(out, "  {total} field mappings in all");
    out
}

/// Collections, related pairs, derived fields and options, when a flow has any.
fn extras(flow: &FlowMapping) -> String {
    let mut parts = Vec::new();
    if !flow.collections.is_empty() {
        let names: Vec<String> =
            flow.collections.iter().map(|c| format!("{} ({})", c.name, c.sap_collection)).collect();
        parts.push(format!("collections {}", names.join(", ")));
    }
    if !flow.related.is_empty() {
        let names: Vec<String> =
            flow.related.iter().map(|r| format!("{} ({} <-> {})", r.name, r.salesforce_object, r.sap_entity)).collect();
        parts.push(format!("related {}", names.join(", ")));
    }
    if !flow.derived.is_empty() {
        parts.push(format!("{} derived", flow.derived.len()));
    }
    for (name, value) in &flow.options {
        parts.push(format!("{name} = {value}"));
    }
    if parts.is_empty() { String::new() } else { format!("; {}", parts.join("; ")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn headroom_is_what_remains_of_the_daily_maximum() {
        let limits = json!({"DailyApiRequests": {"Max": 15000, "Remaining": 13800}});
        assert_eq!(api_headroom(&limits).unwrap(), "DailyApiRequests 1200/15000 used, headroom 92.0%");
        assert_eq!(
            api_headroom(&json!({"DailyApiRequests": {"Max": 0, "Remaining": 0}})).unwrap(),
            "DailyApiRequests 0/0 used, headroom 0.0%"
        );
        assert_eq!(api_headroom(&json!({"DataStorageMB": {}})), None);
    }

    #[tokio::test]
    async fn without_settings_each_system_says_what_to_set() {
        let checks = systems(&HashMap::new()).await;
        assert!(matches!(&checks[0].status, Status::NotConfigured(what) if what.contains("SAP_URL")));
        assert!(matches!(&checks[1].status, Status::NotConfigured(what) if what.contains("SF_LOGIN_URL")));
        assert!(checks[1].line().starts_with("  salesforce  not configured  set SF_LOGIN_URL"), "{}", checks[1].line());
    }
}
