//! #16 item 6: a mapping's `sap_filter` keeps the rows it excludes (here: suppliers, when only customers
//! are synced) out of Salesforce on every path — the poller's `$filter`, a notification that arrives
//! another way (B1 webhook, replay, resync: the sf-writer checks the row it reads), and the
//! reconciler's master-data comparison.

use b1force_cli::local::{LocalOptions, LocalStack};
use serde_json::{Value, json};
use shared::domain::{Notification, RecordKey};
use shared::embedded::{EmbeddedNotifier, LocalReports};
use shared::engine::sf_writer::SfWriterSettings;
use shared::flows::f8_reconcile::{Period, ReconRequest};
use shared::mapping::file::MappingFile;
use shared::ports::{AuditAction, AuditLog, Outcome, OutgoingMessage, Queue};
use std::sync::Arc;

const SUPPLIER: &str = "V10000";

/// The shipped mapping with `line` added to the table `[flows.<flow>]`.
fn shipped_with(flow: &str, line: &str) -> MappingFile {
    let shipped = MappingFile::shipped_text();
    let header = format!("[flows.{flow}]");
    let at = shipped.find(&header).unwrap_or_else(|| panic!("the shipped file has {header}"));
    let line_end = at + shipped[at..].find('\n').unwrap() + 1;
    let text = format!("{}{line}\n{}", &shipped[..line_end], &shipped[line_end..]);
    MappingFile::parse(&text, "filtered.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// The shipped mapping, with F4 syncing customers and leads only.
fn customers_only() -> MappingFile {
    shipped_with("F4", r#"sap_filter = { CardType = ["cCustomer", "cLid"] }"#)
}

fn accounts_with_code(stack: &LocalStack, code: &str) -> Vec<Value> {
    stack.sf_sandbox.records("Account").into_iter().filter(|a| a["SAP_CardCode__c"] == code).collect()
}

/// A fresh notification (its own `version`, so queue dedup lets it through), as `replay` sends.
fn replay(record_key: &str, version: &str) -> OutgoingMessage {
    let note = Notification {
        record: RecordKey::parse(record_key).unwrap(),
        reason: "replay".into(),
        changed_at: 0,
        source_version: version.into(),
        correlation_id: "test".into(),
    };
    OutgoingMessage::from(&note)
}

#[tokio::test]
async fn a_supplier_outside_the_filter_reaches_salesforce_by_no_path_and_is_no_reconciliation_exception() {
    let mut stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    let mut supplier = stack.sap_sandbox.business_partner("C20000").expect("the sandbox seeds C20000");
    supplier["CardCode"] = json!(SUPPLIER);
    supplier["CardName"] = json!("Vendor Ltd");
    supplier["CardType"] = json!("cSupplier");
    stack.sap_sandbox.insert_business_partner(supplier);
    stack.mapping = Arc::new(customers_only());
    let supplier_key = format!("sap:BusinessPartners:{SUPPLIER}");

    // The poll: `$filter` leaves the supplier unread; the customers sync as before.
    let (polls, run) = stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    assert_eq!(run.dead_lettered, 0, "{run:?}");
    let partners = polls.iter().find(|p| p.entity == "BusinessPartners").unwrap();
    assert!(partners.rows_read > 0 && partners.enqueued == partners.rows_read, "{partners:?}");
    assert_eq!(accounts_with_code(&stack, "C20000").len(), 1);
    assert!(accounts_with_code(&stack, SUPPLIER).is_empty());
    assert!(stack.audit.for_record(&supplier_key).await.unwrap().is_empty(), "never enqueued, never tried");

    // Another path (a replay, a B1 webhook): the sf-writer reads the row, sees it is filtered, skips it.
    stack.to_salesforce.send(&[replay(&supplier_key, "replay-1")]).await.unwrap();
    let run = stack.sf_writer(SfWriterSettings::default()).run(i64::MAX).await.unwrap();
    assert_eq!((run.messages, run.written, run.skipped), (1, 0, 1), "{run:?}");
    let trail = stack.audit.for_record(&supplier_key).await.unwrap();
    assert_eq!(trail.last().map(|e| (e.action, e.outcome)), Some((AuditAction::SkipFiltered, Outcome::Skipped)));
    assert!(accounts_with_code(&stack, SUPPLIER).is_empty());

    // The reconciler compares what the mapping syncs: the supplier is nobody's exception.
    let out = tempfile::tempdir().unwrap();
    let reconciler = stack.reconciler(Arc::new(LocalReports::new(out.path())), Arc::new(EmbeddedNotifier::new()));
    let all_time = Period { from: "2000-01-01".into(), to: "2099-12-31".into() };
    let outcome = reconciler.run(&ReconRequest { period: all_time, repair: false }).await.unwrap();
    let about_supplier: Vec<_> = outcome.report.exceptions.iter().filter(|e| e.sap_key == SUPPLIER).collect();
    assert!(about_supplier.is_empty(), "{about_supplier:?}");

    // Without the filter the same supplier is synced: the test would see it if filtering broke.
    stack.mapping = Arc::new(MappingFile::shipped());
    stack.to_salesforce.send(&[replay(&supplier_key, "replay-2")]).await.unwrap();
    let run = stack.sf_writer(SfWriterSettings::default()).run(i64::MAX).await.unwrap();
    assert_eq!(run.written, 1, "{run:?}");
    assert_eq!(accounts_with_code(&stack, SUPPLIER).len(), 1);
}

/// The shipped mapping, with F2 syncing accounts of the customer types only.
fn customer_accounts_only() -> MappingFile {
    shipped_with("F2", r#"salesforce_filter = { Type = ["Customer - Direct", "Customer - Channel"] }"#)
}

/// #16 item 6, Salesforce side: an account outside F2's `salesforce_filter` (a prospect) becomes no
/// business partner, whichever notification brings it (CDC, replay, resync, sweep all reach the
/// sap-writer), and is audited `skip_filtered`; once its type makes it a customer, it syncs.
#[tokio::test]
async fn a_prospect_account_outside_the_salesforce_filter_becomes_no_business_partner_until_it_is_a_customer() {
    let mut stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    stack.mapping = Arc::new(customer_accounts_only());
    let account = |name: &str, kind: &str| {
        stack.sf_sandbox.create_record("Account", json!({"Name": name, "Type": kind, "BillingCity": "Berlin"})).unwrap()
    };
    let prospect = account("Maybe GmbH", "Prospect");
    let customer = account("Sure AG", "Customer - Direct");
    let key = |id: &str| format!("sf:Account:{id}");
    stack.to_sap.send(&[replay(&key(&prospect), "v1"), replay(&key(&customer), "v1")]).await.unwrap();

    let stats = stack.drain(u64::MAX).await.unwrap();

    assert_eq!(stats.dead_lettered, 0, "{stats:?}");
    let code_of =
        |id: &str| stack.sf_sandbox.record("Account", id).unwrap()["SAP_CardCode__c"].as_str().map(String::from);
    let customer_code = code_of(&customer).expect("the customer got its business partner");
    assert!(stack.sap_sandbox.business_partner(&customer_code).is_some());
    assert_eq!(code_of(&prospect), None, "no business partner for the prospect");
    let trail = stack.audit.for_record(&key(&prospect)).await.unwrap();
    assert!(trail.iter().any(|e| e.action == AuditAction::SkipFiltered && e.outcome == Outcome::Skipped), "{trail:?}");

    stack.sf_sandbox.update_record("Account", &prospect, json!({"Type": "Customer - Channel"})).unwrap();
    stack.to_sap.send(&[replay(&key(&prospect), "v2")]).await.unwrap();
    stack.drain(u64::MAX).await.unwrap();
    let code = code_of(&prospect).expect("a customer now");
    assert!(stack.sap_sandbox.business_partner(&code).is_some());
}
