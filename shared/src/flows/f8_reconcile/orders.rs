//! F8 for F1: won opportunities against SAP's sales orders — each won opportunity of the period
//! has exactly one live order carrying its id, and that order's total before tax (in its own
//! currency) is the opportunity's Amount. Pure.

use super::compare::Links;
use crate::domain::{Record, order_net_total};
use crate::error::{Error, Result};
use crate::mapping::file::{MappingFile, Owner};
use crate::report::model::{ExceptionKind, ReconException, Totals};
use serde_json::Value;
use std::collections::BTreeMap;

const ENTITY: &str = "Orders";
const OBJECT: &str = "Opportunity";
const SYNC_STATUS: &str = "SAP_Sync_Status__c";
const SYNC_ERROR: &str = "SAP_Sync_Error__c";

/// How won opportunities pair with orders, from the F1 section of the mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderPairing {
    /// The order property carrying the opportunity id (the F1 key's SAP side, a UDF).
    pub reference: String,
    /// Opportunity fields read besides `Id` and `Amount`: the status fields F1 writes back.
    pub salesforce_fields: Vec<String>,
    /// Order properties read besides the reference.
    pub sap_select: Vec<String>,
}

/// The pairing, or `None` when the mapping has no F1 section (no orders to compare).
pub fn order_pairing(mapping: &MappingFile) -> Result<Option<OrderPairing>> {
    let Ok(flow) = mapping.flow("F1") else { return Ok(None) };
    let reference = flow.key.as_ref().map(|k| k.sap.clone()).ok_or_else(|| {
        Error::Config("the F1 section has no key: the reconciler cannot find an opportunity's order".into())
    })?;
    let mut salesforce_fields: Vec<String> =
        flow.fields.iter().filter(|f| f.owner == Owner::Sap).map(|f| f.salesforce.clone()).collect();
    salesforce_fields.extend(flow.derived.iter().filter(|d| *d == SYNC_STATUS || *d == SYNC_ERROR).cloned());
    let mut sap_select: Vec<String> =
        ["DocEntry", "DocNum", "Cancelled", "DocumentStatus", "DocCurrency"].map(String::from).to_vec();
    sap_select.extend(crate::domain::ORDER_TOTAL_FIELDS.map(String::from));
    Ok(Some(OrderPairing { reference, salesforce_fields, sap_select }))
}

fn text<'a>(record: &'a Record, field: &str) -> Option<&'a str> {
    record.get(field).and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}

