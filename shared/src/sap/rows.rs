//! [`SapRows`] for [`SapClient`]: the current state of many records in few requests
//! (`$filter=Key eq 'a' or Key eq 'b' ...`), never one request per record. A request holds at most
//! [`KEYS_PER_READ`] keys, and fewer when their percent-encoded URL would make the request line longer
//! than the Service Layer's Apache front end accepts ([`MAX_REQUEST_LINE`]).

use super::SapClient;
use super::odata::{Filter, Literal, Property, Query};
use super::schema;
use crate::domain::Record;
use crate::error::{Error, Result};
use crate::ports::SapRows;
use async_trait::async_trait;
use futures::future::try_join_all;
use serde_json::Value;

/// Keys per request at most (`$top` stays within one 100-row page).
pub const KEYS_PER_READ: usize = 100;
/// Apache httpd refuses a request line (`GET <target> HTTP/1.1`) over 8190 bytes with 414
/// (`LimitRequestLine`, default 8190) [V: Apache HTTP Server 2.4 core documentation]. 100 ASCII keys fit
/// easily; 100 ItemCodes of 50 non-ASCII characters (up to 9 encoded bytes each) do not.
pub const MAX_REQUEST_LINE: usize = 8190;
/// Room kept under the limit for a `nextLink` the server builds from the same options plus `$skip=N`.
pub(super) const NEXT_LINK_ROOM: usize = 64;
/// Reads of one batch in flight at once (the Service Layer handles concurrent requests per session).
const PARALLEL_READS: usize = 4;

#[async_trait]
impl SapRows for SapClient {
    async fn rows_by_key(&self, entity: &str, key: &str, keys: &[String], select: &[String]) -> Result<Vec<Record>> {
        let key = Property::parse(key)?;
        let mut properties = vec![key.clone()];
        for name in select {
            let property = Property::parse(name)?;
            if !properties.contains(&property) {
                properties.push(property);
            }
        }
        let literals = keys.iter().map(|k| schema::literal(&key, k)).collect::<Result<Vec<_>>>()?;
        let query = |run: &[Literal]| {
            let filter = Filter::any(run.iter().map(|literal| Filter::eq(&key, literal.clone())));
            let query = Query::new().filter(filter).select(properties.clone());
            // A key is unique, so a run of n keys has at most n rows; a UDF (`U_SF_OpportunityId`)
            // may be on several rows, and all of them are read (nextLink pages).
            if key.as_str().starts_with("U_") { query } else { query.top(run.len() as u32) }
        };
        let fits = |run: &[Literal]| -> Result<bool> {
            Ok(self.request_line_len(entity, &query(run))? + NEXT_LINK_ROOM <= MAX_REQUEST_LINE)
        };
        let queries = runs_that_fit(&literals, KEYS_PER_READ, fits)?.into_iter().map(query).collect::<Vec<_>>();
        let mut rows = Vec::with_capacity(keys.len());
        // A few requests in flight at once, over the one session: the Service Layer serves them in parallel.
        for group in queries.chunks(PARALLEL_READS) {
            let mut pending = Vec::with_capacity(group.len());
            for query in group {
                pending.push(self.query(entity, query));
            }
            for row in try_join_all(pending).await?.into_iter().flatten() {
                match row {
                    Value::Object(record) => rows.push(record),
                    _ => return Err(super::undecodable("a collection row is not an object")),
                }
            }
        }
        Ok(rows)
    }
}

/// Splits `items` in order into runs of at most `max` items, each as long as `fits` allows; an item that
/// does not fit even alone is an error.
pub(super) fn runs_that_fit<T>(items: &[T], max: usize, fits: impl Fn(&[T]) -> Result<bool>) -> Result<Vec<&[T]>> {
    let mut runs = Vec::new();
    let mut start = 0;
    while start < items.len() {
        let mut end = start + 1;
        if !fits(&items[start..end])? {
            return Err(Error::Invalid(format!(
                "key {} alone makes a request line over {MAX_REQUEST_LINE} bytes",
                start + 1
            )));
        }
        while end < items.len() && end - start < max && fits(&items[start..=end])? {
            end += 1;
        }
        runs.push(&items[start..end]);
        start = end;
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_entries_are_integers_and_other_keys_quoted_text() {
        let doc_entry = Property::parse("DocEntry").unwrap();
        assert_eq!(Filter::eq(&doc_entry, schema::literal(&doc_entry, "42").unwrap()).as_str(), "DocEntry eq 42");
        assert!(schema::literal(&doc_entry, "42 or 1 eq 1").is_err());
        let card_code = Property::parse("CardCode").unwrap();
        let literal = schema::literal(&card_code, "C'1").unwrap();
        assert_eq!(Filter::eq(&card_code, literal).as_str(), "CardCode eq 'C''1'");
    }

    #[test]
    fn many_keys_make_one_flat_disjunction() {
        let card_code = Property::parse("CardCode").unwrap();
        let filter =
            Filter::any(["A", "B", "C"].map(|k| Filter::eq(&card_code, schema::literal(&card_code, k).unwrap())));
        assert_eq!(filter.as_str(), "CardCode eq 'A' or CardCode eq 'B' or CardCode eq 'C'");
    }

    #[test]
    fn runs_are_as_long_as_the_limit_allows_and_never_longer_than_max() {
        let items: Vec<usize> = (0..10).collect();
        let lengths = |runs: Vec<&[usize]>| runs.iter().map(|r| r.len()).collect::<Vec<_>>();
        // A run of total weight at most 10 (weight = value + 1).
        let weight = |run: &[usize]| Ok(run.iter().map(|i| i + 1).sum::<usize>() <= 10);
        assert_eq!(lengths(runs_that_fit(&items, 100, weight).unwrap()), vec![4, 1, 1, 1, 1, 1, 1]);
        assert_eq!(lengths(runs_that_fit(&items, 3, |_| Ok(true)).unwrap()), vec![3, 3, 3, 1]);
        assert!(runs_that_fit(&items, 3, |run: &[usize]| Ok(run[0] < 5)).is_err(), "an item too long alone");
        assert!(runs_that_fit(&[] as &[usize], 3, |_| Ok(false)).unwrap().is_empty());
    }
}
