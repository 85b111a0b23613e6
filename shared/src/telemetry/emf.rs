//! CloudWatch Embedded Metric Format (EMF) documents, built so they keep the specification's rules:
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>
//!
//! - at most 100 metric definitions per directive (more metrics → more directives in the document),
//! - at most 30 dimension keys per dimension set, every dimension a string member of the root,
//! - every metric a number or an array of at most 100 numbers at the root, with a unit from the
//!   CloudWatch list, and no metric sharing its name with a dimension or `_aws`,
//! - `Timestamp` in epoch milliseconds.
//!
//! A root member has one value, so a breakdown (failures per `ErrorClass`, exceptions per
//! `ExceptionKind`) cannot share a document with the total or with another breakdown value: each
//! breakdown value is a document of its own ([`Metrics::breakdown`]).

use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// Metric definitions one directive may hold.
pub const MAX_METRICS_PER_DIRECTIVE: usize = 100;
/// Dimension keys one dimension set may hold.
pub const MAX_DIMENSIONS_PER_SET: usize = 30;
/// The environment variable naming the stack whose metrics these are (`Stack` dimension).
pub const STACK_VAR: &str = "B1FORCE_STACK";
/// Values one metric may carry as an array.
pub const MAX_VALUES_PER_METRIC: usize = 100;
/// Characters a dimension value may have.
pub const MAX_DIMENSION_VALUE_CHARS: usize = 1024;

/// The CloudWatch metric units (`MetricDatum.Unit`), the only ones EMF accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    Microseconds,
    Milliseconds,
    Bytes,
    Kilobytes,
    Megabytes,
    Gigabytes,
    Terabytes,
    Bits,
    Kilobits,
    Megabits,
    Gigabits,
    Terabits,
    Percent,
    Count,
    BytesPerSecond,
    KilobytesPerSecond,
    MegabytesPerSecond,
    GigabytesPerSecond,
    TerabytesPerSecond,
    BitsPerSecond,
    KilobitsPerSecond,
    MegabitsPerSecond,
    GigabitsPerSecond,
    TerabitsPerSecond,
    CountPerSecond,
    None,
}

impl Unit {
    /// Every unit, for checks that a name belongs to the list.
    pub const ALL: [Unit; 27] = [
        Unit::Seconds,
        Unit::Microseconds,
        Unit::Milliseconds,
        Unit::Bytes,
        Unit::Kilobytes,
        Unit::Megabytes,
        Unit::Gigabytes,
        Unit::Terabytes,
        Unit::Bits,
        Unit::Kilobits,
        Unit::Megabits,
        Unit::Gigabits,
        Unit::Terabits,
        Unit::Percent,
        Unit::Count,
        Unit::BytesPerSecond,
        Unit::KilobytesPerSecond,
        Unit::MegabytesPerSecond,
        Unit::GigabytesPerSecond,
        Unit::TerabytesPerSecond,
        Unit::BitsPerSecond,
        Unit::KilobitsPerSecond,
        Unit::MegabitsPerSecond,
        Unit::GigabitsPerSecond,
        Unit::TerabitsPerSecond,
        Unit::CountPerSecond,
        Unit::None,
    ];

    /// The unit's name as CloudWatch spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Seconds => "Seconds",
            Unit::Microseconds => "Microseconds",
            Unit::Milliseconds => "Milliseconds",
            Unit::Bytes => "Bytes",
            Unit::Kilobytes => "Kilobytes",
            Unit::Megabytes => "Megabytes",
            Unit::Gigabytes => "Gigabytes",
            Unit::Terabytes => "Terabytes",
            Unit::Bits => "Bits",
            Unit::Kilobits => "Kilobits",
            Unit::Megabits => "Megabits",
            Unit::Gigabits => "Gigabits",
            Unit::Terabits => "Terabits",
            Unit::Percent => "Percent",
            Unit::Count => "Count",
            Unit::BytesPerSecond => "Bytes/Second",
            Unit::KilobytesPerSecond => "Kilobytes/Second",
            Unit::MegabytesPerSecond => "Megabytes/Second",
            Unit::GigabytesPerSecond => "Gigabytes/Second",
            Unit::TerabytesPerSecond => "Terabytes/Second",
            Unit::BitsPerSecond => "Bits/Second",
            Unit::KilobitsPerSecond => "Kilobits/Second",
            Unit::MegabitsPerSecond => "Megabits/Second",
            Unit::GigabitsPerSecond => "Gigabits/Second",
            Unit::TerabitsPerSecond => "Terabits/Second",
            Unit::CountPerSecond => "Count/Second",
            Unit::None => "None",
        }
    }
}

