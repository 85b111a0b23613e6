//! `b1force demo`: Closed Won opportunities become SAP sales orders, end to end, in one process.
//!
//! Salesforce (sandbox) → CDC events, each delivered more than once → sf-receiver → to-sap.fifo
//! (embedded) → sap-writer → SAP (sandbox) → write-back to Salesforce → the write-back's own CDC
//! events come back and are dropped as echoes; then SAP → Salesforce, whose sObject Collections
//! writes come back untagged on the strict sandbox and are dropped as echoes by content.

use crate::local::{LocalOptions, LocalStack, change_event};
use shared::domain::state::Direction;
use shared::engine::sf_writer::SfWriterSettings;
use shared::ports::Outcome;
use std::collections::BTreeMap;
use std::time::Instant;

/// Demo knobs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub opportunities: usize,
    /// How many times each CDC event is delivered.
    pub deliveries: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self { opportunities: 25, deliveries: 2 }
    }
}

/// API calls one system received, by endpoint.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApiCalls {
    pub total: u64,
    pub logins: u64,
    pub by_endpoint: BTreeMap<String, u64>,
}

/// What the demo did, measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoReport {
    pub opportunities: usize,
    pub events_delivered: usize,
    pub orders_created: u64,
    pub orders_linked: u64,
    pub duplicates_prevented: u64,
    pub echoes_dropped: u64,
    /// Notifications our own writes caused, F1's write-backs and the SAP → Salesforce sync's
    /// collection writes together (should be 0).
    pub work_from_echoes: u64,
    pub failures: u64,
    pub sap_orders_in_sap: usize,
    /// Sales orders beyond the first carrying one opportunity id (should be 0).
    pub duplicate_sap_orders: usize,
    /// Order drafts SAP holds (an approval procedure; should be 0 in the demo company).
    pub sap_order_drafts: usize,
    pub api_calls: BTreeMap<&'static str, ApiCalls>,
    pub sap_calls_per_order: f64,
    pub salesforce_calls_per_order: f64,
    pub elapsed_ms: u128,
    pub records_per_sec: f64,
    /// SAP → Salesforce (F4–F7) after the orders: every SAP entity polled, the sf-writer drained.
    pub sap_to_salesforce: SapToSalesforce,
    /// After the deal: a won deal lost, duplicate accounts merged (#14 items 4 and 5).
    pub after_the_deal: AfterTheDeal,
    /// Quotes (#14 item 2; F1 `quote_statuses` switched on for this step: off as shipped).
    pub quotes: Quotes,
}

/// A quote approved, its deal won, and what SAP and the quote show.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Quotes {
    /// Synced quotes set to Approved.
    pub quotes_approved: u64,
    /// SAP sales quotations made from them (one each, whatever the duplicates).
    pub quotations_created: u64,
    /// Won deals whose SAP order was copied from their quotation (every line `BaseType` 23).
    pub orders_copied_from_quotations: u64,
    /// Quotes whose `SAP_Quotation_Status__c` says Closed once the order copied the quotation.
    pub quotes_closed: u64,
    pub dead_lettered: u64,
}

/// What changed after the orders, and what the pipeline did about it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AfterTheDeal {
    /// Won deals set to Closed Lost before anything was delivered: their SAP orders cancelled.
    pub deals_lost: u64,
    pub orders_cancelled: u64,
    /// Account merges in Salesforce (one winner without a partner, one with).
    pub accounts_merged: u64,
    /// Losers' partners handed to a winner without one (the CardCode moved).
    pub partners_moved: u64,
    /// Losers' partners deactivated because the winner has its own (never deleted).
    pub partners_deactivated: u64,
    pub dead_lettered: u64,
}

/// What the SAP → Salesforce half of the demo synced.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SapToSalesforce {
    /// Business partners written to accounts (with their contacts).
    pub accounts: u64,
    /// Sales orders and deliveries written to their opportunities.
    pub orders: u64,
    /// Invoices and credit notes written to invoice records.
    pub invoices: u64,
    /// Incoming payments written to their accounts' payment status.
    pub payments: u64,
    /// Items written to products (with their standard prices).
    pub products: u64,
    /// Sales orders entered in SAP that are Salesforce Orders, and how many of them carry products.
    pub salesforce_orders: u64,
    pub salesforce_orders_with_products: u64,
    /// Their order products (one per SAP line, in the standard price book).
    pub order_products: u64,
    /// Rows with nothing to write (unchanged, or an order without an opportunity).
    pub skipped: u64,
    pub dead_lettered: u64,
    /// Salesforce write calls (sObject Collections) for all of it.
    pub salesforce_write_calls: u64,
    /// CDC events those writes caused that the sf-receiver watches (on the strict sandbox they carry
    /// no `changeOrigin` tag: sObject Collections ignore `Sforce-Call-Options`).
    pub change_events: u64,
    /// How many of them carried our client tag.
    pub tagged_events: u64,
    /// Records the receiver dropped as our own echoes.
    pub echoes_dropped: u64,
    /// Notifications they caused (should be 0).
    pub work_from_echoes: u64,
}

