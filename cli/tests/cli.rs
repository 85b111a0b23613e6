//! The `b1force` binary as a user runs it.

use serde_json::json;
use std::process::Command;

fn b1force() -> Command {
    Command::new(env!("CARGO_BIN_EXE_b1force"))
}

fn repo(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_demo_prints_one_json_object_with_orders_calls_and_timing() {
    let out = b1force().args(["demo", "--json", "--opportunities", "12"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    assert_eq!(report["orders_created"], 12);
    assert_eq!(report["failures"], 0);
    assert!(report["duplicates_prevented"].as_u64().unwrap() >= 12, "{report}");
    assert!(report["echoes_dropped"].as_u64().unwrap() >= 12, "every write-back echoed: {report}");
    assert_eq!(report["work_from_echoes"], 0);
    assert_eq!((&report["duplicate_sap_orders"], &report["sap_order_drafts"]), (&json!(0), &json!(0)), "{report}");
    assert_eq!(report["api_calls"]["sap"]["logins"], 1);
    assert!(report["elapsed_ms"].is_u64());
    // SAP -> Salesforce: the seeded partners, invoices, payments and items, with no failure.
    let synced = &report["sap_to_salesforce"];
    for (what, at_least) in [("accounts", 50), ("invoices", 50), ("payments", 1), ("products", 40), ("orders", 1)] {
        assert!(synced[what].as_u64().unwrap() >= at_least, "{what}: {synced}");
    }
    assert_eq!(synced["dead_lettered"], 0, "{synced}");
    // The strict sandbox leaves collection writes untagged (#12 item 8): every echo is known by content.
    assert!(synced["change_events"].as_u64().unwrap() >= 50, "{synced}");
    assert_eq!(synced["tagged_events"], 0, "{synced}");
    assert_eq!(synced["echoes_dropped"], synced["change_events"], "{synced}");
    assert_eq!(synced["work_from_echoes"], 0, "{synced}");
    // After the deal: the lost deal's order cancelled once; one partner moved, one deactivated.
    let after = &report["after_the_deal"];
    assert_eq!(
        (&after["orders_cancelled"], &after["partners_moved"], &after["partners_deactivated"], &after["dead_lettered"]),
        (&json!(1), &json!(1), &json!(1), &json!(0)),
        "{after}"
    );
    // Quotes (on for that step): one quotation, the won deal's order copied from it, the quote Closed.
    assert_eq!(
        report["quotes"],
        json!({"quotes_approved": 1, "quotations_created": 1, "orders_copied_from_quotations": 1, "quotes_closed": 1,
               "dead_lettered": 0}),
        "{report}"
    );
    // Sales orders entered in SAP are Orders with their lines as products.
    assert!(synced["salesforce_orders"].as_u64().unwrap() >= 1, "{synced}");
    assert_eq!(synced["salesforce_orders_with_products"], synced["salesforce_orders"], "{synced}");
    assert!(synced["order_products"].as_u64().unwrap() >= synced["salesforce_orders"].as_u64().unwrap(), "{synced}");
    let records: u64 = ["accounts", "invoices", "payments", "products", "orders", "order_products"]
        .iter()
        .map(|k| synced[k].as_u64().unwrap())
        .sum();
    // One call per kind of write (object and target: about a dozen) for the ~200 records.
    assert!(
        synced["salesforce_write_calls"].as_u64().unwrap() * 15 < records,
        "collections, not one call per record: {synced}"
    );
}

#[test]
fn invoke_runs_each_sample_event() {
    for (function, event) in [
        ("sf-receiver", "events/sf-receiver/opportunity-closed-won.json"),
        ("sap-writer", "events/sap-writer/to-sap-batch.json"),
        ("sap-poller", "events/sap-poller/BusinessPartners.json"),
        ("sap-webhook", "events/sap-webhook/handshake.json"),
    ] {
        let out = b1force().args(["invoke", function, "--event", &repo(event)]).output().unwrap();
        assert!(out.status.success(), "{function}: {}", String::from_utf8_lossy(&out.stderr));
        let _: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the handler's result as JSON");
    }
}

#[test]
fn invoke_with_a_bad_event_exits_non_zero_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("sf-receiver", "{not json", "not JSON"),
        (
            "sf-receiver",
            r#"{"detail": {"payload": {"ChangeEventHeader": {"entityName": "Widget__c"}}}}"#,
            "unknown object",
        ),
        ("sap-writer", r#"{"Records": "nope"}"#, "SQS event"),
        ("nonsense", "{}", "unknown function"),
    ];
    for (i, (function, body, expected)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("event{i}.json"));
        std::fs::write(&path, body).unwrap();
        let out = b1force().args(["invoke", function, "--event", path.to_str().unwrap()]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{function} {body} should fail");
        assert!(stderr.contains(expected), "stderr should say {expected:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
