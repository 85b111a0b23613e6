//! The SAP client against the in-process Service Layer sandbox: sessions, paging, escaping,
//! retries, F1 operations; and the sandbox's own wire behaviour as other clients see it.

use sandbox::{FaultConfig, SapOptions, SapSandbox};
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::domain::{
    CardCode, ItemCode, NewBusinessPartner, NewSalesOrder, OrderDraft, Record, SalesOrderLine, SalesforceId,
    SapOrderFor,
};
use shared::embedded::EmbeddedSecrets;
use shared::error::Error;
use shared::ports::{CredentialSource, SapOrders};
use shared::sap::SapClient;
use shared::sap::odata::{Filter, Property, Query};
use shared::sap::schema;
use shared::secrets::SecretField;
use std::collections::BTreeSet;
use std::sync::Arc;

async fn sandbox() -> SapSandbox {
    SapSandbox::start(SapOptions::default()).await.expect("the SAP sandbox starts")
}

fn config(sap: &SapSandbox, page_size: u32, udf: Option<&str>) -> shared::config::SapConfig {
    shared::config::SapConfig {
        base_url: sap.base_url(),
        company_db: sap.company_db().into(),
        user: sap.user().into(),
        password: SecretString::from(sap.password()),
        ca_bundle_pem: None,
        order_reference_udf: udf.map(str::to_string),
        page_size,
        timeout_secs: 10,
    }
}

fn client(sap: &SapSandbox) -> SapClient {
    SapClient::new(config(sap, 20, Some("U_SF_OpportunityId"))).unwrap()
}

fn logins(sap: &SapSandbox) -> u64 {
    sap.calls().snapshot().get("POST /Login").copied().unwrap_or(0)
}

fn opportunity(n: u32) -> SalesforceId {
    SalesforceId::parse(&format!("006SM{n:010}")).unwrap()
}

fn record(value: Value) -> Record {
    value.as_object().cloned().unwrap()
}

fn order(opportunity: &SalesforceId, item: &str) -> NewSalesOrder {
    NewSalesOrder {
        card_code: CardCode::parse("C20003").unwrap(),
        opportunity_id: opportunity.clone(),
        doc_date: "2025-06-01".into(),
        doc_due_date: "2025-06-30".into(),
        comments: "Closed Won in Salesforce".into(),
        mapped: Record::new(),
        lines: vec![
            SalesOrderLine {
                item_code: ItemCode::parse("A00001").unwrap(),
                quantity: 2.0,
                unit_price: 50.0,
                mapped: record(json!({"DiscountPercent": 10.0, "ShipDate": "2025-06-15"})),
            },
            SalesOrderLine {
                item_code: ItemCode::parse(item).unwrap(),
                quantity: 1.0,
                unit_price: 99.5,
                mapped: record(json!({"ItemDescription": "Special"})),
            },
        ],
    }
}

#[tokio::test]
async fn one_login_serves_many_calls() {
    let sap = sandbox().await;
    let client = client(&sap);
    for i in 0..10 {
        let code = CardCode::parse(&format!("C{}", 20000 + i)).unwrap();
        assert!(client.business_partner_exists(&code).await.unwrap());
    }
    client.query("Items", &Query::new().select(["ItemCode"])).await.unwrap();
    assert_eq!(logins(&sap), 1);
    assert_eq!(client.stats().logins, 1);
    assert_eq!(client.stats().requests, 12, "10 reads + 2 pages of 40 items");
}

#[tokio::test]
async fn an_expired_session_costs_one_relogin_and_no_failed_call() {
    let sap = sandbox().await;
    let client = client(&sap);
    client.get("BusinessPartners('C20000')").await.unwrap();
    sap.expire_sessions();
    let bp = client.get("BusinessPartners('C20001')").await.unwrap();
    assert_eq!(bp["CardName"], "Contoso Traders");
    assert_eq!(logins(&sap), 2);
}