impl DemoReport {
    /// A short summary for people.
    pub fn human(&self) -> String {
        let sap = &self.api_calls["sap"];
        let sf = &self.api_calls["salesforce"];
        format!(
            "B1Force demo: {opps} Closed Won opportunities, {events} CDC deliveries\n\
             \x20 SAP sales orders created      {created}\n\
             \x20 duplicate deliveries stopped  {dups}\n\
             \x20 echoes of our writes dropped  {echoes}\n\
             \x20 failures (dead-lettered)      {fail}\n\
             \x20 SAP calls                     {sap_total} ({sap_per:.2} per order, {logins} login)\n\
             \x20 Salesforce calls              {sf_total} ({sf_per:.2} per order, {tokens} token request)\n\
             \x20 elapsed                       {ms} ms ({rps:.0} orders/s)\n\
             SAP -> Salesforce: every SAP entity polled, written in sObject Collections\n\
             \x20 accounts                      {accounts}\n\
             \x20 orders and deliveries         {sap_orders}\n\
             \x20 invoices and credit notes     {invoices}\n\
             \x20 payments                      {payments}\n\
             \x20 products                      {products}\n\
             \x20 Salesforce Orders from SAP    {sf_orders} ({with_products} with products, {order_products} products)\n\
             \x20 failures (dead-lettered)      {sync_fail}\n\
             \x20 Salesforce write calls        {sf_writes}\n\
             \x20 their change events           {sync_events} ({tagged} tagged): {sync_echoes} echoes, {sync_work} work\n\
             After the deal\n\
             \x20 deals lost, orders cancelled  {lost}, {cancelled}\n\
             \x20 accounts merged               {merged} ({moved} partner moved to the winner, {deactivated} deactivated)\n\
             Quotes (quote_statuses on for this step)\n\
             \x20 quotes approved, quotations   {approved}, {quotations}\n\
             \x20 orders copied from them       {copied} ({closed} quote says Closed)\n",
            opps = self.opportunities,
            events = self.events_delivered,
            created = self.orders_created,
            dups = self.duplicates_prevented,
            echoes = self.echoes_dropped,
            fail = self.failures,
            sap_total = sap.total,
            sap_per = self.sap_calls_per_order,
            logins = sap.logins,
            sf_total = sf.total,
            sf_per = self.salesforce_calls_per_order,
            tokens = sf.logins,
            ms = self.elapsed_ms,
            rps = self.records_per_sec,
            accounts = self.sap_to_salesforce.accounts,
            sap_orders = self.sap_to_salesforce.orders,
            invoices = self.sap_to_salesforce.invoices,
            payments = self.sap_to_salesforce.payments,
            products = self.sap_to_salesforce.products,
            sf_orders = self.sap_to_salesforce.salesforce_orders,
            with_products = self.sap_to_salesforce.salesforce_orders_with_products,
            order_products = self.sap_to_salesforce.order_products,
            sync_fail = self.sap_to_salesforce.dead_lettered,
            sf_writes = self.sap_to_salesforce.salesforce_write_calls,
            sync_events = self.sap_to_salesforce.change_events,
            tagged = self.sap_to_salesforce.tagged_events,
            sync_echoes = self.sap_to_salesforce.echoes_dropped,
            sync_work = self.sap_to_salesforce.work_from_echoes,
            lost = self.after_the_deal.deals_lost,
            cancelled = self.after_the_deal.orders_cancelled,
            merged = self.after_the_deal.accounts_merged,
            moved = self.after_the_deal.partners_moved,
            deactivated = self.after_the_deal.partners_deactivated,
            approved = self.quotes.quotes_approved,
            quotations = self.quotes.quotations_created,
            copied = self.quotes.orders_copied_from_quotations,
            closed = self.quotes.quotes_closed,
        )
    }
}

