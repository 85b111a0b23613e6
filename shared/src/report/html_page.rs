//! The HTML report: one self-contained page (inline CSS and JS, nothing fetched) that reads without
//! JavaScript; the inline script only adds sorting and filtering to the server-rendered table.
//!
//! Every value from the data is HTML-escaped, only http(s) URLs become links, and a
//! Content-Security-Policy allows nothing but the page's own inline script and style (by hash).

// Writing to a `String` cannot fail, hence the `let _ = write!(…)`s.
use std::fmt::Write as _;
use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

use super::model::{ReconException, ReconReport, RepairSummary, Totals};
use super::{KINDS, or_empty};

const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// `default-src 'none'` blocks every fetch; `base-uri` and `form-action` do not fall back to it.
static CONTENT_SECURITY_POLICY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; script-src '{}'; style-src '{}'; base-uri 'none'; form-action 'none'",
        csp_source_hash(SCRIPT),
        csp_source_hash(STYLE)
    )
});

fn csp_source_hash(inline: &str) -> String {
    format!("sha256-{}", BASE64.encode(Sha256::digest(inline.as_bytes())))
}

/// Amounts on both sides that differ by less than half a cent are equal (as in the reconciler).
const AMOUNT_TOLERANCE: f64 = 0.005;

const EXCEPTION_COLUMNS: [&str; 9] =
    ["Kind", "Entity", "SAP key", "Salesforce id", "Field", "SAP value", "Salesforce value", "Repair", "Note"];

pub(crate) fn render(report: &ReconReport) -> String {
    let mut page = String::with_capacity(STYLE.len() + SCRIPT.len() + 4096 + report.exceptions.len() * 640);
    let period = format!("{} to {}", report.period.from, report.period.to);
    open_page(&mut page, &format!("Reconciliation {period}"));
    let _ = writeln!(
        page,
        "<header>\n<h1>SAP Business One \u{21c4} Salesforce reconciliation: {period}</h1>\n\
         <p class=\"meta\">Generated <time id=\"generated\">{generated}</time> \u{b7} run <code id=\"run-id\">{run}</code></p>\n\
         </header>",
        period = Escaped(&period),
        generated = Escaped(&report.generated_at),
        run = Escaped(&report.run_id),
    );
    write_summary(&mut page, report);
    write_totals(&mut page, &report.totals);
    write_exceptions(&mut page, &report.exceptions);
    let _ = write!(page, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    page
}

/// The document up to `<body>`: the Content-Security-Policy, the inline style, `title`.
pub(crate) fn open_page(page: &mut String, title: &str) {
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    page.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"");
    page.push_str(&CONTENT_SECURITY_POLICY);
    page.push_str("\">\n<meta name=\"referrer\" content=\"no-referrer\">\n");
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(page, "<title>{}</title>", Escaped(title));
    let _ = writeln!(page, "<style>{STYLE}</style>\n</head>\n<body>");
}

fn write_summary(page: &mut String, report: &ReconReport) {
    page.push_str("<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"cards\">\n");
    page.push_str("<table id=\"kind-counts\">\n<caption>Exceptions by kind</caption>\n<tbody>\n");
    for kind in KINDS {
        let count = report.exceptions.iter().filter(|e| e.kind == kind).count();
        let _ = writeln!(
            page,
            "<tr><th scope=\"row\">{}</th><td class=\"num\" id=\"count-{}\">{count}</td></tr>",
            kind.label(),
            kind.code()
        );
    }
    let _ = writeln!(
        page,
        "</tbody>\n<tfoot><tr><th scope=\"row\">all exceptions</th><td class=\"num\" id=\"count-total\">{}</td></tr></tfoot>\n</table>",
        report.exceptions.len()
    );
    if let Some(RepairSummary { to_salesforce, to_sap, manual }) = &report.repair {
        let _ = writeln!(
            page,
            "<table id=\"repair\">\n<caption>Repair</caption>\n<tbody>\n\
             <tr><th scope=\"row\">re-sent to Salesforce</th><td class=\"num\" id=\"repair-to-salesforce\">{to_salesforce}</td></tr>\n\
             <tr><th scope=\"row\">re-sent to SAP</th><td class=\"num\" id=\"repair-to-sap\">{to_sap}</td></tr>\n\
             <tr><th scope=\"row\">left for a person</th><td class=\"num\" id=\"repair-manual\">{manual}</td></tr>\n\
             </tbody>\n</table>"
        );
    }
    let _ = writeln!(
        page,
        "<table id=\"api-calls\">\n<caption>API calls this run</caption>\n<tbody>\n\
         <tr><th scope=\"row\">SAP Service Layer</th><td class=\"num\" id=\"calls-sap\">{}</td></tr>\n\
         <tr><th scope=\"row\">Salesforce</th><td class=\"num\" id=\"calls-salesforce\">{}</td></tr>\n\
         </tbody>\n</table>\n</div>\n</section>",
        report.sap_calls, report.salesforce_calls
    );
}