/// One metric: its name, unit and value(s).
#[derive(Debug, Clone, PartialEq)]
struct Metric {
    name: &'static str,
    unit: Unit,
    values: Vec<f64>,
}

/// One document's worth of metrics under one dimension context.
#[derive(Debug, Clone, PartialEq)]
struct Document {
    /// Dimension (name, value) pairs beyond the base ones, applied to every metric of the document.
    extra: Vec<(&'static str, String)>,
    /// Dimension sets beyond the base set, as extra dimension names.
    extra_sets: Vec<Vec<&'static str>>,
    metrics: Vec<Metric>,
}

/// The metrics of one invocation: a main document with the base dimension set, and one document
/// per breakdown value. Build with [`Metrics::new`], print [`Metrics::to_lines`] to stdout.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    namespace: String,
    base: Vec<(&'static str, String)>,
    main: Document,
    breakdowns: Vec<Document>,
}

/// Something a document would break the specification with; a programming error in the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("EMF document for {namespace}: {problem}")]
pub struct EmfError {
    pub namespace: String,
    pub problem: String,
}

impl Metrics {
    /// Metrics under `namespace` with the dimension set `["Function"]`, `Function` = `function`.
    pub fn new(namespace: &str, function: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
            base: vec![("Function", function.to_string())],
            main: Document { extra: Vec::new(), extra_sets: Vec::new(), metrics: Vec::new() },
            breakdowns: Vec::new(),
        }
    }

    /// Puts `Stack` = `stack` first in every dimension set, so two stacks in one account and region
    /// keep their metrics (and their alarms) apart.
    pub fn in_stack(mut self, stack: &str) -> Self {
        self.base.insert(0, ("Stack", stack.to_string()));
        self
    }

    /// Adds `dimension` = `value` to the main document, published both without it (base set) and
    /// with it (base set + `dimension`), e.g. the poller's `["Function"]` and `["Function","Entity"]`.
    pub fn also_by(mut self, dimension: &'static str, value: &str) -> Self {
        self.main.extra.push((dimension, value.to_string()));
        self.main.extra_sets.push(vec![dimension]);
        self
    }

    /// A count (unit `Count`).
    pub fn count(mut self, name: &'static str, value: u64) -> Self {
        self.main.put(name, Unit::Count, vec![value as f64]);
        self
    }

    /// A duration in seconds; one value per record (at most 100 are kept, see [`sample`]).
    pub fn seconds(mut self, name: &'static str, values: &[f64]) -> Self {
        if !values.is_empty() {
            self.main.put(name, Unit::Seconds, sample(values));
        }
        self
    }

    /// A share in percent (0–100).
    pub fn percent(mut self, name: &'static str, value: f64) -> Self {
        self.main.put(name, Unit::Percent, vec![value]);
        self
    }

    /// A count published only with the base set + `dimension` = `value` (its own document), e.g.
    /// `RecordsFailed` for `ErrorClass` = `retryable`. Zero counts are left out.
    pub fn breakdown(mut self, dimension: &'static str, value: &str, name: &'static str, count: u64) -> Self {
        if count == 0 {
            return self;
        }
        match self.breakdowns.iter_mut().find(|d| d.extra.first().is_some_and(|(k, v)| *k == dimension && v == value)) {
            Some(doc) => doc.put(name, Unit::Count, vec![count as f64]),
            None => {
                let mut doc = Document {
                    extra: vec![(dimension, value.to_string())],
                    extra_sets: Vec::new(),
                    metrics: Vec::new(),
                };
                doc.put(name, Unit::Count, vec![count as f64]);
                self.breakdowns.push(doc);
            }
        }
        self
    }

