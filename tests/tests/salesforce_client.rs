//! The Salesforce client against the in-process Salesforce sandbox, plus the sandbox's own wire behaviour.

use sandbox::{FaultConfig, SalesforceOptions, SalesforceSandbox};
use serde_json::{Value, json};
use shared::Error;
use shared::config::SalesforceConfig;
use shared::domain::{CardCode, OrderRef, OrderWriteBack, SalesforceId};
use shared::embedded::EmbeddedSecrets;
use shared::flows::f1_orders::opportunity_read;
use shared::mapping::f1;
use shared::mapping::file::MappingFile;
use shared::ports::{CredentialSource, OpportunityRead, SalesforceReads, SalesforceUpdates};
use shared::salesforce::{SalesforceClient, soql};
use shared::secrets::SecretField;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

async fn start() -> SalesforceSandbox {
    SalesforceSandbox::start(SalesforceOptions::default()).await.expect("sandbox starts")
}

fn config(sb: &SalesforceSandbox, secret: &str) -> SalesforceConfig {
    let source: HashMap<String, String> = [
        ("SF_LOGIN_URL", sb.login_url()),
        ("SF_CLIENT_ID", sb.client_id().to_string()),
        ("SF_CLIENT_SECRET", secret.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    SalesforceConfig::from_source(&source).expect("config")
}

fn client(sb: &SalesforceSandbox) -> SalesforceClient {
    SalesforceClient::new(config(sb, sb.client_secret())).expect("client")
}

fn id(raw: &str) -> SalesforceId {
    SalesforceId::parse(raw).expect("valid id")
}

/// What the shipped mapping's F1 section reads.
fn f1_read() -> OpportunityRead {
    opportunity_read(&MappingFile::shipped()).expect("the shipped file has F1")
}

/// The id of the seeded account with this CardCode (or name, for prospects).
fn account(sb: &SalesforceSandbox, key: &str) -> String {
    sb.records("Account")
        .into_iter()
        .find(|a| a["SAP_CardCode__c"] == key || a["Name"] == key)
        .and_then(|a| a["Id"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no account {key}"))
}

fn calls(sb: &SalesforceSandbox, endpoint: &str) -> u64 {
    sb.calls().snapshot().get(endpoint).copied().unwrap_or(0)
}

#[tokio::test]
async fn one_token_is_requested_and_reused_by_concurrent_calls_and_clones() {
    let sb = start().await;
    let sf = client(&sb);
    let queries = (0..5).map(|_| {
        let sf = sf.clone();
        async move { sf.query_all("SELECT Id FROM Account LIMIT 3").await }
    });
    for result in futures::future::join_all(queries).await {
        assert_eq!(result.unwrap().len(), 3);
    }
    assert_eq!(sf.stats().token_requests, 1);
    assert_eq!(sf.stats().requests, 5);
    assert_eq!(calls(&sb, "POST /services/oauth2/token"), 1);
}

#[tokio::test]
async fn an_expired_token_costs_one_login_and_no_failed_call() {
    let sb = start().await;
    let sf = client(&sb);
    sf.query_all("SELECT Id FROM Account LIMIT 1").await.unwrap();
    sb.expire_tokens();
    let queries = (0..4).map(|_| {
        let sf = sf.clone();
        async move { sf.query_all("SELECT Id FROM Product2 LIMIT 1").await }
    });
    for result in futures::future::join_all(queries).await {
        result.expect("every call succeeds after the re-login");
    }
    assert_eq!(sf.stats().token_requests, 2, "concurrent 401s share one re-login");

    sb.faults().set(FaultConfig { expire_sessions_every: Some(3), ..FaultConfig::default() });
    for _ in 0..10 {
        sf.query_all("SELECT Id FROM Account LIMIT 1").await.expect("no call fails while sessions keep expiring");
    }
    assert!(sf.stats().token_requests >= 4, "sessions expired and were renewed: {:?}", sf.stats());
}

#[tokio::test]
async fn wrong_client_credentials_are_a_configuration_error_naming_the_settings() {
    let sb = start().await;
    let sf = SalesforceClient::new(config(&sb, "not-the-secret")).unwrap();
    let err = sf.query_all("SELECT Id FROM Account").await.unwrap_err();
    assert!(
        matches!(&err, Error::Salesforce { code, message, .. }
            if code == "LOGIN_REFUSED" && message.contains("invalid_client") && message.contains("SF_CLIENT_ID")),
        "{err:?}"
    );
    // Not the record's fault: the work stays queued (never dead-lettered) and an alarm is raised.
    assert!(err.is_configuration());
    assert_eq!(calls(&sb, "GET query"), 0);
}

/// The connected app's secret as `SF_SECRET_ID` holds it, in an embedded secret store.
fn secret_holding(client_secret: &str) -> Arc<dyn CredentialSource> {
    let store = EmbeddedSecrets::new().with("b1force/salesforce", &json!({"client_secret": client_secret}).to_string());
    Arc::new(SecretField {
        store: Arc::new(store),
        secret_id: "b1force/salesforce".into(),
        field: "client_secret".into(),
    })
}

#[tokio::test]
async fn a_refused_login_re_reads_the_secret_and_a_rotated_one_logs_in_while_an_unchanged_one_is_believed() {
    let sb = start().await;
    // Rotated: the container still holds the old secret, Secrets Manager has the new one.
    let rotated = SalesforceClient::new(config(&sb, "the-old-secret"))
        .unwrap()
        .with_credentials(secret_holding(sandbox::salesforce::CLIENT_SECRET));
    rotated.query_all("SELECT Id FROM Account").await.expect("logged in with the re-read secret");
    assert_eq!(rotated.stats().token_requests, 2, "one refused, one with the fresh secret");
    // Wrong in Secrets Manager too: one re-read, no second token request, a configuration error.
    let wrong = SalesforceClient::new(config(&sb, "wrong")).unwrap().with_credentials(secret_holding("wrong"));
    let err = wrong.query_all("SELECT Id FROM Account").await.unwrap_err();
    assert!(err.is_configuration(), "{err:?}");
    assert_eq!(wrong.stats().token_requests, 1);
}

#[tokio::test]
async fn query_all_follows_next_records_url_in_pages_of_the_batch_size() {
    let sb = start().await;
    let created: HashSet<String> = sb.seed_closed_won(300).into_iter().collect();
    assert_eq!(created.len(), 300);
    let won = sb.records("Opportunity").iter().filter(|o| o["IsWon"] == true).count();
    let sf = client(&sb).with_query_batch_size(200);
    let records = sf.query_all("SELECT Id, Name FROM Opportunity WHERE IsWon = true ORDER BY Name").await.unwrap();
    assert_eq!(records.len(), won);
    let ids: HashSet<String> = records.iter().map(|r| r["Id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), won, "no record repeated across pages");
    assert!(created.is_subset(&ids));
    assert_eq!(calls(&sb, "GET query"), won.div_ceil(200) as u64);
}

#[tokio::test]
async fn opportunities_come_back_with_their_lines_and_the_account_card_code() {
    let sb = start().await;
    let account_id = account(&sb, "C20003");
    let opportunity = sb.create_opportunity(&account_id, "Closed Won", &["A00001", "A00005", "Z99999"]);
    let missing = id("006SB00000zzzzz");
    let second_line = sb
        .records("OpportunityLineItem")
        .into_iter()
        .find(|l| l["OpportunityId"] == opportunity.as_str() && l["ProductCode"] == "A00005")
        .and_then(|l| l["Id"].as_str().map(String::from))
        .expect("the A00005 line");
    sb.update_record("OpportunityLineItem", &second_line, json!({"Discount": 12.5, "ServiceDate": "2026-12-15"}))
        .unwrap();
    let sf = client(&sb);

    let snapshots = sf.opportunities(&[id(&opportunity), missing], &f1_read()).await.unwrap();

    assert_eq!(snapshots.len(), 1, "a missing id is simply absent");
    let snapshot = &snapshots[0];
    assert_eq!(snapshot.id.as_str(), opportunity);
    assert!(snapshot.is_won);
    assert_eq!(snapshot.account_id.as_ref().map(SalesforceId::as_str), Some(account_id.as_str()));
    assert_eq!(snapshot.account_name.as_deref(), Some("Tailspin Traders"));
    assert_eq!(snapshot.account_card_code.as_deref(), Some("C20003"));
    assert_eq!(snapshot.fields["SAP_DocEntry__c"], Value::Null, "the mapped write-back field is read, still empty");
    let codes: Vec<_> = snapshot.lines.iter().map(|l| l.sap_item_code.as_deref()).collect();
    assert_eq!(codes, vec![Some("A00001"), Some("A00005"), Some("Z99999")]);
    assert_eq!(snapshot.lines[1].unit_price, 50.0 + 25.0 * 4.0);
    assert_eq!(snapshot.lines[1].quantity, 2.0);
    let mapped = &snapshot.lines[1].fields;
    assert_eq!((&mapped["Discount"], &mapped["ServiceDate"]), (&json!(12.5), &json!("2026-12-15")));
    assert_eq!(mapped["Id"], second_line.as_str(), "the line's match id");
    assert_eq!(snapshot.lines[0].fields["Discount"], Value::Null);
    assert_eq!(calls(&sb, "GET query"), 1, "one query for opportunities, accounts and lines");
}

#[tokio::test]
async fn the_mapped_write_back_sets_the_sync_fields_and_tags_the_change_with_our_client() {
    let sb = start().await;
    let opportunity = sb.seed_closed_won(1).remove(0);
    let sf = client(&sb);
    let mapping = MappingFile::shipped();
    let flow = mapping.flow("F1").unwrap();
    let synced =
        OrderWriteBack { order: Some(OrderRef { doc_entry: 77, doc_num: 1077 }), status: "Synced", error: None };
    let fields = f1::write_back(flow, &synced, "2026-11-25T10:00:00.000Z");

    sf.update_record("Opportunity", &id(&opportunity), &fields).await.unwrap();

    let record = sb.record("Opportunity", &opportunity).unwrap();
    assert_eq!(record["SAP_DocEntry__c"].as_f64(), Some(77.0));
    assert_eq!(record["SAP_DocNum__c"].as_f64(), Some(1077.0));
    assert_eq!(record["SAP_Sync_Status__c"], "Synced");
    assert_eq!(record["SAP_Sync_Error__c"], Value::Null);
    assert!(record["SAP_Synced_At__c"].as_str().is_some_and(|t| t.ends_with("+0000")));
    let change = sb.changes().into_iter().last().unwrap();
    assert_eq!(
        (change.entity.as_str(), change.record_id.as_str(), change.change_type.as_str()),
        ("Opportunity", opportunity.as_str(), "UPDATE")
    );
    assert_eq!(change.change_origin, format!("com/salesforce/api/rest/63.0;client={}", shared::ECHO_CLIENT_TAG));
    assert!(change.changed_fields.contains(&"SAP_DocEntry__c".to_string()));
    let snapshot = sf.opportunities(&[id(&opportunity)], &f1_read()).await.unwrap().remove(0);
    assert_eq!(f1::linked_doc_entry(&snapshot, flow), Some(77));

    let prospect = account(&sb, "Prospect 1 GmbH");
    sf.set_account_card_code(&id(&prospect), &CardCode::parse("C90001").unwrap()).await.unwrap();
    assert_eq!(sb.record("Account", &prospect).unwrap()["SAP_CardCode__c"], "C90001");
    assert!(sb.changes().last().unwrap().change_origin.ends_with(";client=b1force"));
}

#[tokio::test]
async fn collection_upsert_of_450_accounts_takes_three_calls_and_only_bad_records_fail() {
    let sb = start().await;
    let sf = client(&sb);
    let mut records: Vec<Value> =
        (0..450).map(|i| json!({"SAP_CardCode__c": format!("C3{i:04}"), "Name": format!("Bulk {i}")})).collect();
    records[0] = json!({"SAP_CardCode__c": "C20000", "Phone": "+49 30 1234567"});
    records[17] = json!({"SAP_CardCode__c": "C30017", "Name": "Typo", "Nmae": "x"});
    records[321] = json!({"SAP_CardCode__c": "C30321", "Name": null});

    let results = sf.collection_upsert("Account", "SAP_CardCode__c", &records).await.unwrap();

    assert_eq!(results.len(), 450);
    assert_eq!(calls(&sb, "PATCH composite/sobjects/Account"), 3);
    let failed: Vec<(usize, String)> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.success)
        .map(|(i, r)| (i, r.errors[0].status_code.clone()))
        .collect();
    assert_eq!(failed, vec![(17, "INVALID_FIELD".to_string()), (321, "REQUIRED_FIELD_MISSING".to_string())]);
    assert_eq!(results[0].created, Some(false), "an existing CardCode is updated");
    assert!(results.iter().enumerate().filter(|(i, r)| r.success && *i != 0).all(|(_, r)| r.created == Some(true)));
    assert!(!results[17].error().unwrap().is_retryable());
    assert_eq!(sb.records("Account").len(), 60 + 447);
    assert_eq!(sb.record("Account", &account(&sb, "C20000")).unwrap()["Phone"], "+49 30 1234567");
}

#[tokio::test]
async fn request_limit_exceeded_is_retryable_and_usage_is_parsed() {
    let sb = start().await;
    let sf = client(&sb);
    assert_eq!(sf.api_usage(), None);
    sb.set_api_usage(4_999, 5_000);
    sf.query_all("SELECT Id FROM Account LIMIT 1").await.unwrap();
    assert_eq!(sf.api_usage(), Some((5_000, 5_000)));

    let err = sf.query_all("SELECT Id FROM Account LIMIT 1").await.unwrap_err();

    assert!(matches!(&err, Error::Salesforce { status: 403, code, .. } if code == "REQUEST_LIMIT_EXCEEDED"), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(calls(&sb, "GET query"), 2, "the client does not retry a spent budget");
}

#[tokio::test]
async fn idempotent_writes_are_retried_twice_on_server_errors_but_creates_never() {
    let sb = start().await;
    let opportunity = sb.seed_closed_won(1).remove(0);
    let sf = client(&sb);
    sf.query_all("SELECT Id FROM Account LIMIT 1").await.unwrap();
    sb.faults().set(FaultConfig { error_rate: 1.0, ..FaultConfig::default() });

    let err = sf.update("Opportunity", &id(&opportunity), &json!({"Description": "x"})).await.unwrap_err();
    assert!(matches!(&err, Error::Salesforce { status: 503, .. }) && err.is_retryable(), "{err:?}");
    assert_eq!(calls(&sb, "PATCH sobjects/Opportunity"), 3);

    let err = sf.create("Account", &json!({"Name": "Once"})).await.unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(calls(&sb, "POST sobjects/Account"), 1);

    sb.faults().set(FaultConfig { lock_row_rate: 1.0, ..FaultConfig::default() });
    let err = sf.update("Opportunity", &id(&opportunity), &json!({"Description": "x"})).await.unwrap_err();
    assert_eq!(err.code(), "UNABLE_TO_LOCK_ROW");
    assert!(err.is_retryable());
    assert_eq!(calls(&sb, "PATCH sobjects/Opportunity"), 6);
}

#[tokio::test]
async fn an_id_or_name_carrying_query_syntax_is_rejected_before_any_call() {
    let sb = start().await;
    let sf = client(&sb);
    let err = SalesforceId::parse("006' OR Name != '").unwrap_err();
    assert!(matches!(err, Error::Invalid(_)));
    let err = sf.get_record("Account' OR Id != '", &id("001SB0000000001"), &[]).await.unwrap_err();
    assert!(matches!(err, Error::Invalid(_)));
    let err = sf.upsert("Account", "SAP_CardCode__c/../Id", "C1", &json!({})).await.unwrap_err();
    assert!(matches!(err, Error::Invalid(_)));
    assert_eq!(sb.calls().total(), 0, "nothing reached Salesforce, not even a login");
}

#[tokio::test]
async fn a_quoted_literal_with_quote_and_backslash_round_trips_as_data() {
    let sb = start().await;
    let sf = client(&sb);
    let name = r#"O'Brien \ Sons "Ltd" ' OR Name != ''"#;
    let created = sf.upsert("Account", "SAP_CardCode__c", "C 1/2", &json!({"Name": name})).await.unwrap();
    assert!(created.created);
    let again = sf.upsert("Account", "SAP_CardCode__c", "C 1/2", &json!({"Phone": "1"})).await.unwrap();
    assert_eq!((again.id.as_str(), again.created), (created.id.as_str(), false));

    let found = sf
        .query_all(&format!("SELECT Id, Name, SAP_CardCode__c FROM Account WHERE Name = {}", soql::quote(name)))
        .await
        .unwrap();

    assert_eq!(found.len(), 1, "the literal matched exactly the one record");
    assert_eq!(found[0]["Name"], name);
    assert_eq!(found[0]["SAP_CardCode__c"], "C 1/2", "the external id was path-encoded as one segment");
    let injected =
        sf.query_all(&format!("SELECT Id FROM Account WHERE Name = {}", soql::quote("x' OR Name != '"))).await.unwrap();
    assert!(injected.is_empty());
}

#[tokio::test]
async fn get_record_reads_selected_fields_and_reports_a_missing_record_as_none() {
    let sb = start().await;
    let sf = client(&sb);
    let record =
        sf.get_record("Account", &id(&account(&sb, "C20001")), &["Name", "SAP_CardCode__c"]).await.unwrap().unwrap();
    assert_eq!(
        (record["Name"].as_str(), record["SAP_CardCode__c"].as_str()),
        (Some("Contoso Traders"), Some("C20001"))
    );
    assert!(record.get("Phone").is_none());
    assert_eq!(sf.get_record("Account", &id("001SB00000zzzzz"), &[]).await.unwrap(), None);
}

#[tokio::test]
async fn collection_update_reports_per_record_lock_errors_with_their_status_code() {
    let sb = start().await;
    let ids = sb.seed_closed_won(3);
    let sf = client(&sb);
    sf.query_all("SELECT Id FROM Account LIMIT 1").await.unwrap();
    sb.faults().set(FaultConfig { lock_row_rate: 1.0, ..FaultConfig::default() });
    let records: Vec<Value> =
        ids.iter().map(|i| json!({"attributes": {"type": "Opportunity"}, "Id": i, "Description": "bulk"})).collect();

    let results = sf.collection_update(&records).await.unwrap();

    assert!(results.iter().all(|r| !r.success && r.errors[0].status_code == "UNABLE_TO_LOCK_ROW"));
    assert!(results[0].error().unwrap().is_retryable());
    sb.faults().set(FaultConfig::default());
    let results = sf.collection_update(&records).await.unwrap();
    assert!(results.iter().all(|r| r.success));
    assert_eq!(sb.record("Opportunity", &ids[2]).unwrap()["Description"], "bulk");
}

// ---- the sandbox's wire behaviour, with a plain HTTP client ------------------------------------

async fn token(sb: &SalesforceSandbox) -> String {
    let reply: Value = reqwest::Client::new()
        .post(format!("{}/services/oauth2/token", sb.login_url()))
        .basic_auth(sb.client_id(), Some(sb.client_secret()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["token_type"], "Bearer");
    assert_eq!(reply["instance_url"], sb.login_url());
    assert!(reply["issued_at"].is_string() && reply.get("expires_in").is_none());
    assert!(reply["id"].as_str().unwrap().starts_with("https://login.salesforce.com/id/00D"));
    reply["access_token"].as_str().unwrap().to_string()
}

async fn call(
    sb: &SalesforceSandbox,
    token: &str,
    method: reqwest::Method,
    tail: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}/services/data/v63.0/{tail}", sb.login_url()))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(response.headers().contains_key("sforce-limit-info"), "every response carries Sforce-Limit-Info");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_sandbox_accepts_a_chunked_token_request_with_form_credentials() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sb = start().await;
    let body =
        format!("grant_type=client_credentials&client_id={}&client_secret={}", sb.client_id(), sb.client_secret());
    let request = format!(
        "POST /services/oauth2/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", sb.port())).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("\"access_token\":\"00D"));
}

#[tokio::test]
async fn the_sandbox_answers_errors_as_salesforce_error_arrays() {
    let sb = start().await;
    let (status, body) = call(&sb, "bogus", reqwest::Method::GET, "limits", None).await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (401, Some("INVALID_SESSION_ID")));
    let token = token(&sb).await;
    let (status, body) = call(&sb, &token, reqwest::Method::GET, "query?q=SELECT+Id,+XName+FROM+Account", None).await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (400, Some("INVALID_FIELD")));
    assert!(body[0]["message"].as_str().unwrap().starts_with("No such column 'XName' on entity 'Account'"));
    let (status, body) =
        call(&sb, &token, reqwest::Method::GET, "query/?q=SELECT%20Id%20FROM%20Account%20WHERE", None).await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (400, Some("MALFORMED_QUERY")));
    let opportunity = sb.seed_closed_won(1).remove(0);
    let (status, body) = call(
        &sb,
        &token,
        reqwest::Method::PATCH,
        &format!("sobjects/Opportunity/{opportunity}"),
        Some(json!({"IsWon": false})),
    )
    .await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (400, Some("INVALID_FIELD_FOR_INSERT_UPDATE")));
    let (status, body) = call(&sb, &token, reqwest::Method::GET, "sobjects/Account/001bad", None).await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (400, Some("MALFORMED_ID")));
    let (status, body) =
        call(&sb, &token, reqwest::Method::PATCH, "sobjects/Account/Name/Acme", Some(json!({"Phone": "1"}))).await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (404, Some("NOT_FOUND")));
    let (status, body) = call(&sb, &token, reqwest::Method::GET, "limits", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["DailyApiRequests"]["Max"], 100_000);
}

