//! The in-memory org: records per object, validated writes, derived fields, and the change log.

use super::error::{ApiError, clip};
use super::ids;
use super::schema::{self, Access, FieldDef, FieldType, ObjectDef};
use super::values::{coerce, format_datetime, index_key};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One record: field name → value, system fields included.
pub type Record = Map<String, Value>;

/// One committed change, the raw material for Change Data Capture events.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeRecord {
    /// `Opportunity`, `Account`, ...
    pub entity: String,
    pub record_id: String,
    /// `CREATE`, `UPDATE` or `DELETE`.
    pub change_type: String,
    /// Fields whose value changed (with `LastModifiedDate`) on UPDATE; empty on CREATE and DELETE, as in CDC.
    pub changed_fields: Vec<String>,
    /// The new values: every non-null field on CREATE, the changed fields on UPDATE.
    pub values: Map<String, Value>,
    /// `com/salesforce/api/rest/63.0;client=<tag>` when the writer sent `Sforce-Call-Options`, else empty.
    pub change_origin: String,
    /// Groups the changes of one request.
    pub transaction_key: String,
    /// Position inside the transaction, from 1.
    pub sequence_number: u32,
    /// Epoch milliseconds.
    pub commit_timestamp: i64,
    /// Increases with every change.
    pub commit_number: u64,
}

/// Who writes, and when: one per request (or helper call).
#[derive(Debug, Clone)]
pub struct WriteContext {
    pub change_origin: String,
    pub transaction_key: String,
    pub now_ms: i64,
}

/// How an upsert by external id resolves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpsertTarget {
    New,
    Existing(String),
    Ambiguous(Vec<String>),
}

/// A validation rule as an org admin might add one: a record whose `field` equals `equals` is not saved.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ValidationRule {
    pub object: &'static str,
    pub field: &'static str,
    /// The value as the field stores it.
    pub equals: Value,
    pub message: String,
}

impl ValidationRule {
    /// A rule on `object.field`; `equals` is read as a value of that field.
    pub fn new(object: &str, field: &str, equals: &Value, message: &str) -> Result<Self, ApiError> {
        let def = schema::object(object).ok_or_else(|| {
            ApiError::new(400, "INVALID_TYPE", format!("sObject type '{}' is not supported", clip(object)))
        })?;
        let field = def.field(field).ok_or_else(|| {
            ApiError::new(
                400,
                "INVALID_FIELD",
                format!("No such column '{}' on sobject of type {}", clip(field), def.name),
            )
        })?;
        let equals = coerce(def.name, field, equals.clone())?;
        Ok(Self { object: def.name, field: field.name, equals, message: message.to_string() })
    }
}

/// A record-triggered flow as an org admin might add one: every update of an `object` record also
/// sets `field` to `value` in the same transaction (issue #12 item 8: such a change carries the
/// writer's `changeOrigin` although the writer never sent `field`).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldFlow {
    pub object: &'static str,
    pub field: &'static str,
    /// The value as the field stores it.
    pub value: Value,
}

impl FieldFlow {
    /// A flow on `object.field`; `value` is read as a value of that field.
    pub fn new(object: &str, field: &str, value: &Value) -> Result<Self, ApiError> {
        let rule = ValidationRule::new(object, field, value, "")?;
        Ok(Self { object: rule.object, field: rule.field, value: rule.equals })
    }
}

/// Record ids per (object, indexed field) and index entry (see [`FieldDef::indexed`] and [`index_key`]).
type Index = HashMap<(&'static str, &'static str), HashMap<String, BTreeSet<String>>>;

/// What [`Store::rollback`] returns to.
#[derive(Debug)]
pub struct Savepoint {
    next_id: u64,
    next_case_number: u64,
    changes: usize,
    commit_number: u64,
    sequence: u32,
    current_transaction: String,
}

/// All records of the org, with the indexes that keep lookups by external id and by parent fast.
#[derive(Debug, Default)]
pub struct Store {
    tables: BTreeMap<&'static str, BTreeMap<String, Record>>,
    /// What the integration user may see and edit (all fields unless a test restricts some).
    pub security: super::describe::FieldSecurity,
    index: Index,
    rules: Vec<ValidationRule>,
    flows: Vec<FieldFlow>,
    /// While a savepoint is open: each written record as it was before the write, oldest first.
    journal: Option<Vec<(&'static ObjectDef, String, Option<Record>)>>,
    next_id: u64,
    next_case_number: u64,
    changes: Vec<ChangeRecord>,
    commit_number: u64,
    sequence: u32,
    current_transaction: String,
    /// Deleted records (`IsDeleted` true, `MasterRecordId` for the losers of a merge): seen by
    /// `queryAll` only, restored by an undelete.
    recycle_bin: BTreeMap<&'static str, BTreeMap<String, Record>>,
}

impl Store {
    /// Deleted records of `object` (the recycle bin), as `queryAll` sees them.
    pub fn deleted(&self, object: &str) -> impl Iterator<Item = &Record> {
        self.recycle_bin.get(object).into_iter().flat_map(|t| t.values())
    }

    /// The record `id` of `object`.
    pub fn get(&self, object: &str, id: &str) -> Option<&Record> {
        self.tables.get(object)?.get(id)
    }

    /// Every record of `object`, in creation order.
    pub fn all(&self, object: &str) -> impl Iterator<Item = &Record> {
        self.tables.get(object).into_iter().flat_map(|t| t.values())
    }

    /// Ids of the records whose `field` equals `value` the way external ids match (text
    /// case-insensitively, numbers by value), in creation order.
    pub fn find_by(&self, object: &str, field: &str, value: &str) -> Vec<String> {
        let Some(def) = schema::object(object) else { return Vec::new() };
        let Some(field) = def.field(field) else { return Vec::new() };
        let number = value.trim().parse::<f64>().ok();
        let key = match (field.ty, number.and_then(serde_json::Number::from_f64)) {
            (FieldType::Number, Some(n)) => index_key(&Value::Number(n)),
            (FieldType::Number, None) => return Vec::new(),
            _ => Some(value.to_lowercase()),
        };
        let same = |record: &Record| match (field.ty, record.get(field.name)) {
            (FieldType::Number, Some(stored)) => number == stored.as_f64(),
            (_, Some(stored)) => stored.as_str().is_some_and(|v| v.eq_ignore_ascii_case(value)),
            (_, None) => false,
        };
        let Some(table) = self.tables.get(def.name) else { return Vec::new() };
        if !field.indexed() {
            return table.iter().filter(|(_, r)| same(r)).map(|(id, _)| id.clone()).collect();
        }
        let ids = key.and_then(|key| self.index.get(&(def.name, field.name))?.get(&key));
        ids.into_iter().flatten().filter(|id| table.get(id.as_str()).is_some_and(same)).cloned().collect()
    }

    /// Ids (in creation order) of the records of `def` whose `field` may equal one of `values`, found
    /// through an index: a superset of the matches, or `None` when `field` has no index or a value is null.
    pub fn ids_where(&self, def: &ObjectDef, field: &FieldDef, values: &[Value]) -> Option<BTreeSet<&str>> {
        let table = self.tables.get(def.name);
        if field.ty == FieldType::Id {
            let found = values.iter().filter_map(|v| Some(table?.get_key_value(v.as_str()?)?.0.as_str()));
            return Some(found.collect());
        }
        if !field.indexed() || values.iter().any(Value::is_null) {
            return None;
        }
        let entries = self.index.get(&(def.name, field.name));
        let mut ids = BTreeSet::new();
        for key in values.iter().filter_map(index_key) {
            ids.extend(entries.and_then(|e| e.get(&key)).into_iter().flatten().map(String::as_str));
        }
        Some(ids)
    }

    /// The records of `def` whose lookup `field` points at `parent`, in creation order.
    pub fn children(&self, def: &ObjectDef, field: &str, parent: &str) -> Vec<&Record> {
        let Some(field) = def.field(field) else { return Vec::new() };
        match self.ids_where(def, field, &[json!(parent)]) {
            Some(ids) => ids.into_iter().filter_map(|id| self.get(def.name, id)).collect(),
            None => self.all(def.name).filter(|r| r.get(field.name).and_then(Value::as_str) == Some(parent)).collect(),
        }
    }

    /// Adds a validation rule.
    pub fn add_rule(&mut self, rule: ValidationRule) {
        self.rules.push(rule);
    }

    /// Adds a record-triggered flow.
    pub fn add_flow(&mut self, flow: FieldFlow) {
        self.flows.push(flow);
    }

    /// The validation rules in force.
    pub fn rules(&self) -> &[ValidationRule] {
        &self.rules
    }

    /// Removes every validation rule.
    pub fn clear_rules(&mut self) {
        self.rules.clear();
    }

    /// Starts recording writes so [`Self::rollback`] can undo them (sObject Collections with allOrNone).
    pub fn savepoint(&mut self) -> Savepoint {
        self.journal = Some(Vec::new());
        Savepoint {
            next_id: self.next_id,
            next_case_number: self.next_case_number,
            changes: self.changes.len(),
            commit_number: self.commit_number,
            sequence: self.sequence,
            current_transaction: self.current_transaction.clone(),
        }
    }

    /// Keeps the writes since the savepoint and stops recording.
    pub fn release(&mut self, _savepoint: Savepoint) {
        self.journal = None;
    }

    /// Undoes every write since `savepoint`: records, indexes, counters and the change log.
    pub fn rollback(&mut self, savepoint: Savepoint) {
        for (def, id, before) in self.journal.take().unwrap_or_default().into_iter().rev() {
            match before {
                Some(record) => self.put(def, &id, record),
                None => {
                    self.take(def, &id);
                }
            }
        }
        self.next_id = savepoint.next_id;
        self.next_case_number = savepoint.next_case_number;
        self.changes.truncate(savepoint.changes);
        self.commit_number = savepoint.commit_number;
        self.sequence = savepoint.sequence;
        self.current_transaction = savepoint.current_transaction;
    }

