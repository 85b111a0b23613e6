//! The Salesforce objects whose changes flow to SAP: one table for every delivery path (CDC,
//! webhooks, Outbound Messages) and for the sap-writer.

/// One Salesforce object the Salesforce → SAP side handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SalesforceObject {
    /// The API name, e.g. `Opportunity`.
    pub name: &'static str,
    /// The key prefix of its record ids (`006` for opportunities).
    pub id_prefix: &'static str,
    /// The flow a change of it runs: `F1` orders, `F2` business partners (accounts, and the
    /// accounts of contacts and converted leads), `F3` case billing context.
    pub flow: &'static str,
}

/// Every object the receiver accepts and the sap-writer has a flow for. Each accepts creates,
/// updates and undeletes (and their GAP_ forms) and a whole-object resync ([`WHOLE_OBJECT`]).
pub const SALESFORCE_OBJECTS: &[SalesforceObject] = &[
    SalesforceObject { name: "Account", id_prefix: "001", flow: "F2" },
    SalesforceObject { name: "Contact", id_prefix: "003", flow: "F2" },
    SalesforceObject { name: "Lead", id_prefix: "00Q", flow: "F2" },
    SalesforceObject { name: "Opportunity", id_prefix: "006", flow: "F1" },
    // Quotes (F1 `quote_statuses`): by webhook (the CDC channel's five entities are taken).
    SalesforceObject { name: "Quote", id_prefix: "0Q0", flow: "F1" },
    SalesforceObject { name: "Case", id_prefix: "500", flow: "F3" },
];

/// The record id that stands for "every record of the object" (GAP_OVERFLOW resync).
pub const WHOLE_OBJECT: &str = "*";

/// The table's entry for `name`, if we handle that object.
pub fn salesforce_object(name: &str) -> Option<&'static SalesforceObject> {
    SALESFORCE_OBJECTS.iter().find(|object| object.name == name)
}

/// The handled objects' names, for error messages: `Account, Contact, …`.
pub fn salesforce_object_names() -> String {
    SALESFORCE_OBJECTS.iter().map(|object| object.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_object_has_a_distinct_three_character_prefix_and_a_flow() {
        let mut prefixes: Vec<&str> = SALESFORCE_OBJECTS.iter().map(|o| o.id_prefix).collect();
        prefixes.sort();
        prefixes.dedup();
        assert_eq!(prefixes.len(), SALESFORCE_OBJECTS.len());
        assert!(SALESFORCE_OBJECTS.iter().all(|o| o.id_prefix.len() == 3 && ["F1", "F2", "F3"].contains(&o.flow)));
        assert_eq!(salesforce_object("Lead").map(|o| o.id_prefix), Some("00Q"));
        assert_eq!(salesforce_object("Task"), None);
    }
}
