//! One reconciliation run: read both sides in bulk, compare, repair if asked, store the report,
//! announce it. Written against ports only.

use super::compare::{self, Links, Pairing};
use super::input::ReconRequest;
use super::{orders, standing};
use crate::domain::state::Direction;
use crate::domain::{EpochMillis, Notification, Record, RecordKey, System};
use crate::error::{Error, Result};
use crate::mapping::file::MappingFile;
use crate::ports::AuditAction;
use crate::ports::SyncState;
use crate::ports::{
    AuditEntry, AuditLog, Clock, DateRange, KeyedRead, Notifier, OutgoingMessage, Queue, ReportStore,
    SalesforceReconcileReads, SapReconcileReads,
};
use crate::report as render;
use crate::report::model::{ExceptionKind, Period, ReconException, ReconReport, RepairSummary, Totals};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

/// The audit trail's record key for reconciliation runs.
pub const RECONCILE_RECORD: &str = "ops:reconcile";

/// Called with a short line as the run moves on (the CLI prints it on stderr).
pub type Progress = Arc<dyn Fn(&str) + Send + Sync>;

/// The reconciler's ports.
pub struct Reconciler {
    pub sap: Arc<dyn SapReconcileReads>,
    pub salesforce: Arc<dyn SalesforceReconcileReads>,
    /// `to-salesforce.fifo`: repairs of SAP-owned data.
    pub to_salesforce: Arc<dyn Queue>,
    /// `to-sap.fifo`: repairs of Salesforce accounts SAP lacks.
    pub to_sap: Arc<dyn Queue>,
    pub audit: Arc<dyn AuditLog>,
    /// Needed to repair: the writers skip a record whose content equals what they last wrote, so a
    /// repair first forgets that hash (a Salesforce edit of an SAP-owned field left it unchanged).
    pub state: Option<Arc<dyn SyncState>>,
    pub reports: Arc<dyn ReportStore>,
    pub notifier: Arc<dyn Notifier>,
    pub mapping: Arc<MappingFile>,
    pub clock: Arc<dyn Clock>,
    pub progress: Option<Progress>,
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconOutcome {
    pub report: ReconReport,
    /// Where the CSV, JSON and HTML files went, in that order.
    pub stored: Vec<String>,
    /// Whether the summary was published (only when there are exceptions).
    pub notified: bool,
}

impl ReconOutcome {
    /// Exceptions per kind (`missing_in_salesforce` …), every kind present, zero included.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        let mut counts: BTreeMap<String, u64> = ExceptionKind::ALL.iter().map(|k| (kind_name(*k), 0)).collect();
        for exception in &self.report.exceptions {
            *counts.entry(kind_name(exception.kind)).or_default() += 1;
        }
        counts
    }

    /// What the Lambda returns: the counts, where the report is, what was repaired, calls made.
    pub fn summary(&self) -> Value {
        json!({
            "run_id": self.report.run_id,
            "period": self.report.period,
            "exceptions": self.report.exceptions.len(),
            "by_kind": self.counts(),
            "reports": self.stored,
            "notified": self.notified,
            "repair": self.report.repair,
            "sap_calls": self.report.sap_calls,
            "salesforce_calls": self.report.salesforce_calls,
        })
    }

    /// The short text published when there are exceptions: period, counts per kind, where the report is.
    pub fn message(&self) -> String {
        let report = &self.report;
        let mut text = format!(
            "B1Force reconciliation {} to {}: {} exception(s).\n",
            report.period.from,
            report.period.to,
            report.exceptions.len()
        );
        for (kind, count) in self.counts().into_iter().filter(|(_, n)| *n > 0) {
            text.push_str(&format!("- {}: {count}\n", kind.replace('_', " ")));
        }
        if let Some(repair) = &report.repair {
            text.push_str(&format!(
                "Repair re-enqueued {} to Salesforce and {} to SAP; {} need a person.\n",
                repair.to_salesforce, repair.to_sap, repair.manual
            ));
        }
        text.push_str("Report:\n");
        for place in &self.stored {
            text.push_str(&format!("  {place}\n"));
        }
        text.push_str(&format!("Run {}", report.run_id));
        text
    }
}

fn kind_name(kind: ExceptionKind) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// The SNS subject (at most 100 characters).
fn subject(report: &ReconReport) -> String {
    format!(
        "B1Force reconciliation {}..{}: {} exception(s)",
        report.period.from,
        report.period.to,
        report.exceptions.len()
    )
}

