//! F1: a Closed Won opportunity becomes an SAP sales order.

use crate::domain::{
    CardCode, ItemCode, NewBusinessPartner, NewSalesOrder, OpportunitySnapshot, SalesOrderLine, SalesforceId,
};
use crate::error::{Error, Result};

/// Builds the sales order for a won opportunity whose customer is `card_code`.
/// `today` is `YYYY-MM-DD`; the due date is the close date when it is later, else today.
pub fn sales_order(opp: &OpportunitySnapshot, card_code: CardCode, today: &str) -> Result<NewSalesOrder> {
    if opp.lines.is_empty() {
        return Err(Error::Mapping(format!(
            "Opportunity {} has no line items; add products before closing it won",
            opp.id
        )));
    }
    let lines = opp
        .lines
        .iter()
        .enumerate()
        .map(|(n, line)| {
            let code = line.sap_item_code.as_deref().or(line.product_code.as_deref()).ok_or_else(|| {
                Error::Mapping(format!(
                    "Opportunity {} line {} has a product without ProductCode or SAP_ItemCode__c",
                    opp.id,
                    n + 1
                ))
            })?;
            let item_code = ItemCode::parse(code).map_err(|_| {
                Error::Mapping(format!(
                    "Opportunity {} line {} has product code {code:?}, not a valid SAP ItemCode",
                    opp.id,
                    n + 1
                ))
            })?;
            if line.quantity.is_nan() || line.quantity <= 0.0 {
                return Err(Error::Mapping(format!(
                    "Opportunity {} line {} has quantity {}",
                    opp.id,
                    n + 1,
                    line.quantity
                )));
            }
            Ok(SalesOrderLine {
                item_code,
                quantity: line.quantity,
                unit_price: line.unit_price,
                description: line.description.clone(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let due = match opp.close_date.as_deref() {
        Some(close) if close > today => close.to_string(),
        _ => today.to_string(),
    };
    Ok(NewSalesOrder {
        card_code,
        opportunity_id: opp.id.clone(),
        doc_date: today.to_string(),
        doc_due_date: due,
        currency: opp.currency.clone(),
        comments: truncate(&format!("Salesforce opportunity {} {}", opp.id, opp.name), 254),
        lines,
    })
}

/// The customer of an opportunity: the account's CardCode, or a new BP to create when allowed.
#[derive(Debug, Clone, PartialEq)]
pub enum Customer {
    Existing(CardCode),
    /// The account has no CardCode; this BP is created (or found, if an earlier attempt created it).
    Create(NewBusinessPartner),
}

/// Resolves the SAP customer. The CardCode of an auto-created BP is derived from the account id,
/// so a retry after a crash finds the BP it created instead of creating a second one.
pub fn customer(opp: &OpportunitySnapshot, auto_create: bool, prefix: &str) -> Result<Customer> {
    let account =
        opp.account_id.as_ref().ok_or_else(|| Error::Mapping(format!("Opportunity {} has no account", opp.id)))?;
    if let Some(code) = opp.account_card_code.as_deref().filter(|c| !c.trim().is_empty()) {
        return CardCode::parse(code.trim()).map(Customer::Existing).map_err(|_| {
            Error::Mapping(format!("Account {account} has SAP_CardCode__c {code:?}, which is not a valid CardCode"))
        });
    }
    if !auto_create {
        return Err(Error::Mapping(format!(
            "Account {account} has no SAP_CardCode__c and auto-create is off; set the CardCode or enable auto-create"
        )));
    }
    Ok(Customer::Create(NewBusinessPartner {
        card_code: card_code_for_account(account, prefix)?,
        card_name: truncate(opp.account_name.as_deref().unwrap_or(account.as_str()), 100),
        salesforce_account_id: account.clone(),
    }))
}

/// `prefix` + the 12 record-specific characters of the 15-char id: unique, stable, ≤ 15 chars.
pub fn card_code_for_account(account: &SalesforceId, prefix: &str) -> Result<CardCode> {
    let room = 15usize.saturating_sub(prefix.len());
    let tail = &account.short()[15 - room.min(12)..];
    CardCode::parse(&format!("{prefix}{tail}"))
        .map_err(|_| Error::Config(format!("BP code prefix {prefix:?} does not make valid CardCodes")))
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OpportunityLine;

    fn opp(lines: Vec<OpportunityLine>, card_code: Option<&str>) -> OpportunitySnapshot {
        OpportunitySnapshot {
            id: SalesforceId::parse("006SM0000001Tb3").unwrap(),
            name: "Acme - 400 Widgets".into(),
            stage_name: "Closed Won".into(),
            is_won: true,
            close_date: Some("2026-12-01".into()),
            currency: None,
            account_id: Some(SalesforceId::parse("001SM0000000iib").unwrap()),
            account_name: Some("Acme".into()),
            account_card_code: card_code.map(String::from),
            sap_doc_entry: None,
            lines,
        }
    }

    fn line(code: Option<&str>, qty: f64) -> OpportunityLine {
        OpportunityLine {
            product_code: code.map(String::from),
            sap_item_code: None,
            quantity: qty,
            unit_price: 10.0,
            description: None,
        }
    }

    #[test]
    fn a_won_opportunity_maps_to_an_order_with_its_lines_and_reference() {
        let o = opp(vec![line(Some("A00001"), 2.0), line(Some("A00002"), 1.0)], Some("C20000"));
        let order = sales_order(&o, CardCode::parse("C20000").unwrap(), "2026-11-25").unwrap();
        assert_eq!(order.lines.len(), 2);
        assert_eq!(order.lines[0].item_code.as_str(), "A00001");
        assert_eq!(order.opportunity_id, o.id);
        assert_eq!(order.doc_due_date, "2026-12-01");
    }

    #[test]
    fn a_line_without_a_usable_product_code_is_a_mapping_error_naming_the_line() {
        let err = sales_order(
            &opp(vec![line(Some("A00001"), 1.0), line(None, 1.0)], None),
            CardCode::parse("C1").unwrap(),
            "2026-11-25",
        )
        .unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(!err.is_retryable());
        let err = sales_order(
            &opp(vec![line(Some("A' or 1 eq 1"), 1.0)], None),
            CardCode::parse("C1").unwrap(),
            "2026-11-25",
        )
        .unwrap_err();
        assert!(matches!(err, Error::Mapping(_)));
        assert!(sales_order(&opp(vec![], None), CardCode::parse("C1").unwrap(), "2026-11-25").is_err());
    }

    #[test]
    fn an_account_without_card_code_gets_a_stable_derived_code_only_when_allowed() {
        let o = opp(vec![line(Some("A00001"), 1.0)], None);
        let Customer::Create(first) = customer(&o, true, "SF").unwrap() else { panic!("expected a BP to create") };
        let Customer::Create(again) = customer(&o, true, "SF").unwrap() else { panic!("expected a BP to create") };
        assert_eq!(first.card_code, again.card_code);
        assert!(first.card_code.as_str().len() <= 15);
        assert!(first.card_code.as_str().starts_with("SF"));
        let err = customer(&o, false, "SF").unwrap_err();
        assert!(err.to_string().contains("auto-create is off"));
    }

    #[test]
    fn an_account_card_code_is_used_as_is() {
        let o = opp(vec![], Some("C20001"));
        assert_eq!(customer(&o, true, "SF").unwrap(), Customer::Existing(CardCode::parse("C20001").unwrap()));
    }
}
