//! The SAP ports ([`SapOrders`], [`SapPartners`], [`SapBilling`], [`SapLookups`]) for [`SapClient`]: F1 orders here; F2 business partners, F3 billing context and the
//! live lookups delegate to `business_partners.rs` and `billing.rs`.

use super::SapClient;
use super::errors;
use super::odata::{Filter, Property, Query, key_path};
use super::schema;
use crate::domain::order_net_total;
use crate::domain::{
    BillingContext, CardCode, CreditStatus, ItemAvailability, ItemCode, NewBusinessPartner, NewSalesOrder, OrderDraft,
    OrderRef, Record, SalesforceId, SapOrderFor,
};
use crate::domain::{OrderState, QuotationLine, QuotationState};
use crate::error::{Error, Result};
use crate::ports::{SapBilling, SapLookups, SapOrders, SapPartners};
use async_trait::async_trait;
use serde_json::{Value, json};

/// `ORDR.Comments` is nvarchar(254); longer text would be rejected with "Value too long in property".
const MAX_COMMENTS: usize = 254;

#[async_trait]
impl SapOrders for SapClient {
    async fn business_partner_exists(&self, card_code: &CardCode) -> Result<bool> {
        match self.get(&format!("{}?$select=CardCode", key_path("BusinessPartners", card_code.as_str()))).await {
            Ok(_) => Ok(true),
            Err(err) if errors::is_not_found(&err) => Ok(false),
            Err(err) => Err(err),
        }
    }

    async fn create_business_partner(&self, bp: &NewBusinessPartner) -> Result<()> {
        let body = json!({"CardCode": bp.card_code, "CardName": bp.card_name, "CardType": "cCustomer"});
        match self.post("BusinessPartners", &body).await {
            Ok(_) => Ok(()),
            // Someone created it since we looked: the code is what we wanted, so the goal is met.
            Err(err) if errors::is_duplicate_business_partner(&err) => {
                tracing::info!(card_code = %bp.card_code, "business partner already existed");
                Ok(())
            }
            Err(err) => Err(err),
        }
    }

    async fn find_order_for_opportunity(&self, opportunity: &SalesforceId) -> Result<Option<SapOrderFor>> {
        let query = Query::new().filter(self.opportunity_filter(opportunity)?).select(ORDER_FIELDS).top(1);
        if let Some(row) = self.query("Orders", &query).await?.first() {
            return Ok(Some(placed_order(row)?));
        }
        Ok(self.find_order_draft(opportunity).await?.map(SapOrderFor::Draft))
    }

    /// Sent without `Prefer: return-no-content`, so a created order comes back whole (DocEntry and
    /// DocNum, no second read). Under an approval procedure SAP saves a draft and answers -2028
    /// (REF 1.27, `POST Orders`); the draft is then looked up by the opportunity id.
    async fn create_order(&self, order: &NewSalesOrder) -> Result<SapOrderFor> {
        let body = order_body(order, self.order_reference_udf().map(|p| p.as_str()))?;
        match self.post("Orders", &body).await {
            Ok(created) => Ok(placed_order(&created)?),
            Err(err) if errors::is_saved_as_draft(&err) => match self.find_order_draft(&order.opportunity_id).await? {
                Some(draft) => Ok(SapOrderFor::Draft(draft)),
                None => Err(err),
            },
            Err(err) => Err(err),
        }
    }

