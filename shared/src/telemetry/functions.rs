//! Each function's metrics for one invocation, from what the invocation returned: pure, so the
//! handlers stay one call plus [`Metrics::emit`], and tests (and the EMF specification check) see
//! exactly the documents a function prints.
//!
//! Names and dimensions are agreed with the alarms and dashboard in `infra/`: namespace `B1Force`,
//! dimension set `["Function"]`; failures also per `ErrorClass` (`retryable`, `permanent`), the
//! poller's watermark lag also per `Entity`, reconciliation exceptions also per `ExceptionKind`.

use super::NAMESPACE;
use super::emf::Metrics;
use crate::domain::{EpochMillis, Notification};
use crate::engine::poller::PollReport;
use crate::engine::sap_writer::{BatchOutcome, Disposition, InboundMessage};
use crate::engine::sf_writer::{Stop, WriterRun};
use crate::engine::sweep::SweepReport;
use crate::error::ErrorClass;
use crate::flows::f8_reconcile::{ExceptionKind, ReconReport};
use crate::ingress::function_url::{HttpResponse, IngressTally};
use std::collections::{BTreeMap, HashMap};

/// API requests one invocation sent, where the function can count them (client counters' deltas).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApiCalls {
    pub sap: Option<u64>,
    pub salesforce: Option<u64>,
}

impl ApiCalls {
    /// The calls made since `before` was taken (counters only grow; a missing side stays missing).
    pub fn since(self, before: ApiCalls) -> ApiCalls {
        let delta = |now: Option<u64>, then: Option<u64>| now.map(|n| n.saturating_sub(then.unwrap_or(0)));
        ApiCalls { sap: delta(self.sap, before.sap), salesforce: delta(self.salesforce, before.salesforce) }
    }
}

/// `ErrorClass` dimension values.
fn class_name(class: ErrorClass) -> &'static str {
    match class {
        ErrorClass::Retryable => "retryable",
        ErrorClass::Permanent => "permanent",
        ErrorClass::Configuration => "configuration",
    }
}

fn seconds(millis: i64) -> f64 {
    millis.max(0) as f64 / 1000.0
}

/// `(used, max)` daily API requests as the share left, in percent.
fn headroom_percent((used, max): (u64, u64)) -> f64 {
    max.saturating_sub(used) as f64 * 100.0 / max.max(1) as f64
}

impl Metrics {
    fn api_calls(self, calls: ApiCalls) -> Self {
        let with_sap = match calls.sap {
            Some(n) => self.count("SapApiCalls", n),
            None => self,
        };
        match calls.salesforce {
            Some(n) => with_sap.count("SalesforceApiCalls", n),
            None => with_sap,
        }
    }

    /// `SalesforceApiHeadroom`, when Salesforce reported its usage.
    fn headroom(self, usage: Option<(u64, u64)>) -> Self {
        match usage {
            Some(usage) => self.percent("SalesforceApiHeadroom", headroom_percent(usage)),
            None => self,
        }
    }

    /// `RecordsFailed`, in total and per error class (configuration errors are counted by
    /// [`Metrics::configuration`]).
    fn failed(self, retryable: u64, permanent: u64) -> Self {
        self.count("RecordsFailed", retryable + permanent)
            .breakdown("ErrorClass", class_name(ErrorClass::Retryable), "RecordsFailed", retryable)
            .breakdown("ErrorClass", class_name(ErrorClass::Permanent), "RecordsFailed", permanent)
    }

    /// `ConfigurationError`: records kept queued because the set-up is wrong (a refused login, an
    /// unknown field); any at all raises the `ConfigurationErrorAlarm`.
    fn configuration(self, held: u64) -> Self {
        self.count("ConfigurationError", held)
    }

    /// A delivery into sf-receiver or sap-webhook.
    fn ingress(self, tally: &IngressTally) -> Self {
        let failed = |class| u64::from(tally.failed == Some(class));
        self.count("RecordsIn", tally.records_in)
            .count("RecordsOut", tally.enqueued)
            .count("RecordsDropped", tally.dropped)
            .failed(failed(ErrorClass::Retryable), failed(ErrorClass::Permanent))
            .configuration(failed(ErrorClass::Configuration))
            .count("RequestsRefused", tally.refused)
    }
}

/// sf-receiver: records delivered (CDC event, webhook, Outbound Message), notifications enqueued,
/// echoes and ignored changes dropped, and a refused or failed delivery by class.
pub fn sf_receiver(tally: &IngressTally) -> Metrics {
    Metrics::new(NAMESPACE, "sf-receiver").ingress(tally)
}