    /// The value(s) of metric `name` in the main document, if it has one.
    pub fn value(&self, name: &str) -> Option<&[f64]> {
        self.main.metrics.iter().find(|m| m.name == name).map(|m| m.values.as_slice())
    }

    /// The breakdown count of `name` for `dimension` = `value`, if there is one.
    pub fn breakdown_value(&self, dimension: &str, value: &str, name: &str) -> Option<f64> {
        self.breakdowns
            .iter()
            .find(|d| d.extra.first().is_some_and(|(k, v)| *k == dimension && v == value))?
            .metrics
            .iter()
            .find(|m| m.name == name)
            .and_then(|m| m.values.first().copied())
    }

    /// One JSON line per document (the main one first, breakdowns after), stamped `timestamp_ms`.
    pub fn to_lines(&self, timestamp_ms: i64) -> Result<Vec<String>, EmfError> {
        let mut lines = vec![self.document(&self.main, true, timestamp_ms)?];
        for doc in &self.breakdowns {
            lines.push(self.document(doc, false, timestamp_ms)?);
        }
        Ok(lines)
    }

    /// Prints [`Metrics::to_lines`] to stdout (where the Lambda runtime's log capture turns them into
    /// metrics), in the stack `B1FORCE_STACK` names (the template sets it); a document that would break
    /// the specification is logged as an error instead.
    pub fn emit(&self, timestamp_ms: i64) {
        let stacked = match std::env::var(STACK_VAR) {
            Ok(stack) if !stack.is_empty() => self.clone().in_stack(&stack),
            _ => self.clone(),
        };
        match stacked.to_lines(timestamp_ms) {
            Ok(lines) => lines.iter().for_each(|line| println!("{line}")),
            Err(err) => tracing::error!(error = %err, "metrics not emitted"),
        }
    }

