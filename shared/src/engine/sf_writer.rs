//! sf-writer (F4–F7): SAP changes on `to-salesforce.fifo` become Salesforce records, 200 per call.
//!
//! A FIFO event source mapping hands a Lambda at most 10 messages, which would cost one Salesforce
//! call per 10 records; so the writer drains the queue itself, in rounds of up to
//! [`SfWriterSettings::round_size`] messages. Per round: one SAP read per entity per 100 keys
//! ([`crate::ports::SapRows`]), the mapping turns each row into writes ([`plan`]), a row whose
//! mapped content equals what we last wrote is skipped (re-reads, echoes), and the writes go out as
//! sObject Collections grouped by object, parents before children. Each record settles on its own:
//! written → deleted; rejected → audited with Salesforce's code and dead-lettered; transient
//! (locks, a parent not synced yet, limits) → back on the queue after a delay.
//!
//! The API budget guard: before each round the writer reads the last `Sforce-Limit-Info`; below
//! the headroom it stops and leaves the work queued, untouched (not received, so no receive count
//! moves towards the DLQ). A REQUEST_LIMIT_EXCEEDED ends the run; its messages return after a
//! jittered back-off.

use super::credit_alerts::{Standing, tell_owners};
use super::isolate::{Isolated, isolate};
use super::order_products::{PlacedOrder, write_order_products};
use super::trail::{Delivered, Trail, requeued_copy};
use crate::domain::date_of;
use crate::domain::redelivery::{Afterwards, Deliveries};
use crate::domain::state::Direction;
use crate::domain::{
    BillingContext, CardCode, EpochMillis, Notification, OpenInvoice, PaymentStanding, Record, RecordKey, SalesforceId,
    System,
};
use crate::error::{Error, ErrorClass, Result};
use crate::mapping::f3;
use crate::mapping::file::MappingFile;
use crate::mapping::plan::{self, ENTITY_ORDER, Target, Write};
use crate::ports::AuditAction;
use crate::ports::SyncState;
use crate::ports::{
    AuditLog, Clock, Outcome, OutgoingMessage, Queue, ReceivedMessage, SalesforceWrites, SapBilling, SapRows,
};
use rand::Rng;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tracing::Instrument;

/// Tuning of the sf-writer.
#[derive(Debug, Clone)]
pub struct SfWriterSettings {
    /// Messages per round (one SAP read per 100 keys, one Salesforce call per 200 records).
    pub round_size: usize,
    /// Stop when less than this share of the daily API allocation is left (0.1 = 10 %).
    pub min_headroom: f64,
    /// Seconds before a transiently failed message returns.
    pub retry_delay_secs: u32,
    /// After REQUEST_LIMIT_EXCEEDED, messages return after a random delay in this range (seconds).
    pub limit_backoff_secs: (u32, u32),
    /// Time kept free at the end of an invocation for settling the last round (audit, deletes).
    pub settle_margin_ms: i64,
    /// What one message is assumed to take before a round of this run was timed; later rounds are
    /// sized by the last round's time per message, so a round ends before the invocation does.
    pub first_round_ms_per_message: i64,
    /// The queue's `maxReceiveCount`: the writer settles a message itself before the redrive policy
    /// would move it unaudited ([`Deliveries`]).
    pub deliveries: Deliveries,
    /// A message is hidden this long before it is sent to the DLQ, so that an invocation dying before
    /// the delete hands it back within the DLQ's 5-minute deduplication window (the resend is dropped).
    pub dead_letter_hold_secs: u32,
}

impl Default for SfWriterSettings {
    fn default() -> Self {
        Self {
            round_size: 1000,
            min_headroom: 0.1,
            retry_delay_secs: 60,
            limit_backoff_secs: (300, 900),
            settle_margin_ms: 15_000,
            first_round_ms_per_message: 100,
            deliveries: Deliveries::default(),
            dead_letter_hold_secs: 120,
        }
    }
}

/// The sf-writer's ports.
pub struct SfWriter {
    pub sap: Arc<dyn SapRows>,
    /// Billing context for F6 payment status.
    pub billing: Arc<dyn SapBilling>,
    pub salesforce: Arc<dyn SalesforceWrites>,
    /// `to-salesforce.fifo`.
    pub queue: Arc<dyn Queue>,
    pub dead_letters: Arc<dyn Queue>,
    pub audit: Arc<dyn AuditLog>,
    pub state: Arc<dyn SyncState>,
    pub mapping: Arc<MappingFile>,
    pub clock: Arc<dyn Clock>,
    pub settings: SfWriterSettings,
    /// The configuration error the last round of this container stopped at: the next run first
    /// tries one message instead of a whole round, so an unfixed set-up burns one receive count.
    pub(crate) fault: std::sync::Mutex<Option<Arc<Error>>>,
}