#[tokio::test]
async fn twenty_concurrent_401s_cause_a_single_relogin() {
    let sap = sandbox().await;
    let client = client(&sap);
    client.get("Items('A00001')").await.unwrap();
    sap.expire_sessions();
    let reads = (0..20).map(|i| {
        let client = client.clone();
        async move { client.get(&format!("BusinessPartners('C{}')", 20000 + i)).await }
    });
    let results = futures::future::join_all(reads).await;
    assert!(results.iter().all(Result::is_ok), "{:?}", results.iter().find(|r| r.is_err()));
    assert_eq!(logins(&sap), 2, "one login at start, one after the expiry");
}

#[tokio::test]
async fn sessions_expiring_every_few_requests_never_fail_a_call() {
    let sap = sandbox().await;
    sap.faults().set(FaultConfig { expire_sessions_every: Some(3), ..FaultConfig::default() });
    let client = client(&sap);
    for i in 0..9 {
        client.get(&format!("Items('A{:05}')", i + 1)).await.unwrap();
    }
    assert_eq!(logins(&sap), 3, "a new session after every third request");
}

#[tokio::test]
async fn paging_with_seven_rows_a_page_returns_all_fifty_partners_once() {
    let sap = sandbox().await;
    let client = SapClient::new(config(&sap, 7, None)).unwrap();
    let rows = client.query("BusinessPartners", &Query::new().select(["CardCode", "CardName"])).await.unwrap();
    let codes: BTreeSet<&str> = rows.iter().filter_map(|r| r["CardCode"].as_str()).collect();
    assert_eq!((rows.len(), codes.len()), (50, 50));
    assert_eq!(sap.calls().snapshot()["GET /BusinessPartners"], 8, "ceil(50 / 7) pages");
    assert!(rows.iter().all(|r| r.get("CreditLimit").is_none()), "$select survives the nextLinks");
}

#[tokio::test]
async fn paging_keeps_the_filter_and_order_across_pages() {
    let sap = sandbox().await;
    let client = SapClient::new(config(&sap, 4, None)).unwrap();
    let query = Query::new()
        .filter(Filter::ge(&"QuantityOnStock".into(), schema::literal(&"QuantityOnStock".into(), "100").unwrap()))
        .select(["ItemCode", "QuantityOnStock"])
        .order_by("QuantityOnStock", false)
        .order_by("ItemCode", true);
    let rows = client.query("Items", &query).await.unwrap();
    let stock: Vec<f64> = rows.iter().map(|r| r["QuantityOnStock"].as_f64().unwrap()).collect();
    let expected = sap_items_with_stock_at_least(100.0);
    assert_eq!(stock.len(), expected);
    assert!(expected > 4, "needs more than one page to mean anything");
    assert!(stock.windows(2).all(|w| w[0] >= w[1]), "descending: {stock:?}");
}

fn sap_items_with_stock_at_least(min: f64) -> usize {
    (0..40).filter(|i| ((i * 17) % 200) as f64 >= min).count()
}

#[tokio::test]
async fn a_value_with_quotes_is_one_literal_and_cannot_widen_the_filter() {
    let sap = sandbox().await;
    let client = client(&sap);
    let tricky = "O'Neil' or CardCode ne 'x";
    client.post("BusinessPartners", &json!({"CardCode": "C30000", "CardName": tricky})).await.unwrap();
    let by_name = |name: &str| {
        Query::new()
            .filter(Filter::eq(&"CardName".into(), schema::literal(&"CardName".into(), name).unwrap()))
            .select(["CardCode"])
    };
    let rows = client.query("BusinessPartners", &by_name(tricky)).await.unwrap();
    assert_eq!(rows, vec![json!({"CardCode": "C30000"})]);
    let injected = client.query("BusinessPartners", &by_name("x' or CardCode ne 'y")).await.unwrap();
    assert!(injected.is_empty(), "an injection attempt matched {} rows", injected.len());
}