/// One entity's rows from both sides: the period's, and those looked up by key.
struct Sides {
    exceptions: Vec<ReconException>,
    totals: Totals,
}

impl Reconciler {
    fn step(&self, line: &str) {
        tracing::info!(step = line, "reconcile");
        if let Some(progress) = &self.progress {
            progress(line);
        }
    }

    /// Runs one reconciliation.
    pub async fn run(&self, request: &ReconRequest) -> Result<ReconOutcome> {
        if request.repair && self.state.is_none() {
            return Err(Error::Config(
                "repair needs the sync state (SYNC_STATE_TABLE): the writers would skip records whose last written \
                 content is unchanged"
                    .into(),
            ));
        }
        let started = self.clock.now_millis();
        let run_id = run_id(started);
        let (sap_before, salesforce_before) = (self.sap.requests_sent(), self.salesforce.requests_sent());
        let links =
            Links { sap_root: self.sap.service_root(), salesforce_instance: self.salesforce.instance_url().await? };
        let tolerance = compare::amount_tolerance(&self.mapping);
        let period = &request.period;
        let mut exceptions = Vec::new();
        let mut totals = Vec::new();

        for entity in ["Invoices", "CreditNotes"] {
            let Some(pairing) = compare::document_pairing(&self.mapping, entity)? else { continue };
            self.step(&format!("{entity}: reading {} to {}", period.from, period.to));
            let (sides, paid) = self.documents(&pairing, period, tolerance, &links).await?;
            self.step(&format!("{entity}: {} exception(s)", sides.exceptions.len()));
            exceptions.extend(sides.exceptions);
            totals.push(sides.totals);
            totals.extend(paid);
        }
        if let Some(pairing) = orders::order_pairing(&self.mapping)? {
            self.step(&format!("Orders: won opportunities closed {} to {}", period.from, period.to));
            let (found, total) = self.orders(&pairing, period, tolerance, &links).await?;
            self.step(&format!("Orders: {} exception(s)", found.len()));
            exceptions.extend(found);
            totals.push(total);
        }
        if standing::compared(&self.mapping) {
            self.step("Payment status: every account against its customer's open invoices");
            let (found, total) = self.standings(&links).await?;
            self.step(&format!("Payment status: {} exception(s)", found.len()));
            exceptions.extend(found);
            totals.push(total);
        }
        for pairing in compare::master_data_pairings(&self.mapping)? {
            self.step(&format!("{}: reading every linked record", pairing.entity));
            let sides = self.master_data(&pairing, tolerance, &links).await?;
            self.step(&format!("{}: {} exception(s)", pairing.entity, sides.exceptions.len()));
            exceptions.extend(sides.exceptions);
            totals.push(sides.totals);
        }
        compare::sort(&mut exceptions);

        let repair = if request.repair {
            self.step(&format!("repairing {} exception(s)", exceptions.len()));
            Some(self.repair(&exceptions, &run_id).await?)
        } else {
            None
        };
        let report = ReconReport {
            run_id: run_id.clone(),
            generated_at: crate::domain::rfc3339_millis(self.clock.now_millis()),
            period: period.clone(),
            totals,
            exceptions,
            repair,
            sap_calls: self.sap.requests_sent().saturating_sub(sap_before),
            salesforce_calls: self.salesforce.requests_sent().saturating_sub(salesforce_before),
        };
        let folder = format!("{}_{}", period.from, period.to);
        let files: [(&str, &str, String); 3] = [
            ("csv", "text/csv; charset=utf-8", render::csv(&report)),
            ("json", "application/json", render::json(&report)),
            ("html", "text/html; charset=utf-8", render::html(&report)),
        ];
        let mut stored = Vec::with_capacity(files.len());
        for (extension, content_type, body) in files {
            stored.push(
                self.reports.put(&format!("{folder}/{run_id}.{extension}"), content_type, body.as_bytes()).await?,
            );
        }
        let mut outcome = ReconOutcome { report, stored, notified: false };
        if !outcome.report.exceptions.is_empty() {
            self.notifier.publish(&subject(&outcome.report), &outcome.message()).await?;
            outcome.notified = true;
        }
        self.audit_run(&outcome).await;
        self.step(&format!(
            "done: {} exception(s), {} SAP and {} Salesforce calls",
            outcome.report.exceptions.len(),
            outcome.report.sap_calls,
            outcome.report.salesforce_calls
        ));
        Ok(outcome)
    }