    fn document(&self, doc: &Document, with_base_set: bool, timestamp_ms: i64) -> Result<String, EmfError> {
        let fail = |problem: String| EmfError { namespace: self.namespace.clone(), problem };
        let mut root = Map::new();
        let base_names: Vec<&str> = self.base.iter().map(|(k, _)| *k).collect();
        let mut sets: Vec<Vec<&str>> = Vec::new();
        if with_base_set {
            sets.push(base_names.clone());
        }
        sets.extend(doc.extra_sets.iter().map(|extra| [base_names.as_slice(), extra].concat()));
        if !with_base_set {
            sets.push([base_names.clone(), doc.extra.iter().map(|(k, _)| *k).collect()].concat());
        }
        for (name, value) in self.base.iter().chain(&doc.extra) {
            if value.is_empty() || value.chars().count() > MAX_DIMENSION_VALUE_CHARS {
                return Err(fail(format!("dimension {name} must have 1 to {MAX_DIMENSION_VALUE_CHARS} characters")));
            }
            if root.insert(name.to_string(), json!(value)).is_some() {
                return Err(fail(format!("dimension {name} is set twice")));
            }
        }
        if let Some(set) = sets.iter().find(|s| s.len() > MAX_DIMENSIONS_PER_SET) {
            return Err(fail(format!("a dimension set has {} keys, more than {MAX_DIMENSIONS_PER_SET}", set.len())));
        }
        if doc.metrics.is_empty() {
            return Err(fail("a document needs at least one metric".into()));
        }
        let mut seen = BTreeSet::new();
        for metric in &doc.metrics {
            if metric.name.is_empty() || metric.name == "_aws" || !seen.insert(metric.name) {
                return Err(fail(format!("metric name {:?} is empty, reserved or used twice", metric.name)));
            }
            if root.contains_key(metric.name) {
                return Err(fail(format!("metric {} has the name of a dimension", metric.name)));
            }
            if let Some(bad) = metric.values.iter().find(|v| !v.is_finite()) {
                return Err(fail(format!("metric {} has the non-numeric value {bad}", metric.name)));
            }
            let value = match metric.values.as_slice() {
                [one] => json!(one),
                many => json!(many),
            };
            root.insert(metric.name.to_string(), value);
        }
        let directives: Vec<Value> = doc
            .metrics
            .chunks(MAX_METRICS_PER_DIRECTIVE)
            .map(|chunk| {
                json!({
                    "Namespace": self.namespace,
                    "Dimensions": sets,
                    "Metrics": chunk.iter().map(|m| json!({"Name": m.name, "Unit": m.unit.as_str()})).collect::<Vec<_>>(),
                })
            })
            .collect();
        root.insert("_aws".into(), json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": directives}));
        Ok(Value::Object(root).to_string())
    }
}

impl Document {
    /// Sets a metric; setting one twice keeps the last value.
    fn put(&mut self, name: &'static str, unit: Unit, values: Vec<f64>) {
        match self.metrics.iter_mut().find(|m| m.name == name) {
            Some(metric) => *metric = Metric { name, unit, values },
            None => self.metrics.push(Metric { name, unit, values }),
        }
    }
}

/// At most [`MAX_VALUES_PER_METRIC`] values standing for `values`: all of them when they fit, else
/// evenly spaced order statistics (the minimum and maximum included), so percentiles stay close.
pub fn sample(values: &[f64]) -> Vec<f64> {
    if values.len() <= MAX_VALUES_PER_METRIC {
        return values.to_vec();
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let last = sorted.len() - 1;
    (0..MAX_VALUES_PER_METRIC).map(|i| sorted[i * last / (MAX_VALUES_PER_METRIC - 1)]).collect()
}

/// The specification's rules a JSON Schema cannot express, checked on one document: every
/// dimension and metric a directive names is a root member (a string ≤ 1024 characters, resp. a
/// number or ≤ 100 numbers), ≤ 100 metrics per directive, ≤ 30 keys per dimension set, units from
/// the CloudWatch list, no metric named like a dimension. Returns every problem found.
pub fn check(document: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(root) = document.as_object() else { return vec!["the document is not a JSON object".into()] };
    let directives = document.pointer("/_aws/CloudWatchMetrics").and_then(Value::as_array);
    let Some(directives) = directives else { return vec!["_aws.CloudWatchMetrics is missing".into()] };
    if !document.pointer("/_aws/Timestamp").is_some_and(Value::is_i64) {
        problems.push("_aws.Timestamp is not an integer (epoch ms)".into());
    }
    let mut dimension_names = BTreeSet::new();
    let mut metric_names = BTreeSet::new();
    for directive in directives {
        let sets = directive.get("Dimensions").and_then(Value::as_array).cloned().unwrap_or_default();
        for set in &sets {
            let keys = set.as_array().cloned().unwrap_or_default();
            if keys.len() > MAX_DIMENSIONS_PER_SET {
                problems.push(format!("a dimension set has {} keys", keys.len()));
            }
            for key in keys.iter().filter_map(Value::as_str) {
                dimension_names.insert(key.to_string());
                match root.get(key) {
                    None => problems.push(format!("dimension {key} is not a root member")),
                    Some(Value::String(s)) if s.chars().count() <= MAX_DIMENSION_VALUE_CHARS => {}
                    Some(_) => problems.push(format!("dimension {key} is not a string of at most 1024 characters")),
                }
            }
        }
        let metrics = directive.get("Metrics").and_then(Value::as_array).cloned().unwrap_or_default();
        if metrics.len() > MAX_METRICS_PER_DIRECTIVE {
            problems.push(format!("a directive has {} metrics", metrics.len()));
        }
        for metric in &metrics {
            let Some(name) = metric.get("Name").and_then(Value::as_str) else { continue };
            metric_names.insert(name.to_string());
            if let Some(unit) = metric.get("Unit")
                && !unit.as_str().is_some_and(|u| Unit::ALL.iter().any(|known| known.as_str() == u))
            {
                problems.push(format!("metric {name} has the unit {unit}, not a CloudWatch unit"));
            }
            match root.get(name) {
                None => problems.push(format!("metric {name} is not a root member")),
                Some(Value::Number(_)) => {}
                Some(Value::Array(values))
                    if values.len() <= MAX_VALUES_PER_METRIC && values.iter().all(Value::is_number) => {}
                Some(other) => problems.push(format!("metric {name} is {other}, not a number or up to 100 numbers")),
            }
        }
    }
    for clash in metric_names.intersection(&dimension_names) {
        problems.push(format!("{clash} is both a metric and a dimension"));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Value {
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn a_stack_leads_every_dimension_set_of_every_document() {
        let metrics = Metrics::new("B1Force", "sap-poller")
            .also_by("Entity", "Invoices")
            .count("RecordsIn", 3)
            .breakdown("ErrorClass", "retryable", "RecordsFailed", 1)
            .in_stack("b1force-staging");
        let lines = metrics.to_lines(1_700_000_000_000).unwrap();
        assert_eq!(lines.len(), 2);
        let (main, breakdown) = (parse(&lines[0]), parse(&lines[1]));
        assert_eq!(check(&main), Vec::<String>::new());
        assert_eq!(main["Stack"], "b1force-staging");
        assert_eq!(
            main["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Stack", "Function"], ["Stack", "Function", "Entity"]])
        );
        assert_eq!(
            breakdown["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Stack", "Function", "ErrorClass"]])
        );
    }