/// A cold start that refused `versions` newer published mapping versions (and runs on an older one):
/// counted as `ConfigurationError` of `function`, so the configuration alarm fires.
pub fn mapping_refused(function: &str, versions: usize) -> Metrics {
    Metrics::new(NAMESPACE, function).configuration(versions as u64)
}

/// sap-webhook: events delivered, notifications enqueued, objects ignored, refusals by class.
pub fn sap_webhook(tally: &IngressTally) -> Metrics {
    Metrics::new(NAMESPACE, "sap-webhook").ingress(tally)
}

/// sap-writer, one SQS batch: messages in, written (orders, partners, cases, resyncs), failed by
/// class (retrying or held back: retryable; dead-lettered: permanent), and F1's quote-to-order
/// conversion: Closed Won opportunities turned into SAP orders or failing to (retries included),
/// with each new order's age since the opportunity's change, and the Salesforce API headroom left
/// (when Salesforce reported it). `settled_at` is when the batch ended.
pub fn sap_writer(
    batch: &[InboundMessage],
    outcome: &BatchOutcome,
    settled_at: EpochMillis,
    calls: ApiCalls,
    usage: Option<(u64, u64)>,
) -> Metrics {
    let notes: HashMap<&str, Notification> = batch
        .iter()
        .filter_map(|m| Notification::from_body(&m.body).ok().map(|note| (m.message_id.as_str(), note)))
        .collect();
    let (mut written, mut retryable, mut dead, mut held) = (0, 0, 0, 0);
    let (mut converted, mut not_converted, mut ages) = (0, 0, Vec::new());
    for (message_id, disposition) in &outcome.dispositions {
        let opportunity = notes.get(message_id.as_str()).filter(|n| n.record.object == "Opportunity");
        match disposition {
            Disposition::Created { .. } | Disposition::Linked { .. } => {
                written += 1;
                converted += u64::from(opportunity.is_some());
                if let (Disposition::Created { .. }, Some(note)) = (disposition, opportunity) {
                    ages.push(seconds(settled_at - note.changed_at));
                }
            }
            Disposition::Written | Disposition::Resynced { .. } => written += 1,
            Disposition::Duplicate | Disposition::Skipped => {}
            Disposition::Retry | Disposition::HeldBack => {
                retryable += 1;
                not_converted += u64::from(opportunity.is_some() && *disposition == Disposition::Retry);
            }
            Disposition::DeadLettered => {
                dead += 1;
                not_converted += u64::from(opportunity.is_some());
            }
            Disposition::Held | Disposition::Requeued => held += 1,
        }
    }
    let metrics = Metrics::new(NAMESPACE, "sap-writer")
        .count("RecordsIn", batch.len() as u64)
        .count("RecordsOut", written)
        .failed(retryable, dead)
        .count("RecordsDeadLettered", dead)
        .configuration(held)
        .count("OrderConversionSucceeded", converted)
        .count("OrderConversionFailed", not_converted)
        .seconds("OrderAgeSeconds", &ages)
        .api_calls(calls);
    metrics.headroom(usage)
}

/// sap-lookup, one request: a lookup answered (200), not found (404), refused (400, 401, 405:
/// permanent) or failed in SAP (5xx: retryable).
pub fn sap_lookup(response: &HttpResponse, calls: ApiCalls) -> Metrics {
    let status = response.status;
    let refused = matches!(status, 400..=499) && status != 404;
    Metrics::new(NAMESPACE, "sap-lookup")
        .count("RecordsIn", 1)
        .count("RecordsOut", u64::from(status == 200))
        .count("RecordsNotFound", u64::from(status == 404))
        .failed(u64::from(status >= 500), u64::from(refused))
        .api_calls(calls)
}

/// sap-poller, one run: rows read, notifications enqueued, and how far the entity's watermark is
/// behind `now` (entities tracked by an update stamp; per `Function` and per `Function`+`Entity`).
pub fn sap_poller(report: &PollReport, now: EpochMillis, calls: ApiCalls) -> Metrics {
    // Caught up (the run read every change SAP has) is no lag, however old the last change is: an
    // entity nobody touched overnight must not page anyone. A run that stopped at `max_pages` lags by
    // the age of the change it stopped at. A skipped run (lease held) says nothing.
    let lag: Vec<f64> = match (&report.skipped, report.complete) {
        (Some(_), _) => Vec::new(),
        (None, true) => vec![0.0],
        (None, false) => report.watermark_at().map(|at| seconds(now - at)).into_iter().collect(),
    };
    Metrics::new(NAMESPACE, "sap-poller")
        .also_by("Entity", &report.entity)
        .count("RecordsIn", report.rows_read)
        .count("RecordsOut", report.enqueued)
        .count("RecordsDeadLettered", report.dead_lettered)
        .seconds("WatermarkLagSeconds", &lag)
        .api_calls(calls)
}

