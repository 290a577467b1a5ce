//! A zarrs storage adapter over the core [`S3Protocol`]: zarrs' async API
//! keeps many chunk requests in flight through it, and the serializer
//! never depends on an S3 client.
//!
//! Besides moving bytes, the adapter remembers which keys were missing on
//! read (zarrs reads a missing chunk as fill values, which for our arrays —
//! all chunks stored — means damage) and the first error of the protocol
//! itself, so that a failure of the storage keeps its type through zarrs.

use std::sync::{Arc, Mutex};

use functionfuse_core::S3Protocol;
use futures::StreamExt as _;
use zarrs::storage::byte_range::{ByteRange, ByteRangeIterator};
use zarrs::storage::{
    AsyncListableStorageTraits, AsyncMaybeBytesIterator, AsyncReadableStorageTraits,
    AsyncWritableStorageTraits, Bytes, MaybeBytes, OffsetBytesIterator, StorageError, StoreKey,
    StoreKeys, StoreKeysPrefixes, StorePrefix,
};

/// A zarrs store whose keys are keys of an [`S3Protocol`].
#[derive(Debug)]
pub(crate) struct ProtocolStore {
    s3: Arc<dyn S3Protocol>,
    missing: Mutex<Vec<String>>,
    failure: Mutex<Option<anyhow::Error>>,
}

impl ProtocolStore {
    pub(crate) fn new(s3: Arc<dyn S3Protocol>) -> Self {
        Self {
            s3,
            missing: Mutex::new(Vec::new()),
            failure: Mutex::new(None),
        }
    }

    /// The keys that were read and found missing, sorted.
    pub(crate) fn missing(&self) -> Vec<String> {
        let mut missing = self.missing.lock().map(|m| m.clone()).unwrap_or_default();
        missing.sort();
        missing
    }

    /// The first error the protocol returned, with its type (taken).
    pub(crate) fn take_failure(&self) -> Option<anyhow::Error> {
        self.failure
            .lock()
            .ok()
            .and_then(|mut failure| failure.take())
    }

    /// Keeps the protocol's error and hands zarrs its text.
    fn keep(&self, error: anyhow::Error) -> StorageError {
        let message = format!("{error:#}");
        if let Ok(mut failure) = self.failure.lock() {
            failure.get_or_insert(error);
        }
        StorageError::Other(message)
    }

    fn note_missing(&self, key: &StoreKey) {
        if let Ok(mut missing) = self.missing.lock() {
            missing.push(key.as_str().to_owned());
        }
    }

    async fn list_keys(&self, prefix: &str) -> Result<Vec<(StoreKey, u64)>, StorageError> {
        let listed = self.s3.list(prefix).await.map_err(|e| self.keep(e))?;
        listed
            .into_iter()
            .map(|(key, size)| Ok((StoreKey::new(key)?, size)))
            .collect()
    }
}

/// `range` of a value of `len` bytes as offsets, or an error when it runs past the end.
fn resolve(range: ByteRange, len: u64) -> Result<std::ops::Range<usize>, StorageError> {
    let (start, end) = match range {
        ByteRange::FromStart(offset, None) => (offset, len),
        ByteRange::FromStart(offset, Some(length)) => (offset, offset.saturating_add(length)),
        ByteRange::Suffix(length) => (len.saturating_sub(length), len),
    };
    if start > end || end > len || matches!(range, ByteRange::Suffix(l) if l > len) {
        return Err(StorageError::Other(format!(
            "byte range {range:?} runs past the end of a value of {len} bytes"
        )));
    }
    let to_usize =
        |n: u64| usize::try_from(n).map_err(|_| StorageError::Other("value too large".into()));
    Ok(to_usize(start)?..to_usize(end)?)
}

#[async_trait::async_trait]
impl AsyncReadableStorageTraits for ProtocolStore {
    async fn get(&self, key: &StoreKey) -> Result<MaybeBytes, StorageError> {
        let value = self.s3.get(key.as_str()).await.map_err(|e| self.keep(e))?;
        if value.is_none() {
            self.note_missing(key);
        }
        Ok(value.map(Bytes::from))
    }

    async fn get_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        byte_ranges: ByteRangeIterator<'a>,
    ) -> Result<AsyncMaybeBytesIterator<'a>, StorageError> {
        // Whole arrays are read chunk by chunk: partial reads are rare, and
        // one GET serves all of their ranges.
        let Some(value) = self.get(key).await? else {
            return Ok(None);
        };
        let parts = byte_ranges
            .map(|range| {
                let range = resolve(range, value.len() as u64)?;
                Ok(value.slice(range))
            })
            .collect::<Vec<Result<Bytes, StorageError>>>();
        Ok(Some(futures::stream::iter(parts).boxed()))
    }

    async fn size_key(&self, key: &StoreKey) -> Result<Option<u64>, StorageError> {
        self.s3.size(key.as_str()).await.map_err(|e| self.keep(e))
    }

    fn supports_get_partial(&self) -> bool {
        false
    }
}

