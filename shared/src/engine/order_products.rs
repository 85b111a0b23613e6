//! F5's order products (issue #14 item 3): the lines of a sales order entered in SAP become the
//! products of its Salesforce Order, in the standard price book, once the Order's Id is known.
//!
//! The Object Reference's OrderItem sets `OrderId` and `PricebookEntryId` on create only, so a line
//! is never upserted: products that exist (found by `SAP_Line_Key__c`) are updated by Id, new lines
//! are created with their order and entry, and products whose line left the SAP order are deleted.
//! A product whose line now names another item is replaced (its entry cannot change). The order
//! takes the standard price book first where it has none (products need one). One query each for
//! the orders' products and the entries, and one call per kind of write, for the whole round.

use crate::domain::{Record, SalesforceId};
use crate::error::{Error, Result};
use crate::mapping::plan::{ITEM_CODE, LINES};
use crate::ports::{OrderProducts, RecordWrite, SalesforceWrites};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};

const LINE_KEY: &str = "SAP_Line_Key__c";

/// One order's products as the plan wrote them, with the Order's id once upserted.
pub struct PlacedOrder<'a> {
    pub record: &'a Record,
    pub order: Option<String>,
}

/// Writes the products of each order; a result per order: its id, or the first thing that failed.
pub async fn write_order_products(
    salesforce: &dyn SalesforceWrites,
    orders: &[PlacedOrder<'_>],
) -> Result<Vec<Result<String>>> {
    let pricebook = salesforce.standard_pricebook().await?;
    let ids: Vec<Option<SalesforceId>> =
        orders.iter().map(|o| o.order.as_deref().and_then(|id| SalesforceId::parse(id).ok())).collect();
    let known: Vec<SalesforceId> = ids.iter().flatten().cloned().collect();
    let current: HashMap<SalesforceId, OrderProducts> =
        salesforce.order_products(&known).await?.into_iter().map(|o| (o.order.clone(), o)).collect();
    let codes: Vec<String> = orders
        .iter()
        .flat_map(|o| lines(o.record))
        .filter_map(|l| l.get(ITEM_CODE).and_then(Value::as_str).map(str::to_string))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let entries = salesforce.entries_by_item_code(&pricebook, &codes).await?;

    let mut failed: Vec<Option<Error>> = orders.iter().map(|_| None).collect();
    let mut writes = Writes::default();
    for (n, (placed, id)) in orders.iter().zip(&ids).enumerate() {
        let planned = id
            .as_ref()
            .ok_or_else(|| Error::Mapping("the order was not written, so it has no products".into()))
            .and_then(|id| {
                current.get(id).ok_or_else(|| Error::Mapping(format!("order {} is not in Salesforce", id.as_str())))
            })
            .and_then(|order| plan_order(order, placed.record, &pricebook, &entries));
        match planned {
            Ok(plan) => writes.add(n, plan),
            Err(err) => failed[n] = Some(err),
        }
    }
    // Price books first: an order that could not take one gets no products.
    writes.send(salesforce, &mut failed).await?;
    Ok(failed
        .into_iter()
        .zip(orders)
        .map(|(err, placed)| match err {
            None => Ok(placed.order.clone().unwrap_or_default()),
            Some(err) => Err(err),
        })
        .collect())
}

fn lines(record: &Record) -> impl Iterator<Item = &Record> {
    record.get(LINES).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_object)
}

/// What one order needs: its price book set, products created, updated and deleted.
#[derive(Default)]
struct OrderPlan {
    set_pricebook: Option<Record>,
    creates: Vec<Record>,
    updates: Vec<Record>,
    deletes: Vec<SalesforceId>,
}

