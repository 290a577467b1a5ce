//! [`S3BigData`]: the `S3_PROTOCOL` interface over a workflow's
//! `bigdata/` prefix.

use std::ops::Range;
use std::sync::Arc;

use anyhow::bail;
use functionfuse_core::{BoxFuture, S3Protocol};

use crate::bucket::Bucket;

/// The big-data prefix of one workflow.
#[derive(Debug, Clone)]
pub struct S3BigData {
    bucket: Arc<Bucket>,
    /// The full key prefix, ending with `/`.
    key_prefix: String,
    /// `s3://bucket/prefix`.
    prefix: String,
}

impl S3BigData {
    pub(crate) fn new(bucket: Arc<Bucket>, prefix: String) -> Self {
        Self {
            prefix: bucket.url(&prefix),
            bucket,
            key_prefix: prefix,
        }
    }

    /// The full key of a relative key; keys that could leave the prefix are refused.
    fn key(&self, relative: &str) -> anyhow::Result<String> {
        if relative
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
            || relative.contains(['\\', '\0'])
        {
            bail!("invalid big-data key {relative:?}: empty, `.` or `..` segments, `\\` or NUL");
        }
        Ok(format!("{}{relative}", self.key_prefix))
    }
}

impl S3Protocol for S3BigData {
    fn prefix(&self) -> &str {
        &self.prefix
    }

    fn concurrency(&self) -> usize {
        self.bucket.concurrency
    }

    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move { self.bucket.put(&self.key(key)?, bytes).await })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<Option<Vec<u8>>>> {
        Box::pin(async move { self.bucket.get(&self.key(key)?).await })
    }

    fn get_range<'a>(
        &'a self,
        key: &'a str,
        range: Range<u64>,
    ) -> BoxFuture<'a, anyhow::Result<Option<Vec<u8>>>> {
        Box::pin(async move { self.bucket.get_range(&self.key(key)?, range).await })
    }

    fn size<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<Option<u64>>> {
        Box::pin(async move { self.bucket.size(&self.key(key)?).await })
    }

    fn delete_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let keys = keys
                .iter()
                .map(|key| self.key(key))
                .collect::<anyhow::Result<Vec<_>>>()?;
            self.bucket.delete_many(&keys).await
        })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, anyhow::Result<Vec<(String, u64)>>> {
        Box::pin(async move {
            let full = format!("{}{prefix}", self.key_prefix);
            let keys = self.bucket.list(&full, false).await?;
            Ok(keys
                .into_iter()
                .filter_map(|(key, size)| {
                    key.strip_prefix(&self.key_prefix)
                        .map(|relative| (relative.to_owned(), size))
                })
                .collect())
        })
    }

    fn block_on(&self, future: BoxFuture<'_, ()>) {
        self.bucket.runtime.block_on(future);
    }
}
