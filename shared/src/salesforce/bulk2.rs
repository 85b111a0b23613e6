//! Bulk API 2.0 for large rounds and backfills (reference §2.8, docs/wire-notes.md §10e): an upsert
//! is one job — create, one CSV upload, close, poll, read `successfulResults` and `failedResults` —
//! a handful of API calls for up to 150 MB of rows, where sObject Collections spends one call per
//! 200 records. Per-row outcomes come back as [`RecordResult`]s in input order, so a failed row is
//! audited and dead-lettered exactly as a failed Collections record is. Queries run as query jobs
//! whose CSV pages (`Sforce-Locator`) are handed over one at a time: memory holds one page.

use super::wire::{RecordError, RecordResult, error_from_body};
use super::{Payload, Retry, SalesforceClient};
use crate::domain::Record;
use crate::error::{Error, Result};
use crate::ports::{BulkIngest, BulkJobOutcome, BulkOperation};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use crate::domain::bulk_csv::cell_text;
pub use crate::domain::bulk_csv::{CsvRows, MAX_JOB_BYTES};
/// Records per job in a writer's round: far below [`MAX_JOB_BYTES`] for any mapped object (a
/// 100,000-row job of 1 KB rows is 100 MB).
pub const RECORDS_PER_JOB: usize = 100_000;

/// How long to wait between polls: starts at `first`, doubles up to `max`.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    pub first: Duration,
    pub max: Duration,
    /// Give up (the job keeps running in Salesforce; [`SalesforceClient::bulk_resume`] picks it up).
    pub timeout: Duration,
}

impl Default for Polling {
    fn default() -> Self {
        Self { first: Duration::from_millis(500), max: Duration::from_secs(10), timeout: Duration::from_secs(600) }
    }
}

/// A job as `GET /jobs/ingest/{id}` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkJob {
    pub id: String,
    pub state: String,
    pub processed: u64,
    pub failed: u64,
    pub error_message: Option<String>,
}

impl BulkJob {
    fn from_info(info: &Value) -> Result<Self> {
        let number = |key: &str| info.get(key).and_then(Value::as_u64).unwrap_or(0);
        Ok(Self {
            id: info.get("id").and_then(Value::as_str).ok_or_else(|| not_expected("a job without an id"))?.to_string(),
            state: info.get("state").and_then(Value::as_str).unwrap_or_default().to_string(),
            processed: number("numberRecordsProcessed"),
            failed: number("numberRecordsFailed"),
            error_message: info.get("errorMessage").and_then(Value::as_str).map(str::to_string),
        })
    }

    pub fn finished(&self) -> bool {
        matches!(self.state.as_str(), "JobComplete" | "Failed" | "Aborted")
    }
}

fn not_expected(what: &str) -> Error {
    Error::Transport { system: super::SYSTEM, message: format!("Bulk API 2.0: {what}") }
}

/// A job that failed as a whole (`state` Failed): every row of it failed for the same reason,
/// usually the set-up's (a column the org does not have).
fn job_failed(job: &BulkJob) -> Error {
    Error::Salesforce {
        status: 400,
        code: "BULK_JOB_FAILED".into(),
        message: format!(
            "Bulk API job {} failed: {}",
            job.id,
            job.error_message.as_deref().unwrap_or("no reason given")
        ),
    }
}

/// Records as Bulk API 2.0 CSV ([`CsvRows`]): the header is every field any record names
/// (first-seen order), a relationship set by external id (`{"Account__r": {"SAP_CardCode__c": "C1"}}`)
/// is the column `Account__r.SAP_CardCode__c`; a missing field is an empty cell (left alone), null is `#N/A`.
pub fn records_to_csv(records: &[Record]) -> Result<(Vec<String>, bytes::Bytes)> {
    let mut rows = CsvRows::default();
    for record in records {
        rows.push(record)?;
    }
    let header = rows.header().to_vec();
    Ok((header, rows.finish()?))
}

