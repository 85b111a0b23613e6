"""The F8 HTML exception report in a real browser: Debian's chromium, headless, driven by Playwright.

The page comes from the `render_report` example (the same `render::html` the reconciler calls) for a
report with every kind of exception, a few hundred rows and hostile values. Playwright never
downloads a browser here: it launches the system chromium by path.

Without chromium (or the playwright package) the tests skip, unless B1FORCE_REQUIRE_CHROMIUM is set
(.ci/run sets it), in which case they fail.
"""
import json
import os
import pathlib
import re
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))

PWNED = "window.__pwned = (window.__pwned || 0) + 1"
HOSTILE_SCRIPT = f"<script>{PWNED}</script>"
HOSTILE_IMG = f'"><img src=x onerror="{PWNED}">'
HOSTILE_LINK = f"javascript:{PWNED}"
UNICODE_NAME = "Müller & Söhne 株式会社 \u2028 «ÆØÅ» 🚚"
COLUMNS = ["Kind", "Entity", "SAP key", "Salesforce id", "Field", "SAP value", "Salesforce value", "Repair", "Note"]
KIND_LABELS = {
    "missing_in_salesforce": "missing in Salesforce",
    "missing_in_sap": "missing in SAP",
    "amount_drift": "amount drift",
    "status_drift": "status drift",
    "field_drift": "field drift",
}


def missing(reason):
    if os.environ.get("B1FORCE_REQUIRE_CHROMIUM"):
        pytest.fail(f"{reason} (B1FORCE_REQUIRE_CHROMIUM is set)")
    pytest.skip(reason)


def exception(kind, entity, key, sf_id):
    sf_object = {"Invoices": "SAP_Invoice__c", "BusinessPartners": "Account", "Items": "Product2"}[entity]
    in_sap = kind != "missing_in_sap"
    in_salesforce = kind != "missing_in_salesforce"
    repair = f"sap:{entity}:{key}" if in_sap else f"sf:{sf_object}:{sf_id}"
    quoted = key if entity == "Invoices" else f"'{key}'"
    return {
        "kind": kind,
        "entity": entity,
        "sap_key": key,
        "salesforce_id": sf_id if in_salesforce else None,
        "field": None,
        "sap_value": None,
        "salesforce_value": None,
        "sap_link": f"https://sap.example.com:50000/b1s/v2/{entity}({quoted})" if in_sap else None,
        "salesforce_link": f"https://acme.lightning.force.com/lightning/r/{sf_object}/{sf_id}/view"
        if in_salesforce else None,
        "repair": None if kind == "field_drift" else repair,
        "note": None,
    }


def build_report(rows=300):
    """A realistic report: invoices (DocEntry 9, 10, 100… so text order differs from numeric),
    business partners and items, every kind, and some values built to break out of the page."""
    kinds = list(KIND_LABELS)
    exceptions = []
    for i in range(rows):
        kind = kinds[i % len(kinds)]
        sf_id = f"a0B5g00000{i:05d}AAA"
        if kind in ("missing_in_salesforce", "missing_in_sap", "amount_drift", "status_drift"):
            key = str([9, 10, 100, 1000, 25, 7][i % 6] + i * 13)
            e = exception(kind, "Invoices", key, sf_id)
            if kind == "amount_drift":
                e.update(field="Total__c", sap_value=f"{(i - 150) * 10.25:.2f}",
                         salesforce_value=f"{(i - 140) * 10.25:.2f}")
            if kind == "status_drift":
                e.update(field="Status__c", sap_value="paid", salesforce_value="open")
        else:
            entity = "BusinessPartners" if i % 2 else "Items"
            key = f"C{i:05d}" if entity == "BusinessPartners" else f"A{i:05d}"
            e = exception(kind, entity, key, f"001{i:012d}")
            e.update(field="Name", sap_value=f"Customer {i}", salesforce_value=f"Customer {i} Ltd",
                     note="both sides changed; a person decides")
        exceptions.append(e)
    # Hostile and unicode values in the data (they come from SAP and Salesforce users).
    exceptions[1].update(note=HOSTILE_SCRIPT)
    exceptions[2].update(sap_value=HOSTILE_IMG, salesforce_value="a 'quoted' \"value\" & more")
    exceptions[3].update(salesforce_link=HOSTILE_LINK)
    exceptions[4].update(sap_value=UNICODE_NAME, salesforce_value=UNICODE_NAME.upper())
    exceptions[5].update(note="</td></tr></tbody></table><h1>injected</h1>")
    totals = [
        {"entity": "Invoices", "salesforce_object": "SAP_Invoice__c", "sap_count": 1200, "salesforce_count": 1180,
         "sap_amount": 1234567.5, "salesforce_amount": 1230000.25},
        {"entity": "IncomingPayments", "salesforce_object": "SAP_Payment__c", "sap_count": 310,
         "salesforce_count": 310, "sap_amount": 98765.4, "salesforce_amount": 98765.4},
        {"entity": "BusinessPartners", "salesforce_object": "Account", "sap_count": 420, "salesforce_count": 421,
         "sap_amount": None, "salesforce_amount": None},
        {"entity": "Items", "salesforce_object": "Product2", "sap_count": 75, "salesforce_count": 75,
         "sap_amount": None, "salesforce_amount": None},
    ]
    return {
        "run_id": "recon-2026-11-25T06-00-00Z-7f3a",
        "generated_at": "2026-11-25T06:00:12Z",
        "period": {"from": "2026-10-01", "to": "2026-10-31"},
        "totals": totals,
        "exceptions": exceptions,
        "repair": {"to_salesforce": 120, "to_sap": 60, "manual": 120},
        "sap_calls": 17,
        "salesforce_calls": 9,
    }


