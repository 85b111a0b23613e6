//! `b1force setup sap [--dry-run]`: creates, through the Service Layer, the user-defined fields the
//! sync reads and writes (the list and the decisions are in `crate::sap_setup`). Idempotent: one
//! read of UserFieldsMD finds what exists, only missing fields are posted, and a second run creates
//! nothing. A field of the right name but another type, or shorter than a Salesforce id, is a
//! conflict: it is reported, nothing is created, and the command fails.
//!
//! Settings as in Lambda (`SAP_URL`, `SAP_COMPANY_DB`, `SAP_USER`, `SAP_PASSWORD` or
//! `SAP_SECRET_ID`). Without any of them it runs on an in-process sandbox of a fresh company, so the
//! command can be tried with no server; with some of them but no `SAP_URL` it refuses.

use crate::local::sap_config;
use crate::sap_setup::{self, Decision, ExistingField, FIELD_SIZE, FIELD_TYPE, RequiredField, USER_FIELDS};
use anyhow::{Context, anyhow, bail};
use sandbox::{SapOptions, SapSandbox};
use serde_json::Value;
use shared::config::Source;
use shared::sap::SapClient;
use std::io::Write;

/// What `setup` sets up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// SAP Business One: the B1Force user-defined fields (UDFs), through the Service Layer.
    Sap,
}

/// Settings that show the caller meant a real server.
const SAP_SETTINGS: [&str; 4] = ["SAP_COMPANY_DB", "SAP_USER", "SAP_PASSWORD", "SAP_SECRET_ID"];

/// What one run found and did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub created: usize,
    pub present: usize,
    /// Missing fields left alone (a dry run).
    pub to_create: usize,
}

/// The command: picks the server from `src`, prints to `out`, logs out at the end.
pub async fn run_sap(src: &dyn Source, dry_run: bool, out: &mut (dyn Write + Send)) -> anyhow::Result<Summary> {
    let Some(url) = src.var("SAP_URL") else {
        if let Some(name) = SAP_SETTINGS.into_iter().find(|name| src.var(name).is_some()) {
            bail!(
                "{name} is set but SAP_URL is not: set SAP_URL to the Service Layer root \
                 (e.g. https://sap.example.internal:50000/b1s/v2), or unset the SAP_* settings to try the \
                 command on an in-process sandbox"
            );
        }
        writeln!(
            out,
            "SAP_URL is not set: using an in-process SAP sandbox of a fresh company (no B1Force UDFs); \
             nothing outside this process changes."
        )?;
        let sandbox = SapSandbox::start(SapOptions { udfs_installed: false, ..SapOptions::default() }).await?;
        let client = SapClient::new(sap_config(&sandbox))?;
        return sap(&client, dry_run, out).await;
    };
    let client = shared::wiring::sap_client_from_settings(src).await.context("SAP settings")?;
    let company = src.var("SAP_COMPANY_DB").unwrap_or_default();
    writeln!(out, "SAP Service Layer {url}, company {company}")?;
    let result = sap(&client, dry_run, out).await;
    // Frees the licence seat; a failed logout changes nothing the run did.
    if let Err(err) = client.logout().await {
        tracing::warn!(error = %err, "SAP logout failed");
    }
    result
}

