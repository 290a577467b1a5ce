//! Test serializers: blob types stored through the file or S3 protocol,
//! with a log of every call and the protocols each call was handed.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

use crate::{
    FILE_PROTOCOL, PersistentId, PersistentSerializer, Protocols, S3_PROTOCOL, SerializerClass,
    StorageBackend,
};

/// A blob stored by the serializer linked in through `inventory` (`"inventory-blob"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryBlob(pub Vec<u8>);

/// A blob with no linked serializer; tests register one at run time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeBlob(pub Vec<u8>);

/// A blob whose linked serializer always fails to store it (`"failing-blob"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailingBlob(pub Vec<u8>);

/// A blob no serializer handles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnregisteredBlob(pub Vec<u8>);

/// Byte access shared by the blob types.
pub trait Blob: Any + Send + Sync {
    /// Builds the blob.
    fn from_bytes(bytes: Vec<u8>) -> Self;
    /// Its bytes.
    fn bytes(&self) -> &[u8];
}

macro_rules! blob {
    ($($t:ty),*) => {$(
        impl Blob for $t {
            fn from_bytes(bytes: Vec<u8>) -> Self { Self(bytes) }
            fn bytes(&self) -> &[u8] { &self.0 }
        }
    )*};
}
blob!(InventoryBlob, RuntimeBlob, FailingBlob, UnregisteredBlob);

/// One call a [`RecordingSerializer`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `"pickle"`, `"unpickle"` or `"remove"`.
    pub op: &'static str,
    /// The serializer's name.
    pub serializer: String,
    /// The object's location (empty for a failed pickle).
    pub location: String,
    /// The protocol keys it was handed.
    pub protocols: Vec<&'static str>,
}

/// Stores a [`Blob`] type through `FILE_PROTOCOL` or `S3_PROTOCOL` and logs each call.
pub struct RecordingSerializer<B> {
    name: &'static str,
    fail_pickle: bool,
    log: Arc<Mutex<Vec<Call>>>,
    blob: std::marker::PhantomData<fn() -> B>,
}

impl<B: Blob> RecordingSerializer<B> {
    /// A serializer called `name` that logs into `log`.
    pub fn new(name: &'static str, log: Arc<Mutex<Vec<Call>>>) -> Self {
        Self {
            name,
            fail_pickle: false,
            log,
            blob: std::marker::PhantomData,
        }
    }

    /// A serializer whose every `pickle` fails.
    pub fn failing(name: &'static str, log: Arc<Mutex<Vec<Call>>>) -> Self {
        Self {
            fail_pickle: true,
            ..Self::new(name, log)
        }
    }

    fn record(&self, op: &'static str, location: &str, protocols: &Protocols) {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Call {
                op,
                serializer: self.name.to_owned(),
                location: location.to_owned(),
                protocols: protocols.keys().collect(),
            });
    }
}

fn unique_key() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "blob-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl<B: Blob> PersistentSerializer for RecordingSerializer<B> {
    fn name(&self) -> &str {
        self.name
    }

    fn serializer_class(&self) -> SerializerClass {
        SerializerClass::of::<B>()
    }

    fn pickle(&self, obj: &dyn Any, protocols: &Protocols) -> anyhow::Result<PersistentId> {
        let blob = obj
            .downcast_ref::<B>()
            .context("handed an object of another type")?;
        if self.fail_pickle {
            self.record("pickle", "", protocols);
            bail!("refusing to store the blob, as this test serializer always does");
        }
        let (location, protocol) = put_blob(self.name, blob.bytes(), protocols)?;
        self.record("pickle", &location, protocols);
        let mut metadata = serde_json::Map::new();
        metadata.insert("len".into(), blob.bytes().len().into());
        Ok(PersistentId {
            serializer: self.name.to_owned(),
            version: 1,
            location,
            protocol: protocol.to_owned(),
            metadata,
        })
    }

    fn unpickle(
        &self,
        pid: &PersistentId,
        protocols: &Protocols,
    ) -> anyhow::Result<Box<dyn Any + Send>> {
        self.record("unpickle", &pid.location, protocols);
        let bytes = get_blob(self.name, pid, protocols)?;
        Ok(Box::new(B::from_bytes(bytes)))
    }

    fn verify(&self, pid: &PersistentId, protocols: &Protocols) -> anyhow::Result<()> {
        self.record("verify", &pid.location, protocols);
        let bytes = get_blob(self.name, pid, protocols)?;
        let recorded = pid.metadata.get("len").and_then(serde_json::Value::as_u64);
        if recorded != Some(bytes.len() as u64) {
            bail!(crate::DamagedObject {
                location: pid.location.clone(),
                reason: format!("{} bytes long, the record says {recorded:?}", bytes.len()),
            });
        }
        Ok(())
    }

    fn copy(
        &self,
        pid: &PersistentId,
        from: &Protocols,
        to: &Protocols,
    ) -> anyhow::Result<PersistentId> {
        self.record("copy", &pid.location, from);
        let bytes = get_blob(self.name, pid, from)?;
        let (location, protocol) = put_blob(self.name, &bytes, to)?;
        Ok(PersistentId {
            location,
            protocol: protocol.to_owned(),
            ..pid.clone()
        })
    }

    fn remove(&self, pid: &PersistentId, protocols: &Protocols) -> anyhow::Result<()> {
        self.record("remove", &pid.location, protocols);
        if let Some(file) = protocols.file() {
            file.remove(&pid.location)
        } else if let Some(s3) = protocols.s3() {
            s3.delete_blocking(&pid.location)
        } else {
            Err(protocols.missing(self.name, &[FILE_PROTOCOL, S3_PROTOCOL]))
        }
    }
}