/// Why a run ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Stop {
    /// Nothing visible was left.
    #[default]
    QueueEmpty,
    /// The API budget is below the headroom; the work stays queued.
    Budget { used: u64, max: u64 },
    /// Salesforce answered REQUEST_LIMIT_EXCEEDED; the round's messages return after a back-off.
    RequestLimit,
    /// Too little time was left for another round.
    Deadline,
    /// A configuration error (refused login, unknown field): the round's records are kept queued and
    /// the next run tries one message first.
    Configuration { code: String, error: String },
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct WriterRun {
    pub rounds: u64,
    pub messages: u64,
    /// Records written (each may be several Salesforce records: an account and its contacts).
    pub written: u64,
    pub skipped: u64,
    pub retried: u64,
    pub dead_lettered: u64,
    /// Records kept queued for a configuration error (never dead-lettered).
    pub held: u64,
    pub stopped: Stop,
    /// Per SAP invoice written: milliseconds from its change in SAP (the notification's
    /// `changed_at`) to its Salesforce write. For the invocation's metrics, not its result.
    #[serde(skip)]
    pub invoice_sync_lag_ms: Vec<i64>,
}

/// What becomes of one message.
#[derive(Clone)]
enum Verdict {
    Done {
        action: AuditAction,
        outcome: Outcome,
        target: Option<String>,
    },
    Retry {
        err: Arc<Error>,
        delay_secs: u32,
    },
    Dead {
        err: Arc<Error>,
    },
    /// A configuration error: kept queued, never dead-lettered.
    Held {
        err: Arc<Error>,
    },
}

/// One SAP record of a round and its writes.
struct Pending {
    record_key: String,
    /// The messages naming this record (a re-poll may have queued it twice).
    messages: Vec<usize>,
    writes: Vec<Write>,
    results: Vec<Option<std::result::Result<String, Arc<Error>>>>,
    digest: String,
    /// A write failed in a call with other records and the failure was not pinned on this one.
    unisolated: bool,
}

impl Pending {
    fn parents_ok(&self) -> bool {
        self.writes.iter().zip(&self.results).filter(|(w, _)| !w.child).all(|(_, r)| matches!(r, Some(Ok(_))))
    }

    fn first_error(&self) -> Option<Arc<Error>> {
        self.results.iter().find_map(|r| match r {
            Some(Err(e)) => Some(e.clone()),
            _ => None,
        })
    }
}

impl SfWriter {
    /// Drains the queue in rounds until it is empty, the budget guard or a request limit stops it,
    /// or `deadline` (epoch ms) is near.
    pub async fn run(&self, deadline: EpochMillis) -> Result<WriterRun> {
        let mut run = WriterRun::default();
        let mut probed = false;
        let mut ms_per_message = self.settings.first_round_ms_per_message.max(1);
        let mut probing = self.fault.lock().unwrap_or_else(|p| p.into_inner()).is_some();
        loop {
            let started = self.clock.now_millis();
            let size = self.round_size(deadline - started, ms_per_message, probing);
            if size == 0 {
                run.stopped = Stop::Deadline;
                break;
            }
            if let Some((used, max)) = self.budget_low(&mut probed).await {
                tracing::warn!(used, max, "Salesforce API budget below headroom; leaving work queued");
                run.stopped = Stop::Budget { used, max };
                break;
            }
            let received = self.receive_round(size).await?;
            if received.is_empty() {
                break;
            }
            run.rounds += 1;
            run.messages += received.len() as u64;
            let (settled, limit_hit) = self.process_round(&received).await;
            let fault = settled.iter().find_map(|(_, verdict)| match verdict {
                Verdict::Held { err } => Some(err.clone()),
                _ => None,
            });
            let mut done = Vec::with_capacity(received.len());
            for (message, (note, verdict)) in received.iter().zip(settled) {
                done.extend(self.settle(message, note.as_ref(), verdict, &mut run).await?);
            }
            self.queue.delete_many(&done).await?;
            let elapsed = self.clock.now_millis() - started;
            ms_per_message = (elapsed / received.len() as i64).max(1);
            *self.fault.lock().unwrap_or_else(|p| p.into_inner()) = fault.clone();
            if let Some(err) = fault {
                tracing::error!(error = %err, "configuration error; the work stays queued until the set-up is fixed");
                run.stopped = Stop::Configuration { code: err.code(), error: err.to_string() };
                break;
            }
            probing = false;
            if limit_hit {
                run.stopped = Stop::RequestLimit;
                break;
            }
        }
        tracing::info!(
            rounds = run.rounds,
            messages = run.messages,
            written = run.written,
            skipped = run.skipped,
            retried = run.retried,
            dead_lettered = run.dead_lettered,
            held = run.held,
            "sf-writer run done"
        );
        Ok(run)
    }

