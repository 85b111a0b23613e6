//! [`Remembering`]: our Salesforce writers, each successful write of a record the sf-receiver
//! watches noted in the [`WriteLedger`] so its echo is recognised without a `changeOrigin` tag
//! (issue #12 item 8, [`crate::domain::echo`]).

use crate::domain::echo::{REMEMBER_MS, WrittenFields};
use crate::domain::objects::salesforce_object;
use crate::domain::{CardCode, Record, RecordKey, SalesforceId};
use crate::error::Result;
use crate::ports::{Clock, OpenDeal, OrderProducts, RecordWrite, SalesforceUpdates, SalesforceWrites, WriteLedger};
use async_trait::async_trait;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// A Salesforce writer that notes what it wrote. A ledger failure never fails the write: the
/// echo is then processed as a change, which re-reads and writes nothing new.
pub struct Remembering<S: ?Sized> {
    pub inner: Arc<S>,
    pub ledger: Arc<dyn WriteLedger>,
    pub clock: Arc<dyn Clock>,
}

impl<S: ?Sized> Remembering<S> {
    /// Notes `fields` for each record of `object` that `ids` says was written.
    async fn note<'a>(&self, object: &str, written: impl Iterator<Item = (&'a RecordWrite, &'a Record)>) {
        if salesforce_object(object).is_none() {
            return; // the receiver never sees this object's changes
        }
        let entries: Vec<(String, WrittenFields)> = written
            .filter_map(|(result, fields)| {
                let id = SalesforceId::parse(result.as_ref().ok()?).ok()?;
                Some((RecordKey::salesforce(object, &id).to_string(), WrittenFields::of(fields)))
            })
            .collect();
        self.note_entries(&entries).await;
    }

    async fn note_entries(&self, entries: &[(String, WrittenFields)]) {
        if entries.is_empty() {
            return;
        }
        let now = self.clock.now_millis();
        if let Err(err) = self.ledger.remember(entries, now, now + REMEMBER_MS).await {
            tracing::warn!(error = %err, records = entries.len(), "could not note our writes; their echoes will be re-read");
        }
    }

    async fn note_one(&self, object: &str, id: &SalesforceId, fields: &Record) {
        if salesforce_object(object).is_some() {
            self.note_entries(&[(RecordKey::salesforce(object, id).to_string(), WrittenFields::of(fields))]).await;
        }
    }
}

#[async_trait]
impl<S: SalesforceWrites + ?Sized> SalesforceWrites for Remembering<S> {
    async fn upsert_many(&self, object: &str, external_id: &str, records: &[Record]) -> Result<Vec<RecordWrite>> {
        let results = self.inner.upsert_many(object, external_id, records).await?;
        self.note(object, results.iter().zip(records)).await;
        Ok(results)
    }

    async fn update_many(&self, object: &str, records: &[Record]) -> Result<Vec<RecordWrite>> {
        let results = self.inner.update_many(object, records).await?;
        self.note(object, results.iter().zip(records)).await;
        Ok(results)
    }

    async fn create_many(&self, object: &str, records: &[Record]) -> Result<Vec<RecordWrite>> {
        let results = self.inner.create_many(object, records).await?;
        self.note(object, results.iter().zip(records)).await;
        Ok(results)
    }

    async fn standard_pricebook(&self) -> Result<SalesforceId> {
        self.inner.standard_pricebook().await
    }

    async fn pricebook_entries(
        &self,
        pricebook: &SalesforceId,
        products: &[SalesforceId],
    ) -> Result<HashMap<SalesforceId, SalesforceId>> {
        self.inner.pricebook_entries(pricebook, products).await
    }

    /// Deleted records have no echo to recognise: nothing to remember.
    async fn delete_many(&self, ids: &[SalesforceId]) -> Result<Vec<RecordWrite>> {
        self.inner.delete_many(ids).await
    }

    async fn entries_by_item_code(
        &self,
        pricebook: &SalesforceId,
        item_codes: &[String],
    ) -> Result<HashMap<String, SalesforceId>> {
        self.inner.entries_by_item_code(pricebook, item_codes).await
    }

    async fn order_products(&self, orders: &[SalesforceId]) -> Result<Vec<OrderProducts>> {
        self.inner.order_products(orders).await
    }

    async fn open_cases(&self, card_codes: &[CardCode]) -> Result<Vec<(String, SalesforceId)>> {
        self.inner.open_cases(card_codes).await
    }

