//! Times both sandboxes at benchmark scale, over real HTTP with one client: N business partners and
//! N A/R invoices changed in SAP are read in keyset pages and in key batches, then written to
//! Salesforce with sObject Collections upserts and looked up again with SOQL `IN` queries.
//!
//! `cargo run --release -p b1force-sandbox --example scale [-- N]` (N per entity, default 100 000).

use anyhow::{Context, ensure};
use reqwest::{Client, Method};
use sandbox::{SalesforceOptions, SalesforceSandbox, SapOptions, SapSandbox};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Rows per keyset page, as the sap-poller asks for them.
const PAGE: usize = 1000;
/// Keys per batch read.
const BATCH: usize = 100;
/// Records per sObject Collections call (the documented maximum).
const COLLECTION: usize = 200;
/// The sandbox clock while seeding: every seeded row carries this UpdateDate/UpdateTime.
const DAY: &str = "2026-11-26";
const TIME: &str = "07:30:00";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(100_000);
    let http = Client::new();
    let sap = SapSandbox::start(SapOptions::default()).await?;
    sap.set_clock(Some(&format!("{DAY}T{TIME}")))?;
    let started = Instant::now();
    let codes = sap.seed_changed_business_partners(n);
    report("seed SAP business partners (no HTTP)", n, started.elapsed());
    let started = Instant::now();
    let entries = sap.seed_changed_invoices(n, &codes);
    report("seed SAP invoices (no HTTP)", n, started.elapsed());
    memory("after seeding SAP");

    let b1 = Sap::login(&http, &sap).await?;
    let started = Instant::now();
    let select = "CardCode,UpdateDate,UpdateTime,CardName,CreditLimit,CurrentAccountBalance,OpenOrdersBalance";
    let (pages, keys) = b1.keyset_pages("BusinessPartners", "CardCode", select).await?;
    ensure!(keys == codes.iter().map(|c| json!(c)).collect::<Vec<_>>(), "keyset pages missed or repeated partners");
    report(&format!("(a) SAP keyset pages, BusinessPartners ({pages} calls)"), n, started.elapsed());
    let started = Instant::now();
    let select = "DocEntry,UpdateDate,UpdateTime,DocNum,CardCode,DocTotal,PaidToDate,DocumentStatus";
    let (pages, keys) = b1.keyset_pages("Invoices", "DocEntry", select).await?;
    ensure!(keys == entries.iter().map(|e| json!(e)).collect::<Vec<_>>(), "keyset pages missed or repeated invoices");
    report(&format!("(a) SAP keyset pages, Invoices ({pages} calls)"), n, started.elapsed());

    let calls = n.div_ceil(BATCH);
    let started = Instant::now();
    for batch in codes.chunks(BATCH) {
        let terms: Vec<String> = batch.iter().map(|c| format!("CardCode eq '{c}'")).collect();
        b1.batch("BusinessPartners", &terms, "CardCode,CardName,CurrentAccountBalance,OpenOrdersBalance").await?;
    }
    report(&format!("(b) SAP key batches, BusinessPartners ({calls} calls)"), n, started.elapsed());
    let started = Instant::now();
    for batch in entries.chunks(BATCH) {
        let terms: Vec<String> = batch.iter().map(|e| format!("DocEntry eq {e}")).collect();
        b1.batch("Invoices", &terms, "DocEntry,DocNum,DocTotal,PaidToDate,DocumentStatus").await?;
    }
    report(&format!("(b) SAP key batches, Invoices ({calls} calls)"), n, started.elapsed());
    memory("after the SAP steps");

    let sf = SalesforceSandbox::start(SalesforceOptions { api_limit: 10_000_000, ..Default::default() }).await?;
    let org = Salesforce::connect(&http, &sf).await?;
    let calls = n.div_ceil(COLLECTION);
    let invoice = |entry: &i64| invoice(&sap.document("Invoices", *entry).unwrap_or_default());
    for (round, created) in [("create", true), ("update", false)] {
        let took = org.upsert("Account", "SAP_CardCode__c", &codes, |code| account(code), created).await?;
        report(&format!("(c) SF upserts ({round}), Account ({calls} calls)"), n, took);
        let took = org.upsert("SAP_Invoice__c", "SAP_Document_Key__c", &entries, invoice, created).await?;
        report(&format!("(c) SF upserts ({round}), SAP_Invoice__c ({calls} calls)"), n, took);
    }
    let started = Instant::now();
    for batch in codes.chunks(COLLECTION) {
        let values: Vec<String> = batch.iter().map(|c| format!("'{c}'")).collect();
        let soql = format!("SELECT Id, SAP_CardCode__c FROM Account WHERE SAP_CardCode__c IN ({})", values.join(","));
        let found = org.call(Method::GET, &format!("query?q={}", encode(&soql)), None).await?;
        ensure!(found["totalSize"] == batch.len(), "SOQL IN found {} of {}", found["totalSize"], batch.len());
    }
    report(&format!("(d) SF SOQL IN of {COLLECTION}, Account ({calls} calls)"), n, started.elapsed());
    memory("at the end");
    Ok(())
}

