//! Finding the rows of a collection request without scanning or copying the whole table.
//!
//! - A `$filter` of `key eq <literal>` terms joined by `or` (a batch read by key) is answered by key lookups.
//! - A document or payment `$filter` confined to named customers (`CardCode eq` terms joined by `or`,
//!   alone or in an `and`) reads those customers' rows from the CardCode index.
//! - Otherwise the table is read in `$orderby` order (key order breaking ties) from a cached sorted copy
//!   of its keys, starting where the filter can first be true (a keyset page starts right after the
//!   previous page), and reading stops once enough rows for the page are found.
//!
//! Both only choose where to look: [`super::query::QueryOptions::page`] still runs the general
//! evaluator on every row found, then sorts and cuts as it does for a full scan.

use super::entities::{EntitySet, Key};
use super::odata_filter::{CompareOp, Expr, Literal, Operand, holds, is_date_like};
use super::query::{QueryOptions, compare_rows};
use super::store::{Store, Table};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Sorted orders kept at most; clients use a handful, so the cache is simply emptied when full.
const MAX_SORTED: usize = 16;

/// Sorted copies of tables' keys, per (set, `$orderby`).
#[derive(Default)]
pub struct SortCache(HashMap<(EntitySet, Vec<(String, bool)>), Sorted>);

/// A table's keys in one order: the `$orderby` keys, then the entity key.
struct Sorted {
    /// The table's generation this order was built from.
    generation: u64,
    keys: Vec<Key>,
    /// The sort columns; only ascending, searchable ones (see [`searchable`]) are used to seek.
    columns: Vec<Column>,
}

struct Column {
    name: String,
    seekable: bool,
}

/// Positions `lo..hi` of the sorted keys whose rows agree on the sort columns before `depth`.
#[derive(Debug, Clone, Copy)]
struct Run {
    lo: usize,
    hi: usize,
    depth: usize,
}

impl Store {
    /// The rows that can be on the page `options` asks for, for [`QueryOptions::page`] to filter, sort and
    /// cut: the rows a key batch names, or the first `needed` (see [`QueryOptions::rows_needed`]) rows
    /// passing the filter in result order.
    pub fn select(&mut self, set: EntitySet, options: &QueryOptions, needed: usize) -> Vec<&Value> {
        let Some(table) = self.tables.get(&set) else { return Vec::new() };
        if let Some(keys) = options.filter.as_ref().and_then(|f| keys_named(set, f)) {
            return keys.iter().filter_map(|k| table.get(k)).collect();
        }
        if (set.is_document() || set == EntitySet::IncomingPayments)
            && let Some(codes) = options.filter.as_ref().and_then(card_codes_named)
        {
            // The named customers' documents from the CardCode index (case-folded: a superset of
            // what the evaluator finds equal), each once.
            let rows: BTreeMap<i64, &Value> = codes
                .iter()
                .flat_map(|code| self.documents_of(code, set))
                .filter_map(|row| Some((row["DocEntry"].as_i64()?, row)))
                .collect();
            return rows.into_values().collect();
        }
        let generation = self.generation(set);
        let sorted = self.sorted.get(set, &options.order_by, generation, table);
        let whole = Run { lo: 0, hi: sorted.keys.len(), depth: 0 };
        let start = options.filter.as_ref().map_or(0, |f| sorted.start(table, f, whole));
        sorted.keys[start..].iter().filter_map(|k| table.get(k)).filter(|r| options.matches(r)).take(needed).collect()
    }

    /// How many rows of `set` pass `options.filter`.
    pub fn count(&self, set: EntitySet, options: &QueryOptions) -> usize {
        let Some(table) = self.table_of(set) else { return 0 };
        match options.filter.as_ref().and_then(|f| keys_named(set, f)) {
            Some(keys) => keys.iter().filter_map(|k| table.get(k)).filter(|r| options.matches(r)).count(),
            None => table.values().filter(|r| options.matches(r)).count(),
        }
    }
}