    /// The run in the audit trail (`ops:reconcile`), which `b1force status` shows as the last
    /// reconciliation. The report is stored and announced already: a failed entry is only logged.
    async fn audit_run(&self, outcome: &ReconOutcome) {
        let report = &outcome.report;
        let summary = format!(
            "{} to {}: {} exception(s){}, report {}",
            report.period.from,
            report.period.to,
            report.exceptions.len(),
            report.repair.as_ref().map_or(String::new(), |r| format!(", {} repaired", r.to_salesforce + r.to_sap)),
            outcome.stored.iter().find(|s| s.ends_with(".html")).map_or("not stored", String::as_str)
        );
        let entry = AuditEntry::action_done(
            RECONCILE_RECORD.into(),
            self.clock.now_millis(),
            report.run_id.clone(),
            Direction::SapToSf,
            AuditAction::Reconcile,
            Some(summary),
        );
        if let Err(error) = self.audit.record(&entry).await {
            tracing::warn!(%error, "the reconciliation's audit entry was not written");
        }
    }

    /// Invoices or credit notes of the period. A record on one side only is looked up on the other by
    /// key (in bulk) before it counts as missing: a changed date may have moved it out of the period.
    /// The period's documents of one entity compared, and (when the flow maps `PaidToDate`) the paid
    /// amounts of those documents on each side: what payments did, per document, like for like.
    async fn documents(
        &self,
        pairing: &Pairing,
        period: &Period,
        tolerance: f64,
        links: &Links,
    ) -> Result<(Sides, Option<Totals>)> {
        let date_field = pairing.date_field.as_deref().ok_or_else(|| {
            Error::Config(format!("flow for {} maps no Salesforce field from DocDate", pairing.entity))
        })?;
        let mut sap_rows =
            self.sap.documents_dated(&pairing.entity, &period.from, &period.to, &pairing.sap_select).await?;
        let fields = pairing.salesforce_fields();
        let prefix = pairing.key_prefix.clone().unwrap_or_default();
        let read = KeyedRead {
            object: &pairing.object,
            key_field: &pairing.key_field,
            key_prefix: Some(&prefix),
            fields: &fields,
            dated: Some(DateRange { field: date_field, from: &period.from, to: &period.to }),
        };
        let mut salesforce = self.salesforce.keyed_records(&read).await?;
        let totals = Totals {
            entity: pairing.entity.clone(),
            salesforce_object: pairing.object.clone(),
            sap_count: sap_rows.len() as u64,
            salesforce_count: salesforce.len() as u64,
            sap_amount: Some(sum(&sap_rows, "DocTotal")),
            salesforce_amount: pairing.amount_field().map(|field| sum(&salesforce, field)),
        };
        let paid = paid_totals(pairing, &sap_rows, &salesforce);

        let sap_keys: HashSet<String> = sap_rows.iter().filter_map(|r| compare::key_text(r, pairing.sap_key)).collect();
        let salesforce_keys: HashSet<String> = salesforce
            .iter()
            .filter_map(|r| r.get(&pairing.key_field).and_then(Value::as_str).map(|k| k.trim().to_string()))
            .collect();
        let only_in_sap: Vec<String> =
            sap_keys.iter().map(|k| pairing.salesforce_key(k)).filter(|k| !salesforce_keys.contains(k)).collect();
        let only_in_salesforce: Vec<String> = salesforce_keys
            .iter()
            .filter_map(|k| pairing.sap_key_of(k))
            .filter(|k| !sap_keys.contains(*k))
            .map(str::to_string)
            .collect();
        if !only_in_sap.is_empty() {
            let found = self
                .salesforce
                .records_by_key(&pairing.object, &pairing.key_field, &sorted(only_in_sap), &fields)
                .await?;
            salesforce.extend(found);
        }
        if !only_in_salesforce.is_empty() {
            let numeric: Vec<String> = only_in_salesforce.into_iter().filter(|k| k.parse::<i64>().is_ok()).collect();
            let found =
                self.sap.rows_by_key(&pairing.entity, pairing.sap_key, &sorted(numeric), &pairing.sap_select).await?;
            sap_rows.extend(found);
        }
        let exceptions = compare::compare(pairing, &self.mapping, &sap_rows, &salesforce, tolerance, links)?;
        Ok((Sides { exceptions, totals }, paid))
    }

