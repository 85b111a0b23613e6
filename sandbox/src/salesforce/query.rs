//! Runs a parsed SOQL query against the store: field resolution, filtering, ordering, projection.

use super::error::{ApiError, clip};
use super::ids;
use super::schema::{self, FieldDef, FieldType, ObjectDef, relationship_name};
use super::soql::{Condition, FieldPath, Literal, Op, OrderKey, Query, SelectItem, like};
use super::store::{Record, Store};
use super::values::{compare, parse_datetime};
use serde_json::{Map, Value, json};
use std::cmp::Ordering;
use std::collections::BTreeSet;

/// The rows of a query before paging, and `totalSize`.
#[derive(Debug)]
pub struct QueryResult {
    pub total_size: usize,
    pub records: Vec<Value>,
}

/// A field path resolved against the catalogue.
/// One step up a lookup: the lookup field on the current object and the object it points to.
type Hop = (&'static FieldDef, &'static ObjectDef);

#[derive(Debug, Clone, Copy)]
enum Column {
    Own(&'static FieldDef),
    /// `Account.Name`: the lookup field on this object, the parent object, the parent's field.
    Parent {
        lookup: &'static FieldDef,
        parent: &'static ObjectDef,
        field: &'static FieldDef,
    },
    /// `Opportunity.Account.Type`: two to five lookups, then the last parent's field (SOQL follows
    /// up to five relationships; SOQL and SOSL Reference, "Relationship Query Limits").
    Path {
        hops: [Option<Hop>; MAX_HOPS],
        field: &'static FieldDef,
    },
}

impl Column {
    fn field(&self) -> &'static FieldDef {
        match self {
            Column::Own(f) | Column::Parent { field: f, .. } | Column::Path { field: f, .. } => f,
        }
    }

    fn value<'a>(&self, store: &'a Store, record: &'a Record) -> Option<&'a Value> {
        match self {
            Column::Own(f) => record.get(f.name),
            Column::Parent { lookup, parent, field } => {
                let parent_id = record.get(lookup.name)?.as_str()?;
                store.get(parent.name, parent_id)?.get(field.name)
            }
            Column::Path { hops, field } => {
                let last = hops.iter().flatten().try_fold(record, |current, (lookup, parent)| {
                    store.get(parent.name, current.get(lookup.name)?.as_str()?)
                })?;
                last.get(field.name)
            }
        }
    }
}

enum Projection {
    Column(Column),
    Child { name: &'static str, child: &'static ObjectDef, link: &'static str, query: Box<Compiled> },
}

struct Compiled {
    object: &'static ObjectDef,
    projections: Vec<Projection>,
    count_only: bool,
    filter: Option<Filter>,
    order_by: Vec<(Column, bool, bool)>,
    limit: Option<usize>,
    offset: usize,
}

enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Compare { column: Column, op: Op, value: Value },
    In { column: Column, values: Vec<Value>, negated: bool },
}

/// Runs `query`; `version` (`v63.0`) goes into the records' `attributes.url`. With `deleted`
/// (`queryAll`), the recycle bin's records are candidates too (`IsDeleted = true`).
pub fn run(store: &Store, query: &Query, version: &str, deleted: bool) -> Result<QueryResult, ApiError> {
    let compiled = compile_query(query)?;
    let object = compiled.object;
    let mut candidates: Vec<_> = match compiled.filter.as_ref().and_then(|f| candidates(store, object, f)) {
        Some(ids) => ids.into_iter().filter_map(|id| store.get(object.name, id)).collect(),
        None => store.all(object.name).collect(),
    };
    if deleted {
        candidates.extend(store.deleted(object.name));
    }
    // Records not shared with the user are not there for it.
    let shared =
        |record: &&Record| !store.security.is_record_hidden(record.get("Id").and_then(Value::as_str).unwrap_or(""));
    let candidates = candidates.into_iter().filter(shared).collect();
    Ok(answer(store, &compiled, candidates, version))
}

/// Refuses a query selecting a field of its object that the user cannot see, with the answer a
/// field that does not exist gets (field-level security hides it from the API entirely).
pub fn refuse_hidden_fields(store: &Store, query: &Query) -> Result<(), ApiError> {
    let Some(object) = schema::object(&query.from) else { return Ok(()) };
    for item in &query.select {
        if let SelectItem::Field(path) = item
            && let [name] = path.as_slice()
            && store.security.is_hidden(object.name, name)
        {
            return Err(ApiError::new(
                400,
                "INVALID_FIELD",
                format!("No such column '{}' on entity '{}'.", clip(name), object.name),
            ));
        }
    }
    Ok(())
}