#[tokio::test]
async fn reads_under_injected_5xx_are_retried_and_fail_only_retryably() {
    let sap = sandbox().await;
    let client = client(&sap);
    client.get("Items('A00001')").await.unwrap();
    sap.faults().set(FaultConfig { error_rate: 0.4, seed: Some(11), ..FaultConfig::default() });
    let mut succeeded = 0;
    for i in 0..30 {
        match client.get(&format!("BusinessPartners('C{}')", 20000 + i)).await {
            Ok(_) => succeeded += 1,
            Err(err) => assert!(err.is_retryable(), "{err}"),
        }
    }
    let sent = sap.calls().snapshot()["GET /BusinessPartners"];
    assert!(sent > 30, "some reads were retried ({sent} requests for 30 reads)");
    assert!(succeeded > 20, "retries rescued most reads ({succeeded}/30)");
    assert_eq!(logins(&sap), 1, "a 5xx is not a session problem");
}

#[tokio::test]
async fn a_write_that_met_a_5xx_is_not_repeated() {
    let sap = sandbox().await;
    let client = client(&sap);
    client.get("Items('A00001')").await.unwrap();
    sap.faults().set(FaultConfig { error_rate: 1.0, ..FaultConfig::default() });
    let err = client.create_order(&order(&opportunity(1), "A00002")).await.unwrap_err();
    assert!(matches!(&err, Error::Sap { status: 502 | 503, code, .. } if code.is_empty()), "{err}");
    assert!(err.is_retryable());
    assert_eq!(sap.calls().snapshot()["POST /Orders"], 1);
}

#[tokio::test]
async fn an_order_is_created_once_and_found_by_its_opportunity() {
    let sap = sandbox().await;
    let client = client(&sap);
    let opp = opportunity(7);
    assert_eq!(client.find_order_for_opportunity(&opp).await.unwrap(), None);
    let created = client.create_order(&order(&opp, "A00002")).await.unwrap();
    assert_eq!(client.find_order_for_opportunity(&opp).await.unwrap(), Some(created));
    assert_eq!(client.find_order_for_opportunity(&opportunity(8)).await.unwrap(), None);

    let stored = sap.orders();
    assert_eq!(stored.len(), 1);
    let row = &stored[0];
    let SapOrderFor::Order { order: created, .. } = created else { panic!("an order, not a draft: {created:?}") };
    assert_eq!((row["DocEntry"].as_i64(), row["DocNum"].as_i64()), (Some(created.doc_entry), Some(created.doc_num)));
    assert_eq!(row["NumAtCard"], opp.as_str());
    assert_eq!(row["U_SF_OpportunityId"], opp.as_str());
    let discounted = &row["DocumentLines"][0];
    assert_eq!((&discounted["DiscountPercent"], &discounted["Price"]), (&json!(10.0), &json!(45.0)));
    // C20003 takes euros: the order is in EUR (its default), local totals at the day's 1.08.
    assert_eq!(
        (&discounted["RowTotalFC"], &discounted["LineTotal"]),
        (&json!(90.0), &json!(97.2)),
        "10 % off 2 × 50.00"
    );
    assert_eq!(discounted["ShipDate"], "2025-06-15T00:00:00Z", "a v2 date");
    assert_eq!((&row["DocCurrency"], &row["DocTotalFc"]), (&json!("EUR"), &json!(90.0 + 99.5)));
    let SapOrderFor::Order { net_total, .. } = client.find_order_for_opportunity(&opp).await.unwrap().unwrap() else {
        panic!("an order")
    };
    assert_eq!(net_total, Some(189.5), "the net total in the order's own currency");
    assert_eq!(row["DocumentLines"][1]["ItemDescription"], "Special");
}

#[tokio::test]
async fn without_the_udf_the_order_is_found_by_num_at_card() {
    let sap = sandbox().await;
    let client = SapClient::new(config(&sap, 20, None)).unwrap();
    let opp = opportunity(9);
    let created = client.create_order(&order(&opp, "A00003")).await.unwrap();
    assert_eq!(sap.orders()[0]["U_SF_OpportunityId"], Value::Null);
    assert_eq!(client.find_order_for_opportunity(&opp).await.unwrap(), Some(created));
}

