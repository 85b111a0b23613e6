//! The mapping file published in a versioned S3 bucket (`MAPPING_S3_URI`): `b1force mapping push`
//! writes a new version after validating it; each function reads the newest version at cold start and
//! falls back to the one before when the newest is invalid (`wiring::published_mapping`).

use super::store_error;
use crate::error::{Error, Result};
use aws_sdk_s3::primitives::ByteStream;

const SERVICE: &str = "S3";

/// One object key in a versioned bucket.
#[derive(Clone)]
pub struct S3MappingStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
}

impl S3MappingStore {
    /// The store at `uri` (`s3://bucket/key`); anything else is a configuration error.
    pub fn new(client: aws_sdk_s3::Client, uri: &str) -> Result<Self> {
        let (bucket, key) = uri
            .strip_prefix("s3://")
            .and_then(|rest| rest.split_once('/'))
            .filter(|(bucket, key)| !bucket.is_empty() && !key.is_empty())
            .ok_or_else(|| Error::Config(format!("MAPPING_S3_URI={uri:?} is not s3://<bucket>/<key>")))?;
        Ok(Self { client, bucket: bucket.into(), key: key.into() })
    }

    /// `s3://bucket/key`.
    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// Version ids of the key, newest first, at most `limit`; empty when it was never published or
    /// its newest version is a delete marker (deleted: the shipped defaults apply again).
    pub async fn versions(&self, limit: usize) -> Result<Vec<String>> {
        let listed = self
            .client
            .list_object_versions()
            .bucket(&self.bucket)
            .prefix(&self.key)
            .max_keys(limit.clamp(1, 1000) as i32 + 1)
            .send()
            .await
            .map_err(|e| store_error(SERVICE, &format!("ListObjectVersions of {}", self.uri()), e))?;
        // S3 lists the versions of a key newest first; a key that only starts with ours is another file.
        let newest_is_deleted =
            listed.delete_markers().iter().any(|m| m.key() == Some(&self.key) && m.is_latest() == Some(true));
        if newest_is_deleted {
            return Ok(Vec::new());
        }
        Ok(listed
            .versions()
            .iter()
            .filter(|v| v.key() == Some(&self.key))
            .filter_map(|v| v.version_id().map(str::to_string))
            .take(limit)
            .collect())
    }

    /// The text of one version.
    pub async fn read(&self, version: &str) -> Result<String> {
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .version_id(version)
            .send()
            .await
            .map_err(|e| store_error(SERVICE, &format!("GetObject of {} version {version}", self.uri()), e))?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| Error::Store {
                service: SERVICE,
                message: format!("reading {}: {e}", self.uri()),
                retryable: true,
            })?
            .into_bytes();
        String::from_utf8(bytes.to_vec())
            .map_err(|_| Error::Config(format!("{} version {version} is not UTF-8 text", self.uri())))
    }

    /// Writes `text` as the newest version; returns its version id (the bucket must be versioned).
    pub async fn publish(&self, text: &str) -> Result<String> {
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .content_type("application/toml")
            .body(ByteStream::from(text.as_bytes().to_vec()))
            .send()
            .await
            .map_err(|e| store_error(SERVICE, &format!("PutObject of {}", self.uri()), e))?;
        put.version_id().map(str::to_string).ok_or_else(|| {
            Error::Config(format!("{} is not in a versioned bucket: no version id came back", self.uri()))
        })
    }
}
