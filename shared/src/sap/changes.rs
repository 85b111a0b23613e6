//! Changed rows for the sap-poller: one keyset page per request (`$filter` from the previous page's
//! last row, `$top`), never a `$skip` nextLink, so rows edited mid-run cannot shift others out of view.

use super::odata::{Filter, Literal, Property, Query};
use super::schema;
use super::{SapClient, parse_json, undecodable};
use crate::domain::polled::{EntitySpec, RowFilter, Start, Tracking};
use crate::domain::state::Watermark;
use crate::error::{Error, Result};
use crate::ports::{ChangePage, ChangeQuery, SapChanges};
use async_trait::async_trait;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use reqwest::header::HeaderValue;
use serde_json::Value;

#[async_trait]
impl SapChanges for SapClient {
    async fn changed(&self, query: &ChangeQuery<'_>) -> Result<ChangePage> {
        let spec = query.entity;
        let entity = Property::parse(spec.entity_set)?;
        let key = Property::parse(spec.key)?;
        let mut select = vec![key.clone()];
        let mut order = Query::new();
        if spec.tracking == Tracking::UpdateStamp {
            select.extend([Property::from("UpdateDate"), Property::from("UpdateTime")]);
            order = order.order_by("UpdateDate", true).order_by("UpdateTime", true);
        }
        for field in spec.fields.iter().copied().chain(query.also_select.iter().map(String::as_str)) {
            let field = Property::parse(field)?;
            if !select.contains(&field) {
                select.push(field);
            }
        }
        let options = order.order_by(key, true).select(select).top(query.limit).to_query_string();
        let filter = match only_filter(query.only)? {
            None => change_filter(spec, query.start)?,
            Some(only) => format!("({}) and {}", change_filter(spec, query.start)?, only.as_str()),
        };
        let mut url = self.url(entity.as_str())?;
        url.set_query(Some(&format!("$filter={}&{options}", utf8_percent_encode(&filter, NON_ALPHANUMERIC))));
        // A server that caps the page below `$top` answers with a nextLink: then more rows may follow.
        let prefer = HeaderValue::from_str(&format!("odata.maxpagesize={}", query.limit))
            .map_err(|e| Error::Config(format!("page size: {e}")))?;
        let reply = self.execute(Method::GET, url, None, Some(("Prefer", prefer))).await?;
        let page = parse_json(&reply)?;
        let Some(Value::Array(values)) = page.get("value") else {
            return Err(undecodable("a collection reply has no value array"));
        };
        let rows = values
            .iter()
            .map(|v| v.as_object().cloned().ok_or_else(|| undecodable("a collection row is not an object")))
            .collect::<Result<Vec<_>>>()?;
        let next = page.get("@odata.nextLink").or_else(|| page.get("odata.nextLink")).is_some();
        let more = next || rows.len() >= query.limit as usize;
        Ok(ChangePage { rows, more })
    }
}

/// The mapping's `sap_filter` as a `$filter` term (each literal typed by [`schema`]), or `None` when
/// every row is synced.
pub fn only_filter(only: &RowFilter) -> Result<Option<Filter>> {
    if only.is_empty() {
        return Ok(None);
    }
    let mut terms = Vec::new();
    for (name, allowed) in &only.only {
        let property = Property::parse(name)?;
        let any = allowed
            .iter()
            .map(|value| Ok(Filter::eq(&property, schema::literal(&property, value)?)))
            .collect::<Result<Vec<_>>>()?;
        terms.push(Filter::either(any));
    }
    Ok(Some(Filter::all(terms)))
}

