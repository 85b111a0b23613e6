//! [`SapRows`] for [`SapClient`]: the current state of many records in one request per
//! [`KEYS_PER_READ`] keys (`$filter=Key eq 'a' or Key eq 'b' ...`), never one request per record.

use super::SapClient;
use super::odata::{Filter, Literal, Property, Query};
use crate::domain::Record;
use crate::error::{Error, Result};
use crate::ports::SapRows;
use async_trait::async_trait;
use futures::future::try_join_all;
use serde_json::Value;

/// Keys per request: 100 `CardCode eq '…'` terms keep the URL near 4 KB, well below the 8 KB
/// request-line limits of the Service Layer's Apache front end.
pub const KEYS_PER_READ: usize = 100;
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
        let queries = keys
            .chunks(KEYS_PER_READ)
            .map(|chunk| {
                let literals = chunk.iter().map(|k| key_literal(&key, k)).collect::<Result<Vec<_>>>()?;
                let filter = Filter::any(literals.into_iter().map(|literal| Filter::eq(&key, literal)));
                Ok(Query::new().filter(filter).select(properties.clone()).top(chunk.len() as u32))
            })
            .collect::<Result<Vec<_>>>()?;
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

/// `DocEntry` keys are integers; every other key is a quoted text literal.
fn key_literal(key: &Property, value: &str) -> Result<Literal> {
    if key.as_str() == "DocEntry" {
        let n = value.parse::<i64>().map_err(|_| Error::Invalid(format!("DocEntry {value:?} is not an integer")))?;
        return Ok(Literal::int(n));
    }
    Ok(Literal::text(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_entries_are_integers_and_other_keys_quoted_text() {
        let doc_entry = Property::parse("DocEntry").unwrap();
        assert_eq!(Filter::eq(&doc_entry, key_literal(&doc_entry, "42").unwrap()).as_str(), "DocEntry eq 42");
        assert!(key_literal(&doc_entry, "42 or 1 eq 1").is_err());
        let card_code = Property::parse("CardCode").unwrap();
        assert_eq!(Filter::eq(&card_code, key_literal(&card_code, "C'1").unwrap()).as_str(), "CardCode eq 'C''1'");
    }

    #[test]
    fn many_keys_make_one_flat_disjunction() {
        let card_code = Property::parse("CardCode").unwrap();
        let filter = Filter::any(["A", "B", "C"].map(|k| Filter::eq(&card_code, Literal::text(k))));
        assert_eq!(filter.as_str(), "CardCode eq 'A' or CardCode eq 'B' or CardCode eq 'C'");
    }
}
