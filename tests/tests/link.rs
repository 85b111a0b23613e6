//! `b1force link` (#17) on sandboxes seeded with overlapping data: exact (an existing link),
//! normalised (case, accents, legal forms, with postcode or city), ambiguous (duplicates inside one
//! system), conflicting and one-sided records; `--apply` idempotent and resumable; an operator's
//! corrected CSV; and afterwards the first full sync creates no second account for a linked partner.

use b1force_cli::link_cmd::{LinkOptions, write_review};
use b1force_cli::local::{LocalOptions, LocalStack};
use serde_json::{Value, json};
use shared::domain::link::{Decision, Verdict};
use shared::engine::sf_writer::SfWriterSettings;
use shared::flows::link::Records;
use shared::flows::link::review::{LinkReview, corrections};
use shared::ports::AuditAction;
use std::collections::BTreeMap;

/// A partner like C20000 under another code, name and bill-to address, linked to nothing.
fn partner(stack: &LocalStack, code: &str, name: &str, zip: &str, city: &str) {
    let mut row = stack.sap_sandbox.business_partner("C20000").unwrap();
    row["CardCode"] = json!(code);
    row["CardName"] = json!(name);
    row["FederalTaxID"] = json!(format!("TAX-{code}"));
    row["U_SF_AccountId"] = Value::Null;
    row["ContactEmployees"] = json!([]);
    for address in row["BPAddresses"].as_array_mut().unwrap() {
        address["BPCode"] = json!(code);
        address["ZipCode"] = json!(zip);
        address["City"] = json!(city);
    }
    stack.sap_sandbox.insert_business_partner(row);
}

fn account(stack: &LocalStack, fields: Value) -> String {
    let mut fields = fields;
    fields["Type"] = json!("Customer");
    stack.sf_sandbox.create_record("Account", fields).unwrap()
}

struct Overlap {
    muller: String,
    societe: String,
    globex: [String; 2],
    initech: String,
    hooli: String,
    only_here: String,
}

/// The seeded sandboxes (50 accounts naming their 50 partners one way, 10 prospects) plus cases.
fn overlap(stack: &LocalStack) -> Overlap {
    partner(stack, "B1", "Müller Maschinenbau GmbH", "80331", "München");
    partner(stack, "B2", "Société Générale S.A.", "75001", "Paris");
    partner(stack, "B3", "Globex", "10001", "New York");
    partner(stack, "B4", "Initech", "73301", "Austin");
    partner(stack, "B5", "Umbrella Corp", "30301", "Atlanta");
    partner(stack, "B6", "Hooli", "94043", "Mountain View");
    partner(stack, "B7", "HOOLI Inc.", "94043", "Mountain View");
    let muller = account(stack, json!({"Name": "MULLER MASCHINENBAU", "BillingPostalCode": "80331"}));
    let societe = account(stack, json!({"Name": "Societe Generale", "BillingCity": "paris"}));
    let globex = [
        account(stack, json!({"Name": "Globex Inc", "BillingPostalCode": "10001"})),
        account(stack, json!({"Name": "GLOBEX", "BillingPostalCode": "10001"})),
    ];
    let initech = account(stack, json!({"Name": "Initech", "SAP_CardCode__c": "B4"}));
    // B4 already names another account: a conflict, whichever side is right.
    let other = account(stack, json!({"Name": "Initech (old)"}));
    stack.sap_sandbox.user_update("BusinessPartners", "B4", json!({"U_SF_AccountId": other})).unwrap();
    let hooli = account(stack, json!({"Name": "Hooli", "BillingPostalCode": "94043"}));
    let only_here = account(stack, json!({"Name": "Only In Salesforce Ltd"}));
    Overlap { muller, societe, globex, initech, hooli, only_here }
}

fn find<'d>(decisions: &'d [Decision], sf: Option<&str>, sap: Option<&str>) -> &'d Decision {
    decisions
        .iter()
        .find(|d| (sf.is_none() || d.salesforce_id.as_deref() == sf) && (sap.is_none() || d.sap_key.as_deref() == sap))
        .unwrap_or_else(|| panic!("no decision for {sf:?} / {sap:?}"))
}

fn accounts_by_code(stack: &LocalStack) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for account in stack.sf_sandbox.records("Account") {
        if let Some(code) = account["SAP_CardCode__c"].as_str() {
            *counts.entry(code.to_string()).or_default() += 1;
        }
    }
    counts
}