fn write_totals(page: &mut String, totals: &[Totals]) {
    page.push_str("<section>\n<h2>Totals per entity</h2>\n");
    if totals.is_empty() {
        page.push_str("<p class=\"empty\">No entity was compared.</p>\n</section>\n");
        return;
    }
    page.push_str(
        "<table id=\"totals\">\n<thead><tr><th scope=\"col\">Entity</th><th scope=\"col\">Salesforce object</th>\
         <th scope=\"col\">SAP count</th><th scope=\"col\">Salesforce count</th><th scope=\"col\">Count difference</th>\
         <th scope=\"col\">SAP amount</th><th scope=\"col\">Salesforce amount</th><th scope=\"col\">Amount difference</th>\
         </tr></thead>\n<tbody>\n",
    );
    for t in totals {
        let count_difference = i128::from(t.salesforce_count) - i128::from(t.sap_count);
        let amount_difference = match (t.sap_amount, t.salesforce_amount) {
            (Some(sap), Some(salesforce)) => Some(salesforce - sap),
            _ => None,
        };
        let amounts_differ = match (t.sap_amount, t.salesforce_amount, amount_difference) {
            (_, _, Some(difference)) => difference.is_nan() || difference.abs() >= AMOUNT_TOLERANCE,
            (None, None, None) => false,
            _ => true,
        };
        let _ = writeln!(
            page,
            "<tr><th scope=\"row\">{entity}</th><td>{object}</td><td class=\"num\">{sap_count}</td>\
             <td class=\"num\">{salesforce_count}</td><td class=\"num{count_class}\">{count_text}</td>\
             <td class=\"num\">{sap_amount}</td><td class=\"num\">{salesforce_amount}</td>\
             <td class=\"num{amount_class}\">{amount_difference}</td></tr>",
            entity = Escaped(&t.entity),
            object = Escaped(&t.salesforce_object),
            sap_count = t.sap_count,
            salesforce_count = t.salesforce_count,
            count_class = if count_difference != 0 { " diff" } else { "" },
            count_text = if count_difference != 0 { format!("{count_difference:+}") } else { "0".to_owned() },
            sap_amount = optional_amount(t.sap_amount),
            salesforce_amount = optional_amount(t.salesforce_amount),
            amount_class = if amounts_differ { " diff" } else { "" },
            amount_difference = match amount_difference {
                Some(difference) => signed_amount(difference),
                None if amounts_differ => "one side only".to_owned(),
                None => "\u{2014}".to_owned(),
            },
        );
    }
    page.push_str(
        "</tbody>\n</table>\n<p class=\"meta\">Differences are Salesforce minus SAP; amounts are the sums of \
         document totals (none for master data).</p>\n</section>\n",
    );
}

fn write_exceptions(page: &mut String, exceptions: &[ReconException]) {
    page.push_str("<section>\n<h2>Exceptions</h2>\n");
    if exceptions.is_empty() {
        page.push_str(
            "<p class=\"empty\" id=\"no-exceptions\">No exceptions: SAP and Salesforce agree for this period.</p>\n\
             </section>\n",
        );
        return;
    }
    page.push_str(
        "<div class=\"controls\" id=\"controls\" hidden>\n\
         <label>Filter <input type=\"search\" id=\"filter\" placeholder=\"key, id, value, note\u{2026}\" autocomplete=\"off\"></label>\n\
         <label>Kind <select id=\"kind\">\n<option value=\"\">all kinds</option>\n",
    );
    for kind in KINDS {
        let count = exceptions.iter().filter(|e| e.kind == kind).count();
        if count > 0 {
            let _ = writeln!(page, "<option value=\"{}\">{} ({count})</option>", kind.code(), kind.label());
        }
    }
    let _ = writeln!(
        page,
        "</select></label>\n</div>\n<p id=\"shown\" aria-live=\"polite\"><span id=\"shown-count\">{total}</span> of \
         <span id=\"total-count\">{total}</span> shown</p>",
        total = exceptions.len()
    );
    page.push_str("<table id=\"exceptions\">\n<thead><tr>");
    for column in EXCEPTION_COLUMNS {
        let _ = write!(page, "<th scope=\"col\">{column}</th>");
    }
    page.push_str("</tr></thead>\n<tbody>\n");
    for exception in exceptions {
        write_exception_row(page, exception);
    }
    page.push_str(
        "</tbody>\n</table>\n<p class=\"empty\" id=\"no-match\" hidden>No exception matches the filter.</p>\n</section>\n",
    );
}

