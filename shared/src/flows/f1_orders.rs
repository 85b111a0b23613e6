//! F1: a Closed Won opportunity becomes an SAP sales order, exactly once.
//!
//! Skip unless won → resolve the customer (create the BP if allowed) → look up an SAP order
//! carrying the opportunity id before creating one → write DocEntry/DocNum back. The lookup makes a
//! lost idempotency record or a crash between create and write-back harmless. What is read from
//! Salesforce, sent to SAP and written back follows the F1 section of the mapping file.
//!
//! Approval procedures: where SAP saves the order as a draft awaiting approval, the lookup finds the
//! draft too, so a retry never saves a second one. A pending draft is written back as
//! `Pending approval` with its DocEntry in the message; once approved, the order carries the
//! opportunity id and the poller's F5 links it. A rejected draft is a permanent failure (reported
//! on the opportunity and in the DLQ), never retried.

use super::{Applied, Done, ToSap};
use crate::domain::{
    NewSalesOrder, OpportunitySnapshot, OrderDraft, OrderRef, OrderWriteBack, QuotationState, SalesforceId, SapOrderFor,
};
use crate::error::{Error, Result};
use crate::mapping::f1::{self, Customer};
use crate::mapping::file::MappingFile;
use crate::ports::AuditAction;
use crate::ports::OpportunityRead;

/// The opportunity and line fields F1's mapping names, for the snapshot read (with the synced
/// quote's quotation when quotes are on).
pub fn opportunity_read(mapping: &MappingFile) -> Result<OpportunityRead> {
    let flow = mapping.flow("F1")?;
    let mut fields = f1::header_fields(flow);
    if !f1::quote_statuses(flow).is_empty() {
        fields.push(f1::SYNCED_QUOTATION.to_string());
    }
    Ok(OpportunityRead { fields, line_fields: f1::line_fields(flow)? })
}

/// F1 for one opportunity (None: the integration user cannot read it, or it was deleted since).
pub async fn sync_opportunity(ports: &ToSap, snapshot: Option<&OpportunitySnapshot>) -> Result<Applied> {
    let Some(opp) = snapshot else {
        return Ok(Applied::new(Done::Skipped, AuditAction::SkipNotVisible, None));
    };
    let flow = ports.mapping.flow("F1")?;
    let linked = f1::linked_doc_entry(opp, flow);
    if let Some(doc_entry) = linked {
        return deal_changed_after_order(ports, opp, doc_entry).await;
    }
    if !opp.is_won {
        return Ok(Applied::new(Done::Skipped, AuditAction::SkipNotWon, None));
    }
    let today = crate::domain::date_of(ports.clock.now_millis());
    let customer = f1::customer(opp, ports.settings.auto_create_customers, &ports.settings.card_code_prefix)?;
    // Map before any write, so a bad line fails without side effects.
    let mut draft = f1::sales_order(opp, customer.card_code().clone(), &today, flow)?;
    ports.create_customer_if_new(&customer).await?;
    let (held, created) = match ports.sap.find_order_for_opportunity(&opp.id).await? {
        Some(existing) => (existing, false),
        None => {
            if let Some(quotation) = synced_quotation(ports, opp).await? {
                let based = f1::based_on_quotation(&mut draft, &quotation);
                tracing::info!(
                    quotation = quotation.quotation.doc_entry,
                    based,
                    "order copied from the quote's quotation"
                );
            }
            (ports.sap.create_order(&draft).await.map_err(|err| with_order_lines(err, &draft))?, true)
        }
    };
    let order = match held {
        SapOrderFor::Order { order, net_total } => {
            if let Some(net_total) = net_total {
                f1::check_placed_total(opp, order, net_total)?;
            }
            order
        }
        SapOrderFor::Draft(draft) => return awaiting_approval(ports, &opp.id, draft).await,
    };
    let (disposition, action) = if created {
        (Done::Created { doc_entry: order.doc_entry }, AuditAction::CreateOrder)
    } else {
        (Done::Linked { doc_entry: order.doc_entry }, AuditAction::LinkExistingOrder)
    };
    write_back(ports, &opp.id, Some(order), None).await?;
    tracing::info!(doc_entry = order.doc_entry, doc_num = order.doc_num, %action, "opportunity synced to SAP order");
    Ok(Applied::new(disposition, action, Some(order.doc_entry.to_string())))
}