@pytest.fixture(scope="module")
def render_report():
    """The example binary, built if needed (a no-op after CI's `cargo build --workspace --all-targets`)."""
    binary = os.environ.get("B1FORCE_RENDER_REPORT_BIN")
    if not binary:
        subprocess.run(["cargo", "build", "--quiet", "-p", "b1force-shared", "--example", "render_report"],
                       cwd=ROOT, check=True)
        binary = str(TARGET / "debug" / "examples" / "render_report")

    def run(report, *args):
        # Bytes, not text=True: universal newlines would turn the CSV's CRLFs into LFs.
        done = subprocess.run([binary, *args], input=json.dumps(report).encode(), capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        return done.stdout.decode("utf-8")

    return run


@pytest.fixture(scope="module")
def report():
    return build_report()


@pytest.fixture(scope="module")
def report_file(render_report, report, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "recon-report.html"
    path.write_bytes(render_report(report).encode("utf-8"))
    return path


@pytest.fixture(scope="module")
def browser():
    executable = os.environ.get("B1FORCE_CHROMIUM") or shutil.which("chromium")
    if not executable:
        missing("Debian's chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package is not installed (pip install playwright)")
    # Chromium's sandbox cannot start as root in a container; --no-sandbox is for this test browser only.
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=[*args, "--disable-dev-shm-usage"])
        yield browser
        browser.close()


class Page:
    """A page with the report open, recording everything that would show something went wrong."""

    def __init__(self, browser, url, javascript=True):
        self.context = browser.new_context(java_script_enabled=javascript)
        self.page = self.context.new_page()
        self.console_errors, self.page_errors, self.requests, self.failed = [], [], [], []
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        # Init scripts are injected by the driver, not by the page, so the page's CSP does not stop them.
        self.page.add_init_script(
            "window.__violations = []; document.addEventListener('securitypolicyviolation',"
            " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));")
        self.page.goto(url)
        self.page.wait_for_load_state("load")

    def column(self, name):
        index = COLUMNS.index(name)
        return self.page.eval_on_selector_all(
            "#exceptions tbody tr", f"rows => rows.map(r => r.cells[{index}].textContent.trim())")

    def visible_rows(self):
        return self.page.eval_on_selector_all(
            "#exceptions tbody tr", "rows => rows.filter(r => r.getClientRects().length > 0).length")

    def shown_text(self):
        return self.page.inner_text("#shown").strip()


@pytest.fixture
def page(browser, report_file):
    opened = Page(browser, report_file.as_uri())
    yield opened
    opened.context.close()


def test_report_opens_without_console_errors_or_any_network_request(page, report_file):
    assert page.page.title() == "Reconciliation 2026-10-01 to 2026-10-31"
    assert page.console_errors == []
    assert page.page_errors == []
    assert page.failed == []
    assert page.requests == [report_file.as_uri()], "the page must fetch nothing but itself"
    assert page.page.evaluate("window.__violations") == []
    # The inline script ran under the CSP (it reveals the controls and wraps headers in buttons).
    assert page.page.is_visible("#controls")
    assert page.page.locator("#exceptions thead th button").count() == len(COLUMNS)


def test_totals_are_shown_per_entity_with_differences_highlighted(page, report):
    rows = page.page.eval_on_selector_all(
        "#totals tbody tr",
        "rows => rows.map(r => [...r.cells].map(c => [c.textContent.trim(), c.classList.contains('diff')]))")
    assert len(rows) == len(report["totals"])
    for row, totals in zip(rows, report["totals"]):
        text = [cell for cell, _ in row]
        highlighted = [flag for _, flag in row]
        sap, sf = totals["sap_amount"], totals["salesforce_amount"]
        count_difference = totals["salesforce_count"] - totals["sap_count"]
        assert text[:5] == [totals["entity"], totals["salesforce_object"], str(totals["sap_count"]),
                            str(totals["salesforce_count"]), f"{count_difference:+d}" if count_difference else "0"]
        assert highlighted[4] == (count_difference != 0)
        if sap is None:
            assert text[5:] == ["—", "—", "—"] and not highlighted[7]
        else:
            assert text[5:7] == [f"{sap:,.2f}", f"{sf:,.2f}"]
            amount_difference = sf - sap
            assert highlighted[7] == (abs(amount_difference) >= 0.005)
            assert text[7] == (f"{amount_difference:+,.2f}" if highlighted[7] else "0.00")
    invoices = rows[0]
    assert [cell for cell, _ in invoices][4:] == ["-20", "1,234,567.50", "1,230,000.25", "-4,567.25"]


def test_summary_counts_equal_the_data(page, report):
    for code in KIND_LABELS:
        expected = sum(1 for e in report["exceptions"] if e["kind"] == code)
        assert page.page.inner_text(f"#count-{code}") == str(expected)
    total = len(report["exceptions"])
    assert page.page.inner_text("#count-total") == str(total)
    assert page.shown_text() == f"{total} of {total} shown"
    assert page.visible_rows() == total
    assert page.page.inner_text("#repair-to-salesforce") == "120"
    assert page.page.inner_text("#calls-sap") == "17"
    assert page.page.inner_text("#calls-salesforce") == "9"
    assert page.page.inner_text("#run-id") == report["run_id"]


def test_clicking_a_header_sorts_numbers_numerically_and_text_naturally(page, report):
    header = page.page.locator("#exceptions thead th", has_text="SAP key")
    keys = [e["sap_key"] for e in report["exceptions"]]
    numbers = sorted((k for k in keys if k.isdigit()), key=int)
    texts = sorted(k for k in keys if not k.isdigit())
    assert numbers and texts and numbers != sorted(numbers), "the data must tell numeric from text order"

    header.click()
    assert header.get_attribute("aria-sort") == "ascending"
    assert page.column("SAP key") == numbers + texts
    header.click()
    assert header.get_attribute("aria-sort") == "descending"
    assert page.column("SAP key") == texts[::-1] + numbers[::-1]

    amounts = page.page.locator("#exceptions thead th", has_text="SAP value")
    amounts.click()
    assert header.get_attribute("aria-sort") == "none"
    drift_values = [float(v) for v in page.column("SAP value")
                    if re.fullmatch(r"-?\d+\.\d\d", v)]
    assert drift_values == sorted(drift_values) and drift_values[0] < 0 < drift_values[-1]

    entity = page.page.locator("#exceptions thead th", has_text="Entity")
    entity.click()
    assert page.column("Entity") == sorted((e["entity"] for e in report["exceptions"]), key=str.lower)
    entity.click()
    assert page.column("Entity") == sorted((e["entity"] for e in report["exceptions"]), key=str.lower,
                                           reverse=True)

    salesforce_ids = page.page.locator("#exceptions thead th", has_text="Salesforce id")
    for _ in range(2):
        salesforce_ids.click()
        column = page.column("Salesforce id")
        blanks = sum(1 for e in report["exceptions"] if e["salesforce_id"] is None)
        assert blanks and column[-blanks:] == [""] * blanks, "rows without a Salesforce record sort last"
    assert page.console_errors == [] and page.page_errors == []


def test_text_filter_and_kind_filter_narrow_the_rows_and_the_counter(page, report):
    total = len(report["exceptions"])
    page.page.fill("#filter", "customer 1")
    expected = sum(1 for e in report["exceptions"] if "customer 1" in row_text(e))
    assert 0 < expected < total
    assert page.visible_rows() == expected
    assert page.shown_text() == f"{expected} of {total} shown"

    page.page.select_option("#kind", "field_drift")
    assert page.visible_rows() == expected, "every 'customer 1' row is a field drift"
    page.page.select_option("#kind", "amount_drift")
    assert page.visible_rows() == 0
    assert page.page.is_visible("#no-match")
    assert page.shown_text() == f"0 of {total} shown"

    page.page.fill("#filter", "")
    amount_drifts = sum(1 for e in report["exceptions"] if e["kind"] == "amount_drift")
    assert page.visible_rows() == amount_drifts
    assert page.shown_text() == f"{amount_drifts} of {total} shown"
    kinds = page.page.eval_on_selector_all(
        "#exceptions tbody tr", "rows => rows.filter(r => !r.hidden).map(r => r.cells[0].textContent)")
    assert set(kinds) == {"amount drift"}
    assert not page.page.is_visible("#no-match")

    page.page.select_option("#kind", "")
    page.page.fill("#filter", "SÖHNE")
    assert page.visible_rows() == 1, "filtering is case-insensitive and unicode-aware"
    page.page.fill("#filter", "")
    assert page.visible_rows() == total


def row_text(e):
    cells = [KIND_LABELS[e["kind"]], e["entity"], e["sap_key"], e["salesforce_id"] or "", e["field"] or "",
             e["sap_value"] or "", e["salesforce_value"] or "", e["repair"] or "by hand", e["note"] or ""]
    return "\n".join(cells).lower()


def test_hostile_values_show_as_text_and_never_run(page, report):
    assert page.page.evaluate("window.__pwned") is None
    cells = page.page.eval_on_selector_all(
        "#exceptions tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")
    assert len(cells) == len(report["exceptions"])
    assert cells[1][8] == HOSTILE_SCRIPT
    assert cells[2][5] == HOSTILE_IMG
    assert cells[2][6] == "a 'quoted' \"value\" & more"
    assert cells[4][5] == UNICODE_NAME
    assert cells[5][8] == "</td></tr></tbody></table><h1>injected</h1>"
    assert page.page.locator("h1").count() == 1
    hrefs = page.page.eval_on_selector_all("a", "links => links.map(a => [a.href, a.rel])")
    assert hrefs and all(re.match(r"https?://", href) and rel == "noopener noreferrer" for href, rel in hrefs)
    # The javascript: link is not a link; the Salesforce id is still shown.
    assert page.page.eval_on_selector("#exceptions tbody tr:nth-child(4) td:nth-child(4)",
                                      "c => [c.querySelector('a'), c.textContent]") == \
        [None, report["exceptions"][3]["salesforce_id"]]


def test_without_javascript_every_row_is_still_there(browser, report_file, report):
    page = Page(browser, report_file.as_uri(), javascript=False)
    try:
        assert page.visible_rows() == len(report["exceptions"])
        assert not page.page.is_visible("#controls"), "controls that cannot work stay hidden"
        assert page.page.inner_text("#count-total") == str(len(report["exceptions"]))
    finally:
        page.context.close()


def test_empty_report_says_there_are_no_exceptions(browser, render_report, tmp_path):
    report = dict(build_report(), exceptions=[], repair=None)
    path = tmp_path / "empty.html"
    path.write_bytes(render_report(report).encode("utf-8"))
    page = Page(browser, path.as_uri())
    try:
        assert page.page.is_visible("#no-exceptions")
        assert page.page.locator("#exceptions").count() == 0
        assert page.page.inner_text("#count-total") == "0"
        assert page.console_errors == [] and page.page_errors == []
    finally:
        page.context.close()


def test_csv_reads_back_cell_for_cell_with_pythons_csv_module(render_report, report):
    """Not a browser test, but the same data through the CSV renderer and an independent RFC 4180 reader."""
    import csv
    import io

    text = render_report(report, "--csv")
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], rows[1:]
    assert header == ["kind", "entity", "sap_key", "salesforce_id", "field", "sap_value", "salesforce_value",
                      "sap_link", "salesforce_link", "repair", "note"]
    assert len(body) == len(report["exceptions"])
    for row, e in zip(body, report["exceptions"]):
        expected = [e[column] or "" for column in header]
        # Cells a spreadsheet would run as a formula carry a leading apostrophe; plain negative numbers do not.
        expected = ["'" + v if runs_as_formula(v) else v for v in expected]
        assert row == expected
    assert any(row[5].startswith("-") for row in body), "the data has negative amounts left as numbers"


