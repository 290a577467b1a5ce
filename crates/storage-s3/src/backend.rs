//! [`S3Backend`]: records as objects under a bucket prefix.

use std::sync::Arc;

use anyhow::{Context as _, bail};
use functionfuse_core::names::{BIGDATA_DIR, validate_task, validate_workflow};
use functionfuse_core::{
    Protocols, StorageBackend, StorageFailure, StoredObject, check_object_path,
};
use serde::Deserialize;

use crate::KIND;
use crate::bigdata::S3BigData;
use crate::bucket::Bucket;
use crate::errors::{Failure, classify, failure};
use crate::options::{Resolved, S3Options};
use crate::runtime::Runtime;

/// A storage backend over an S3 bucket prefix (AWS S3, `MinIO`, Ceph, R2,
/// any S3-compatible store).
///
/// Records are objects `<prefix>/<workflow>/<task>`; big data lives under
/// `<prefix>/<workflow>/bigdata/`, reached through
/// [`S3_PROTOCOL`](functionfuse_core::S3_PROTOCOL). The backend owns a small
/// tokio runtime, so it is called from synchronous code, and from inside
/// another tokio runtime as well.
#[derive(Debug, Clone)]
pub struct S3Backend {
    bucket: Arc<Bucket>,
    /// Empty, or ends with `/`.
    prefix: String,
}

impl S3Backend {
    /// Opens the bucket the options name: checks that it exists (or creates
    /// it with `create_bucket`) and that the credentials are accepted.
    ///
    /// # Errors
    /// Invalid options; an endpoint that cannot be reached (named in the
    /// message); a missing bucket; credentials that are refused.
    pub fn open(options: S3Options) -> anyhow::Result<Self> {
        let options = options.resolve()?;
        let runtime = Runtime::new()?;
        let client = runtime.block_on(crate::client::build(&options));
        let bucket = Bucket {
            client,
            name: options.bucket.clone(),
            endpoint: options
                .endpoint_url
                .clone()
                .unwrap_or_else(|| "AWS S3 (the endpoint of the AWS configuration)".to_owned()),
            runtime,
            concurrency: options.concurrency,
        };
        runtime_check(&bucket, &options)?;
        Ok(Self {
            bucket: Arc::new(bucket),
            prefix: options.prefix,
        })
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket.name
    }

    /// The key prefix inside the bucket: empty, or ending with `/`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The aws-sdk-s3 client, for operations of your own on the same bucket.
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.bucket.client
    }

    fn workflow_prefix(&self, workflow: &str) -> anyhow::Result<String> {
        validate_workflow(workflow)?;
        Ok(format!("{}{workflow}/", self.prefix))
    }

    fn record_key(&self, workflow: &str, task: &str) -> anyhow::Result<String> {
        validate_task(task)?;
        Ok(format!("{}{task}", self.workflow_prefix(workflow)?))
    }
}

/// Checks that the bucket is there (creating it when asked) and answers.
fn runtime_check(bucket: &Bucket, options: &Resolved) -> anyhow::Result<()> {
    bucket.runtime.block_on(async {
        let head = bucket.client.head_bucket().bucket(&bucket.name).send().await;
        let Err(error) = head else {
            return Ok(());
        };
        match classify(&error) {
            Failure::NotFound | Failure::NoBucket if options.create_bucket => {
                bucket
                    .client
                    .create_bucket()
                    .bucket(&bucket.name)
                    .send()
                    .await
                    .map_err(|e| failure(&e, &format!("create bucket `{}`", bucket.name), &bucket.endpoint))?;
                Ok(())
            }
            Failure::NotFound | Failure::NoBucket => bail!(
                "bucket `{}` does not exist at {}: create it, or set the option `create_bucket: true`",
                bucket.name,
                bucket.endpoint
            ),
            _ => Err(failure(&error, &format!("open bucket `{}`", bucket.name), &bucket.endpoint).into()),
        }
    })
}

/// Builds a backend from config options (the registered constructor).
pub(crate) fn open(options: &serde_json::Value) -> anyhow::Result<Box<dyn StorageBackend>> {
    let options = S3Options::deserialize(options).context(
        r#"expected {"path": "bucket/prefix", "s3fs": {"key", "secret", "endpoint_url"}} or flat options (see the docs)"#,
    )?;
    Ok(Box::new(S3Backend::open(options)?))
}

impl StorageBackend for S3Backend {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn location(&self) -> String {
        self.bucket.url(&self.prefix)
    }

    fn new_workflow(&self, workflow: &str) -> anyhow::Result<()> {
        // S3 has no folders: a workflow exists once it holds an object.
        self.workflow_prefix(workflow).map(drop)
    }

    fn put(&self, workflow: &str, task: &str, record: &[u8]) -> anyhow::Result<()> {
        let key = self.record_key(workflow, task)?;
        self.bucket
            .runtime
            .block_on(self.bucket.put(&key, record.to_vec()))
    }

    fn mark_access(&self, workflow: &str, task: &str) -> anyhow::Result<()> {
        validate_task(task)?;
        let key = format!(
            "{}{}/{task}",
            self.workflow_prefix(workflow)?,
            functionfuse_core::names::ACCESS_DIR
        );
        // Not for a record removed since the read: a mark alone would
        // make a removed workflow's prefix appear again.
        if !self.exists(workflow, task)? {
            return Ok(());
        }
        // An empty object: its Last-Modified is the access time.
        self.bucket
            .runtime
            .block_on(self.bucket.put(&key, Vec::new()))
    }