/// sf-writer, one run: messages in, records written, skipped, retried (retryable) and
/// dead-lettered (permanent), budget stops, the API headroom left (when Salesforce reported it),
/// and each SAP invoice's lag from its change to its Salesforce write.
pub fn sf_writer(run: &WriterRun, usage: Option<(u64, u64)>, calls: ApiCalls) -> Metrics {
    let budget_stop = matches!(run.stopped, Stop::Budget { .. } | Stop::RequestLimit);
    let lag: Vec<f64> = run.invoice_sync_lag_ms.iter().map(|ms| seconds(*ms)).collect();
    Metrics::new(NAMESPACE, "sf-writer")
        .count("RecordsIn", run.messages)
        .count("RecordsOut", run.written)
        .failed(run.retried, run.dead_lettered)
        .count("RecordsWritten", run.written)
        .count("RecordsSkipped", run.skipped)
        .count("RecordsRetried", run.retried)
        .count("RecordsDeadLettered", run.dead_lettered)
        .configuration(run.held)
        .count("BudgetStops", u64::from(budget_stop))
        .seconds("InvoiceSyncLagSeconds", &lag)
        .api_calls(calls)
        .headroom(usage)
}

/// reconciler, one run: exceptions in total and per kind, records a repair re-enqueued, and the
/// API calls the run made.
pub fn reconciler(report: &ReconReport) -> Metrics {
    let mut by_kind: BTreeMap<ExceptionKind, u64> = BTreeMap::new();
    for exception in &report.exceptions {
        *by_kind.entry(exception.kind).or_default() += 1;
    }
    let repairs = report.repair.as_ref().map_or(0, |r| r.to_salesforce + r.to_sap);
    let calls = ApiCalls { sap: Some(report.sap_calls), salesforce: Some(report.salesforce_calls) };
    let metrics = Metrics::new(NAMESPACE, "reconciler")
        .count("ReconciliationExceptions", report.exceptions.len() as u64)
        .count("ReconciliationRepairs", repairs)
        .api_calls(calls);
    by_kind
        .into_iter()
        .fold(metrics, |m, (kind, n)| m.breakdown("ExceptionKind", kind.code(), "ReconciliationExceptions", n))
}

/// The reconciler's lost-event sweep, one run: Closed Won opportunities no event brought
/// (`LostEventsSwept`, the lost-event alarm), and the business time since the last CDC event
/// (`CdcSilenceSeconds`, the no-CDC alarm), when known.
pub fn sweep(report: &SweepReport) -> Metrics {
    let silence: Vec<f64> = report.cdc_silent_business_hours.map(|hours| hours * 3600.0).into_iter().collect();
    Metrics::new(NAMESPACE, "reconciler")
        .count("LostEventsSwept", report.opportunities)
        .seconds("CdcSilenceSeconds", &silence)
}

/// Sample results of every function, one invocation each, as their EMF lines: what the EMF
/// specification test validates (`examples/emf_lines.rs`, `tests/python/test_emf_spec.py`).
pub fn sample_lines(timestamp_ms: EpochMillis) -> Vec<String> {
    samples::all(timestamp_ms)
        .iter()
        .flat_map(|m| m.to_lines(timestamp_ms).expect("the sample metrics keep the specification"))
        .collect()
}

/// Invocation results as the functions produce them, exercising every metric and breakdown.
mod samples {
    use super::*;
    use crate::domain::state::Watermark;
    use crate::domain::{RecordKey, System};
    use crate::flows::f8_reconcile::{Period, ReconException, RepairSummary};

    fn message(id: &str, object: &str, record: &str, changed_at: EpochMillis) -> InboundMessage {
        let note = Notification {
            record: RecordKey { system: System::Sf, object: object.into(), id: record.into() },
            reason: "cdc:UPDATE".into(),
            changed_at,
            source_version: format!("v-{id}"),
            correlation_id: format!("corr-{id}"),
        };
        InboundMessage { message_id: id.into(), group_id: note.group_id(), body: note.to_body(), ..Default::default() }
    }