/// Stores a blob through whichever protocol is offered; returns its
/// location and the protocol's key.
fn put_blob(
    name: &str,
    bytes: &[u8],
    protocols: &Protocols,
) -> anyhow::Result<(String, &'static str)> {
    if let Some(file) = protocols.file() {
        let new_file = file.create("blob")?;
        std::fs::write(new_file.temp_path(), bytes)?;
        Ok((new_file.commit()?, FILE_PROTOCOL))
    } else if let Some(s3) = protocols.s3() {
        let key = unique_key();
        s3.put_blocking(&key, bytes.to_vec())?;
        Ok((key, S3_PROTOCOL))
    } else {
        Err(protocols.missing(name, &[FILE_PROTOCOL, S3_PROTOCOL]))
    }
}

/// Reads a blob; a missing one is a [`DamagedObject`](crate::DamagedObject).
fn get_blob(name: &str, pid: &PersistentId, protocols: &Protocols) -> anyhow::Result<Vec<u8>> {
    let missing = || crate::DamagedObject {
        location: pid.location.clone(),
        reason: "missing".to_owned(),
    };
    if let Some(file) = protocols.file() {
        let path = file.path(&pid.location)?;
        match std::fs::read(&path) {
            Ok(bytes) => Ok(bytes),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(missing().into()),
            Err(error) => Err(error.into()),
        }
    } else if let Some(s3) = protocols.s3() {
        s3.get_blocking(&pid.location)?
            .ok_or_else(|| missing().into())
    } else {
        Err(protocols.missing(name, &[FILE_PROTOCOL, S3_PROTOCOL]))
    }
}

fn inventory_log() -> &'static Arc<Mutex<Vec<Call>>> {
    static LOG: std::sync::OnceLock<Arc<Mutex<Vec<Call>>>> = std::sync::OnceLock::new();
    LOG.get_or_init(Arc::default)
}

/// Every call the linked serializers received so far (all tests of the
/// process share it: filter by location).
pub fn inventory_calls() -> Vec<Call> {
    inventory_log()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

crate::submit_persistent_serializer!(|| Arc::new(RecordingSerializer::<InventoryBlob>::new(
    "inventory-blob",
    Arc::clone(inventory_log())
)));

crate::submit_persistent_serializer!(|| Arc::new(RecordingSerializer::<FailingBlob>::failing(
    "failing-blob",
    Arc::clone(inventory_log())
)));

/// The big-data objects of a workflow, through whichever protocol the
/// backend speaks.
pub fn big_data(backend: &dyn StorageBackend, workflow: &str) -> Vec<String> {
    let protocols = backend.protocols(workflow).expect("protocols");
    if let Some(file) = protocols.file() {
        file.list().expect("list big data")
    } else if let Some(s3) = protocols.s3() {
        s3.list_blocking("")
            .expect("list big data")
            .into_iter()
            .map(|(key, _)| key)
            .collect()
    } else {
        Vec::new()
    }
}
