//! F8 end to end on the sandboxes: a synced pair reconciles clean; planted differences (an invoice
//! missing in Salesforce, an amount drift, a status drift, an orphan on each side) are found exactly;
//! a repair run re-enqueues them, the writers apply them, and the next run finds nothing. Reads are
//! bulk: calls per side grow with pages, not records.

use b1force_cli::local::{LocalOptions, LocalStack, salesforce_config, sap_config};
use serde_json::{Value, json};
use shared::embedded::{EmbeddedNotifier, LocalReports};
use shared::engine::sf_writer::{SfWriterSettings, Stop};
use shared::flows::f8_reconcile::{ExceptionKind, Period, ReconOutcome, ReconReport, ReconRequest, RepairSummary};
use shared::ports::{AuditAction, AuditLog};
use shared::salesforce::SalesforceClient;
use shared::sap::SapClient;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Every document the sandboxes hold, whatever today's date.
fn all_time() -> Period {
    Period { from: "2000-01-01".into(), to: "2099-12-31".into() }
}

struct Bench {
    stack: LocalStack,
    notifier: Arc<EmbeddedNotifier>,
    out: tempfile::TempDir,
}

/// Both sandboxes, SAP synced into Salesforce.
async fn synced() -> Bench {
    let stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    assert!(e2e::pipeline::sync_won_opportunities(&stack).await.unwrap() > 0, "the seed's won deals get their orders");
    sync(&stack).await;
    Bench { stack, notifier: Arc::new(EmbeddedNotifier::new()), out: tempfile::tempdir().unwrap() }
}

/// Polls SAP and drains `to-salesforce.fifo`; nothing may be dead-lettered.
async fn sync(stack: &LocalStack) {
    let (_, run) = stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    let errors: Vec<_> = stack.audit.all().iter().filter_map(|e| e.error.clone()).collect();
    assert_eq!((run.dead_lettered, run.stopped.clone()), (0, Stop::QueueEmpty), "{errors:?}");
}

async fn reconcile(bench: &Bench, repair: bool) -> ReconOutcome {
    let reconciler = bench.stack.reconciler(Arc::new(LocalReports::new(bench.out.path())), bench.notifier.clone());
    reconciler.run(&ReconRequest { period: all_time(), repair }).await.unwrap()
}

/// (kind, entity, SAP key, field) of every exception.
fn found(outcome: &ReconOutcome) -> BTreeSet<(ExceptionKind, String, String, Option<String>)> {
    outcome.report.exceptions.iter().map(|e| (e.kind, e.entity.clone(), e.sap_key.clone(), e.field.clone())).collect()
}