    pub fn all(now: EpochMillis) -> Vec<Metrics> {
        let calls = ApiCalls { sap: Some(7), salesforce: Some(3) };
        let batch = vec![
            message("m1", "Opportunity", "006000000000001AAA", now - 42_000),
            message("m2", "Opportunity", "006000000000002AAA", now - 5_000),
            message("m3", "Account", "001000000000003AAA", now - 1_000),
            InboundMessage {
                message_id: "m4".into(),
                group_id: "g".into(),
                body: "not json".into(),
                ..Default::default()
            },
            message("m5", "Account", "001000000000005AAA", now - 2_000),
        ];
        let outcome = BatchOutcome {
            failures: vec!["m2".into()],
            dispositions: vec![
                ("m1".into(), Disposition::Created { doc_entry: 91 }),
                ("m2".into(), Disposition::Retry),
                ("m3".into(), Disposition::Written),
                ("m4".into(), Disposition::DeadLettered),
                ("m5".into(), Disposition::Held),
            ],
        };
        let run = WriterRun {
            rounds: 2,
            messages: 250,
            written: 240,
            skipped: 5,
            retried: 3,
            dead_lettered: 2,
            held: 1,
            stopped: Stop::Budget { used: 9_500, max: 10_000 },
            invoice_sync_lag_ms: (0..150).map(|i| i * 1_000).collect(),
        };
        let poll = PollReport {
            entity: "Invoices".into(),
            skipped: None,
            rows_read: 120,
            enqueued: 120,
            dead_lettered: 0,
            pages: 1,
            watermark_before: None,
            watermark_after: Some(Watermark {
                date: "2026-11-25".into(),
                time: "14:00:00".into(),
                key: "91".into(),
                doc_entry: Some(91),
            }),
            watermark_changed_at: crate::domain::sap_time::SapTimeZone::utc()
                .earliest_instant("2026-11-25", "14:00:00"),
            // Stopped at max_pages with more waiting: lagging by the age of its watermark.
            complete: false,
        };
        let exception = |kind| ReconException {
            kind,
            entity: "Invoices".into(),
            sap_key: "91".into(),
            salesforce_id: None,
            field: None,
            sap_value: None,
            salesforce_value: None,
            sap_link: None,
            salesforce_link: None,
            repair: None,
            note: None,
        };
        let recon = ReconReport {
            run_id: "r-1".into(),
            generated_at: "2026-11-25T14:00:00Z".into(),
            period: Period { from: "2026-11-01".into(), to: "2026-11-25".into() },
            totals: Vec::new(),
            exceptions: vec![
                exception(ExceptionKind::MissingInSalesforce),
                exception(ExceptionKind::MissingInSalesforce),
                exception(ExceptionKind::AmountDrift),
            ],
            repair: Some(RepairSummary { to_salesforce: 2, to_sap: 0, manual: 1 }),
            sap_calls: 12,
            salesforce_calls: 4,
        };
        let found = HttpResponse { status: 200, content_type: "application/json", body: "{}".into() };
        vec![
            sf_receiver(&IngressTally::delivered(3, 2)),
            sf_receiver(&IngressTally::failed(ErrorClass::Permanent)),
            sap_writer(&batch, &outcome, now, calls, Some((2_000, 100_000))),
            sap_lookup(&found, ApiCalls { sap: Some(1), salesforce: None }),
            sap_poller(&poll, now, calls),
            sf_writer(&run, Some((9_500, 10_000)), calls),
            sap_webhook(&IngressTally::failed(ErrorClass::Retryable)),
            reconciler(&recon),
            sweep(&SweepReport {
                since: now - 900_000,
                until: now,
                opportunities: 2,
                accounts: true,
                cdc_silent_business_hours: Some(1.5),
            }),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::emf::check;
    use serde_json::Value;

    const NOW: EpochMillis = 1_795_615_200_000; // 2026-11-25T14:00:00Z

    fn docs(metrics: &Metrics) -> Vec<Value> {
        metrics.to_lines(NOW).unwrap().iter().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    #[test]
    fn the_sap_writer_counts_conversions_failures_by_class_and_the_new_orders_age() {
        let all = samples::all(NOW);
        let m = &all[2];
        assert_eq!(m.value("RecordsIn"), Some(&[5.0][..]));
        // The account held for a configuration error is no record failure: it raises its own alarm.
        assert_eq!(m.value("ConfigurationError"), Some(&[1.0][..]));
        assert_eq!(m.value("RecordsOut"), Some(&[2.0][..]));
        assert_eq!(m.value("RecordsFailed"), Some(&[2.0][..]));
        assert_eq!(m.breakdown_value("ErrorClass", "retryable", "RecordsFailed"), Some(1.0));
        assert_eq!(m.breakdown_value("ErrorClass", "permanent", "RecordsFailed"), Some(1.0));
        assert_eq!(m.value("RecordsDeadLettered"), Some(&[1.0][..]));
        assert_eq!(m.value("OrderConversionSucceeded"), Some(&[1.0][..]));
        // The retried opportunity failed this attempt; the unparseable message is no opportunity.
        assert_eq!(m.value("OrderConversionFailed"), Some(&[1.0][..]));
        assert_eq!(m.value("OrderAgeSeconds"), Some(&[42.0][..]));
        assert_eq!((m.value("SapApiCalls"), m.value("SalesforceApiCalls")), (Some(&[7.0][..]), Some(&[3.0][..])));
        assert_eq!(m.value("SalesforceApiHeadroom"), Some(&[98.0][..]));
    }

    #[test]
    fn the_sf_writer_keeps_its_metrics_and_adds_records_lag_and_headroom() {
        let all = samples::all(NOW);
        let m = &all[5];
        for (name, value) in [
            ("RecordsIn", 250.0),
            ("RecordsOut", 240.0),
            ("RecordsWritten", 240.0),
            ("RecordsSkipped", 5.0),
            ("RecordsRetried", 3.0),
            ("RecordsDeadLettered", 2.0),
            ("RecordsFailed", 5.0),
            ("BudgetStops", 1.0),
            ("SalesforceApiHeadroom", 5.0),
        ] {
            assert_eq!(m.value(name), Some(&[value][..]), "{name}");
        }
        let lag = m.value("InvoiceSyncLagSeconds").unwrap();
        assert_eq!((lag.len(), lag[0], lag[99]), (100, 0.0, 149.0));
        let unknown = sf_writer(&empty_run(), None, ApiCalls::default());
        assert_eq!((unknown.value("SalesforceApiHeadroom"), unknown.value("BudgetStops")), (None, Some(&[0.0][..])));
        assert_eq!(unknown.value("SapApiCalls"), None);
    }

    fn empty_run() -> WriterRun {
        WriterRun::default()
    }

    #[test]
    fn the_poller_reports_its_watermark_lag_per_function_and_per_entity() {
        let all = samples::all(NOW + 90_000);
        let doc = &docs(&all[4])[0];
        assert_eq!((doc["WatermarkLagSeconds"].as_f64(), doc["Entity"].as_str()), (Some(90.0), Some("Invoices")));
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["Function"], ["Function", "Entity"]])
        );
        let no_stamp =
            PollReport { watermark_after: None, watermark_changed_at: None, complete: false, ..sample_poll() };
        assert_eq!(sap_poller(&no_stamp, NOW, ApiCalls::default()).value("WatermarkLagSeconds"), None);
    }