/// Checks a top-level query against the catalogue.
fn compile_query(query: &Query) -> Result<Compiled, ApiError> {
    let object = schema::object(&query.from).ok_or_else(|| {
        ApiError::new(
            400,
            "INVALID_TYPE",
            format!(
                "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append \
                 the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
                clip(&query.from)
            ),
        )
    })?;
    compile(object, query, true)
}

/// The result of `compiled` over `candidates` (records of its object in creation order).
fn answer(store: &Store, compiled: &Compiled, candidates: Vec<&Record>, version: &str) -> QueryResult {
    let rows = select_rows(store, compiled, candidates);
    if compiled.count_only {
        return QueryResult { total_size: rows.len(), records: Vec::new() };
    }
    let records: Vec<Value> = rows.iter().map(|r| project(store, compiled, r, version)).collect();
    QueryResult { total_size: records.len(), records }
}

fn compile(object: &'static ObjectDef, query: &Query, top_level: bool) -> Result<Compiled, ApiError> {
    let mut projections = Vec::new();
    let mut count_only = false;
    for item in &query.select {
        match item {
            SelectItem::Field(path) => projections.push(Projection::Column(resolve(object, path)?)),
            SelectItem::Count if top_level && query.select.len() == 1 => count_only = true,
            SelectItem::Count => return Err(malformed("COUNT() must be the only item of a top-level SELECT")),
            SelectItem::SubQuery(sub) if top_level => {
                let relationship = object.child(&sub.from).ok_or_else(|| {
                    ApiError::new(
                        400,
                        "INVALID_TYPE",
                        format!(
                            "Didn't understand relationship '{}' in FROM part of query call. If you are attempting to \
                             use a custom relationship, be sure to append the '__r' after the custom relationship name.",
                            clip(&sub.from)
                        ),
                    )
                })?;
                let child =
                    schema::object(relationship.child_object).ok_or_else(|| malformed("unknown child object"))?;
                projections.push(Projection::Child {
                    name: relationship.name,
                    child,
                    link: relationship.child_field,
                    query: Box::new(compile(child, sub, false)?),
                });
            }
            SelectItem::SubQuery(_) => return Err(malformed("nested subqueries are not supported")),
        }
    }
    let filter = query.filter.as_ref().map(|c| compile_filter(object, c)).transpose()?;
    let order_by = query
        .order_by
        .iter()
        .map(|OrderKey { field, descending, nulls_last }| Ok((resolve(object, field)?, *descending, *nulls_last)))
        .collect::<Result<_, ApiError>>()?;
    Ok(Compiled {
        object,
        projections,
        count_only,
        filter,
        order_by,
        limit: query.limit,
        offset: query.offset.unwrap_or(0),
    })
}

fn malformed(message: &str) -> ApiError {
    ApiError::new(400, "MALFORMED_QUERY", message)
}

/// The most relationships one field path may follow.
const MAX_HOPS: usize = 5;

fn unknown_relationship(relationship: &str) -> ApiError {
    ApiError::new(
        400,
        "INVALID_FIELD",
        format!(
            "Didn't understand relationship '{}' in field path. If you are attempting to use a custom \
             relationship, be sure to append the '__r' after the custom relationship name.",
            clip(relationship)
        ),
    )
}

fn resolve(object: &'static ObjectDef, path: &FieldPath) -> Result<Column, ApiError> {
    let no_column = |name: &str, on: &str| {
        ApiError::new(
            400,
            "INVALID_FIELD",
            format!(
                "No such column '{}' on entity '{on}'. If you are attempting to use a custom field, be sure to append \
                 the '__c' after the custom field name. Please reference your WSDL or the describe call for the \
                 appropriate names.",
                clip(name)
            ),
        )
    };
    match path.as_slice() {
        [name] => object.field(name).map(Column::Own).ok_or_else(|| no_column(name, object.name)),
        [relationship, name] => {
            let (lookup, parent) =
                object.relationship(relationship).ok_or_else(|| unknown_relationship(relationship))?;
            let field = parent.field(name).ok_or_else(|| no_column(name, parent.name))?;
            Ok(Column::Parent { lookup, parent, field })
        }
        [relationships @ .., name] if relationships.len() <= MAX_HOPS => {
            let mut hops: [Option<Hop>; MAX_HOPS] = [None; MAX_HOPS];
            let mut current = object;
            for (hop, relationship) in hops.iter_mut().zip(relationships) {
                let (lookup, parent) =
                    current.relationship(relationship).ok_or_else(|| unknown_relationship(relationship))?;
                *hop = Some((lookup, parent));
                current = parent;
            }
            let field = current.field(name).ok_or_else(|| no_column(name, current.name))?;
            Ok(Column::Path { hops, field })
        }
        _ => {
            Err(malformed(&format!("a field path follows at most {MAX_HOPS} relationships: {}", clip(&path.join(".")))))
        }
    }
}