fn salesforce_id(bench: &Bench, object: &str, field: &str, value: &str) -> String {
    let records = bench.stack.sf_sandbox.records(object);
    let record = records.iter().find(|r| r[field] == value).unwrap_or_else(|| panic!("no {object} {field}={value}"));
    record["Id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn planted_differences_are_found_exactly_and_a_repair_clears_them() {
    let bench = synced().await;
    // The Salesforce seed has one product whose ItemCode SAP never had (the poison product): an
    // orphan only a person can fix. Found, left alone by a repair, and then fixed by hand.
    let seeded = reconcile(&bench, true).await;
    let poison = (ExceptionKind::MissingInSap, "Items".to_string(), "Z99999".to_string(), None);
    assert_eq!(found(&seeded), BTreeSet::from([poison]), "{:#?}", seeded.report.exceptions);
    assert_eq!(seeded.report.repair, Some(RepairSummary { to_salesforce: 0, to_sap: 0, manual: 1 }));
    let poison_id = seeded.report.exceptions[0].salesforce_id.clone().unwrap();
    bench.stack.sf_sandbox.update_record("Product2", &poison_id, json!({"SAP_ItemCode__c": null})).unwrap();
    assert_eq!(bench.notifier.messages().len(), 1);

    let clean = reconcile(&bench, false).await;
    assert_eq!(found(&clean), BTreeSet::new(), "{:#?}", clean.report.exceptions);
    assert_eq!(bench.notifier.messages().len(), 1, "no announcement without exceptions");
    assert_eq!(clean.stored.len(), 3);
    let invoices = clean.report.totals.iter().find(|t| t.entity == "Invoices").unwrap();
    assert!(invoices.sap_count > 0 && invoices.sap_count == invoices.salesforce_count, "{invoices:?}");
    assert_eq!(invoices.sap_amount, invoices.salesforce_amount);
    let paid = clean.report.totals.iter().find(|t| t.entity == "Invoices.PaidToDate").unwrap();
    assert_eq!((paid.sap_count, paid.sap_amount), (paid.salesforce_count, paid.salesforce_amount), "{paid:?}");

    // Planted: a business partner and its invoice made in SAP and never synced (both missing in
    // Salesforce), an account whose CardCode SAP lacks, and two invoices edited in Salesforce.
    let sap = &bench.stack.sap_sandbox;
    sap.insert_business_partner(json!({
        "CardCode": "C99001", "CardName": "Planted Partner", "CardType": "cCustomer", "CreditLimit": 5000.0,
        "CurrentAccountBalance": 0.0, "OpenOrdersBalance": 0.0, "Phone1": "555-0101", "Valid": "tYES",
        "Frozen": "tNO", "UpdateDate": "2026-11-25T00:00:00Z", "UpdateTime": "10:00:00", "ContactEmployees": [],
        "BPAddresses": []
    }));
    let missing_invoice = sap.seed_changed_invoices(1, &["C99001".to_string()])[0];
    let sap_invoices = sap.documents("Invoices");
    let (drifted, status_drifted) =
        (sap_invoices[0]["DocEntry"].as_i64().unwrap(), sap_invoices[1]["DocEntry"].as_i64().unwrap());
    let sf = &bench.stack.sf_sandbox;
    let amount_id = salesforce_id(&bench, "SAP_Invoice__c", "SAP_Document_Key__c", &format!("Invoices/{drifted}"));
    let amount = sap_invoices[0]["DocTotal"].as_f64().unwrap();
    sf.update_record("SAP_Invoice__c", &amount_id, json!({"Amount__c": amount + 10.0})).unwrap();
    let status_id =
        salesforce_id(&bench, "SAP_Invoice__c", "SAP_Document_Key__c", &format!("Invoices/{status_drifted}"));
    let status = sf.record("SAP_Invoice__c", &status_id).unwrap()["Status__c"].clone();
    let other_status = if status == "Paid" { "Open" } else { "Paid" };
    sf.update_record("SAP_Invoice__c", &status_id, json!({"Status__c": other_status})).unwrap();
    // An account whose payment status is not what its customer's open invoices say (C20000 owes
    // 1 500 overdue): found against SAP's open items, repaired by re-sending one of its invoices.
    let northwind = salesforce_id(&bench, "Account", "SAP_CardCode__c", "C20000");
    assert_eq!(sf.record("Account", &northwind).unwrap()["SAP_Payment_Status__c"], "Overdue");
    sf.update_record("Account", &northwind, json!({"SAP_Payment_Status__c": "Paid"})).unwrap();
    let orphan_account = sf
        .create_record("Account", json!({"Name": "Orphan Ltd", "SAP_CardCode__c": "C99002", "Type": "Customer"}))
        .unwrap();
    // Not differences: documents whose date moved out of the period on one side only are looked up
    // by key on the other side, so neither counts as missing.
    let (moved_in_sf, moved_in_sap) =
        (sap_invoices[2]["DocEntry"].as_i64().unwrap(), sap_invoices[3]["DocEntry"].as_i64().unwrap());
    let moved_id = salesforce_id(&bench, "SAP_Invoice__c", "SAP_Document_Key__c", &format!("Invoices/{moved_in_sf}"));
    sf.update_record("SAP_Invoice__c", &moved_id, json!({"Invoice_Date__c": "1999-12-31"})).unwrap();
    sap.user_update("Invoices", &moved_in_sap.to_string(), json!({"DocDate": "1999-12-31"})).unwrap();
    assert!(sap.document("Invoices", moved_in_sap).unwrap()["DocDate"].as_str().unwrap().starts_with("1999-12-31"));

    let planted = reconcile(&bench, false).await;
    let expected: BTreeSet<(ExceptionKind, String, String, Option<String>)> = [
        (ExceptionKind::MissingInSalesforce, "BusinessPartners", "C99001".to_string(), None),
        (ExceptionKind::MissingInSap, "BusinessPartners", "C99002".to_string(), None),
        (ExceptionKind::MissingInSalesforce, "Invoices", missing_invoice.to_string(), None),
        (ExceptionKind::AmountDrift, "Invoices", drifted.to_string(), Some("Amount__c")),
        (ExceptionKind::StatusDrift, "Invoices", status_drifted.to_string(), Some("Status__c")),
        (ExceptionKind::StatusDrift, "BusinessPartners", "C20000".to_string(), Some("SAP_Payment_Status__c")),
    ]
    .into_iter()
    .map(|(kind, entity, key, field)| (kind, entity.to_string(), key, field.map(String::from)))
    .collect();
    assert_eq!(found(&planted), expected, "{:#?}", planted.report.exceptions);
    let orphan = planted.report.exceptions.iter().find(|e| e.kind == ExceptionKind::MissingInSap).unwrap();
    assert_eq!(orphan.repair, Some(format!("sf:Account:{orphan_account}")));
    assert!(
        orphan.salesforce_link.as_deref().unwrap().ends_with(&format!("/lightning/r/Account/{orphan_account}/view"))
    );
    let amount_drift = planted.report.exceptions.iter().find(|e| e.kind == ExceptionKind::AmountDrift).unwrap();
    assert_eq!(amount_drift.salesforce_id.as_deref(), Some(amount_id.as_str()));
    assert!(amount_drift.sap_link.as_deref().unwrap().ends_with(&format!("/b1s/v2/Invoices({drifted})")));
    // The report files hold the same report; the announcement counts the kinds and names the files.
    let json_file = planted.stored.iter().find(|p| p.ends_with(".json")).unwrap();
    let stored: ReconReport = serde_json::from_str(&std::fs::read_to_string(json_file).unwrap()).unwrap();
    assert_eq!(stored, planted.report);
    assert!(planted.stored.iter().all(|p| std::path::Path::new(p).exists()));
    let messages = bench.notifier.messages();
    assert_eq!(messages.len(), 2);
    let (subject, text) = &messages[1];
    assert!(subject.contains("6 exception(s)"), "{subject}");
    let standing =
        planted.report.exceptions.iter().find(|e| e.entity == "BusinessPartners" && e.field.is_some()).unwrap();
    assert_eq!((standing.sap_value.as_deref(), standing.salesforce_value.as_deref()), (Some("Overdue"), Some("Paid")));
    assert!(standing.repair.as_deref().unwrap().starts_with("sap:Invoices:"), "{standing:?}");
    assert!(text.contains("missing in salesforce: 2") && text.contains(json_file.as_str()), "{text}");

    let repaired = reconcile(&bench, true).await;
    assert_eq!(found(&repaired), expected);
    assert_eq!(repaired.report.repair, Some(RepairSummary { to_salesforce: 5, to_sap: 1, manual: 0 }));
    let audited = bench.stack.audit.all().into_iter().filter(|e| e.action == AuditAction::ReconcileRepair).count();
    assert_eq!(audited, 6);
    assert_eq!(bench.stack.to_sap.len(), 1, "{:?}", bench.stack.to_sap.messages());

    // The writers apply the repairs: the sap-writer creates C99002 (F2), the sf-writer re-writes the
    // SAP records, and the next poll brings the new partner's SAP fields to its account.
    let drained = bench.stack.drain(100).await.unwrap();
    assert_eq!((drained.dead_lettered, drained.written), (0, 1), "{drained:?}");
    assert!(bench.stack.sap_sandbox.business_partner("C99002").is_some());
    sync(&bench.stack).await;
    let after = reconcile(&bench, false).await;
    assert_eq!(found(&after), BTreeSet::new(), "{:#?}", after.report.exceptions);

    // Every run is in the audit trail, newest last: what `b1force status` shows as the last reconciliation.
    let runs = bench.stack.audit.for_record(shared::flows::f8_reconcile::RECONCILE_RECORD).await.unwrap();
    let summaries: Vec<String> = runs.iter().map(|e| e.source_version.clone().unwrap_or_default()).collect();
    assert_eq!(runs.len(), 5, "{summaries:#?}");
    assert!(summaries[3].contains("6 exception(s), 6 repaired, report "), "{}", summaries[3]);
    assert!(summaries[4].contains(": 0 exception(s), report ") && summaries[4].ends_with(".html"), "{}", summaries[4]);
    assert_eq!(sf.record("SAP_Invoice__c", &amount_id).unwrap()["Amount__c"].as_f64(), Some(amount));
    assert_eq!(sf.record("SAP_Invoice__c", &status_id).unwrap()["Status__c"], status);
    assert_eq!(sf.record("Account", &northwind).unwrap()["SAP_Payment_Status__c"], "Overdue");
}

#[tokio::test]
async fn reads_grow_with_pages_not_records() {
    let stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    e2e::pipeline::sync_won_opportunities(&stack).await.unwrap();
    let partners = stack.sap_sandbox.seed_changed_business_partners(300);
    stack.sap_sandbox.seed_changed_invoices(450, &partners);
    sync(&stack).await;
    let poison = stack.sf_sandbox.records("Product2").into_iter().find(|p| p["SAP_ItemCode__c"] == "Z99999").unwrap();
    stack
        .sf_sandbox
        .update_record("Product2", poison["Id"].as_str().unwrap(), json!({"SAP_ItemCode__c": null}))
        .unwrap();
    // Small pages so several are needed: 100 rows per SAP page, 200 records per Salesforce batch.
    let sap = Arc::new(
        SapClient::new(shared::config::SapConfig { page_size: 100, ..sap_config(&stack.sap_sandbox) }).unwrap(),
    );
    let salesforce =
        Arc::new(SalesforceClient::new(salesforce_config(&stack.sf_sandbox)).unwrap().with_query_batch_size(200));
    let notifier = Arc::new(EmbeddedNotifier::new());
    let out = tempfile::tempdir().unwrap();
    let reconciler = shared::flows::f8_reconcile::Reconciler {
        sap: sap.clone(),
        salesforce: salesforce.clone(),
        ..stack.reconciler(Arc::new(LocalReports::new(out.path())), notifier)
    };
    let outcome = reconciler.run(&ReconRequest { period: all_time(), repair: false }).await.unwrap();
    assert_eq!(found(&outcome), BTreeSet::new(), "{:#?}", outcome.report.exceptions);

    // Keyset paging: a page short of `size` ends the read, so a full last page costs one more call.
    let pages = |n: u64, size: u64| n / size + 1;
    let count = |entity: &str| outcome.report.totals.iter().find(|t| t.entity == entity).unwrap().clone();
    let (invoices, credit_notes, bps, items, orders) =
        (count("Invoices"), count("CreditNotes"), count("BusinessPartners"), count("Items"), count("Orders"));
    // Payment status: every open invoice once, and the accounts once more.
    let open = stack.sap_sandbox.documents("Invoices").iter().filter(|i| i["DocumentStatus"] == "bost_Open").count();
    let sap_pages =
        [&invoices, &credit_notes, &bps, &items, &orders].iter().map(|t| pages(t.sap_count, 100)).sum::<u64>()
            + pages(open as u64, 100);
    // Salesforce: each side's pages once; paid amounts come from the rows the documents were compared on.
    let salesforce_pages = pages(invoices.salesforce_count, 200)
        + pages(credit_notes.salesforce_count, 200)
        + pages(bps.salesforce_count, 200)
        + pages(items.salesforce_count, 200)
        + pages(orders.salesforce_count, 200)
        + pages(bps.salesforce_count, 200);
    let records = invoices.sap_count + bps.sap_count + items.sap_count;
    assert!(invoices.sap_count >= 450 && bps.sap_count >= 300, "{invoices:?} {bps:?}");
    assert_eq!(outcome.report.sap_calls, sap.stats().requests, "the report counts every SAP request of the run");
    assert!(outcome.report.sap_calls <= sap_pages, "{} SAP calls for {sap_pages} pages", outcome.report.sap_calls);
    assert!(
        outcome.report.salesforce_calls <= salesforce_pages,
        "{} Salesforce calls for {salesforce_pages} pages",
        outcome.report.salesforce_calls
    );
    assert!(outcome.report.sap_calls + outcome.report.salesforce_calls < records / 20, "{records} records");
    let summary: Value = outcome.summary();
    assert_eq!(summary["exceptions"], 0);
}

/// #14: won opportunities against SAP's orders — one live order per won deal, of the deal's amount.
#[tokio::test]
async fn won_opportunities_without_an_order_with_another_amount_or_with_two_orders_are_reported() {
    let bench = synced().await;
    let sf = &bench.stack.sf_sandbox;
    let won: Vec<Value> = sf.records("Opportunity").into_iter().filter(|o| o["IsWon"] == true).collect();
    let (drifted, doubled) = (won[0]["Id"].as_str().unwrap().to_string(), won[1]["Id"].as_str().unwrap().to_string());
    // A deal won while the CDC path was down: no order, no status.
    let account = won[0]["AccountId"].as_str().unwrap();
    let lost_event = sf.create_opportunity(account, "Closed Won", &["A00001"]);
    // A line edited after the order was made: the amount no longer matches the order.
    let line = sf.records("OpportunityLineItem").into_iter().find(|l| l["OpportunityId"] == drifted.as_str()).unwrap();
    let quantity = line["Quantity"].as_f64().unwrap();
    sf.update_record("OpportunityLineItem", line["Id"].as_str().unwrap(), json!({"Quantity": quantity + 1.0})).unwrap();
    // A second order keyed in by hand in SAP for a deal that has one.
    let existing = e2e::pipeline::orders_per_opportunity(&bench.stack).remove(&doubled).unwrap().remove(0);
    let copy = json!({"CardCode": existing["CardCode"], "DocDueDate": "2026-12-31", "U_SF_OpportunityId": doubled,
                      "DocumentLines": [{"ItemCode": "A00002", "Quantity": 1}]});
    bench.stack.sap.post("Orders", &copy).await.unwrap();

    let outcome = reconcile(&bench, true).await;

    let orders: Vec<(ExceptionKind, String, Option<String>)> = outcome
        .report
        .exceptions
        .iter()
        .filter(|e| e.entity == "Orders")
        .map(|e| (e.kind, e.salesforce_id.clone().unwrap(), e.repair.clone()))
        .collect();
    let mut expected = vec![
        (ExceptionKind::AmountDrift, drifted.clone(), None),
        (ExceptionKind::MissingInSap, lost_event.clone(), Some(format!("sf:Opportunity:{lost_event}"))),
        (ExceptionKind::DuplicateInSap, doubled.clone(), None),
    ];
    expected.sort_by(|a, b| (a.0.code(), &a.1).cmp(&(b.0.code(), &b.1)));
    let mut orders_sorted = orders.clone();
    orders_sorted.sort_by(|a, b| (a.0.code(), &a.1).cmp(&(b.0.code(), &b.1)));
    assert_eq!(orders_sorted, expected, "{:#?}", outcome.report.exceptions);
    let totals = outcome.report.totals.iter().find(|t| t.entity == "Orders").unwrap();
    assert_eq!((totals.salesforce_count, totals.sap_count), (won.len() as u64 + 1, won.len() as u64 + 1), "{totals:?}");

    // The repair sends the lost deal to the sap-writer, which creates its order; the others need a person.
    let drained = bench.stack.drain(100).await.unwrap();
    assert_eq!((drained.created, drained.dead_lettered), (1, 0), "{drained:?}");
    let after = reconcile(&bench, false).await;
    let left: BTreeSet<(ExceptionKind, String)> = after
        .report
        .exceptions
        .iter()
        .filter(|e| e.entity == "Orders")
        .map(|e| (e.kind, e.salesforce_id.clone().unwrap()))
        .collect();
    assert_eq!(left, BTreeSet::from([(ExceptionKind::AmountDrift, drifted), (ExceptionKind::DuplicateInSap, doubled)]));
}

/// #14 item 6: the daily aging run re-sends the open invoices that turned overdue since its last run,
/// so the customer's payment status says Overdue without any edit in SAP; a second run the same day
/// has nothing to do.
#[tokio::test]
async fn the_aging_run_turns_an_invoice_overdue_with_time_once() {
    let clock = Arc::new(shared::embedded::ManualClock::new(1_795_600_800_000)); // 2026-11-25T10:00Z, the seed's day
    let stack = LocalStack::start(LocalOptions { clock: clock.clone(), ..LocalOptions::default() }).await.unwrap();
    sync(&stack).await;
    let standing = |stack: &LocalStack| {
        let accounts = stack.sf_sandbox.records("Account");
        let account = accounts.iter().find(|a| a["SAP_CardCode__c"] == "C20010").unwrap().clone();
        (account["SAP_Payment_Status__c"].clone(), account["SAP_Days_Overdue__c"].as_f64())
    };
    // C20010's open invoice is dated 2026-11-06, net 30: due 2026-12-06.
    assert_eq!(standing(&stack), (json!("Unpaid"), Some(0.0)));

    clock.advance(std::time::Duration::from_secs(15 * 86_400)); // 2026-12-10
    let reconciler = stack.reconciler(
        Arc::new(LocalReports::new(tempfile::tempdir().unwrap().path())),
        Arc::new(EmbeddedNotifier::new()),
    );
    let aged = reconciler.age("aging-1").await.unwrap();
    assert_eq!((aged.since.as_str(), aged.until.as_str()), ("2026-09-11", "2026-12-10"));
    assert!(aged.invoices >= 1, "{aged:?}");
    assert_eq!(stack.to_salesforce.len() as u64, aged.invoices);
    let audited = stack.audit.all().into_iter().filter(|e| e.action == AuditAction::Resync).count();
    assert_eq!(audited as u64, aged.invoices, "every re-sent invoice is in the audit trail before it is sent on");
    let run = stack.sf_writer(SfWriterSettings::default()).run(i64::MAX).await.unwrap();
    assert_eq!((run.dead_lettered, run.stopped.clone()), (0, Stop::QueueEmpty), "{run:?}");
    assert_eq!(standing(&stack), (json!("Overdue"), Some(4.0)));

    let again = reconciler.age("aging-2").await.unwrap();
    assert_eq!(again.invoices, 0, "today was aged already");
}

/// #14 item 6: payments carry no change stamps and are followed by DocEntry, and the strict SAP
/// sandbox does not stamp an invoice a payment moves [U]. A payment written to Salesforce re-reads
/// the invoices it paid; one cancelled later is found by the daily aging run, which reopens them in
/// Salesforce and recomputes the customer's standing, once.
#[tokio::test]
async fn a_payment_pays_its_invoices_and_one_cancelled_later_reopens_them_through_the_aging_run() {
    let clock = Arc::new(shared::embedded::ManualClock::new(1_795_600_800_000)); // 2026-11-25T10:00Z
    let stack = LocalStack::start(LocalOptions { clock: clock.clone(), ..LocalOptions::default() }).await.unwrap();
    sync(&stack).await;
    let sap = &stack.sap_sandbox;
    let invoice = sap.documents("Invoices").into_iter().find(|i| i["CardCode"] == "C20006").unwrap();
    let entry = invoice["DocEntry"].as_i64().unwrap();
    let seen = |stack: &LocalStack| {
        let invoices = stack.sf_sandbox.records("SAP_Invoice__c");
        let record = invoices.iter().find(|r| r["SAP_Document_Key__c"] == format!("Invoices/{entry}")).unwrap().clone();
        let accounts = stack.sf_sandbox.records("Account");
        let account = accounts.iter().find(|a| a["SAP_CardCode__c"] == "C20006").unwrap().clone();
        (record["Paid_Amount__c"].as_f64(), account["SAP_Payment_Status__c"].clone())
    };
    assert_eq!(seen(&stack), (Some(0.0), json!("Unpaid")));

    let payment = json!({"CardCode": "C20006", "TransferSum": 5000.0, "PaymentInvoices": [{"DocEntry": entry, "SumApplied": 5000.0}]});
    let payment = stack.sap.post("IncomingPayments", &payment).await.unwrap()["DocEntry"].as_i64().unwrap();
    assert_eq!(sap.document("Invoices", entry).unwrap()["UpdateTime"], invoice["UpdateTime"], "no stamp to poll");
    sync(&stack).await;
    assert_eq!(seen(&stack), (Some(5000.0), json!("Partially Paid")), "the payment re-read the invoice it paid");

    stack.sap.post_action(&format!("IncomingPayments({payment})/Cancel")).await.unwrap();
    sync(&stack).await;
    assert_eq!(seen(&stack), (Some(5000.0), json!("Partially Paid")), "nothing a poll can see");

    clock.advance(std::time::Duration::from_secs(86_400));
    let reconciler = stack.reconciler(
        Arc::new(LocalReports::new(tempfile::tempdir().unwrap().path())),
        Arc::new(EmbeddedNotifier::new()),
    );
    let aged = reconciler.age("aging-1").await.unwrap();
    assert_eq!(aged.cancelled_payments, 1, "{aged:?}");
    let run = stack.sf_writer(SfWriterSettings::default()).run(i64::MAX).await.unwrap();
    assert_eq!((run.dead_lettered, run.stopped.clone()), (0, Stop::QueueEmpty), "{run:?}");
    assert_eq!(seen(&stack), (Some(0.0), json!("Unpaid")), "the cancellation reopened the invoice");

    clock.advance(std::time::Duration::from_secs(86_400));
    let again = reconciler.age("aging-2").await.unwrap();
    assert_eq!(again.cancelled_payments, 1, "still in the window");
    let run = stack.sf_writer(SfWriterSettings::default()).run(i64::MAX).await.unwrap();
    assert_eq!((run.written, run.dead_lettered), (0, 0), "known cancelled: no work {run:?}");
}