/// The `$filter` text for a page, every literal typed by [`schema`]. Null UpdateTimes sort first
/// within their day (as `$orderby` puts nulls), and the first page takes all of them for its start
/// day, since their time is unknown.
pub fn change_filter(spec: &EntitySpec, start: &Start) -> Result<String> {
    let position = match start {
        Start::Since(w) | Start::After(w) => w,
    };
    // Validates the fixed-width shapes before any literal is made of them.
    position.sort_key()?;
    let key = Property::parse(spec.key)?;
    let after_key = |raw: &str| -> Result<Filter> { Ok(Filter::gt(&key, schema::literal(&key, raw)?)) };
    match spec.tracking {
        Tracking::DocEntry => return Ok(after_key(&position.doc_entry.unwrap_or(0).to_string())?.as_str().to_string()),
        // A scan starts at the first key; `gt ''` keeps one filter shape for every page.
        Tracking::Scan => return Ok(after_key(&position.key)?.as_str().to_string()),
        Tracking::UpdateStamp => {}
    }
    let Watermark { date: d, time: t, .. } = position;
    if d.is_empty() {
        return Err(Error::Invalid(format!("a {} page needs a start date", spec.name)));
    }
    let (day_property, time_property): (Property, Property) = ("UpdateDate".into(), "UpdateTime".into());
    let day = schema::literal(&day_property, d)?;
    let later_day = || Filter::gt(&day_property, day.clone());
    let same_day = || Filter::eq(&day_property, day.clone());
    let key_after = || -> Result<Filter> {
        match (spec.doc_entry_key, position.doc_entry) {
            (true, Some(entry)) => after_key(&entry.to_string()),
            (true, None) => Err(Error::Invalid("a document position without DocEntry".into())),
            (false, _) => after_key(&position.key),
        }
    };
    let no_time = || Filter::eq(&time_property, Literal::null());
    let filter = match (start, t.is_empty()) {
        (Start::Since(_), true) => Filter::ge(&day_property, day.clone()),
        (Start::Since(_), false) => {
            let clock = schema::literal(&time_property, t)?;
            Filter::either([
                later_day(),
                Filter::all([same_day(), Filter::ge(&time_property, clock)]),
                Filter::all([same_day(), no_time()]),
            ])
        }
        (Start::After(_), true) => Filter::either([
            later_day(),
            Filter::all([same_day(), Filter::ne(&time_property, Literal::null())]),
            Filter::all([same_day(), no_time(), key_after()?]),
        ]),
        (Start::After(_), false) => {
            let clock = schema::literal(&time_property, t)?;
            Filter::either([
                later_day(),
                Filter::all([same_day(), Filter::gt(&time_property, clock.clone())]),
                Filter::all([same_day(), Filter::eq(&time_property, clock), key_after()?]),
            ])
        }
    };
    Ok(filter.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(date: &str, time: &str, key: &str, doc_entry: Option<i64>) -> Watermark {
        Watermark { date: date.into(), time: time.into(), key: key.into(), doc_entry }
    }

    #[test]
    fn later_pages_start_strictly_after_the_last_row_by_date_time_and_key() {
        let bp = EntitySpec::named("BusinessPartners").unwrap();
        let filter = change_filter(&bp, &Start::After(at("2026-11-25", "10:30:00", "C'1", None))).unwrap();
        assert_eq!(
            filter,
            "(UpdateDate gt 2026-11-25T00:00:00Z) or \
             ((UpdateDate eq 2026-11-25T00:00:00Z) and (UpdateTime gt 10:30:00)) or \
             ((UpdateDate eq 2026-11-25T00:00:00Z) and (UpdateTime eq 10:30:00) and (CardCode gt 'C''1'))"
        );
        let orders = EntitySpec::named("Orders").unwrap();
        let filter = change_filter(&orders, &Start::After(at("2026-11-25", "", "9", Some(9)))).unwrap();
        assert!(filter.ends_with("(UpdateTime eq null) and (DocEntry gt 9))"), "{filter}");
    }

    #[test]
    fn the_first_page_includes_rows_of_its_day_without_update_time() {
        let bp = EntitySpec::named("BusinessPartners").unwrap();
        let filter = change_filter(&bp, &Start::Since(at("2026-11-25", "10:20:00", "", None))).unwrap();
        assert!(filter.contains("((UpdateDate eq 2026-11-25T00:00:00Z) and (UpdateTime ge 10:20:00))"), "{filter}");
        assert!(filter.contains("((UpdateDate eq 2026-11-25T00:00:00Z) and (UpdateTime eq null))"), "{filter}");
    }

    #[test]
    fn payments_page_by_doc_entry_and_malformed_positions_are_refused() {
        let payments = EntitySpec::named("IncomingPayments").unwrap();
        assert_eq!(change_filter(&payments, &Start::Since(at("", "", "", Some(42)))).unwrap(), "DocEntry gt 42");
        let bp = EntitySpec::named("BusinessPartners").unwrap();
        assert!(change_filter(&bp, &Start::Since(at("2026-11-25') or (1 eq 1", "", "", None))).is_err());
    }
}