/// CDC events for the Opportunity changes Salesforce logged after the first `skip` changes.
fn opportunity_changes_since(stack: &LocalStack, skip: usize) -> Vec<serde_json::Value> {
    stack.sf_sandbox.changes().iter().skip(skip).filter(|c| c.entity == "Opportunity").map(change_event).collect()
}

/// Runs the demo on a fresh local stack.
pub async fn run(options: DemoOptions) -> anyhow::Result<DemoReport> {
    let stack = LocalStack::start(LocalOptions::default()).await?;
    run_on(&stack, &options).await
}

/// Runs the demo on a given stack (the benchmark and tests use this to inspect it afterwards).
pub async fn run_on(stack: &LocalStack, options: &DemoOptions) -> anyhow::Result<DemoReport> {
    let already_logged = stack.sf_sandbox.changes().len();
    let ids = stack.sf_sandbox.seed_closed_won(options.opportunities);
    let started = Instant::now();

    // Salesforce emits a CDC event per change; Event Relay delivers each at least once.
    let wins = opportunity_changes_since(stack, already_logged);
    let mut enqueued = 0u64;
    let mut delivered = 0usize;
    for event in &wins {
        for _ in 0..options.deliveries.max(1) {
            enqueued += stack.receiver().receive(event).await?.enqueued as u64;
            delivered += 1;
        }
    }
    let queued_unique = stack.to_sap.len() as u64;
    let after_wins = stack.sf_sandbox.changes().len();
    let stats = stack.drain(u64::MAX).await?;

    // Our write-backs change the opportunities too; their events carry client=b1force and must do nothing.
    let (mut echoes, mut work_from_echoes) = (0u64, 0u64);
    for event in &opportunity_changes_since(stack, after_wins) {
        let report = stack.receiver().receive(event).await?;
        echoes += report.echoes_dropped as u64;
        work_from_echoes += report.enqueued as u64;
    }
    let elapsed = started.elapsed();

    let sap_calls = ApiCalls {
        total: stack.sap_sandbox.calls().total(),
        logins: stack.sap_sandbox.calls().matching("POST /Login"),
        by_endpoint: stack.sap_sandbox.calls().snapshot(),
    };
    let sf_tokens = stack.sf_sandbox.calls().matching("POST /services/oauth2/token");
    let sf_calls = ApiCalls {
        total: stack.sf_sandbox.calls().total(),
        logins: sf_tokens,
        by_endpoint: stack.sf_sandbox.calls().snapshot(),
    };
    let orders = stats.created.max(1) as f64;
    let sap_to_salesforce = sync_from_sap(stack).await?;
    let after_the_deal = after_the_deal(stack, &ids[..1]).await?;
    let quotes = quotes(stack).await?;
    let report = DemoReport {
        opportunities: ids.len(),
        events_delivered: delivered,
        orders_created: stats.created,
        orders_linked: stats.linked,
        duplicates_prevented: (enqueued - queued_unique.min(enqueued)) + stats.duplicates + stats.linked,
        echoes_dropped: echoes,
        work_from_echoes: work_from_echoes + sap_to_salesforce.work_from_echoes,
        failures: stats.dead_lettered,
        sap_orders_in_sap: stack.sap_sandbox.orders().len(),
        duplicate_sap_orders: duplicate_orders(&stack.sap_sandbox.orders()),
        sap_order_drafts: stack.sap_sandbox.documents("Drafts").len(),
        sap_calls_per_order: sap_calls.total as f64 / orders,
        salesforce_calls_per_order: sf_calls.total as f64 / orders,
        api_calls: BTreeMap::from([("sap", sap_calls), ("salesforce", sf_calls)]),
        elapsed_ms: elapsed.as_millis(),
        records_per_sec: stats.created as f64 / elapsed.as_secs_f64().max(1e-9),
        sap_to_salesforce,
        after_the_deal,
        quotes,
    };
    Ok(report)
}

