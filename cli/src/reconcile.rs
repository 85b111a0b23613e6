//! `b1force reconcile`: F8 once, from the command line.
//!
//! Against AWS when the environment names the report bucket (`REPORTS_BUCKET`, with the queues and
//! tables the Lambda uses, see [`shared::wiring::reconciler`]); otherwise on the embedded backends
//! with the in-process sandboxes, first synced as `b1force demo` does, writing the report files to
//! `--out`. Progress goes to stderr, the run's summary JSON to stdout.

use crate::local::{LocalOptions, LocalStack};
use anyhow::Context;
use serde_json::Value;
use shared::config::{Env, Source};
use shared::domain::parse_date;
use shared::embedded::{EmbeddedNotifier, LocalReports};
use shared::engine::sf_writer::SfWriterSettings;
use shared::flows::f8_reconcile::input::{explicit_period, named_period};
use shared::flows::f8_reconcile::{Period, ReconRequest, Reconciler};
use shared::ports::{Clock, SystemClock};
use std::path::PathBuf;
use std::sync::Arc;

/// What the command was asked.
#[derive(Debug, Clone)]
pub struct ReconcileOptions {
    /// `month_to_date` (default), `previous_month` or `yesterday`; ignored with `from`/`to`.
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub repair: bool,
    /// The local run's report folder.
    pub out: PathBuf,
}

/// The period the options name, `today` resolving named windows.
pub fn period(options: &ReconcileOptions, today: &str) -> anyhow::Result<Period> {
    Ok(match (&options.from, &options.to) {
        (Some(from), Some(to)) => explicit_period(from, to)?,
        (None, None) => named_period(options.period.as_deref().unwrap_or("month_to_date"), parse_date(today)?)?,
        _ => anyhow::bail!("give both --from and --to, or neither"),
    })
}

fn progress() -> shared::flows::f8_reconcile::run::Progress {
    Arc::new(|line: &str| eprintln!("reconcile: {line}"))
}

/// Runs the reconciliation and returns its summary.
pub async fn run(options: &ReconcileOptions) -> anyhow::Result<Value> {
    let today = shared::domain::date_of(SystemClock.now_millis());
    let request = ReconRequest { period: period(options, &today)?, repair: options.repair };
    if Env.var("REPORTS_BUCKET").is_some() {
        let sdk = shared::aws::sdk_config().await;
        let reconciler = Reconciler { progress: Some(progress()), ..shared::wiring::reconciler(&sdk, &Env).await? };
        return Ok(reconciler.run(&request).await?.summary());
    }
    eprintln!(
        "reconcile: no REPORTS_BUCKET set; using the local sandboxes (synced first) and {}",
        options.out.display()
    );
    let stack = LocalStack::start(LocalOptions::default()).await?;
    let (_, synced) = stack.sync_from_sap(SfWriterSettings::default()).await.context("initial sync from SAP")?;
    eprintln!("reconcile: sandboxes synced ({} records written)", synced.written);
    let reconciler = Reconciler {
        progress: Some(progress()),
        ..stack.reconciler(Arc::new(LocalReports::new(&options.out)), Arc::new(EmbeddedNotifier::echoing()))
    };
    let outcome = reconciler.run(&request).await?;
    if options.repair {
        let sap = stack.drain(1_000).await?;
        let (_, salesforce) = stack.sync_from_sap(SfWriterSettings::default()).await?;
        eprintln!("reconcile: repairs applied locally ({} to SAP, {} to Salesforce)", sap.messages, salesforce.written);
    }
    Ok(outcome.summary())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(period: Option<&str>, from: Option<&str>, to: Option<&str>) -> ReconcileOptions {
        ReconcileOptions {
            period: period.map(String::from),
            from: from.map(String::from),
            to: to.map(String::from),
            repair: false,
            out: PathBuf::from("out"),
        }
    }

    #[test]
    fn the_period_defaults_to_month_to_date_and_dates_need_each_other() {
        assert_eq!(period(&options(None, None, None), "2026-11-25").unwrap().from, "2026-11-01");
        assert_eq!(period(&options(Some("yesterday"), None, None), "2026-11-25").unwrap().to, "2026-11-24");
        let explicit = period(&options(None, Some("2026-10-01"), Some("2026-10-31")), "2026-11-25").unwrap();
        assert_eq!((explicit.from.as_str(), explicit.to.as_str()), ("2026-10-01", "2026-10-31"));
        assert!(period(&options(None, Some("2026-10-01"), None), "2026-11-25").is_err());
    }
}