fn report(what: &str, rows: usize, took: Duration) {
    let rate = rows as f64 / took.as_secs_f64();
    println!("{what:<52} {:>8.3} s {:>12.0} rows/s", took.as_secs_f64(), rate);
}

/// Prints the resident memory of the process (Linux): both sandboxes and this client together.
fn memory(when: &str) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(rss) = status.lines().find(|l| l.starts_with("VmRSS:")) {
        println!("memory {when}: {}", rss.trim_start_matches("VmRSS:").trim());
    }
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A Service Layer session.
struct Sap<'a> {
    http: &'a Client,
    base: String,
    cookie: String,
}

impl<'a> Sap<'a> {
    async fn login(http: &'a Client, sap: &SapSandbox) -> anyhow::Result<Self> {
        let body = json!({"CompanyDB": sap.company_db(), "UserName": sap.user(), "Password": sap.password()});
        let login: Value = http.post(format!("{}/Login", sap.base_url())).json(&body).send().await?.json().await?;
        let session = login["SessionId"].as_str().context("no SessionId")?;
        Ok(Self { http, base: sap.base_url(), cookie: format!("B1SESSION={session}") })
    }

    async fn get(&self, path_and_query: &str, page_size: usize) -> anyhow::Result<Vec<Value>> {
        let response = self
            .http
            .get(format!("{}/{path_and_query}", self.base))
            .header("Cookie", &self.cookie)
            .header("Prefer", format!("odata.maxpagesize={page_size}"))
            .send()
            .await?;
        ensure!(response.status().is_success(), "{}: {}", response.status(), response.text().await?);
        let mut body: Value = response.json().await?;
        Ok(body["value"].as_array_mut().map(std::mem::take).unwrap_or_default())
    }

    /// Reads every row changed since the seed clock in keyset pages, as the sap-poller does; returns
    /// the number of calls and the keys in the order read.
    async fn keyset_pages(&self, set: &str, key: &str, select: &str) -> anyhow::Result<(usize, Vec<Value>)> {
        let options = format!("$orderby=UpdateDate asc,UpdateTime asc,{key} asc&$top={PAGE}&$select={select}");
        // OData v4 literals, as the sandbox's `$metadata` types them (docs/wire-notes.md §1).
        let mut filter = format!("UpdateDate ge {DAY}T00:00:00Z");
        let (mut calls, mut keys) = (0, Vec::new());
        loop {
            calls += 1;
            let page = self.get(&format!("{set}?$filter={}&{options}", encode(&filter)), PAGE).await?;
            let Some(last) = page.last() else { break };
            let after = match &last[key] {
                Value::String(code) => format!("'{code}'"),
                number => number.to_string(),
            };
            filter = format!(
                "(UpdateDate gt {DAY}T00:00:00Z) or (UpdateDate eq {DAY}T00:00:00Z and UpdateTime gt {TIME}) or \
                 (UpdateDate eq {DAY}T00:00:00Z and UpdateTime eq {TIME} and {key} gt {after})"
            );
            keys.extend(page.into_iter().map(|row| row[key].clone()));
        }
        Ok((calls, keys))
    }

