//! [`SapReconcileReads`] for [`SapClient`]: whole entity sets for F8, in pages of the client's page
//! size, by key (keyset paging: `key gt <last>`), so deep pages cost the server no more than the first.

use super::SapClient;
use super::odata::{Filter, Property};
use super::schema;
use crate::domain::Record;
use crate::error::Result;
use crate::ports::SapReconcileReads;
use async_trait::async_trait;
use serde_json::Value;

/// `key` first, then the `select` properties, each once and validated.
fn properties(key: &str, select: &[String]) -> Result<Vec<Property>> {
    let mut properties = vec![Property::parse(key)?];
    for name in select {
        let property = Property::parse(name)?;
        if !properties.contains(&property) {
            properties.push(property);
        }
    }
    Ok(properties)
}

fn records(rows: Vec<Value>) -> Result<Vec<Record>> {
    rows.into_iter()
        .map(|row| match row {
            Value::Object(record) => Ok(record),
            _ => Err(super::undecodable("a collection row is not an object")),
        })
        .collect()
}

/// `DocDate ge <from> and DocDate le <to>`, literals typed by the schema (`Edm.DateTimeOffset`).
fn dated(from: &str, to: &str) -> Result<Filter> {
    let doc_date = Property::parse("DocDate")?;
    Ok(Filter::ge(&doc_date, schema::literal(&doc_date, from)?)
        .and(Filter::le(&doc_date, schema::literal(&doc_date, to)?)))
}

/// `DocumentStatus eq open and DocDueDate ge <from> and DocDueDate lt <to>`, literals typed by the schema.
fn open_and_due(from: &str, to: &str) -> Result<Filter> {
    let (status, due) = (Property::parse("DocumentStatus")?, Property::parse("DocDueDate")?);
    Ok(Filter::eq(&status, schema::literal(&status, "bost_Open")?)
        .and(Filter::ge(&due, schema::literal(&due, from)?))
        .and(Filter::lt(&due, schema::literal(&due, to)?)))
}

#[async_trait]
impl SapReconcileReads for SapClient {
    async fn documents_dated(&self, entity: &str, from: &str, to: &str, select: &[String]) -> Result<Vec<Record>> {
        let key = Property::parse("DocEntry")?;
        records(self.query_by_key(entity, &key, Some(dated(from, to)?), &properties("DocEntry", select)?).await?)
    }

    async fn open_documents_due(&self, entity: &str, from: &str, to: &str, select: &[String]) -> Result<Vec<Record>> {
        let key = Property::parse("DocEntry")?;
        records(self.query_by_key(entity, &key, Some(open_and_due(from, to)?), &properties("DocEntry", select)?).await?)
    }

    async fn cancelled_since(&self, entity: &str, from: &str) -> Result<Vec<Record>> {
        let (key, cancelled, date) =
            (Property::parse("DocEntry")?, Property::parse("Cancelled")?, Property::parse("DocDate")?);
        let filter = Filter::eq(&cancelled, schema::literal(&cancelled, "tYES")?)
            .and(Filter::ge(&date, schema::literal(&date, from)?));
        records(self.query_by_key(entity, &key, Some(filter), &properties("DocEntry", &[])?).await?)
    }

    async fn open_documents(&self, entity: &str, select: &[String]) -> Result<Vec<Record>> {
        let (key, status) = (Property::parse("DocEntry")?, Property::parse("DocumentStatus")?);
        let open = Filter::eq(&status, schema::literal(&status, "bost_Open")?);
        records(self.query_by_key(entity, &key, Some(open), &properties("DocEntry", select)?).await?)
    }

    async fn all_rows(&self, entity: &str, key: &str, select: &[String]) -> Result<Vec<Record>> {
        records(self.query_by_key(entity, &Property::parse(key)?, None, &properties(key, select)?).await?)
    }

    fn service_root(&self) -> String {
        self.inner.root.to_string()
    }

    fn requests_sent(&self) -> u64 {
        self.stats().requests
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_filter_uses_v4_date_time_offsets_and_refuses_anything_else() {
        assert_eq!(
            dated("2026-11-01", "2026-11-25").unwrap().as_str(),
            "(DocDate ge 2026-11-01T00:00:00Z) and (DocDate le 2026-11-25T00:00:00Z)"
        );
        assert!(dated("2026-11-01' or 1 eq 1", "2026-11-25").is_err());
        assert_eq!(
            open_and_due("2026-11-01", "2026-11-25").unwrap().as_str(),
            "((DocumentStatus eq SAPB1.BoStatus'bost_Open') and (DocDueDate ge 2026-11-01T00:00:00Z)) and (DocDueDate lt 2026-11-25T00:00:00Z)"
        );
    }
}
