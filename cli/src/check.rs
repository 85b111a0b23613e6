//! `b1force check --mapping FILE`: validates a mapping file the way a Lambda does at cold start,
//! and summarises what it configures.

use shared::mapping::file::{FlowMapping, MappingFile, Owner};
use std::fmt::Write;
use std::path::Path;

/// Validates `path` (the shipped defaults when `None`). On success, a short human report; on
/// failure, an error whose message lists every problem as `FILE:LINE:COL: reason`, one per line.
pub fn run_mapping(path: Option<&Path>) -> anyhow::Result<String> {
    let file = match path {
        Some(path) => MappingFile::load(path)?,
        None => MappingFile::shipped(),
    };
    Ok(report(&file))
}

/// The summary: one line per flow with its objects, field count and owners.
pub fn report(file: &MappingFile) -> String {
    let mut out = format!("{}: valid (mapping version 1, {} flows)\n", file.origin, file.flows().len());
    let mut total = 0;
    for flow in file.flows() {
        let fields = flow.all_fields();
        total += fields.len();
        let count = |owner: Owner| fields.iter().filter(|f| f.owner == owner).count();
        let _ = write!(
            out,
            "  {:<3} {} <-> {}: {} fields (salesforce {}, sap {}, both {})",
            flow.name,
            flow.salesforce_object,
            flow.sap_entity,
            fields.len(),
            count(Owner::Salesforce),
            count(Owner::Sap),
            count(Owner::Both),
        );
        let _ = writeln!(out, "{}", extras(flow));
    }
    let _ = writeln!(out, "  {total} field mappings in all");
    out
}

/// Collections, related pairs, derived fields and options, when a flow has any.
fn extras(flow: &FlowMapping) -> String {
    let mut parts = Vec::new();
    if !flow.collections.is_empty() {
        let names: Vec<String> =
            flow.collections.iter().map(|c| format!("{} ({})", c.name, c.sap_collection)).collect();
        parts.push(format!("collections {}", names.join(", ")));
    }
    if !flow.related.is_empty() {
        let names: Vec<String> =
            flow.related.iter().map(|r| format!("{} ({} <-> {})", r.name, r.salesforce_object, r.sap_entity)).collect();
        parts.push(format!("related {}", names.join(", ")));
    }
    if !flow.derived.is_empty() {
        parts.push(format!("{} derived", flow.derived.len()));
    }
    for (name, value) in &flow.options {
        parts.push(format!("{name} = {value}"));
    }
    if parts.is_empty() { String::new() } else { format!("; {}", parts.join("; ")) }
}