    #[test]
    fn a_poller_that_caught_up_has_no_lag_however_old_its_last_change_and_a_skipped_one_says_nothing() {
        let stamp = crate::domain::state::Watermark {
            date: "2026-11-20".into(),
            time: "08:00:00".into(),
            key: "C1".into(),
            doc_entry: None,
        };
        let at = crate::domain::sap_time::SapTimeZone::utc().earliest_instant(&stamp.date, &stamp.time);
        let caught_up = PollReport {
            watermark_after: Some(stamp.clone()),
            watermark_changed_at: at,
            complete: true,
            ..sample_poll()
        };
        assert_eq!(sap_poller(&caught_up, NOW, ApiCalls::default()).value("WatermarkLagSeconds"), Some(&[0.0][..]));
        let behind = PollReport { complete: false, ..caught_up.clone() };
        let lag = sap_poller(&behind, NOW, ApiCalls::default()).value("WatermarkLagSeconds").map(|v| v[0]);
        assert!(lag.is_some_and(|seconds| seconds > 86_400.0), "five days behind, got {lag:?}");
        let skipped = PollReport { skipped: Some("lease held".into()), ..caught_up };
        assert_eq!(sap_poller(&skipped, NOW, ApiCalls::default()).value("WatermarkLagSeconds"), None);
    }

    fn sample_poll() -> PollReport {
        PollReport {
            entity: "Items".into(),
            skipped: None,
            rows_read: 0,
            enqueued: 0,
            dead_lettered: 0,
            pages: 0,
            watermark_before: None,
            watermark_after: None,
            watermark_changed_at: None,
            complete: true,
        }
    }

