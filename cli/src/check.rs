//! `b1force check [--mapping FILE] [--sandbox] [--json] [--strict]`: validates a mapping file the
//! way a Lambda does at cold start and summarises what it configures; then, for each system whose
//! settings are present, runs the live preflight ([`crate::preflight`]), writing nothing: SAP (log
//! in; each poller's, the reconciler's and billing's queries with `$top=1`; the UDFs; the time
//! zone; log out) and Salesforce (`/limits`; every mapped object and field as the integration user
//! sees it); with `AUDIT_TABLE`, the records the writers hold for a configuration error. One line per check, with the fix when it fails; exit 1 when any check fails, and with
//! `--strict` also when a system is not configured.
//!
//! Settings as in Lambda: `SAP_URL`, `SAP_COMPANY_DB`, `SAP_USER`, `SAP_PASSWORD` or `SAP_SECRET_ID`,
//! `SAP_TIME_ZONE`; `SF_LOGIN_URL`, `SF_CLIENT_ID`, `SF_CLIENT_SECRET` or `SF_SECRET_ID`. `--sandbox`
//! runs the same checks against in-process sandboxes instead.

use crate::local::{salesforce_config, sap_config};
pub use crate::preflight::{Finding, Status};
use anyhow::bail;
use sandbox::{SalesforceOptions, SalesforceSandbox, SapOptions, SapSandbox};
use secrecy::ExposeSecret;
use shared::config::Source;
use shared::mapping::file::{FlowMapping, MappingFile, Owner};
use shared::ports::{Clock, SystemClock};
use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;

const SAP_SETTINGS: [&str; 5] = ["SAP_URL", "SAP_COMPANY_DB", "SAP_USER", "SAP_PASSWORD", "SAP_SECRET_ID"];
const SF_SETTINGS: [&str; 4] = ["SF_LOGIN_URL", "SF_CLIENT_ID", "SF_CLIENT_SECRET", "SF_SECRET_ID"];

/// How to report.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckOptions {
    /// One JSON document instead of lines.
    pub json: bool,
    /// A system without settings fails the check too.
    pub strict: bool,
}