/// The SAP quotation of the opportunity's synced quote, when quotes are on and it has one.
async fn synced_quotation(ports: &ToSap, opp: &OpportunitySnapshot) -> Result<Option<QuotationState>> {
    let flow = ports.mapping.flow("F1")?;
    let Some(doc_entry) = f1::synced_quotation(opp, flow) else {
        return Ok(None);
    };
    ports.sap.quotation_state(doc_entry).await
}

/// An opportunity whose order exists changed. Still won with the order's total: nothing to do.
/// No longer won (reopened or lost): an open order nothing was delivered or invoiced from is
/// cancelled (`Cancelled`); otherwise, and when a won deal's amount no longer matches its order
/// (lines edited after Closed Won), the opportunity is flagged `Needs review` with the reason —
/// never a silent divergence. An order already cancelled in SAP is left as it is.
async fn deal_changed_after_order(ports: &ToSap, opp: &OpportunitySnapshot, doc_entry: i64) -> Result<Applied> {
    let detail = Some(doc_entry.to_string());
    let Some(state) = ports.sap.order_state(doc_entry).await? else {
        let message = format!("SAP has no sales order {doc_entry} any more; a person decides");
        write_back_status(ports, &opp.id, None, NEEDS_REVIEW, Some(message)).await?;
        return Ok(Applied::new(Done::Skipped, AuditAction::OrderNeedsReview, detail));
    };
    let doc_num = state.order.doc_num;
    if state.cancelled {
        if !opp.is_won {
            return Ok(Applied::new(Done::Skipped, AuditAction::SkipAlreadyLinked, detail));
        }
        let message = format!(
            "the deal is won but SAP order {doc_num} is cancelled; clear SAP_DocEntry__c and replay for a new order"
        );
        write_back_status(ports, &opp.id, None, NEEDS_REVIEW, Some(message)).await?;
        return Ok(Applied::new(Done::Skipped, AuditAction::OrderNeedsReview, detail));
    }
    if opp.is_won {
        let Some(message) = f1::changed_since_order(opp, &state) else {
            return Ok(Applied::new(Done::Skipped, AuditAction::SkipAlreadyLinked, detail));
        };
        let update = ports.mapping.flow("F1")?.text_option("on_lines_edited") == Some("update");
        if update && state.open && !state.fulfilled_in_part {
            return update_order(ports, opp, doc_entry).await;
        }
        let message =
            if update { format!("{message}; not updated: the order is partly delivered or invoiced") } else { message };
        write_back_status(ports, &opp.id, None, NEEDS_REVIEW, Some(message)).await?;
        return Ok(Applied::new(Done::Skipped, AuditAction::OrderNeedsReview, detail));
    }
    if state.open && !state.fulfilled_in_part {
        ports.sap.cancel_order(doc_entry).await?;
        let message = format!("the deal is {} now; SAP order {doc_num} was cancelled", opp.stage_name);
        write_back_status(ports, &opp.id, None, CANCELLED, Some(message)).await?;
        tracing::info!(doc_entry, "deal no longer won: SAP order cancelled");
        return Ok(Applied::new(Done::Skipped, AuditAction::CancelOrder, detail));
    }
    let why = if state.open {
        "was partly delivered or invoiced"
    } else {
        "is closed (delivered, invoiced or closed by hand)"
    };
    let message = format!("the deal is {} now but SAP order {doc_num} {why}; a person decides", opp.stage_name);
    write_back_status(ports, &opp.id, None, NEEDS_REVIEW, Some(message)).await?;
    Ok(Applied::new(Done::Skipped, AuditAction::OrderNeedsReview, detail))
}