fn compile_filter(object: &'static ObjectDef, condition: &Condition) -> Result<Filter, ApiError> {
    Ok(match condition {
        Condition::And(a, b) => Filter::And(Box::new(compile_filter(object, a)?), Box::new(compile_filter(object, b)?)),
        Condition::Or(a, b) => Filter::Or(Box::new(compile_filter(object, a)?), Box::new(compile_filter(object, b)?)),
        Condition::Not(a) => Filter::Not(Box::new(compile_filter(object, a)?)),
        Condition::Compare { field, op, value } => {
            let column = resolve(object, field)?;
            if *op == Op::Like && !matches!(column.field().ty, FieldType::Text) {
                return Err(ApiError::new(
                    400,
                    "INVALID_QUERY_FILTER_OPERATOR",
                    format!("invalid operator on field '{}': LIKE works on text fields only", column.field().name),
                ));
            }
            Filter::Compare { column, op: *op, value: literal_for(column.field(), value)? }
        }
        Condition::In { field, values, negated } => {
            let column = resolve(object, field)?;
            let values = values.iter().map(|v| literal_for(column.field(), v)).collect::<Result<_, _>>()?;
            Filter::In { column, values, negated: *negated }
        }
    })
}

/// Checks a literal against the field's type (as Salesforce does) and converts it to a stored value.
fn literal_for(field: &FieldDef, literal: &Literal) -> Result<Value, ApiError> {
    let must_be = |ty: &str, quoted: bool| {
        ApiError::new(
            400,
            "INVALID_FIELD",
            format!(
                "value of filter criterion for field '{}' must be of type {ty} and should {}be enclosed in quotes",
                field.name,
                if quoted { "" } else { "not " }
            ),
        )
    };
    match (field.ty, literal) {
        (_, Literal::Null) => Ok(Value::Null),
        (FieldType::Id | FieldType::Reference(_), Literal::Text(raw)) => {
            ids::normalize(raw).map(Value::String).ok_or_else(|| {
                ApiError::new(400, "INVALID_QUERY_FILTER_OPERATOR", format!("invalid ID field: {}", clip(raw)))
            })
        }
        (FieldType::Text, Literal::Text(s)) => Ok(json!(s)),
        (FieldType::Text | FieldType::Id | FieldType::Reference(_), _) => Err(must_be("string", true)),
        (FieldType::Number, Literal::Number(n)) => Ok(json!(n)),
        (FieldType::Number, _) => Err(must_be("double", false)),
        (FieldType::Boolean, Literal::Bool(b)) => Ok(json!(b)),
        (FieldType::Boolean, _) => Err(must_be("boolean", false)),
        (FieldType::Date, Literal::Date(d)) => Ok(json!(d)),
        (FieldType::Date, _) => Err(must_be("date", false)),
        (FieldType::DateTime, Literal::DateTime(d)) if parse_datetime(d).is_some() => Ok(json!(d)),
        (FieldType::DateTime, _) => Err(must_be("dateTime", false)),
    }
}