/// Under an approval procedure SAP answers -2028 and keeps a draft: the client returns that draft
/// (found by the opportunity id, with and without the UDF), and finds it again instead of posting.
#[tokio::test]
async fn under_an_approval_procedure_the_order_is_a_draft_found_by_its_opportunity() {
    let sap = sandbox().await;
    sap.set_order_approval(true);
    for (n, client) in [(11, client(&sap)), (12, SapClient::new(config(&sap, 20, None)).unwrap())] {
        let opp = opportunity(n);
        let held = client.create_order(&order(&opp, "A00002")).await.unwrap();
        let SapOrderFor::Draft(draft) = held else { panic!("a draft, not an order: {held:?}") };
        assert!(!draft.rejected);
        assert_eq!(client.find_order_for_opportunity(&opp).await.unwrap(), Some(held));
        sap.reject_order_draft(draft.doc_entry).unwrap();
        let found = client.find_order_for_opportunity(&opp).await.unwrap();
        assert_eq!(found, Some(SapOrderFor::Draft(OrderDraft { rejected: true, ..draft })));
    }
    assert_eq!(sap.calls().snapshot()["POST /Orders"], 2);
    assert!(sap.orders().is_empty());
}

#[tokio::test]
async fn an_unknown_item_is_a_permanent_sap_error_minus_10() {
    let sap = sandbox().await;
    let err = client(&sap).create_order(&order(&opportunity(2), "Z99999")).await.unwrap_err();
    match &err {
        Error::Sap { status, code, message } => {
            assert_eq!((*status, code.as_str()), (400, "-10"));
            assert!(message.contains("[DocumentLines.ItemCode][line: 2]"), "{message}");
        }
        other => panic!("expected an SAP error, got {other}"),
    }
    assert!(!err.is_retryable());
    assert!(sap.orders().is_empty());
}

#[tokio::test]
async fn a_missing_partner_is_created_and_a_racing_duplicate_counts_as_done() {
    let sap = sandbox().await;
    let client = client(&sap);
    let code = CardCode::parse("C90001").unwrap();
    assert!(!client.business_partner_exists(&code).await.unwrap());
    let bp = NewBusinessPartner {
        card_code: code.clone(),
        card_name: "Globex Corporation".into(),
        salesforce_account_id: SalesforceId::parse("001SM0000001Tb3").unwrap(),
    };
    client.create_business_partner(&bp).await.unwrap();
    assert!(client.business_partner_exists(&code).await.unwrap());
    client.create_business_partner(&bp).await.expect("a duplicate is not an error");
    assert_eq!(sap.business_partner("C90001").unwrap()["CardType"], "cCustomer");
}

#[tokio::test]
async fn a_wrong_password_is_a_configuration_error_naming_the_401_and_no_session_is_kept() {
    let sap = sandbox().await;
    let mut cfg = config(&sap, 20, None);
    cfg.password = SecretString::from("not-the-password");
    let client = SapClient::new(cfg).unwrap();
    let err = client.get("Items('A00001')").await.unwrap_err();
    assert!(err.is_configuration(), "{err}");
    assert!(err.to_string().contains("401") && err.to_string().contains("SAP_SECRET_ID"), "{err}");
    assert_eq!(sap.active_sessions(), 0);
}

/// The password as `SAP_SECRET_ID` holds it, in an embedded secret store.
fn secret_holding(password: &str) -> Arc<dyn CredentialSource> {
    let store = EmbeddedSecrets::new().with("b1force/sap", &json!({"password": password}).to_string());
    Arc::new(SecretField { store: Arc::new(store), secret_id: "b1force/sap".into(), field: "password".into() })
}

#[tokio::test]
async fn a_refused_login_re_reads_the_password_and_only_an_unchanged_one_is_taken_for_a_broken_set_up() {
    let sap = sandbox().await;
    let mut cfg = config(&sap, 20, None);
    cfg.password = SecretString::from("the-old-password");
    let rotated = SapClient::new(cfg.clone()).unwrap().with_credentials(secret_holding(sap.password()));
    rotated.get("Items('A00001')").await.expect("logged in with the re-read password");
    assert_eq!(rotated.stats().logins, 2, "one refused, one with the fresh password");
    // Unchanged in the secret: believed after one re-read, one login only (B1 locks users that keep failing).
    let wrong = SapClient::new(cfg).unwrap().with_credentials(secret_holding("the-old-password"));
    assert!(wrong.get("Items('A00001')").await.unwrap_err().is_configuration());
    assert_eq!(wrong.stats().logins, 1);
}

