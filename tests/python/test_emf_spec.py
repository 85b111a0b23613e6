"""Every function's EMF lines against the CloudWatch Embedded Metric Format specification.

The lines come from the `emf_lines` example, which runs the same `shared::telemetry::functions` the
Lambdas call on one sample invocation of each function. Each line is validated against the JSON
schema transcribed from the specification (tests/data/emf-schema.json) and against the rules the
schema cannot express, implemented here independently of the Rust builder:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
"""
import copy
import json
import os
import pathlib
import subprocess

import jsonschema
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
SCHEMA = json.loads((ROOT / "tests" / "data" / "emf-schema.json").read_text(encoding="utf-8"))
NOW = 1_795_615_200_000  # 2026-11-25T14:00:00Z

# The CloudWatch units (MetricDatum.Unit), as the specification refers to them.
UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
}

FUNCTIONS = {"sf-receiver", "sap-writer", "sap-lookup", "sap-poller", "sf-writer", "sap-webhook", "reconciler"}

# The names and units the alarms and dashboard in infra/ are built on.
AGREED = {
    "RecordsIn": "Count", "RecordsOut": "Count", "RecordsFailed": "Count", "RecordsDeadLettered": "Count",
    "SapApiCalls": "Count", "SalesforceApiCalls": "Count", "SalesforceApiHeadroom": "Percent",
    "WatermarkLagSeconds": "Seconds", "OrderConversionSucceeded": "Count", "OrderConversionFailed": "Count",
    "OrderAgeSeconds": "Seconds", "InvoiceSyncLagSeconds": "Seconds", "ReconciliationExceptions": "Count",
    "ReconciliationRepairs": "Count", "RecordsWritten": "Count", "RecordsSkipped": "Count",
    "RecordsRetried": "Count", "BudgetStops": "Count",
}
AGREED_DIMENSION_SETS = [["Function"], ["Function", "Entity"], ["Function", "ErrorClass"],
                         ["Function", "ExceptionKind"]]


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def violations(document):
    """Every way `document` breaks the specification: the schema's errors, then the prose rules."""
    problems = [error.message for error in jsonschema.Draft7Validator(SCHEMA).iter_errors(document)]
    if problems or not isinstance(document, dict):
        return problems or ["not an object"]
    metrics, dimensions = set(), set()
    for directive in document["_aws"]["CloudWatchMetrics"]:
        if len(directive["Metrics"]) > 100:
            problems.append(f"{len(directive['Metrics'])} metric definitions in one directive (at most 100)")
        for dimension_set in directive["Dimensions"]:
            for key in dimension_set:
                dimensions.add(key)
                if key not in document:
                    problems.append(f"dimension {key} is not a member of the root")
                elif not isinstance(document[key], str) or len(document[key]) > 1024:
                    problems.append(f"dimension {key} is not a string of at most 1024 characters")
        for definition in directive["Metrics"]:
            name = definition["Name"]
            metrics.add(name)
            if "Unit" in definition and definition["Unit"] not in UNITS:
                problems.append(f"metric {name} has unit {definition['Unit']!r}")
            if definition.get("StorageResolution", 60) not in (1, 60):
                problems.append(f"metric {name} has storage resolution {definition['StorageResolution']}")
            value = document.get(name)
            if name not in document:
                problems.append(f"metric {name} is not a member of the root")
            elif isinstance(value, list):
                if len(value) > 100 or not all(is_number(v) for v in value):
                    problems.append(f"metric {name} is not an array of at most 100 numbers")
            elif not is_number(value):
                problems.append(f"metric {name} is not a number")
    problems += [f"{name} is both a metric and a dimension" for name in metrics & dimensions]
    return problems