/// Ids (in creation order) of the records that may pass `filter`, found through indexes: `=` and `IN`
/// on Id, external ids, unique fields and lookups, also through a parent (`Product2.SAP_ItemCode__c`).
/// A superset of the matches (the filter still runs on each), or `None` when only a scan can tell.
fn candidates<'a>(store: &'a Store, object: &ObjectDef, filter: &Filter) -> Option<BTreeSet<&'a str>> {
    let (column, values) = match filter {
        Filter::And(a, b) => {
            return match (candidates(store, object, a), candidates(store, object, b)) {
                (Some(x), Some(y)) => Some(if x.len() <= y.len() { x } else { y }),
                (x, y) => x.or(y),
            };
        }
        Filter::Or(a, b) => {
            let mut ids = candidates(store, object, a)?;
            ids.extend(candidates(store, object, b)?);
            return Some(ids);
        }
        Filter::Compare { column, op: Op::Eq, value } => (column, std::slice::from_ref(value)),
        Filter::In { column, values, negated: false } => (column, values.as_slice()),
        _ => return None,
    };
    match column {
        Column::Own(field) => store.ids_where(object, field, values),
        Column::Parent { lookup, parent, field } => {
            let parents: Vec<Value> = store.ids_where(parent, field, values)?.into_iter().map(|id| json!(id)).collect();
            store.ids_where(object, lookup, &parents)
        }
        // Longer paths are filtered row by row.
        Column::Path { .. } => None,
    }
}

fn select_rows<'a>(store: &'a Store, compiled: &Compiled, candidates: Vec<&'a Record>) -> Vec<&'a Record> {
    let mut rows: Vec<&Record> =
        candidates.into_iter().filter(|r| compiled.filter.as_ref().is_none_or(|f| matches(store, f, r))).collect();
    if !compiled.order_by.is_empty() {
        rows.sort_by(|a, b| {
            compiled
                .order_by
                .iter()
                .map(|(column, descending, nulls_last)| order(store, column, *descending, *nulls_last, a, b))
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        });
    }
    let limit = compiled.limit.unwrap_or(usize::MAX);
    rows.into_iter().skip(compiled.offset).take(limit).collect()
}

fn present<'a>(store: &'a Store, column: &Column, record: &'a Record) -> Option<&'a Value> {
    column.value(store, record).filter(|v| !v.is_null())
}