#[tokio::test]
async fn logout_ends_the_session_and_the_next_call_logs_in_again() {
    let sap = sandbox().await;
    let client = client(&sap);
    client.get("Items('A00001')").await.unwrap();
    assert_eq!(sap.active_sessions(), 1);
    client.logout().await.unwrap();
    assert_eq!(sap.active_sessions(), 0);
    client.get("Items('A00001')").await.unwrap();
    assert_eq!(logins(&sap), 2);
}

#[tokio::test]
async fn patch_updates_a_partner_and_the_key_stays() {
    let sap = sandbox().await;
    let client = client(&sap);
    client.patch("BusinessPartners('C20010')", &json!({"CardCode": "X", "Phone1": "+1 555 0000"})).await.unwrap();
    let bp = sap.business_partner("C20010").unwrap();
    assert_eq!((bp["CardCode"].as_str(), bp["Phone1"].as_str()), (Some("C20010"), Some("+1 555 0000")));
    assert_eq!(bp["DataVersion"], 2);
}

// --- The sandbox's wire format, as any HTTP client sees it ---

async fn raw_login(sap: &SapSandbox) -> (reqwest::Client, String) {
    let http = reqwest::Client::new();
    let body = json!({"CompanyDB": sap.company_db(), "UserName": sap.user(), "Password": sap.password()});
    let reply = http.post(format!("{}/Login", sap.base_url())).json(&body).send().await.unwrap();
    assert_eq!(reply.status(), 200);
    let cookies: Vec<String> =
        reply.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    let session: Value = reply.json().await.unwrap();
    let id = session["SessionId"].as_str().unwrap().to_string();
    assert_eq!(cookies, vec![format!("B1SESSION={id};HttpOnly;"), "ROUTEID=.node1; path=/b1s".to_string()]);
    assert_eq!(session["SessionTimeout"], 30);
    assert_eq!(id.len(), 36, "GUID-like");
    (http, format!("B1SESSION={id}; ROUTEID=None"))
}

#[tokio::test]
async fn the_sandbox_speaks_the_documented_v2_wire_format() {
    let sap = sandbox().await;
    let base = sap.base_url();
    let (http, cookie) = raw_login(&sap).await;

    let denied = http.get(format!("{base}/Items")).send().await.unwrap();
    assert_eq!(denied.status(), 401);
    let body: Value = denied.json().await.unwrap();
    assert_eq!(body, json!({"error": {"code": "301", "message": "Invalid session or session already timeout."}}));

    let page = http
        .get(format!("{base}/BusinessPartners?%24select=CardCode&%24filter=startswith(CardCode,+'C2001')"))
        .header("Cookie", &cookie)
        .header("Prefer", "odata.maxpagesize=4")
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["content-type"], "application/json;odata.metadata=minimal;charset=utf-8");
    assert_eq!(page.headers()["odata-version"], "4.0");
    assert_eq!(page.headers()["preference-applied"], "odata.maxpagesize=4");
    let page: Value = page.json().await.unwrap();
    assert_eq!(page["value"].as_array().unwrap().len(), 4);
    // The options come back as sent (the URL parser encoded the quotes), with the new $skip.
    assert_eq!(
        page["@odata.nextLink"],
        "BusinessPartners?%24select=CardCode&%24filter=startswith(CardCode,+%27C2001%27)&$skip=4"
    );
    assert!(page["@odata.context"].as_str().unwrap().ends_with("/b1s/v2/$metadata#BusinessPartners"));

    let count = http.get(format!("{base}/Items/$count")).header("Cookie", &cookie).send().await.unwrap();
    assert!(count.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert_eq!(count.text().await.unwrap(), "40");

    let unknown = http.get(format!("{base}/Items('NOPE')")).header("Cookie", &cookie).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.json::<Value>().await.unwrap()["error"]["code"], "-2028");

    let bad = http.get(format!("{base}/Items?$filter=Colour eq 'red'")).header("Cookie", &cookie).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let bad =
        http.get(format!("{base}/Items?$filter=ItemCode eq 'open")).header("Cookie", &cookie).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.json::<Value>().await.unwrap()["error"]["message"].is_string());
}