/// F4–F7: polls every SAP entity and drains the sf-writer; counts what was written, by entity.
async fn sync_from_sap(stack: &LocalStack) -> anyhow::Result<SapToSalesforce> {
    let writes = |calls: &BTreeMap<String, u64>| -> u64 {
        calls.iter().filter(|(k, _)| k.contains("composite/sobjects") && !k.starts_with("GET")).map(|(_, v)| v).sum()
    };
    let before = writes(&stack.sf_sandbox.calls().snapshot());
    let logged = stack.sf_sandbox.changes().len();
    let (_, run) = stack.sync_from_sap(SfWriterSettings::default()).await?;
    // Salesforce emits a CDC event for every record written; the receiver must find them all ours.
    let (mut change_events, mut tagged_events, mut echoes_dropped, mut work_from_echoes) = (0, 0, 0, 0);
    for change in stack.sf_sandbox.changes().iter().skip(logged) {
        if shared::domain::objects::salesforce_object(&change.entity).is_none() {
            continue; // not on the CDC channel the receiver subscribes to
        }
        change_events += 1;
        tagged_events += u64::from(!change.change_origin.is_empty());
        let report = stack.receiver().receive(&change_event(change)).await?;
        echoes_dropped += report.echoes_dropped as u64;
        work_from_echoes += report.enqueued as u64;
    }
    let mut synced = SapToSalesforce {
        skipped: run.skipped,
        dead_lettered: run.dead_lettered,
        salesforce_write_calls: writes(&stack.sf_sandbox.calls().snapshot()) - before,
        change_events,
        tagged_events,
        echoes_dropped,
        work_from_echoes,
        ..SapToSalesforce::default()
    };
    let written =
        stack.audit.all().into_iter().filter(|e| e.direction == Direction::SapToSf && e.outcome == Outcome::Succeeded);
    for entry in written {
        let entity = entry.record_key.split(':').nth(1).unwrap_or_default().to_string();
        match entity.as_str() {
            "BusinessPartners" => synced.accounts += 1,
            "Orders" | "DeliveryNotes" => synced.orders += 1,
            "Invoices" | "CreditNotes" => synced.invoices += 1,
            "IncomingPayments" => synced.payments += 1,
            "Items" => synced.products += 1,
            _ => {}
        }
    }
    let from_sap: Vec<serde_json::Value> =
        stack.sf_sandbox.records("Order").into_iter().filter(|o| o["SAP_Order_Key__c"].is_string()).collect();
    let products: Vec<serde_json::Value> =
        stack.sf_sandbox.records("OrderItem").into_iter().filter(|p| p["SAP_Line_Key__c"].is_string()).collect();
    synced.salesforce_orders = from_sap.len() as u64;
    synced.salesforce_orders_with_products =
        from_sap.iter().filter(|o| products.iter().any(|p| p["OrderId"] == o["Id"])).count() as u64;
    synced.order_products = products.len() as u64;
    Ok(synced)
}

/// Every change Salesforce logged since `cursor`, delivered once as its CDC event, then drained.
async fn deliver_since(stack: &LocalStack, cursor: usize) -> anyhow::Result<shared::engine::drain::DrainStats> {
    for change in stack.sf_sandbox.changes().iter().skip(cursor) {
        // Objects without a flow are refused by the receiver (and audited): nothing to do here.
        let _ = stack.receiver().receive(&change_event(change)).await;
    }
    Ok(stack.drain(u64::MAX).await?)
}

/// `lost` deals set to Closed Lost; two account merges: one into a new account without a partner
/// (its partner moves), one between two accounts that each have one (the loser's is deactivated).
async fn after_the_deal(stack: &LocalStack, lost: &[String]) -> anyhow::Result<AfterTheDeal> {
    use shared::ports::AuditAction;
    let sf = &stack.sf_sandbox;
    let cursor = sf.changes().len();
    for deal in lost {
        sf.update_record("Opportunity", deal, serde_json::json!({"StageName": "Closed Lost"}))?;
    }
    let customer = |name: &str| sf.create_record("Account", serde_json::json!({"Name": name, "Type": "Customer"}));
    let (kept, first_dup, second_dup) =
        (customer("Avocet Marine")?, customer("Avocet Marine Ltd")?, customer("Curlew Farms")?);
    let mut dead_lettered = deliver_since(stack, cursor).await?.dead_lettered;
    let cursor = sf.changes().len();
    let newcomer = customer("Curlew Farms GmbH")?;
    sf.merge_records("Account", &kept, &[first_dup.as_str()])?;
    sf.merge_records("Account", &newcomer, &[second_dup.as_str()])?;
    dead_lettered += deliver_since(stack, cursor).await?.dead_lettered;
    let count = |action: AuditAction| stack.audit.all().iter().filter(|e| e.action == action).count() as u64;
    Ok(AfterTheDeal {
        deals_lost: lost.len() as u64,
        orders_cancelled: count(AuditAction::CancelOrder),
        accounts_merged: 2,
        partners_moved: count(AuditAction::MovePartnerLink),
        partners_deactivated: count(AuditAction::DeactivateBusinessPartner),
        dead_lettered,
    })
}

