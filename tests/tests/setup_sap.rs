//! `b1force setup sap` against the Service Layer sandbox: on a fresh company a dry run creates
//! nothing, a run creates the eight UDFs, a second run creates none; a field of the right name but
//! another type fails the run and nothing is created; the settings decide which server is used.

use b1force_cli::local::sap_config;
use b1force_cli::setup::{Summary, run_sap, sap};
use sandbox::{SapOptions, SapSandbox};
use serde_json::json;
use shared::embedded::EmbeddedSecrets;
use shared::sap::SapClient;
use shared::sap::odata::Query;
use shared::wiring::sap_client;
use std::collections::HashMap;

const ALL_EIGHT: [&str; 8] = [
    "OCPR.U_SF_ContactId db_Alpha(18)",
    "OCRD.U_SF_AccountId db_Alpha(18)",
    "ODLN.U_SF_OpportunityId db_Alpha(18)",
    "OINV.U_SF_OpportunityId db_Alpha(18)",
    "OQUT.U_SF_QuoteId db_Alpha(18)",
    "ORDR.U_SF_OpportunityId db_Alpha(18)",
    "ORIN.U_SF_OpportunityId db_Alpha(18)",
    "RDR1.U_SF_LineItemId db_Alpha(18)",
];

async fn fresh_company() -> (SapSandbox, SapClient) {
    let sap = SapSandbox::start(SapOptions { udfs_installed: false, ..SapOptions::default() }).await.unwrap();
    let client = SapClient::new(sap_config(&sap)).unwrap();
    (sap, client)
}

/// Every definition in UserFieldsMD, read through the client, as `TABLE.U_Name Type(Size)`.
async fn definitions(client: &SapClient) -> Vec<String> {
    let rows = client.query("UserFieldsMD", &Query::new()).await.unwrap();
    let mut found: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{}.U_{} {}({})",
                r["TableName"].as_str().unwrap(),
                r["Name"].as_str().unwrap(),
                r["Type"].as_str().unwrap(),
                r["Size"]
            )
        })
        .collect();
    found.sort();
    found
}

/// One run of the command's work, with what it printed.
async fn setup(client: &SapClient, dry_run: bool) -> (anyhow::Result<Summary>, String) {
    let mut out = Vec::new();
    let result = sap(client, dry_run, &mut out).await;
    (result, String::from_utf8(out).unwrap())
}

fn posts(sap: &SapSandbox) -> u64 {
    sap.calls().snapshot().get("POST /UserFieldsMD").copied().unwrap_or(0)
}

#[tokio::test]
async fn a_dry_run_creates_nothing_a_run_creates_the_eight_udfs_and_a_second_run_creates_none() {
    let (sap, client) = fresh_company().await;

    let (dry, printed) = setup(&client, true).await;
    println!("--- dry run\n{printed}");
    assert_eq!(dry.unwrap(), Summary { created: 0, present: 0, to_create: 8 });
    assert_eq!(printed.lines().filter(|l| l.starts_with("  to create ")).count(), 8, "{printed}");
    assert!(printed.contains("  to create  ORDR.U_SF_OpportunityId  db_Alpha(18) on sales orders\n"), "{printed}");
    assert!(printed.contains("Dry run: 8 to create, 0 present; nothing was created."), "{printed}");
    assert!(definitions(&client).await.is_empty(), "a dry run creates nothing");
    assert_eq!(posts(&sap), 0);

    let (run, printed) = setup(&client, false).await;
    println!("--- run\n{printed}");
    assert_eq!(run.unwrap(), Summary { created: 8, present: 0, to_create: 0 });
    assert_eq!(definitions(&client).await, ALL_EIGHT);
    assert!(printed.contains("  created    RDR1.U_SF_LineItemId     db_Alpha(18) on sales order lines, FieldID 0\n"));
    assert!(printed.contains("Restart the Service Layer"), "{printed}");
    assert_eq!(posts(&sap), 8);

    let (again, printed) = setup(&client, false).await;
    println!("--- second run\n{printed}");
    assert_eq!(again.unwrap(), Summary { created: 0, present: 8, to_create: 0 });
    assert_eq!(printed.lines().filter(|l| l.starts_with("  present ")).count(), 8, "{printed}");
    assert!(printed.ends_with("All 8 UDFs are present; nothing to create.\n"), "{printed}");
    assert!(!printed.contains("Restart"), "nothing new, nothing to restart for: {printed}");
    assert_eq!(posts(&sap), 8, "the second run posts nothing");
    assert_eq!(definitions(&client).await, ALL_EIGHT);
}

