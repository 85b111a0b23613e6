//! F1 and F3 are code that reads its mapping section, not a generic copy like F2 and F4–F7: these
//! checks hold each section to what that code does, so no entry of it is silently ignored. The
//! pairs, properties and derived fields they allow come from `mapping::f1` and `mapping::f3`,
//! which the flows use too.

use super::validate::{Checker, Entries, Node};
use crate::mapping::{f1, f3};
use std::ops::Range;

/// A field entry as written; entries missing a string are left to the generic checks.
struct Entry {
    salesforce: String,
    sap: String,
    owner: String,
    sap_at: Range<usize>,
    owner_at: Range<usize>,
}

impl Entry {
    fn is(&self, (salesforce, sap): (&str, &str), owner: &str) -> bool {
        self.salesforce == salesforce && self.sap == sap && self.owner == owner
    }
}

/// The well-formed entries of a `fields` array.
fn entries_of(node: &Node<'_>) -> Vec<Entry> {
    let items = node.get_ref().as_array().map(|a| a.iter().collect::<Vec<_>>()).unwrap_or_default();
    items
        .into_iter()
        .filter_map(|item| {
            let table = item.get_ref().as_table()?;
            let text = |key: &str| table.get(key).and_then(|v| Some((v.get_ref().as_str()?.to_string(), v.span())));
            let (salesforce, _) = text("salesforce")?;
            let (sap, sap_at) = text("sap")?;
            let (owner, owner_at) = text("owner")?;
            Some(Entry { salesforce, sap, owner, sap_at, owner_at })
        })
        .collect()
}

/// A string value of a table, with its span.
fn text_of(node: &Node<'_>, key: &str) -> Option<(String, Range<usize>)> {
    let value = node.get_ref().as_table()?.get(key)?;
    Some((value.get_ref().as_str()?.to_string(), value.span()))
}

fn entry_text(pair: (&str, &str), owner: &str) -> String {
    format!("{{ salesforce = \"{}\", sap = \"{}\", owner = \"{owner}\" }}", pair.0, pair.1)
}

