//! F1 quotes: a Salesforce Quote synced to its opportunity becomes an SAP sales quotation when its
//! status reaches one of F1's `quote_statuses` (Approved, Presented), exactly once; when the deal is
//! won, F1 copies the order from that quotation (`f1::based_on_quotation`), so SAP keeps the link.
//!
//! Look up a quotation carrying the quote id (`U_SF_QuoteId`) before creating one, so a crash
//! between create and write-back is harmless; write DocEntry/DocNum back to the quote. A quote
//! edited after its quotation exists updates the quotation while it is open (lines replaced, SAP
//! reprices, totals checked again); a quotation already copied into an order or cancelled is left
//! as it is. The quotation's status comes back to the quote through F5 (`F5.quote`).

use super::{Applied, Done, ToSap};
use crate::domain::{CardCode, OrderRef, OrderWriteBack, QuoteSnapshot, SalesforceId};
use crate::error::{Error, Result};
use crate::mapping::f1;
use crate::ports::AuditAction;

/// F1's line fields, read for each quote line as for opportunity lines.
pub fn quote_line_fields(mapping: &crate::mapping::file::MappingFile) -> Result<Vec<String>> {
    f1::line_fields(mapping.flow("F1")?)
}

/// The quote flow for one quote (None: the integration user cannot read it, or it was deleted).
pub async fn sync_quote(ports: &ToSap, snapshot: Option<&QuoteSnapshot>) -> Result<Applied> {
    let Some(quote) = snapshot else {
        return Ok(Applied::new(Done::Skipped, AuditAction::SkipNotVisible, None));
    };
    let flow = ports.mapping.flow("F1")?;
    if let Some(why) = f1::quote_not_sent(quote, flow) {
        return Ok(Applied::new(Done::Skipped, AuditAction::SkipQuoteNotSent, Some(why)));
    }
    if let Some(doc_entry) = quote.quotation {
        return quote_changed(ports, quote, doc_entry).await;
    }
    let today = crate::domain::date_of(ports.clock.now_millis());
    let customer = f1::quote_customer(quote, ports.settings.auto_create_customers, &ports.settings.card_code_prefix)?;
    // Map before any write, so a bad line fails without side effects.
    let lines = f1::quotation(quote, customer.card_code().clone(), &today, flow)?;
    ports.create_customer_if_new(&customer).await?;
    let (quotation, net_total, action) = match ports.sap.find_quotation_for_quote(&quote.id).await? {
        Some(found) => (found.quotation, found.net_total, AuditAction::LinkExistingQuotation),
        None => {
            let created = ports.sap.create_quotation(&quote.id, &lines).await?;
            let state = ports.sap.quotation_state(created.doc_entry).await?;
            (created, state.and_then(|s| s.net_total), AuditAction::CreateQuotation)
        }
    };
    f1::check_quotation_total(quote, quotation, net_total)?;
    write_back(ports, &quote.id, Some(quotation), SYNCED, None).await?;
    tracing::info!(doc_entry = quotation.doc_entry, doc_num = quotation.doc_num, %action, "quote synced to SAP quotation");
    Ok(Applied::new(Done::Written, action, Some(quotation.doc_entry.to_string())))
}

/// A quote whose quotation exists changed: nothing to do while the totals agree; an open quotation
/// whose total differs gets the quote's lines; a closed or cancelled one is left alone.
async fn quote_changed(ports: &ToSap, quote: &QuoteSnapshot, doc_entry: i64) -> Result<Applied> {
    let detail = Some(doc_entry.to_string());
    let Some(state) = ports.sap.quotation_state(doc_entry).await? else {
        let message = format!(
            "SAP has no sales quotation {doc_entry} any more; clear SAP_Quotation_DocEntry__c to send the quote again"
        );
        write_back(ports, &quote.id, None, super::f1_orders::NEEDS_REVIEW, Some(message)).await?;
        return Ok(Applied::new(Done::Skipped, AuditAction::OrderNeedsReview, detail));
    };
    let agrees = f1::check_quotation_total(quote, state.quotation, state.net_total).is_ok();
    if agrees || !state.open {
        return Ok(Applied::new(Done::Skipped, AuditAction::SkipAlreadyLinked, detail));
    }
    let flow = ports.mapping.flow("F1")?;
    let today = crate::domain::date_of(ports.clock.now_millis());
    let card_code = CardCode::parse(&state.card_code)
        .map_err(|_| Error::Invalid(format!("SAP quotation {doc_entry} has CardCode {:?}", state.card_code)))?;
    let lines = f1::quotation(quote, card_code, &today, flow)?;
    ports.sap.replace_quotation_lines(doc_entry, &lines).await?;
    let after = ports.sap.quotation_state(doc_entry).await?;
    f1::check_quotation_total(quote, state.quotation, after.and_then(|s| s.net_total))?;
    write_back(ports, &quote.id, Some(state.quotation), SYNCED, None).await?;
    tracing::info!(doc_entry, "quote edited after its quotation: the open quotation updated");
    Ok(Applied::new(Done::Written, AuditAction::UpdateQuotation, detail))
}

/// `SAP_Sync_Status__c` of a quote whose quotation SAP holds.
const SYNCED: &str = "Synced";

/// Tells the quote what became of it: its SAP quotation (`Synced`), or why not (`Failed`, or
/// `Needs review`).
pub async fn write_back(
    ports: &ToSap,
    quote: &SalesforceId,
    quotation: Option<OrderRef>,
    status: &'static str,
    error: Option<String>,
) -> Result<()> {
    let synced_at = crate::domain::rfc3339_millis(ports.clock.now_millis());
    let fields = f1::quote_write_back(&OrderWriteBack { order: quotation, status, error }, &synced_at);
    ports.salesforce_updates.update_record("Quote", quote, &fields).await
}

/// Tells the quote why it failed for good (best effort: the DLQ and audit trail are the record).
pub async fn write_back_failure(ports: &ToSap, quote: &SalesforceId, error: String) -> Result<()> {
    write_back(ports, quote, None, "Failed", Some(error)).await
}