fn plan_order(
    order: &OrderProducts,
    record: &Record,
    pricebook: &SalesforceId,
    entries: &HashMap<String, SalesforceId>,
) -> Result<OrderPlan> {
    let mut plan = OrderPlan::default();
    match &order.pricebook {
        None => {
            plan.set_pricebook = Some(Record::from_iter([
                ("Id".to_string(), json!(order.order.as_str())),
                ("Pricebook2Id".to_string(), json!(pricebook.as_str())),
            ]))
        }
        Some(book) if book != pricebook => {
            return Err(Error::Mapping(format!(
                "Salesforce order {} uses price book {}, not the standard price book its products come from",
                order.order.as_str(),
                book.as_str()
            )));
        }
        Some(_) => {}
    }
    let mut kept = BTreeSet::new();
    for line in lines(record) {
        let mut product = line.clone();
        let code = product.remove(ITEM_CODE).and_then(|c| c.as_str().map(str::to_string)).unwrap_or_default();
        let key = product.get(LINE_KEY).and_then(Value::as_str).unwrap_or_default().to_string();
        let existing = order.products.iter().find(|p| p.line_key == key);
        match existing {
            Some(found) if found.item_code.as_deref() == Some(code.as_str()) => {
                kept.insert(found.id.clone());
                product.insert("Id".into(), json!(found.id.as_str()));
                plan.updates.push(product);
            }
            // New, or its line now names another item: the entry is fixed at creation.
            _ => {
                let entry = entries.get(&code).ok_or_else(|| {
                    Error::Mapping(format!(
                        "item {code} has no active entry in the standard price book (F7 writes one for an item \
                         with a price in list 1), so line {key} cannot become an order product"
                    ))
                })?;
                product.insert("OrderId".into(), json!(order.order.as_str()));
                product.insert("PricebookEntryId".into(), json!(entry.as_str()));
                plan.creates.push(product);
            }
        }
    }
    plan.deletes = order.products.iter().filter(|p| !kept.contains(&p.id)).map(|p| p.id.clone()).collect();
    Ok(plan)
}

/// The round's writes by kind, each remembering which order it belongs to. Replaced products are
/// deleted before their new ones are created (the line key is unique).
#[derive(Default)]
struct Writes {
    pricebooks: Vec<(usize, Record)>,
    deletes: Vec<(usize, SalesforceId)>,
    creates: Vec<(usize, Record)>,
    updates: Vec<(usize, Record)>,
}

impl Writes {
    fn add(&mut self, n: usize, plan: OrderPlan) {
        self.pricebooks.extend(plan.set_pricebook.map(|r| (n, r)));
        self.deletes.extend(plan.deletes.into_iter().map(|id| (n, id)));
        self.creates.extend(plan.creates.into_iter().map(|r| (n, r)));
        self.updates.extend(plan.updates.into_iter().map(|r| (n, r)));
    }

    async fn send(self, salesforce: &dyn SalesforceWrites, failed: &mut [Option<Error>]) -> Result<()> {
        let pricebooks = pending(self.pricebooks, failed);
        settle(salesforce.update_many("Order", &records(&pricebooks)).await, &pricebooks, failed)?;
        let deletes = pending(self.deletes, failed);
        let ids: Vec<SalesforceId> = deletes.iter().map(|(_, id)| id.clone()).collect();
        settle(salesforce.delete_many(&ids).await, &deletes, failed)?;
        let creates = pending(self.creates, failed);
        settle(salesforce.create_many("OrderItem", &records(&creates)).await, &creates, failed)?;
        let updates = pending(self.updates, failed);
        settle(salesforce.update_many("OrderItem", &records(&updates)).await, &updates, failed)
    }
}

/// The writes of orders nothing has failed for yet.
fn pending<T>(writes: Vec<(usize, T)>, failed: &[Option<Error>]) -> Vec<(usize, T)> {
    writes.into_iter().filter(|(n, _)| failed[*n].is_none()).collect()
}

fn records(writes: &[(usize, Record)]) -> Vec<Record> {
    writes.iter().map(|(_, r)| r.clone()).collect()
}