    /// (used, max) when less than the headroom is left. A low reading is checked once per run with
    /// a fresh one: the last reading may be hours old, and the rolling window may have freed calls.
    async fn budget_low(&self, probed: &mut bool) -> Option<(u64, u64)> {
        let low = |usage: Option<(u64, u64)>| {
            let (used, max) = usage?;
            let left = max.saturating_sub(used) as f64 / max.max(1) as f64;
            (left < self.settings.min_headroom).then_some((used, max))
        };
        let stale = low(self.salesforce.api_usage())?;
        if std::mem::replace(probed, true) {
            return Some(stale);
        }
        match self.salesforce.refresh_api_usage().await {
            Ok(fresh) => low(fresh),
            Err(err) => {
                tracing::warn!(error = %err, "could not refresh the API usage; keeping the last reading");
                Some(stale)
            }
        }
    }

    /// Messages the next round may take: as many as the time left fits at the last round's pace,
    /// at most `round_size`, one while a configuration error is unresolved.
    fn round_size(&self, time_left_ms: i64, ms_per_message: i64, probing: bool) -> usize {
        let fits = (time_left_ms - self.settings.settle_margin_ms).max(0) / ms_per_message.max(1);
        let wanted = if probing { 1 } else { self.settings.round_size };
        wanted.min(usize::try_from(fits).unwrap_or(usize::MAX))
    }

    async fn receive_round(&self, size: usize) -> Result<Vec<ReceivedMessage>> {
        let mut round = Vec::new();
        while round.len() < size {
            let batch = self.queue.receive((size - round.len()).min(10)).await?;
            if batch.is_empty() {
                break;
            }
            round.extend(batch);
        }
        Ok(round)
    }

    /// Per message its notification (None: unparseable) and verdict, and whether Salesforce refused
    /// a call for the request limit.
    async fn process_round(&self, received: &[ReceivedMessage]) -> (Vec<(Option<Notification>, Verdict)>, bool) {
        let mut verdicts: Vec<Option<Verdict>> = received.iter().map(|_| None).collect();
        let notes: Vec<Option<Notification>> = received
            .iter()
            .enumerate()
            .map(|(i, m)| match parse(&m.body) {
                Ok(note) => {
                    if let Some(err) = self.settings.deliveries.unsettled_too_often(m.receive_count) {
                        verdicts[i] = Some(Verdict::Dead { err: Arc::new(err) });
                    }
                    Some(note)
                }
                Err(err) => {
                    verdicts[i] = Some(Verdict::Dead { err: Arc::new(err) });
                    None
                }
            })
            .collect();
        let mut pending: Vec<Pending> = Vec::new();
        for entity in ENTITY_ORDER {
            let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
            for (i, note) in notes.iter().enumerate().filter(|(i, _)| verdicts[*i].is_none()) {
                if let Some(note) = note.as_ref().filter(|n| n.record.object == entity) {
                    by_key.entry(note.record.id.as_str()).or_default().push(i);
                }
            }
            if by_key.is_empty() {
                continue;
            }
            // A key that cannot name a row is refused alone, before it can spoil the read of the others.
            let mut keys = Vec::with_capacity(by_key.len());
            for (key, messages) in by_key {
                match plan::check_key(entity, key) {
                    Ok(()) => keys.push((key, messages)),
                    Err(err) => {
                        let err = Arc::new(err);
                        messages.iter().for_each(|&i| verdicts[i] = Some(Verdict::Dead { err: err.clone() }));
                    }
                }
            }
            let prepared = isolate(&keys, async |part: &[(&str, Vec<usize>)]| self.prepare(entity, part).await).await;
            for ((_, messages), outcome) in keys.iter().zip(prepared) {
                let verdict = match outcome {
                    Isolated::Done(Prepared::Write(p)) => {
                        pending.push(Pending { messages: messages.clone(), ..p });
                        continue;
                    }
                    Isolated::Done(Prepared::Verdict(verdict)) => verdict,
                    Isolated::Failed { err, alone } => self.isolated_failure(err, alone),
                };
                messages.iter().for_each(|&i| verdicts[i] = Some(verdict.clone()));
            }
        }
        let limit_hit = self.execute(&mut pending).await;
        for p in &pending {
            for &i in &p.messages {
                verdicts[i] = Some(self.record_verdict(p, limit_hit));
            }
        }
        for p in pending.iter().filter(|p| p.first_error().is_none()) {
            if let Err(e) =
                self.state.put_hash(&p.record_key, Direction::SapToSf, &p.digest, self.clock.now_millis()).await
            {
                // The record is written; without its hash the next re-read only writes it again.
                tracing::warn!(error = %e, record = %p.record_key, "could not store the content hash");
            }
        }
        let settled = notes
            .into_iter()
            .zip(verdicts)
            .map(|(note, v)| (note, v.unwrap_or(Verdict::Dead { err: Arc::new(unsettled()) })))
            .collect();
        (settled, limit_hit)
    }