    /// F1: the won opportunities closed in the period against the SAP orders carrying their ids
    /// (read by that reference, so an order dated another day is still found).
    async fn orders(
        &self,
        pairing: &orders::OrderPairing,
        period: &Period,
        tolerance: f64,
        links: &Links,
    ) -> Result<(Vec<ReconException>, Totals)> {
        let closed = DateRange { field: "CloseDate", from: &period.from, to: &period.to };
        let won = self.salesforce.won_opportunities(closed, &pairing.salesforce_fields).await?;
        let ids: Vec<String> =
            won.iter().filter_map(|o| o.get("Id").and_then(Value::as_str).map(str::to_string)).collect();
        let held = if ids.is_empty() {
            Vec::new()
        } else {
            self.sap.rows_by_key("Orders", &pairing.reference, &ids, &pairing.sap_select).await?
        };
        Ok(orders::compare_orders(pairing, &won, &held, tolerance, links))
    }

    /// F6's account payment status against every customer's open invoices today; a drifted account
    /// is repaired by re-sending one of its customer's invoices (an open one, else the latest), which
    /// recomputes the status.
    async fn standings(&self, links: &Links) -> Result<(Vec<ReconException>, Totals)> {
        let select: Vec<String> = standing::INVOICE_SELECT.map(String::from).to_vec();
        let open = self.sap.open_documents("Invoices", &select).await?;
        let fields = standing::account_fields();
        let read = KeyedRead {
            object: "Account",
            key_field: "SAP_CardCode__c",
            key_prefix: None,
            fields: &fields,
            dated: None,
        };
        let accounts = self.salesforce.keyed_records(&read).await?;
        let today = crate::domain::date_of(self.clock.now_millis());
        let (mut found, totals) = standing::compare_standings(&accounts, &open, &today, links)?;
        let without: Vec<String> = found.iter().filter(|e| e.repair.is_none()).map(|e| e.sap_key.clone()).collect();
        if !without.is_empty() {
            // Customers with nothing open: their latest invoice recomputes the status as well.
            let keys = ["DocEntry".to_string(), "CardCode".to_string()];
            let invoices = self.sap.rows_by_key("Invoices", "CardCode", &sorted(without), &keys).await?;
            standing::repair_with_latest(&mut found, &invoices);
        }
        Ok((found, totals))
    }

    /// Master data: every SAP row the mapping syncs (its `sap_filter`) against every Salesforce record
    /// carrying an SAP key.
    async fn master_data(&self, pairing: &Pairing, tolerance: f64, links: &Links) -> Result<Sides> {
        let only = self.mapping.sap_filter(&pairing.entity);
        let mut select = pairing.sap_select.clone();
        select.extend(only.properties().filter(|p| !pairing.sap_select.iter().any(|s| s == p)).map(String::from));
        let mut sap_rows = self.sap.all_rows(&pairing.entity, pairing.sap_key, &select).await?;
        sap_rows.retain(|row| only.admits(row));
        let fields = pairing.salesforce_fields();
        let read = KeyedRead {
            object: &pairing.object,
            key_field: &pairing.key_field,
            key_prefix: None,
            fields: &fields,
            dated: None,
        };
        let salesforce = self.salesforce.keyed_records(&read).await?;
        let totals = Totals {
            entity: pairing.entity.clone(),
            salesforce_object: pairing.object.clone(),
            sap_count: sap_rows.len() as u64,
            salesforce_count: salesforce.len() as u64,
            sap_amount: None,
            salesforce_amount: None,
        };
        let exceptions = compare::compare(pairing, &self.mapping, &sap_rows, &salesforce, tolerance, links)?;
        Ok(Sides { exceptions, totals })
    }

    /// Re-enqueues every record an exception names (once per record), each with a fresh source version
    /// so queue dedup and idempotency let it through, after forgetting its last written hash.
    async fn repair(&self, exceptions: &[ReconException], run_id: &str) -> Result<RepairSummary> {
        let state = self.state.as_ref().ok_or_else(|| Error::Config("repair needs the sync state".into()))?;
        let keys: BTreeSet<&str> = exceptions.iter().filter_map(|e| e.repair.as_deref()).collect();
        let mut summary = RepairSummary {
            manual: exceptions.iter().filter(|e| e.repair.is_none()).count() as u64,
            ..RepairSummary::default()
        };
        let now = self.clock.now_millis();
        let version = format!("reconcile:{run_id}");
        let mut to_salesforce = Vec::new();
        let mut to_sap = Vec::new();
        for key in keys {
            let record = RecordKey::parse(key)?;
            let note = Notification {
                record: record.clone(),
                reason: "reconcile".into(),
                changed_at: now,
                source_version: version.clone(),
                correlation_id: version.clone(),
            };
            let direction = match record.system {
                System::Sap => Direction::SapToSf,
                System::Sf => Direction::SfToSap,
            };
            state.put_hash(key, direction, &version, now).await?;
            let message = OutgoingMessage::from(&note);
            match record.system {
                System::Sap => to_salesforce.push((note, message)),
                System::Sf => to_sap.push((note, message)),
            }
        }
        for (queue, batch, direction) in
            [(&self.to_salesforce, &to_salesforce, Direction::SapToSf), (&self.to_sap, &to_sap, Direction::SfToSap)]
        {
            if batch.is_empty() {
                continue;
            }
            let messages: Vec<OutgoingMessage> = batch.iter().map(|(_, m)| m.clone()).collect();
            queue.send(&messages).await?;
            for (note, _) in batch {
                self.audit.record(&repair_entry(note, direction, now)).await?;
            }
        }
        summary.to_salesforce = to_salesforce.len() as u64;
        summary.to_sap = to_sap.len() as u64;
        Ok(summary)
    }
}