    /// Reads the rows named by `terms` (`key eq literal`) in one call.
    async fn batch(&self, set: &str, terms: &[String], select: &str) -> anyhow::Result<()> {
        let filter = encode(&terms.join(" or "));
        let rows =
            self.get(&format!("{set}?$filter={filter}&$select={select}&$top={}", terms.len()), terms.len()).await?;
        ensure!(rows.len() == terms.len(), "a batch of {} found {}", terms.len(), rows.len());
        Ok(())
    }
}

/// A REST client with a token.
struct Salesforce<'a> {
    http: &'a Client,
    base: String,
    token: String,
}

impl<'a> Salesforce<'a> {
    async fn connect(http: &'a Client, sf: &SalesforceSandbox) -> anyhow::Result<Self> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", sf.client_id()),
            ("client_secret", sf.client_secret()),
        ];
        let token: Value =
            http.post(format!("{}/services/oauth2/token", sf.login_url())).form(&form).send().await?.json().await?;
        let token = token["access_token"].as_str().context("no access_token")?.to_string();
        Ok(Self { http, base: format!("{}/services/data/v63.0", sf.login_url()), token })
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let mut request = self.http.request(method, format!("{}/{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        ensure!(response.status().is_success(), "{}: {}", response.status(), response.text().await?);
        Ok(response.json().await?)
    }

    /// Upserts the records `record` makes of `sources`, in calls of [`COLLECTION`] with allOrNone
    /// false; every one must succeed as `created`. Returns the time spent in the calls: making the
    /// records is the sync's work, not the sandbox's.
    async fn upsert<S>(
        &self,
        object: &str,
        field: &str,
        sources: &[S],
        record: impl Fn(&S) -> Value,
        created: bool,
    ) -> anyhow::Result<Duration> {
        let mut took = Duration::ZERO;
        for chunk in sources.chunks(COLLECTION) {
            let body = json!({"allOrNone": false, "records": chunk.iter().map(&record).collect::<Vec<_>>()});
            let started = Instant::now();
            let results = self.call(Method::PATCH, &format!("composite/sobjects/{object}/{field}"), Some(body)).await?;
            took += started.elapsed();
            let results = results.as_array().context("collection results are an array")?;
            let bad = results.iter().find(|r| r["success"] != true || r["created"] != created);
            ensure!(bad.is_none(), "{object}: {}", bad.map(Value::to_string).unwrap_or_default());
        }
        Ok(took)
    }
}

/// The Account the sync would upsert for a seeded partner.
fn account(code: &str) -> Value {
    json!({"attributes": {"type": "Account"}, "SAP_CardCode__c": code, "Name": format!("Benchmark Customer {code}"),
           "Phone": "+1 555 0100", "SAP_Credit_Limit__c": 10000.0, "SAP_Balance__c": 950.0,
           "SAP_Open_Orders_Balance__c": 0.0, "SAP_Synced_At__c": "2026-11-26T07:31:00Z"})
}

/// The SAP_Invoice__c the sync would upsert for an SAP invoice, its account named by CardCode.
fn invoice(row: &Value) -> Value {
    let date = |field: &str| row[field].as_str().map(|d| d[..10].to_string());
    json!({
        "attributes": {"type": "SAP_Invoice__c"}, "SAP_Document_Key__c": format!("Invoices/{}", row["DocEntry"]),
        "Name": format!("INV-{}", row["DocNum"]), "SAP_DocEntry__c": row["DocEntry"], "SAP_DocNum__c": row["DocNum"],
        "SAP_CardCode__c": row["CardCode"], "Account__r": {"SAP_CardCode__c": row["CardCode"]}, "Type__c": "Invoice",
        "Invoice_Date__c": date("DocDate"), "Due_Date__c": date("DocDueDate"), "Amount__c": row["DocTotal"],
        "Tax_Amount__c": row["VatSum"], "Paid_Amount__c": row["PaidToDate"], "Currency__c": row["DocCurrency"],
        "Status__c": "Open", "Customer_Reference__c": row["NumAtCard"], "SAP_Synced_At__c": "2026-11-26T07:31:00Z",
    })
}