impl Checker<'_> {
    /// Reports what the F1 or F3 section says that its code would not do.
    pub(super) fn check_code_reads(&mut self, flow: &str, entries: &Entries<'_, '_>, span: Range<usize>) {
        match flow {
            "F1" => self.f1(entries, span),
            "F3" => self.f3(entries, span),
            _ => {}
        }
    }

    fn f1(&mut self, entries: &Entries<'_, '_>, span: Range<usize>) {
        self.pinned(entries, "salesforce_object", "Opportunity", "F1 reads opportunities");
        self.pinned(entries, "sap_entity", "Orders", "F1 creates sales orders");
        let key = entries.get("key").map(|(_, node)| (text_of(node, "salesforce"), text_of(node, "sap")));
        if let Some((Some((salesforce, at)), _)) = &key
            && salesforce != "Id"
        {
            self.report(
                at.clone(),
                "F1 finds an opportunity's order by the opportunity's own Id: the key's salesforce must be \"Id\"",
            );
        }
        let key_sap = key.and_then(|(_, sap)| sap).map(|(sap, _)| sap);
        let fields = entries.get("fields").map(|(_, node)| entries_of(node)).unwrap_or_default();
        for entry in &fields {
            match entry.owner.as_str() {
                "sap" if !f1::WRITE_BACK.contains(&entry.sap.as_str()) => self.report(
                    entry.sap_at.clone(),
                    format!(
                        "nothing writes Orders.{} into Salesforce: F1 writes back only DocEntry and DocNum (F5 carries order fields to the opportunity)",
                        entry.sap
                    ),
                ),
                "both" => self.report(
                    entry.owner_at.clone(),
                    "F1 only writes into SAP, and back only DocEntry and DocNum: owner must be \"salesforce\" (or \"sap\" for DocEntry and DocNum)",
                ),
                "salesforce" => {
                    let set_by_f1 = f1::HEADER_SET_BY_F1.iter().find(|(property, _)| *property == entry.sap);
                    if let Some((_, why)) = set_by_f1
                        && !entry.is(f1::DUE_DATE_PAIR, "salesforce")
                    {
                        self.report(
                            entry.sap_at.clone(),
                            format!("F1 sets Orders.{} itself ({why}), so this entry would be overruled", entry.sap),
                        );
                    } else if key_sap.as_deref() == Some(entry.sap.as_str()) {
                        self.report(
                            entry.sap_at.clone(),
                            format!("F1 sets Orders.{} itself (the opportunity id, the order's key)", entry.sap),
                        );
                    }
                }
                // An unknown owner is reported by the generic checks.
                _ => {}
            }
        }
        let fields_at = entries.get("fields").map_or(span.clone(), |(key, _)| key.span());
        if !fields.iter().any(|e| e.is(f1::DUE_DATE_PAIR, "salesforce")) {
            self.report(
                fields_at.clone(),
                format!(
                    "F1 needs {}: the order's due date is the later of the close date and today",
                    entry_text(f1::DUE_DATE_PAIR, "salesforce")
                ),
            );
        }
        if !fields.iter().any(|e| e.owner == "sap" && e.sap == "DocEntry") {
            self.report(
                fields_at,
                format!(
                    "F1 needs a DocEntry write-back entry such as {}: it is how F1 sees that an opportunity already has its order",
                    entry_text(("SAP_DocEntry__c", "DocEntry"), "sap")
                ),
            );
        }
        self.computed_only("F1", entries, &f1::COMPUTED);
        self.nothing_related("F1", entries);
        self.f1_lines(entries, span);
    }

    /// F1's one collection: the order lines from the opportunity's line items.
    fn f1_lines(&mut self, entries: &Entries<'_, '_>, span: Range<usize>) {
        let wanted = "sap_collection = \"DocumentLines\" and salesforce_relationship = \"OpportunityLineItems\"";
        let collections = entries.get("collections").and_then(|(_, node)| node.get_ref().as_table());
        let mut lines = None;
        for (name, node) in collections.into_iter().flatten() {
            let is_lines = text_of(node, "sap_collection").is_some_and(|(c, _)| c == "DocumentLines")
                && text_of(node, "salesforce_relationship").is_some_and(|(r, _)| r == "OpportunityLineItems");
            if is_lines && lines.is_none() {
                lines = Some((name, node));
            } else {
                self.report(
                    name.span(),
                    format!(
                        "F1 reads one collection, the order lines ({wanted}); [flows.F1.collections.{}] would not be read",
                        name.get_ref()
                    ),
                );
            }
        }
        let Some((name, node)) = lines else {
            let at = entries.get("collections").map_or(span, |(key, _)| key.span());
            self.report(at, format!("F1 needs [flows.F1.collections.lines] with {wanted}: the order lines"));
            return;
        };
        let matched_sap = node
            .get_ref()
            .as_table()
            .and_then(|t| t.get("match"))
            .and_then(|m| m.get_ref().as_table()?.get("sap")?.get_ref().as_str().map(str::to_string));
        let fields_node = node.get_ref().as_table().and_then(|t| t.get_key_value("fields"));
        let fields = fields_node.map(|(_, node)| entries_of(node)).unwrap_or_default();
        for entry in &fields {
            let structural = f1::LINE_PAIRS.iter().find(|(_, sap)| *sap == entry.sap);
            if matches!(entry.owner.as_str(), "sap" | "both") {
                self.report(
                    entry.owner_at.clone(),
                    "nothing writes order lines into Salesforce: owner must be \"salesforce\"",
                );
            } else if let Some((salesforce, sap)) = structural
                && entry.salesforce != *salesforce
            {
                self.report(entry.sap_at.clone(), format!("F1 sets DocumentLines.{sap} from {salesforce} only"));
            } else if matched_sap.as_deref() == Some(entry.sap.as_str()) {
                self.report(
                    entry.sap_at.clone(),
                    format!("F1 writes DocumentLines.{} itself, from the line's match id", entry.sap),
                );
            }
        }
        let at = fields_node.map_or(name.span(), |(key, _)| key.span());
        for pair in f1::LINE_PAIRS {
            if !fields.iter().any(|e| e.is(pair, "salesforce")) {
                let why = match pair.1 {
                    "ItemCode" => "the line's item is the product's SAP_ItemCode__c when set, else its ProductCode",
                    _ => "every order line needs an item, a quantity and a price",
                };
                self.report(at.clone(), format!("F1 needs the line entry {}: {why}", entry_text(pair, "salesforce")));
            }
        }
    }

    fn f3(&mut self, entries: &Entries<'_, '_>, span: Range<usize>) {
        self.pinned(entries, "salesforce_object", "Case", "F3 enriches cases");
        self.pinned(entries, "sap_entity", "BusinessPartners", "F3 reads a business partner's billing context");
        let wanted = format!("key = {{ salesforce = \"{}\", sap = \"{}\" }}", f3::CUSTOMER_KEY.0, f3::CUSTOMER_KEY.1);
        match entries.get("key") {
            None => self.report(span, format!("F3 needs {wanted}: the case's customer")),
            Some((_, node)) => {
                let salesforce = text_of(node, "salesforce").map(|(s, _)| s);
                let sap = text_of(node, "sap").map(|(s, _)| s);
                if (salesforce.as_deref(), sap.as_deref()) != (Some(f3::CUSTOMER_KEY.0), Some(f3::CUSTOMER_KEY.1)) {
                    self.report(
                        node.span(),
                        format!(
                            "F3 finds the customer (and the credit-memo refresh finds open cases) by the account's CardCode: the key must be {wanted}"
                        ),
                    );
                }
            }
        }
        if let Some((key, _)) = entries.get("fields") {
            self.report(
                key.span(),
                "F3 copies no fields: every Case field it writes is computed from the billing context; list those under `derived`",
            );
        }
        if let Some((key, _)) = entries.get("collections") {
            self.report(key.span(), "F3 reads no collections; [flows.F3.collections] would not be read");
        }
        self.computed_only("F3", entries, &f3::COMPUTED);
        self.nothing_related("F3", entries);
    }

    /// A section value the flow's code assumes, e.g. F1's `salesforce_object = "Opportunity"`.
    fn pinned(&mut self, entries: &Entries<'_, '_>, key: &str, wanted: &str, why: &str) {
        if let Some((_, node)) = entries.get(key)
            && let Some(found) = node.get_ref().as_str()
            && found != wanted
        {
            self.report(node.span(), format!("{why}: `{key}` must be \"{wanted}\""));
        }
    }

    /// `derived` may name only fields the flow computes.
    fn computed_only(&mut self, flow: &str, entries: &Entries<'_, '_>, computed: &[&str]) {
        let items = entries.get("derived").and_then(|(_, node)| node.get_ref().as_array());
        for item in items.into_iter().flatten() {
            if let Some(name) = item.get_ref().as_str()
                && !computed.contains(&name)
            {
                self.report(
                    item.span(),
                    format!("{flow} does not compute {name}; it computes {}", computed.join(", ")),
                );
            }
        }
    }

    fn nothing_related(&mut self, flow: &str, entries: &Entries<'_, '_>) {
        if let Some((key, _)) = entries.get("related") {
            self.report(
                key.span(),
                format!("{flow} reads no related mappings; [flows.{flow}.related] would not be read"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::mapping::file::MappingFile;

    /// The smallest F1 section its code accepts; line numbers below refer to it.
    const F1: &str = r#"version = 1
[flows.F1]
salesforce_object = "Opportunity"
sap_entity = "Orders"
key = { salesforce = "Id", sap = "U_SF_OpportunityId" }
fields = [
  { salesforce = "CloseDate", sap = "DocDueDate", owner = "salesforce" },
  { salesforce = "SAP_DocEntry__c", sap = "DocEntry", owner = "sap" },
]
derived = ["SAP_Sync_Status__c"]
[flows.F1.collections.lines]
sap_collection = "DocumentLines"
salesforce_object = "OpportunityLineItem"
salesforce_relationship = "OpportunityLineItems"
match = { salesforce = "Id", sap = "U_SF_LineItemId" }
fields = [
  { salesforce = "ProductCode", sap = "ItemCode", owner = "salesforce" },
  { salesforce = "Quantity", sap = "Quantity", owner = "salesforce" },
  { salesforce = "UnitPrice", sap = "UnitPrice", owner = "salesforce" },
]
"#;

    /// The smallest F3 section its code accepts.
    const F3: &str = r#"version = 1
[flows.F3]
salesforce_object = "Case"
sap_entity = "BusinessPartners"
key = { salesforce = "Account.SAP_CardCode__c", sap = "CardCode" }
derived = ["SAP_Open_Invoices__c", "SAP_Synced_At__c"]
"#;

    /// Every problem of `text` as `FILE:LINE:COL: reason`.
    fn problems(text: &str) -> Vec<String> {
        match MappingFile::parse(text, "m.toml") {
            Ok(_) => Vec::new(),
            Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
        }
    }

    /// `base` with line `n` (1-based) replaced by `with` (which may hold several lines, or none).
    fn with_line(base: &str, n: usize, with: &str) -> String {
        let mut lines: Vec<&str> = base.lines().collect();
        if with.is_empty() {
            lines.remove(n - 1);
        } else {
            lines[n - 1] = with;
        }
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    #[test]
    fn the_smallest_sections_the_code_reads_are_valid() {
        assert_eq!(problems(F1), Vec::<String>::new());
        assert_eq!(problems(F3), Vec::<String>::new());
    }

    #[test]
    fn f1_without_a_structural_line_entry_is_rejected_at_the_line_fields() {
        assert_eq!(
            problems(&with_line(F1, 18, "")),
            [
                r#"m.toml:16:1: F1 needs the line entry { salesforce = "Quantity", sap = "Quantity", owner = "salesforce" }: every order line needs an item, a quantity and a price"#
            ]
        );
        let by_name = with_line(F1, 17, r#"  { salesforce = "Name", sap = "ItemCode", owner = "salesforce" },"#);
        assert_eq!(
            problems(&by_name),
            [
                "m.toml:16:1: F1 needs the line entry { salesforce = \"ProductCode\", sap = \"ItemCode\", owner = \"salesforce\" }: the line's item is the product's SAP_ItemCode__c when set, else its ProductCode",
                "m.toml:17:32: F1 sets DocumentLines.ItemCode from ProductCode only",
            ]
        );
    }

    #[test]
    fn f1_without_the_due_date_or_doc_entry_entries_is_rejected_at_its_fields() {
        let text = with_line(&with_line(F1, 8, ""), 7, "");
        assert_eq!(
            problems(&text),
            [
                r#"m.toml:6:1: F1 needs { salesforce = "CloseDate", sap = "DocDueDate", owner = "salesforce" }: the order's due date is the later of the close date and today"#,
                r#"m.toml:6:1: F1 needs a DocEntry write-back entry such as { salesforce = "SAP_DocEntry__c", sap = "DocEntry", owner = "sap" }: it is how F1 sees that an opportunity already has its order"#,
            ]
        );
    }

    #[test]
    fn an_f1_field_from_sap_other_than_doc_entry_and_doc_num_is_rejected_as_never_written() {
        let text = with_line(F1, 9, "  { salesforce = \"Amount\", sap = \"DocTotal\", owner = \"sap\" },\n]");
        assert_eq!(
            problems(&text),
            [
                "m.toml:9:34: nothing writes Orders.DocTotal into Salesforce: F1 writes back only DocEntry and DocNum (F5 carries order fields to the opportunity)"
            ]
        );
        let both = with_line(F1, 9, "  { salesforce = \"CloseDate\", sap = \"TaxDate\", owner = \"both\" },\n]");
        let found = problems(&both);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].starts_with("m.toml:9:56: F1 only writes into SAP"), "{found:#?}");
    }

    #[test]
    fn an_f1_field_into_a_property_the_code_sets_itself_is_rejected() {
        let comments = with_line(F1, 9, "  { salesforce = \"Name\", sap = \"Comments\", owner = \"salesforce\" },\n]");
        assert_eq!(
            problems(&comments),
            [
                "m.toml:9:32: F1 sets Orders.Comments itself (the opportunity's id and name), so this entry would be overruled"
            ]
        );
        let key = with_line(
            F1,
            9,
            "  { salesforce = \"Description\", sap = \"U_SF_OpportunityId\", owner = \"salesforce\" },\n]",
        );
        assert_eq!(
            problems(&key),
            ["m.toml:9:39: F1 sets Orders.U_SF_OpportunityId itself (the opportunity id, the order's key)"]
        );
        let line_match = with_line(
            F1,
            20,
            "  { salesforce = \"Description\", sap = \"U_SF_LineItemId\", owner = \"salesforce\" },\n]",
        );
        assert_eq!(
            problems(&line_match),
            ["m.toml:20:39: F1 writes DocumentLines.U_SF_LineItemId itself, from the line's match id"]
        );
        let copied_back =
            with_line(F1, 20, "  { salesforce = \"Description\", sap = \"ItemDescription\", owner = \"both\" },\n]");
        assert_eq!(
            problems(&copied_back),
            ["m.toml:20:66: nothing writes order lines into Salesforce: owner must be \"salesforce\""]
        );
    }

    #[test]
    fn a_derived_field_the_flow_does_not_compute_is_rejected() {
        let f1 = with_line(F1, 10, r#"derived = ["SAP_Sync_Status__c", "SAP_Fulfilment_Status__c"]"#);
        assert_eq!(
            problems(&f1),
            [
                "m.toml:10:34: F1 does not compute SAP_Fulfilment_Status__c; it computes SAP_Sync_Status__c, SAP_Sync_Error__c, SAP_Synced_At__c"
            ]
        );
        let f3 = with_line(F3, 6, r#"derived = ["SAP_Open_Invoices__c", "Subject"]"#);
        assert_eq!(
            problems(&f3),
            [
                "m.toml:6:36: F3 does not compute Subject; it computes SAP_Open_Invoices__c, SAP_Overdue_Amount__c, SAP_Last_Payment_Date__c, SAP_Open_Orders__c, SAP_Billing_Context__c, SAP_Synced_At__c"
            ]
        );
    }

    #[test]
    fn f1_needs_its_lines_collection_and_reads_no_other_and_nothing_related() {
        let without_lines: String = F1.lines().take(10).map(|l| format!("{l}\n")).collect();
        let found = problems(&without_lines);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].contains("F1 needs [flows.F1.collections.lines] with sap_collection = \"DocumentLines\""),
            "{found:#?}"
        );
        let related = format!(
            "{F1}[flows.F1.related.delivery]\nsalesforce_object = \"Opportunity\"\nsap_entity = \"DeliveryNotes\"\n"
        );
        let found = problems(&related);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].starts_with("m.toml:21:11: F1 reads no related mappings"), "{found:#?}");
    }

    #[test]
    fn f1_keys_orders_by_the_opportunity_id() {
        let text = with_line(F1, 5, r#"key = { salesforce = "Name", sap = "U_SF_OpportunityId" }"#);
        assert_eq!(
            problems(&text),
            [
                r#"m.toml:5:22: F1 finds an opportunity's order by the opportunity's own Id: the key's salesforce must be "Id""#
            ]
        );
    }

    #[test]
    fn f3_copies_no_fields_and_finds_the_customer_by_the_accounts_card_code() {
        let fields = format!("{F3}fields = [ {{ salesforce = \"Subject\", sap = \"CardName\", owner = \"sap\" }} ]\n");
        assert_eq!(
            problems(&fields),
            [
                "m.toml:7:1: F3 copies no fields: every Case field it writes is computed from the billing context; list those under `derived`"
            ]
        );
        let key = with_line(F3, 5, r#"key = { salesforce = "Account.AccountNumber", sap = "CardCode" }"#);
        let found = problems(&key);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].starts_with("m.toml:5:7: F3 finds the customer"), "{found:#?}");
        let keyless = with_line(F3, 5, "");
        let found = problems(&keyless);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].contains("F3 needs key = { salesforce = \"Account.SAP_CardCode__c\", sap = \"CardCode\" }"),
            "{found:#?}"
        );
        let orders = with_line(F3, 4, r#"sap_entity = "Orders""#);
        assert_eq!(
            problems(&orders),
            [r#"m.toml:4:14: F3 reads a business partner's billing context: `sap_entity` must be "BusinessPartners""#]
        );
    }
}
