//! Bulk API 2.0 ingest CSV (reference §2.8, docs/wire-notes.md §10e), written one record at a
//! time: pure, so a backfill streams SAP rows into a job without holding them as records.

use crate::domain::Record;
use crate::error::{Error, Result};
use serde_json::Value;
use std::collections::HashMap;

/// Most CSV bytes one ingest job takes (Bulk API 2.0: 150 MB of raw data per job); jobs are cut
/// below it so the base64-free upload never reaches the limit.
pub const MAX_JOB_BYTES: usize = 100 * 1024 * 1024;

/// A field's value as a Bulk API cell: null is `#N/A` (set to null), text as it is.
pub fn cell_text(value: &Value) -> Result<String> {
    Ok(match value {
        Value::Null => "#N/A".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => return Err(Error::Invalid(format!("a Bulk API cell cannot hold {other}"))),
    })
}

/// Bulk API 2.0 CSV built one record at a time, for a backfill that streams rows into a job and
/// must not hold them as records: memory is the CSV itself plus one offset per row. Columns as in
/// [`records_to_csv`]; the header is the first record's columns, and a later record naming a new
/// column widens it (the rows before get empty cells, "leave alone", as a missing field would) at
/// the cost of one copy when the job is cut.
#[derive(Default)]
pub struct CsvRows {
    header: Vec<String>,
    index: HashMap<String, usize>,
    /// The header line (as first written), then the rows.
    text: Vec<u8>,
    /// Where each row ends in `text`, and how many cells it has.
    rows: Vec<(usize, usize)>,
    header_end: usize,
    widened: bool,
}

impl CsvRows {
    /// Room for `bytes` of CSV reserved up front: a job's buffer never doubles (and copies) as it
    /// grows, and untouched reserved pages cost no memory.
    pub fn with_capacity(bytes: usize) -> Self {
        Self { text: Vec::with_capacity(bytes.saturating_add(64 * 1024)), ..Self::default() }
    }

    /// Appends one record naming `key_column`; returns that value as the job's results repeat it.
    pub fn push_keyed(&mut self, record: &Record, key_column: &str) -> Result<String> {
        let key = match record.get(key_column) {
            Some(value) if !value.is_null() => cell_text(value)?,
            _ => return Err(Error::Mapping(format!("a Bulk API row has no {key_column}"))),
        };
        self.push(record)?;
        Ok(key)
    }

    /// Appends one record.
    pub fn push(&mut self, record: &Record) -> Result<()> {
        let mut cells: Vec<(usize, String)> = Vec::with_capacity(record.len().max(self.header.len()));
        for (name, value) in record {
            if name == "attributes" {
                continue;
            }
            let flat: Vec<(String, &Value)> = match value {
                Value::Object(parent) => parent
                    .iter()
                    .filter(|(k, _)| k.as_str() != "attributes")
                    .map(|(field, v)| (format!("{name}.{field}"), v))
                    .collect(),
                other => vec![(name.clone(), other)],
            };
            for (column, value) in flat {
                let text = cell_text(value)?;
                let at = match self.index.get(&column) {
                    Some(at) => *at,
                    None => {
                        self.widened |= !self.rows.is_empty();
                        self.index.insert(column.clone(), self.header.len());
                        self.header.push(column);
                        self.header.len() - 1
                    }
                };
                cells.push((at, text));
            }
        }
        if self.rows.is_empty() {
            self.text.clear();
            self.text.extend(csv_line(&self.header)?);
            self.header_end = self.text.len();
        }
        let mut line = vec![String::new(); self.header.len()];
        for (at, text) in cells {
            line[at] = text;
        }
        self.text.extend(csv_line(&line)?);
        self.rows.push((self.text.len(), line.len()));
        Ok(())
    }

    /// The columns so far.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Bytes so far, header included.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// The job's CSV: as written, or, when a column was added after the first row, rebuilt under
    /// the full header with the earlier rows padded.
    pub fn finish(self) -> Result<bytes::Bytes> {
        if !self.widened {
            return Ok(self.text.into());
        }
        let mut out = csv_line(&self.header)?;
        out.reserve(self.text.len() - self.header_end + self.rows.len());
        let mut start = self.header_end;
        for (end, width) in self.rows {
            // The row's last byte is its line feed: padding goes before it.
            out.extend_from_slice(&self.text[start..end - 1]);
            out.extend(std::iter::repeat_n(b',', self.header.len() - width));
            out.push(b'\n');
            start = end;
        }
        Ok(out.into())
    }
}

/// One CSV line (quoted where needed, LF-terminated).
fn csv_line<T: AsRef<[u8]>>(cells: &[T]) -> Result<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    writer.write_record(cells).map_err(|e| Error::Invalid(format!("cannot write Bulk API CSV: {e}")))?;
    writer.into_inner().map_err(|e| Error::Invalid(format!("cannot write Bulk API CSV: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Record {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn csv_rows_stream_records_and_a_later_column_pads_the_rows_before_it() {
        let mut rows = CsvRows::default();
        let key =
            rows.push_keyed(&record(json!({"SAP_CardCode__c": "C1", "Name": "A, Inc."})), "SAP_CardCode__c").unwrap();
        assert_eq!(key, "C1");
        rows.push(&record(json!({"SAP_CardCode__c": "C2", "Name": null}))).unwrap();
        let same = rows.len();
        assert_eq!(rows.rows(), 2);
        let steady = CsvRows::default();
        assert!(steady.is_empty());
        // Unchanged columns: the bytes are the job's CSV as written.
        let mut copy = CsvRows::default();
        copy.push(&record(json!({"SAP_CardCode__c": "C1", "Name": "A, Inc."}))).unwrap();
        copy.push(&record(json!({"SAP_CardCode__c": "C2", "Name": null}))).unwrap();
        assert_eq!(copy.finish().unwrap().len(), same);

        let third = record(json!({"SAP_CardCode__c": "C3", "Account__r": {"SAP_CardCode__c": "P1"}, "Phone": "1"}));
        assert_eq!(rows.push_keyed(&third, "Account__r.SAP_CardCode__c").unwrap_err().code(), "MAPPING");
        rows.push(&third).unwrap();
        let csv = rows.finish().unwrap();
        let text = std::str::from_utf8(&csv).unwrap();
        assert_eq!(
            text,
            "Name,SAP_CardCode__c,Account__r.SAP_CardCode__c,Phone\n\"A, Inc.\",C1,,\n#N/A,C2,,\n,C3,P1,1\n"
        );
        let mut keyless = CsvRows::default();
        assert!(keyless.push_keyed(&record(json!({"Name": "x"})), "SAP_CardCode__c").is_err());
        assert!(keyless.is_empty(), "a refused row is not written");
    }
}