    fn try_lease(
        &self,
        workflow: &str,
        task: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> anyhow::Result<Option<functionfuse_core::LeaseAttempt>> {
        validate_task(task)?;
        let key = format!(
            "{}{}/{task}",
            self.workflow_prefix(workflow)?,
            functionfuse_core::names::LEASES_DIR
        );
        crate::lease::try_lease(&self.bucket, &key, holder, ttl).map(Some)
    }

    fn put_if_absent(
        &self,
        workflow: &str,
        task: &str,
        record: &[u8],
    ) -> anyhow::Result<Option<bool>> {
        let key = self.record_key(workflow, task)?;
        let written = self
            .bucket
            .runtime
            .block_on(self.bucket.put_if_absent(&key, record.to_vec()))?;
        Ok(Some(written))
    }

    fn get(&self, workflow: &str, task: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let key = self.record_key(workflow, task)?;
        self.bucket.runtime.block_on(self.bucket.get(&key))
    }

    fn get_limited(
        &self,
        workflow: &str,
        task: &str,
        limit: u64,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        let key = self.record_key(workflow, task)?;
        self.bucket
            .runtime
            .block_on(self.bucket.get_limited(&key, limit))
    }

    fn get_prefix(
        &self,
        workflow: &str,
        task: &str,
        len: usize,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        let key = self.record_key(workflow, task)?;
        self.bucket
            .runtime
            .block_on(self.bucket.get_prefix(&key, len))
    }

    fn exists(&self, workflow: &str, task: &str) -> anyhow::Result<bool> {
        let key = self.record_key(workflow, task)?;
        Ok(self
            .bucket
            .runtime
            .block_on(self.bucket.size(&key))?
            .is_some())
    }

    fn list(&self, workflow: &str) -> anyhow::Result<Vec<String>> {
        let prefix = self.workflow_prefix(workflow)?;
        let keys = self
            .bucket
            .runtime
            .block_on(self.bucket.list(&prefix, true))?;
        Ok(keys
            .into_iter()
            .filter_map(|(key, _)| key.strip_prefix(&prefix).map(str::to_owned))
            // Objects other tools put there, under names we would refuse, are not tasks.
            .filter(|name| validate_task(name).is_ok())
            .collect())
    }

    fn delete(&self, workflow: &str, task: &str) -> anyhow::Result<bool> {
        let key = self.record_key(workflow, task)?;
        self.bucket.runtime.block_on(async {
            // S3 does not say whether a DELETE removed anything.
            let existed = self.bucket.size(&key).await?.is_some();
            if existed {
                self.bucket.delete(&key).await?;
            }
            Ok(existed)
        })
    }

    fn remove_workflow(&self, workflow: &str) -> anyhow::Result<()> {
        let prefix = self.workflow_prefix(workflow)?;
        self.bucket.runtime.block_on(async {
            let keys: Vec<String> = self
                .bucket
                .list(&prefix, false)
                .await?
                .into_iter()
                .map(|(key, _)| key)
                .collect();
            self.bucket.delete_many(&keys).await.map_err(|error| {
                anyhow::Error::new(StorageFailure::new(
                    format!(
                        "cannot remove workflow `{workflow}` ({} objects)",
                        keys.len()
                    ),
                    error,
                ))
            })
        })
    }

    fn protocols(&self, workflow: &str) -> anyhow::Result<Protocols> {
        let prefix = format!("{}{BIGDATA_DIR}/", self.workflow_prefix(workflow)?);
        Ok(Protocols::new().with_s3(Arc::new(S3BigData::new(Arc::clone(&self.bucket), prefix))))
    }

    fn workflows(&self) -> anyhow::Result<Vec<String>> {
        let listing = self
            .bucket
            .runtime
            .block_on(self.bucket.list_detailed(&self.prefix, true))?;
        Ok(listing
            .folders
            .iter()
            .filter_map(|folder| folder.strip_prefix(&self.prefix)?.strip_suffix('/'))
            .filter(|name| validate_workflow(name).is_ok())
            .map(str::to_owned)
            .collect())
    }

    fn scan(&self, workflow: &str) -> anyhow::Result<Vec<StoredObject>> {
        self.scan_prefix(workflow, "")
    }

    fn scan_prefix(&self, workflow: &str, under: &str) -> anyhow::Result<Vec<StoredObject>> {
        let prefix = self.workflow_prefix(workflow)?;
        let listing = self.bucket.runtime.block_on(
            self.bucket
                .list_detailed(&format!("{prefix}{under}"), false),
        )?;
        Ok(listing
            .objects
            .into_iter()
            .filter_map(|object| {
                Some(StoredObject {
                    path: object.key.strip_prefix(&prefix)?.to_owned(),
                    size: object.size,
                    modified: object.modified,
                })
            })
            .collect())
    }

    fn delete_objects(&self, workflow: &str, paths: &[String]) -> anyhow::Result<()> {
        let prefix = self.workflow_prefix(workflow)?;
        let keys = paths
            .iter()
            .map(|path| check_object_path(path).map(|()| format!("{prefix}{path}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        self.bucket.runtime.block_on(self.bucket.delete_many(&keys))
    }
}