/// The whole command: the mapping report, then one line per check on `out` (or one JSON document).
/// Fails when the mapping is invalid, a check failed, or (strict) a system is not configured.
pub async fn run(
    mapping: Option<&Path>,
    use_sandbox: bool,
    options: CheckOptions,
    src: &dyn Source,
    out: &mut (dyn std::io::Write + Send),
) -> anyhow::Result<Vec<Finding>> {
    let file = load_mapping(mapping)?;
    let findings = if use_sandbox {
        let sap = SapSandbox::start(SapOptions::default()).await?;
        let salesforce = SalesforceSandbox::start(SalesforceOptions::default()).await?;
        systems(&sandbox_settings(&sap, &salesforce), &file).await
    } else {
        systems(src, &file).await
    };
    if options.json {
        let json = serde_json::json!({
            "mapping": {"origin": file.origin, "flows": file.flows().len()},
            "sandbox": use_sandbox,
            "findings": findings.iter().map(Finding::to_json).collect::<Vec<_>>(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
    } else {
        write!(out, "{}", report(&file))?;
        if use_sandbox {
            writeln!(out, "systems: in-process SAP and Salesforce sandboxes (--sandbox)")?;
        }
        for finding in &findings {
            writeln!(out, "{}", finding.line())?;
        }
    }
    let failed: Vec<String> =
        findings.iter().filter(|f| f.is_failed()).map(|f| format!("{} {}", f.system, f.check)).collect();
    if !failed.is_empty() {
        bail!("{} check{} failed: {}", failed.len(), if failed.len() == 1 { "" } else { "s" }, failed.join(", "));
    }
    let unconfigured: Vec<&str> =
        findings.iter().filter(|f| matches!(f.status, Status::NotConfigured(_))).map(|f| f.system).collect();
    if options.strict && !unconfigured.is_empty() {
        bail!("--strict: {} not configured", unconfigured.join(" and "));
    }
    Ok(findings)
}

/// Checks SAP and Salesforce with the settings in `src`.
pub async fn systems(src: &dyn Source, mapping: &MappingFile) -> Vec<Finding> {
    let mut findings = check_sap(src, mapping).await;
    findings.extend(check_salesforce(src, mapping).await);
    if src.var("AUDIT_TABLE").is_some() {
        findings.push(match crate::ops::audit_table(src).await {
            Ok(audit) => crate::preflight::held_work(&audit, SystemClock.now_millis()).await,
            Err(err) => {
                Finding::failed(crate::preflight::WRITERS, "configuration errors", err.to_string(), "set AUDIT_TABLE")
            }
        });
    }
    findings
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

/// The SAP checks (no writes), logged out afterwards.
pub async fn check_sap(src: &dyn Source, mapping: &MappingFile) -> Vec<Finding> {
    if !SAP_SETTINGS.iter().any(|name| src.var(name).is_some()) {
        return vec![Finding::not_configured(
            "sap",
            "set SAP_URL, SAP_COMPANY_DB, SAP_USER and SAP_PASSWORD (or SAP_SECRET_ID)",
        )];
    }
    let settings = |err: shared::Error| {
        vec![Finding::failed("sap", "settings", err.to_string(), "set the SAP_* settings named above")]
    };
    let zone = match shared::wiring::sap_time_zone(src) {
        Ok(zone) => zone,
        Err(err) => return settings(err),
    };
    let client = match shared::wiring::sap_client_from_settings(src).await {
        Ok(client) => client,
        Err(err) => return settings(err),
    };
    let url = src.var("SAP_URL").unwrap_or_default();
    let company = src.var("SAP_COMPANY_DB").unwrap_or_default();
    let mut findings = vec![Finding::ok("sap", "target", format!("{url}, company {company}"))];
    findings.extend(crate::preflight::sap_findings(&client, &zone, mapping, SystemClock.now_millis()).await);
    // Frees the licence seat; a failed logout changes nothing the checks saw.
    if let Err(err) = client.logout().await {
        tracing::warn!(error = %err, "SAP logout failed");
    }
    findings
}

/// The Salesforce checks (no writes).
pub async fn check_salesforce(src: &dyn Source, mapping: &MappingFile) -> Vec<Finding> {
    if !SF_SETTINGS.iter().any(|name| src.var(name).is_some()) {
        return vec![Finding::not_configured(
            "salesforce",
            "set SF_LOGIN_URL, SF_CLIENT_ID and SF_CLIENT_SECRET (or SF_SECRET_ID)",
        )];
    }
    let client = match shared::wiring::salesforce_client_from_settings(src).await {
        Ok(client) => client,
        Err(err) => {
            return vec![Finding::failed(
                "salesforce",
                "settings",
                err.to_string(),
                "set the SF_* settings named above",
            )];
        }
    };
    let url = src.var("SF_LOGIN_URL").unwrap_or_default();
    let mut findings = vec![Finding::ok("salesforce", "target", url)];
    findings.extend(crate::preflight::salesforce_findings(&client, mapping).await);
    findings
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
    Ok(report(&load_mapping(path)?))
}

fn load_mapping(path: Option<&Path>) -> anyhow::Result<MappingFile> {
    Ok(match path {
        Some(path) => MappingFile::load(path)?,
        None => MappingFile::shipped(),
    })
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
        let checks = systems(&HashMap::new(), &MappingFile::shipped()).await;
        assert!(matches!(&checks[0].status, Status::NotConfigured(what) if what.contains("SAP_URL")));
        assert!(matches!(&checks[1].status, Status::NotConfigured(what) if what.contains("SF_LOGIN_URL")));
        assert!(
            checks[1].line().starts_with("  salesforce  not configured  settings: set SF_LOGIN_URL"),
            "{}",
            checks[1].line()
        );
    }
}