    /// Stores `record` as `id` of `def`, keeping the indexes and an open savepoint's journal current.
    fn put(&mut self, def: &'static ObjectDef, id: &str, record: Record) {
        let table = self.tables.entry(def.name).or_default();
        let before = match table.get_mut(id) {
            Some(stored) => Some(std::mem::replace(stored, record)),
            None => table.insert(id.to_string(), record),
        };
        reindex(&mut self.index, def, id, before.as_ref(), table.get(id));
        if let Some(journal) = &mut self.journal {
            journal.push((def, id.to_string(), before));
        }
    }

    /// Removes record `id` of `def`, keeping the indexes and an open savepoint's journal current.
    fn take(&mut self, def: &'static ObjectDef, id: &str) -> Option<Record> {
        let removed = self.tables.get_mut(def.name)?.remove(id)?;
        reindex(&mut self.index, def, id, Some(&removed), None);
        if let Some(journal) = &mut self.journal {
            journal.push((def, id.to_string(), Some(removed.clone())));
        }
        Some(removed)
    }

    /// The change log so far.
    pub fn changes(&self) -> &[ChangeRecord] {
        &self.changes
    }

    /// Forgets the change log (after seeding).
    pub fn clear_changes(&mut self) {
        self.changes.clear();
    }

    /// How an upsert of `object` by `field` = `value` resolves.
    pub fn upsert_target(&self, object: &str, field: &str, value: &str) -> UpsertTarget {
        match self.find_by(object, field, value).as_slice() {
            [] => UpsertTarget::New,
            [one] => UpsertTarget::Existing(one.clone()),
            many => UpsertTarget::Ambiguous(many.to_vec()),
        }
    }