/// The rows of a results CSV as column → text maps.
fn csv_rows(bytes: &[u8]) -> Result<Vec<HashMap<String, String>>> {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| not_expected(&format!("unreadable CSV: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| not_expected(&format!("unreadable CSV: {e}")))?;
        rows.push(header.iter().cloned().zip(record.iter().map(str::to_string)).collect());
    }
    Ok(rows)
}

/// `sf__Error` (`CODE:message:fields --`) as a record error.
fn row_error(text: &str) -> RecordError {
    let text = text.trim_end_matches(" --").trim_end_matches("--");
    let (code, rest) = text.split_once(':').unwrap_or(("UNKNOWN_ERROR", text));
    let (message, fields) = match rest.rsplit_once(':') {
        Some((message, fields)) if !fields.contains(' ') || fields.is_empty() => (message, fields),
        _ => (rest, ""),
    };
    RecordError {
        status_code: code.trim().to_string(),
        message: message.trim().to_string(),
        fields: fields.split(',').map(str::trim).filter(|f| !f.is_empty()).map(str::to_string).collect(),
    }
}

/// Per-record outcomes in input order, matched by the external id each result row repeats (Bulk
/// API 2.0 does not promise result order); a row in neither list was not processed.
pub fn outcomes_in_order(
    records: &[Record],
    external_id: &str,
    successful: &[HashMap<String, String>],
    failed: &[HashMap<String, String>],
) -> Vec<RecordResult> {
    let mut by_key: HashMap<String, VecDeque<RecordResult>> = HashMap::new();
    for row in successful {
        let result = RecordResult {
            id: row.get("sf__Id").cloned(),
            success: true,
            errors: Vec::new(),
            created: row.get("sf__Created").map(|c| c == "true"),
        };
        by_key.entry(row.get(external_id).cloned().unwrap_or_default()).or_default().push_back(result);
    }
    for row in failed {
        let error = row_error(row.get("sf__Error").map_or("", String::as_str));
        let result = RecordResult { id: None, success: false, errors: vec![error], created: None };
        by_key.entry(row.get(external_id).cloned().unwrap_or_default()).or_default().push_back(result);
    }
    records
        .iter()
        .map(|record| {
            let key = record.get(external_id).map(|v| cell_text(v).unwrap_or_default()).unwrap_or_default();
            by_key.get_mut(&key).and_then(VecDeque::pop_front).unwrap_or_else(|| RecordResult {
                id: None,
                success: false,
                errors: vec![RecordError {
                    status_code: "BULK_UNPROCESSED".into(),
                    message: "Bulk API did not process this row".into(),
                    fields: Vec::new(),
                }],
                created: None,
            })
        })
        .collect()
}

impl SalesforceClient {
    fn jobs_path(&self, tail: &str) -> String {
        self.data_path(&format!("jobs/{tail}"))
    }

    async fn job_json(&self, method: Method, tail: &str, body: Option<&Value>, retry: Retry) -> Result<Value> {
        let reply = self.send(method, &self.jobs_path(tail), body, retry).await?;
        serde_json::from_slice(&reply.body).map_err(|e| not_expected(&format!("job reply is not JSON: {e}")))
    }

    /// Creates an upsert job for `object` by `external_id`; the job is Open until closed.
    pub async fn bulk_create_upsert_job(&self, object: &str, external_id: &str) -> Result<BulkJob> {
        let operation = BulkOperation::Upsert { object: object.into(), external_id: external_id.into() };
        self.bulk_create_job(&operation).await
    }

    /// Creates an ingest job for `operation`; the job is Open until closed.
    pub async fn bulk_create_job(&self, operation: &BulkOperation) -> Result<BulkJob> {
        let mut body = json!({"object": operation.object(), "contentType": "CSV",
            "lineEnding": "LF", "columnDelimiter": "COMMA"});
        match operation {
            BulkOperation::Upsert { external_id, .. } => {
                body["operation"] = json!("upsert");
                body["externalIdFieldName"] = json!(external_id);
            }
            BulkOperation::Update { .. } => body["operation"] = json!("update"),
        }
        BulkJob::from_info(&self.job_json(Method::POST, "ingest", Some(&body), Retry::Never).await?)
    }

    /// Uploads the job's CSV (once per job) and closes it, which starts the processing.
    pub async fn bulk_upload_and_close(&self, job_id: &str, csv: &bytes::Bytes) -> Result<()> {
        let path = self.jobs_path(&format!("ingest/{job_id}/batches"));
        let reply = self.send_payload(Method::PUT, &path, Payload::Csv(csv), Retry::Never).await?;
        if reply.status != 201 {
            return Err(error_from_body(reply.status, &reply.body));
        }
        let close = json!({"state": "UploadComplete"});
        self.job_json(Method::PATCH, &format!("ingest/{job_id}"), Some(&close), Retry::Never).await?;
        Ok(())
    }

    /// The job's state now.
    pub async fn bulk_job(&self, kind: &str, job_id: &str) -> Result<BulkJob> {
        BulkJob::from_info(&self.job_json(Method::GET, &format!("{kind}/{job_id}"), None, Retry::Idempotent).await?)
    }

    /// Aborts a job that has not finished (its unprocessed rows are left alone).
    pub async fn bulk_abort(&self, kind: &str, job_id: &str) -> Result<()> {
        let abort = json!({"state": "Aborted"});
        self.job_json(Method::PATCH, &format!("{kind}/{job_id}"), Some(&abort), Retry::Never).await.map(drop)
    }

    /// Polls until the job is finished (JobComplete, Failed or Aborted).
    pub async fn bulk_wait(&self, kind: &str, job_id: &str, polling: Polling) -> Result<BulkJob> {
        let started = tokio::time::Instant::now();
        let mut pause = polling.first;
        loop {
            let job = self.bulk_job(kind, job_id).await?;
            if job.finished() {
                return Ok(job);
            }
            if started.elapsed() >= polling.timeout {
                return Err(Error::Transport {
                    system: super::SYSTEM,
                    message: format!("Bulk API job {job_id} still {} after {:?}", job.state, polling.timeout),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(polling.max);
        }
    }

    async fn results_csv(&self, job_id: &str, which: &str) -> Result<Vec<HashMap<String, String>>> {
        let reply = self
            .send(Method::GET, &self.jobs_path(&format!("ingest/{job_id}/{which}")), None, Retry::Idempotent)
            .await?;
        csv_rows(&reply.body)
    }

    /// A finished job's per-record outcomes in the order of `records`.
    pub async fn bulk_outcomes(
        &self,
        job: &BulkJob,
        records: &[Record],
        external_id: &str,
    ) -> Result<Vec<RecordResult>> {
        if job.state == "Failed" {
            return Err(job_failed(job));
        }
        let successful = self.results_csv(&job.id, "successfulResults").await?;
        let failed = if job.failed > 0 { self.results_csv(&job.id, "failedResults").await? } else { Vec::new() };
        Ok(outcomes_in_order(records, external_id, &successful, &failed))
    }

    /// Upserts `records` of `object` by `external_id` in one ingest job (the caller keeps each job
    /// under [`MAX_JOB_BYTES`]); `on_created` hears the job id before any data is sent, so a process
    /// killed mid-job can resume it ([`Self::bulk_resume`]) instead of starting another.
    pub async fn bulk_upsert(
        &self,
        object: &str,
        external_id: &str,
        records: &[Record],
        polling: Polling,
        on_created: impl AsyncFnOnce(&str) -> Result<()>,
    ) -> Result<Vec<RecordResult>> {
        let (_, csv) = records_to_csv(records)?;
        if csv.len() > MAX_JOB_BYTES {
            return Err(Error::Invalid(format!(
                "{} bytes of CSV is over one Bulk API job's {MAX_JOB_BYTES}",
                csv.len()
            )));
        }
        let job = self.bulk_create_upsert_job(object, external_id).await?;
        on_created(&job.id).await?;
        self.bulk_upload_and_close(&job.id, &csv).await?;
        let job = self.bulk_wait("ingest", &job.id, polling).await?;
        self.bulk_outcomes(&job, records, external_id).await
    }

    /// A large round as Bulk API 2.0 jobs of at most [`RECORDS_PER_JOB`] records, one after
    /// another; the writer's round is its own resume point (a round given back to the queue upserts
    /// again by external id, so an abandoned job's rows are not created twice).
    pub async fn bulk_upsert_in_jobs(
        &self,
        object: &str,
        external_id: &str,
        records: &[Record],
    ) -> Result<Vec<RecordResult>> {
        let polling = Polling { timeout: Duration::from_secs(self.inner.cfg.bulk_wait_secs), ..Polling::default() };
        let mut results = Vec::with_capacity(records.len());
        for chunk in records.chunks(RECORDS_PER_JOB) {
            let on_created = async |job: &str| {
                tracing::info!(job, object, records = chunk.len(), "Bulk API upsert job created");
                Ok(())
            };
            results.extend(self.bulk_upsert(object, external_id, chunk, polling, on_created).await?);
        }
        Ok(results)
    }

    /// Picks up a job a killed process left: a job still Open (its upload may or may not have
    /// happened) is aborted and `None` returned, so the caller upserts again — by external id, so
    /// nothing is created twice; a closed or finished job is waited for and its outcomes returned.
    pub async fn bulk_resume(
        &self,
        job_id: &str,
        records: &[Record],
        external_id: &str,
        polling: Polling,
    ) -> Result<Option<Vec<RecordResult>>> {
        let job = self.bulk_job("ingest", job_id).await?;
        match job.state.as_str() {
            "Open" => {
                self.bulk_abort("ingest", job_id).await?;
                Ok(None)
            }
            "Aborted" => Ok(None),
            _ => {
                let job = self.bulk_wait("ingest", job_id, polling).await?;
                self.bulk_outcomes(&job, records, external_id).await.map(Some)
            }
        }
    }

    /// Runs `soql` as a Bulk API 2.0 query job and hands `on_page` one page of at most `page_size`
    /// records at a time (values as text, empty cells null). Returns the number of records.
    pub async fn bulk_query(
        &self,
        soql: &str,
        page_size: usize,
        polling: Polling,
        mut on_page: impl AsyncFnMut(Vec<Record>) -> Result<()>,
    ) -> Result<u64> {
        let body = json!({"operation": "query", "query": soql, "contentType": "CSV",
            "lineEnding": "LF", "columnDelimiter": "COMMA"});
        let job = BulkJob::from_info(&self.job_json(Method::POST, "query", Some(&body), Retry::Never).await?)?;
        let job = self.bulk_wait("query", &job.id, polling).await?;
        if job.state == "Failed" {
            return Err(job_failed(&job));
        }
        let mut locator = String::new();
        let mut total = 0;
        loop {
            let mut path = self.jobs_path(&format!("query/{}/results?maxRecords={page_size}", job.id));
            if !locator.is_empty() {
                let encoded: String = url::form_urlencoded::byte_serialize(locator.as_bytes()).collect();
                path.push_str(&format!("&locator={encoded}"));
            }
            let reply = self.send(Method::GET, &path, None, Retry::Idempotent).await?;
            let next = reply.headers.get("sforce-locator").and_then(|v| v.to_str().ok()).unwrap_or("null").to_string();
            let records: Vec<Record> = csv_rows(&reply.body)?
                .into_iter()
                .map(|row| {
                    row.into_iter()
                        .map(|(k, v)| (k, if v.is_empty() { Value::Null } else { Value::String(v) }))
                        .collect()
                })
                .collect();
            total += records.len() as u64;
            on_page(records).await?;
            if next == "null" || next.is_empty() {
                return Ok(total);
            }
            locator = next;
        }
    }
}

#[async_trait::async_trait]
impl BulkIngest for SalesforceClient {
    async fn open_job(&self, operation: &BulkOperation) -> Result<String> {
        Ok(self.bulk_create_job(operation).await?.id)
    }

    async fn upload_and_close(&self, job_id: &str, csv: &bytes::Bytes) -> Result<()> {
        self.bulk_upload_and_close(job_id, csv).await
    }

    async fn finish(&self, job_id: &str, operation: &BulkOperation) -> Result<BulkJobOutcome> {
        let polling = Polling { timeout: Duration::from_secs(self.inner.cfg.bulk_wait_secs), ..Polling::default() };
        let job = self.bulk_wait("ingest", job_id, polling).await?;
        if job.state == "Failed" {
            return Err(job_failed(&job));
        }
        let key = operation.key_column();
        let failed = if job.failed > 0 { self.results_csv(job_id, "failedResults").await? } else { Vec::new() };
        let failed = failed
            .into_iter()
            .map(|row| {
                let error = RecordResult {
                    id: None,
                    success: false,
                    errors: vec![row_error(row.get("sf__Error").map_or("", String::as_str))],
                    created: None,
                };
                (row.get(key).cloned().unwrap_or_default(), error.error().expect("a failed result"))
            })
            .collect();
        // A complete job processed every row; an aborted one (by someone in Setup) may have left some.
        let unprocessed = if job.state == "Aborted" {
            let rows = self.results_csv(job_id, "unprocessedrecords").await?;
            rows.into_iter().map(|row| row.get(key).cloned().unwrap_or_default()).collect()
        } else {
            Vec::new()
        };
        Ok(BulkJobOutcome { job_id: job_id.to_string(), processed: job.processed, failed, unprocessed })
    }

    async fn abandon(&self, job_id: &str) -> Result<()> {
        match self.bulk_job("ingest", job_id).await?.state.as_str() {
            "Open" => self.bulk_abort("ingest", job_id).await,
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(value: Value) -> Record {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn records_become_csv_with_every_field_relationship_columns_and_na_for_null() {
        let records = [
            record(
                json!({"SAP_Document_Key__c": "Invoices/1", "Amount__c": 10.5, "Account__r": {"SAP_CardCode__c": "C1"}}),
            ),
            record(
                json!({"SAP_Document_Key__c": "Invoices/2", "Due_Date__c": null, "Is_Credit_Note__c": true, "Name": "a, \"b\""}),
            ),
        ];
        let (header, csv) = records_to_csv(&records).unwrap();
        // First-seen order over the records (each record's fields in its map's order).
        let expected = ["Account__r.SAP_CardCode__c", "Amount__c", "SAP_Document_Key__c", "Due_Date__c"];
        assert_eq!(header[..4], expected);
        assert_eq!(header[4..], ["Is_Credit_Note__c", "Name"]);
        let text = String::from_utf8(csv.to_vec()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "C1,10.5,Invoices/1,,,");
        assert_eq!(lines[2], ",,Invoices/2,#N/A,true,\"a, \"\"b\"\"\"");
        assert!(records_to_csv(&[record(json!({"X": [1]}))]).is_err(), "a list is no cell");
    }

    #[test]
    fn results_come_back_in_input_order_matched_by_external_id_and_missing_rows_are_unprocessed() {
        let records: Vec<Record> =
            ["A", "B", "C", "A"].iter().map(|k| record(json!({"Key__c": k, "Name": "n"}))).collect();
        let row = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let successful = vec![
            row(&[("sf__Id", "001B"), ("sf__Created", "true"), ("Key__c", "B")]),
            row(&[("sf__Id", "001A"), ("sf__Created", "false"), ("Key__c", "A")]),
            row(&[("sf__Id", "001A"), ("sf__Created", "false"), ("Key__c", "A")]),
        ];
        let failed = vec![row(&[
            ("sf__Id", ""),
            ("sf__Error", "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"),
            ("Key__c", "C"),
        ])];
        let results = outcomes_in_order(&records, "Key__c", &successful, &failed);
        let summary: Vec<(bool, Option<&str>, Option<bool>)> =
            results.iter().map(|r| (r.success, r.id.as_deref(), r.created)).collect();
        assert_eq!(
            summary,
            [
                (true, Some("001A"), Some(false)),
                (true, Some("001B"), Some(true)),
                (false, None, None),
                (true, Some("001A"), Some(false))
            ]
        );
        assert_eq!(
            results[2].errors[0],
            RecordError {
                status_code: "REQUIRED_FIELD_MISSING".into(),
                message: "Required fields are missing: [Name]".into(),
                fields: vec!["Name".into()],
            }
        );
        let unprocessed = outcomes_in_order(&records[..1], "Key__c", &[], &[]);
        assert_eq!(unprocessed[0].errors[0].status_code, "BULK_UNPROCESSED");
    }
}