#[tokio::test]
async fn the_sandbox_checks_etags_and_honours_return_no_content() {
    let sap = sandbox().await;
    let base = sap.base_url();
    let (http, cookie) = raw_login(&sap).await;

    let read =
        http.get(format!("{base}/BusinessPartners(CardCode='C20000')")).header("Cookie", &cookie).send().await.unwrap();
    let etag = read.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, "W/\"356A192B7913B04C54574D18C28D46E6395428AB\"", "uppercase sha1 of DataVersion 1");
    let patch = |tag: &str| {
        http.patch(format!("{base}/BusinessPartners('C20000')"))
            .header("Cookie", &cookie)
            .header("If-Match", tag)
            .json(&json!({"CardName": "Northwind Traders Inc"}))
            .send()
    };
    assert_eq!(patch(&etag).await.unwrap().status(), 204);
    let stale = patch(&etag).await.unwrap();
    assert_eq!(stale.status(), 412);
    assert_eq!(stale.json::<Value>().await.unwrap()["error"]["code"], "-2039");

    let created = http
        .post(format!("{base}/Items"))
        .header("Cookie", &cookie)
        .header("Prefer", "return-no-content")
        .json(&json!({"ItemCode": "B00001", "ItemName": "Spare Part"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 204);
    assert_eq!(created.headers()["location"], "/b1s/v2/Items('B00001')");
    assert_eq!(created.headers()["preference-applied"], "return-no-content");
    assert_eq!(sap.item("B00001").unwrap()["ItemName"], "Spare Part");

    let duplicate = http
        .post(format!("{base}/BusinessPartners"))
        .header("Cookie", &cookie)
        .json(&json!({"CardCode": "C20000", "CardName": "Again"}))
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.status(), 400);
    let message = duplicate.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.starts_with("1320000140 - Business partner code 'C20000' already assigned"));
}

#[tokio::test]
async fn keyset_paging_reads_every_row_once_in_key_order_with_one_request_per_page() {
    let sap = sandbox().await;
    let client = SapClient::new(config(&sap, 7, None)).unwrap();
    let all = client.query("BusinessPartners", &Query::new().select(["CardCode"])).await.unwrap();
    let before = client.stats().requests;
    let key = Property::parse("CardCode").unwrap();
    let rows = client.query_by_key("BusinessPartners", &key, None, std::slice::from_ref(&key)).await.unwrap();
    let codes: Vec<&str> = rows.iter().map(|r| r["CardCode"].as_str().unwrap()).collect();
    let mut expected: Vec<&str> = all.iter().map(|r| r["CardCode"].as_str().unwrap()).collect();
    expected.sort();
    assert_eq!(codes, expected, "every partner once, in key order");
    assert_eq!(client.stats().requests - before, all.len() as u64 / 7 + 1, "one request per page of 7");

    // With a filter and an integer key: the window is ANDed with the filter.
    let doc_entry = Property::parse("DocEntry").unwrap();
    let status = Property::parse("DocumentStatus").unwrap();
    let open = Filter::eq(&status, schema::literal(&status, "bost_Open").unwrap());
    let invoices = client
        .query_by_key("Invoices", &doc_entry, Some(open.clone()), std::slice::from_ref(&doc_entry))
        .await
        .unwrap();
    let expected = client.query("Invoices", &Query::new().filter(open).select(["DocEntry"])).await.unwrap();
    let entries: Vec<i64> = invoices.iter().map(|r| r["DocEntry"].as_i64().unwrap()).collect();
    assert!(entries.windows(2).all(|w| w[0] < w[1]), "{entries:?}");
    assert!(!expected.is_empty());
    assert_eq!(entries.len(), expected.len());
}