fn write_exception_row(page: &mut String, e: &ReconException) {
    let text = |value| Escaped(or_empty(value));
    let _ = write!(
        page,
        "<tr data-kind=\"{}\"><td>{}</td><td>{}</td><td>",
        e.kind.code(),
        e.kind.label(),
        Escaped(&e.entity)
    );
    write_record_link(page, &e.sap_key, e.sap_link.as_deref());
    page.push_str("</td><td>");
    let salesforce_text = match (&e.salesforce_id, &e.salesforce_link) {
        (Some(id), _) => id.as_str(),
        (None, Some(_)) => "record",
        (None, None) => "",
    };
    write_record_link(page, salesforce_text, e.salesforce_link.as_deref());
    let _ = write!(
        page,
        "</td><td>{}</td><td>{}</td><td>{}</td><td>",
        text(&e.field),
        text(&e.sap_value),
        text(&e.salesforce_value)
    );
    match &e.repair {
        Some(key) => {
            let _ = write!(page, "{}", Escaped(key));
        }
        // No key means a repair cannot fix it; say so rather than leave a blank a reader may misread.
        None => page.push_str("<span class=\"muted\">by hand</span>"),
    }
    let _ = writeln!(page, "</td><td>{}</td></tr>", text(&e.note));
}

/// The record's key, linked when the link is an http(s) URL; anything else (`javascript:`, a bare
/// path) is not followed from a report, and the cell says so on hover rather than dropping it.
fn write_record_link(page: &mut String, label: &str, link: Option<&str>) {
    match link {
        None => {
            let _ = write!(page, "{}", Escaped(label));
        }
        Some(link) => match web_url(link) {
            Some(url) => {
                let _ = write!(
                    page,
                    "<a href=\"{}\" rel=\"noopener noreferrer\" target=\"_blank\">{}</a>",
                    Escaped(url.as_str()),
                    Escaped(label)
                );
            }
            None => {
                let _ = write!(
                    page,
                    "<span class=\"nolink\" title=\"not linked (not an http/https URL): {}\">{}</span>",
                    Escaped(link),
                    Escaped(label)
                );
            }
        },
    }
}

fn web_url(link: &str) -> Option<url::Url> {
    url::Url::parse(link).ok().filter(|url| matches!(url.scheme(), "http" | "https"))
}

fn optional_amount(amount: Option<f64>) -> String {
    amount.map_or_else(|| "\u{2014}".to_owned(), amount_text)
}

fn signed_amount(amount: f64) -> String {
    let text = amount_text(amount);
    if text.starts_with('-') || text == "0.00" || !amount.is_finite() { text } else { format!("+{text}") }
}

/// `1234567.5` → `1,234,567.50`; a value that is not a number says so instead of printing `NaN`.
fn amount_text(amount: f64) -> String {
    if !amount.is_finite() {
        return "not a number".to_owned();
    }
    let fixed = format!("{:.2}", amount.abs());
    let (whole, cents) = fixed.split_once('.').expect("{:.2} always has a point");
    let mut grouped = String::with_capacity(fixed.len() + whole.len() / 3 + 1);
    if amount < 0.0 && fixed != "0.00" {
        grouped.push('-');
    }
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped.push('.');
    grouped.push_str(cents);
    grouped
}