fn repair_entry(note: &Notification, direction: Direction, at: EpochMillis) -> AuditEntry {
    AuditEntry::action_done(
        note.record.to_string(),
        at,
        note.correlation_id.clone(),
        direction,
        AuditAction::ReconcileRepair,
        Some(note.source_version.clone()),
    )
}

fn sorted(mut keys: Vec<String>) -> Vec<String> {
    keys.sort();
    keys
}

fn sum(records: &[Record], field: &str) -> f64 {
    round_cents(records.iter().filter_map(|r| r.get(field).and_then(Value::as_f64)).sum())
}

/// Documents with something paid, and the sum paid, on each side: SAP's `PaidToDate` against the
/// Salesforce field the flow maps it to. `None` when the flow does not map `PaidToDate`.
fn paid_totals(pairing: &Pairing, sap_rows: &[Record], salesforce: &[Record]) -> Option<Totals> {
    let paid_field = &pairing.fields.iter().find(|f| f.sap == "PaidToDate")?.salesforce;
    let paid = |records: &[Record], field: &str| -> (u64, f64) {
        let amounts: Vec<f64> =
            records.iter().filter_map(|r| r.get(field).and_then(Value::as_f64)).filter(|a| *a != 0.0).collect();
        (amounts.len() as u64, round_cents(amounts.iter().sum()))
    };
    let (sap_count, sap_amount) = paid(sap_rows, "PaidToDate");
    let (salesforce_count, salesforce_amount) = paid(salesforce, paid_field);
    Some(Totals {
        entity: format!("{}.PaidToDate", pairing.entity),
        salesforce_object: format!("{}.{paid_field}", pairing.object),
        sap_count,
        salesforce_count,
        sap_amount: Some(sap_amount),
        salesforce_amount: Some(salesforce_amount),
    })
}

fn round_cents(amount: f64) -> f64 {
    (amount * 100.0).round() / 100.0
}

/// `20261125T141500Z-1a2b3c4d`: sorts by time, unique per run.
fn run_id(now: EpochMillis) -> String {
    let stamp: String = crate::domain::rfc3339_millis(now)[..19].chars().filter(|c| *c != '-' && *c != ':').collect();
    let unique = uuid::Uuid::new_v4().simple().to_string();
    format!("{stamp}Z-{}", &unique[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_sort_by_time_and_are_unique() {
        let (a, b) = (run_id(1_764_080_100_000), run_id(1_764_080_100_000));
        assert!(a.starts_with("20251125T") && a.len() == 25, "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn paid_amounts_are_compared_like_for_like_per_side() {
        let pairing =
            compare::document_pairing(&crate::mapping::file::MappingFile::shipped(), "Invoices").unwrap().unwrap();
        let records = |rows: serde_json::Value| -> Vec<Record> {
            rows.as_array().unwrap().iter().map(|r| r.as_object().unwrap().clone()).collect()
        };
        let sap = records(json!([{"PaidToDate": 100.0}, {"PaidToDate": 0.0}, {"PaidToDate": 20.005}]));
        let salesforce = records(json!([{"Paid_Amount__c": 100.0}, {"Paid_Amount__c": null}, {"Other": 5.0}]));
        let paid = paid_totals(&pairing, &sap, &salesforce).unwrap();
        assert_eq!(
            (paid.entity.as_str(), paid.salesforce_object.as_str()),
            ("Invoices.PaidToDate", "SAP_Invoice__c.Paid_Amount__c")
        );
        assert_eq!((paid.sap_count, paid.sap_amount), (2, Some(120.01)));
        assert_eq!((paid.salesforce_count, paid.salesforce_amount), (1, Some(100.0)));
    }
}