    #[test]
    fn the_main_document_names_every_metric_and_dimension_at_the_root() {
        let metrics =
            Metrics::new("B1Force", "sap-writer").count("RecordsIn", 3).percent("SalesforceApiHeadroom", 42.5);
        let lines = metrics.to_lines(1_700_000_000_000).unwrap();
        assert_eq!(lines.len(), 1);
        let doc = parse(&lines[0]);
        assert_eq!(check(&doc), Vec::<String>::new());
        assert_eq!((doc["Function"].as_str(), doc["RecordsIn"].as_f64()), (Some("sap-writer"), Some(3.0)));
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Dimensions"], json!([["Function"]]));
        assert_eq!(directive["Metrics"][1], json!({"Name": "SalesforceApiHeadroom", "Unit": "Percent"}));
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000_i64);
    }

    #[test]
    fn each_breakdown_value_is_a_document_of_its_own_and_zero_counts_are_left_out() {
        let metrics = Metrics::new("B1Force", "sf-writer")
            .count("RecordsFailed", 5)
            .breakdown("ErrorClass", "retryable", "RecordsFailed", 3)
            .breakdown("ErrorClass", "permanent", "RecordsFailed", 2)
            .breakdown("ErrorClass", "other", "RecordsFailed", 0);
        let lines: Vec<Value> = metrics.to_lines(1).unwrap().iter().map(|l| parse(l)).collect();
        assert_eq!(lines.len(), 3);
        for doc in &lines {
            assert_eq!(check(doc), Vec::<String>::new(), "{doc}");
        }
        assert_eq!(lines[0]["RecordsFailed"], 5.0);
        assert_eq!(
            (lines[1]["ErrorClass"].as_str(), lines[1]["RecordsFailed"].as_f64()),
            (Some("retryable"), Some(3.0))
        );
        assert_eq!(lines[2]["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["Function", "ErrorClass"]]));
        assert!(lines[0].get("ErrorClass").is_none());
    }

    #[test]
    fn a_second_dimension_set_publishes_the_main_metrics_with_and_without_it() {
        let doc = parse(
            &Metrics::new("B1Force", "sap-poller")
                .also_by("Entity", "Invoices")
                .seconds("WatermarkLagSeconds", &[90.0])
                .to_lines(1)
                .unwrap()[0],
        );
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["Function"], ["Function", "Entity"]]));
        assert_eq!((doc["Entity"].as_str(), doc["WatermarkLagSeconds"].as_f64()), (Some("Invoices"), Some(90.0)));
        assert!(check(&doc).is_empty());
    }

    #[test]
    fn more_than_100_metrics_are_spread_over_directives() {
        let mut metrics = Metrics::new("B1Force", "test");
        let names: Vec<&'static str> = (0..101).map(|i| &*Box::leak(format!("M{i:03}").into_boxed_str())).collect();
        for name in &names {
            metrics = metrics.count(name, 1);
        }
        let doc = parse(&metrics.to_lines(1).unwrap()[0]);
        let directives = doc["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.iter().map(|d| d["Metrics"].as_array().unwrap().len()).collect::<Vec<_>>(), [100, 1]);
        assert!(check(&doc).is_empty());
    }

    #[test]
    fn more_than_100_values_are_sampled_down_keeping_min_and_max() {
        let values: Vec<f64> = (0..1000).rev().map(f64::from).collect();
        let kept = sample(&values);
        assert_eq!(kept.len(), 100);
        assert_eq!((kept[0], kept[99]), (0.0, 999.0));
        assert!(kept.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(sample(&[3.0, 1.0]), [3.0, 1.0]);
        let doc = parse(&Metrics::new("B1Force", "t").seconds("Lag", &values).to_lines(1).unwrap()[0]);
        assert_eq!(doc["Lag"].as_array().unwrap().len(), 100);
    }

    #[test]
    fn documents_that_would_break_the_specification_are_refused() {
        let nan = Metrics::new("B1Force", "t").percent("Headroom", f64::NAN).to_lines(1);
        assert!(nan.unwrap_err().problem.contains("non-numeric"));
        let clash = Metrics::new("B1Force", "t").count("Function", 1).to_lines(1);
        assert!(clash.unwrap_err().problem.contains("name of a dimension"));
        let empty = Metrics::new("B1Force", "").count("RecordsIn", 1).to_lines(1);
        assert!(empty.unwrap_err().problem.contains("dimension Function"));
        let nothing = Metrics::new("B1Force", "t").to_lines(1);
        assert!(nothing.unwrap_err().problem.contains("at least one metric"));
    }

    #[test]
    fn the_checker_finds_each_rule_broken() {
        let good = parse(&Metrics::new("B1Force", "t").count("RecordsIn", 1).to_lines(1).unwrap()[0]);
        let broken = |edit: &dyn Fn(&mut Value)| {
            let mut doc = good.clone();
            edit(&mut doc);
            check(&doc)
        };
        assert!(broken(&|d| drop(d.as_object_mut().unwrap().remove("RecordsIn")))[0].contains("not a root member"));
        assert!(broken(&|d| drop(d.as_object_mut().unwrap().remove("Function")))[0].contains("not a root member"));
        assert!(broken(&|d| d["RecordsIn"] = json!("1"))[0].contains("not a number"));
        assert!(broken(&|d| d["RecordsIn"] = json!(vec![1; 101]))[0].contains("not a number"));
        assert!(broken(&|d| d["Function"] = json!(7))[0].contains("not a string"));
        assert!(
            broken(&|d| d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("Items"))[0].contains("unit")
        );
        assert!(broken(&|d| d["_aws"]["Timestamp"] = json!("now"))[0].contains("Timestamp"));
        let keys: Vec<String> = (0..31).map(|i| format!("D{i}")).collect();
        assert!(broken(&|d| d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([keys]))[0].contains("31 keys"));
        let many: Vec<Value> = (0..101).map(|_| json!({"Name": "RecordsIn", "Unit": "Count"})).collect();
        assert!(broken(&|d| d["_aws"]["CloudWatchMetrics"][0]["Metrics"] = json!(many))[0].contains("101 metrics"));
        let clash = broken(&|d| d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] = json!("Function"));
        assert!(clash.iter().any(|p| p.contains("both a metric and a dimension")), "{clash:?}");
    }
}
