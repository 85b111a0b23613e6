//! `b1force audit RECORD_KEY` (every attempt at a record, oldest first) and
//! `b1force audit --failures --since T` (failed attempts of all records, newest first), as a table or JSON.
//! Error texts are printed as stored; the trail holds no secrets or record data.

use crate::operations::{parse_since, rfc3339};
use crate::ops::{self, table};
use anyhow::bail;
use shared::config::Source;
use shared::domain::RecordKey;
use shared::ports::{AuditEntry, AuditLog, Clock};
use std::io::Write;

/// What to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditQuery {
    /// Every attempt at one record.
    Record(RecordKey),
    /// Failed attempts since a time (`--since`, RFC 3339 or a duration such as 24h).
    Failures { since: String, limit: Option<usize> },
}

impl AuditQuery {
    /// From the command line: a record key, or `--failures` (with `--since`, default 24h).
    pub fn from_args(
        record: Option<&str>,
        failures: bool,
        since: Option<String>,
        limit: Option<usize>,
    ) -> anyhow::Result<Self> {
        match (record, failures) {
            (Some(raw), false) => {
                if since.is_some() {
                    bail!("--since goes with --failures; a record's trail is always shown whole");
                }
                Ok(AuditQuery::Record(RecordKey::parse(raw)?))
            }
            (None, true) => Ok(AuditQuery::Failures { since: since.unwrap_or_else(|| "24h".into()), limit }),
            (Some(_), true) => bail!("give a record key or --failures, not both"),
            (None, false) => {
                bail!("give a record key (e.g. sf:Opportunity:006SM0000001Tb3YAE) or --failures --since 24h")
            }
        }
    }
}

/// The entries the query asks for.
pub async fn entries(query: &AuditQuery, audit: &dyn AuditLog, clock: &dyn Clock) -> anyhow::Result<Vec<AuditEntry>> {
    Ok(match query {
        AuditQuery::Record(record) => audit.for_record(&record.to_string()).await?,
        AuditQuery::Failures { since, limit } => {
            audit.failures_since(parse_since(since, clock.now_millis())?, *limit).await?
        }
    })
}

/// The command over any audit log: a table (or one JSON array) on `out`.
pub async fn run(
    query: &AuditQuery,
    json: bool,
    audit: &dyn AuditLog,
    clock: &dyn Clock,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let found = entries(query, audit, clock).await?;
    if json {
        writeln!(out, "{}", serde_json::to_string(&found)?)?;
        return Ok(());
    }
    if found.is_empty() {
        match query {
            AuditQuery::Record(record) => writeln!(out, "no attempts recorded for {record}")?,
            AuditQuery::Failures { since, .. } => writeln!(out, "no failed attempts since {since}")?,
        }
        return Ok(());
    }
    write!(out, "{}", render(&found))?;
    Ok(())
}

/// The command on the DynamoDB audit table named by `AUDIT_TABLE`.
pub async fn run_on_aws(
    query: &AuditQuery,
    json: bool,
    src: &dyn Source,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let audit = ops::audit_table(src).await?;
    run(query, json, &audit, &shared::ports::SystemClock, out).await
}

/// Entries as an aligned table, in the order given.
pub fn render(entries: &[AuditEntry]) -> String {
    let dash = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".into());
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                rfc3339(e.at),
                e.record_key.clone(),
                e.direction.to_string(),
                e.action.to_string(),
                outcome_name(e),
                dash(&e.error_code),
                dash(&e.target_id),
                e.correlation_id.clone(),
                dash(&e.error),
            ]
        })
        .collect();
    table(&["AT", "RECORD", "DIRECTION", "ACTION", "OUTCOME", "CODE", "TARGET", "CORRELATION", "ERROR"], &rows)
}

/// The outcome as stored (`dead_lettered`).
fn outcome_name(entry: &AuditEntry) -> String {
    serde_json::to_value(entry.outcome).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::state::Direction;
    use shared::error::ErrorClass;
    use shared::ports::AuditAction;
    use shared::ports::Outcome;

    #[test]
    fn the_arguments_ask_for_one_record_or_for_failures_and_nothing_ambiguous() {
        let record = AuditQuery::from_args(Some("sf:Opportunity:006SM0000001Tb3YAE"), false, None, None).unwrap();
        assert!(matches!(record, AuditQuery::Record(_)));
        let failures = AuditQuery::from_args(None, true, None, Some(5)).unwrap();
        assert_eq!(failures, AuditQuery::Failures { since: "24h".into(), limit: Some(5) });
        assert!(AuditQuery::from_args(None, false, None, None).unwrap_err().to_string().contains("record key"));
        assert!(AuditQuery::from_args(Some("sf:Opportunity:1"), true, None, None).is_err());
        assert!(AuditQuery::from_args(Some("Opportunity 006"), false, None, None).is_err());
    }

    #[test]
    fn a_table_has_one_aligned_line_per_attempt_with_the_error_as_stored() {
        let entry = |at: i64, outcome: Outcome, error: Option<&str>| AuditEntry {
            record_key: "sf:Opportunity:006SM0000001Tb3YAE".into(),
            at,
            correlation_id: "c-1".into(),
            direction: Direction::SfToSap,
            action: if error.is_some() { AuditAction::DeadLetter } else { AuditAction::CreateOrder },
            outcome,
            source_version: None,
            payload_digest: None,
            error_code: error.map(|_| "MAPPING".into()),
            error_class: error.map(|_| ErrorClass::Permanent),
            error: error.map(String::from),
            target_id: error.is_none().then(|| "42".into()),
        };
        let text = render(&[
            entry(1_795_593_600_000, Outcome::DeadLettered, Some("product Z99999 is not an SAP item")),
            entry(1_795_593_660_000, Outcome::Succeeded, None),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("AT                        RECORD"), "{text}");
        assert!(lines[1].ends_with("  c-1          product Z99999 is not an SAP item"), "{text}");
        assert!(lines[2].starts_with("2026-11-25T08:01:00.000Z  sf:Opportunity:006SM0000001Tb3YAE  sf->sap"), "{text}");
        for (header, first, second) in [("OUTCOME", "dead_lettered", "succeeded"), ("TARGET", "- ", "42")] {
            let column = lines[0].find(header).unwrap();
            assert_eq!((lines[1].find(first), lines[2].find(second)), (Some(column), Some(column)), "{text}");
        }
    }
}