    async fn order_state(&self, doc_entry: i64) -> Result<Option<OrderState>> {
        let select = "DocEntry,DocNum,DocumentStatus,Cancelled,DocTotal,VatSum,DocTotalFc,VatSumFc,DocumentLines";
        match self.get(&format!("Orders({doc_entry})?$select={select}")).await {
            Ok(row) => Ok(Some(order_state(&row)?)),
            Err(err) if errors::is_not_found(&err) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// PATCH with `B1S-ReplaceCollectionsOnPatch`: the lines as POST /Orders would send them (new
    /// lines, each carrying its `U_SF_LineItemId`), so SAP reprices them; the header's other fields
    /// stay as they are but the delivery date.
    async fn replace_order_lines(&self, doc_entry: i64, order: &NewSalesOrder) -> Result<()> {
        let full = order_body(order, self.order_reference_udf().map(|p| p.as_str()))?;
        self.patch_replacing_collections(&format!("Orders({doc_entry})"), &lines_and_due_date(&full)).await
    }

    /// A bound action: POST with no body, 204 (REF: `/Orders(id)/Cancel`).
    async fn cancel_order(&self, doc_entry: i64) -> Result<()> {
        self.post_action(&format!("Orders({doc_entry})/Cancel")).await
    }

    /// A query by the UDF for the DocEntry, then the quotation by key (lines are read by key only).
    async fn find_quotation_for_quote(&self, quote: &SalesforceId) -> Result<Option<QuotationState>> {
        let udf = Property::from(QUOTE_UDF);
        let query =
            Query::new().filter(Filter::eq(&udf, schema::literal(&udf, quote.as_str())?)).select(["DocEntry"]).top(1);
        match self.query(QUOTATIONS, &query).await?.first().and_then(|row| row["DocEntry"].as_i64()) {
            Some(doc_entry) => self.quotation_state(doc_entry).await,
            None => Ok(None),
        }
    }

    /// As a sales order is posted, with the quote id in `U_SF_QuoteId` (its lookup key) instead of
    /// the opportunity id; `NumAtCard` carries a mapped customer reference only.
    async fn create_quotation(&self, quote: &SalesforceId, lines: &NewSalesOrder) -> Result<OrderRef> {
        let created = self.post(QUOTATIONS, &Value::Object(quotation_body(quote, lines))).await?;
        order_ref(&created)
    }

    async fn quotation_state(&self, doc_entry: i64) -> Result<Option<QuotationState>> {
        let select =
            "DocEntry,DocNum,CardCode,DocumentStatus,Cancelled,DocTotal,VatSum,DocTotalFc,VatSumFc,DocumentLines";
        match self.get(&format!("{QUOTATIONS}({doc_entry})?$select={select}")).await {
            Ok(row) => Ok(Some(quotation_state(&row)?)),
            Err(err) if errors::is_not_found(&err) => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn replace_quotation_lines(&self, doc_entry: i64, lines: &NewSalesOrder) -> Result<()> {
        let full = Value::Object(document_body(lines));
        self.patch_replacing_collections(&format!("{QUOTATIONS}({doc_entry})"), &lines_and_due_date(&full)).await
    }
}

/// Sales quotations (OQUT, object 23).
const QUOTATIONS: &str = "Quotations";
/// The quotation's lookup key: the Salesforce quote id (`b1force setup sap` creates it on OQUT).
const QUOTE_UDF: &str = "U_SF_QuoteId";

fn quotation_body(quote: &SalesforceId, lines: &NewSalesOrder) -> serde_json::Map<String, Value> {
    let mut body = document_body(lines);
    body.insert(QUOTE_UDF.into(), json!(quote));
    body
}

fn quotation_state(row: &Value) -> Result<QuotationState> {
    let cancelled = row["Cancelled"] == "tYES";
    let open = !cancelled && row["DocumentStatus"] == "bost_Open";
    let lines = row["DocumentLines"].as_array().map(Vec::as_slice).unwrap_or_default();
    Ok(QuotationState {
        quotation: order_ref(row)?,
        card_code: row["CardCode"].as_str().unwrap_or_default().to_string(),
        net_total: row.as_object().and_then(order_net_total),
        cancelled,
        open,
        lines: lines
            .iter()
            .filter(|l| l["LineStatus"] != "bost_Close")
            .filter_map(|l| {
                Some(QuotationLine {
                    line_num: l["LineNum"].as_i64()?,
                    item_code: l["ItemCode"].as_str()?.to_string(),
                    open_quantity: l["RemainingOpenQuantity"].as_f64().or_else(|| l["Quantity"].as_f64())?,
                })
            })
            .collect(),
    })
}

/// The lines and the due date of a full document body: what a PATCH replacing the lines sends.
fn lines_and_due_date(full: &Value) -> Value {
    Value::Object(
        ["DocumentLines", "DocDueDate"]
            .into_iter()
            .filter_map(|field| Some((field.to_string(), full.get(field)?.clone())))
            .collect(),
    )
}

fn order_state(row: &Value) -> Result<OrderState> {
    let lines = row["DocumentLines"].as_array().map(Vec::as_slice).unwrap_or_default();
    let number = |line: &Value, field: &str| line.get(field).and_then(Value::as_f64).unwrap_or(0.0);
    let cancelled = row["Cancelled"] == "tYES";
    Ok(OrderState {
        order: order_ref(row)?,
        net_total: row.as_object().and_then(order_net_total),
        cancelled,
        open: !cancelled && row["DocumentStatus"] == "bost_Open",
        fulfilled_in_part: lines.iter().any(|l| number(l, "RemainingOpenQuantity") < number(l, "Quantity") - 1e-9),
    })
}

impl SapClient {
    /// Documents carrying the opportunity id: in the reference UDF (when configured) or NumAtCard.
    fn opportunity_filter(&self, opportunity: &SalesforceId) -> Result<Filter> {
        let num_at_card = Property::from("NumAtCard");
        let by_num_at_card = Filter::eq(&num_at_card, schema::literal(&num_at_card, opportunity.as_str())?);
        Ok(match self.order_reference_udf() {
            Some(udf) => Filter::eq(udf, schema::literal(udf, opportunity.as_str())?).or(by_num_at_card),
            None => by_num_at_card,
        })
    }

    /// The newest sales-order draft of the opportunity that is pending or rejected (a draft turned
    /// into an order is `dasGenerated`, and the order is what counts). `DocObjectCode` is compared
    /// here, not in `$filter`, so no enumeration literal is needed.
    async fn find_order_draft(&self, opportunity: &SalesforceId) -> Result<Option<OrderDraft>> {
        let query = Query::new()
            .filter(self.opportunity_filter(opportunity)?)
            .select(["DocEntry", "DocObjectCode", "AuthorizationStatus"])
            .order_by("DocEntry", false)
            .top(20);
        let rows = self.query("Drafts", &query).await?;
        Ok(rows.iter().filter(|row| row["DocObjectCode"] == "oOrders").find_map(|row| {
            let doc_entry = row["DocEntry"].as_i64()?;
            match row["AuthorizationStatus"].as_str()? {
                "dasPending" | "dasWithout" => Some(OrderDraft { doc_entry, rejected: false }),
                "dasRejected" => Some(OrderDraft { doc_entry, rejected: true }),
                _ => None,
            }
        }))
    }
}

#[async_trait]
impl SapPartners for SapClient {
    async fn business_partner(&self, card_code: &CardCode, select: &[String]) -> Result<Option<Record>> {
        self.read_business_partner(card_code, select).await
    }

    async fn create_business_partner_record(&self, record: &Record) -> Result<()> {
        self.create_business_partner_from(record).await
    }

    async fn patch_business_partner(&self, card_code: &CardCode, record: &Record) -> Result<()> {
        self.patch_business_partner_with(card_code, record).await
    }
}

#[async_trait]
impl SapBilling for SapClient {
    async fn billing_context(&self, card_code: &CardCode, today: &str) -> Result<BillingContext> {
        self.read_billing_context(card_code, today).await
    }

    async fn open_invoices_of(&self, card_codes: &[CardCode]) -> Result<Vec<(String, crate::domain::OpenInvoice)>> {
        self.read_open_invoices_of(card_codes).await
    }
}

#[async_trait]
impl SapLookups for SapClient {
    async fn credit_status(&self, card_code: &CardCode) -> Result<Option<CreditStatus>> {
        self.read_credit_status(card_code).await
    }

    async fn item_availability(&self, item_code: &ItemCode, price_list: i32) -> Result<Option<ItemAvailability>> {
        self.read_item_availability(item_code, price_list).await
    }
}

/// `RDR1.Dscription` holds 100 characters; longer text would be rejected.
const MAX_ITEM_DESCRIPTION: usize = 100;

/// The POST /Orders body: the mapped properties, then the ones F1 sets itself (they win). The UDF,
/// when configured, carries the opportunity id, so a retry finds the order instead of creating a
/// second one; NumAtCard then holds the mapped customer reference (a PO number) if there is one,
/// else the opportunity id. Without the UDF, NumAtCard is the lookup key and cannot be mapped.
fn order_body(order: &NewSalesOrder, reference_udf: Option<&str>) -> Result<Value> {
    let mut body = document_body(order);
    match reference_udf {
        Some(udf) => {
            body.insert(udf.to_string(), json!(order.opportunity_id));
            body.entry("NumAtCard").or_insert(json!(order.opportunity_id));
        }
        None if order.mapped.contains_key("NumAtCard") => {
            return Err(Error::Config(
                "the F1 mapping sends NumAtCard, which is the order's lookup key unless SAP_ORDER_REFERENCE_UDF is set; \
                 set the UDF (b1force setup sap creates it) or remove the NumAtCard entry"
                    .into(),
            ));
        }
        None => {
            body.insert("NumAtCard".into(), json!(order.opportunity_id));
        }
    }
    Ok(Value::Object(body))
}

/// A marketing document's body without its lookup key: the mapped header properties, then the ones
/// F1 sets itself (they win), and the lines.
fn document_body(order: &NewSalesOrder) -> serde_json::Map<String, Value> {
    let lines: Vec<Value> = order
        .lines
        .iter()
        .map(|line| {
            let mut json = line.mapped.clone();
            if let Some(Value::String(description)) = json.get_mut("ItemDescription") {
                *description = truncated(description, MAX_ITEM_DESCRIPTION);
            }
            json.insert("ItemCode".into(), json!(line.item_code));
            json.insert("Quantity".into(), json!(line.quantity));
            json.insert("UnitPrice".into(), json!(line.unit_price));
            Value::Object(json)
        })
        .collect();
    let mut body = order.mapped.clone();
    body.insert("CardCode".into(), json!(order.card_code));
    body.insert("DocDate".into(), json!(order.doc_date));
    body.insert("DocDueDate".into(), json!(order.doc_due_date));
    body.insert("Comments".into(), json!(truncated(&order.comments, MAX_COMMENTS)));
    body.insert("DocumentLines".into(), Value::Array(lines));
    body
}

fn truncated(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// What F1 reads of an order it found: its numbers and the totals its net total comes from.
const ORDER_FIELDS: [&str; 6] = ["DocEntry", "DocNum", "DocTotal", "VatSum", "DocTotalFc", "VatSumFc"];

fn placed_order(row: &Value) -> Result<SapOrderFor> {
    Ok(SapOrderFor::Order { order: order_ref(row)?, net_total: row.as_object().and_then(order_net_total) })
}

fn order_ref(row: &Value) -> Result<OrderRef> {
    match (row.get("DocEntry").and_then(Value::as_i64), row.get("DocNum").and_then(Value::as_i64)) {
        (Some(doc_entry), Some(doc_num)) => Ok(OrderRef { doc_entry, doc_num }),
        // The order may exist: report a retryable error, and the retry's lookup will find it.
        _ => Err(Error::Transport {
            system: "sap",
            message: "undecodable reply: an order without DocEntry/DocNum".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SalesOrderLine;

    fn record(value: Value) -> Record {
        value.as_object().cloned().unwrap()
    }

    fn order() -> NewSalesOrder {
        NewSalesOrder {
            card_code: CardCode::parse("C20000").unwrap(),
            opportunity_id: SalesforceId::parse("006SM0000001Tb3").unwrap(),
            doc_date: "2025-06-01".into(),
            doc_due_date: "2025-06-30".into(),
            comments: "c".repeat(400),
            mapped: record(json!({"TaxDate": "2025-06-02"})),
            lines: vec![SalesOrderLine {
                item_code: ItemCode::parse("A00001").unwrap(),
                quantity: 2.0,
                unit_price: 50.0,
                mapped: record(json!({"ItemDescription": "Pump", "DiscountPercent": 10.0, "ShipDate": "2025-06-15"})),
            }],
        }
    }

    #[test]
    fn an_order_carries_the_opportunity_in_num_at_card_and_the_udf_and_the_mapped_properties() {
        let body = order_body(&order(), Some("U_SF_OpportunityId")).unwrap();
        assert_eq!(body["NumAtCard"], "006SM0000001Tb3YAE");
        assert_eq!(body["U_SF_OpportunityId"], "006SM0000001Tb3YAE");
        assert_eq!(body["TaxDate"], "2025-06-02");
        assert_eq!(
            body["DocumentLines"][0],
            json!({"ItemCode": "A00001", "Quantity": 2.0, "UnitPrice": 50.0, "ItemDescription": "Pump",
                   "DiscountPercent": 10.0, "ShipDate": "2025-06-15"})
        );
        assert_eq!(body["Comments"].as_str().unwrap().len(), MAX_COMMENTS);
        assert!(body.get("DocCurrency").is_none());
        assert!(order_body(&order(), None).unwrap().get("U_SF_OpportunityId").is_none());
    }

    #[test]
    fn the_properties_f1_sets_itself_win_over_mapped_ones_and_descriptions_are_cut_to_fit() {
        let mut order = order();
        order.mapped.insert("CardCode".into(), json!("C99999"));
        order.lines[0].mapped.insert("Quantity".into(), json!(99));
        order.lines[0].mapped.insert("ItemDescription".into(), json!("d".repeat(150)));
        let body = order_body(&order, None).unwrap();
        assert_eq!((&body["CardCode"], &body["NumAtCard"]), (&json!("C20000"), &json!("006SM0000001Tb3YAE")));
        assert_eq!(body["DocumentLines"][0]["Quantity"], 2.0);
        assert_eq!(body["DocumentLines"][0]["ItemDescription"].as_str().unwrap().len(), MAX_ITEM_DESCRIPTION);
    }

    #[test]
    fn a_mapped_customer_reference_goes_into_num_at_card_only_when_the_udf_carries_the_key() {
        let mut order = order();
        order.mapped.insert("NumAtCard".into(), json!("PO-4711"));
        let body = order_body(&order, Some("U_SF_OpportunityId")).unwrap();
        assert_eq!(
            (&body["NumAtCard"], &body["U_SF_OpportunityId"]),
            (&json!("PO-4711"), &json!("006SM0000001Tb3YAE"))
        );
        let err = order_body(&order, None).unwrap_err();
        assert!(matches!(&err, Error::Config(m) if m.contains("SAP_ORDER_REFERENCE_UDF")), "{err}");
    }

    #[test]
    fn the_net_total_is_in_the_documents_own_currency() {
        let local = record(json!({"DocTotal": 108.5, "VatSum": 8.5, "DocTotalFc": 0.0, "VatSumFc": 0.0}));
        let foreign = record(json!({"DocTotal": 137.8, "VatSum": 10.8, "DocTotalFc": 108.5, "VatSumFc": 8.5}));
        assert_eq!((order_net_total(&local), order_net_total(&foreign)), (Some(100.0), Some(100.0)));
        assert_eq!(order_net_total(&record(json!({"DocEntry": 1}))), None);
        assert!(crate::domain::ORDER_TOTAL_FIELDS.iter().all(|f| ORDER_FIELDS.contains(f)));
    }

    #[test]
    fn a_quotation_carries_the_quote_id_and_its_state_lists_the_lines_still_open() {
        let quote = SalesforceId::parse("0Q0SM0000000001").unwrap();
        let body = quotation_body(&quote, &order());
        assert_eq!(body["U_SF_QuoteId"], "0Q0SM00000000010AA");
        assert!(!body.contains_key("NumAtCard"), "a customer reference only when mapped");
        assert!(!body.contains_key("U_SF_OpportunityId"));
        let row = json!({"DocEntry": 7, "DocNum": 6007, "CardCode": "C20000", "DocumentStatus": "bost_Open",
            "Cancelled": "tNO", "DocTotal": 110.0, "VatSum": 10.0, "DocumentLines": [
                {"LineNum": 0, "ItemCode": "A00001", "Quantity": 2.0, "RemainingOpenQuantity": 0.0, "LineStatus": "bost_Close"},
                {"LineNum": 1, "ItemCode": "A00002", "Quantity": 3.0, "RemainingOpenQuantity": 1.0, "LineStatus": "bost_Open"}]});
        let state = quotation_state(&row).unwrap();
        assert!(state.open && !state.cancelled);
        assert_eq!((state.net_total, state.card_code.as_str()), (Some(100.0), "C20000"));
        assert_eq!(state.lines, [QuotationLine { line_num: 1, item_code: "A00002".into(), open_quantity: 1.0 }]);
    }
}
