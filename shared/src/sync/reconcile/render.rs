//! The report as files people and tools read: CSV, JSON and one self-contained HTML page.
//! (Placeholder signatures; the renderers are being written.)

use super::model::ReconReport;

/// The report as pretty JSON (the machine-readable copy).
pub fn json(report: &ReconReport) -> String {
    serde_json::to_string_pretty(report).expect("a report always serializes")
}

/// One CSV row per exception, with a header row.
pub fn csv(_report: &ReconReport) -> String {
    String::new()
}

/// A self-contained HTML page: summary, totals per side, a sortable and filterable exception table.
pub fn html(_report: &ReconReport) -> String {
    String::new()
}