    /// Reads the rows of `keys` (each with the messages naming it) and plans each record's writes;
    /// one [`Prepared`] per key, in order.
    async fn prepare(&self, entity: &str, by_key: &[(&str, Vec<usize>)]) -> Result<Vec<Prepared>> {
        let mut spec = plan::read_spec(&self.mapping, entity)?;
        // Rows outside the mapping's `sap_filter` are skipped whichever way they came (poll, B1
        // webhook, replay, resync): the filter's properties are read with the row.
        let only = self.mapping.sap_filter(entity);
        for property in only.properties() {
            if !spec.select.iter().any(|s| s == property) {
                spec.select.push(property.to_string());
            }
        }
        let keys: Vec<String> = by_key.iter().map(|(k, _)| k.to_string()).collect();
        let rows = self.sap.rows_by_key(entity, spec.key, &keys, &spec.select).await?;
        let rows: HashMap<String, &Record> = rows
            .iter()
            .filter_map(|row| {
                let key = match row.get(spec.key)? {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                Some((key, row))
            })
            .collect();
        let synced_at = crate::domain::rfc3339_millis(self.clock.now_millis());
        let mut out = Vec::with_capacity(by_key.len());
        for (key, _) in by_key {
            let record_key = RecordKey { system: System::Sap, object: entity.to_string(), id: key.to_string() };
            let Some(row) = rows.get(*key) else {
                out.push(skip(AuditAction::SkipMissing));
                continue;
            };
            if !only.admits(row) {
                out.push(skip(AuditAction::SkipFiltered));
                continue;
            }
            let writes = match plan::plan(&self.mapping, entity, row, &synced_at) {
                Ok(writes) if writes.is_empty() => {
                    out.push(skip(AuditAction::SkipNoTarget));
                    continue;
                }
                Ok(writes) => writes,
                Err(err) => {
                    out.push(Prepared::Verdict(self.failure(Arc::new(err))));
                    continue;
                }
            };
            let digest = plan::content_digest(&writes);
            let record_key = record_key.to_string();
            if self.state.last_hash(&record_key, Direction::SapToSf).await?.as_deref() == Some(digest.as_str()) {
                out.push(skip(AuditAction::SkipUnchanged));
                continue;
            }
            let results = writes.iter().map(|_| None).collect();
            out.push(Prepared::Write(Pending {
                record_key,
                messages: Vec::new(),
                writes,
                results,
                digest,
                unisolated: false,
            }));
        }
        Ok(out)
    }

    /// Sends every pending write: parents first, then children whose parents all succeeded; one
    /// call per object (and per 200 records). Returns true when Salesforce refused for the request limit.
    async fn execute(&self, pending: &mut [Pending]) -> bool {
        let mut limit_hit = false;
        for child in [false, true] {
            let mut groups: BTreeMap<Target, Vec<(usize, usize)>> = BTreeMap::new();
            for (p, item) in pending.iter().enumerate() {
                if child && !item.parents_ok() {
                    continue;
                }
                for (w, write) in item.writes.iter().enumerate().filter(|(_, w)| w.child == child) {
                    groups.entry(write.target.clone()).or_default().push((p, w));
                }
            }
            for (target, members) in groups {
                let results = if limit_hit {
                    let err = Arc::new(request_limit());
                    members.iter().map(|_| Isolated::Done(Err(err.clone()))).collect()
                } else {
                    let send = async |part: &[(usize, usize)]| self.send_group(&target, part, pending).await;
                    isolate(&members, send).await
                };
                for ((p, w), result) in members.into_iter().zip(results) {
                    let result = match result {
                        Isolated::Done(result) => result,
                        Isolated::Failed { err, alone } => {
                            pending[p].unisolated |= !alone;
                            Err(err)
                        }
                    };
                    if let Err(e) = &result {
                        limit_hit |= e.code() == "REQUEST_LIMIT_EXCEEDED";
                    }
                    pending[p].results[w] = Some(result);
                }
            }
        }
        limit_hit
    }

    /// One target's writes, a result per member; a whole-call failure is the call's error (split by
    /// [`isolate`] when retrying would repeat it).
    async fn send_group(
        &self,
        target: &Target,
        members: &[(usize, usize)],
        pending: &[Pending],
    ) -> Result<Vec<std::result::Result<String, Arc<Error>>>> {
        let records: Vec<Record> = members.iter().map(|&(p, w)| pending[p].writes[w].record.clone()).collect();
        let outcome = match target {
            Target::Upsert { object, external_id } => self.salesforce.upsert_many(object, external_id, &records).await,
            Target::Update { object } => self.salesforce.update_many(object, &records).await,
            Target::StandardPrice => {
                let products: Vec<Option<String>> = members
                    .iter()
                    .map(|&(p, _)| pending[p].results.first().and_then(|r| r.clone()).and_then(|r| r.ok()))
                    .collect();
                self.standard_prices(&records, &products).await
            }
            Target::PaymentStatus => self.payment_statuses(&records).await,
            Target::CaseBilling => self.refresh_cases(&records).await,
            Target::PartnerRefresh | Target::InvoiceRefresh => {
                let after: Vec<(&str, &str)> = members
                    .iter()
                    .map(|&(p, _)| (pending[p].record_key.as_str(), pending[p].digest.as_str()))
                    .collect();
                let refresh = if *target == Target::PartnerRefresh {
                    Refresh { entity: "BusinessPartners", key: "SAP_CardCode__c", reason: "balances" }
                } else {
                    Refresh { entity: "Invoices", key: "DocEntry", reason: "payment" }
                };
                self.refresh(&refresh, &records, &after).await
            }
            Target::OrderProducts => {
                // The Order upsert is the record's first write; children run after it succeeded.
                let orders: Vec<PlacedOrder> = members
                    .iter()
                    .zip(&records)
                    .map(|(&(p, _), record)| PlacedOrder {
                        record,
                        order: pending[p].results.first().and_then(|r| r.clone()).and_then(|r| r.ok()),
                    })
                    .collect();
                write_order_products(self.salesforce.as_ref(), &orders).await
            }
            Target::CreditAlert => {
                // The account upsert is the record's first write; children run after it succeeded.
                let standings: Vec<Standing> = members
                    .iter()
                    .zip(&records)
                    .map(|(&(p, _), record)| Standing {
                        record,
                        account: pending[p].results.first().and_then(|r| r.clone()).and_then(|r| r.ok()),
                    })
                    .collect();
                let now = self.clock.now_millis();
                tell_owners(self.state.as_ref(), self.salesforce.as_ref(), &standings, now).await
            }
        };
        Ok(outcome?.into_iter().map(|r| r.map_err(Arc::new)).collect())
    }

    /// F7: each item's standard price book entry, updated where it exists, created where not.
    async fn standard_prices(&self, prices: &[Record], products: &[Option<String>]) -> Result<Vec<Result<String>>> {
        let pricebook = self.salesforce.standard_pricebook().await?;
        let ids: Vec<Option<SalesforceId>> =
            products.iter().map(|p| p.as_deref().and_then(|id| SalesforceId::parse(id).ok())).collect();
        let known: Vec<SalesforceId> = ids.iter().flatten().cloned().collect();
        let entries = self.salesforce.pricebook_entries(&pricebook, &known).await?;
        // Which list each price went to; results come back in the same order within each list.
        enum Slot {
            Update,
            Create,
            NoProduct,
        }
        let (mut updates, mut creates) = (Vec::new(), Vec::new());
        let mut slots = Vec::with_capacity(prices.len());
        for (price, product) in prices.iter().zip(&ids) {
            let Some(product) = product else {
                slots.push(Slot::NoProduct);
                continue;
            };
            let mut record = price.clone();
            match entries.get(product) {
                Some(entry) => {
                    record.insert("Id".into(), json!(entry.as_str()));
                    slots.push(Slot::Update);
                    updates.push(record);
                }
                None => {
                    record.insert("Pricebook2Id".into(), json!(pricebook.as_str()));
                    record.insert("Product2Id".into(), json!(product.as_str()));
                    record.entry("IsActive").or_insert(json!(true));
                    slots.push(Slot::Create);
                    creates.push(record);
                }
            }
        }
        let mut updated = if updates.is_empty() {
            Vec::new()
        } else {
            self.salesforce.update_many("PricebookEntry", &updates).await?
        }
        .into_iter();
        let mut created = if creates.is_empty() {
            Vec::new()
        } else {
            self.salesforce.create_many("PricebookEntry", &creates).await?
        }
        .into_iter();
        let missing = || Err(Error::Transport { system: "Salesforce", message: "missing result".into() });
        Ok(slots
            .into_iter()
            .map(|slot| match slot {
                Slot::Update => updated.next().unwrap_or_else(missing),
                Slot::Create => created.next().unwrap_or_else(missing),
                Slot::NoProduct => {
                    Err(Error::Mapping("the item's product was not written, so it has no price book entry".into()))
                }
            })
            .collect())
    }

    /// Billing context per CardCode named by the records' `SAP_CardCode__c`, one SAP read each.
    async fn billing_by_code(&self, records: &[Record]) -> Result<HashMap<String, BillingContext>> {
        let today = date_of(self.clock.now_millis());
        let mut contexts = HashMap::new();
        for code in records.iter().filter_map(|r| r.get("SAP_CardCode__c").and_then(Value::as_str)) {
            if !contexts.contains_key(code) {
                let context = self.billing.billing_context(&CardCode::parse(code)?, &today).await?;
                contexts.insert(code.to_string(), context);
            }
        }
        Ok(contexts)
    }

    /// F6: each customer's payment standing from its open, partly paid and overdue invoices, on its
    /// account (`SAP_Days_Overdue__c` too when the F6 account section derives it). The open invoices
    /// of the whole group are read in bulk (40 customers per query), not customer by customer.
    async fn payment_statuses(&self, records: &[Record]) -> Result<Vec<Result<String>>> {
        let today = crate::domain::parse_date(&date_of(self.clock.now_millis()))?;
        let mut codes: Vec<CardCode> = Vec::new();
        for code in records.iter().filter_map(|r| r.get("SAP_CardCode__c").and_then(Value::as_str)) {
            let code = CardCode::parse(code)?;
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        let mut open: HashMap<String, Vec<OpenInvoice>> =
            codes.iter().map(|c| (c.as_str().to_string(), Vec::new())).collect();
        for (code, invoice) in self.billing.open_invoices_of(&codes).await? {
            open.entry(code).or_default().push(invoice);
        }
        let days_derived =
            self.mapping.flow("F6.account").is_ok_and(|flow| flow.derived.iter().any(|d| d == DAYS_OVERDUE));
        let accounts: Vec<Record> = records
            .iter()
            .map(|record| {
                let code = record.get("SAP_CardCode__c").and_then(Value::as_str).unwrap_or_default();
                let mut account = record.clone();
                if let Some(invoices) = open.get(code) {
                    let standing = PaymentStanding::of_invoices(invoices, today);
                    account.insert("SAP_Payment_Status__c".into(), json!(standing.status));
                    if days_derived {
                        account.insert(DAYS_OVERDUE.into(), json!(standing.days_overdue));
                    }
                }
                account
            })
            .collect();
        self.salesforce.upsert_many("Account", "SAP_CardCode__c", &accounts).await
    }

    /// F4 again for the customers of documents just written, or F6 again for the invoices of a
    /// payment: one notification per record, so it is re-read (with the balances or paid amounts
    /// the documents moved) in a later round; the digest check leaves an unchanged one unwritten. `after` holds each document's record key
    /// and content digest, which make the notification a new change for each document version.
    async fn refresh(
        &self,
        refresh: &Refresh,
        records: &[Record],
        after: &[(&str, &str)],
    ) -> Result<Vec<Result<String>>> {
        let now = self.clock.now_millis();
        let mut notes: BTreeMap<String, Notification> = BTreeMap::new();
        for (record, (document, digest)) in records.iter().zip(after) {
            let code = match record.get(refresh.key) {
                Some(Value::String(text)) => text.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => continue,
            };
            if notes.contains_key(&code) {
                continue;
            }
            let note = Notification {
                record: RecordKey { system: System::Sap, object: refresh.entity.into(), id: code.clone() },
                reason: refresh.reason.into(),
                changed_at: now,
                source_version: format!("after:{document}:{digest}"),
                correlation_id: (*document).to_string(),
            };
            notes.insert(code, note);
        }
        let messages: Vec<OutgoingMessage> = notes.values().map(OutgoingMessage::from).collect();
        self.queue.send(&messages).await?;
        Ok(records.iter().map(|_| Ok(format!("{} refresh queued", refresh.entity))).collect())
    }

    /// F3 after a credit memo: the customer's open cases get its refreshed billing context. A
    /// record's result is its customer's first failed case update, or the number of cases updated.
    async fn refresh_cases(&self, records: &[Record]) -> Result<Vec<Result<String>>> {
        // The F3 section says which fields a case gets; without one, F3 is off and cases stay as they are.
        let derived = self.mapping.flow("F3").map(|f| f.derived.clone()).unwrap_or_default();
        if derived.is_empty() {
            return Ok(records.iter().map(|_| Ok("0 cases".to_string())).collect());
        }
        let synced_at = crate::domain::rfc3339_millis(self.clock.now_millis());
        let contexts = self.billing_by_code(records).await?;
        let codes = contexts.keys().map(|c| CardCode::parse(c)).collect::<Result<Vec<_>>>()?;
        let cases = self.salesforce.open_cases(&codes).await?;
        let updates: Vec<Record> = cases
            .iter()
            .filter_map(|(code, id)| {
                let mut fields = f3::case_fields(contexts.get(code)?, &derived, &synced_at);
                fields.insert("Id".into(), json!(id.as_str()));
                Some(fields)
            })
            .collect();
        let results =
            if updates.is_empty() { Vec::new() } else { self.salesforce.update_many("Case", &updates).await? };
        let mut by_code: HashMap<&str, Result<u64>> = HashMap::new();
        for ((code, _), result) in cases.iter().zip(results) {
            let entry = by_code.entry(code.as_str()).or_insert(Ok(0));
            match (entry.as_mut(), result) {
                (Ok(count), Ok(_)) => *count += 1,
                (Ok(_), Err(err)) => *entry = Err(err),
                (Err(_), _) => {}
            }
        }
        Ok(records
            .iter()
            .map(|record| {
                let code = record.get("SAP_CardCode__c").and_then(Value::as_str).unwrap_or_default();
                match by_code.get(code) {
                    Some(Err(err)) => Err(err.clone()),
                    Some(Ok(count)) => Ok(format!("{count} case(s)")),
                    None => Ok("0 cases".into()),
                }
            })
            .collect())
    }

    fn record_verdict(&self, p: &Pending, limit_hit: bool) -> Verdict {
        match p.first_error() {
            None => Verdict::Done {
                action: AuditAction::Write,
                outcome: Outcome::Succeeded,
                target: p.results.first().and_then(|r| r.clone()).and_then(|r| r.ok()),
            },
            Some(err) if limit_hit && err.code() == "REQUEST_LIMIT_EXCEEDED" => {
                let (low, high) = self.settings.limit_backoff_secs;
                Verdict::Retry { err, delay_secs: rand::rng().random_range(low.min(high)..=high.max(low)) }
            }
            Some(err) => self.isolated_failure(err, !p.unisolated),
        }
    }

    /// A failure shared with other records of a call: the record's own when it was isolated (or it
    /// is not a permanent one); otherwise not proven to be the record's, so it is retried.
    fn isolated_failure(&self, err: Arc<Error>, alone: bool) -> Verdict {
        if alone || err.class() != ErrorClass::Permanent {
            self.failure(err)
        } else {
            Verdict::Retry { err, delay_secs: self.settings.retry_delay_secs }
        }
    }

    fn failure(&self, err: Arc<Error>) -> Verdict {
        match err.class() {
            ErrorClass::Configuration => Verdict::Held { err },
            ErrorClass::Permanent if !waits_for_parent(&err) => Verdict::Dead { err },
            _ => Verdict::Retry { err, delay_secs: self.settings.retry_delay_secs },
        }
    }

    /// Audits a message's fate, dead-letters or releases it; returns its receipt handle when it is
    /// done and may be deleted (deletes go out in batches).
    async fn settle(
        &self,
        message: &ReceivedMessage,
        note: Option<&Notification>,
        verdict: Verdict,
        run: &mut WriterRun,
    ) -> Result<Option<String>> {
        let span = match note {
            Some(note) => {
                tracing::info_span!("sf_writer", record = %note.record, correlation_id = %note.correlation_id)
            }
            None => tracing::info_span!("sf_writer", message_id = %message.message_id),
        };
        self.settle_in_span(message, note, verdict, run).instrument(span).await
    }

    async fn settle_in_span(
        &self,
        message: &ReceivedMessage,
        note: Option<&Notification>,
        verdict: Verdict,
        run: &mut WriterRun,
    ) -> Result<Option<String>> {
        let trail = Trail {
            audit: self.audit.as_ref(),
            dead_letters: self.dead_letters.as_ref(),
            clock: self.clock.as_ref(),
            direction: Direction::SapToSf,
        };
        match verdict {
            Verdict::Done { action, outcome, target } => {
                tracing::debug!(%action, ?outcome, "record settled");
                if let Some(note) = note {
                    trail.attempt(note, action, outcome, target, None).await;
                }
                if outcome == Outcome::Succeeded {
                    if let Some(note) = note.filter(|n| n.record.object == "Invoices") {
                        run.invoice_sync_lag_ms.push(self.clock.now_millis() - note.changed_at);
                    }
                    run.written += 1;
                } else {
                    run.skipped += 1;
                }
                Ok(Some(message.receipt_handle.clone()))
            }
            Verdict::Retry { err, delay_secs } => {
                self.settle_failure(&trail, message, note, ErrorClass::Retryable, &err, delay_secs, run).await
            }
            Verdict::Held { err } => {
                let delay = self.settings.retry_delay_secs;
                self.settle_failure(&trail, message, note, ErrorClass::Configuration, &err, delay, run).await
            }
            Verdict::Dead { err } => self.dead_letter(&trail, message, note, &err, run).await,
        }
    }

    /// A failed attempt: returned after `delay_secs`, or on its last attempt dead-lettered (a record
    /// failure) or requeued as a fresh message (configuration: never dead-lettered).
    #[allow(clippy::too_many_arguments)]
    async fn settle_failure(
        &self,
        trail: &Trail<'_>,
        message: &ReceivedMessage,
        note: Option<&Notification>,
        class: ErrorClass,
        err: &Error,
        delay_secs: u32,
        run: &mut WriterRun,
    ) -> Result<Option<String>> {
        let afterwards = self.settings.deliveries.after(class, err, message.receive_count);
        if let Afterwards::DeadLetter(err) = afterwards {
            return self.dead_letter(trail, message, note, &err, run).await;
        }
        tracing::debug!(error = %err, delay_secs, ?class, "message kept for a later attempt");
        if let Some(note) = note {
            trail.attempt(note, AuditAction::Retry, Outcome::Retrying, None, Some(err)).await;
        }
        match class {
            ErrorClass::Configuration => run.held += 1,
            _ => run.retried += 1,
        }
        if let Afterwards::Requeue = afterwards {
            let copy = requeued_copy(&message.message_id, &message.group_id, &message.body);
            match self.queue.send(&[copy]).await {
                Ok(()) => return Ok(Some(message.receipt_handle.clone())),
                Err(send_err) => tracing::error!(error = %send_err, "could not requeue; the message returns instead"),
            }
        }
        self.queue.release(&message.receipt_handle, delay_secs).await.map(|()| None)
    }

    /// Audits and dead-letters a message, deleting it at once. It is hidden for
    /// `dead_letter_hold_secs` first: if the invocation dies between the DLQ send and the delete, it
    /// returns inside the DLQ's deduplication window and its second send is dropped there.
    async fn dead_letter(
        &self,
        trail: &Trail<'_>,
        message: &ReceivedMessage,
        note: Option<&Notification>,
        err: &Error,
        run: &mut WriterRun,
    ) -> Result<Option<String>> {
        if let Err(e) = self.queue.release(&message.receipt_handle, self.settings.dead_letter_hold_secs).await {
            // Best effort: without it a crash before the delete could only send the message twice.
            tracing::warn!(error = %e, "could not hide the message before dead-lettering it");
        }
        let delivered = Delivered { message_id: &message.message_id, group_id: &message.group_id, body: &message.body };
        if trail.dead_letter(&delivered, note, err).await {
            run.dead_lettered += 1;
            self.queue.delete(&message.receipt_handle).await?;
            Ok(None)
        } else {
            run.retried += 1;
            self.queue.release(&message.receipt_handle, self.settings.retry_delay_secs).await.map(|()| None)
        }
    }
}

/// A record's fate decided before any write.
enum Prepared {
    Verdict(Verdict),
    Write(Pending),
}

fn skip(action: AuditAction) -> Prepared {
    Prepared::Verdict(Verdict::Done { action, outcome: Outcome::Skipped, target: None })
}

/// A notification for this writer: from SAP, naming an entity it handles.
fn parse(body: &str) -> Result<Notification> {
    let note = Notification::from_body(body)?;
    if note.record.system != System::Sap || !ENTITY_ORDER.contains(&note.record.object.as_str()) {
        return Err(Error::Invalid(format!("sf-writer has no flow for {}", note.record)));
    }
    Ok(note)
}

/// What a refresh target queues: records of `entity` named by each write's `key` field.
struct Refresh {
    entity: &'static str,
    key: &'static str,
    reason: &'static str,
}

/// A record pointing at a parent that is not in Salesforce yet (its account's business partner is
/// in a later round or run): worth retrying, as the parent's own message will create it.
pub(crate) fn waits_for_parent(err: &Error) -> bool {
    matches!(err, Error::Salesforce { code, message, .. } if code == "INVALID_FIELD" && message.starts_with("Foreign key external ID"))
}

/// Days past the oldest unpaid due date, on an account or opportunity (when its F6 section derives it).
pub const DAYS_OVERDUE: &str = "SAP_Days_Overdue__c";

fn request_limit() -> Error {
    Error::Salesforce {
        status: 403,
        code: "REQUEST_LIMIT_EXCEEDED".into(),
        message: "not sent: Salesforce refused an earlier call of this round for the request limit".into(),
    }
}

fn unsettled() -> Error {
    Error::Invalid("the round ended without a verdict for this message".into())
}