/// A won deal's lines changed after its order, which nothing was delivered or invoiced from yet:
/// the order's lines are replaced by the deal's (mapped and checked as for a new order, before any
/// write), SAP reprices them, and the order's net total must then be the Amount (else a permanent
/// error with both figures, as for a new order). With F1 `on_lines_edited = "update"`.
async fn update_order(ports: &ToSap, opp: &OpportunitySnapshot, doc_entry: i64) -> Result<Applied> {
    let flow = ports.mapping.flow("F1")?;
    let today = crate::domain::date_of(ports.clock.now_millis());
    let Customer::Existing(card_code) = f1::customer(opp, false, &ports.settings.card_code_prefix)? else {
        return Err(Error::Mapping(format!("Opportunity {}'s account has no SAP_CardCode__c", opp.id)));
    };
    let lines = f1::sales_order(opp, card_code, &today, flow)?;
    ports.sap.replace_order_lines(doc_entry, &lines).await.map_err(|err| with_order_lines(err, &lines))?;
    let state = ports.sap.order_state(doc_entry).await?.ok_or_else(|| Error::Transport {
        system: "sap",
        message: format!("sales order {doc_entry} was not found after its lines were updated"),
    })?;
    if let Some(net_total) = state.net_total {
        f1::check_placed_total(opp, state.order, net_total)?;
    }
    write_back(ports, &opp.id, Some(state.order), None).await?;
    tracing::info!(doc_entry, "deal's lines edited after winning: its open SAP order updated");
    Ok(Applied::new(Done::Written, AuditAction::UpdateOrder, Some(doc_entry.to_string())))
}

/// `SAP_Sync_Status__c` of a deal that stopped being won, whose order F1 cancelled.
pub const CANCELLED: &str = "Cancelled";
/// `SAP_Sync_Status__c` of a deal that changed after its order in a way only a person can settle.
pub const NEEDS_REVIEW: &str = "Needs review";

/// The order is a draft under SAP's approval procedure: pending → said on the opportunity, done
/// for now (F5 links the order once approved); rejected → a permanent failure with the reason.
async fn awaiting_approval(ports: &ToSap, opp: &SalesforceId, draft: OrderDraft) -> Result<Applied> {
    if draft.rejected {
        return Err(Error::Invalid(format!(
            "SAP's approval procedure rejected the sales order (draft DocEntry {}); change the deal or the draft in SAP, then replay",
            draft.doc_entry
        )));
    }
    let message = format!("SAP saved the sales order as draft DocEntry {} awaiting approval", draft.doc_entry);
    write_back_status(ports, opp, None, PENDING_APPROVAL, Some(message)).await?;
    tracing::info!(draft_entry = draft.doc_entry, "opportunity's SAP order awaits approval");
    Ok(Applied::new(Done::Skipped, AuditAction::OrderDraftPending, Some(format!("draft:{}", draft.doc_entry))))
}

/// `SAP_Sync_Status__c` while the order is a draft awaiting approval.
pub const PENDING_APPROVAL: &str = "Pending approval";

/// Tells the opportunity what became of it: its SAP order (`Synced`) or why not (`Failed`).
pub async fn write_back(
    ports: &ToSap,
    opp: &SalesforceId,
    order: Option<OrderRef>,
    error: Option<String>,
) -> Result<()> {
    let status = if error.is_some() { "Failed" } else { "Synced" };
    write_back_status(ports, opp, order, status, error).await
}

async fn write_back_status(
    ports: &ToSap,
    opp: &SalesforceId,
    order: Option<OrderRef>,
    status: &'static str,
    error: Option<String>,
) -> Result<()> {
    let synced_at = crate::domain::rfc3339_millis(ports.clock.now_millis());
    let fields = f1::write_back(ports.mapping.flow("F1")?, &OrderWriteBack { order, status, error }, &synced_at);
    if fields.is_empty() {
        return Ok(());
    }
    ports.salesforce_updates.update_record("Opportunity", opp, &fields).await
}

/// SAP names a rejected line by number only ("[line: 2]"); add the item codes so the audit says which product.
fn with_order_lines(err: Error, draft: &NewSalesOrder) -> Error {
    match err {
        Error::Sap { status, code, message } if status < 500 => {
            let lines: Vec<String> =
                draft.lines.iter().enumerate().map(|(i, l)| format!("{}={}", i + 1, l.item_code)).collect();
            Error::Sap { status, code, message: format!("{message} (order lines: {})", lines.join(", ")) }
        }
        other => other,
    }
}
