//! `b1force check --mapping`: the shipped mapping passes, each broken fixture fails with its exact
//! line, column and reason, and every field the shipped mapping reads exists in the sandboxes.

use b1force_cli::check::run_mapping;
use sandbox::{SalesforceOptions, SalesforceSandbox, SapOptions, SapSandbox};
use serde_json::Value;
use shared::mapping::file::{FlowMapping, MappingFile, RowSource};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mapping").join(name)
}

/// The error lines `check` prints for a fixture, with the path shortened to the file name.
fn problems(name: &str) -> Vec<String> {
    let path = fixture(name);
    let error = run_mapping(Some(&path)).expect_err("a broken fixture must fail the check");
    let prefix = format!("{}:", path.display());
    error.to_string().lines().map(|line| line.replacen(&prefix, &format!("{name}:"), 1)).collect()
}

#[test]
fn the_shipped_mapping_passes_and_the_report_lists_every_flow() {
    let report = run_mapping(None).expect("the shipped mapping is valid");
    for flow in ["F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8"] {
        assert!(report.contains(&format!("\n  {flow} ")), "{flow} missing from:\n{report}");
    }
    assert!(report.contains("Account <-> BusinessPartners"), "{report}");
    let repo_copy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mapping.toml");
    let from_disk = run_mapping(Some(&repo_copy)).expect("the repository's mapping.toml is valid");
    assert_eq!(from_disk.lines().skip(1).collect::<Vec<_>>(), report.lines().skip(1).collect::<Vec<_>>());
}

#[test]
fn each_broken_fixture_fails_with_its_line_and_reason() {
    let expected = [
        ("syntax_error.toml", "syntax_error.toml:6:31: TOML syntax: invalid basic string, expected `\"`"),
        ("unknown_field.toml", "unknown_field.toml:8:18: unknown field `Phone_Number` on Salesforce object Account"),
        (
            "type_mismatch.toml",
            "type_mismatch.toml:9:47: type mismatch: Account.SAP_Credit_Alert__c is boolean but \
             BusinessPartners.CreditLimit is number; add a value_map or pair fields of the same type",
        ),
        (
            "duplicate_target.toml",
            "duplicate_target.toml:9:39: BusinessPartners.Phone1 is already written from Salesforce by the entry on line 8",
        ),
        (
            "bad_value_map.toml",
            "bad_value_map.toml:8:108: value_map is not one-to-one: \"Open\" and \"In Progress\" both map to \
             \"bost_Open\", so SAP values cannot be mapped back",
        ),
        (
            "read_only_target.toml",
            "read_only_target.toml:8:42: BusinessPartners.CurrentAccountBalance is read-only in SAP, so Salesforce \
             cannot write it (owner = \"salesforce\"); make the owner \"sap\"",
        ),
        (
            "unknown_owner.toml",
            "unknown_owner.toml:9:70: owner must be \"salesforce\", \"sap\" or \"both\" (newer wins), not \"erp\"",
        ),
    ];
    for (name, line) in expected {
        assert_eq!(problems(name), [line], "{name}");
    }
}

#[test]
fn every_problem_in_a_file_is_reported_in_order() {
    assert_eq!(
        problems("many_problems.toml"),
        [
            "many_problems.toml:2:11: unsupported mapping version 2; this build reads version 1",
            "many_problems.toml:4:8: unknown flow `F9`; flows are F1 to F8",
            "many_problems.toml:8:21: unknown Salesforce object `Acount`",
            "many_problems.toml:11:32: unknown field `CardNam` on SAP entity BusinessPartners",
            "many_problems.toml:18:72: value_map is empty; remove it or list Salesforce value = SAP value pairs",
            "many_problems.toml:19:66: unknown key `colour` in a field entry; expected one of: salesforce, sap, \
             owner, value_map, default, kind",
        ]
    );
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let error = run_mapping(Some(Path::new("/nonexistent/mapping.toml"))).unwrap_err().to_string();
    assert!(error.starts_with("/nonexistent/mapping.toml:1:1: "), "{error}");
}

/// Objects neither sandbox has: B1Force's custom invoice object and Revenue Cloud's Invoice.
const NOT_IN_SALESFORCE_SANDBOX: [&str; 2] = ["SAP_Invoice__c", "Invoice"];

/// Every (object, fields) the shipped mapping reads from Salesforce, and (entity, properties) from SAP.
fn reads(flow: &FlowMapping, salesforce: &mut Vec<(String, Vec<String>)>, sap: &mut Vec<(String, Vec<String>)>) {
    let owned = |names: Vec<&str>| names.into_iter().map(String::from).collect::<Vec<_>>();
    salesforce.push((flow.salesforce_object.clone(), owned(flow.salesforce_fields())));
    sap.push((flow.sap_entity.clone(), owned(flow.sap_fields())));
    for collection in &flow.collections {
        if let RowSource::Children { salesforce_object, matched_by, .. } = &collection.source {
            let mut fields = vec![matched_by.salesforce.clone()];
            fields.extend(collection.fields.iter().map(|f| f.salesforce.clone()));
            salesforce.push((salesforce_object.clone(), fields));
        }
    }
    for related in &flow.related {
        reads(related, salesforce, sap);
    }
}

#[tokio::test]
async fn every_field_the_shipped_mapping_reads_exists_in_the_sandboxes() {
    let sf = SalesforceSandbox::start(SalesforceOptions::default()).await.unwrap();
    let sap = SapSandbox::start(SapOptions::default()).await.unwrap();
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{}/services/oauth2/token", sf.login_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", sf.client_id()),
            ("client_secret", sf.client_secret()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let login: Value = http
        .post(format!("{}/Login", sap.base_url()))
        .json(&serde_json::json!({"CompanyDB": sap.company_db(), "UserName": sap.user(), "Password": sap.password()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session = format!("B1SESSION={}", login["SessionId"].as_str().unwrap());

    let (mut salesforce_reads, mut sap_reads) = (Vec::new(), Vec::new());
    for flow in MappingFile::shipped().flows() {
        reads(flow, &mut salesforce_reads, &mut sap_reads);
    }
    let mut failures = Vec::new();
    for (object, fields) in salesforce_reads.iter().filter(|(o, _)| !NOT_IN_SALESFORCE_SANDBOX.contains(&o.as_str())) {
        let soql = format!("SELECT {} FROM {object} LIMIT 1", fields.join(", "));
        let answer = http
            .get(format!("{}/services/data/v63.0/query", token["instance_url"].as_str().unwrap()))
            .query(&[("q", &soql)])
            .bearer_auth(token["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        if !answer.status().is_success() {
            failures.push(format!("Salesforce {soql}: {}", answer.text().await.unwrap()));
        }
    }
    for (entity, properties) in &sap_reads {
        let answer = http
            .get(format!("{}/{entity}", sap.base_url()))
            .query(&[("$select", properties.join(",").as_str()), ("$top", "1")])
            .header("Cookie", &session)
            .send()
            .await
            .unwrap();
        if !answer.status().is_success() {
            failures.push(format!("SAP {entity} $select={}: {}", properties.join(","), answer.text().await.unwrap()));
        }
    }
    assert!(failures.is_empty(), "the shipped mapping reads fields the sandboxes lack:\n{}", failures.join("\n"));
}