/// The keys a `$filter` of `key eq <literal>` terms joined by `or` can match, or `None` when it has
/// another shape or a literal only the evaluator can judge (null; text it would compare as a date).
/// Literals of the wrong type are left out: the evaluator never finds them equal to a key.
fn keys_named(set: EntitySet, filter: &Expr) -> Option<BTreeSet<Key>> {
    let mut keys = BTreeSet::new();
    for literal in filter.key_literals(set.key_field())? {
        match literal {
            Literal::Null | Literal::Date(..) => return None,
            Literal::Text(text) | Literal::Time(text) if !set.has_int_key() => {
                if is_date_like(text) {
                    return None;
                }
                keys.insert(Key::Text(text.clone()));
            }
            Literal::Number(n) if set.has_int_key() && n.fract() == 0.0 && n.abs() < 9e15 => {
                keys.insert(Key::Int(*n as i64));
            }
            _ => {}
        }
    }
    Some(keys)
}

/// The CardCodes a `$filter` confines its rows to: `CardCode eq '…'` terms joined by `or`, alone or
/// as an operand of an `and` (e.g. a bulk read of several customers' open invoices); `None` when it
/// does not confine them to text CardCodes the evaluator compares as text.
fn card_codes_named(filter: &Expr) -> Option<Vec<&str>> {
    if let Expr::And(terms) = filter {
        return terms.iter().find_map(card_codes_named);
    }
    let literals = filter.key_literals("CardCode")?;
    literals
        .into_iter()
        .map(|literal| match literal {
            Literal::Text(text) if !is_date_like(text) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

impl SortCache {
    /// The order of `table` for `order_by`, built again when the table changed since it was cached.
    fn get(&mut self, set: EntitySet, order_by: &[(String, bool)], generation: u64, table: &Table) -> &Sorted {
        let id = (set, order_by.to_vec());
        let fresh = self.0.get(&id).is_some_and(|s| s.generation == generation);
        if !fresh {
            if self.0.len() >= MAX_SORTED {
                self.0.clear();
            }
            self.0.insert(id.clone(), Sorted::build(set, order_by, generation, table));
        }
        &self.0[&id]
    }
}

impl Sorted {
    fn build(set: EntitySet, order_by: &[(String, bool)], generation: u64, table: &Table) -> Self {
        let columns: Vec<(String, bool)> =
            order_by.iter().cloned().chain([(set.key_field().to_string(), true)]).collect();
        // Reading the sort values once keeps the sort itself free of map lookups.
        let mut rows: Vec<(&Key, Vec<Option<&Value>>)> =
            table.iter().map(|(key, row)| (key, columns.iter().map(|(f, _)| row.get(f)).collect())).collect();
        if !order_by.is_empty() {
            // Stable, from key order: ties stay in key order, as in `QueryOptions::page`.
            rows.sort_by(|(_, a), (_, b)| compare_rows(order_by, |i| a[i], |i| b[i]));
        }
        let columns = columns
            .iter()
            .enumerate()
            .map(|(i, (name, ascending))| Column {
                name: name.clone(),
                seekable: *ascending && searchable(rows.iter().map(|(_, values)| values[i])),
            })
            .collect();
        Sorted { generation, keys: rows.into_iter().map(|(key, _)| key.clone()).collect(), columns }
    }

    /// The name of sort column `depth`, if a comparison on it may be binary-searched.
    fn column(&self, depth: usize) -> Option<&str> {
        self.columns.get(depth).filter(|c| c.seekable).map(|c| c.name.as_str())
    }

    /// A position in `run` before which no row passes `filter`.
    fn start(&self, table: &Table, filter: &Expr, run: Run) -> usize {
        match filter {
            Expr::Or(terms) => terms.iter().map(|t| self.start(table, t, run)).min().unwrap_or(run.lo),
            Expr::And(terms) => self.start_all(table, terms.iter().collect(), run),
            Expr::Compare(op, Operand::Property(name), Operand::Literal(literal))
                if self.column(run.depth) == Some(name.as_str()) =>
            {
                match (op, literal) {
                    (CompareOp::Eq, _) => self.equal_run(table, name, literal, run).map_or(run.hi, |r| r.lo),
                    // Nulls sort first: `ne null` starts after them.
                    (CompareOp::Ne, Literal::Null) => {
                        self.first(table, run, |row| !holds(CompareOp::Eq, row, name, literal))
                    }
                    (CompareOp::Gt | CompareOp::Ge, literal) if *literal != Literal::Null => {
                        self.first(table, run, |row| holds(*op, row, name, literal))
                    }
                    _ => run.lo,
                }
            }
            _ => run.lo,
        }
    }

    /// [`Self::start`] of terms joined by `and`: an equality on the next sort column narrows the run
    /// to the rows with that value, where the other terms seek on the columns after it.
    fn start_all(&self, table: &Table, terms: Vec<&Expr>, run: Run) -> usize {
        let column = self.column(run.depth);
        let equality = terms.iter().enumerate().find_map(|(i, term)| match term {
            Expr::Compare(CompareOp::Eq, Operand::Property(name), Operand::Literal(literal))
                if column == Some(name.as_str()) =>
            {
                Some((i, name, literal))
            }
            _ => None,
        });
        if let Some((i, name, literal)) = equality {
            let Some(inner) = self.equal_run(table, name, literal, run) else { return run.hi };
            let rest = terms.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, t)| *t).collect();
            return self.start_all(table, rest, inner);
        }
        terms.iter().map(|t| self.start(table, t, run)).max().unwrap_or(run.lo)
    }

    /// The rows of `run` whose column `name` (sort column `run.depth`) equals `literal`, if any.
    fn equal_run(&self, table: &Table, name: &str, literal: &Literal, run: Run) -> Option<Run> {
        let (lo, hi) = if *literal == Literal::Null {
            (run.lo, self.first(table, run, |row| !holds(CompareOp::Eq, row, name, literal)))
        } else {
            let lo = self.first(table, run, |row| holds(CompareOp::Ge, row, name, literal));
            (lo, self.first(table, Run { lo, ..run }, |row| holds(CompareOp::Gt, row, name, literal)))
        };
        (lo < hi).then_some(Run { lo, hi, depth: run.depth + 1 })
    }

    /// The first position in `run` whose row passes `test`, which is false before it and true from it on.
    fn first(&self, table: &Table, run: Run, test: impl Fn(&Value) -> bool) -> usize {
        run.lo + self.keys[run.lo..run.hi].partition_point(|key| !table.get(key).is_some_and(&test))
    }
}

/// True when the filter's comparisons follow the sort order of a column, so a comparison with a
/// literal is false up to some row and true after it (the nulls, sorted first, never pass `gt`/`ge`):
/// every value is null, or all are numbers, or all are text no filter compares as a date, or all are
/// dates written in one shape (same length), whose text order is their date order.
fn searchable<'a>(values: impl Iterator<Item = Option<&'a Value>>) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Kind {
        Number,
        Text,
        Date(usize),
    }
    let mut seen = None;
    for value in values {
        let kind = match value {
            None | Some(Value::Null) => continue,
            Some(Value::Number(_)) => Kind::Number,
            Some(Value::String(s)) if is_date_like(s) => Kind::Date(s.len()),
            Some(Value::String(_)) => Kind::Text,
            Some(_) => return false,
        };
        if *seen.get_or_insert(kind) != kind {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::super::entities::Stamp;
    use super::super::store::PatchOptions;
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use serde_json::json;

    const PAGE: usize = 7;

    fn options(set: EntitySet, query: &str) -> QueryOptions {
        QueryOptions::parse(Some(query), &|f| set.has_field(f)).unwrap_or_else(|e| panic!("{query}: {}", e.0))
    }

    /// The page a full scan gives: every row through the general evaluator.
    fn scanned(store: &Store, set: EntitySet, query: &str) -> (Vec<Value>, Option<usize>) {
        options(set, query).page(store.rows(set), PAGE)
    }

    /// The page [`Store::select`] gives.
    fn selected(store: &mut Store, set: EntitySet, query: &str) -> (Vec<Value>, Option<usize>) {
        let options = options(set, query);
        let rows = store.select(set, &options, options.rows_needed(PAGE));
        options.page(rows, PAGE)
    }

    /// Master data and history, plus partners whose stamps tie, lack a time, or fall on other days.
    fn store() -> Store {
        let mut store = Store::seeded();
        let days = ["2026-11-24", "2026-11-25", "2026-11-26"];
        let times = [Some("09:00:00"), Some("10:30:00"), Some("10:30:00"), None];
        for k in 0..120 {
            let now = Stamp::at(days[k % 3], times[k % 4].unwrap_or("00:00:00"));
            let body = json!({"CardCode": format!("T{:03}", (k * 37) % 120), "CardName": format!("Tie {k}"),
                              "CreditLimit": (k % 5) as f64 * 1000.0});
            store.create(EntitySet::BusinessPartners, body, &now).unwrap();
            if times[k % 4].is_none() {
                let key = Key::Text(format!("T{:03}", (k * 37) % 120));
                let mut row = store.get(EntitySet::BusinessPartners, &key).unwrap().clone();
                row["UpdateTime"] = Value::Null;
                store.insert(EntitySet::BusinessPartners, row);
            }
        }
        let codes: Vec<String> = (0..40).map(|k| format!("T{k:03}")).collect();
        for (k, day) in days.iter().enumerate() {
            super::super::seed::changed_invoices(&mut store, 15, &codes[k * 10..], &Stamp::at(day, "10:30:00"));
        }
        store
    }

    #[test]
    fn documents_of_named_customers_come_from_the_card_code_index_with_the_rows_a_scan_finds() {
        let mut store = store();
        let customers = "(CardCode eq 'T003' or CardCode eq 't011' or CardCode eq 'C20000' or CardCode eq 'NOPE')";
        for filter in [
            customers.to_string(),
            format!("DocumentStatus eq 'bost_Open' and {customers}"),
            format!("{customers} and DocTotal gt 100"),
            "CardCode eq 'T012'".to_string(),
        ] {
            let filter_expr = options(EntitySet::Invoices, &format!("$filter={filter}")).filter.unwrap();
            assert!(card_codes_named(&filter_expr).is_some(), "{filter}");
            for extra in
                ["", "&$orderby=DocDueDate desc", "&$orderby=DocEntry&$top=3", "&$skip=2&$select=DocEntry,CardCode"]
            {
                let query = format!("$filter={filter}{extra}");
                let found = selected(&mut store, EntitySet::Invoices, &query);
                assert_eq!(found, scanned(&store, EntitySet::Invoices, &query), "{query}");
            }
        }
        let (open, _) = scanned(&store, EntitySet::Invoices, &format!("$filter={customers}"));
        assert!(!open.is_empty(), "the filter finds documents");
        // Not confined to customers: the general path.
        for filter in ["CardCode eq 'T003' or DocEntry eq 1", "CardCode ne 'T003'", "CardCode eq null"] {
            assert!(
                card_codes_named(&options(EntitySet::Invoices, &format!("$filter={filter}")).filter.unwrap()).is_none()
            );
        }
    }

    #[test]
    fn a_key_batch_is_answered_by_key_lookups_with_the_rows_a_scan_finds() {
        let mut store = store();
        let batches = [
            (EntitySet::BusinessPartners, "CardCode eq 'T007' or CardCode eq 'C20001' or CardCode eq 'NOPE'"),
            (EntitySet::BusinessPartners, "CardCode eq 'T007' or CardCode eq 'T007' or CardCode eq 10:30:00"),
            (EntitySet::BusinessPartners, "CardCode eq 5 or CardCode eq true or (CardCode eq 'T100')"),
            (EntitySet::Invoices, "DocEntry eq 3 or DocEntry eq 30.0 or DocEntry eq 2.5 or DocEntry eq '4'"),
            (EntitySet::Invoices, "DocEntry eq 60 or DocEntry eq 1 or DocEntry eq 999 or DocEntry eq -1"),
        ];
        for (set, filter) in batches {
            assert!(keys_named(set, &options(set, &format!("$filter={filter}")).filter.unwrap()).is_some());
            let select = format!("&$select={},UpdateTime", set.key_field());
            for extra in ["", &select, "&$orderby=CardName desc&$top=2", "&$skip=1"] {
                let query = format!("$filter={filter}{extra}");
                assert_eq!(selected(&mut store, set, &query), scanned(&store, set, &query), "{query}");
            }
        }
        let all: Vec<String> = (0..100).map(|k| format!("CardCode eq 'T{k:03}'")).collect();
        let query = format!("$filter={}&$top=100", all.join(" or "));
        let batch = options(EntitySet::BusinessPartners, &query);
        let (rows, _) = batch.page(store.select(EntitySet::BusinessPartners, &batch, usize::MAX), 0);
        assert_eq!(rows.len(), 100);
        assert_eq!(
            rows,
            options(EntitySet::BusinessPartners, &query).page(store.rows(EntitySet::BusinessPartners), 0).0
        );
    }

    #[test]
    fn literals_a_key_lookup_cannot_judge_fall_back_to_a_scan() {
        for filter in ["CardCode eq null", "CardCode eq '2026-11-25'", "CardCode eq 2026-11-25 or CardCode eq 'A'"] {
            let expr = options(EntitySet::BusinessPartners, &format!("$filter={filter}")).filter.unwrap();
            assert_eq!(keys_named(EntitySet::BusinessPartners, &expr), None, "{filter}");
        }
    }

    /// The poller's keyset filter after `row` (see shared/src/sap/changes.rs), by UpdateDate, UpdateTime, key.
    fn after(set: EntitySet, row: &Value) -> String {
        let day = &row["UpdateDate"].as_str().unwrap()[..10];
        let key = match &row[set.key_field()] {
            Value::String(code) => format!("'{code}'"),
            other => other.to_string(),
        };
        let key = format!("{} gt {key}", set.key_field());
        match row["UpdateTime"].as_str() {
            Some(t) => format!(
                "(UpdateDate gt {day}) or (UpdateDate eq {day} and UpdateTime gt '{t}') or \
                 (UpdateDate eq {day} and UpdateTime eq '{t}' and {key})"
            ),
            None => format!(
                "(UpdateDate gt {day}) or (UpdateDate eq {day} and UpdateTime ne null) or \
                 (UpdateDate eq {day} and UpdateTime eq null and {key})"
            ),
        }
    }

    #[test]
    fn keyset_pages_seek_to_their_first_row_and_match_a_scan() {
        let mut store = store();
        for set in [EntitySet::BusinessPartners, EntitySet::Invoices] {
            let order = format!("$orderby=UpdateDate asc,UpdateTime asc,{} asc&$top={PAGE}", set.key_field());
            let mut query = format!("$filter=UpdateDate ge 2024-01-01&{order}");
            let mut seen = 0;
            loop {
                let (page, _) = selected(&mut store, set, &query);
                assert_eq!((page.clone(), None), scanned(&store, set, &query), "{query}");
                // The seek lands on the page's first row: nothing before it is read.
                let parsed = options(set, &query);
                let generation = store.generation(set);
                let table = store.tables.get(&set).unwrap();
                let sorted = store.sorted.get(set, &parsed.order_by, generation, table);
                let start = sorted.start(
                    table,
                    parsed.filter.as_ref().unwrap(),
                    Run { lo: 0, hi: sorted.keys.len(), depth: 0 },
                );
                let first = sorted.keys.iter().position(|k| parsed.matches(&table[k]));
                assert_eq!(start, first.unwrap_or(sorted.keys.len()), "{query}");
                seen += page.len();
                let Some(last) = page.last() else { break };
                query = format!("$filter={}&{order}", after(set, last));
            }
            assert_eq!(seen, store.rows(set).len(), "every row of {} exactly once", set.name());
        }
    }

    #[test]
    fn a_write_invalidates_the_cached_order() {
        let mut store = store();
        let query = "$orderby=CreditLimit desc,CardCode&$top=1&$select=CardCode";
        let (before, _) = selected(&mut store, EntitySet::BusinessPartners, query);
        assert_ne!(before, vec![json!({"CardCode": "T001"})]);
        let key = Key::Text("T001".into());
        let now = Stamp::at("2026-11-27", "08:00:00");
        let body = json!({"CreditLimit": 1e9});
        store.patch(EntitySet::BusinessPartners, &key, body, PatchOptions::default(), &now).unwrap();
        assert_eq!(selected(&mut store, EntitySet::BusinessPartners, query).0, vec![json!({"CardCode": "T001"})]);
    }

    /// A random filter over `fields`, with literals taken from the rows (and a few odd ones).
    fn random_filter(rng: &mut StdRng, rows: &[Value], fields: &[&str], depth: u32) -> String {
        match rng.random_range(0..if depth == 0 { 1 } else { 5 }) {
            0 => {
                let field = fields[rng.random_range(0..fields.len())];
                let op = ["eq", "ne", "gt", "ge", "lt", "le"][rng.random_range(0..6)];
                let literal = match (rng.random_range(0..10), &rows[rng.random_range(0..rows.len())][field]) {
                    (0, _) | (_, Value::Null) => "null".to_string(),
                    (1, _) => "'zzz'".to_string(),
                    (2, Value::String(s)) if s.len() == 20 => s[..10].to_string(),
                    (_, Value::String(s)) => format!("'{s}'"),
                    (_, other) => other.to_string(),
                };
                format!("{field} {op} {literal}")
            }
            1 | 2 => {
                let joiner = if rng.random_bool(0.5) { "and" } else { "or" };
                let terms: Vec<String> =
                    (0..rng.random_range(2..4)).map(|_| random_filter(rng, rows, fields, depth - 1)).collect();
                format!("({})", terms.join(&format!(" {joiner} ")))
            }
            3 => format!("not ({})", random_filter(rng, rows, fields, depth - 1)),
            _ => format!("({})", after_any(rng, rows)),
        }
    }

    fn after_any(rng: &mut StdRng, rows: &[Value]) -> String {
        let row = &rows[rng.random_range(0..rows.len())];
        let set = if row.get("DocEntry").is_some() { EntitySet::Invoices } else { EntitySet::BusinessPartners };
        after(set, row)
    }

    #[test]
    fn random_filters_and_orders_give_the_pages_a_scan_gives() {
        let mut store = store();
        let mut rng = StdRng::seed_from_u64(2026);
        let cases = [
            (EntitySet::BusinessPartners, ["UpdateDate", "UpdateTime", "CardCode", "CreditLimit"]),
            (EntitySet::Invoices, ["UpdateDate", "UpdateTime", "DocEntry", "DocTotal"]),
        ];
        for (set, fields) in cases {
            let rows = store.rows(set);
            for _ in 0..400 {
                let filter = random_filter(&mut rng, &rows, &fields, 3);
                let mut order: Vec<String> = Vec::new();
                for _ in 0..rng.random_range(0..4) {
                    let direction = if rng.random_bool(0.8) { "asc" } else { "desc" };
                    order.push(format!("{} {direction}", fields[rng.random_range(0..fields.len())]));
                }
                let mut query = format!("$filter={filter}&$top={}", rng.random_range(1..20));
                if !order.is_empty() {
                    query += &format!("&$orderby={}", order.join(","));
                }
                if rng.random_bool(0.3) {
                    query += &format!("&$skip={}", rng.random_range(0..10));
                }
                assert_eq!(selected(&mut store, set, &query), scanned(&store, set, &query), "{query}");
                let parsed = options(set, &query);
                assert_eq!(store.count(set, &parsed), rows.iter().filter(|r| parsed.matches(r)).count(), "{query}");
            }
        }
    }
}
