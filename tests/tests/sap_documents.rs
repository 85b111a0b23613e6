//! The SAP client's F2/F3/live-lookup operations and poller-style queries against the in-process
//! Service Layer sandbox and its seeded history (documented in `sandbox::sap::seed`).

use sandbox::{SapOptions, SapSandbox};
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::domain::{BillingContext, CardCode, ItemCode, Record};
use shared::ports::{SapBilling, SapLookups, SapPartners};
use shared::sap::SapClient;
use shared::sap::odata::{Filter, Property, Query};
use shared::sap::schema;

const TODAY: &str = "2026-11-25";

async fn sandbox() -> SapSandbox {
    SapSandbox::start(SapOptions::default()).await.expect("the SAP sandbox starts")
}

fn client(sap: &SapSandbox, page_size: u32) -> SapClient {
    SapClient::new(shared::config::SapConfig {
        base_url: sap.base_url(),
        company_db: sap.company_db().into(),
        user: sap.user().into(),
        password: SecretString::from(sap.password()),
        ca_bundle_pem: None,
        order_reference_udf: None,
        page_size,
        timeout_secs: 10,
    })
    .unwrap()
}

fn code(text: &str) -> CardCode {
    CardCode::parse(text).unwrap()
}

fn record(value: Value) -> Record {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn invoice(sap: &SapSandbox, doc_entry: i64) -> Value {
    sap.documents("Invoices").into_iter().find(|row| row["DocEntry"] == doc_entry).expect("the invoice exists")
}

/// The sf-writer's payment standings read the open invoices of a whole round at once: 40 customers
/// per query, and the same invoices per customer as the one-customer billing context reads.
#[tokio::test]
async fn open_invoices_of_many_customers_come_in_one_query_per_forty_and_match_each_customers_own() {
    let sap = sandbox().await;
    let codes = sap.seed_changed_business_partners(50);
    sap.seed_changed_invoices(50, &codes);
    let client = client(&sap, 1000);
    let mut customers: Vec<CardCode> = codes.iter().map(|c| code(c)).collect();
    customers.extend(["C20000", "C20002", "C20004"].map(code));
    let before = sap.calls().snapshot().get("GET /Invoices").copied().unwrap_or(0);
    let open = client.open_invoices_of(&customers).await.unwrap();
    let reads = sap.calls().snapshot()["GET /Invoices"] - before;
    assert_eq!(reads, customers.len().div_ceil(shared::sap::CUSTOMERS_PER_READ) as u64, "53 customers, 2 queries");
    for customer in &customers {
        let own: Vec<_> = open.iter().filter(|(c, _)| c == customer.as_str()).map(|(_, i)| i.clone()).collect();
        let context = client.billing_context(customer, TODAY).await.unwrap();
        assert_eq!(own.len() as u32, context.open_invoice_count, "{customer:?}");
        let owed: f64 = own.iter().map(|i| (i.doc_total - i.paid_to_date).max(0.0)).sum();
        assert!(
            (owed - context.open_invoice_total).abs() < 0.01,
            "{customer:?}: {owed} vs {}",
            context.open_invoice_total
        );
    }
    assert!(open.iter().any(|(c, _)| c == "C20000") && !open.iter().any(|(c, _)| c == "C20004"));

    // The longest CardCodes (15 characters of 4 bytes, 12 bytes percent-encoded each): forty still
    // fit one request line under the sandbox's 8190-byte limit, which refuses longer ones with 414.
    let long: Vec<CardCode> = (0..80).map(|k| code(&format!("{}{k:02}", "😀".repeat(13)))).collect();
    let before = sap.calls().snapshot()["GET /Invoices"];
    assert!(client.open_invoices_of(&long).await.unwrap().is_empty());
    assert_eq!(sap.calls().snapshot()["GET /Invoices"] - before, 2);
}

#[tokio::test]
async fn the_billing_context_of_a_customer_with_overdue_invoices_matches_the_seed_arithmetic() {
    let sap = sandbox().await;
    let client = client(&sap, 20);
    let context = client.billing_context(&code("C20000"), TODAY).await.unwrap();
    assert_eq!(
        context,
        BillingContext {
            open_invoice_count: 3,
            open_invoice_total: 800.0 + (1200.0 - 500.0) + 600.0,
            overdue_amount: 800.0 + 700.0,
            last_payment_date: Some("2026-11-18".into()),
            last_payment_amount: Some(500.0),
            open_order_count: 1,
            open_order_total: 900.0,
            currency: Some("USD".into()),
            partly_paid_count: 1,
            days_overdue: 36,
        }
    );
    let calls = sap.calls().snapshot();
    assert_eq!(
        (calls["GET /Invoices"], calls["GET /IncomingPayments"], calls["GET /Orders"]),
        (1, 1, 1),
        "three queries, one page each"
    );

    let credited = client.billing_context(&code("C20002"), TODAY).await.unwrap();
    assert_eq!((credited.overdue_amount, credited.last_payment_date), (1500.0, None), "2 000 less a 500 credit note");
    let quiet = client.billing_context(&code("C20004"), TODAY).await.unwrap();
    assert_eq!((quiet.open_invoice_count, quiet.open_order_count, quiet.currency), (0, 0, None));
    let before_anything_was_due = client.billing_context(&code("C20000"), "2026-10-01").await.unwrap();
    assert_eq!(before_anything_was_due.overdue_amount, 0.0);
    assert!(client.billing_context(&code("C20000"), "25.11.2026").await.is_err());
}

#[tokio::test]
async fn a_payment_reduces_the_overdue_amount_and_closes_the_invoice_it_pays_in_full() {
    let sap = sandbox().await;
    sap.set_clock(Some("2026-11-25T11:00:00")).unwrap();
    let client = client(&sap, 20);
    assert_eq!(invoice(&sap, 2)["DocumentStatus"], "bost_Open");
    let payment = json!({"CardCode": "C20000", "DocDate": TODAY, "TransferSum": 800.0,
        "PaymentInvoices": [{"DocEntry": 2, "SumApplied": 800.0, "InvoiceType": "it_Invoice"}]});
    let created = client.post("IncomingPayments", &payment).await.unwrap();
    assert!(created.get("UpdateDate").is_none() && created.get("@odata.etag").is_none(), "payments carry neither");

    let paid = invoice(&sap, 2);
    assert_eq!((paid["PaidToDate"].as_f64(), paid["DocumentStatus"].as_str()), (Some(800.0), Some("bost_Close")));
    // Whether B1 stamps an invoice a payment closes is not documented: the strict sandbox does not
    // (wire-notes 7i), so the writer re-reads a payment's invoices itself.
    assert_eq!(
        (paid["UpdateDate"].as_str(), paid["UpdateTime"].as_str()),
        (Some("2026-09-20T00:00:00Z"), Some("09:00:00"))
    );
    let context = client.billing_context(&code("C20000"), TODAY).await.unwrap();
    assert_eq!((context.open_invoice_count, context.overdue_amount), (2, 700.0));
    assert_eq!((context.last_payment_date.as_deref(), context.last_payment_amount), (Some(TODAY), Some(800.0)));
    let credit = client.credit_status(&code("C20000")).await.unwrap().unwrap();
    assert_eq!(credit.balance, 2100.0 - 800.0);

    let overpaid =
        json!({"CardCode": "C20000", "CashSum": 5000.0, "PaymentInvoices": [{"DocEntry": 3, "SumApplied": 5000.0}]});
    let err = client.post("IncomingPayments", &overpaid).await.unwrap_err();
    assert!(matches!(&err, shared::error::Error::Sap { status: 400, code, .. } if code == "-5002"), "{err}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn credit_status_and_item_availability_are_one_read_each() {
    let sap = sandbox().await;
    let client = client(&sap, 20);
    let over = client.credit_status(&code("C20009")).await.unwrap().expect("C20009 exists");
    // C20009 is a EUR customer: its 58 000 EUR of invoices are a balance of 62 640 in local currency
    // (USD, EUR at 1.08); B1 keeps balances in local currency.
    assert_eq!((over.credit_limit, over.balance, over.open_orders_balance), (55_000.0, 62_640.0, 0.0));
    assert_eq!((over.frozen, over.currency.as_deref(), over.available_credit()), (false, Some("EUR"), -7640.0));
    assert_eq!(client.credit_status(&code("C99999")).await.unwrap(), None);

    let pump = client.item_availability(&ItemCode::parse("A00010").unwrap(), 1).await.unwrap().unwrap();
    assert_eq!((pump.price, pump.currency.as_deref()), (Some(275.0), Some("USD")));
    assert_eq!((pump.in_stock, pump.committed, pump.ordered), (153.0, 3.0, 15.0), "3 on C20000's open order 3");
    assert_eq!(pump.available, 153.0 - 3.0 + 15.0);
    let unpriced = client.item_availability(&ItemCode::parse("A00010").unwrap(), 2).await.unwrap().unwrap();
    assert_eq!((unpriced.price, unpriced.available), (None, pump.available));
    let two_warehouses = client.item_availability(&ItemCode::parse("A00005").unwrap(), 1).await.unwrap().unwrap();
    assert_eq!(two_warehouses.in_stock, 68.0, "warehouses 01 and 02 together");
    assert_eq!(client.item_availability(&ItemCode::parse("Z99999").unwrap(), 1).await.unwrap(), None);
    let calls = sap.calls().snapshot();
    assert_eq!((calls["GET /BusinessPartners"], calls["GET /Items"]), (2, 4));
}

fn account(phone: &str, bill_to_street: &str, contacts: Value) -> Record {
    record(json!({
        "CardCode": "C77001", "CardName": "Initech", "CardType": "cCustomer", "Phone1": phone,
        "U_SF_AccountId": "001SM0000001Tb3YAE",
        "ContactEmployees": contacts,
        "BPAddresses": [
            {"AddressName": "Bill to", "AddressType": "bo_BillTo", "Street": bill_to_street, "City": "Austin", "Country": "US"},
            {"AddressName": "Ship to", "AddressType": "bo_ShipTo", "Street": "1 Dock Road", "City": "Austin", "Country": "US"},
        ],
    }))
}

fn contact(salesforce_id: &str, name: &str, email: &str) -> Value {
    json!({"Name": name, "E_Mail": email, "U_SF_ContactId": salesforce_id, "Active": "tYES"})
}

#[tokio::test]
async fn a_partner_patch_updates_contacts_and_addresses_in_place_and_a_repeat_keeps_the_update_time() {
    let sap = sandbox().await;
    sap.set_clock(Some("2026-11-25T10:00:00")).unwrap();
    let client = client(&sap, 20);
    let initech = code("C77001");
    assert_eq!(client.business_partner(&initech, &[]).await.unwrap(), None);
    let peter = contact("003SM0000000001AAA", "Peter Gibbons", "peter@initech.example");
    client
        .create_business_partner_record(&account("+1 555 0100", "4120 Freidrich Lane", json!([peter])))
        .await
        .unwrap();
    let created = sap.business_partner("C77001").unwrap();
    let peter_code = created["ContactEmployees"][0]["InternalCode"].clone();
    assert_eq!(created["U_SF_AccountId"], "001SM0000001Tb3YAE");

    sap.set_clock(Some("2026-11-25T10:05:00")).unwrap();
    let contacts = json!([
        contact("003SM0000000001AAA", "Peter Gibbons", "pgibbons@initech.example"),
        contact("003SM0000000002AAA", "Joanna Smith", "joanna@initech.example"),
    ]);
    let update = account("+1 555 0199", "4121 Freidrich Lane", contacts);
    client.patch_business_partner(&initech, &update).await.unwrap();
    let patched = sap.business_partner("C77001").unwrap();
    let people = patched["ContactEmployees"].as_array().unwrap();
    assert_eq!(people.len(), 2, "{people:?}");
    assert_eq!(people[0]["InternalCode"], peter_code, "updated in place, matched by U_SF_ContactId");
    assert_eq!(
        (people[0]["E_Mail"].as_str(), people[0]["UpdateTime"].as_str()),
        (Some("pgibbons@initech.example"), Some("10:05:00"))
    );
    assert_eq!(people[1]["Name"], "Joanna Smith");
    let addresses = patched["BPAddresses"].as_array().unwrap();
    assert_eq!(addresses.len(), 2, "the bill-to address was updated, not re-inserted");
    assert_eq!(
        (addresses[0]["Street"].as_str(), addresses[0]["RowNum"].as_i64()),
        (Some("4121 Freidrich Lane"), Some(0))
    );
    assert_eq!((patched["Phone1"].as_str(), patched["DataVersion"].as_i64()), (Some("+1 555 0199"), Some(2)));

    sap.set_clock(Some("2026-11-25T10:10:00")).unwrap();
    client.patch_business_partner(&initech, &update).await.unwrap();
    let mut repeated = sap.business_partner("C77001").unwrap();
    assert_eq!(repeated["DataVersion"], 3, "the ETag moves on every accepted PATCH");
    repeated["DataVersion"] = json!(2);
    assert_eq!(repeated, patched, "an identical PATCH changes no content and keeps UpdateTime 10:05:00");
    assert_eq!(sap.calls().snapshot()["PATCH /BusinessPartners"], 2, "both PATCHes were sent; PUT never is");

    let selected = client.business_partner(&initech, &["CardName".into(), "Phone1".into()]).await.unwrap().unwrap();
    assert_eq!(selected, record(json!({"CardName": "Initech", "Phone1": "+1 555 0199"})));
    assert!(client.business_partner(&initech, &["Card Name".into()]).await.is_err(), "names are validated");

    // Without the matching, SAP's own rules bite: a keyless bill-to with the same name is a -2035.
    let raw = json!({"BPAddresses": [{"AddressName": "Bill to", "AddressType": "bo_BillTo", "Street": "x"}]});
    let err = client.patch("BusinessPartners('C77001')", &raw).await.unwrap_err();
    assert!(matches!(&err, shared::error::Error::Sap { status: 400, code, .. } if code == "-2035"), "{err}");

    // A replayed create of an existing partner applies the record instead of failing.
    let replay = account("+1 555 0142", "4121 Freidrich Lane", json!([]));
    client.create_business_partner_record(&replay).await.unwrap();
    assert_eq!(sap.business_partner("C77001").unwrap()["Phone1"], "+1 555 0142");
}

#[tokio::test]
async fn an_update_date_and_time_watermark_pages_exactly_the_changed_documents_in_stable_order() {
    let sap = sandbox().await;
    let client = client(&sap, 2);
    let watermark = Query::new()
        .filter(Filter::updated_since("2026-11-25T00:00:00Z", "10:00:00").unwrap())
        .select(["DocEntry", "UpdateDate", "UpdateTime"])
        .order_by("UpdateDate", true)
        .order_by("UpdateTime", true)
        .order_by("DocEntry", true);
    assert!(client.query("Invoices", &watermark).await.unwrap().is_empty(), "the seed ends before 10:00 today");

    for (at, invoice) in [("10:31:00", 10), ("10:32:00", 4), ("10:32:00", 1)] {
        sap.set_clock(Some(&format!("{TODAY}T{at}"))).unwrap();
        sap.user_update("Invoices", &invoice.to_string(), json!({"Comments": format!("edited at {at}")})).unwrap();
    }
    sap.set_clock(Some("2026-11-25T10:33:00")).unwrap();
    client
        .post(
            "IncomingPayments",
            &json!({"CardCode": "C20000", "CashSum": 600.0, "PaymentInvoices": [{"DocEntry": 4}]}),
        )
        .await
        .unwrap();
    sap.user_update("Orders", "3", json!({"Comments": "rush"})).unwrap();

    let changed = client.query("Invoices", &watermark).await.unwrap();
    let order: Vec<(i64, &str)> =
        changed.iter().map(|r| (r["DocEntry"].as_i64().unwrap(), r["UpdateTime"].as_str().unwrap())).collect();
    // The 10:33 payment does not stamp invoice 4 (wire-notes 7i): its 10:32 edit orders it.
    assert_eq!(order, vec![(10, "10:31:00"), (1, "10:32:00"), (4, "10:32:00")], "time first, DocEntry breaks ties");
    assert_eq!(sap.calls().snapshot()["GET /Invoices"], 1 + 2, "three rows, two rows a page");
    let orders = client.query("Orders", &watermark).await.unwrap();
    assert_eq!(orders.iter().map(|r| r["DocEntry"].as_i64().unwrap()).collect::<Vec<_>>(), vec![3]);

    // An earlier watermark takes whole later days, and on its own day only times at or after it.
    let yesterday_evening = Query::new()
        .filter(Filter::updated_since("2026-11-24", "08:30:00").unwrap())
        .select(["DocEntry", "CardCode"])
        .order_by("UpdateDate", true)
        .order_by("UpdateTime", true)
        .order_by("DocEntry", true);
    let since = client.query("Invoices", &yesterday_evening).await.unwrap();
    let cards: Vec<&str> = since.iter().map(|r| r["CardCode"].as_str().unwrap()).collect();
    assert_eq!(cards, vec!["C20029", "C20006", "C20000", "C20000"], "C20028's 08:16 yesterday is before the watermark");

    // The forms many v1-era clients send (quoted dates and times) are refused by the strict sandbox
    // (docs/wire-notes.md §1); the OData v4 forms of the same question are answered.
    let quoted = "Invoices?$filter=(UpdateDate gt '2026-11-25') or (UpdateDate eq '2026-11-25' and UpdateTime ge '10:32:00')&$select=DocEntry&$orderby=DocEntry";
    let refused = client.get(quoted).await.unwrap_err();
    assert!(matches!(&refused, shared::error::Error::Sap { status: 400, .. }), "{refused}");
    let raw = "Invoices?$filter=(UpdateDate gt 2026-11-25T00:00:00Z) or (UpdateDate eq 2026-11-25T00:00:00Z and UpdateTime ge 10:32:00)&$select=DocEntry&$orderby=DocEntry";
    let page = client.get(raw).await.unwrap();
    assert_eq!(page["value"], json!([{"DocEntry": 1}, {"DocEntry": 4}]));
    let not_in_the_list = client.get("Invoices?$filter=DocEntry in (1,4)").await.unwrap_err();
    assert!(matches!(&not_in_the_list, shared::error::Error::Sap { status: 400, .. }), "{not_in_the_list}");

    // Payments have no UpdateDate: pollers page them by a DocEntry high-water mark.
    let doc_entry = Property::from("DocEntry");
    let after = Query::new()
        .filter(Filter::gt(&doc_entry, schema::literal(&doc_entry, "23").unwrap()))
        .order_by("DocEntry", true);
    let payments = client.query("IncomingPayments", &after).await.unwrap();
    assert_eq!(payments.len(), 1, "the seed has 23 payments; one was made here");
    assert!(payments[0].get("UpdateDate").is_none());
}