#[tokio::test]
async fn upsert_answers_201_then_200_and_300_when_the_external_id_is_ambiguous() {
    let sb = start().await;
    let token = token(&sb).await;
    let path = "sobjects/Contact/SAP_ContactCode__c/900";
    let upsert = || call(&sb, &token, reqwest::Method::PATCH, path, Some(json!({"LastName": "Meyer"})));
    let (status, first) = upsert().await;
    assert_eq!((status, first["created"].as_bool()), (201, Some(true)));
    let (status, second) = upsert().await;
    assert_eq!((status, second["created"].as_bool(), second["id"].clone()), (200, Some(false), first["id"].clone()));
    let (status, _) = call(
        &sb,
        &token,
        reqwest::Method::POST,
        "sobjects/Contact",
        Some(json!({"LastName": "Twin", "SAP_ContactCode__c": "900"})),
    )
    .await;
    assert_eq!(status, 201, "SAP_ContactCode__c is an external id without Unique");
    let (status, body) = upsert().await;
    assert_eq!(status, 300);
    assert_eq!(body.as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn all_or_none_collections_roll_back_every_record_when_one_fails() {
    let sb = start().await;
    let token = token(&sb).await;
    let records = json!([
        {"attributes": {"type": "Account"}, "SAP_CardCode__c": "C40001", "Name": "Fine"},
        {"attributes": {"type": "Account"}, "SAP_CardCode__c": "C40002", "IsDeleted": true},
    ]);
    let (status, body) = call(
        &sb,
        &token,
        reqwest::Method::PATCH,
        "composite/sobjects/Account/SAP_CardCode__c",
        Some(json!({"allOrNone": true, "records": records})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body[0]["errors"][0]["statusCode"], "ALL_OR_NONE_OPERATION_ROLLED_BACK");
    assert_eq!(body[1]["errors"][0]["statusCode"], "INVALID_FIELD_FOR_INSERT_UPDATE");
    assert!(sb.records("Account").iter().all(|a| a["SAP_CardCode__c"] != "C40001"), "nothing was applied");
    let too_many: Vec<Value> =
        (0..201).map(|i| json!({"attributes": {"type": "Account"}, "Name": format!("N{i}")})).collect();
    let (status, body) =
        call(&sb, &token, reqwest::Method::POST, "composite/sobjects", Some(json!({"records": too_many}))).await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (400, Some("EXCEEDED_ID_LIMIT")));
}