    #[test]
    fn ingress_counts_deliveries_and_refusals_but_not_probes() {
        let ok = sf_receiver(&IngressTally::delivered(3, 2));
        assert_eq!((ok.value("RecordsIn"), ok.value("RecordsOut")), (Some(&[3.0][..]), Some(&[2.0][..])));
        assert_eq!((ok.value("RecordsDropped"), ok.value("RecordsFailed")), (Some(&[1.0][..]), Some(&[0.0][..])));
        assert_eq!(docs(&ok).len(), 1, "no failure, no ErrorClass document");
        let refused = sap_webhook(&IngressTally::failed(ErrorClass::Permanent));
        assert_eq!(refused.breakdown_value("ErrorClass", "permanent", "RecordsFailed"), Some(1.0));
        assert_eq!(refused.breakdown_value("ErrorClass", "retryable", "RecordsFailed"), None);
        let probe = sap_webhook(&IngressTally::default());
        assert_eq!((probe.value("RecordsIn"), probe.value("RecordsFailed")), (Some(&[0.0][..]), Some(&[0.0][..])));
    }

    #[test]
    fn a_lookup_is_answered_not_found_refused_or_failed() {
        let response = |status| HttpResponse { status, content_type: "application/json", body: String::new() };
        let count = |status, name| sap_lookup(&response(status), ApiCalls::default()).value(name).unwrap()[0];
        assert_eq!((count(200, "RecordsOut"), count(200, "RecordsFailed")), (1.0, 0.0));
        assert_eq!((count(404, "RecordsNotFound"), count(404, "RecordsFailed")), (1.0, 0.0));
        let refused = sap_lookup(&response(401), ApiCalls::default());
        assert_eq!(refused.breakdown_value("ErrorClass", "permanent", "RecordsFailed"), Some(1.0));
        let failed = sap_lookup(&response(502), ApiCalls::default());
        assert_eq!(failed.breakdown_value("ErrorClass", "retryable", "RecordsFailed"), Some(1.0));
    }

    #[test]
    fn api_calls_are_the_counters_difference_across_the_invocation() {
        let before = ApiCalls { sap: Some(10), salesforce: Some(4) };
        let after = ApiCalls { sap: Some(17), salesforce: Some(4) };
        assert_eq!(after.since(before), ApiCalls { sap: Some(7), salesforce: Some(0) });
        assert_eq!(crate::wiring::ApiClients::default().sent(), ApiCalls::default());
    }

    #[test]
    fn the_reconciler_counts_exceptions_per_kind_and_repairs() {
        let all = samples::all(NOW);
        let m = &all[7];
        assert_eq!(m.value("ReconciliationExceptions"), Some(&[3.0][..]));
        assert_eq!(m.value("ReconciliationRepairs"), Some(&[2.0][..]));
        assert_eq!(m.breakdown_value("ExceptionKind", "missing_in_salesforce", "ReconciliationExceptions"), Some(2.0));
        assert_eq!(m.breakdown_value("ExceptionKind", "amount_drift", "ReconciliationExceptions"), Some(1.0));
        assert_eq!(m.breakdown_value("ExceptionKind", "field_drift", "ReconciliationExceptions"), None);
        for kind in [ExceptionKind::MissingInSap, ExceptionKind::StatusDrift, ExceptionKind::FieldDrift] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.code(), "the report's own spelling");
        }
    }

    #[test]
    fn the_sweep_counts_lost_events_and_the_business_time_without_cdc() {
        let all = samples::all(NOW);
        let m = &all[8];
        assert_eq!(m.value("LostEventsSwept"), Some(&[2.0][..]));
        assert_eq!(m.value("CdcSilenceSeconds"), Some(&[5400.0][..]));
        let unknown = sweep(&SweepReport { cdc_silent_business_hours: None, ..Default::default() });
        assert_eq!((unknown.value("LostEventsSwept"), unknown.value("CdcSilenceSeconds")), (Some(&[0.0][..]), None));
    }

    #[test]
    fn every_sample_line_keeps_the_rules_of_the_specification() {
        let lines = sample_lines(NOW);
        let functions: std::collections::BTreeSet<String> = lines
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["Function"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(functions.len(), 7, "{functions:?}");
        for line in &lines {
            let doc: Value = serde_json::from_str(line).unwrap();
            assert_eq!(check(&doc), Vec::<String>::new(), "{line}");
        }
    }
}
