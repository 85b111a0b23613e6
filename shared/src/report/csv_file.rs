//! The CSV report: RFC 4180 with CRLF line ends, one row per exception.
//!
//! Values come from SAP and Salesforce and people open the file in a spreadsheet, so a cell that a
//! spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, tab or CR) gets a leading
//! `'`. A plain negative number (`-12.50`) cannot run as anything and is left as it is, so amounts
//! stay numbers; `-1+1` or `-A1` is not plain and is guarded.

use super::model::{ReconException, ReconReport};
use super::or_empty;

const HEADER: [&str; 11] = [
    "kind",
    "entity",
    "sap_key",
    "salesforce_id",
    "field",
    "sap_value",
    "salesforce_value",
    "sap_link",
    "salesforce_link",
    "repair",
    "note",
];

pub(crate) fn render(report: &ReconReport) -> String {
    let mut out = String::with_capacity(64 + report.exceptions.len() * 256);
    write_row(&mut out, HEADER);
    for exception in &report.exceptions {
        write_row(&mut out, row(exception));
    }
    out
}

fn row(e: &ReconException) -> [&str; 11] {
    [
        e.kind.code(),
        &e.entity,
        &e.sap_key,
        or_empty(&e.salesforce_id),
        or_empty(&e.field),
        or_empty(&e.sap_value),
        or_empty(&e.salesforce_value),
        or_empty(&e.sap_link),
        or_empty(&e.salesforce_link),
        or_empty(&e.repair),
        or_empty(&e.note),
    ]
}

pub(crate) fn write_row<const N: usize>(out: &mut String, cells: [&str; N]) {
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_cell(out, cell);
    }
    out.push_str("\r\n");
}

fn write_cell(out: &mut String, value: &str) {
    let guard = if could_run_as_formula(value) { "'" } else { "" };
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(guard);
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(guard);
        out.push_str(value);
    }
}

fn could_run_as_formula(value: &str) -> bool {
    match value.chars().next() {
        Some('=' | '+' | '@' | '\t' | '\r') => true,
        Some('-') => !is_plain_negative_number(value),
        _ => false,
    }
}

/// `-` then digits, optionally a `.` and more digits: `-12`, `-12.50`.
fn is_plain_negative_number(value: &str) -> bool {
    let Some(unsigned) = value.strip_prefix('-') else { return false };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && all_digits(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    fn cell(value: &str) -> String {
        let mut out = String::new();
        write_cell(&mut out, value);
        out
    }

    #[test]
    fn header_and_one_crlf_terminated_row_per_exception() {
        let report = sample_report();
        let text = render(&report);
        let lines: Vec<&str> = text.split_terminator("\r\n").collect();
        assert_eq!(lines.len(), 1 + report.exceptions.len());
        assert_eq!(
            lines[0],
            "kind,entity,sap_key,salesforce_id,field,sap_value,salesforce_value,sap_link,salesforce_link,repair,note"
        );
        assert!(text.ends_with("\r\n"));
        assert!(!text.replace("\r\n", "").contains('\n'), "no bare LF line ends");
        assert_eq!(
            lines[3],
            "amount_drift,Invoices,103,a0B000000000103AAA,Total__c,-12.50,12.50,\
             https://sap.example.com:50000/b1s/v2/Invoices(103),\
             https://acme.lightning.force.com/lightning/r/SAP_Invoice__c/a0B103/view,sap:Invoices:103,"
        );
    }

    #[test]
    fn commas_quotes_and_newlines_are_quoted_and_quotes_doubled() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell(""), "");
        assert_eq!(cell("Smith, John"), "\"Smith, John\"");
        assert_eq!(cell("the \"best\" customer"), "\"the \"\"best\"\" customer\"");
        assert_eq!(cell("line one\nline two"), "\"line one\nline two\"");
        assert_eq!(cell("a\r\nb"), "\"a\r\nb\"");
        assert_eq!(cell("Müller GmbH ⇄ 株式会社"), "Müller GmbH ⇄ 株式会社");
    }

    #[test]
    fn cells_a_spreadsheet_would_run_get_a_leading_apostrophe() {
        assert_eq!(cell("=HYPERLINK(\"http://evil\")"), "\"'=HYPERLINK(\"\"http://evil\"\")\"");
        assert_eq!(cell("+1+1"), "'+1+1");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("-1+cmd|' /C calc'!A0"), "'-1+cmd|' /C calc'!A0");
        assert_eq!(cell("-A1"), "'-A1");
        assert_eq!(cell("\tcmd"), "'\tcmd");
        assert_eq!(cell("\r=1"), "\"'\r=1\"");
        assert_eq!(cell("-"), "'-");
        assert_eq!(cell("-1."), "'-1.");
        assert_eq!(cell("-.5"), "'-.5");
        assert_eq!(cell("a=1"), "a=1", "only the first character matters");
    }

    #[test]
    fn plain_negative_numbers_stay_numbers() {
        assert_eq!(cell("-12"), "-12");
        assert_eq!(cell("-12.50"), "-12.50");
        assert_eq!(cell("-0.01"), "-0.01");
    }

    #[test]
    fn empty_report_is_just_the_header() {
        let report = ReconReport { exceptions: vec![], ..sample_report() };
        assert_eq!(render(&report), format!("{}\r\n", HEADER.join(",")));
    }

    #[test]
    fn missing_values_are_empty_cells_not_dropped_columns() {
        let text = render(&sample_report());
        for line in text.split_terminator("\r\n") {
            assert_eq!(line.matches(',').count(), HEADER.len() - 1, "{line}");
        }
    }
}