fn order(store: &Store, column: &Column, descending: bool, nulls_last: bool, a: &Record, b: &Record) -> Ordering {
    match (present(store, column, a), present(store, column, b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => {
            if nulls_last {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Some(_), None) => {
            if nulls_last {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (Some(x), Some(y)) => {
            let ordering = compare(column.field().ty, x, y).unwrap_or(Ordering::Equal);
            if descending { ordering.reverse() } else { ordering }
        }
    }
}

fn matches(store: &Store, filter: &Filter, record: &Record) -> bool {
    match filter {
        Filter::And(a, b) => matches(store, a, record) && matches(store, b, record),
        Filter::Or(a, b) => matches(store, a, record) || matches(store, b, record),
        Filter::Not(a) => !matches(store, a, record),
        Filter::Compare { column, op, value } => {
            let actual = present(store, column, record);
            let ty = column.field().ty;
            match (op, actual, value.is_null()) {
                (Op::Eq, None, true) => true,
                (Op::Ne, None, true) => false,
                (Op::Eq, _, true) | (Op::Eq, None, _) => false,
                (Op::Ne, _, true) | (Op::Ne, None, _) => true,
                (_, None, _) | (_, _, true) => false,
                (Op::Like, Some(actual), false) => {
                    like(value.as_str().unwrap_or_default(), actual.as_str().unwrap_or_default())
                }
                (op, Some(actual), false) => {
                    let ordering = compare(ty, actual, value);
                    match op {
                        Op::Eq => ordering == Some(Ordering::Equal),
                        Op::Ne => ordering != Some(Ordering::Equal),
                        Op::Lt => ordering == Some(Ordering::Less),
                        Op::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
                        Op::Gt => ordering == Some(Ordering::Greater),
                        Op::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
                        Op::Like => false,
                    }
                }
            }
        }
        Filter::In { column, values, negated } => {
            let actual = present(store, column, record);
            let found = values.iter().any(|v| match (actual, v.is_null()) {
                (None, true) => true,
                (Some(a), false) => compare(column.field().ty, a, v) == Some(Ordering::Equal),
                _ => false,
            });
            found != *negated
        }
    }
}

/// `{"attributes":{"type","url"}}` for a record of `object`.
pub fn attributes(object: &str, id: &str, version: &str) -> Value {
    json!({"type": object, "url": format!("/services/data/{version}/sobjects/{object}/{id}")})
}

/// Writes `hops…field` of `record` into `out` as nested parent records (each with its attributes),
/// or null at the first empty lookup, as Salesforce answers relationship paths.
fn insert_path(
    store: &Store,
    out: &mut Map<String, Value>,
    record: &Record,
    hops: &[Hop],
    field: &FieldDef,
    version: &str,
) {
    let Some(((lookup, parent), rest)) = hops.split_first() else {
        out.insert(field.name.into(), record.get(field.name).cloned().unwrap_or(Value::Null));
        return;
    };
    let key = relationship_name(lookup.name).to_string();
    let Some(parent_record) = record.get(lookup.name).and_then(Value::as_str).and_then(|p| store.get(parent.name, p))
    else {
        out.insert(key, Value::Null);
        return;
    };
    let entry = out.entry(key).or_insert_with(|| {
        let parent_id = parent_record.get("Id").and_then(Value::as_str).unwrap_or_default();
        json!({"attributes": attributes(parent.name, parent_id, version)})
    });
    if let Value::Object(nested) = entry {
        insert_path(store, nested, parent_record, rest, field, version);
    }
}

fn project(store: &Store, compiled: &Compiled, record: &Record, version: &str) -> Value {
    let id = record.get("Id").and_then(Value::as_str).unwrap_or_default();
    let mut out = Map::new();
    out.insert("attributes".into(), attributes(compiled.object.name, id, version));
    for projection in &compiled.projections {
        match projection {
            Projection::Column(Column::Own(field)) => {
                out.insert(field.name.into(), record.get(field.name).cloned().unwrap_or(Value::Null));
            }
            Projection::Column(Column::Parent { lookup, parent, field }) => {
                insert_path(store, &mut out, record, &[(*lookup, *parent)], field, version);
            }
            Projection::Column(Column::Path { hops, field }) => {
                let hops: Vec<Hop> = hops.iter().flatten().copied().collect();
                insert_path(store, &mut out, record, &hops, field, version);
            }
            Projection::Child { name, child, link, query } => {
                let rows = select_rows(store, query, store.children(child, link, id));
                // Salesforce answers null, not an empty list, for a relationship without children.
                let value = if rows.is_empty() {
                    Value::Null
                } else {
                    let records: Vec<Value> = rows.iter().map(|r| project(store, query, r, version)).collect();
                    json!({"totalSize": records.len(), "done": true, "records": records})
                };
                out.insert((*name).into(), value);
            }
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::super::soql::parse;
    use super::super::store::WriteContext;
    use super::*;

    fn ctx() -> WriteContext {
        WriteContext { change_origin: String::new(), transaction_key: "t".into(), now_ms: 1_795_600_800_000 }
    }

    fn create(store: &mut Store, object: &str, body: Value) -> String {
        store.create(schema::object(object).unwrap(), body.as_object().cloned().unwrap(), &ctx()).unwrap()
    }

    #[test]
    fn a_child_query_follows_two_relationships_and_nests_the_parents_as_salesforce_does() {
        let mut store = Store::default();
        let a = create(&mut store, "Account", json!({"Name": "Acme", "Type": "Customer"}));
        let o = create(
            &mut store,
            "Opportunity",
            json!({"Name": "Deal", "AccountId": a, "StageName": "Prospecting", "CloseDate": "2026-11-25"}),
        );
        let q = parse(
            "SELECT Id, (SELECT Opportunity.Account.Type, Opportunity.Name FROM OpportunityLineItems) FROM Opportunity",
        )
        .unwrap();
        assert!(run(&store, &q, "v63.0", false).is_ok());
        let q = parse(&format!("SELECT Name, Account.Type FROM Opportunity WHERE Id = '{o}'")).unwrap();
        assert_eq!(run(&store, &q, "v63.0", false).unwrap().records[0]["Account"]["Type"], "Customer");
        let line_query = parse("SELECT Opportunity.Account.Type FROM Opportunity WHERE Id = 'x'").unwrap();
        assert!(
            run(&store, &line_query, "v63.0", false)
                .unwrap_err()
                .message
                .contains("Didn't understand relationship 'Opportunity'")
        );
        let deep = parse("SELECT Account.Owner.Manager.Manager.Manager.Manager.Name FROM Opportunity").unwrap();
        assert!(run(&store, &deep, "v63.0", false).unwrap_err().message.contains("at most 5 relationships"));
    }

    fn sample() -> (Store, Vec<String>) {
        let mut store = Store::default();
        let a = create(&mut store, "Account", json!({"Name": "Contoso Ltd", "SAP_CardCode__c": "C20001"}));
        let b = create(&mut store, "Account", json!({"Name": "northwind traders", "SAP_CardCode__c": "C20000"}));
        let c = create(&mut store, "Account", json!({"Name": "O'Brien \\ Sons"}));
        let o = create(
            &mut store,
            "Opportunity",
            json!({"Name": "Deal", "AccountId": a, "StageName": "Closed Won", "CloseDate": "2026-11-25", "Amount": 10}),
        );
        (store, vec![a, b, c, o])
    }

    fn run_ok(store: &Store, soql: &str) -> QueryResult {
        run(store, &parse(soql).unwrap(), "v63.0", false).unwrap()
    }

    fn names(result: &QueryResult) -> Vec<String> {
        result.records.iter().map(|r| r["Name"].as_str().unwrap_or("<null>").to_string()).collect()
    }

    #[test]
    fn where_order_limit_and_offset_select_the_right_rows() {
        let (store, _) = sample();
        let r = run_ok(&store, "SELECT Name FROM Account WHERE SAP_CardCode__c != null ORDER BY Name");
        assert_eq!(names(&r), vec!["Contoso Ltd", "northwind traders"], "text compares case-insensitively");
        let r = run_ok(&store, "SELECT Name FROM Account ORDER BY SAP_CardCode__c DESC LIMIT 2");
        assert_eq!(names(&r), vec!["Contoso Ltd", "northwind traders"], "nulls last when descending");
        let r = run_ok(&store, "SELECT Name FROM Account ORDER BY Name LIMIT 1 OFFSET 1");
        assert_eq!(names(&r), vec!["northwind traders"]);
        let r = run_ok(&store, "SELECT Name FROM Account WHERE Name LIKE 'NORTH%' OR (Name = 'x' AND Name = 'y')");
        assert_eq!(names(&r), vec!["northwind traders"]);
        let r = run_ok(
            &store,
            "SELECT Name FROM Account WHERE SAP_CardCode__c NOT IN ('C20000') AND NOT Name = 'Contoso Ltd'",
        );
        assert_eq!(names(&r), vec!["O'Brien \\ Sons"], "NOT IN keeps nulls");
        let r = run_ok(&store, r"SELECT Name FROM Account WHERE Name = 'O\'Brien \\ Sons'");
        assert_eq!(r.total_size, 1);
        assert_eq!(run_ok(&store, "SELECT COUNT() FROM Account").total_size, 3);
    }

    #[test]
    fn relationship_fields_nest_as_objects_and_missing_parents_are_null() {
        let (mut store, ids) = sample();
        create(
            &mut store,
            "Opportunity",
            json!({"Name": "Orphan", "StageName": "Prospecting", "CloseDate": "2026-11-25"}),
        );
        let r = run_ok(&store, "SELECT Name, Account.Name, Account.SAP_CardCode__c FROM Opportunity ORDER BY Name");
        assert_eq!(r.records[0]["Account"]["SAP_CardCode__c"], "C20001");
        assert_eq!(r.records[0]["Account"]["attributes"]["type"], "Account");
        assert_eq!(r.records[0]["attributes"]["url"], format!("/services/data/v63.0/sobjects/Opportunity/{}", ids[3]));
        assert_eq!(r.records[1]["Account"], Value::Null);
        let r = run_ok(
            &store,
            "SELECT Name FROM Opportunity WHERE Account.SAP_CardCode__c = 'C20001' AND IsWon = true AND Amount >= 10",
        );
        assert_eq!(names(&r), vec!["Deal"]);
    }

    #[test]
    fn eq_and_in_on_indexed_fields_read_only_the_indexed_records_and_match_a_scan() {
        let (mut store, ids) = sample();
        let product = create(&mut store, "Product2", json!({"Name": "Pump", "SAP_ItemCode__c": "A00001"}));
        let other = create(&mut store, "Product2", json!({"Name": "Valve", "SAP_ItemCode__c": "a00002"}));
        let unrelated = create(&mut store, "Product2", json!({"Name": "Gear", "SAP_ItemCode__c": "A00009"}));
        let book = create(&mut store, "Pricebook2", json!({"Name": "Standard"}));
        for (p, price) in [(&product, 10), (&other, 20), (&product, 30), (&unrelated, 40)] {
            create(&mut store, "PricebookEntry", json!({"Pricebook2Id": book, "Product2Id": p, "UnitPrice": price}));
        }
        let invoice = create(&mut store, "SAP_Invoice__c", json!({"SAP_DocEntry__c": 7, "Account__c": ids[0]}));
        create(&mut store, "SAP_Invoice__c", json!({"SAP_DocEntry__c": 8, "Account__c": ids[0]}));
        let queries = [
            "SELECT Id FROM Product2 WHERE SAP_ItemCode__c IN ('a00001', 'A00002', 'A00003')".to_string(),
            format!("SELECT UnitPrice FROM PricebookEntry WHERE Product2Id IN ('{product}', '{}')", &other[..15]),
            "SELECT UnitPrice FROM PricebookEntry WHERE Product2.SAP_ItemCode__c IN ('A00001') ORDER BY UnitPrice DESC"
                .to_string(),
            format!("SELECT Name FROM Account WHERE Id = '{}' OR SAP_CardCode__c = 'c20000'", ids[2]),
            "SELECT Name FROM Account WHERE SAP_CardCode__c IN ('C20000', 'C20001') AND Name LIKE 'north%'".to_string(),
            "SELECT Id FROM SAP_Invoice__c WHERE SAP_DocEntry__c = 7.0 AND Account__r.SAP_CardCode__c = 'C20001'"
                .to_string(),
            format!(
                "SELECT Name, (SELECT Id FROM SAP_Invoices__r) FROM Account WHERE Id IN ('{}', '{}')",
                ids[0], ids[1]
            ),
        ];
        for soql in &queries {
            let parsed = parse(soql).unwrap();
            let compiled = compile_query(&parsed).unwrap();
            let found = candidates(&store, compiled.object, compiled.filter.as_ref().unwrap());
            assert!(found.is_some_and(|ids| ids.len() < store.all(compiled.object.name).count()), "{soql}");
            let scanned = answer(&store, &compiled, store.all(compiled.object.name).collect(), "v63.0");
            let indexed = run(&store, &parsed, "v63.0", false).unwrap();
            assert!(indexed.total_size > 0, "{soql}");
            assert_eq!(indexed.records, scanned.records, "{soql}");
        }
        let r =
            run_ok(&store, &format!("SELECT (SELECT Id FROM SAP_Invoices__r) FROM Account WHERE Id = '{}'", ids[0]));
        assert_eq!(r.records[0]["SAP_Invoices__r"]["records"][0]["Id"], json!(invoice));
        let none = "SELECT Id FROM Account WHERE SAP_CardCode__c IN (null, 'C20000')";
        let compiled = compile_query(&parse(none).unwrap()).unwrap();
        assert!(candidates(&store, compiled.object, compiled.filter.as_ref().unwrap()).is_none(), "null needs a scan");
    }

    #[test]
    fn ids_in_filters_match_in_15_and_18_character_form() {
        let (store, ids) = sample();
        let short = &ids[0][..15];
        let r = run_ok(&store, &format!("SELECT Id FROM Account WHERE Id IN ('{short}', '{}')", ids[1]));
        assert_eq!(r.total_size, 2);
        let err = run(&store, &parse("SELECT Id FROM Account WHERE Id = '001x'").unwrap(), "v63.0", false).unwrap_err();
        assert_eq!(err.code, "INVALID_QUERY_FILTER_OPERATOR");
    }

    #[test]
    fn unknown_fields_objects_and_mistyped_literals_are_reported_like_salesforce() {
        let (store, _) = sample();
        let err_of = |soql: &str| run(&store, &parse(soql).unwrap(), "v63.0", false).unwrap_err();
        let err = err_of("SELECT Id, XName FROM Account");
        assert_eq!((err.status, err.code.as_str()), (400, "INVALID_FIELD"));
        assert!(err.message.starts_with("No such column 'XName' on entity 'Account'"), "{}", err.message);
        assert_eq!(err_of("SELECT Id FROM Acount").code, "INVALID_TYPE");
        assert_eq!(err_of("SELECT Id, Owner.Name FROM Account").code, "INVALID_FIELD");
        assert_eq!(err_of("SELECT Id, (SELECT Id FROM Lines) FROM Opportunity").code, "INVALID_TYPE");
        assert_eq!(err_of("SELECT Id FROM Opportunity WHERE Amount = '5'").code, "INVALID_FIELD");
        assert_eq!(err_of("SELECT Id FROM Account WHERE Name = 5").code, "INVALID_FIELD");
        assert_eq!(err_of("SELECT Id, COUNT() FROM Account").code, "MALFORMED_QUERY");
    }
}