    /// Validates and inserts a record; returns its id.
    pub fn create(
        &mut self,
        def: &'static ObjectDef,
        body: Map<String, Value>,
        ctx: &WriteContext,
    ) -> Result<String, ApiError> {
        let changes = self.accept_body(def, body, true)?;
        let mut record = Record::new();
        self.next_id += 1;
        let id = ids::make_id(def.prefix, self.next_id);
        let now = format_datetime(ctx.now_ms);
        record.insert("Id".into(), json!(id));
        for system in ["CreatedDate", "LastModifiedDate", "SystemModstamp"] {
            record.insert(system.into(), json!(now));
        }
        record.insert("IsDeleted".into(), json!(false));
        if def.field("OwnerId").is_some() {
            record.insert("OwnerId".into(), json!(super::user_id()));
        }
        record.extend(changes);
        self.derive(def, &mut record, None)?;
        self.check_record(def, &record)?;
        let values: Map<String, Value> = record
            .iter()
            .filter(|(k, v)| !v.is_null() && !matches!(k.as_str(), "IsDeleted" | "SystemModstamp"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.put(def, &id, record);
        if def.is_platform_event() {
            // Published, not stored as a change: events have no Change Data Capture.
            return Ok(id);
        }
        self.log(def.name, &id, "CREATE", Vec::new(), values, ctx);
        self.after_write(def, &id, ctx);
        Ok(id)
    }

    /// Validates and applies a partial update.
    pub fn update(
        &mut self,
        def: &'static ObjectDef,
        id: &str,
        body: Map<String, Value>,
        ctx: &WriteContext,
    ) -> Result<(), ApiError> {
        let before = self.get(def.name, id).ok_or_else(ApiError::not_found)?;
        let changes = self.accept_body(def, body, false)?;
        let mut record = before.clone();
        record.extend(changes);
        for flow in self.flows.iter().filter(|f| f.object == def.name) {
            record.insert(flow.field.into(), flow.value.clone());
        }
        self.derive(def, &mut record, Some(before))?;
        self.check_record(def, &record)?;
        self.commit_update(def, id, record, ctx);
        self.after_write(def, id, ctx);
        Ok(())
    }

    /// Converts a lead as `convertLead` does, in one transaction: a new Account from the company, a
    /// Contact from the person, then the Lead marked converted. Returns (account id, contact id).
    pub fn convert_lead(&mut self, lead_id: &str, ctx: &WriteContext) -> Result<(String, String), ApiError> {
        let lead_def = schema::object("Lead").ok_or_else(ApiError::not_found)?;
        let account_def = schema::object("Account").ok_or_else(ApiError::not_found)?;
        let contact_def = schema::object("Contact").ok_or_else(ApiError::not_found)?;
        let before = self.get("Lead", lead_id).cloned().ok_or_else(ApiError::not_found)?;
        if before.get("IsConverted") == Some(&json!(true)) {
            return Err(ApiError::new(400, "INVALID_STATUS", "this lead is already converted"));
        }
        let field = |name: &str| before.get(name).cloned().unwrap_or(Value::Null);
        let account =
            self.create(account_def, object(json!({"Name": field("Company"), "Phone": field("Phone")})), ctx)?;
        let contact = self.create(
            contact_def,
            object(json!({"AccountId": account, "FirstName": field("FirstName"), "LastName": field("LastName"),
                           "Email": field("Email"), "Phone": field("Phone")})),
            ctx,
        )?;
        let mut record = before.clone();
        record.insert("IsConverted".into(), json!(true));
        record.insert("ConvertedAccountId".into(), json!(account));
        record.insert("ConvertedContactId".into(), json!(contact));
        record.insert("ConvertedDate".into(), json!(format_datetime(ctx.now_ms).get(..10).unwrap_or_default()));
        record.insert("Status".into(), json!("Closed - Converted"));
        self.commit_update(lead_def, lead_id, record, ctx);
        Ok((account, contact))
    }

    /// Deletes a record (and an opportunity's lines with it).
    pub fn delete(&mut self, def: &'static ObjectDef, id: &str, ctx: &WriteContext) -> Result<(), ApiError> {
        self.delete_merged(def, id, None, ctx)
    }

    /// Merges `losers` into `master` as the SOAP `merge()` call or the UI does: the losers' children
    /// are reparented to the master without change events, each loser is deleted with `MasterRecordId`
    /// set (a DELETE event), and the master gets an UPDATE event (Apex Developer Guide, "Triggers
    /// and Merge Statements": a delete event for the losing records, an update event for the
    /// winning record, none for reparented children). At most three records in one merge.
    pub fn merge(
        &mut self,
        def: &'static ObjectDef,
        master: &str,
        losers: &[String],
        ctx: &WriteContext,
    ) -> Result<(), ApiError> {
        if losers.is_empty() || losers.len() > 2 || self.get(def.name, master).is_none() {
            return Err(ApiError::new(400, "INVALID_OPERATION", "merge needs a master and one or two records"));
        }
        for loser in losers {
            self.get(def.name, loser).ok_or_else(ApiError::not_found)?;
            for child in &def.children {
                let Some(child_def) = schema::object(child.child_object) else { continue };
                let moved: Vec<Record> =
                    self.children(child_def, child.child_field, loser).into_iter().cloned().collect();
                for mut record in moved {
                    record.insert(child.child_field.into(), json!(master));
                    let child_id = record.get("Id").and_then(Value::as_str).unwrap_or_default().to_string();
                    self.put(child_def, &child_id, record);
                }
            }
            self.delete_merged(def, loser, Some(master), ctx)?;
        }
        let record = self.get(def.name, master).cloned().ok_or_else(ApiError::not_found)?;
        self.commit_update(def, master, record, ctx);
        Ok(())
    }

    /// Restores a deleted record from the recycle bin (an UNDELETE change event).
    pub fn undelete(&mut self, def: &'static ObjectDef, id: &str, ctx: &WriteContext) -> Result<(), ApiError> {
        let mut record = self
            .recycle_bin
            .get_mut(def.name)
            .and_then(|t| t.remove(id))
            .ok_or_else(|| ApiError::new(400, "UNDELETE_FAILED", "Entity is not in the recycle bin"))?;
        record.insert("IsDeleted".into(), json!(false));
        record.remove("MasterRecordId");
        self.put(def, id, record);
        self.log(def.name, id, "UNDELETE", Vec::new(), Map::new(), ctx);
        Ok(())
    }

    fn delete_merged(
        &mut self,
        def: &'static ObjectDef,
        id: &str,
        master: Option<&str>,
        ctx: &WriteContext,
    ) -> Result<(), ApiError> {
        let order = self.get(def.name, id).and_then(|r| r.get("OrderId")).and_then(Value::as_str);
        if def.name == "OrderItem"
            && order.and_then(|o| self.get("Order", o)).and_then(|o| o.get("Status")) == Some(&json!("Activated"))
        {
            return Err(activated());
        }
        let removed = self.take(def, id).ok_or_else(ApiError::not_found)?;
        let mut binned = removed.clone();
        binned.insert("IsDeleted".into(), json!(true));
        if def.field("MasterRecordId").is_some() {
            binned.insert("MasterRecordId".into(), master.map_or(Value::Null, |m| json!(m)));
        }
        self.recycle_bin.entry(def.name).or_default().insert(id.to_string(), binned);
        self.log(def.name, id, "DELETE", Vec::new(), Map::new(), ctx);
        if def.name == "Opportunity"
            && let Some(line_def) = schema::object("OpportunityLineItem")
        {
            for line in self.line_ids(id) {
                self.take(line_def, &line);
            }
        }
        if def.name == "OpportunityLineItem"
            && let Some(opportunity) = removed.get("OpportunityId").and_then(Value::as_str)
        {
            self.roll_up_opportunity(opportunity, ctx);
        }
        if def.name == "QuoteLineItem"
            && let Some(quote) = removed.get("QuoteId").and_then(Value::as_str)
        {
            self.after_quote_lines_changed(quote, ctx);
        }
        if def.name == "Quote"
            && let Some(lines) = schema::object("QuoteLineItem")
        {
            for line in self.quote_line_ids(id) {
                self.take(lines, &line);
            }
            // Deleting the synced quote stops the sync [U: Salesforce may refuse it instead].
            let opportunity =
                removed.get("OpportunityId").and_then(Value::as_str).and_then(|o| self.get("Opportunity", o));
            if let Some(mut opp) = opportunity.filter(|o| o.get("SyncedQuoteId") == Some(&json!(id))).cloned()
                && let Some(opp_def) = schema::object("Opportunity")
            {
                let opp_id = opp.get("Id").and_then(Value::as_str).unwrap_or_default().to_string();
                opp.insert("SyncedQuoteId".into(), Value::Null);
                self.commit_update(opp_def, &opp_id, opp, ctx);
            }
        }
        if let Some(items) = schema::object("OrderItem") {
            if def.name == "Order" {
                for item in self.order_item_ids(id) {
                    self.take(items, &item);
                }
            }
            if def.name == "OrderItem"
                && let Some(order) = removed.get("OrderId").and_then(Value::as_str)
            {
                self.roll_up_order(order, ctx);
            }
        }
        Ok(())
    }

    /// Marks the org's one standard price book (`IsStandard` is read-only through the API).
    pub fn mark_standard_pricebook(&mut self, id: &str) {
        if let (Some(def), Some(mut book)) = (schema::object("Pricebook2"), self.get("Pricebook2", id).cloned()) {
            book.insert("IsStandard".into(), json!(true));
            self.put(def, id, book);
        }
    }

    /// Creates an opportunity and its lines in one transaction, the way a UI save does: the roll-up
    /// is folded into the opportunity's CREATE instead of showing up as a separate UPDATE.
    pub fn create_opportunity_with_lines(
        &mut self,
        opportunity: Map<String, Value>,
        lines: Vec<Map<String, Value>>,
        ctx: &WriteContext,
    ) -> Result<String, ApiError> {
        let def = schema::object("Opportunity").ok_or_else(ApiError::not_found)?;
        let line_def = schema::object("OpportunityLineItem").ok_or_else(ApiError::not_found)?;
        let id = self.create(def, opportunity, ctx)?;
        let created_at = self.changes.len() - 1;
        for mut line in lines {
            line.insert("OpportunityId".into(), json!(id));
            self.create(line_def, line, ctx)?;
        }
        let is_roll_up = |c: &ChangeRecord| c.entity == "Opportunity" && c.record_id == id && c.change_type == "UPDATE";
        let mut index = 0;
        self.changes.retain(|c| {
            index += 1;
            index <= created_at + 1 || !is_roll_up(c)
        });
        if let Some(record) = self.get("Opportunity", &id).cloned() {
            let values = &mut self.changes[created_at].values;
            for field in ["Amount", "HasOpportunityLineItem"] {
                values.insert(field.into(), record.get(field).cloned().unwrap_or(Value::Null));
            }
        }
        Ok(id)
    }

    /// Starts a new transaction for the change log (one per request or helper call).
    pub fn begin(&mut self, ctx: &WriteContext) {
        self.current_transaction = ctx.transaction_key.clone();
        self.sequence = 0;
    }

    /// Stores the new state of record `id` and logs what changed against the stored one.
    fn commit_update(&mut self, def: &'static ObjectDef, id: &str, mut record: Record, ctx: &WriteContext) {
        let now = format_datetime(ctx.now_ms);
        record.insert("LastModifiedDate".into(), json!(now));
        record.insert("SystemModstamp".into(), json!(now));
        let before = self.get(def.name, id);
        let mut changed: Vec<String> = record
            .iter()
            .filter(|(k, v)| {
                k.as_str() != "SystemModstamp" && before.and_then(|b| b.get(k.as_str())).unwrap_or(&Value::Null) != *v
            })
            .map(|(k, _)| k.clone())
            .collect();
        if !changed.iter().any(|f| f == "LastModifiedDate") {
            changed.push("LastModifiedDate".into());
        }
        changed.sort();
        let values = changed.iter().map(|f| (f.clone(), record.get(f).cloned().unwrap_or(Value::Null))).collect();
        self.put(def, id, record);
        self.log(def.name, id, "UPDATE", changed, values, ctx);
    }

    fn log(
        &mut self,
        entity: &str,
        id: &str,
        change_type: &str,
        changed_fields: Vec<String>,
        values: Map<String, Value>,
        ctx: &WriteContext,
    ) {
        if self.current_transaction != ctx.transaction_key {
            self.begin(ctx);
        }
        self.sequence += 1;
        self.commit_number += 1;
        self.changes.push(ChangeRecord {
            entity: entity.to_string(),
            record_id: id.to_string(),
            change_type: change_type.to_string(),
            changed_fields,
            values,
            change_origin: ctx.change_origin.clone(),
            transaction_key: ctx.transaction_key.clone(),
            sequence_number: self.sequence,
            commit_timestamp: ctx.now_ms,
            commit_number: self.commit_number,
        });
    }

    /// Checks names, access and types of a body; returns the values keyed by canonical field name. A
    /// relationship set by a parent's external id (`"Account__r": {"SAP_CardCode__c": "C20000"}`)
    /// becomes its lookup field set to that parent's id.
    fn accept_body(
        &self,
        def: &'static ObjectDef,
        body: Map<String, Value>,
        creating: bool,
    ) -> Result<Map<String, Value>, ApiError> {
        let mut accepted = Map::new();
        let mut unknown = Vec::new();
        let mut read_only = Vec::new();
        let mut references = Vec::new();
        for (name, value) in body {
            if name == "attributes" {
                continue;
            }
            if name.eq_ignore_ascii_case("Id") {
                if creating {
                    return Err(ApiError::new(
                        400,
                        "INVALID_FIELD_FOR_INSERT_UPDATE",
                        "cannot specify Id in an insert call",
                    )
                    .with_fields(vec!["Id".into()]));
                }
                continue;
            }
            let visible = def.field(&name).filter(|f| !self.security.is_hidden(def.name, f.name));
            let (field, parent) = match visible {
                Some(field) => (field, None),
                None => match def.relationship(&name).filter(|_| value.is_object()) {
                    Some((lookup, parent)) => (lookup, Some(parent)),
                    None => {
                        unknown.push(name);
                        continue;
                    }
                },
            };
            let writable = match field.access {
                Access::ReadWrite => true,
                Access::CreateOnly => creating,
                Access::ReadOnly => false,
            } && !self.security.is_read_only(def.name, field.name);
            if !writable {
                read_only.push(field.name.to_string());
                continue;
            }
            match parent {
                Some(parent) => references.push((field, parent, value)),
                None => {
                    let value = coerce(def.name, field, value)?;
                    accepted.insert(if name == field.name { name } else { field.name.to_string() }, value);
                }
            }
        }
        if let Some(first) = unknown.first() {
            return Err(ApiError::new(
                400,
                "INVALID_FIELD",
                format!("No such column '{}' on sobject of type {}", clip(first), def.name),
            )
            .with_fields(unknown));
        }
        if !read_only.is_empty() {
            return Err(ApiError::new(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                format!(
                    "Unable to create/update fields: {}. Please check the security settings of this field and verify \
                     that it is read/write for your profile or permission set.",
                    read_only.join(", ")
                ),
            )
            .with_fields(read_only));
        }
        for (lookup, parent, value) in references {
            accepted.insert(lookup.name.to_string(), self.parent_by_external_id(parent, &value)?);
        }
        Ok(accepted)
    }

    /// The id of the `parent` record that `reference` (`{"SAP_CardCode__c": "C20000"}`, optionally with
    /// `attributes`) names by one of its external ids.
    fn parent_by_external_id(&self, parent: &ObjectDef, reference: &Value) -> Result<Value, ApiError> {
        let mut named = reference.as_object().into_iter().flatten().filter(|(k, _)| k.as_str() != "attributes");
        let (Some((name, value)), None) = (named.next(), named.next()) else {
            // Sandbox wording.
            return Err(ApiError::new(
                400,
                "INVALID_FIELD",
                format!("A reference to {} must name exactly one external ID field", parent.name),
            ));
        };
        let field = parent.field(name).filter(|f| f.external_id).ok_or_else(|| {
            ApiError::new(
                400,
                "INVALID_FIELD",
                format!(
                    "Field name provided, {} is not an External ID or indexed field for {}",
                    clip(name),
                    parent.name
                ),
            )
        })?;
        let value = match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        match self.find_by(parent.name, field.name, &value).as_slice() {
            [id] => Ok(json!(id)),
            // The documented text; `fields` is empty on Salesforce as far as we know [U].
            [] => Err(ApiError::new(
                400,
                "INVALID_FIELD",
                format!(
                    "Foreign key external ID: {} not found for field {} in entity {}",
                    clip(&value),
                    field.name,
                    parent.name
                ),
            )),
            // Sandbox wording [U].
            _ => Err(ApiError::new(
                400,
                "DUPLICATE_EXTERNAL_ID",
                format!(
                    "Foreign key external ID: {} matches more than one record for field {} in entity {}",
                    clip(&value),
                    field.name,
                    parent.name
                ),
            )),
        }
    }

    /// Required fields, lookups that must exist, the org's validation rules, unique values: in the order
    /// Salesforce runs system validation, custom validation rules and the database's unique indexes.
    fn check_record(&self, def: &ObjectDef, record: &Record) -> Result<(), ApiError> {
        let missing: Vec<String> = def
            .fields
            .iter()
            .filter(|f| f.required && record.get(f.name).is_none_or(Value::is_null))
            .map(|f| f.name.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(ApiError::new(
                400,
                "REQUIRED_FIELD_MISSING",
                format!("Required fields are missing: [{}]", missing.join(", ")),
            )
            .with_fields(missing));
        }
        let text = |field: &FieldDef| record.get(field.name).and_then(Value::as_str);
        for field in &def.fields {
            if let (FieldType::Reference(target), Some(value)) = (field.ty, text(field))
                && self.get(target, value).is_none()
            {
                return Err(ApiError::new(
                    400,
                    "INVALID_CROSS_REFERENCE_KEY",
                    format!("invalid cross reference id: {value}"),
                )
                .with_fields(vec![field.name.to_string()]));
            }
        }
        let broken = self.rules.iter().find(|r| r.object == def.name && record.get(r.field) == Some(&r.equals));
        if let Some(rule) = broken {
            return Err(ApiError::new(400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", rule.message.clone())
                .with_fields(vec![rule.field.to_string()]));
        }
        let id = record.get("Id").and_then(Value::as_str).unwrap_or_default();
        let stored = self.get(def.name, id);
        for field in def.fields.iter().filter(|f| f.unique) {
            let Some(value) = text(field) else { continue };
            // An unchanged value cannot newly collide.
            if stored.is_some_and(|s| s.get(field.name) == record.get(field.name)) {
                continue;
            }
            if let Some(other) = self.find_by(def.name, field.name, value).into_iter().find(|other| other != id) {
                return Err(ApiError::new(
                    400,
                    "DUPLICATE_VALUE",
                    format!("duplicate value found: {} duplicates value on record with id: {other}", field.name),
                )
                .with_fields(vec![field.name.to_string()]));
            }
        }
        Ok(())
    }

    /// Fields Salesforce computes: IsWon/IsClosed from the stage, line product and price fields, price book entry names.
    fn derive(&self, def: &ObjectDef, record: &mut Record, before: Option<&Record>) -> Result<(), ApiError> {
        match def.name {
            "Opportunity" => {
                let stage = record.get("StageName").and_then(Value::as_str).unwrap_or_default().to_string();
                record.insert("IsWon".into(), json!(stage == "Closed Won"));
                record.insert("IsClosed".into(), json!(stage == "Closed Won" || stage == "Closed Lost"));
                if before.is_none() {
                    record.insert("HasOpportunityLineItem".into(), json!(false));
                }
                if record.get("CurrencyIsoCode").is_none_or(Value::is_null) {
                    record.insert("CurrencyIsoCode".into(), json!(CORPORATE_CURRENCY));
                }
                self.check_synced_quote(record, before)?;
            }
            "Quote" => self.derive_quote(record, before)?,
            "QuoteLineItem" => self.derive_quote_line(record, before)?,
            "OpportunityLineItem" => {
                self.derive_line(record, before)?;
                // A line is in its opportunity's currency (multi-currency orgs; hidden otherwise).
                let currency = record
                    .get("OpportunityId")
                    .and_then(Value::as_str)
                    .and_then(|o| self.get("Opportunity", o))
                    .and_then(|o| o.get("CurrencyIsoCode").cloned());
                record.insert("CurrencyIsoCode".into(), currency.unwrap_or(json!(CORPORATE_CURRENCY)));
            }
            "OrderItem" => self.derive_order_item(record, before)?,
            "Order" => {
                let changed = |f: &str| before.is_some_and(|b| b.get(f) != record.get(f));
                let id = record.get("Id").and_then(Value::as_str).unwrap_or_default();
                if changed("Pricebook2Id") && !self.order_item_ids(id).is_empty() {
                    // [wording U] Salesforce refuses a new price book on an order with products.
                    return Err(ApiError::new(
                        400,
                        "FIELD_INTEGRITY_EXCEPTION",
                        "field integrity exception: Pricebook2Id (cannot change pricebook on order with order products)",
                    )
                    .with_fields(vec!["Pricebook2Id".into()]));
                }
            }
            "Contact" | "Lead" => {
                let part = |f: &str| record.get(f).and_then(Value::as_str).unwrap_or_default().to_string();
                let name = format!("{} {}", part("FirstName"), part("LastName")).trim().to_string();
                record.insert("Name".into(), json!(name));
            }
            "PricebookEntry" => {
                let product = record.get("Product2Id").and_then(Value::as_str).and_then(|p| self.get("Product2", p));
                if let Some(product) = product {
                    record.insert("Name".into(), product.get("Name").cloned().unwrap_or(Value::Null));
                    record.insert("ProductCode".into(), product.get("ProductCode").cloned().unwrap_or(Value::Null));
                }
                if before.is_none() && !record.contains_key("IsActive") {
                    record.insert("IsActive".into(), json!(true));
                }
            }
            "SAP_Invoice__c" => {
                // The formula fields of force-app's SAP_Invoice__c.
                let amount = |f: &str| record.get(f).and_then(Value::as_f64).unwrap_or(0.0);
                let open = round2(amount("Amount__c") - amount("Paid_Amount__c"));
                let credit = record.get("Type__c").and_then(Value::as_str) == Some("Credit Note");
                record.insert("Open_Amount__c".into(), json!(open));
                record.insert("Is_Credit_Note__c".into(), json!(credit));
                // An API insert without a Name gets the record id as its name [U].
                if before.is_none() && record.get("Name").is_none_or(Value::is_null) {
                    let id = record.get("Id").cloned().unwrap_or(Value::Null);
                    record.insert("Name".into(), id);
                }
            }
            "Case" => {
                // The org's closed statuses; the default Case process has just this one.
                let status = record.get("Status").and_then(Value::as_str).unwrap_or_default();
                record.insert("IsClosed".into(), json!(status == "Closed"));
                if before.is_none() {
                    let number = 1000 + self.next_case_number + 1;
                    record.insert("CaseNumber".into(), json!(format!("{number:08}")));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn derive_line(&self, line: &mut Record, before: Option<&Record>) -> Result<(), ApiError> {
        let integrity = |message: &str, field: &str| {
            ApiError::new(400, "FIELD_INTEGRITY_EXCEPTION", format!("field integrity exception: {message}"))
                .with_fields(vec![field.to_string()])
        };
        let text = |r: &Record, f: &str| r.get(f).and_then(Value::as_str).map(str::to_string);
        if before.is_none() {
            let entry = match (text(line, "PricebookEntryId"), text(line, "Product2Id")) {
                (Some(entry), _) => self.get("PricebookEntry", &entry).cloned(),
                (None, Some(product)) => schema::object("PricebookEntry")
                    .and_then(|entries| {
                        self.children(entries, "Product2Id", &product).into_iter().find(|e| self.is_standard_entry(e))
                    })
                    .cloned(),
                (None, None) => {
                    return Err(integrity("PricebookEntryId (pricebook entry is required)", "PricebookEntryId"));
                }
            };
            let entry = entry.ok_or_else(|| {
                integrity("PricebookEntryId (no pricebook entry for this product)", "PricebookEntryId")
            })?;
            if let Some(product) = text(line, "Product2Id")
                && text(&entry, "Product2Id").as_deref() != Some(product.as_str())
            {
                return Err(integrity("Product2Id (does not match the pricebook entry)", "Product2Id"));
            }
            let product_id = text(&entry, "Product2Id").unwrap_or_default();
            let product = self.get("Product2", &product_id);
            let opportunity_name = text(line, "OpportunityId")
                .and_then(|o| self.get("Opportunity", &o).and_then(|o| text(o, "Name")))
                .unwrap_or_default();
            let product_name = product.and_then(|p| text(p, "Name")).unwrap_or_default();
            line.insert("PricebookEntryId".into(), entry.get("Id").cloned().unwrap_or(Value::Null));
            line.insert("Product2Id".into(), json!(product_id));
            line.insert(
                "ProductCode".into(),
                product.and_then(|p| p.get("ProductCode").cloned()).unwrap_or(Value::Null),
            );
            line.insert("ListPrice".into(), entry.get("UnitPrice").cloned().unwrap_or(Value::Null));
            line.insert("Name".into(), json!(format!("{opportunity_name} {product_name}").trim().to_string()));
        }
        let number = |r: &Record, f: &str| r.get(f).and_then(Value::as_f64);
        let changed = |f: &str| before.is_none_or(|b| b.get(f) != line.get(f));
        let quantity = number(line, "Quantity").unwrap_or(0.0);
        let discount = number(line, "Discount").unwrap_or(0.0);
        let unit_changed = changed("UnitPrice") && line.get("UnitPrice").is_some_and(|v| !v.is_null());
        let total_changed = changed("TotalPrice") && line.get("TotalPrice").is_some_and(|v| !v.is_null());
        if before.is_none() && unit_changed && total_changed {
            return Err(integrity("TotalPrice (cannot specify both unit price and total price)", "TotalPrice"));
        }
        let unit_price = if total_changed && !unit_changed {
            number(line, "TotalPrice").unwrap_or(0.0) / quantity.max(f64::MIN_POSITIVE) / (1.0 - discount / 100.0)
        } else {
            match number(line, "UnitPrice") {
                Some(price) => price,
                None => return Err(integrity("UnitPrice (unit price or total price is required)", "UnitPrice")),
            }
        };
        let total = quantity * unit_price * (1.0 - discount / 100.0);
        line.insert("UnitPrice".into(), json!(round2(unit_price)));
        line.insert("TotalPrice".into(), json!(round2(total)));
        Ok(())
    }

    /// An order product: on create its entry must be active and in the order's price book (an
    /// order without one takes no products; the platform's "orders without price books" setting is
    /// not modelled), and it takes Product2Id and ListPrice from the entry; TotalPrice is always
    /// Quantity × UnitPrice (OrderItem has no discount field). Object Reference, OrderItem [wording U].
    fn derive_order_item(&self, item: &mut Record, before: Option<&Record>) -> Result<(), ApiError> {
        let integrity = |message: &str| {
            ApiError::new(400, "FIELD_INTEGRITY_EXCEPTION", format!("field integrity exception: {message}"))
                .with_fields(vec!["PricebookEntryId".into()])
        };
        let text = |r: &Record, f: &str| r.get(f).and_then(Value::as_str).map(str::to_string);
        if before.is_none() {
            let entry = text(item, "PricebookEntryId").and_then(|e| self.get("PricebookEntry", &e)).cloned();
            let order = text(item, "OrderId").and_then(|o| self.get("Order", &o)).cloned();
            if let (Some(entry), Some(order)) = (entry, order) {
                if text(&order, "Status").as_deref() == Some("Activated") {
                    return Err(activated());
                }
                if entry.get("IsActive") == Some(&json!(false)) {
                    return Err(integrity("PricebookEntryId (pricebook entry is inactive)"));
                }
                if text(&order, "Pricebook2Id").is_none()
                    || text(&order, "Pricebook2Id") != text(&entry, "Pricebook2Id")
                {
                    return Err(integrity(
                        "PricebookEntryId (pricebook entry is in a different pricebook than the one assigned to the \
                         Order, or Order has no pricebook assigned)",
                    ));
                }
                item.insert("Product2Id".into(), entry.get("Product2Id").cloned().unwrap_or(Value::Null));
                item.insert("ListPrice".into(), entry.get("UnitPrice").cloned().unwrap_or(Value::Null));
            }
        }
        let number = |f: &str| item.get(f).and_then(Value::as_f64).unwrap_or(0.0);
        let total = round2(number("Quantity") * number("UnitPrice"));
        item.insert("TotalPrice".into(), json!(total));
        Ok(())
    }

    /// A synced quote must be one of the opportunity's own [wording U].
    fn check_synced_quote(&self, opportunity: &Record, before: Option<&Record>) -> Result<(), ApiError> {
        let quote = opportunity.get("SyncedQuoteId").and_then(Value::as_str);
        let Some(quote) =
            quote.filter(|_| before.is_none_or(|b| b.get("SyncedQuoteId") != opportunity.get("SyncedQuoteId")))
        else {
            return Ok(());
        };
        let owner = self.get("Quote", quote).and_then(|q| q.get("OpportunityId"));
        if owner.is_none() || owner != opportunity.get("Id") {
            return Err(ApiError::new(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                "field integrity exception: SyncedQuoteId (the quote must belong to this opportunity)",
            )
            .with_fields(vec!["SyncedQuoteId".into()]));
        }
        Ok(())
    }

    /// A new quote is a Draft of its opportunity's account and price book, numbered, not syncing,
    /// with nothing in it yet.
    fn derive_quote(&self, quote: &mut Record, before: Option<&Record>) -> Result<(), ApiError> {
        if before.is_some() {
            return Ok(());
        }
        let opportunity = quote.get("OpportunityId").and_then(Value::as_str).and_then(|o| self.get("Opportunity", o));
        let inherited = |field: &str| opportunity.and_then(|o| o.get(field)).cloned().unwrap_or(Value::Null);
        let number = self.all("Quote").count() + self.deleted("Quote").count() + 1;
        let defaults = [
            ("AccountId", inherited("AccountId")),
            ("Pricebook2Id", inherited("Pricebook2Id")),
            ("CurrencyIsoCode", inherited("CurrencyIsoCode")),
            ("Status", json!("Draft")),
        ];
        for (field, value) in defaults {
            if quote.get(field).is_none_or(Value::is_null) {
                quote.insert(field.into(), value);
            }
        }
        quote.insert("QuoteNumber".into(), json!(format!("{number:08}")));
        quote.insert("IsSyncing".into(), json!(false));
        for total in ["Subtotal", "TotalPrice", "GrandTotal", "LineItemCount"] {
            quote.insert(total.into(), json!(0.0));
        }
        Ok(())
    }

    /// A quote line takes its product and list price from its entry; Subtotal is Quantity ×
    /// UnitPrice and TotalPrice the subtotal less the line's Discount percent.
    fn derive_quote_line(&self, line: &mut Record, before: Option<&Record>) -> Result<(), ApiError> {
        if before.is_none() {
            let entry =
                line.get("PricebookEntryId").and_then(Value::as_str).and_then(|e| self.get("PricebookEntry", e));
            let Some(entry) = entry else {
                return Err(ApiError::new(
                    400,
                    "FIELD_INTEGRITY_EXCEPTION",
                    "field integrity exception: PricebookEntryId (pricebook entry is required)",
                )
                .with_fields(vec!["PricebookEntryId".into()]));
            };
            line.insert("Product2Id".into(), entry.get("Product2Id").cloned().unwrap_or(Value::Null));
            line.insert("ListPrice".into(), entry.get("UnitPrice").cloned().unwrap_or(Value::Null));
            let quote = line.get("QuoteId").and_then(Value::as_str).unwrap_or_default().to_string();
            let number = self.quote_line_ids(&quote).len() + 1;
            line.insert("LineNumber".into(), json!(format!("{number:05}")));
        }
        let number = |f: &str| line.get(f).and_then(Value::as_f64).unwrap_or(0.0);
        let subtotal = number("Quantity") * number("UnitPrice");
        let total = subtotal * (1.0 - number("Discount") / 100.0);
        line.insert("Subtotal".into(), json!(round2(subtotal)));
        line.insert("TotalPrice".into(), json!(round2(total)));
        Ok(())
    }

    /// A quote's lines changed: its totals roll up, and a synced quote's opportunity follows.
    fn after_quote_lines_changed(&mut self, quote: &str, ctx: &WriteContext) {
        self.roll_up_quote(quote, ctx);
        let record = self.get("Quote", quote);
        if record.and_then(|q| q.get("IsSyncing")) == Some(&json!(true))
            && let Some(opportunity) = record.and_then(|q| q.get("OpportunityId")).and_then(Value::as_str)
        {
            let opportunity = opportunity.to_string();
            self.sync_quote_lines(&opportunity, ctx);
        }
    }

    fn quote_line_ids(&self, quote: &str) -> Vec<String> {
        schema::object("QuoteLineItem").map_or_else(Vec::new, |lines| {
            self.children(lines, "QuoteId", quote)
                .iter()
                .filter_map(|l| l.get("Id").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
    }

    /// A quote's totals: the sums of its lines', as the platform rolls them up.
    fn roll_up_quote(&mut self, quote: &str, ctx: &WriteContext) {
        let Some(before) = self.get("Quote", quote) else { return };
        let lines: Vec<Record> =
            self.quote_line_ids(quote).iter().filter_map(|l| self.get("QuoteLineItem", l).cloned()).collect();
        let sum = |field: &str| round2(lines.iter().filter_map(|l| l.get(field).and_then(Value::as_f64)).sum());
        let mut record = before.clone();
        record.insert("Subtotal".into(), json!(sum("Subtotal")));
        record.insert("TotalPrice".into(), json!(sum("TotalPrice")));
        record.insert("GrandTotal".into(), json!(sum("TotalPrice")));
        record.insert("LineItemCount".into(), json!(lines.len() as f64));
        if record != *before
            && let Some(def) = schema::object("Quote")
        {
            self.commit_update(def, quote, record, ctx);
        }
    }

    /// Quote sync: the opportunity's products mirror its synced quote's lines (each quote line
    /// updates the product it is linked to, or creates one; products of no line are deleted) and
    /// only that quote says `IsSyncing`. Salesforce Help, "Sync Quotes and Opportunities"; the
    /// reverse direction (an opportunity product edited while syncing) is not modelled.
    fn sync_quote_lines(&mut self, opportunity: &str, ctx: &WriteContext) {
        let Some(opp) = self.get("Opportunity", opportunity).cloned() else { return };
        let synced = opp.get("SyncedQuoteId").and_then(Value::as_str).map(str::to_string);
        let quote_def = schema::object("Quote");
        let quotes: Vec<Record> = quote_def
            .map_or_else(Vec::new, |q| self.children(q, "OpportunityId", opportunity).into_iter().cloned().collect());
        for mut quote in quotes {
            let id = quote.get("Id").and_then(Value::as_str).unwrap_or_default().to_string();
            let syncing = json!(synced.as_deref() == Some(id.as_str()));
            if quote.get("IsSyncing") != Some(&syncing)
                && let Some(def) = quote_def
            {
                quote.insert("IsSyncing".into(), syncing);
                self.commit_update(def, &id, quote, ctx);
            }
        }
        let (Some(quote), Some(line_def), Some(quote_line_def)) =
            (synced, schema::object("OpportunityLineItem"), schema::object("QuoteLineItem"))
        else {
            return;
        };
        let mut kept = Vec::new();
        for quote_line_id in self.quote_line_ids(&quote) {
            let Some(mut quote_line) = self.get("QuoteLineItem", &quote_line_id).cloned() else { continue };
            let mirrored: Map<String, Value> =
                ["Quantity", "UnitPrice", "Discount", "ServiceDate", "Description", "SortOrder"]
                    .into_iter()
                    .map(|f| (f.to_string(), quote_line.get(f).cloned().unwrap_or(Value::Null)))
                    .collect();
            let linked = quote_line.get("OpportunityLineItemId").and_then(Value::as_str).map(str::to_string);
            let linked = linked.filter(|l| self.get("OpportunityLineItem", l).is_some());
            let line_id = match linked {
                Some(line) => {
                    let current = self.get("OpportunityLineItem", &line);
                    let differs: Map<String, Value> = mirrored
                        .into_iter()
                        .filter(|(f, v)| current.and_then(|c| c.get(f)).unwrap_or(&Value::Null) != v)
                        .collect();
                    if !differs.is_empty() {
                        let _ = self.update(line_def, &line, differs, ctx);
                    }
                    line
                }
                None => {
                    let mut body = mirrored;
                    body.insert("OpportunityId".into(), json!(opportunity));
                    body.insert(
                        "PricebookEntryId".into(),
                        quote_line.get("PricebookEntryId").cloned().unwrap_or(Value::Null),
                    );
                    body.retain(|_, v| !v.is_null());
                    let Ok(line) = self.create(line_def, body, ctx) else { continue };
                    quote_line.insert("OpportunityLineItemId".into(), json!(line));
                    self.put(quote_line_def, &quote_line_id, quote_line);
                    line
                }
            };
            kept.push(line_id);
        }
        for line in self.line_ids(opportunity).into_iter().filter(|l| !kept.contains(l)) {
            let _ = self.delete_merged(line_def, &line, None, ctx);
        }
    }

    fn order_item_ids(&self, order: &str) -> Vec<String> {
        schema::object("OrderItem").map_or_else(Vec::new, |items| {
            self.children(items, "OrderId", order)
                .iter()
                .filter_map(|i| i.get("Id").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
    }

    /// An order's TotalAmount: the sum of its products' totals, as the platform rolls it up.
    fn roll_up_order(&mut self, order: &str, ctx: &WriteContext) {
        let Some(before) = self.get("Order", order) else { return };
        let total: f64 = self
            .order_item_ids(order)
            .iter()
            .filter_map(|i| self.get("OrderItem", i).and_then(|i| i.get("TotalPrice")).and_then(Value::as_f64))
            .sum();
        let mut record = before.clone();
        record.insert("TotalAmount".into(), json!(round2(total)));
        if record != *before
            && let Some(def) = schema::object("Order")
        {
            self.commit_update(def, order, record, ctx);
        }
    }

    fn is_standard_entry(&self, entry: &Record) -> bool {
        entry
            .get("Pricebook2Id")
            .and_then(Value::as_str)
            .and_then(|p| self.get("Pricebook2", p))
            .and_then(|p| p.get("IsStandard"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// Effects on other records: opportunity roll-ups after line changes, product codes copied to entries and lines.
    fn after_write(&mut self, def: &ObjectDef, id: &str, ctx: &WriteContext) {
        match def.name {
            "OpportunityLineItem" => {
                let opportunity = self.get(def.name, id).and_then(|l| l.get("OpportunityId")).and_then(Value::as_str);
                if let Some(opportunity) = opportunity.map(str::to_string) {
                    self.roll_up_opportunity(&opportunity, ctx);
                }
            }
            "Product2" => {
                let code = self.get(def.name, id).and_then(|p| p.get("ProductCode")).cloned().unwrap_or(Value::Null);
                for child in ["PricebookEntry", "OpportunityLineItem"].into_iter().filter_map(schema::object) {
                    let stale: Vec<Record> = self
                        .children(child, "Product2Id", id)
                        .into_iter()
                        .filter(|r| r.get("ProductCode") != Some(&code))
                        .cloned()
                        .collect();
                    for mut record in stale {
                        record.insert("ProductCode".into(), code.clone());
                        let child_id = record.get("Id").and_then(Value::as_str).unwrap_or_default().to_string();
                        self.put(child, &child_id, record);
                    }
                }
            }
            "OrderItem" => {
                let order = self.get(def.name, id).and_then(|i| i.get("OrderId")).and_then(Value::as_str);
                if let Some(order) = order.map(str::to_string) {
                    self.roll_up_order(&order, ctx);
                }
            }
            "QuoteLineItem" => {
                let quote = self.get(def.name, id).and_then(|l| l.get("QuoteId")).and_then(Value::as_str);
                if let Some(quote) = quote.map(str::to_string) {
                    self.after_quote_lines_changed(&quote, ctx);
                }
            }
            "Opportunity" => self.sync_quote_lines(id, ctx),
            "Case" => self.next_case_number += 1,
            _ => {}
        }
    }

    fn lines_of(&self, opportunity: &str) -> Vec<&Record> {
        schema::object("OpportunityLineItem")
            .map_or_else(Vec::new, |lines| self.children(lines, "OpportunityId", opportunity))
    }

    fn line_ids(&self, opportunity: &str) -> Vec<String> {
        self.lines_of(opportunity)
            .iter()
            .filter_map(|l| l.get("Id").and_then(Value::as_str).map(str::to_string))
            .collect()
    }

    /// Amount = sum of line totals, as a roll-up; logs an UPDATE only when something changed.
    fn roll_up_opportunity(&mut self, opportunity: &str, ctx: &WriteContext) {
        let Some(before) = self.get("Opportunity", opportunity) else { return };
        let totals: Vec<f64> =
            self.lines_of(opportunity).iter().filter_map(|l| l.get("TotalPrice").and_then(Value::as_f64)).collect();
        let mut record = before.clone();
        record.insert("HasOpportunityLineItem".into(), json!(!totals.is_empty()));
        if !totals.is_empty() || before.get("HasOpportunityLineItem") == Some(&json!(true)) {
            record.insert("Amount".into(), json!(round2(totals.iter().sum())));
        }
        if record != *before
            && let Some(def) = schema::object("Opportunity")
        {
            self.commit_update(def, opportunity, record, ctx);
        }
    }
}

/// Products of an activated order can be neither added nor deleted (Salesforce Help, "Editing and
/// Deletion Considerations for Order Products") [wording U].
fn activated() -> ApiError {
    ApiError::new(
        400,
        "FIELD_INTEGRITY_EXCEPTION",
        "field integrity exception: OrderId (order products cannot be added to or deleted from an activated order)",
    )
    .with_fields(vec!["OrderId".into()])
}

/// The org's corporate currency (multi-currency orgs).
const CORPORATE_CURRENCY: &str = "USD";

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// A JSON object literal as a field map.
fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

/// Moves `id` from the index entries of `before` to those of `after` (either absent), for the
/// indexed fields whose value changed.
fn reindex(index: &mut Index, def: &'static ObjectDef, id: &str, before: Option<&Record>, after: Option<&Record>) {
    for field in def.fields.iter().filter(|f| f.indexed()) {
        let (old, new) = (before.and_then(|r| r.get(field.name)), after.and_then(|r| r.get(field.name)));
        if old == new {
            continue;
        }
        let entries = index.entry((def.name, field.name)).or_default();
        if let Some(key) = old.and_then(index_key)
            && let Some(ids) = entries.get_mut(&key)
        {
            ids.remove(id);
            if ids.is_empty() {
                entries.remove(&key);
            }
        }
        if let Some(key) = new.and_then(index_key) {
            entries.entry(key).or_default().insert(id.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(origin: &str) -> WriteContext {
        WriteContext { change_origin: origin.into(), transaction_key: "t1".into(), now_ms: 1_795_600_800_000 }
    }

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn object(name: &str) -> &'static ObjectDef {
        schema::object(name).unwrap()
    }

    fn store_with_product() -> (Store, String, String) {
        let mut store = Store::default();
        let c = ctx("");
        let book = store.create(object("Pricebook2"), body(json!({"Name": "Standard Price Book"})), &c).unwrap();
        store.mark_standard_pricebook(&book);
        let product =
            store.create(object("Product2"), body(json!({"Name": "Pump", "ProductCode": "A00001"})), &c).unwrap();
        store
            .create(
                object("PricebookEntry"),
                body(json!({"Pricebook2Id": book, "Product2Id": product, "UnitPrice": 50})),
                &c,
            )
            .unwrap();
        let account =
            store.create(object("Account"), body(json!({"Name": "Acme", "SAP_CardCode__c": "C1"})), &c).unwrap();
        (store, product, account)
    }

    #[test]
    fn stage_drives_is_won_and_is_closed_which_cannot_be_written() {
        let (mut store, _, account) = store_with_product();
        let def = object("Opportunity");
        let id = store
            .create(
                def,
                body(json!({"Name": "D", "AccountId": account, "StageName": "Prospecting", "CloseDate": "2026-11-25"})),
                &ctx(""),
            )
            .unwrap();
        assert_eq!(store.get("Opportunity", &id).unwrap()["IsWon"], json!(false));
        store.update(def, &id, body(json!({"StageName": "Closed Won"})), &ctx("o")).unwrap();
        let opp = store.get("Opportunity", &id).unwrap();
        assert_eq!((opp["IsWon"].clone(), opp["IsClosed"].clone()), (json!(true), json!(true)));
        let err = store.update(def, &id, body(json!({"IsWon": false})), &ctx("")).unwrap_err();
        assert_eq!(
            (err.status, err.code.as_str(), err.fields.clone()),
            (400, "INVALID_FIELD_FOR_INSERT_UPDATE", vec!["IsWon".into()])
        );
        let change = store.changes().last().unwrap();
        assert_eq!(change.change_type, "UPDATE");
        assert_eq!(change.change_origin, "o");
        assert!(
            change.changed_fields.contains(&"StageName".to_string())
                && change.changed_fields.contains(&"IsWon".to_string())
        );
    }

    #[test]
    fn unknown_fields_missing_required_fields_and_duplicates_are_rejected() {
        let (mut store, _, _) = store_with_product();
        let def = object("Account");
        let err = store.create(def, body(json!({"Name": "X", "Nmae": "typo"})), &ctx("")).unwrap_err();
        assert_eq!((err.code.as_str(), err.fields.clone()), ("INVALID_FIELD", vec!["Nmae".to_string()]));
        let err = store.create(def, body(json!({"Phone": "1"})), &ctx("")).unwrap_err();
        assert_eq!(err.code, "REQUIRED_FIELD_MISSING");
        let err = store.create(def, body(json!({"Name": "Y", "SAP_CardCode__c": "c1"})), &ctx("")).unwrap_err();
        assert_eq!(err.code, "DUPLICATE_VALUE");
        let err = store
            .create(object("Contact"), body(json!({"LastName": "Z", "AccountId": ids::make_id("001", 999)})), &ctx(""))
            .unwrap_err();
        assert_eq!(err.code, "INVALID_CROSS_REFERENCE_KEY");
    }

    #[test]
    fn lines_take_product_code_from_the_product_and_roll_up_into_the_amount() {
        let (mut store, product, account) = store_with_product();
        let opp = store
            .create(
                object("Opportunity"),
                body(json!({"Name": "D", "AccountId": account, "StageName": "Closed Won", "CloseDate": "2026-11-25"})),
                &ctx(""),
            )
            .unwrap();
        let line = object("OpportunityLineItem");
        let err = store
            .create(line, body(json!({"OpportunityId": opp, "Product2Id": product, "Quantity": 2, "UnitPrice": 10, "ProductCode": "X"})), &ctx(""))
            .unwrap_err();
        assert_eq!(err.code, "INVALID_FIELD_FOR_INSERT_UPDATE");
        let id = store
            .create(
                line,
                body(json!({"OpportunityId": opp, "Product2Id": product, "Quantity": 2, "UnitPrice": 10})),
                &ctx(""),
            )
            .unwrap();
        let stored = store.get("OpportunityLineItem", &id).unwrap();
        assert_eq!(
            (stored["ProductCode"].clone(), stored["TotalPrice"].clone(), stored["ListPrice"].clone()),
            (json!("A00001"), json!(20.0), json!(50.0))
        );
        store.update(line, &id, body(json!({"Quantity": 3})), &ctx("")).unwrap();
        assert_eq!(store.get("Opportunity", &opp).unwrap()["Amount"], json!(30.0));
        store.delete(line, &id, &ctx("")).unwrap();
        assert_eq!(store.get("Opportunity", &opp).unwrap()["Amount"], json!(0.0));
        assert_eq!(store.get("Opportunity", &opp).unwrap()["HasOpportunityLineItem"], json!(false));
    }

    #[test]
    fn a_synced_quotes_lines_become_the_opportunitys_products_and_follow_its_edits() {
        let (mut store, product, account) = store_with_product();
        let c = ctx("");
        let entry = store.find_by("PricebookEntry", "Product2Id", &product)[0].clone();
        let deal = json!({"Name": "D", "AccountId": account, "StageName": "Proposal", "CloseDate": "2026-12-20"});
        let opp = store.create(object("Opportunity"), body(deal), &c).unwrap();
        let other = store
            .create(
                object("Opportunity"),
                body(json!({"Name": "O", "StageName": "Proposal", "CloseDate": "2026-12-20"})),
                &c,
            )
            .unwrap();
        let old_line = json!({"OpportunityId": opp, "PricebookEntryId": entry, "Quantity": 1, "UnitPrice": 50});
        store.create(object("OpportunityLineItem"), body(old_line), &c).unwrap();
        let quote = store.create(object("Quote"), body(json!({"Name": "Q1", "OpportunityId": opp})), &c).unwrap();
        let line = json!({"QuoteId": quote, "PricebookEntryId": entry, "Quantity": 4, "UnitPrice": 50, "Discount": 10});
        let quote_line = store.create(object("QuoteLineItem"), body(line), &c).unwrap();
        let stored = store.get("Quote", &quote).unwrap();
        assert_eq!(
            (&stored["Status"], &stored["Subtotal"], &stored["TotalPrice"], &stored["AccountId"], &stored["IsSyncing"]),
            (&json!("Draft"), &json!(200.0), &json!(180.0), &json!(account), &json!(false))
        );
        let foreign =
            store.update(object("Opportunity"), &other, body(json!({"SyncedQuoteId": quote})), &c).unwrap_err();
        assert_eq!(foreign.code, "FIELD_INTEGRITY_EXCEPTION");
        store.update(object("Opportunity"), &opp, body(json!({"SyncedQuoteId": quote})), &c).unwrap();
        assert_eq!(store.get("Quote", &quote).unwrap()["IsSyncing"], json!(true));
        let products = store.lines_of(&opp).into_iter().cloned().collect::<Vec<_>>();
        assert_eq!(products.len(), 1, "the quote's line replaced the opportunity's own");
        assert_eq!((&products[0]["Quantity"], &products[0]["Discount"]), (&json!(4.0), &json!(10.0)));
        assert_eq!(store.get("QuoteLineItem", &quote_line).unwrap()["OpportunityLineItemId"], products[0]["Id"]);
        assert_eq!(store.get("Opportunity", &opp).unwrap()["Amount"], json!(180.0));
        store.update(object("QuoteLineItem"), &quote_line, body(json!({"Quantity": 5})), &c).unwrap();
        assert_eq!(store.get("Opportunity", &opp).unwrap()["Amount"], json!(225.0));
        assert_eq!(store.lines_of(&opp)[0]["Id"], products[0]["Id"], "edited in place");
        let err = store.update(object("Quote"), &quote, body(json!({"TotalPrice": 1})), &c).unwrap_err();
        assert_eq!(err.code, "INVALID_FIELD_FOR_INSERT_UPDATE");
    }

    #[test]
    fn order_products_need_an_active_entry_of_the_orders_price_book_and_keep_order_and_entry() {
        let (mut store, product, account) = store_with_product();
        let entry = store.all("PricebookEntry").next().unwrap()["Id"].as_str().unwrap().to_string();
        let book = store.all("Pricebook2").next().unwrap()["Id"].as_str().unwrap().to_string();
        let (order_def, item_def) = (object("Order"), object("OrderItem"));
        let order = json!({"AccountId": account, "EffectiveDate": "2026-11-25", "Status": "Draft"});
        let order = store.create(order_def, body(order), &ctx("")).unwrap();
        let item =
            |qty: f64| body(json!({"OrderId": order, "PricebookEntryId": entry, "Quantity": qty, "UnitPrice": 12.5}));
        let err = store.create(item_def, item(2.0), &ctx("")).unwrap_err();
        assert_eq!(
            (err.code.as_str(), err.fields.clone()),
            ("FIELD_INTEGRITY_EXCEPTION", vec!["PricebookEntryId".into()])
        );
        assert!(err.message.contains("no pricebook assigned"), "{}", err.message);
        store.update(order_def, &order, body(json!({"Pricebook2Id": book})), &ctx("")).unwrap();
        let id = store.create(item_def, item(2.0), &ctx("")).unwrap();
        let stored = store.get("OrderItem", &id).unwrap();
        assert_eq!(
            (&stored["Product2Id"], &stored["ListPrice"], &stored["TotalPrice"]),
            (&json!(product), &json!(50.0), &json!(25.0))
        );
        assert_eq!(store.get("Order", &order).unwrap()["TotalAmount"], json!(25.0));
        // Order and entry are fixed once created; quantity and price are not.
        let err = store.update(item_def, &id, body(json!({"PricebookEntryId": entry})), &ctx("")).unwrap_err();
        assert_eq!(err.code, "INVALID_FIELD_FOR_INSERT_UPDATE");
        store.update(item_def, &id, body(json!({"Quantity": 4})), &ctx("")).unwrap();
        assert_eq!(store.get("Order", &order).unwrap()["TotalAmount"], json!(50.0));
        let other = store.create(object("Pricebook2"), body(json!({"Name": "EU"})), &ctx("")).unwrap();
        let err = store.update(order_def, &order, body(json!({"Pricebook2Id": other})), &ctx("")).unwrap_err();
        assert_eq!(err.code, "FIELD_INTEGRITY_EXCEPTION", "no new price book under existing products");
        store.update(object("PricebookEntry"), &entry, body(json!({"IsActive": false})), &ctx("")).unwrap();
        let err = store.create(item_def, item(1.0), &ctx("")).unwrap_err();
        assert!(err.message.contains("inactive"), "{}", err.message);
        store.update(order_def, &order, body(json!({"Status": "Activated"})), &ctx("")).unwrap();
        assert_eq!(store.delete(item_def, &id, &ctx("")).unwrap_err().code, "FIELD_INTEGRITY_EXCEPTION", "activated");
        store.update(order_def, &order, body(json!({"Status": "Draft"})), &ctx("")).unwrap();
        store.delete(item_def, &id, &ctx("")).unwrap();
        assert_eq!(store.get("Order", &order).unwrap()["TotalAmount"], json!(0.0));
    }

    #[test]
    fn a_merge_reparents_children_silently_deletes_the_loser_with_its_master_and_an_undelete_restores() {
        let (mut store, _, master) = store_with_product();
        let (account, contact) = (object("Account"), object("Contact"));
        let loser =
            store.create(account, body(json!({"Name": "Acme Ltd", "SAP_CardCode__c": "C2"})), &ctx("")).unwrap();
        let person = store.create(contact, body(json!({"LastName": "Lee", "AccountId": loser})), &ctx("")).unwrap();
        let logged = store.changes().len();
        store.merge(account, &master, std::slice::from_ref(&loser), &ctx("")).unwrap();
        assert_eq!(store.get("Contact", &person).unwrap()["AccountId"], json!(master));
        let events: Vec<(&str, &str)> =
            store.changes()[logged..].iter().map(|c| (c.entity.as_str(), c.change_type.as_str())).collect();
        assert_eq!(events, [("Account", "DELETE"), ("Account", "UPDATE")], "no event for the reparented contact");
        assert!(store.get("Account", &loser).is_none());
        let binned = store.deleted("Account").next().unwrap();
        assert_eq!((&binned["IsDeleted"], &binned["MasterRecordId"]), (&json!(true), &json!(master)));
        store.undelete(account, &loser, &ctx("")).unwrap();
        assert_eq!(store.get("Account", &loser).unwrap()["IsDeleted"], json!(false));
        assert_eq!(store.changes().last().unwrap().change_type, "UNDELETE");
        assert_eq!(store.undelete(account, &loser, &ctx("")).unwrap_err().code, "UNDELETE_FAILED");
    }

    #[test]
    fn creates_log_values_without_changed_fields_and_updates_log_only_what_changed() {
        let (mut store, _, account) = store_with_product();
        store.clear_changes();
        let def = object("Account");
        store
            .update(def, &account, body(json!({"Name": "Acme", "Phone": "+49 1"})), &ctx("com/x;client=b1force"))
            .unwrap();
        let change = &store.changes()[0];
        assert_eq!(change.changed_fields, vec!["LastModifiedDate".to_string(), "Phone".to_string()]);
        assert_eq!(change.values["Phone"], json!("+49 1"));
        let id = store.create(def, body(json!({"Name": "New"})), &ctx("")).unwrap();
        let created = store.changes().last().unwrap();
        assert_eq!((created.record_id.as_str(), created.change_type.as_str()), (id.as_str(), "CREATE"));
        assert!(created.changed_fields.is_empty());
        assert_eq!(created.values["Name"], json!("New"));
    }

    /// Every record of every object, for comparing whole stores.
    fn snapshot(store: &Store) -> Vec<Record> {
        ["Account", "Product2", "PricebookEntry", "Opportunity", "OpportunityLineItem", "SAP_Invoice__c"]
            .iter()
            .flat_map(|o| store.all(o).cloned())
            .collect()
    }

    #[test]
    fn external_ids_are_found_through_the_index_case_insensitively_and_numbers_by_value() {
        let (mut store, _, account) = store_with_product();
        let invoice = object("SAP_Invoice__c");
        let id =
            store.create(invoice, body(json!({"SAP_Document_Key__c": "Invoices/7", "SAP_DocEntry__c": 7})), &ctx(""));
        let id = id.unwrap();
        assert_eq!(store.find_by("Account", "SAP_CardCode__c", "c1"), vec![account.clone()]);
        assert_eq!(store.find_by("SAP_Invoice__c", "SAP_Document_Key__c", "INVOICES/7"), vec![id.clone()]);
        assert_eq!(store.find_by("SAP_Invoice__c", "SAP_DocEntry__c", "7.0"), vec![id.clone()]);
        assert_eq!(store.upsert_target("SAP_Invoice__c", "SAP_DocEntry__c", "8"), UpsertTarget::New);
        store.update(object("Account"), &account, body(json!({"SAP_CardCode__c": "C2"})), &ctx("")).unwrap();
        assert!(store.find_by("Account", "SAP_CardCode__c", "C1").is_empty(), "the old value left the index");
        assert_eq!(store.find_by("Account", "SAP_CardCode__c", "C2"), vec![account.clone()]);
        let other = store.create(object("Account"), body(json!({"Name": "B", "SAP_CardCode__c": "C3"})), &ctx(""));
        let err = store.update(object("Account"), &other.unwrap(), body(json!({"SAP_CardCode__c": "c2"})), &ctx(""));
        assert_eq!(err.unwrap_err().code, "DUPLICATE_VALUE", "uniqueness is checked through the index too");
        store.delete(invoice, &id, &ctx("")).unwrap();
        assert!(store.find_by("SAP_Invoice__c", "SAP_Document_Key__c", "Invoices/7").is_empty());
    }

    #[test]
    fn a_rollback_restores_records_indexes_counters_and_the_change_log() {
        let (mut store, product, account) = store_with_product();
        let (before, changes) = (snapshot(&store), store.changes().len());
        let savepoint = store.savepoint();
        let c = ctx("");
        store.update(object("Account"), &account, body(json!({"SAP_CardCode__c": "C9"})), &c).unwrap();
        store.update(object("Product2"), &product, body(json!({"ProductCode": "NEW"})), &c).unwrap();
        let created = store.create(object("Account"), body(json!({"Name": "Gone", "SAP_CardCode__c": "C1"})), &c);
        store.delete(object("Account"), &account, &c).unwrap();
        store.rollback(savepoint);
        assert_eq!(snapshot(&store), before);
        assert_eq!(store.changes().len(), changes);
        assert_eq!(store.find_by("Account", "SAP_CardCode__c", "C1"), vec![account]);
        assert!(store.find_by("Account", "SAP_CardCode__c", "C9").is_empty());
        let again = store.create(object("Account"), body(json!({"Name": "Again"})), &c).unwrap();
        assert_eq!(Ok(again), created, "the id sequence was rolled back too");
    }

    #[test]
    fn a_parent_named_by_external_id_sets_the_lookup_or_fails_with_the_documented_text() {
        let (mut store, _, account) = store_with_product();
        let invoice = object("SAP_Invoice__c");
        let reference = json!({"SAP_Document_Key__c": "Invoices/1",
                               "Account__r": {"attributes": {"type": "Account"}, "SAP_CardCode__c": "c1"}});
        let id = store.create(invoice, body(reference), &ctx("")).unwrap();
        assert_eq!(store.get("SAP_Invoice__c", &id).unwrap()["Account__c"], json!(account));
        let opportunity = json!({"Name": "D", "StageName": "Prospecting", "CloseDate": "2026-11-25",
                                 "Account": {"SAP_CardCode__c": "C1"}});
        let id = store.create(object("Opportunity"), body(opportunity), &ctx("")).unwrap();
        assert_eq!(store.get("Opportunity", &id).unwrap()["AccountId"], json!(account), "AccountId -> Account");
        let missing = body(json!({"SAP_Document_Key__c": "Invoices/2", "Account__r": {"SAP_CardCode__c": "C404"}}));
        let err = store.create(invoice, missing, &ctx("")).unwrap_err();
        assert_eq!((err.status, err.code.as_str()), (400, "INVALID_FIELD"));
        assert_eq!(err.message, "Foreign key external ID: C404 not found for field SAP_CardCode__c in entity Account");
        let by_name = body(json!({"Account__r": {"Name": "Acme"}}));
        assert!(store.create(invoice, by_name, &ctx("")).unwrap_err().message.contains("not an External ID"));
        let line = body(json!({"Opportunity": {"Name": "D"}, "Quantity": 1}));
        assert_eq!(store.create(object("OpportunityLineItem"), line, &ctx("")).unwrap_err().code, "INVALID_FIELD");
    }

    #[test]
    fn a_validation_rule_refuses_a_matching_record_on_create_and_update() {
        let (mut store, _, account) = store_with_product();
        store.add_rule(ValidationRule::new("account", "phone", &json!("BAD"), "Phone is invalid").unwrap());
        let def = object("Account");
        let err = store.create(def, body(json!({"Name": "X", "Phone": "BAD"})), &ctx("")).unwrap_err();
        assert_eq!(
            (err.status, err.code.as_str(), err.message.as_str(), err.fields.clone()),
            (400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Phone is invalid", vec!["Phone".to_string()])
        );
        let required_first = store.create(def, body(json!({"Phone": "BAD"})), &ctx("")).unwrap_err();
        assert_eq!(required_first.code, "REQUIRED_FIELD_MISSING");
        assert!(store.create(def, body(json!({"Name": "X", "Phone": "bad"})), &ctx("")).is_ok(), "case-sensitive");
        let before = store.get("Account", &account).cloned();
        assert!(store.update(def, &account, body(json!({"Phone": "BAD"})), &ctx("")).is_err());
        assert_eq!(store.get("Account", &account).cloned(), before);
        assert_eq!(ValidationRule::new("Account", "Nope", &json!(1), "m").unwrap_err().code, "INVALID_FIELD");
        store.clear_rules();
        store.update(def, &account, body(json!({"Phone": "BAD"})), &ctx("")).unwrap();
    }

    #[test]
    fn an_invoice_computes_its_formula_fields_and_is_named_by_its_id_when_unnamed() {
        let mut store = Store::default();
        let invoice = object("SAP_Invoice__c");
        let fields = json!({"SAP_Document_Key__c": "CreditNotes/1", "Type__c": "Credit Note", "Amount__c": 100.5,
                            "Paid_Amount__c": "40.25", "Invoice_Date__c": "2026-11-25"});
        let id = store.create(invoice, body(fields), &ctx("")).unwrap();
        assert!(id.starts_with("a01"));
        let stored = store.get("SAP_Invoice__c", &id).unwrap();
        let formulas = (stored["Open_Amount__c"].clone(), stored["Is_Credit_Note__c"].clone());
        assert_eq!(formulas, (json!(60.25), json!(true)));
        assert_eq!(stored["Name"], json!(id));
        let err = store.update(invoice, &id, body(json!({"Open_Amount__c": 1})), &ctx("")).unwrap_err();
        assert_eq!(err.code, "INVALID_FIELD_FOR_INSERT_UPDATE", "formula fields are read-only");
    }
}