fn link_writes(stack: &LocalStack) -> usize {
    stack.audit.all().iter().filter(|e| e.action == AuditAction::LinkExisting).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_finds_every_case_and_a_dry_run_writes_nothing() {
    let stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    let case = overlap(&stack);
    stack.sf_sandbox.calls().reset();
    let review = stack.linker().review(Records::Accounts, "dry", None).await.unwrap();
    let d = &review.decisions;

    let muller = find(d, Some(&case.muller), Some("B1"));
    assert_eq!((muller.verdict, muller.rule.as_deref()), (Verdict::Matched, Some("name+postcode")));
    let societe = find(d, Some(&case.societe), Some("B2"));
    assert_eq!((societe.verdict, societe.rule.as_deref()), (Verdict::Matched, Some("name+city")));
    for globex in &case.globex {
        let ambiguous = find(d, Some(globex), None);
        assert_eq!(
            (ambiguous.verdict, ambiguous.candidates.as_slice()),
            (Verdict::Ambiguous, ["B3".to_string()].as_slice())
        );
    }
    let b3 = find(d, None, Some("B3"));
    assert_eq!((b3.verdict, b3.candidates.len()), (Verdict::Ambiguous, 2), "two accounts of one company in Salesforce");
    let hooli = find(d, Some(&case.hooli), None);
    assert_eq!((hooli.verdict, hooli.candidates.clone()), (Verdict::Ambiguous, vec!["B6".into(), "B7".into()]));
    let initech = find(d, Some(&case.initech), Some("B4"));
    assert_eq!(initech.verdict, Verdict::Conflict);
    assert!(!initech.write_salesforce && !initech.write_sap);
    let seeded = find(d, None, Some("C20000"));
    assert_eq!((seeded.verdict, seeded.write_salesforce, seeded.write_sap), (Verdict::Linked, false, true));
    assert_eq!(find(d, None, Some("B5")).verdict, Verdict::OnlyInSap);
    assert_eq!(find(d, Some(&case.only_here), None).verdict, Verdict::OnlyInSalesforce);
    let totals = shared::domain::link::totals(d);
    assert_eq!((totals["matched"], totals["linked"], totals["conflict"]), (2, 50, 1), "{totals:?}");

    // Nothing written: Salesforce was only queried, SAP only read; no link audited.
    let sf = stack.sf_sandbox.calls().snapshot();
    assert!(sf.keys().all(|k| k.starts_with("GET") || k.contains("oauth2")), "{sf:?}");
    assert!(stack.sap_sandbox.calls().snapshot().keys().all(|k| k.starts_with("GET") || k.contains("Login")));
    assert_eq!(link_writes(&stack), 0);
    assert_eq!(stack.sap_sandbox.business_partner("C20000").unwrap()["U_SF_AccountId"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_links_both_ways_is_idempotent_resumes_after_a_kill_and_the_first_sync_creates_nothing_twice() {
    let stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    let case = overlap(&stack);
    let linker = stack.linker();

    // Killed after the Salesforce writes, before any SAP one.
    let first = linker.review(Records::Accounts, "first", None).await.unwrap();
    let salesforce_only: Vec<Decision> =
        first.decisions.iter().cloned().map(|d| Decision { write_sap: false, ..d }).collect();
    let killed = LinkReview { decisions: salesforce_only, ..first.clone() };
    let partial = linker.apply(&killed, "first").await.unwrap();
    assert_eq!((partial.salesforce_written, partial.sap_written, partial.failed.len()), (2, 0, 0));

    // Run again: the written pairs are now linked one way, and only their SAP side is written.
    let again = linker.review(Records::Accounts, "again", None).await.unwrap();
    let muller = find(&again.decisions, Some(&case.muller), Some("B1"));
    assert_eq!((muller.verdict, muller.write_salesforce, muller.write_sap), (Verdict::Linked, false, true));
    let applied = linker.apply(&again, "again").await.unwrap();
    assert_eq!((applied.salesforce_written, applied.sap_written), (0, 52), "50 seeded + Müller + Société");
    assert_eq!(stack.sap_sandbox.business_partner("B1").unwrap()["U_SF_AccountId"], json!(case.muller));
    assert_eq!(stack.sap_sandbox.business_partner("B2").unwrap()["U_SF_AccountId"], json!(case.societe));
    let audited = link_writes(&stack);
    assert_eq!(audited, 54, "one audit entry per link written");

    // Idempotent: a third run writes nothing.
    let third = linker.review(Records::Accounts, "third", None).await.unwrap();
    assert!(third.decisions.iter().all(|d| !d.write_salesforce && !d.write_sap));
    let none = linker.apply(&third, "third").await.unwrap();
    assert_eq!((none.salesforce_written, none.sap_written), (0, 0));
    assert_eq!(link_writes(&stack), audited);
    // Never overwritten: the conflict stays as it was on both sides.
    assert_eq!(find(&third.decisions, Some(&case.initech), Some("B4")).verdict, Verdict::Conflict);
    assert_ne!(stack.sap_sandbox.business_partner("B4").unwrap()["U_SF_AccountId"], json!(case.initech));

    // The operator settles the ambiguous ones in the CSV: Globex is the first account, Hooli is B6.
    let dir = tempfile::tempdir().unwrap();
    write_review(&third, dir.path()).unwrap();
    let mut csv = std::fs::read_to_string(dir.path().join("link-review.csv")).unwrap();
    csv.push_str(&format!("link,ambiguous,{},B3,,,,,,\r\nlink,ambiguous,{},B6,,,,,,\r\n", case.globex[0], case.hooli));
    let rows = corrections(&csv).unwrap();
    let corrected = linker.review(Records::Accounts, "corrected", Some(&rows)).await.unwrap();
    assert!(corrected.decisions.iter().all(|d| d.verdict != Verdict::Conflict), "{:?}", corrected.decisions);
    let settled = linker.apply(&corrected, "corrected").await.unwrap();
    assert_eq!((settled.salesforce_written, settled.sap_written), (2, 2));

    // The first full sync SAP -> Salesforce: one account per partner, none created for a linked one.
    let accounts_before = stack.sf_sandbox.records("Account").len();
    let (_, run) = stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    assert_eq!(run.dead_lettered, 0, "{run:?}");
    let by_code = accounts_by_code(&stack);
    assert!(by_code.values().all(|n| *n == 1), "no partner has two accounts: {by_code:?}");
    for (code, account) in [("B1", &case.muller), ("B2", &case.societe), ("B3", &case.globex[0]), ("B6", &case.hooli)] {
        let linked: Vec<Value> =
            stack.sf_sandbox.records("Account").into_iter().filter(|a| a["SAP_CardCode__c"] == code).collect();
        assert_eq!(linked[0]["Id"], json!(account), "{code} stays on its linked account");
    }
    // New accounts only for the partners nobody linked: B5 (only in SAP) and B7 (Hooli's duplicate in SAP).
    assert_eq!(stack.sf_sandbox.records("Account").len(), accounts_before + 2);
}

#[tokio::test]
async fn the_command_writes_the_three_review_files_and_refuses_apply_without_an_audit_table() {
    let dir = tempfile::tempdir().unwrap();
    let options = LinkOptions {
        records: "accounts".into(),
        apply: false,
        decisions: None,
        out: dir.path().to_path_buf(),
        sandbox: true,
    };
    let mut printed = Vec::new();
    let review =
        b1force_cli::link_cmd::run(&options, &std::collections::HashMap::<String, String>::new(), &mut printed)
            .await
            .unwrap();
    let printed = String::from_utf8(printed).unwrap();
    assert!(printed.contains("dry run: nothing written"), "{printed}");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("link-review.json")).unwrap()).unwrap();
    assert_eq!(
        json["totals"]["linked"],
        json!(review.decisions.iter().filter(|d| d.verdict == Verdict::Linked).count())
    );
    let html = std::fs::read_to_string(dir.path().join("link-review.html")).unwrap();
    assert!(html.contains("id=\"count-linked\">50<"), "the totals are on the page");
    assert_eq!(std::fs::read_to_string(dir.path().join("link-review.csv")).unwrap().lines().count(), 61);

    let apply = LinkOptions { apply: true, sandbox: false, ..options };
    let settings: std::collections::HashMap<String, String> =
        [("SAP_URL", "https://sap.invalid:50000/b1s/v2")].map(|(k, v)| (k.to_string(), v.to_string())).into();
    let err = b1force_cli::link_cmd::run(&apply, &settings, &mut Vec::new()).await.unwrap_err();
    assert!(err.to_string().contains("AUDIT_TABLE"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_match_items_by_code_and_only_the_product_side_is_written() {
    let stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    let mut row = stack.sap_sandbox.item("A00001").unwrap();
    row["ItemCode"] = json!("N-100");
    row["ItemName"] = json!("New Pump");
    stack.sap_sandbox.insert_item(row);
    let product = stack
        .sf_sandbox
        .create_record("Product2", json!({"Name": "New pump (SF)", "ProductCode": "n-100", "IsActive": true}))
        .unwrap();
    let twin =
        stack.sf_sandbox.create_record("Product2", json!({"Name": "Pump again", "ProductCode": "A00001"})).unwrap();
    let linker = stack.linker();

    let review = linker.review(Records::Products, "products", None).await.unwrap();
    let matched = find(&review.decisions, Some(&product), Some("N-100"));
    assert_eq!((matched.verdict, matched.rule.as_deref()), (Verdict::Matched, Some("code")));
    assert!(matched.write_salesforce && !matched.write_sap, "items carry no link back");
    // A00001's item is linked to the seeded product already: the second product is not matched to it.
    assert_eq!(find(&review.decisions, Some(&twin), None).verdict, Verdict::OnlyInSalesforce);
    assert!(review.decisions.iter().all(|d| !d.write_sap));

    let applied = linker.apply(&review, "products").await.unwrap();
    assert_eq!((applied.salesforce_written, applied.sap_written), (1, 0));
    let products_before = stack.sf_sandbox.records("Product2").len();
    stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    let with_code: Vec<Value> =
        stack.sf_sandbox.records("Product2").into_iter().filter(|p| p["SAP_ItemCode__c"] == "N-100").collect();
    assert_eq!(with_code.len(), 1);
    assert_eq!(with_code[0]["Id"], json!(product), "the item updated its linked product");
    assert_eq!(stack.sf_sandbox.records("Product2").len(), products_before, "no product created twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_match_contact_persons_by_email_then_name_within_the_linked_company_both_ways() {
    let stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    // C20001's account is linked one way (seeded); its partner gets two people the account already has.
    let mut bp = stack.sap_sandbox.business_partner("C20001").unwrap();
    let person = |code: i64, first: &str, last: &str, email: Value| {
        json!({"InternalCode": code, "CardCode": "C20001", "Name": format!("{first} {last}"), "FirstName": first,
               "LastName": last, "E_Mail": email, "Active": "tYES", "U_SF_ContactId": null})
    };
    bp["ContactEmployees"] = json!([
        person(9001, "Jane", "Doe", json!("jane.doe@contoso.example")),
        person(9002, "Jörg", "Roe", Value::Null)
    ]);
    stack.sap_sandbox.insert_business_partner(bp);
    let account = stack.sf_sandbox.records("Account").into_iter().find(|a| a["SAP_CardCode__c"] == "C20001").unwrap();
    let account = account["Id"].as_str().unwrap().to_string();
    let contact = |fields: Value| stack.sf_sandbox.create_record("Contact", fields).unwrap();
    let jane = contact(
        json!({"AccountId": account, "FirstName": "Jane", "LastName": "DOE", "Email": "JANE.DOE@contoso.example"}),
    );
    let jorg = contact(json!({"AccountId": account, "FirstName": "Jorg", "LastName": "Roe"}));
    // The same name at a company the partner is not: not matched.
    let elsewhere = contact(json!({"FirstName": "Jorg", "LastName": "Roe"}));
    let linker = stack.linker();

    let review = linker.review(Records::Contacts, "contacts", None).await.unwrap();
    let by_email = find(&review.decisions, Some(&jane), Some("9001"));
    assert_eq!((by_email.verdict, by_email.rule.as_deref()), (Verdict::Matched, Some("email")));
    let by_name = find(&review.decisions, Some(&jorg), Some("9002"));
    assert_eq!((by_name.verdict, by_name.rule.as_deref()), (Verdict::Matched, Some("name+company")));
    assert_eq!(find(&review.decisions, Some(&elsewhere), None).verdict, Verdict::OnlyInSalesforce);

    let applied = linker.apply(&review, "contacts").await.unwrap();
    assert_eq!((applied.salesforce_written, applied.sap_written, applied.failed.len()), (2, 2, 0), "{applied:?}");
    let people = stack.sap_sandbox.business_partner("C20001").unwrap()["ContactEmployees"].clone();
    let linked: BTreeMap<i64, Value> = people
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["InternalCode"].as_i64().unwrap(), p["U_SF_ContactId"].clone()))
        .collect();
    assert_eq!((linked[&9001].clone(), linked[&9002].clone()), (json!(jane), json!(jorg)));
    let again = linker.review(Records::Contacts, "again", None).await.unwrap();
    assert!(again.decisions.iter().all(|d| !d.write_salesforce && !d.write_sap), "idempotent");

    // The first sync writes the partner's people onto the linked contacts, creating none for them
    // (the other partners' people, never linked, do get contacts).
    let on_account = |stack: &LocalStack| {
        stack.sf_sandbox.records("Contact").into_iter().filter(|c| c["AccountId"] == json!(account)).count()
    };
    let before = on_account(&stack);
    stack.sync_from_sap(SfWriterSettings::default()).await.unwrap();
    assert_eq!(on_account(&stack), before, "no second contact at the linked company");
    for (code, id) in [("9001", &jane), ("9002", &jorg)] {
        let twins: Vec<Value> =
            stack.sf_sandbox.records("Contact").into_iter().filter(|c| c["SAP_ContactCode__c"] == code).collect();
        assert_eq!(twins.len(), 1, "{code}");
        assert_eq!(twins[0]["Id"], json!(id));
    }
}