/// Notes each refused write's error on its order (the first one counts).
fn settle<T>(results: Result<Vec<RecordWrite>>, writes: &[(usize, T)], failed: &mut [Option<Error>]) -> Result<()> {
    if writes.is_empty() {
        return Ok(());
    }
    for (result, (n, _)) in results?.into_iter().zip(writes) {
        if let Err(err) = result {
            failed[*n].get_or_insert(err);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::OrderProduct;

    fn id(n: u32) -> SalesforceId {
        SalesforceId::parse(&format!("802SB{n:010}")).unwrap()
    }

    fn line(key: &str, item: &str, quantity: f64) -> Value {
        json!({LINE_KEY: key, ITEM_CODE: item, "Quantity": quantity, "UnitPrice": 10.0})
    }

    fn product(n: u32, key: &str, item: &str) -> OrderProduct {
        OrderProduct { id: id(n), line_key: key.into(), item_code: Some(item.into()) }
    }

    #[test]
    fn lines_update_their_products_replace_a_changed_item_create_new_ones_and_delete_the_removed() {
        let book = SalesforceId::parse("01sSB0000000001").unwrap();
        let entries: HashMap<String, SalesforceId> = [("A1", "01uSB0000000001"), ("A2", "01uSB0000000002")]
            .map(|(c, e)| (c.into(), SalesforceId::parse(e).unwrap()))
            .into();
        let order = OrderProducts {
            order: SalesforceId::parse("801SB0000000001").unwrap(),
            pricebook: Some(book.clone()),
            products: vec![
                product(1, "Orders/7/0", "A1"),
                product(2, "Orders/7/1", "A1"),
                product(3, "Orders/7/2", "A1"),
            ],
        };
        let record = Record::from_iter([(
            LINES.to_string(),
            json!([line("Orders/7/0", "A1", 5.0), line("Orders/7/1", "A2", 1.0), line("Orders/7/3", "A2", 2.0)]),
        )]);
        let plan = plan_order(&order, &record, &book, &entries).unwrap();
        assert!(plan.set_pricebook.is_none());
        assert_eq!(plan.updates.len(), 1);
        assert_eq!((plan.updates[0]["Id"].as_str(), &plan.updates[0]["Quantity"]), (Some(id(1).as_str()), &json!(5.0)));
        assert!(!plan.updates[0].contains_key(ITEM_CODE), "not a Salesforce field");
        let created: Vec<(&str, &str)> = plan
            .creates
            .iter()
            .map(|c| (c[LINE_KEY].as_str().unwrap(), c["PricebookEntryId"].as_str().unwrap()))
            .collect();
        assert_eq!(created, [("Orders/7/1", entries["A2"].as_str()), ("Orders/7/3", entries["A2"].as_str())]);
        assert_eq!(plan.deletes, [id(2), id(3)], "line 1's item changed, line 2 left the order");
    }

    #[test]
    fn an_order_takes_the_standard_price_book_but_one_in_another_fails_and_a_missing_entry_is_named() {
        let book = SalesforceId::parse("01sSB0000000001").unwrap();
        let mut order =
            OrderProducts { order: SalesforceId::parse("801SB0000000001").unwrap(), pricebook: None, products: vec![] };
        let record = Record::from_iter([(LINES.to_string(), json!([line("Orders/7/0", "A9", 1.0)]))]);
        let err = plan_order(&order, &record, &book, &HashMap::new()).err().unwrap();
        assert!(err.to_string().contains("item A9 has no active entry"), "{err}");
        let empty = Record::from_iter([(LINES.to_string(), json!([]))]);
        let plan = plan_order(&order, &empty, &book, &HashMap::new()).unwrap();
        assert_eq!(plan.set_pricebook.unwrap()["Pricebook2Id"], json!(book.as_str()));
        order.pricebook = Some(SalesforceId::parse("01sSB0000000002").unwrap());
        assert!(matches!(plan_order(&order, &empty, &book, &HashMap::new()), Err(Error::Mapping(_))));
    }
}
