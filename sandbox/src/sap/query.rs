//! OData system query options (`$filter $select $orderby $top $skip`) and server-side paging.

use super::odata_filter::{self, Expr};
use serde_json::Value;
use std::borrow::Borrow;
use std::cmp::Ordering;

/// The options of one request, decoded (`%24` → `$`, `+` → space).
#[derive(Debug, Default)]
pub struct QueryOptions {
    pub filter: Option<Expr>,
    pub select: Option<Vec<String>>,
    pub order_by: Vec<(String, bool)>,
    pub top: Option<usize>,
    pub skip: usize,
    /// Every parameter as it arrived (still encoded), for building `@odata.nextLink`.
    raw_pairs: Vec<(String, String)>,
}

/// A 400 the handler reports with an SAP error body.
#[derive(Debug)]
pub struct BadQuery(pub String);

/// Decodes one query-string component: `+` is a space, then percent-decoding.
pub fn decode(component: &str) -> String {
    let spaced = component.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

impl QueryOptions {
    /// Parses the raw query string; `known` tells which properties the entity set has.
    pub fn parse(raw: Option<&str>, known: &dyn Fn(&str) -> bool) -> Result<Self, BadQuery> {
        let mut options = QueryOptions::default();
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            options.raw_pairs.push((raw_key.to_string(), raw_value.to_string()));
            let value = decode(raw_value);
            match decode(raw_key).as_str() {
                "$filter" => {
                    let expr =
                        odata_filter::parse(&value).map_err(|e| BadQuery(format!("Invalid $filter: {}", e.0)))?;
                    if let Some(unknown) = expr.properties().into_iter().find(|p| !known(p)) {
                        return Err(BadQuery(format!("Property '{unknown}' is invalid in $filter")));
                    }
                    options.filter = Some(expr);
                }
                "$select" => {
                    let fields: Vec<String> =
                        value.split(',').map(|f| f.trim().to_string()).filter(|f| !f.is_empty()).collect();
                    if let Some(unknown) = fields.iter().find(|f| !known(f)) {
                        return Err(BadQuery(format!("Property '{unknown}' is invalid in $select")));
                    }
                    options.select = Some(fields);
                }
                "$orderby" => options.order_by = parse_order_by(&value, known)?,
                "$top" => options.top = Some(parse_count("$top", &value)?),
                "$skip" => options.skip = parse_count("$skip", &value)?,
                // Accepted and ignored: $count/$inlinecount are answered by the count endpoint only.
                _ => {}
            }
        }
        Ok(options)
    }

    /// True when `row` passes `$filter` (or there is none).
    pub fn matches(&self, row: &Value) -> bool {
        self.filter.as_ref().is_none_or(|f| f.matches(row))
    }

    /// How many matching rows, in result order, decide one page: those skipped, the page, and one
    /// more to tell whether a next page follows. A caller may stop looking after that many.
    pub fn rows_needed(&self, page_size: usize) -> usize {
        let page = match (self.top, page_size) {
            (Some(top), 0) => top,
            (Some(top), size) => top.min(size),
            (None, 0) => return usize::MAX,
            (None, size) => size,
        };
        self.skip.saturating_add(page).saturating_add(1)
    }

    /// Filters, sorts (stable, key order as tie-break), skips, cuts one page and applies `$select`;
    /// only the rows of the page are copied. Returns the page and the `$skip` of the next page when
    /// more rows remain.
    pub fn page<R: Borrow<Value>>(&self, rows: Vec<R>, page_size: usize) -> (Vec<Value>, Option<usize>) {
        let mut rows: Vec<R> = rows.into_iter().filter(|r| self.matches(r.borrow())).collect();
        if !self.order_by.is_empty() {
            let field = |i: usize| self.order_by[i].0.as_str();
            rows.sort_by(|a, b| {
                let (a, b) = (a.borrow(), b.borrow());
                compare_rows(&self.order_by, |i| a.get(field(i)), |i| b.get(field(i)))
            });
        }
        let available = rows.len().saturating_sub(self.skip);
        let wanted = self.top.map_or(available, |top| top.min(available));
        let limit = if page_size == 0 { wanted } else { wanted.min(page_size) };
        let page = rows.iter().skip(self.skip).take(limit).map(|r| self.project(r.borrow())).collect();
        // A `$top` within one page never gets a nextLink, even when more rows exist (as on real servers).
        let next = (limit < wanted).then_some(self.skip + limit);
        (page, next)
    }

    /// A copy of one row with only the `$select` properties (all without `$select`).
    pub fn project(&self, row: &Value) -> Value {
        match (&self.select, row) {
            (Some(fields), Value::Object(map)) => Value::Object(
                map.iter()
                    .filter(|(k, _)| fields.iter().any(|f| f == *k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            (_, row) => row.clone(),
        }
    }

    /// `<EntitySet>?<original options>&$skip=N`, with `$top` reduced by what earlier pages served.
    pub fn next_link(&self, entity_set: &str, next_skip: usize) -> String {
        let mut parts: Vec<String> = Vec::new();
        for (key, value) in &self.raw_pairs {
            match decode(key).as_str() {
                "$skip" => {}
                "$top" => {
                    if let Some(top) = self.top {
                        parts.push(format!("$top={}", top - (next_skip - self.skip)));
                    }
                }
                _ => parts.push(format!("{key}={value}")),
            }
        }
        parts.push(format!("$skip={next_skip}"));
        format!("{entity_set}?{}", parts.join("&"))
    }
}

fn parse_count(name: &str, value: &str) -> Result<usize, BadQuery> {
    value.trim().parse().map_err(|_| BadQuery(format!("{name} must be a non-negative integer, got '{value}'")))
}

fn parse_order_by(value: &str, known: &dyn Fn(&str) -> bool) -> Result<Vec<(String, bool)>, BadQuery> {
    value
        .split(',')
        .map(|clause| {
            let mut words = clause.split_whitespace();
            let field = words.next().ok_or_else(|| BadQuery("Empty clause in $orderby".into()))?;
            if !known(field) {
                return Err(BadQuery(format!("Property '{field}' is invalid in $orderby")));
            }
            let ascending = match words.next().map(str::to_ascii_lowercase).as_deref() {
                None | Some("asc") => true,
                Some("desc") => false,
                Some(other) => {
                    return Err(BadQuery(format!("Invalid sort direction '{other}' in $orderby")));
                }
            };
            if words.next().is_some() {
                return Err(BadQuery(format!("Invalid $orderby clause '{}'", clause.trim())));
            }
            Ok((field.to_string(), ascending))
        })
        .collect()
}

/// Orders two rows by `$orderby` keys; `a(i)` and `b(i)` read the value of the i-th key.
pub fn compare_rows<'a>(
    order_by: &[(String, bool)],
    a: impl Fn(usize) -> Option<&'a Value>,
    b: impl Fn(usize) -> Option<&'a Value>,
) -> Ordering {
    order_by
        .iter()
        .enumerate()
        .map(|(i, (_, ascending))| {
            let o = compare_values(a(i), b(i));
            if *ascending { o } else { o.reverse() }
        })
        .find(|o| *o != Ordering::Equal)
        .unwrap_or(Ordering::Equal)
}

/// Orders JSON scalars for `$orderby`: nulls first, then numbers, then strings.
pub fn compare_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn rank(v: Option<&Value>) -> u8 {
        match v {
            None | Some(Value::Null) => 0,
            Some(Value::Number(_)) => 1,
            _ => 2,
        }
    }
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            x.as_f64().unwrap_or(0.0).partial_cmp(&y.as_f64().unwrap_or(0.0)).unwrap_or(Ordering::Equal)
        }
        (Some(Value::String(x)), Some(Value::String(y))) => super::entities::collate(x, y),
        _ => rank(a).cmp(&rank(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn any_field(_: &str) -> bool {
        true
    }

    fn rows(n: usize) -> Vec<Value> {
        (0..n).map(|i| json!({"Code": format!("C{i:02}"), "N": (i % 3) as i64})).collect()
    }

    fn codes(page: &[Value]) -> Vec<&str> {
        page.iter().map(|r| r["Code"].as_str().unwrap()).collect()
    }

    #[test]
    fn percent_encoded_dollar_and_plus_spaces_are_decoded() {
        let q = QueryOptions::parse(Some("%24filter=Code+eq+%27C01%27&%24top=5"), &any_field).unwrap();
        let (page, next) = q.page(rows(10), 20);
        assert_eq!(codes(&page), vec!["C01"]);
        assert_eq!(next, None);
    }

    #[test]
    fn skip_applies_before_top_whatever_the_order_in_the_url() {
        let q = QueryOptions::parse(Some("$top=2&$skip=3"), &any_field).unwrap();
        assert_eq!(codes(&q.page(rows(10), 20).0), vec!["C03", "C04"]);
    }

    #[test]
    fn orderby_sorts_by_several_keys() {
        let q = QueryOptions::parse(Some("$orderby=N desc,Code asc&$top=4"), &any_field).unwrap();
        assert_eq!(codes(&q.page(rows(6), 20).0), vec!["C02", "C05", "C01", "C04"]);
    }

    #[test]
    fn next_link_keeps_the_options_and_moves_skip() {
        let q = QueryOptions::parse(Some("$select=Code&$skip=2&$orderby=Code"), &any_field).unwrap();
        let (page, next) = q.page(rows(10), 3);
        assert_eq!(page, vec![json!({"Code": "C02"}), json!({"Code": "C03"}), json!({"Code": "C04"})]);
        assert_eq!(q.next_link("Things", next.unwrap()), "Things?$select=Code&$orderby=Code&$skip=5");
    }

    #[test]
    fn a_top_within_one_page_gets_no_next_link_and_a_larger_top_shrinks_in_it() {
        let q = QueryOptions::parse(Some("$top=3"), &any_field).unwrap();
        assert_eq!(q.page(rows(10), 3).1, None);
        let q = QueryOptions::parse(Some("$top=5"), &any_field).unwrap();
        let next = q.page(rows(10), 3).1.unwrap();
        assert_eq!(q.next_link("Things", next), "Things?$top=2&$skip=3");
    }

    #[test]
    fn text_filters_and_sorts_case_insensitively_as_b1_on_sql_server() {
        let rows = vec![json!({"Code": "b2"}), json!({"Code": "A1"}), json!({"Code": "C3"}), json!({"Code": "a0"})];
        let q = QueryOptions::parse(Some("$filter=Code eq 'c3' or Code eq 'B2'"), &any_field).unwrap();
        assert_eq!(codes(&q.page(rows.clone(), 20).0), vec!["b2", "C3"]);
        let q = QueryOptions::parse(Some("$filter=Code gt 'a1'&$orderby=Code"), &any_field).unwrap();
        assert_eq!(codes(&q.page(rows.clone(), 20).0), vec!["b2", "C3"], "a scan watermark in B1's order");
        let q = QueryOptions::parse(Some("$orderby=Code"), &any_field).unwrap();
        assert_eq!(codes(&q.page(rows, 20).0), vec!["a0", "A1", "b2", "C3"], "byte order would put A1 and C3 first");
    }

    #[test]
    fn unknown_properties_and_bad_numbers_are_rejected() {
        let known = |f: &str| f == "Code";
        assert!(QueryOptions::parse(Some("$select=Code,Nope"), &known).is_err());
        assert!(QueryOptions::parse(Some("$filter=Nope eq 1"), &known).is_err());
        assert!(QueryOptions::parse(Some("$orderby=Code sideways"), &known).is_err());
        assert!(QueryOptions::parse(Some("$top=-1"), &known).is_err());
        assert!(QueryOptions::parse(Some("$filter=Code eq"), &known).is_err());
    }
}
