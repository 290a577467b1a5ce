//! The S3 operations the backend and the big-data protocol share, with
//! their errors turned into [`StorageFailure`]s.

use std::ops::Range;
use std::time::SystemTime;

use anyhow::bail;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use functionfuse_core::{DamagedObject, RecordTooLarge, StorageFailure};
use futures::{StreamExt as _, TryStreamExt as _};

use crate::errors::{Failure, classify, failure};
use crate::runtime::Runtime;

/// Most keys one `DeleteObjects` request takes.
const DELETE_BATCH: usize = 1000;

/// One object of a listing.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    pub(crate) key: String,
    pub(crate) size: u64,
    pub(crate) modified: Option<SystemTime>,
}

/// What a listing found: objects and, for a shallow one, the common prefixes.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    pub(crate) objects: Vec<Listed>,
    /// Full prefixes ending with `/`.
    pub(crate) folders: Vec<String>,
}

/// One bucket at one endpoint.
#[derive(Debug)]
pub(crate) struct Bucket {
    pub(crate) client: Client,
    pub(crate) name: String,
    /// For messages: the endpoint URL, or "AWS".
    pub(crate) endpoint: String,
    pub(crate) runtime: Runtime,
    /// Requests in flight for batches.
    pub(crate) concurrency: usize,
}