#[async_trait::async_trait]
impl AsyncWritableStorageTraits for ProtocolStore {
    async fn set(&self, key: &StoreKey, value: Bytes) -> Result<(), StorageError> {
        self.s3
            .put(key.as_str(), Vec::from(value))
            .await
            .map_err(|e| self.keep(e))
    }

    async fn set_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        offset_values: OffsetBytesIterator<'a>,
    ) -> Result<(), StorageError> {
        zarrs::storage::async_store_set_partial_many(self, key, offset_values).await
    }

    async fn erase(&self, key: &StoreKey) -> Result<(), StorageError> {
        self.erase_many(std::slice::from_ref(key)).await
    }

    async fn erase_many(&self, keys: &[StoreKey]) -> Result<(), StorageError> {
        let keys: Vec<String> = keys.iter().map(|key| key.as_str().to_owned()).collect();
        self.s3.delete_many(&keys).await.map_err(|e| self.keep(e))
    }

    async fn erase_prefix(&self, prefix: &StorePrefix) -> Result<(), StorageError> {
        let keys: Vec<StoreKey> = self
            .list_keys(prefix.as_str())
            .await?
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        self.erase_many(&keys).await
    }

    fn supports_set_partial(&self) -> bool {
        false
    }
}

#[async_trait::async_trait]
impl AsyncListableStorageTraits for ProtocolStore {
    async fn list(&self) -> Result<StoreKeys, StorageError> {
        self.list_prefix(&StorePrefix::root()).await
    }

    async fn list_prefix(&self, prefix: &StorePrefix) -> Result<StoreKeys, StorageError> {
        Ok(self
            .list_keys(prefix.as_str())
            .await?
            .into_iter()
            .map(|(key, _)| key)
            .collect())
    }

    async fn list_dir(&self, prefix: &StorePrefix) -> Result<StoreKeysPrefixes, StorageError> {
        let mut keys = Vec::new();
        let mut prefixes: Vec<StorePrefix> = Vec::new();
        for (key, _) in self.list_keys(prefix.as_str()).await? {
            let rest = &key.as_str()[prefix.as_str().len()..];
            match rest.split_once('/') {
                None => keys.push(key),
                Some((child, _)) => {
                    let child = StorePrefix::new(format!("{}{child}/", prefix.as_str()))?;
                    // Keys come sorted: a child's keys are consecutive.
                    if prefixes.last() != Some(&child) {
                        prefixes.push(child);
                    }
                }
            }
        }
        Ok(StoreKeysPrefixes::new(keys, prefixes))
    }

    async fn size_prefix(&self, prefix: &StorePrefix) -> Result<u64, StorageError> {
        Ok(self
            .list_keys(prefix.as_str())
            .await?
            .iter()
            .map(|(_, size)| size)
            .sum())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use functionfuse_core::{S3Protocol, StorageBackend};
    use functionfuse_s3_server::{S3Server, TEST_BUCKET};
    use functionfuse_storage_s3::{S3Backend, S3Options};
    use zarrs_storage::store_test;

    use super::ProtocolStore;

    /// The big-data protocol of a fresh prefix of the test server's bucket.
    pub(crate) fn protocol() -> Arc<dyn S3Protocol> {
        let server = S3Server::shared().unwrap();
        let backend = S3Backend::open(S3Options {
            path: format!("{TEST_BUCKET}/store-{}", uuid::Uuid::new_v4().simple()),
            endpoint_url: Some(server.endpoint()),
            key: Some(server.access_key().to_owned()),
            secret: Some(server.secret_key().to_owned()),
            ..S3Options::default()
        })
        .unwrap();
        let protocols = backend.protocols("wf").unwrap();
        match protocols.get(functionfuse_core::S3_PROTOCOL) {
            Some(functionfuse_core::ProtocolInterface::S3(s3)) => Arc::clone(s3),
            _ => panic!("the S3 backend speaks the S3 protocol"),
        }
    }

    /// zarrs' own checks of a store (write, read, list, sizes), as zarrs
    /// runs them on its stores, against the adapter over a real server.
    #[test]
    fn passes_the_zarrs_store_checks() {
        let s3 = protocol();
        let store = ProtocolStore::new(Arc::clone(&s3));
        let mut outcome: Vec<String> = Vec::new();
        s3.block_on(Box::pin(async {
            // Errors become text at once: zarrs' are not `Send`.
            let text = |name: &str, result: Result<(), Box<dyn std::error::Error>>| {
                result.err().map(|error| format!("{name}: {error}"))
            };
            let write = text("write", store_test::async_store_write(&store).await);
            let read = text("read", store_test::async_store_read(&store).await);
            let list = text("list", store_test::async_store_list(&store).await);
            let size = text("list_size", store_test::async_store_list_size(&store).await);
            outcome = [write, read, list, size].into_iter().flatten().collect();
        }));
        assert!(outcome.is_empty(), "{outcome:?}");
    }
}