/// Compares the period's won `opportunities` with the `orders` that carry their ids.
pub fn compare_orders(
    pairing: &OrderPairing,
    opportunities: &[Record],
    orders: &[Record],
    tolerance: f64,
    links: &Links,
) -> (Vec<ReconException>, Totals) {
    let mut by_opportunity: BTreeMap<&str, Vec<&Record>> = BTreeMap::new();
    for order in orders {
        if let Some(id) = text(order, &pairing.reference) {
            by_opportunity.entry(id).or_default().push(order);
        }
    }
    let mut exceptions = Vec::new();
    let mut sap_amount = 0.0;
    let mut sap_count = 0;
    for opp in opportunities {
        let id = text(opp, "Id").unwrap_or_default();
        let amount = opp.get("Amount").and_then(Value::as_f64);
        let held = by_opportunity.get(id).map(Vec::as_slice).unwrap_or_default();
        let (live, cancelled): (Vec<&Record>, Vec<&Record>) =
            held.iter().partition(|o| o.get("Cancelled").and_then(Value::as_str) != Some("tYES"));
        let base = ReconException {
            kind: ExceptionKind::MissingInSap,
            entity: ENTITY.into(),
            sap_key: String::new(),
            salesforce_id: Some(id.to_string()),
            field: None,
            sap_value: None,
            salesforce_value: amount.map(|a| format!("{a:.2}")),
            sap_link: None,
            salesforce_link: Some(links.salesforce(OBJECT, id)),
            repair: None,
            note: None,
        };
        let doc_entry =
            |order: &Record| order.get("DocEntry").and_then(Value::as_i64).map(|e| e.to_string()).unwrap_or_default();
        match live.as_slice() {
            [] if !cancelled.is_empty() => exceptions.push(ReconException {
                kind: ExceptionKind::StatusDrift,
                sap_key: doc_entry(cancelled[0]),
                field: Some("StageName".into()),
                sap_value: Some("cancelled".into()),
                salesforce_value: Some("won".into()),
                sap_link: Some(links.sap(ENTITY, &doc_entry(cancelled[0]))),
                note: Some(
                    "the SAP order was cancelled but the opportunity is still won; a person decides which is right"
                        .into(),
                ),
                ..base
            }),
            [] => {
                let status = text(opp, SYNC_STATUS);
                let (repair, note) = match status {
                    None => (
                        Some(format!("sf:{OBJECT}:{id}")),
                        "won without an SAP order or a sync status; a repair sends it to the sap-writer".to_string(),
                    ),
                    Some(status) => (
                        None,
                        format!(
                            "won without an SAP order: {status}{}",
                            text(opp, SYNC_ERROR).map(|e| format!(" ({e})")).unwrap_or_default()
                        ),
                    ),
                };
                exceptions.push(ReconException { repair, note: Some(note), ..base });
            }
            [order] => {
                sap_count += 1;
                let net = order_net_total(order);
                sap_amount += net.unwrap_or(0.0);
                let entry = doc_entry(order);
                if let (Some(net), Some(amount)) = (net, amount)
                    && (net - amount).abs() > tolerance / 2.0
                {
                    exceptions.push(ReconException {
                        kind: ExceptionKind::AmountDrift,
                        sap_key: entry.clone(),
                        field: Some("Amount".into()),
                        sap_value: Some(format!("{net:.2}")),
                        sap_link: Some(links.sap(ENTITY, &entry)),
                        note: Some(
                            "the order's total before tax differs from the won amount; a person corrects one side"
                                .into(),
                        ),
                        ..base
                    });
                }
            }
            several => {
                sap_count += several.len() as u64;
                sap_amount += several.iter().filter_map(|o| order_net_total(o)).sum::<f64>();
                let entries: Vec<String> = several.iter().map(|o| doc_entry(o)).collect();
                exceptions.push(ReconException {
                    kind: ExceptionKind::DuplicateInSap,
                    sap_key: entries.join(","),
                    sap_value: Some(format!("{} orders", several.len())),
                    sap_link: Some(links.sap(ENTITY, &entries[0])),
                    note: Some("one won opportunity, several live SAP orders; cancel the extra ones in SAP".into()),
                    ..base
                });
            }
        }
    }
    let totals = Totals {
        entity: ENTITY.into(),
        salesforce_object: OBJECT.into(),
        sap_count,
        salesforce_count: opportunities.len() as u64,
        sap_amount: Some((sap_amount * 100.0).round() / 100.0),
        salesforce_amount: Some(
            (opportunities.iter().filter_map(|o| o.get("Amount").and_then(Value::as_f64)).sum::<f64>() * 100.0).round()
                / 100.0,
        ),
    };
    (exceptions, totals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Record {
        value.as_object().cloned().unwrap()
    }

    fn links() -> Links {
        Links { sap_root: "https://sap/b1s/v2/".into(), salesforce_instance: "https://sf".into() }
    }

    fn opp(id: &str, amount: f64, status: Option<&str>) -> Record {
        record(json!({"Id": id, "Amount": amount, "SAP_Sync_Status__c": status, "SAP_Sync_Error__c": null}))
    }

    fn order(entry: i64, opp: &str, net: f64, cancelled: bool) -> Record {
        record(json!({"DocEntry": entry, "U_SF_OpportunityId": opp, "DocTotal": net * 1.1, "VatSum": net * 0.1,
                      "DocTotalFc": 0.0, "VatSumFc": 0.0, "Cancelled": if cancelled { "tYES" } else { "tNO" }}))
    }

    #[test]
    fn every_won_opportunity_has_one_live_order_of_its_amount_or_an_exception_says_what_differs() {
        let pairing = order_pairing(&MappingFile::shipped()).unwrap().unwrap();
        assert_eq!(pairing.reference, "U_SF_OpportunityId");
        assert!(pairing.salesforce_fields.contains(&"SAP_Sync_Status__c".to_string()));
        let opportunities = [
            opp("006A", 100.0, Some("Synced")),
            opp("006B", 200.0, Some("Synced")),
            opp("006C", 300.0, None),
            opp("006D", 400.0, Some("Failed")),
            opp("006E", 500.0, Some("Synced")),
            opp("006F", 600.0, Some("Synced")),
        ];
        let orders = [
            order(1, "006A", 100.0, false),
            order(2, "006B", 210.0, false),
            order(3, "006E", 500.0, false),
            order(4, "006E", 500.0, false),
            order(5, "006F", 600.0, true),
            order(6, "006X", 1.0, false),
        ];
        let (exceptions, totals) = compare_orders(&pairing, &opportunities, &orders, 0.01, &links());
        let seen: Vec<(ExceptionKind, &str, Option<&str>)> =
            exceptions.iter().map(|e| (e.kind, e.salesforce_id.as_deref().unwrap(), e.repair.as_deref())).collect();
        assert_eq!(
            seen,
            [
                (ExceptionKind::AmountDrift, "006B", None),
                (ExceptionKind::MissingInSap, "006C", Some("sf:Opportunity:006C")),
                (ExceptionKind::MissingInSap, "006D", None),
                (ExceptionKind::DuplicateInSap, "006E", None),
                (ExceptionKind::StatusDrift, "006F", None),
            ]
        );
        assert_eq!(exceptions[0].sap_value.as_deref(), Some("210.00"));
        assert!(exceptions[2].note.as_deref().unwrap().contains("Failed"));
        assert_eq!(exceptions[3].sap_key, "3,4");
        assert_eq!((totals.salesforce_count, totals.sap_count), (6, 4));
        assert_eq!((totals.salesforce_amount, totals.sap_amount), (Some(2100.0), Some(1310.0)));
    }
}