impl Bucket {
    /// `s3://bucket/key`, for messages.
    pub(crate) fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.name)
    }

    fn failure<E, R>(
        &self,
        error: &aws_sdk_s3::error::SdkError<E, R>,
        doing: &str,
        key: &str,
    ) -> anyhow::Error
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: crate::errors::HasStatus + std::fmt::Debug + Send + Sync + 'static,
    {
        failure(error, &format!("{doing} {}", self.url(key)), &self.endpoint).into()
    }

    pub(crate) async fn put(&self, key: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.client
            .put_object()
            .bucket(&self.name)
            .key(key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| self.failure(&e, "PUT", key))?;
        Ok(())
    }

    /// Stores `bytes` under `key` when no object is there (`If-None-Match: *`);
    /// returns whether it was written.
    pub(crate) async fn put_if_absent(&self, key: &str, bytes: Vec<u8>) -> anyhow::Result<bool> {
        match self
            .client
            .put_object()
            .bucket(&self.name)
            .key(key)
            .if_none_match("*")
            .body(ByteStream::from(bytes))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if classify(&error) == Failure::Exists => Ok(false),
            Err(error) => Err(self.failure(&error, "PUT", key)),
        }
    }

    /// Replaces the object at `key` only if its entity tag is still `etag`
    /// (`If-Match`); returns the new entity tag, or `None` when it changed.
    pub(crate) async fn put_if_match(
        &self,
        key: &str,
        bytes: Vec<u8>,
        etag: &str,
    ) -> anyhow::Result<Option<String>> {
        match self
            .client
            .put_object()
            .bucket(&self.name)
            .key(key)
            .if_match(etag)
            .body(ByteStream::from(bytes))
            .send()
            .await
        {
            Ok(output) => Ok(Some(output.e_tag().unwrap_or_default().to_owned())),
            Err(error) if matches!(classify(&error), Failure::Exists | Failure::NotFound) => {
                Ok(None)
            }
            Err(error) => Err(self.failure(&error, "PUT", key)),
        }
    }

    /// A small object and its entity tag, or `None`.
    pub(crate) async fn get_with_etag(
        &self,
        key: &str,
    ) -> anyhow::Result<Option<(Vec<u8>, String)>> {
        let output = match self
            .client
            .get_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) if classify(&error) == Failure::NotFound => return Ok(None),
            Err(error) => return Err(self.failure(&error, "GET", key)),
        };
        let etag = output.e_tag().unwrap_or_default().to_owned();
        let body = output.body.collect().await.map_err(|error| {
            StorageFailure::new(format!("cannot read the body of {}", self.url(key)), error)
        })?;
        Ok(Some((Vec::from(body.into_bytes()), etag)))
    }

    /// The whole object, or `None`.
    pub(crate) async fn get(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        self.get_with_range(key, None, None).await
    }

    /// The whole object, or `None`; an object over `limit` bytes is refused
    /// with [`RecordTooLarge`] before its body is read.
    pub(crate) async fn get_limited(
        &self,
        key: &str,
        limit: u64,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        self.get_with_range(key, None, Some(limit)).await
    }

    /// Bytes `range` of the object (exactly: a range past the end is an
    /// error), or `None`.
    pub(crate) async fn get_range(
        &self,
        key: &str,
        range: Range<u64>,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        if range.is_empty() {
            return Ok(self.size(key).await?.map(|_| Vec::new()));
        }
        let wanted = range.end - range.start;
        let bytes = self
            .get_with_range(
                key,
                Some(format!("bytes={}-{}", range.start, range.end - 1)),
                None,
            )
            .await?;
        if let Some(bytes) = &bytes
            && bytes.len() as u64 != wanted
        {
            bail!(
                "{} holds fewer than the {} bytes asked for at offset {}",
                self.url(key),
                wanted,
                range.start
            );
        }
        Ok(bytes)
    }

    /// At most the first `len` bytes of the object (S3 clips the range), or `None`.
    pub(crate) async fn get_prefix(
        &self,
        key: &str,
        len: usize,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        if len == 0 {
            return Ok(self.size(key).await?.map(|_| Vec::new()));
        }
        self.get_with_range(key, Some(format!("bytes=0-{}", len - 1)), None)
            .await
    }

    async fn get_with_range(
        &self,
        key: &str,
        range: Option<String>,
        limit: Option<u64>,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        let output = match self
            .client
            .get_object()
            .bucket(&self.name)
            .key(key)
            .set_range(range)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) if classify(&error) == Failure::NotFound => return Ok(None),
            // A range from byte 0 of an empty object: there is nothing in it
            // (`get_range` then reports the bytes missing).
            Err(error) if classify(&error) == Failure::InvalidRange => return Ok(Some(Vec::new())),
            Err(error) => return Err(self.failure(&error, "GET", key)),
        };
        let size = output.content_length().map_or(0, |len| len.max(0) as u64);
        if let Some(limit) = limit
            && size > limit
        {
            return Err(RecordTooLarge { size, limit }.into());
        }
        let body = output.body.collect().await.map_err(|error| {
            let message = format!("{}", aws_sdk_s3::error::DisplayErrorContext(&error));
            if message.contains("checksum mismatch") {
                // The object changed since the store checksummed it: damage,
                // not a failure of the storage.
                return anyhow::Error::new(DamagedObject {
                    location: self.url(key),
                    reason: format!("damaged: it fails the checksum S3 keeps for it ({message})"),
                });
            }
            StorageFailure::new(format!("cannot read the body of {}", self.url(key)), error).into()
        })?;
        let bytes = Vec::from(body.into_bytes());
        // A store that gave no length is held to the limit after the fact.
        if let Some(limit) = limit
            && bytes.len() as u64 > limit
        {
            return Err(RecordTooLarge {
                size: bytes.len() as u64,
                limit,
            }
            .into());
        }
        Ok(Some(bytes))
    }

    /// The object's size, or `None` when there is none.
    pub(crate) async fn size(&self, key: &str) -> anyhow::Result<Option<u64>> {
        match self
            .client
            .head_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
        {
            Ok(output) => Ok(Some(
                output.content_length().map_or(0, |len| len.max(0) as u64),
            )),
            Err(error) if classify(&error) == Failure::NotFound => Ok(None),
            Err(error) => Err(self.failure(&error, "HEAD", key)),
        }
    }

    /// Every key under `prefix` with its size, sorted; with `shallow`,
    /// only the keys directly under it (no `/` after the prefix).
    pub(crate) async fn list(
        &self,
        prefix: &str,
        shallow: bool,
    ) -> anyhow::Result<Vec<(String, u64)>> {
        let listing = self.list_detailed(prefix, shallow).await?;
        Ok(listing
            .objects
            .into_iter()
            .map(|object| (object.key, object.size))
            .collect())
    }

    /// Every object under `prefix` with size and age, sorted by key; with
    /// `shallow`, only those directly under it, and the "folders" (common
    /// prefixes) beside them.
    pub(crate) async fn list_detailed(
        &self,
        prefix: &str,
        shallow: bool,
    ) -> anyhow::Result<Listing> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.name)
            .prefix(prefix)
            .set_delimiter(shallow.then(|| "/".to_owned()))
            .into_paginator()
            .send();
        let mut listing = Listing::default();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.failure(&e, "LIST", prefix))?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    listing.objects.push(Listed {
                        key: key.to_owned(),
                        size: object.size().map_or(0, |s| s.max(0) as u64),
                        modified: object
                            .last_modified()
                            .and_then(|time| SystemTime::try_from(*time).ok()),
                    });
                }
            }
            listing.folders.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|folder| folder.prefix().map(str::to_owned)),
            );
        }
        listing.objects.sort_by(|a, b| a.key.cmp(&b.key));
        listing.folders.sort();
        Ok(listing)
    }

    /// Deletes one object; a missing one is not an error.
    pub(crate) async fn delete(&self, key: &str) -> anyhow::Result<()> {
        self.client
            .delete_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
            .map_err(|e| self.failure(&e, "DELETE", key))?;
        Ok(())
    }

    /// Deletes objects in batches of 1,000, several batches at once.
    pub(crate) async fn delete_many(&self, keys: &[String]) -> anyhow::Result<()> {
        // Owned batches: a closure over borrowed ones is not `Send` enough.
        let batches: Vec<Vec<String>> = keys.chunks(DELETE_BATCH).map(<[String]>::to_vec).collect();
        futures::stream::iter(batches)
            .map(|batch| async move { self.delete_batch(&batch).await })
            .buffer_unordered(self.concurrency.clamp(1, 4))
            .try_collect::<()>()
            .await
    }

    async fn delete_batch(&self, keys: &[String]) -> anyhow::Result<()> {
        let Some(first) = keys.first() else {
            return Ok(());
        };
        let objects = keys
            .iter()
            .map(|key| ObjectIdentifier::builder().key(key).build())
            .collect::<Result<Vec<_>, _>>()?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()?;
        let output = self
            .client
            .delete_objects()
            .bucket(&self.name)
            .delete(delete)
            .send()
            .await
            .map_err(|e| self.failure(&e, "DELETE (batch starting at)", first))?;
        if let Some(error) = output.errors().first() {
            bail!(StorageFailure::new(
                format!(
                    "cannot delete {} ({} of {} keys failed)",
                    self.url(error.key().unwrap_or("?")),
                    output.errors().len(),
                    keys.len()
                ),
                anyhow::anyhow!(
                    "{}: {}",
                    error.code().unwrap_or("?"),
                    error.message().unwrap_or("")
                ),
            ));
        }
        Ok(())
    }
}