/// Text made safe for HTML element content and double- or single-quoted attribute values.
pub(crate) struct Escaped<'a>(pub(crate) &'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..at])?;
            f.write_str(match rest.as_bytes()[at] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[at + 1..];
        }
        f.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::ExceptionKind;
    use crate::report::tests::sample_report;

    /// The text between the first `open` and the `close` after it.
    fn between<'a>(page: &'a str, open: &str, close: &str) -> &'a str {
        let start = page.find(open).unwrap_or_else(|| panic!("{open} not in page")) + open.len();
        let end = start + page[start..].find(close).unwrap_or_else(|| panic!("{close} not after {open}"));
        &page[start..end]
    }

    fn hostile_report() -> ReconReport {
        let mut report = sample_report();
        let e = &mut report.exceptions[2];
        e.sap_value = Some("<script>alert(1)</script>".into());
        e.salesforce_value = Some("\"quoted\" & 'single' <b>bold</b>".into());
        e.note = Some("</td></tr></table><img src=x onerror=alert(2)>".into());
        e.sap_key = "103\"><script>alert(3)</script>".into();
        report.run_id = "<script>alert(4)</script>".into();
        report
    }

    #[test]
    fn script_in_a_value_appears_only_escaped() {
        let page = render(&hostile_report());
        assert!(!page.contains("<script>alert"), "a value's script tag reached the page raw");
        assert!(!page.contains("<img"));
        assert!(!page.contains("<b>bold"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("&quot;quoted&quot; &amp; &#39;single&#39; &lt;b&gt;bold&lt;/b&gt;"));
        assert!(page.contains("<code id=\"run-id\">&lt;script&gt;alert(4)&lt;/script&gt;</code>"));
        assert_eq!(page.matches("<script").count(), 1, "only the page's own script");
    }

    #[test]
    fn escaping_covers_all_five_characters() {
        assert_eq!(Escaped("a&b<c>d\"e'f").to_string(), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
        assert_eq!(Escaped("Müller ⇄ 株式会社").to_string(), "Müller ⇄ 株式会社");
        assert_eq!(Escaped("").to_string(), "");
    }

    #[test]
    fn only_http_and_https_links_become_links() {
        let mut report = sample_report();
        report.exceptions[2].sap_link = Some("javascript:alert(document.cookie)".into());
        report.exceptions[3].sap_link = Some("data:text/html,<script>alert(1)</script>".into());
        report.exceptions[4].salesforce_link = Some("/lightning/r/Account/001/view".into());
        report.exceptions[3].salesforce_link = Some("http://acme.my.salesforce.com/001\"onmouseover=\"x".into());
        let page = render(&report);
        let hrefs: Vec<&str> = page.split("href=\"").skip(1).map(|rest| &rest[..rest.find('"').unwrap()]).collect();
        assert!(!hrefs.is_empty());
        for href in &hrefs {
            assert!(href.starts_with("https://") || href.starts_with("http://"), "{href}");
        }
        assert!(!page.contains("href=\"javascript:") && !page.contains("href=\"data:"));
        assert!(page.contains("<span class=\"nolink\" title=\"not linked (not an http/https URL): javascript:"));
        assert!(!page.contains("\"onmouseover"), "a quote in a URL cannot end the attribute");
        let links = page.matches("<a href=").count();
        assert_eq!(links, page.matches("rel=\"noopener noreferrer\"").count());
        // The sample has 4 SAP and 4 Salesforce links; 2 SAP and 1 Salesforce link are now unusable and
        // the quote in the 4th is percent-encoded by URL parsing, so it stays a link.
        assert_eq!(links, 4 - 2 + 4 - 1);
    }

    #[test]
    fn empty_report_says_so_and_has_no_table() {
        let report = ReconReport { exceptions: vec![], repair: None, ..sample_report() };
        let page = render(&report);
        assert!(page.contains("id=\"no-exceptions\""));
        assert!(!page.contains("id=\"exceptions\""));
        assert!(!page.contains("id=\"repair\""));
        assert_eq!(between(&page, "id=\"count-total\">", "<"), "0");
        for kind in KINDS {
            assert_eq!(between(&page, &format!("id=\"count-{}\">", kind.code()), "<"), "0");
        }
    }

    #[test]
    fn summary_counts_equal_the_data() {
        let mut report = sample_report();
        let extra = report.exceptions[2].clone();
        report.exceptions.extend([extra.clone(), extra]);
        let page = render(&report);
        for kind in KINDS {
            let expected = report.exceptions.iter().filter(|e| e.kind == kind).count();
            let shown = between(&page, &format!("id=\"count-{}\">", kind.code()), "<");
            assert_eq!(shown, expected.to_string(), "{kind:?}");
        }
        assert_eq!(between(&page, "id=\"count-amount_drift\">", "<"), "3");
        assert_eq!(between(&page, "id=\"count-total\">", "<"), report.exceptions.len().to_string());
        assert_eq!(between(&page, "<span id=\"total-count\">", "<"), report.exceptions.len().to_string());
        assert_eq!(page.matches("<tr data-kind=").count(), report.exceptions.len());
        assert_eq!(page.matches("<tr data-kind=\"amount_drift\">").count(), 3);
        assert!(page.contains("<option value=\"amount_drift\">amount drift (3)</option>"));
        let repair = report.repair.as_ref().unwrap();
        assert_eq!(between(&page, "id=\"repair-to-salesforce\">", "<"), repair.to_salesforce.to_string());
        assert_eq!(between(&page, "id=\"repair-to-sap\">", "<"), repair.to_sap.to_string());
        assert_eq!(between(&page, "id=\"repair-manual\">", "<"), repair.manual.to_string());
        assert_eq!(between(&page, "id=\"calls-sap\">", "<"), report.sap_calls.to_string());
        assert_eq!(between(&page, "id=\"calls-salesforce\">", "<"), report.salesforce_calls.to_string());
    }

    #[test]
    fn totals_show_both_sides_and_highlight_only_real_differences() {
        let mut report = sample_report();
        report.totals.push(Totals {
            entity: "IncomingPayments".into(),
            salesforce_object: "SAP_Payment__c".into(),
            sap_count: 3,
            salesforce_count: 3,
            sap_amount: Some(100.001),
            salesforce_amount: Some(100.004),
        });
        let page = render(&report);
        let invoices = between(&page, "<th scope=\"row\">Invoices</th>", "</tr>");
        assert!(
            invoices.contains("<td class=\"num\">1200</td><td class=\"num\">1198</td><td class=\"num diff\">-2</td>")
        );
        assert!(invoices.contains("<td class=\"num\">1,234,567.50</td><td class=\"num\">1,230,000.25</td>"));
        assert!(invoices.contains("<td class=\"num diff\">-4,567.25</td>"));
        let partners = between(&page, "<th scope=\"row\">BusinessPartners</th>", "</tr>");
        assert!(!partners.contains("diff"), "{partners}");
        assert!(partners.contains("<td class=\"num\">40</td><td class=\"num\">0</td>"));
        let payments = between(&page, "<th scope=\"row\">IncomingPayments</th>", "</tr>");
        assert!(!payments.contains("diff"), "within half a cent: {payments}");
    }

    #[test]
    fn amounts_are_grouped_with_two_decimals() {
        assert_eq!(amount_text(0.0), "0.00");
        assert_eq!(amount_text(999.995), "1000.00".replace("1000", "1,000"));
        assert_eq!(amount_text(-1234.5), "-1,234.50");
        assert_eq!(amount_text(-0.001), "0.00");
        assert_eq!(amount_text(123456789.0), "123,456,789.00");
        assert_eq!(amount_text(f64::NAN), "not a number");
        assert_eq!(signed_amount(12.0), "+12.00");
        assert_eq!(signed_amount(-12.0), "-12.00");
    }

    #[test]
    fn csp_hashes_match_the_inline_script_and_style() {
        use base64::Engine as _;
        use sha2::Digest as _;
        let page = render(&sample_report());
        let csp = between(&page, "<meta http-equiv=\"Content-Security-Policy\" content=\"", "\"");
        let hash = |text: &str| {
            let digest = sha2::Sha256::digest(text.as_bytes());
            format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
        };
        let script = between(&page, "<script>", "</script>");
        let style = between(&page, "<style>", "</style>");
        assert!(script.contains("sortBy") && style.contains("aria-sort"));
        assert!(csp.contains(&format!("script-src {};", hash(script))), "{csp}");
        assert!(csp.contains(&format!("style-src {};", hash(style))), "{csp}");
        assert!(csp.starts_with("default-src 'none';"));
        assert!(!csp.contains("unsafe"));
    }

    #[test]
    fn page_fetches_nothing() {
        let page = render(&sample_report());
        for needle in ["src=", "<link", "url(", "@import", "http-equiv=\"refresh\""] {
            assert!(!page.contains(needle), "{needle}");
        }
        // The only URLs are the record links.
        let urls = page.matches("http://").count() + page.matches("https://").count();
        assert_eq!(urls, page.matches("<a href=").count());
    }

    #[test]
    fn an_exception_without_a_repair_key_says_it_needs_a_person() {
        let report = sample_report();
        let manual = report.exceptions.iter().filter(|e| e.repair.is_none()).count();
        assert_eq!(manual, 1);
        let page = render(&report);
        assert_eq!(page.matches("<td><span class=\"muted\">by hand</span></td>").count(), manual);
        assert!(page.contains("<td>sap:Invoices:103</td>"));
    }

    #[test]
    fn every_exception_kind_is_labelled_in_its_row() {
        let page = render(&sample_report());
        for kind in [ExceptionKind::MissingInSap, ExceptionKind::FieldDrift] {
            assert!(page.contains(&format!("<tr data-kind=\"{}\"><td>{}</td>", kind.code(), kind.label())));
        }
    }
}