/// A deal of C20000 quoted (two lines, one discounted), the quote synced and approved, the deal
/// won, then SAP polled: with the quote flow switched on for this step only (a writer and a poller
/// of their own; the shipped mapping keeps quotes off).
async fn quotes(stack: &LocalStack) -> anyhow::Result<Quotes> {
    use serde_json::json;
    let sf = &stack.sf_sandbox;
    let on = shared::mapping::file::MappingFile::shipped_text()
        .replace("quote_statuses = []", r#"quote_statuses = ["Approved", "Presented"]"#);
    let mut writer = stack.writer();
    writer.flows.mapping = std::sync::Arc::new(shared::mapping::file::MappingFile::parse(&on, "demo-quotes.toml")?);
    let entry = |code: &str| -> Option<(String, serde_json::Value)> {
        let entry = sf.records("PricebookEntry").into_iter().find(|e| e["ProductCode"] == code)?;
        Some((entry["Id"].as_str()?.to_string(), entry["UnitPrice"].clone()))
    };
    let account = sf.records("Account").into_iter().find(|a| a["SAP_CardCode__c"] == "C20000");
    let (Some(account), Some(first), Some(second)) = (account, entry("A00001"), entry("A00002")) else {
        return Ok(Quotes::default());
    };
    let cursor = sf.changes().len();
    let deal = json!({"Name": "Quoted demo deal", "AccountId": account["Id"], "StageName": "Proposal/Price Quote",
                      "CloseDate": "2026-12-31"});
    let opp = sf.create_record("Opportunity", deal)?;
    let quote = sf.create_record("Quote", json!({"Name": "Demo quote", "OpportunityId": opp}))?;
    for ((entry, price), (quantity, discount)) in [first, second].into_iter().zip([(3, 10.0), (1, 0.0)]) {
        let line = json!({"QuoteId": quote, "PricebookEntryId": entry, "Quantity": quantity, "UnitPrice": price,
                          "Discount": discount});
        sf.create_record("QuoteLineItem", line)?;
    }
    sf.update_record("Opportunity", &opp, json!({"SyncedQuoteId": quote}))?;
    sf.update_record("Quote", &quote, json!({"Status": "Approved"}))?;
    let mut dead_lettered = deliver_with(stack, &writer, cursor).await?;
    let cursor = sf.changes().len();
    sf.update_record("Opportunity", &opp, json!({"StageName": "Closed Won"}))?;
    dead_lettered += deliver_with(stack, &writer, cursor).await?;
    let mut poller = stack.poller();
    poller.settings.switched_off.clear();
    for entity in ["Quotations", "Orders"] {
        poller.run(entity, "demo-quotes").await?;
    }
    dead_lettered +=
        stack.sf_writer(SfWriterSettings::default()).run(stack.clock.now_millis() + 3_600_000).await?.dead_lettered;
    let quotations =
        stack.sap_sandbox.documents("Quotations").into_iter().filter(|q| q["U_SF_QuoteId"] == quote.as_str()).count();
    let copied = stack
        .sap_sandbox
        .orders()
        .iter()
        .filter(|o| o["U_SF_OpportunityId"] == opp.as_str())
        .any(|o| o["DocumentLines"].as_array().is_some_and(|lines| lines.iter().all(|l| l["BaseType"] == 23)));
    let closed = sf.record("Quote", &quote).is_some_and(|q| q["SAP_Quotation_Status__c"] == "Closed");
    Ok(Quotes {
        quotes_approved: 1,
        quotations_created: quotations as u64,
        orders_copied_from_quotations: u64::from(copied),
        quotes_closed: u64::from(closed),
        dead_lettered,
    })
}

/// Every change since `cursor` delivered once as its CDC event, drained by `writer`; dead letters.
async fn deliver_with(
    stack: &LocalStack,
    writer: &shared::engine::sap_writer::SapWriter,
    cursor: usize,
) -> anyhow::Result<u64> {
    for change in stack.sf_sandbox.changes().iter().skip(cursor) {
        let _ = stack.receiver().receive(&change_event(change)).await;
    }
    let stats =
        shared::engine::drain::drain(stack.to_sap.as_ref(), writer, stack.clock.as_ref(), 60_000, 0, u64::MAX).await?;
    Ok(stats.dead_lettered)
}

/// Orders beyond the first that carry the same opportunity id.
fn duplicate_orders(orders: &[serde_json::Value]) -> usize {
    let mut seen = std::collections::HashSet::new();
    orders.iter().filter_map(|o| o["U_SF_OpportunityId"].as_str()).filter(|id| !seen.insert(id.to_string())).count()
}