    async fn open_deals(&self, card_codes: &[CardCode]) -> Result<Vec<OpenDeal>> {
        self.inner.open_deals(card_codes).await
    }

    /// Events are never echoed as changes (no Change Data Capture): nothing to remember.
    async fn publish_event(&self, event: &str, fields: &Record) -> Result<String> {
        self.inner.publish_event(event, fields).await
    }

    fn api_usage(&self) -> Option<(u64, u64)> {
        self.inner.api_usage()
    }

    async fn refresh_api_usage(&self) -> Result<Option<(u64, u64)>> {
        self.inner.refresh_api_usage().await
    }
}

#[async_trait]
impl<S: SalesforceUpdates + ?Sized> SalesforceUpdates for Remembering<S> {
    async fn set_account_card_code(&self, account: &SalesforceId, card_code: &CardCode) -> Result<()> {
        self.inner.set_account_card_code(account, card_code).await?;
        let fields = json!({"SAP_CardCode__c": card_code.as_str()});
        self.note_one("Account", account, fields.as_object().expect("an object")).await;
        Ok(())
    }

    async fn update_record(&self, object: &str, id: &SalesforceId, fields: &Record) -> Result<()> {
        self.inner.update_record(object, id, fields).await?;
        self.note_one(object, id, fields).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::{EmbeddedWriteLedger, ManualClock};
    use crate::error::Error;

    /// Answers every write with the given results and records nothing.
    struct Answers(Vec<RecordWrite>);

    #[async_trait]
    impl SalesforceWrites for Answers {
        async fn upsert_many(&self, _: &str, _: &str, _: &[Record]) -> Result<Vec<RecordWrite>> {
            Ok(self.0.clone())
        }
        async fn update_many(&self, o: &str, r: &[Record]) -> Result<Vec<RecordWrite>> {
            self.upsert_many(o, "", r).await
        }
        async fn create_many(&self, o: &str, r: &[Record]) -> Result<Vec<RecordWrite>> {
            self.upsert_many(o, "", r).await
        }
        async fn standard_pricebook(&self) -> Result<SalesforceId> {
            unreachable!()
        }
        async fn pricebook_entries(
            &self,
            _: &SalesforceId,
            _: &[SalesforceId],
        ) -> Result<HashMap<SalesforceId, SalesforceId>> {
            unreachable!()
        }
        async fn delete_many(&self, _: &[SalesforceId]) -> Result<Vec<RecordWrite>> {
            unreachable!()
        }
        async fn entries_by_item_code(&self, _: &SalesforceId, _: &[String]) -> Result<HashMap<String, SalesforceId>> {
            unreachable!()
        }
        async fn order_products(&self, _: &[SalesforceId]) -> Result<Vec<OrderProducts>> {
            unreachable!()
        }
        async fn open_cases(&self, _: &[CardCode]) -> Result<Vec<(String, SalesforceId)>> {
            unreachable!()
        }
        async fn open_deals(&self, _: &[CardCode]) -> Result<Vec<OpenDeal>> {
            unreachable!()
        }
        async fn publish_event(&self, _: &str, _: &Record) -> Result<String> {
            unreachable!()
        }
        fn api_usage(&self) -> Option<(u64, u64)> {
            None
        }
        async fn refresh_api_usage(&self) -> Result<Option<(u64, u64)>> {
            Ok(None)
        }
    }

    #[tokio::test]
    async fn only_records_written_to_watched_objects_are_noted() {
        let ledger = Arc::new(EmbeddedWriteLedger::new());
        let (ok, failed) = ("001SB00000001ABYAY", Err(Error::Invalid("FIELD_CUSTOM_VALIDATION_EXCEPTION".into())));
        let writes = Remembering {
            inner: Arc::new(Answers(vec![Ok(ok.to_string()), failed])),
            ledger: ledger.clone(),
            clock: Arc::new(ManualClock::new(1_000)),
        };
        let records: Vec<Record> =
            [json!({"Phone": "1"}), json!({"Phone": "2"})].iter().map(|r| r.as_object().unwrap().clone()).collect();
        writes.upsert_many("Account", "SAP_CardCode__c", &records).await.unwrap();
        let key = format!("sf:Account:{ok}");
        assert_eq!(ledger.written(&key, 1_000).await.unwrap(), Some(WrittenFields::of(&records[0])));
        assert_eq!(ledger.len(), 1, "the refused record was not written");
        writes.upsert_many("Product2", "SAP_ItemCode__c", &records).await.unwrap();
        assert_eq!(ledger.len(), 1, "the receiver never sees Product2 changes");
    }
}