@pytest.fixture(scope="module")
def lines():
    """The example's output (built if needed; a no-op after CI's `cargo build --workspace --all-targets`)."""
    binary = os.environ.get("B1FORCE_EMF_LINES_BIN")
    if not binary:
        subprocess.run(["cargo", "build", "--quiet", "-p", "b1force-shared", "--example", "emf_lines"],
                       cwd=ROOT, check=True)
        binary = str(TARGET / "debug" / "examples" / "emf_lines")
    done = subprocess.run([binary, str(NOW)], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.splitlines()


@pytest.fixture(scope="module")
def documents(lines):
    return [json.loads(line) for line in lines]


def test_the_transcribed_schema_is_a_valid_json_schema():
    jsonschema.Draft7Validator.check_schema(SCHEMA)


def test_every_line_is_one_json_object_and_keeps_the_specification(lines):
    assert lines, "emf_lines printed nothing"
    for line in lines:
        document = json.loads(line)
        assert isinstance(document, dict) and line.strip() == line
        assert violations(document) == [], line


def test_every_function_emits_in_the_b1force_namespace_with_the_agreed_dimension_sets(documents):
    assert {d["Function"] for d in documents} == FUNCTIONS
    for document in documents:
        assert document["_aws"]["Timestamp"] == NOW
        for directive in document["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "B1Force"
            assert all(s in AGREED_DIMENSION_SETS for s in directive["Dimensions"]), directive["Dimensions"]


def test_every_agreed_metric_is_emitted_with_its_unit(documents):
    units = {}
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for definition in directive["Metrics"]:
                units.setdefault(definition["Name"], set()).add(definition.get("Unit", "None"))
    for name, unit in AGREED.items():
        assert units.get(name) == {unit}, f"{name}: {units.get(name)}"


def test_breakdowns_carry_their_dimension_and_the_lags_are_seconds(documents):
    by_class = [d for d in documents if "ErrorClass" in d]
    assert {d["ErrorClass"] for d in by_class} == {"retryable", "permanent"}
    assert all(set(d) == {"_aws", "Function", "ErrorClass", "RecordsFailed"} for d in by_class)
    kinds = {d["ExceptionKind"]: d["ReconciliationExceptions"] for d in documents if "ExceptionKind" in d}
    assert kinds == {"missing_in_salesforce": 2, "amount_drift": 1}
    poller = next(d for d in documents if d["Function"] == "sap-poller")
    assert (poller["Entity"], poller["WatermarkLagSeconds"]) == ("Invoices", 0)
    invoice_lag = next(d for d in documents if "InvoiceSyncLagSeconds" in d)["InvoiceSyncLagSeconds"]
    assert len(invoice_lag) == 100 and invoice_lag[0] == 0 and invoice_lag[-1] == 149


def drop_metric(d):
    del d[d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]]


def drop_dimension(d):
    del d["Function"]


def bad_unit(d):
    d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = "Records"


def text_value(d):
    d[d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]] = "3"


def boolean_value(d):
    d[d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]] = True


def long_array(d):
    d[d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]] = list(range(101))


def too_many_metrics(d):
    for i in range(101):
        d[f"M{i}"] = i
    d["_aws"]["CloudWatchMetrics"][0]["Metrics"] = [{"Name": f"M{i}", "Unit": "Count"} for i in range(101)]


def too_many_dimensions(d):
    for i in range(31):
        d[f"D{i}"] = "x"
    d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = [[f"D{i}" for i in range(31)]]


def numeric_dimension(d):
    d["Function"] = 7


def seconds_timestamp(d):
    d["_aws"]["Timestamp"] = NOW / 1000 + 0.5


def no_timestamp(d):
    del d["_aws"]["Timestamp"]


def no_namespace(d):
    del d["_aws"]["CloudWatchMetrics"][0]["Namespace"]


def no_metadata(d):
    del d["_aws"]


def metric_named_like_dimension(d):
    d["_aws"]["CloudWatchMetrics"][0]["Metrics"].append({"Name": "Function", "Unit": "Count"})


BREAKAGES = [drop_metric, drop_dimension, bad_unit, text_value, boolean_value, long_array, too_many_metrics,
             too_many_dimensions, numeric_dimension, seconds_timestamp, no_timestamp, no_namespace, no_metadata,
             metric_named_like_dimension]


@pytest.mark.parametrize("breakage", BREAKAGES, ids=[b.__name__ for b in BREAKAGES])
def test_the_validator_rejects_a_real_line_broken_one_way(documents, breakage):
    document = copy.deepcopy(documents[0])
    assert violations(document) == []
    breakage(document)
    assert violations(document), f"{breakage.__name__} went unnoticed"
