//! `b1force link`'s review: the decisions as JSON, as a CSV an operator corrects and feeds back
//! (`decision` column: `link` or anything else), and as one self-contained HTML page in the
//! reconciliation report's style.

use crate::domain::link::{Correction, Decision, Verdict, totals};
use crate::error::{Error, Result};
use crate::report::csv_file::write_row;
use crate::report::html_page::{Escaped, open_page};
use serde::Serialize;
use std::fmt::Write as _;

/// A review: what was compared, by which rules, and every decision.
#[derive(Debug, Clone, Serialize)]
pub struct LinkReview {
    pub records: super::Records,
    /// Contacts: each contact person's partner (InternalCode → CardCode), which `--apply` patches.
    #[serde(skip)]
    pub sap_parents: std::collections::BTreeMap<String, String>,
    /// `Account ⇄ BusinessPartners`.
    pub pair: String,
    pub run_id: String,
    pub generated_at: String,
    pub rules: Vec<String>,
    pub salesforce_records: usize,
    pub sap_records: usize,
    pub decisions: Vec<Decision>,
    /// After `--apply`: links written per side, and the records that failed.
    pub applied: Option<Applied>,
}

/// What `--apply` wrote.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Applied {
    pub salesforce_written: usize,
    pub sap_written: usize,
    /// (record, error) of each write that failed; the rest stand.
    pub failed: Vec<(String, String)>,
}

const HEADER: [&str; 10] = [
    "decision",
    "verdict",
    "salesforce_id",
    "sap_key",
    "salesforce_name",
    "sap_name",
    "rule",
    "confidence",
    "candidates",
    "note",
];

impl LinkReview {
    pub fn json(&self) -> String {
        let mut value = serde_json::to_value(self).expect("a review always serializes");
        value["totals"] = serde_json::to_value(totals(&self.decisions)).expect("counts serialize");
        serde_json::to_string_pretty(&value).expect("a review always serializes")
    }

    /// One row per decision; `decision` says `link` where `--apply` would write a link.
    pub fn csv(&self) -> String {
        let mut out = String::with_capacity(64 + self.decisions.len() * 160);
        write_row(&mut out, HEADER);
        for d in &self.decisions {
            let confidence = d.confidence.map(|c| format!("{c:.2}")).unwrap_or_default();
            let candidates = d.candidates.join(" ");
            let decision = if d.write_salesforce || d.write_sap { "link" } else { "" };
            write_row(
                &mut out,
                [
                    decision,
                    d.verdict.code(),
                    d.salesforce_id.as_deref().unwrap_or(""),
                    d.sap_key.as_deref().unwrap_or(""),
                    &d.salesforce_name,
                    &d.sap_name,
                    d.rule.as_deref().unwrap_or(""),
                    &confidence,
                    &candidates,
                    &d.note,
                ],
            );
        }
        out
    }

    /// The page: totals by verdict, then the decisions.
    pub fn html(&self) -> String {
        let mut page = String::with_capacity(8192 + self.decisions.len() * 400);
        open_page(&mut page, &format!("Link review {}", self.pair));
        let _ = writeln!(
            page,
            "<header>\n<h1>Existing records: {pair}</h1>\n<p class=\"meta\">Generated <time>{at}</time> \u{b7} run <code>{run}</code> \
             \u{b7} rules {rules} \u{b7} {sf} Salesforce and {sap} SAP records</p>\n</header>",
            pair = Escaped(&self.pair),
            at = Escaped(&self.generated_at),
            run = Escaped(&self.run_id),
            rules = Escaped(&self.rules.join(", ")),
            sf = self.salesforce_records,
            sap = self.sap_records,
        );
        page.push_str("<section id=\"summary\">\n<h2>Summary</h2>\n<table id=\"verdict-counts\">\n<tbody>\n");
        let counts = totals(&self.decisions);
        for verdict in Verdict::ALL {
            let _ = writeln!(
                page,
                "<tr><th scope=\"row\">{}</th><td class=\"num\" id=\"count-{}\">{}</td></tr>",
                verdict.code().replace('_', " "),
                verdict.code(),
                counts[verdict.code()]
            );
        }
        let _ = writeln!(
            page,
            "</tbody>\n<tfoot><tr><th scope=\"row\">all decisions</th><td class=\"num\" id=\"count-total\">{}</td></tr></tfoot>\n</table>",
            self.decisions.len()
        );
        if let Some(applied) = &self.applied {
            let _ = writeln!(
                page,
                "<table id=\"applied\">\n<caption>Applied</caption>\n<tbody>\n\
                 <tr><th scope=\"row\">Salesforce links written</th><td class=\"num\" id=\"applied-salesforce\">{}</td></tr>\n\
                 <tr><th scope=\"row\">SAP links written</th><td class=\"num\" id=\"applied-sap\">{}</td></tr>\n\
                 <tr><th scope=\"row\">failed</th><td class=\"num\" id=\"applied-failed\">{}</td></tr>\n</tbody>\n</table>",
                applied.salesforce_written,
                applied.sap_written,
                applied.failed.len()
            );
        }
        page.push_str("</section>\n<section>\n<h2>Decisions</h2>\n");
        if self.decisions.is_empty() {
            page.push_str("<p class=\"empty\">Neither side has records.</p>\n");
        } else {
            page.push_str("<table id=\"decisions\">\n<thead><tr>");
            for column in HEADER.iter().skip(1) {
                let _ = write!(page, "<th scope=\"col\">{}</th>", column.replace('_', " "));
            }
            page.push_str("</tr></thead>\n<tbody>\n");
            for d in &self.decisions {
                let confidence = d.confidence.map(|c| format!("{c:.2}")).unwrap_or_default();
                let _ = writeln!(
                    page,
                    "<tr class=\"{verdict}\"><td>{verdict}</td><td>{sf}</td><td>{sap}</td><td>{sf_name}</td><td>{sap_name}</td>\
                     <td>{rule}</td><td class=\"num\">{confidence}</td><td>{candidates}</td><td>{note}</td></tr>",
                    verdict = d.verdict.code(),
                    sf = Escaped(d.salesforce_id.as_deref().unwrap_or("")),
                    sap = Escaped(d.sap_key.as_deref().unwrap_or("")),
                    sf_name = Escaped(&d.salesforce_name),
                    sap_name = Escaped(&d.sap_name),
                    rule = Escaped(d.rule.as_deref().unwrap_or("")),
                    candidates = Escaped(&d.candidates.join(" ")),
                    note = Escaped(&d.note),
                );
            }
            page.push_str("</tbody>\n</table>\n");
        }
        page.push_str("</section>\n</body>\n</html>\n");
        page
    }
}

/// A corrected review CSV (as [`LinkReview::csv`] wrote it, edited): the rows whose `decision` is
/// `link`, and the others.
pub fn corrections(text: &str) -> Result<Vec<Correction>> {
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| Error::Invalid(format!("decisions CSV: {e}")))?.clone();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| Error::Invalid(format!("decisions CSV has no {name} column")))
    };
    let (decision, sf, sap) = (column("decision")?, column("salesforce_id")?, column("sap_key")?);
    let mut rows = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| Error::Invalid(format!("decisions CSV row {}: {e}", line + 2)))?;
        let cell = |at: usize| record.get(at).unwrap_or("").trim().to_string();
        rows.push(Correction {
            salesforce_id: cell(sf),
            sap_key: cell(sap),
            link: cell(decision).eq_ignore_ascii_case("link"),
        });
    }
    Ok(rows)
}