/// Checks and creates the fields with `client`, one line per field on `out`, then a summary line.
/// Fails, creating nothing, when any field conflicts; fails at the first refused create otherwise.
pub async fn sap(client: &SapClient, dry_run: bool, out: &mut (dyn Write + Send)) -> anyhow::Result<Summary> {
    let rows = client.query(USER_FIELDS, &sap_setup::existing_query()).await.context("reading UserFieldsMD")?;
    let existing: Vec<ExistingField> = rows.iter().filter_map(ExistingField::from_row).collect();
    let steps = sap_setup::plan(&existing);
    let mut conflicts: Vec<String> = steps
        .iter()
        .filter_map(|step| match &step.decision {
            Decision::Conflict(reason) => Some(format!("{} {reason}", step.field.label())),
            _ => None,
        })
        .collect();
    let blocked = !conflicts.is_empty();
    let mut summary = Summary::default();
    for step in &steps {
        let field = &step.field;
        match &step.decision {
            Decision::Present { field_id, size } => {
                summary.present += 1;
                writeln!(out, "{}", line("present", field, &format!("{FIELD_TYPE}({size})"), *field_id))?;
            }
            Decision::Conflict(reason) => writeln!(out, "{}", conflict_line(field, reason))?,
            Decision::Create if dry_run || blocked => {
                summary.to_create += 1;
                let status = if dry_run { "to create" } else { "missing" };
                writeln!(out, "{}", line(status, field, &format!("{FIELD_TYPE}({FIELD_SIZE})"), None))?;
            }
            Decision::Create => match client.post(USER_FIELDS, &field.definition()).await {
                Ok(created) => {
                    summary.created += 1;
                    let field_id = created.get("FieldID").and_then(Value::as_i64);
                    writeln!(out, "{}", line("created", field, &format!("{FIELD_TYPE}({FIELD_SIZE})"), field_id))?;
                }
                // Created since the read (by another run, or by SAP along with another document
                // table's): what it is now decides, as on the first read.
                Err(err) if sap_setup::is_already_exists(&err) => match recheck(client, field, &err).await? {
                    Ok((field_id, size)) => {
                        summary.present += 1;
                        writeln!(out, "{}", line("present", field, &format!("{FIELD_TYPE}({size})"), field_id))?;
                    }
                    Err(reason) => {
                        writeln!(out, "{}", conflict_line(field, &reason))?;
                        conflicts.push(format!("{} {reason}", field.label()));
                    }
                },
                Err(err) => {
                    return Err(anyhow!(err)).with_context(|| {
                        format!("creating {} ({} created before it)", field.label(), summary.created)
                    });
                }
            },
        }
    }
    if !conflicts.is_empty() {
        let what = if conflicts.len() == 1 {
            "1 UDF conflicts".to_string()
        } else {
            format!("{} UDFs conflict", conflicts.len())
        };
        let created = match summary.created {
            0 => "nothing was created".to_string(),
            n => format!("{n} were created; restart the Service Layer so it sees them"),
        };
        bail!("{what} with what the sync needs, {created}:\n  {}", conflicts.join("\n  "));
    }
    writeln!(out, "{}", footer(&summary, dry_run))?;
    Ok(summary)
}

/// A field the Service Layer refused to create because it exists: its FieldID and size when it is
/// usable, else the conflict's reason.
async fn recheck(
    client: &SapClient,
    field: &RequiredField,
    refusal: &shared::Error,
) -> anyhow::Result<Result<(Option<i64>, u32), String>> {
    let rows = client.query(USER_FIELDS, &sap_setup::field_query(field)).await.context("reading UserFieldsMD")?;
    let existing: Vec<ExistingField> = rows.iter().filter_map(ExistingField::from_row).collect();
    Ok(match sap_setup::decide(field, &existing) {
        Decision::Present { field_id, size } => Ok((field_id, size)),
        Decision::Conflict(reason) => Err(reason),
        Decision::Create => Err(format!(
            "the Service Layer says it exists but UserFieldsMD does not list it (a name differing in case?); \
             check the table's UDFs in SAP ({refusal})"
        )),
    })
}

/// `  created    ORDR.U_SF_OpportunityId  db_Alpha(18) on sales orders, FieldID 0`
fn line(status: &str, field: &RequiredField, shape: &str, field_id: Option<i64>) -> String {
    let id = field_id.map(|id| format!(", FieldID {id}")).unwrap_or_default();
    format!("  {status:<10} {:<24} {shape} on {}{id}", field.label(), field.holds)
}

fn conflict_line(field: &RequiredField, reason: &str) -> String {
    format!("  {:<10} {:<24} on {}: {reason}", "conflict", field.label(), field.holds)
}

fn footer(summary: &Summary, dry_run: bool) -> String {
    let total = sap_setup::REQUIRED_FIELDS.len();
    match (dry_run, summary) {
        (true, Summary { to_create: 0, .. }) | (false, Summary { created: 0, .. }) => {
            format!("All {total} UDFs are present; nothing to create.")
        }
        (true, Summary { to_create, present, .. }) => format!(
            "Dry run: {to_create} to create, {present} present; nothing was created. Run without --dry-run to \
             create them, then restart the Service Layer: it sees a new UDF only after a restart."
        ),
        (false, Summary { created, present, .. }) => format!(
            "{created} created, {present} present. Restart the Service Layer before the sync runs: it sees a new \
             UDF only after a restart, and until then writes naming one are refused."
        ),
    }
}
