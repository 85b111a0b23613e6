//! Bulk API 2.0 (#17): our client against the Salesforce sandbox's ingest and query jobs — a job
//! with some failed rows, a job that fails as a whole, a kill mid-job and resume (no duplicate, no
//! loss), query pages — and the API calls they use.

use sandbox::{SalesforceOptions, SalesforceSandbox};
use serde_json::{Value, json};
use shared::config::SalesforceConfig;
use shared::domain::Record;
use shared::salesforce::SalesforceClient;
use shared::salesforce::bulk2::Polling;
use std::collections::HashMap;
use std::time::Duration;

const FAST: Polling =
    Polling { first: Duration::from_millis(1), max: Duration::from_millis(5), timeout: Duration::from_secs(30) };

/// A client of `sb` with these extra settings (e.g. `SF_BULK_THRESHOLD`).
fn client_of(sb: &SalesforceSandbox, extra: &[(&str, String)]) -> SalesforceClient {
    let mut source: HashMap<String, String> = [
        ("SF_LOGIN_URL", sb.login_url()),
        ("SF_CLIENT_ID", sb.client_id().to_string()),
        ("SF_CLIENT_SECRET", sb.client_secret().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    source.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    SalesforceClient::new(SalesforceConfig::from_source(&source).expect("config")).expect("client")
}

async fn start() -> (SalesforceSandbox, SalesforceClient) {
    let sb = SalesforceSandbox::start(SalesforceOptions::default()).await.expect("sandbox starts");
    let client = client_of(&sb, &[]);
    (sb, client)
}

fn accounts(prefix: &str, n: usize) -> Vec<Record> {
    (0..n)
        .map(|i| json!({"SAP_CardCode__c": format!("{prefix}{i:05}"), "Name": format!("Bulk {prefix} {i}")}))
        .map(|v| v.as_object().cloned().unwrap())
        .collect()
}

fn with_code(sb: &SalesforceSandbox, code: &str) -> Vec<Value> {
    sb.records("Account").into_iter().filter(|r| r["SAP_CardCode__c"] == code).collect()
}

async fn ok(_: &str) -> shared::Result<()> {
    Ok(())
}

#[tokio::test]
async fn one_job_upserts_a_thousand_accounts_in_a_few_calls_and_a_bad_row_fails_alone() {
    let (sb, client) = start().await;
    let mut records = accounts("BK", 1000);
    records[10].remove("Name"); // a new account needs its Name
    records[500].insert("Name".into(), Value::Null);
    client.query_all("SELECT Id FROM Account LIMIT 1").await.unwrap(); // log in first
    sb.calls().reset();

    let results = client.bulk_upsert("Account", "SAP_CardCode__c", &records, FAST, ok).await.unwrap();
    assert_eq!(results.len(), 1000);
    let failed: Vec<usize> = results.iter().enumerate().filter(|(_, r)| !r.success).map(|(i, _)| i).collect();
    assert_eq!(failed, [10, 500], "the rows without a name, each alone");
    assert_eq!(results[10].errors[0].status_code, "REQUIRED_FIELD_MISSING");
    assert!(results.iter().filter(|r| r.success).all(|r| r.created == Some(true) && r.id.is_some()));
    assert_eq!(with_code(&sb, "BK00011").len(), 1);
    assert!(with_code(&sb, "BK00010").is_empty());
    // create, upload, close, polls (InProgress, JobComplete), successful + failed results.
    let calls = sb.calls().matching("POST jobs")
        + sb.calls().matching("PUT jobs")
        + sb.calls().matching("PATCH jobs")
        + sb.calls().matching("GET jobs");
    assert_eq!(sb.calls().total(), calls, "nothing but Bulk API calls");
    assert!(calls <= 8, "{calls} calls for 1,000 records (Collections: 5)");

    // Again: every good row updates (created false), the bad ones fail again, nothing doubles.
    let again = client.bulk_upsert("Account", "SAP_CardCode__c", &records, FAST, ok).await.unwrap();
    let bad = |i: usize| i == 10 || i == 500;
    assert!(again.iter().enumerate().all(|(i, r)| r.success != bad(i) && r.created != Some(true)));
    assert_eq!(with_code(&sb, "BK00999").len(), 1);
}

#[tokio::test]
async fn a_job_naming_a_field_the_org_lacks_fails_as_a_whole_and_writes_nothing() {
    let (sb, client) = start().await;
    let mut records = accounts("BF", 3);
    records[1].insert("Not_In_The_Org__c".into(), json!("x"));
    let error = client.bulk_upsert("Account", "SAP_CardCode__c", &records, FAST, ok).await.unwrap_err();
    assert_eq!(error.code(), "BULK_JOB_FAILED");
    assert!(error.to_string().contains("Field name not found : Not_In_The_Org__c"), "{error}");
    assert!(with_code(&sb, "BF00000").is_empty());
}

#[tokio::test]
async fn a_process_killed_mid_job_resumes_without_duplicates_or_loss() {
    let (sb, client) = start().await;
    let records = accounts("KL", 50);
    let (_, csv) = shared::salesforce::bulk2::records_to_csv(&records).unwrap();

    // Killed after creating the job, before (or during) the upload: the job is Open.
    let open = client.bulk_create_upsert_job("Account", "SAP_CardCode__c").await.unwrap();
    assert_eq!(
        client.bulk_resume(&open.id, &records, "SAP_CardCode__c", FAST).await.unwrap(),
        None,
        "aborted: upsert again"
    );
    assert_eq!(client.bulk_job("ingest", &open.id).await.unwrap().state, "Aborted");

    // Killed after closing the job, before reading its results: the next run finishes it.
    let closed = client.bulk_create_upsert_job("Account", "SAP_CardCode__c").await.unwrap();
    client.bulk_upload_and_close(&closed.id, &csv).await.unwrap();
    let resumed = client.bulk_resume(&closed.id, &records, "SAP_CardCode__c", FAST).await.unwrap().expect("outcomes");
    assert!(resumed.iter().all(|r| r.success && r.created == Some(true)));

    // A kill before the results were recorded means the round runs again: by external id, so no copies.
    let rerun = client.bulk_upsert("Account", "SAP_CardCode__c", &records, FAST, ok).await.unwrap();
    assert!(rerun.iter().all(|r| r.success && r.created == Some(false)));
    for i in 0..50 {
        assert_eq!(with_code(&sb, &format!("KL{i:05}")).len(), 1, "KL{i:05} exactly once");
    }

    // The job id is handed over before any data is sent: a failing hand-over sends nothing.
    let refused = client
        .bulk_upsert("Account", "SAP_CardCode__c", &accounts("NX", 2), FAST, async |_: &str| {
            Err(shared::Error::Invalid("the job log is unreachable".into()))
        })
        .await;
    assert!(refused.is_err());
    assert!(with_code(&sb, "NX00000").is_empty());
}

#[tokio::test]
async fn a_query_job_hands_over_pages_of_at_most_the_page_size_and_reads_every_row() {
    let (_sb, client) = start().await;
    let rest = client.query_all("SELECT Id FROM Account").await.unwrap().len();
    let mut pages = Vec::new();
    let total = client
        .bulk_query("SELECT Id, Name, SAP_CardCode__c FROM Account", 25, FAST, async |page: Vec<Record>| {
            pages.push(page);
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(total as usize, rest);
    assert!(pages.len() > 1 && pages.iter().all(|p| p.len() <= 25));
    let ids: std::collections::HashSet<&str> =
        pages.iter().flatten().filter_map(|r| r.get("Id").and_then(Value::as_str)).collect();
    assert_eq!(ids.len(), rest, "no row twice, none lost");
}

#[tokio::test]
async fn the_sandbox_is_strict_one_upload_per_job_and_results_only_for_a_finished_job() {
    let (_sb, client) = start().await;
    let records = accounts("ST", 2);
    let (_, csv) = shared::salesforce::bulk2::records_to_csv(&records).unwrap();
    let job = client.bulk_create_upsert_job("Account", "SAP_CardCode__c").await.unwrap();
    client.bulk_upload_and_close(&job.id, &csv).await.unwrap();
    let second = client.bulk_upload_and_close(&job.id, &csv).await.unwrap_err();
    assert_eq!(second.code(), "INVALIDJOBSTATE", "{second}");
    let closed = client.bulk_job("ingest", &job.id).await.unwrap();
    assert_eq!(closed.state, "InProgress", "a job moves on only when polled");
    let early = client.bulk_outcomes(&closed, &records, "SAP_CardCode__c").await.unwrap_err();
    assert_eq!(early.code(), "INVALIDJOBSTATE", "no results before the job finished: {early}");
    let done = client.bulk_wait("ingest", &job.id, FAST).await.unwrap();
    assert_eq!((done.state.as_str(), done.processed, done.failed), ("JobComplete", 2, 0));
    let refused = client.bulk_create_upsert_job("Account", "Name").await.unwrap_err();
    assert!(refused.to_string().contains("is not an External ID"), "{refused}");
}

/// The sf-writer's port: a round at or over `SF_BULK_THRESHOLD` goes through a Bulk API job, and
/// each record's outcome is the one sObject Collections gives (same successes, same error codes),
/// so the writer audits and dead-letters a failed row exactly as before.
#[tokio::test]
async fn a_large_round_goes_through_bulk_with_the_per_record_outcomes_collections_give() {
    use shared::ports::SalesforceWrites;
    let (sb, _) = start().await;
    let client_with = |threshold: usize| client_of(&sb, &[("SF_BULK_THRESHOLD", threshold.to_string())]);
    let round = |prefix: &str| {
        let mut records = accounts(prefix, 30);
        records[3].remove("Name");
        records[7].insert("Name".into(), Value::Null);
        records
    };
    let collections = client_with(0).upsert_many("Account", "SAP_CardCode__c", &round("RC")).await.unwrap();
    sb.calls().reset();
    let bulk = client_with(20).upsert_many("Account", "SAP_CardCode__c", &round("RB")).await.unwrap();
    assert_eq!(sb.calls().matching("PATCH composite"), 0, "no Collections call");
    assert_eq!(sb.calls().matching("POST jobs/ingest"), 1, "one job");
    let shape = |writes: &[shared::ports::RecordWrite]| -> Vec<Result<(), String>> {
        writes.iter().map(|w| w.as_ref().map(drop).map_err(|e| e.code().to_string())).collect()
    };
    assert_eq!(shape(&bulk), shape(&collections));
    assert_eq!(shape(&bulk).iter().filter(|r| r.is_err()).count(), 2);
    assert!(bulk.iter().flatten().all(|id| id.starts_with("001")));

    // Under the threshold: Collections, as before.
    sb.calls().reset();
    client_with(20).upsert_many("Account", "SAP_CardCode__c", &accounts("RS", 19)).await.unwrap();
    assert_eq!((sb.calls().matching("POST jobs"), sb.calls().matching("PATCH composite")), (0, 1));
}

/// A job's CSV may be far larger than a REST body: 150 MB (the sandbox once refused over 2 MB,
/// which the sf-writer survived only by splitting the round until each half fitted).
#[tokio::test]
async fn a_job_of_several_megabytes_is_one_upload() {
    let (sb, client) = start().await;
    let mut records = accounts("MB", 30_000);
    for record in &mut records {
        record.insert("Description".into(), json!("x".repeat(80)));
    }
    let (_, csv) = shared::salesforce::bulk2::records_to_csv(&records).unwrap();
    assert!(csv.len() > 2 * 1024 * 1024, "{} bytes", csv.len());
    let results = client.bulk_upsert("Account", "SAP_CardCode__c", &records, FAST, ok).await.unwrap();
    assert!(results.iter().all(|r| r.success));
    assert_eq!((sb.calls().matching("POST jobs"), sb.calls().matching("PUT jobs")), (1, 1));
}