#[tokio::test]
async fn a_numeric_account_id_field_is_a_conflict_that_fails_the_run_and_nothing_is_created() {
    let (sap, client) = fresh_company().await;
    let numeric = json!({"Name": "SF_AccountId", "Type": "db_Numeric", "Size": 11, "TableName": "OCRD"});
    client.post("UserFieldsMD", &numeric).await.unwrap();

    for dry_run in [true, false] {
        let (result, printed) = setup(&client, dry_run).await;
        let error = format!("{:#}", result.expect_err("a conflict fails the run"));
        println!("--- conflict (dry run {dry_run})\n{printed}error: {error}");
        assert!(error.starts_with("1 UDF conflicts with what the sync needs, nothing was created:"), "{error}");
        assert!(error.contains("OCRD.U_SF_AccountId exists as db_Numeric(11), but the sync needs db_Alpha"), "{error}");
        assert!(
            printed.contains("  conflict   OCRD.U_SF_AccountId      on business partners: exists as db_Numeric(11)")
        );
        assert_eq!(
            printed.lines().filter(|l| l.starts_with(if dry_run { "  to create " } else { "  missing " })).count(),
            7
        );
    }
    assert_eq!(definitions(&client).await, ["OCRD.U_SF_AccountId db_Numeric(11)"], "left as it was");
    assert_eq!(posts(&sap), 1, "only the test's own post");
}

#[tokio::test]
async fn a_field_differing_only_in_case_is_found_by_the_read_and_refused_before_anything_is_created() {
    let (sap, client) = fresh_company().await;
    // B1 on SQL Server compares names without case, in its uniqueness check and in $filter alike
    // (#12 item 4; the sandbox's $filter used to compare with case, so this read missed the field and
    // the POST was refused as existing). The read finds it, and nothing is created.
    let lower = json!({"Name": "sf_contactid", "Type": "db_Alpha", "Size": 18, "TableName": "OCPR"});
    client.post("UserFieldsMD", &lower).await.unwrap();

    let (result, printed) = setup(&client, false).await;
    let error = format!("{:#}", result.expect_err("a field differing only in case is a conflict"));
    println!("--- differing in case\n{printed}error: {error}");
    assert!(error.starts_with("1 UDF conflicts with what the sync needs, nothing was created:"), "{error}");
    assert!(error.contains("OCPR.U_SF_ContactId exists as U_sf_contactid (db_Alpha(18))"), "{error}");
    assert_eq!(posts(&sap), 1, "only the test's own post");
}

#[tokio::test]
async fn a_company_set_up_before_has_nothing_to_create() {
    let sap = SapSandbox::start(SapOptions::default()).await.unwrap();
    let client = SapClient::new(sap_config(&sap)).unwrap();
    let (result, printed) = setup(&client, false).await;
    assert_eq!(result.unwrap(), Summary { created: 0, present: 8, to_create: 0 }, "{printed}");
    assert_eq!(posts(&sap), 0);
}

fn settings(pairs: &[(&str, String)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

#[tokio::test]
async fn the_command_uses_the_server_sap_url_names_and_logs_out() {
    let sap = SapSandbox::start(SapOptions { udfs_installed: false, ..SapOptions::default() }).await.unwrap();
    let src = settings(&[
        ("SAP_URL", sap.base_url()),
        ("SAP_COMPANY_DB", sap.company_db().into()),
        ("SAP_USER", sap.user().into()),
        ("SAP_PASSWORD", sap.password().into()),
    ]);
    let mut out = Vec::new();
    let summary = run_sap(&src, false, &mut out).await.unwrap();
    let printed = String::from_utf8(out).unwrap();
    println!("--- run_sap with SAP_URL\n{printed}");
    assert_eq!(summary.created, 8);
    assert!(printed.starts_with(&format!("SAP Service Layer {}, company SBODEMOUS\n", sap.base_url())), "{printed}");
    assert_eq!(sap.user_fields().len(), 8);
    assert_eq!(sap.active_sessions(), 0, "the session was closed");
}

#[tokio::test]
async fn the_password_can_come_from_the_secret_sap_secret_id_names() {
    let sap = SapSandbox::start(SapOptions { udfs_installed: false, ..SapOptions::default() }).await.unwrap();
    let secrets = EmbeddedSecrets::new().with("b1force/sap", &json!({"password": sap.password()}).to_string());
    let src = settings(&[
        ("SAP_URL", sap.base_url()),
        ("SAP_COMPANY_DB", sap.company_db().into()),
        ("SAP_USER", sap.user().into()),
        ("SAP_PASSWORD", "not-the-password".into()),
        ("SAP_SECRET_ID", "b1force/sap".into()),
    ]);
    let client = sap_client(std::sync::Arc::new(secrets), &src).await.unwrap();
    let (result, _) = setup(&client, true).await;
    assert_eq!(result.unwrap().to_create, 8, "logged in with the secret's password");
}

#[tokio::test]
async fn without_sap_url_it_runs_on_a_sandbox_unless_other_sap_settings_show_a_real_server_was_meant() {
    let mut out = Vec::new();
    let summary = run_sap(&HashMap::new(), false, &mut out).await.unwrap();
    let printed = String::from_utf8(out).unwrap();
    assert!(printed.starts_with("SAP_URL is not set: using an in-process SAP sandbox"), "{printed}");
    assert_eq!(summary.created, 8);

    let mut out = Vec::new();
    let refused = run_sap(&settings(&[("SAP_USER", "manager".into())]), false, &mut out).await.unwrap_err();
    assert!(refused.to_string().starts_with("SAP_USER is set but SAP_URL is not"), "{refused}");
    assert!(out.is_empty(), "nothing printed, nothing run");
}