def runs_as_formula(cell):
    return cell[:1] in ("=", "+", "@", "\t", "\r") or (cell[:1] == "-" and not re.fullmatch(r"-\d+(\.\d+)?", cell))


def test_the_report_of_a_real_reconcile_run_opens_cleanly_and_matches_its_json(browser, tmp_path):
    """End to end: `b1force reconcile` on the in-process sandboxes writes the three files; the HTML
    opens without errors and its totals and rows are the JSON's."""
    binary = os.environ.get("B1FORCE_BIN", str(TARGET / "debug" / "b1force"))
    if not os.path.exists(binary):
        subprocess.run(["cargo", "build", "--quiet", "-p", "b1force-cli", "--bin", "b1force"], cwd=ROOT, check=True)
    done = subprocess.run([binary, "reconcile", "--from", "2000-01-01", "--to", "2099-12-31", "--out", str(tmp_path)],
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    [html] = list(tmp_path.glob("2000-01-01_2099-12-31/*.html"))
    data = json.loads(html.with_suffix(".json").read_text())
    opened = Page(browser, html.as_uri())
    try:
        assert opened.console_errors == [] and opened.page_errors == [] and opened.failed == []
        assert opened.page.evaluate("window.__violations") == []
        assert opened.requests == [html.as_uri()]
        entities = opened.page.eval_on_selector_all(
            "#totals tbody tr", "rows => rows.map(r => r.cells[0].textContent.trim())")
        assert [t["entity"] for t in data["totals"]] == entities
        assert len(data["totals"]) >= 4
        assert opened.page.locator("#exceptions tbody tr").count() == len(data["exceptions"])
        assert sorted(opened.column("SAP key")) == sorted(e["sap_key"] for e in data["exceptions"])
    finally:
        opened.context.close()


def test_the_link_review_opens_in_chromium_and_shows_its_totals(browser, tmp_path):
    """`b1force link --sandbox` (#17): the review page opens cleanly and its totals match the JSON."""
    binary = os.environ.get("B1FORCE_BIN", str(TARGET / "debug" / "b1force"))
    if not os.path.exists(binary):
        subprocess.run(["cargo", "build", "--quiet", "-p", "b1force-cli", "--bin", "b1force"], cwd=ROOT, check=True)
    done = subprocess.run([binary, "link", "--sandbox", "--out", str(tmp_path)], capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert b"dry run: nothing written" in done.stdout
    html = tmp_path / "link-review.html"
    data = json.loads((tmp_path / "link-review.json").read_text())
    opened = Page(browser, html.as_uri())
    try:
        assert opened.console_errors == [] and opened.page_errors == [] and opened.failed == []
        assert opened.page.evaluate("window.__violations") == []
        assert opened.requests == [html.as_uri()]
        assert opened.page.title() == "Link review Account \u21c4 BusinessPartners"
        for verdict, count in data["totals"].items():
            assert opened.page.inner_text(f"#count-{verdict}").strip() == str(count)
        assert opened.page.inner_text("#count-total").strip() == str(len(data["decisions"]))
        assert data["totals"]["linked"] == 50 and data["totals"]["only_in_salesforce"] == 10
        assert opened.page.locator("#decisions tbody tr").count() == len(data["decisions"])
    finally:
        opened.context.close()
