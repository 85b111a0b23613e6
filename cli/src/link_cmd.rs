//! `b1force link`: the review of existing accounts and business partners, or products and items
//! (dry run), and `--apply`.
//!
//! Against the configured systems (SAP_*, SF_*, MAPPING_FILE; AUDIT_TABLE for `--apply`, which
//! audits every link it writes), or with `--sandbox` against in-process sandboxes (a demonstration:
//! their seeded accounts name partners one way). The review goes to `--out` as `link-review.json`,
//! `link-review.csv` (edit its `decision` column and feed it back with `--decisions`) and
//! `link-review.html`.

use crate::local::{LocalOptions, LocalStack};
use shared::config::Source;
use shared::embedded::EmbeddedAudit;
use shared::flows::link::review::{LinkReview, corrections};
use shared::flows::link::{Linker, Records};
use shared::ports::{AuditLog, Clock, SystemClock};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What the command was asked.
#[derive(Debug, Clone)]
pub struct LinkOptions {
    /// `accounts` (⇄ business partners) or `products` (⇄ items).
    pub records: String,
    pub apply: bool,
    pub decisions: Option<PathBuf>,
    pub out: PathBuf,
    pub sandbox: bool,
}

/// Runs the review (and the apply) and writes the review files; returns the review.
pub async fn run(options: &LinkOptions, src: &dyn Source, out: &mut dyn Write) -> anyhow::Result<LinkReview> {
    let run_id = format!("link-{}", SystemClock.now_millis());
    let corrections = match &options.decisions {
        Some(path) => Some(corrections(
            &std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read the decisions file {}: {e}", path.display()))?,
        )?),
        None => None,
    };
    let (linker, _stack) = if options.sandbox {
        let stack = LocalStack::start(LocalOptions::default()).await?;
        let linker = stack.linker();
        (linker, Some(stack))
    } else {
        (configured(src, options.apply).await?, None)
    };
    let records = Records::parse(&options.records)?;
    let mut review = linker.review(records, &run_id, corrections.as_deref()).await?;
    if options.apply {
        review.applied = Some(linker.apply(&review, &run_id).await?);
    }
    write_review(&review, &options.out)?;
    summarise(&review, &options.out, out)?;
    Ok(review)
}

async fn configured(src: &dyn Source, apply: bool) -> anyhow::Result<Linker> {
    let audit: Arc<dyn AuditLog> = match src.var("AUDIT_TABLE") {
        Some(_) => Arc::new(crate::ops::audit_table(src).await?),
        None if apply => anyhow::bail!("set AUDIT_TABLE: --apply audits every link it writes"),
        None => Arc::new(EmbeddedAudit::new()),
    };
    let sap = Arc::new(shared::wiring::sap_client_from_settings(src).await?);
    let salesforce = Arc::new(shared::wiring::salesforce_client_from_settings(src).await?);
    Ok(Linker {
        sap_changes: sap.clone(),
        sap_partners: sap,
        salesforce_reads: salesforce.clone(),
        salesforce_writes: salesforce,
        audit,
        mapping: Arc::new(shared::wiring::mapping_file(src)?),
        clock: Arc::new(SystemClock),
        page_size: 5000,
    })
}

/// `link-review.{json,csv,html}` in `dir` (created).
pub fn write_review(review: &LinkReview, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("link-review.json"), review.json())?;
    std::fs::write(dir.join("link-review.csv"), review.csv())?;
    std::fs::write(dir.join("link-review.html"), review.html())?;
    Ok(())
}

fn summarise(review: &LinkReview, dir: &Path, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "{}: {} Salesforce and {} SAP records, rules {}",
        review.pair,
        review.salesforce_records,
        review.sap_records,
        review.rules.join(", ")
    )?;
    for (verdict, count) in shared::domain::link::totals(&review.decisions) {
        writeln!(out, "  {verdict:<20} {count}")?;
    }
    match &review.applied {
        Some(applied) => {
            writeln!(
                out,
                "applied: {} Salesforce and {} SAP links written",
                applied.salesforce_written, applied.sap_written
            )?;
            for (record, error) in &applied.failed {
                writeln!(out, "  failed {record}: {error}")?;
            }
        }
        None => writeln!(out, "dry run: nothing written; review {} and run again with --apply", dir.display())?,
    }
    Ok(())
}
