//! [`Storage`]: the typed API users hold.

use std::any::{Any, TypeId};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::access::{AccessTimes, DEFAULT_ACCESS_RESOLUTION};
use crate::backend::StorageBackend;
use crate::context::{Context, Mode, Written};
use crate::error::{Error, Result};
use crate::keyed::NodeKey;
use crate::limits::{Limits, RecordTooLarge};
use crate::names::{validate_task, validate_workflow};
use crate::protocols::Protocols;
use crate::record::{self, RecordHeader};
use crate::registry::SerializerPool;
use crate::serializer::{PersistentId, PersistentSerializer};
use crate::single_flight::{LeaseAttempt, LeaseGuard, SingleFlight, holder_description};
use crate::type_names;

/// A value [`Storage::save`] takes: any `'static` type that is `Serialize`,
/// sized or not (`str`, slices). Implemented for every such type; there is
/// nothing to implement.
pub trait Savable: Serialize + Any {
    /// The value as `dyn Any`, for its persistent serializer; `None` for
    /// unsized values, which no persistent serializer takes.
    #[doc(hidden)]
    fn as_any(&self) -> Option<&dyn Any>;
}

impl<T: Serialize + Any> Savable for T {
    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

impl Savable for str {
    fn as_any(&self) -> Option<&dyn Any> {
        None
    }
}

impl<T: Serialize + Any> Savable for [T] {
    fn as_any(&self) -> Option<&dyn Any> {
        None
    }
}

/// Where a [`Storage::cached`] value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Read from the storage; the computation did not run.
    Stored,
    /// Computed now and saved.
    Computed,
}

/// A value returned by [`Storage::cached`] and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Cached<T> {
    /// The task's result.
    pub value: T,
    /// Whether it was read or computed.
    pub origin: Origin,
}

/// Saves and reads task results of workflows through one backend.
///
/// Results are encoded with MessagePack (`rmp-serde`); values of a type with
/// a registered persistent serializer, whole or nested in
/// [`Persistent`](crate::Persistent), are stored out of band by it.
#[derive(Debug, Clone)]
pub struct Storage {
    backend: Arc<dyn StorageBackend>,
    pub(crate) pool: Arc<SerializerPool>,
    always_read: bool,
    limits: Limits,
    single_flight: Option<SingleFlight>,
    /// Writes access times for retention; `None`: reads are not recorded.
    access: Option<Arc<AccessTimes>>,
}

impl Storage {
    /// A storage over `backend` with every persistent serializer linked into the program.
    pub fn new(backend: Box<dyn StorageBackend>) -> Self {
        let backend: Arc<dyn StorageBackend> = Arc::from(backend);
        Self {
            access: Some(Arc::new(AccessTimes::new(
                Arc::clone(&backend),
                DEFAULT_ACCESS_RESOLUTION,
            ))),
            backend,
            pool: Arc::new(SerializerPool::linked()),
            always_read: false,
            limits: Limits::default(),
            single_flight: None,
        }
    }

    /// The largest record and header this storage reads.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Sets the largest record and header this storage reads.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Whether [`cached`](Self::cached) shares the computation of a missing
    /// result between processes, and how; `None` (the default): each
    /// process that misses computes.
    pub fn single_flight(&self) -> Option<SingleFlight> {
        self.single_flight
    }

    /// Switches single flight on (`Some`) or off for
    /// [`cached`](Self::cached): when several processes need the same
    /// missing result, one computes it and the others wait and read it.
    pub fn set_single_flight(&mut self, single_flight: Option<SingleFlight>) {
        self.single_flight = single_flight;
    }

    /// How often at most a read of the same task records its access time
    /// in this process (for retention's size cap, which evicts the least
    /// recently used first); `None`: reads are not recorded. By default
    /// [`DEFAULT_ACCESS_RESOLUTION`](crate::DEFAULT_ACCESS_RESOLUTION).
    pub fn access_resolution(&self) -> Option<std::time::Duration> {
        self.access.as_ref().map(|access| access.resolution())
    }

    /// Sets [`access_resolution`](Self::access_resolution). Access times
    /// are written by a background thread, never on the read path;
    /// switch them off for a storage this program may only read.
    pub fn set_access_resolution(&mut self, resolution: Option<std::time::Duration>) {
        self.access = resolution
            .map(|resolution| Arc::new(AccessTimes::new(Arc::clone(&self.backend), resolution)));
    }

    /// Waits until the access times of the reads so far are written.
    /// Dropping the last clone of a storage does it too.
    pub fn flush_access_times(&self) {
        if let Some(access) = &self.access {
            access.flush();
        }
    }

    /// The backend underneath.
    pub fn backend(&self) -> &dyn StorageBackend {
        self.backend.as_ref()
    }

    /// Whether [`cached`](Self::cached) hands back the value read from the
    /// storage after saving (exactly what later runs will see) rather than
    /// the computed one.
    pub fn always_read(&self) -> bool {
        self.always_read
    }

    /// Sets [`always_read`](Self::always_read).
    pub fn set_always_read(&mut self, always_read: bool) {
        self.always_read = always_read;
    }

    /// Adds persistent serializers to this storage only; each replaces any
    /// serializer (linked or earlier) for the same type.
    pub fn register_persistent_serializers(
        &mut self,
        serializers: impl IntoIterator<Item = Arc<dyn PersistentSerializer>>,
    ) {
        let pool = Arc::make_mut(&mut self.pool);
        for serializer in serializers {
            pool.register(serializer);
        }
    }

    /// The persistent serializer this storage uses for `T`, if any (linked
    /// or registered); serializers that expose themselves through
    /// [`PersistentSerializer::as_any`] can be asked for their settings.
    pub fn persistent_serializer_for<T: Any>(&self) -> Option<Arc<dyn PersistentSerializer>> {
        self.pool.for_type(TypeId::of::<T>()).cloned()
    }

    /// The protocols through which persistent serializers reach the big
    /// data of `workflow`, for serializers that write outside a
    /// [`save`](Self::save): an array written block by block, say, then
    /// committed with [`save_stored`](Self::save_stored).
    ///
    /// # Errors
    /// [`Error::InvalidName`], or [`Error::Backend`] when the big-data
    /// namespace cannot be set up.
    pub fn protocols(&self, workflow: &str) -> Result<Protocols> {
        validate_workflow(workflow)?;
        self.backend
            .protocols(workflow)
            .map_err(|e| self.backend_error(e))
    }

    /// Saves as the result of `task` an object that its persistent
    /// serializer has already stored through this workflow's
    /// [`protocols`](Self::protocols), as if `save` had stored a value of
    /// type `type_name` (the name the record's header keeps). Replaces any
    /// earlier result as [`save`](Self::save) does.
    ///
    /// The object then belongs to the record: it is removed with the task,
    /// and removed at once when this call fails.
    ///
    /// # Errors
    /// [`Error::InvalidName`]; [`Error::NoSerializer`] when no serializer of
    /// the name `pid` records is registered (the object is left alone then);
    /// [`Error::Backend`] when the record cannot be written.
    pub fn save_stored(
        &self,
        workflow: &str,
        task: &str,
        type_name: &str,
        pid: PersistentId,
    ) -> Result<()> {
        validate_workflow(workflow)?;
        validate_task(task)?;
        let Some(serializer) = self.pool.by_name(&pid.serializer).cloned() else {
            return Err(Error::NoSerializer {
                type_name: type_names::short(type_name),
                hint: format!(
                    "; no serializer named `{}` is registered with this storage",
                    pid.serializer
                ),
            });
        };
        let header = RecordHeader {
            type_name: type_name.to_owned(),
            persistent_ids: vec![pid.clone()],
            created_ns: now_ns(),
            key: None,
            fingerprint: None,
            reason: None,
        };
        let written: Written = vec![(serializer, pid)];
        self.store_record(
            workflow,
            task,
            &header,
            &record::whole_reference(),
            &written,
        )
    }

    /// Prepares a workflow (saving also does this when needed).
    ///
    /// # Errors
    /// [`Error::InvalidName`], or [`Error::Backend`] when it cannot be created.
    pub fn new_workflow(&self, workflow: &str) -> Result<()> {
        validate_workflow(workflow)?;
        self.backend
            .new_workflow(workflow)
            .map_err(|e| self.backend_error(e))
    }

    /// Saves the result of `task`, replacing any earlier one atomically and
    /// then removing the big data the earlier one referenced.
    ///
    /// # Errors
    /// [`Error::InvalidName`]; [`Error::Encode`], [`Error::NoSerializer`] or
    /// [`Error::Serializer`] when the value cannot be encoded; [`Error::Backend`]
    /// when it cannot be written. On error the earlier record is intact and
    /// big data written by this call is removed — unless the backend failed
    /// after the new record was in place (a final `fsync`, a lost reply):
    /// then the new record stands, complete with its big data.
    ///
    /// `T` may be unsized (`str`, slices): `save("wf", "t", "hello")` and
    /// `save("wf", "t", &values[..10])` work. It must be `'static` (own its
    /// data, or borrow only `'static` data): finding its persistent
    /// serializer needs its `TypeId`; save borrowed data through an owned
    /// copy or a slice.
    pub fn save<T: Savable + ?Sized>(&self, workflow: &str, task: &str, value: &T) -> Result<()> {
        self.save_with_key(workflow, task, value, None)
    }

    /// A keyed node of `workflow`: its stored result is read only when it
    /// was computed from the same inputs, code version and upstream
    /// results; see [`Node`](crate::Node).
    pub fn node<'s>(&'s self, workflow: &str, task: &str) -> crate::keyed::Node<'s> {
        crate::keyed::Node::new(self, workflow, task)
    }

    /// [`save`](Self::save) of a keyed result: the header keeps `key` and
    /// the result's fingerprint.
    pub(crate) fn save_keyed<T: Savable + ?Sized>(
        &self,
        workflow: &str,
        task: &str,
        value: &T,
        key: NodeKey,
        reason: String,
    ) -> Result<()> {
        self.save_with_key(workflow, task, value, Some((key, reason)))
    }

    fn save_with_key<T: Savable + ?Sized>(
        &self,
        workflow: &str,
        task: &str,
        value: &T,
        key: Option<(NodeKey, String)>,
    ) -> Result<()> {
        validate_workflow(workflow)?;
        validate_task(task)?;
        let context = Context::new(
            Arc::clone(&self.pool),
            Arc::clone(&self.backend),
            workflow,
            task,
            Mode::Save(Vec::new()),
        );
        let whole = self.pool.for_type(TypeId::of::<T>()).is_some();
        if !whole {
            self.warn_of_namesake::<T>(workflow, task);
        }
        let (encoded, context) = context.run(|| encode_payload(value, whole));
        let (written, failure) = context.into_save_parts();
        let payload = match encoded {
            Ok(payload) => payload,
            Err(reason) => {
                self.remove_written(workflow, &written);
                return Err(failure.unwrap_or_else(|| Error::Encode {
                    workflow: workflow.to_owned(),
                    task: task.to_owned(),
                    reason,
                }));
            }
        };
        let persistent_ids: Vec<PersistentId> =
            written.iter().map(|(_, pid)| pid.clone()).collect();
        let fingerprint = key
            .as_ref()
            .map(|_| crate::keyed::result_fingerprint(&payload, &persistent_ids));
        let (key, reason) = key.unzip();
        let header = RecordHeader {
            type_name: std::any::type_name::<T>().to_owned(),
            persistent_ids,
            created_ns: now_ns(),
            key,
            fingerprint,
            reason,
        };
        self.store_record(workflow, task, &header, &payload, &written)
    }

    /// Writes a record whose big data (`written`) is already stored,
    /// replacing any earlier record and then removing the big data that one
    /// referenced; on failure removes `written` unless the record went in
    /// after all.
    pub(crate) fn store_record(
        &self,
        workflow: &str,
        task: &str,
        header: &RecordHeader,
        payload: &[u8],
        written: &Written,
    ) -> Result<()> {
        // The big data of the record this save replaces, read just before
        // the new record goes in.
        let mut replaced = Vec::new();
        let stored = record::encode(header, payload)
            .map_err(|reason| Error::Encode {
                workflow: workflow.to_owned(),
                task: task.to_owned(),
                reason,
            })
            .and_then(|bytes| {
                // A new task needs no look at an old record: one request
                // where the backend can create atomically.
                match self.backend.put_if_absent(workflow, task, &bytes) {
                    Ok(Some(true)) => return Ok(()),
                    Ok(Some(false) | None) => {}
                    Err(e) => return Err(self.backend_error(e)),
                }
                replaced = self.stored_ids(workflow, task);
                self.backend
                    .put(workflow, task, &bytes)
                    .map_err(|e| self.backend_error(e))
            });
        if let Err(error) = stored {
            if self.record_holds(workflow, task, written) {
                // The new record is in place after all: finish the overwrite.
                self.remove_ids(workflow, &replaced);
            } else {
                self.remove_written(workflow, written);
            }
            return Err(error);
        }
        self.remove_ids(workflow, &replaced);
        Ok(())
    }

    /// Reads the result of `task` as `T`.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::CorruptRecord`] when the record fails its
    /// checks or big data it refers to is missing or damaged;
    /// [`Error::TypeMismatch`] when it holds something that does not decode
    /// as `T`; [`Error::NoSerializer`] when it holds a `T` stored by a
    /// serializer this storage lacks; [`Error::Serializer`] when a
    /// serializer fails otherwise; [`Error::Backend`].
    ///
    /// A read racing a save of the same task returns the old value or the
    /// new one, never an error: when big data the record names is missing or
    /// damaged, the record is read again, and a record that changed
    /// meanwhile (a save replaced it and removed the old big data) is read
    /// anew.
    pub fn read_task<T: DeserializeOwned + Any>(&self, workflow: &str, task: &str) -> Result<T> {
        /// Saves that may complete during one read before it gives up.
        const MAX_REREADS: usize = 32;
        validate_workflow(workflow)?;
        validate_task(task)?;
        let mut bytes = self.get_record(workflow, task)?;
        for _ in 0..MAX_REREADS {
            match self.decode_record::<T>(workflow, task, &bytes) {
                Err(error @ Error::CorruptRecord { .. }) => {
                    let again = self.get_record(workflow, task)?;
                    if again == bytes {
                        return Err(error);
                    }
                    bytes = again;
                }
                decoded => return decoded,
            }
        }
        self.decode_record::<T>(workflow, task, &bytes)
    }

    fn get_record(&self, workflow: &str, task: &str) -> Result<Vec<u8>> {
        self.fetch_record(workflow, task)?
            .ok_or_else(|| Error::NotFound {
                workflow: workflow.to_owned(),
                task: task.to_owned(),
            })
    }

    /// The record's bytes within the storage's [`Limits`], or `None` when
    /// there is none.
    pub(crate) fn fetch_record(&self, workflow: &str, task: &str) -> Result<Option<Vec<u8>>> {
        let too_large = |what, size, limit| Error::TooLarge {
            workflow: workflow.to_owned(),
            task: task.to_owned(),
            what,
            size,
            limit,
        };
        let bytes = self
            .backend
            .get_limited(workflow, task, self.limits.max_record_bytes)
            .map_err(|error| match error.downcast_ref::<RecordTooLarge>() {
                Some(refused) => too_large("record", refused.size, refused.limit),
                None => self.backend_error(error),
            })?;
        if let Some(bytes) = &bytes
            && let Some(header) = record::header_len(bytes)
            && header > self.limits.max_header_bytes
            // A length past the end is damage, which decoding reports.
            && header <= bytes.len() as u64
        {
            return Err(too_large("header", header, self.limits.max_header_bytes));
        }
        Ok(bytes)
    }

    /// Decodes the record `bytes` of `task` as `T`, reading its big data.
    pub(crate) fn decode_record<T: DeserializeOwned + Any>(
        &self,
        workflow: &str,
        task: &str,
        bytes: &[u8],
    ) -> Result<T> {
        let corrupt = |reason| Error::CorruptRecord {
            workflow: workflow.to_owned(),
            task: task.to_owned(),
            reason,
        };
        let record = record::decode(bytes).map_err(corrupt)?;
        let requested = std::any::type_name::<T>();
        let reference = record::is_whole_reference(record.payload);
        let whole = reference && self.pool.for_type(TypeId::of::<T>()).is_some();
        let header = record.header;
        let context = Context::new(
            Arc::clone(&self.pool),
            Arc::clone(&self.backend),
            workflow,
            task,
            Mode::Read(header.persistent_ids.clone()),
        );
        let (decoded, context) = context.run(|| decode_payload::<T>(record.payload, whole));
        if decoded.is_ok()
            && let Some(access) = &self.access
        {
            access.note_read(workflow, task);
        }
        decoded.map_err(|failure| {
            let reason = match failure {
                PayloadError::Trailing(count) => {
                    return corrupt(format!(
                        "{count} bytes follow the payload's value (a payload is exactly one MessagePack value)"
                    ));
                }
                PayloadError::Decode(reason) => reason,
            };
            if let Some(failure) = context.failure {
                return failure;
            }
            if reference && !whole && header.type_name == requested {
                // A whole value stored out of band, asked for as its own
                // type, which no serializer handles in this program.
                let stored_by = header
                    .persistent_ids
                    .first()
                    .map_or("?", |pid| pid.serializer.as_str());
                return Error::NoSerializer {
                    type_name: type_names::short(requested),
                    hint: format!(
                        "; the record holds a `{}` stored by serializer `{stored_by}`",
                        type_names::short(&header.type_name)
                    ),
                };
            }
            Error::TypeMismatch {
                workflow: workflow.to_owned(),
                task: task.to_owned(),
                stored: type_names::short(&header.type_name),
                requested: type_names::short(requested),
                reason,
            }
        })
    }

    /// Reads the result of `task` when it is stored; otherwise runs
    /// `compute`, saves its result and returns it. A corrupt record is
    /// recomputed (with a warning in the log).
    ///
    /// [`cached_with_origin`](Self::cached_with_origin) also says whether the
    /// value was read or computed.
    ///
    /// # Errors
    /// As [`read_task`](Self::read_task) for errors other than not-found and
    /// corrupt records, and as [`save`](Self::save).
    pub fn cached<T, F>(&self, workflow: &str, task: &str, compute: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned + Any,
        F: FnOnce() -> T,
    {
        self.cached_with_origin(workflow, task, compute)
            .map(|cached| cached.value)
    }

    /// As [`cached`](Self::cached), and says where the value came from.
    ///
    /// # Errors
    /// As [`cached`](Self::cached).
    pub fn cached_with_origin<T, F>(
        &self,
        workflow: &str,
        task: &str,
        compute: F,
    ) -> Result<Cached<T>>
    where
        T: Serialize + DeserializeOwned + Any,
        F: FnOnce() -> T,
    {
        if let Some(options) = self.single_flight {
            return self.cached_single_flight(workflow, task, &options, compute);
        }
        if let Some(value) = self.stored_for_cached::<T>(workflow, task)? {
            return Ok(value);
        }
        self.compute_for_cached(workflow, task, compute)
    }

    /// [`cached_with_origin`](Self::cached_with_origin) with single flight
    /// for this call: when the result is missing, one process computes it
    /// (holding the task's lease) while others calling this wait and then
    /// read it. A holder that fails or dies lets the next waiter compute.
    /// On a backend without leases, it is plain `cached`.
    ///
    /// # Errors
    /// As [`cached`](Self::cached); [`Error::Busy`] after waiting
    /// [`SingleFlight::max_wait`] for another holder.
    pub fn cached_single_flight<T, F>(
        &self,
        workflow: &str,
        task: &str,
        options: &SingleFlight,
        compute: F,
    ) -> Result<Cached<T>>
    where
        T: Serialize + DeserializeOwned + Any,
        F: FnOnce() -> T,
    {
        let started = std::time::Instant::now();
        // Described only on a miss: a hit costs what it costs without.
        let mut holder = None;
        loop {
            if let Some(value) = self.stored_for_cached::<T>(workflow, task)? {
                return Ok(value);
            }
            let holder = holder.get_or_insert_with(holder_description);
            let attempt = self
                .backend
                .try_lease(workflow, task, holder, options.lease)
                .map_err(|e| self.backend_error(e))?;
            match attempt {
                None => return self.compute_for_cached(workflow, task, compute),
                Some(LeaseAttempt::Acquired(lease)) => {
                    let guard = LeaseGuard::hold(lease);
                    // A holder may have finished between the read and the lease.
                    if let Some(value) = self.stored_for_cached::<T>(workflow, task)? {
                        return Ok(value);
                    }
                    let computed = self.compute_for_cached(workflow, task, compute);
                    drop(guard);
                    return computed;
                }
                Some(LeaseAttempt::Held { holder }) => {
                    let waited = started.elapsed();
                    if waited >= options.max_wait {
                        return Err(Error::Busy {
                            workflow: workflow.to_owned(),
                            task: task.to_owned(),
                            holder,
                            waited,
                        });
                    }
                    std::thread::sleep(options.poll);
                }
            }
        }
    }

    /// The stored result for `cached`, or `None` when it must be computed
    /// (missing, or corrupt: with a warning).
    fn stored_for_cached<T: DeserializeOwned + Any>(
        &self,
        workflow: &str,
        task: &str,
    ) -> Result<Option<Cached<T>>> {
        match self.read_task::<T>(workflow, task) {
            Ok(value) => Ok(Some(Cached {
                value,
                origin: Origin::Stored,
            })),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(error @ Error::CorruptRecord { .. }) => {
                log::warn!("{error}; recomputing");
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// Runs `compute` and saves its result for `cached`.
    fn compute_for_cached<T, F>(&self, workflow: &str, task: &str, compute: F) -> Result<Cached<T>>
    where
        T: Serialize + DeserializeOwned + Any,
        F: FnOnce() -> T,
    {
        let value = compute();
        self.save(workflow, task, &value)?;
        let value = if self.always_read {
            self.read_task(workflow, task)?
        } else {
            value
        };
        Ok(Cached {
            value,
            origin: Origin::Computed,
        })
    }

    /// Whether a result of `task` is stored.
    ///
    /// # Errors
    /// [`Error::InvalidName`] or [`Error::Backend`].
    pub fn file_exists(&self, workflow: &str, task: &str) -> Result<bool> {
        validate_workflow(workflow)?;
        validate_task(task)?;
        self.backend
            .exists(workflow, task)
            .map_err(|e| self.backend_error(e))
    }

    /// The stored tasks of `workflow` whose names match the glob `pattern`
    /// (`*`, `?`, `[seq]`, `[!seq]`), sorted. The workflow name is literal.
    ///
    /// # Errors
    /// [`Error::InvalidName`], [`Error::InvalidPattern`] or [`Error::Backend`].
    pub fn list_tasks(&self, workflow: &str, pattern: &str) -> Result<Vec<String>> {
        validate_workflow(workflow)?;
        let pattern = task_pattern(pattern)?;
        let mut tasks: Vec<String> = self
            .backend
            .list(workflow)
            .map_err(|e| self.backend_error(e))?
            .into_iter()
            .filter(|task| pattern.matches(task))
            .collect();
        tasks.sort();
        Ok(tasks)
    }

    /// Removes the result of `task` and its big data; returns whether there
    /// was one. A corrupt record is removed too, with whatever big data its
    /// header still names.
    ///
    /// # Errors
    /// [`Error::InvalidName`] or [`Error::Backend`].
    pub fn remove_task(&self, workflow: &str, task: &str) -> Result<bool> {
        validate_workflow(workflow)?;
        validate_task(task)?;
        // Marks of earlier reads land first, not after the removal.
        self.flush_access_times();
        let ids = self.stored_ids(workflow, task);
        let removed = self
            .backend
            .delete(workflow, task)
            .map_err(|e| self.backend_error(e))?;
        // Record first: a crash in between leaves orphans, never a record
        // pointing at missing data.
        self.remove_ids(workflow, &ids);
        Ok(removed)
    }

    /// Removes every task matching the glob `pattern`; returns their names.
    /// No match is no error.
    ///
    /// # Errors
    /// As [`list_tasks`](Self::list_tasks) and [`remove_task`](Self::remove_task).
    pub fn remove_tasks(&self, workflow: &str, pattern: &str) -> Result<Vec<String>> {
        let tasks = self.list_tasks(workflow, pattern)?;
        for task in &tasks {
            self.remove_task(workflow, task)?;
        }
        Ok(tasks)
    }

    /// Removes a workflow with all its results and big data. A missing
    /// workflow is not an error.
    ///
    /// # Errors
    /// [`Error::InvalidName`] or [`Error::Backend`].
    pub fn remove_workflow(&self, workflow: &str) -> Result<()> {
        validate_workflow(workflow)?;
        // A mark written after the removal would bring its prefix back on S3.
        self.flush_access_times();
        self.backend
            .remove_workflow(workflow)
            .map_err(|e| self.backend_error(e))
    }

    /// Logs a warning when `T` has no serializer but a type of the same
    /// name has one: the user's `T` comes from another version of its crate
    /// and is stored inline, which they did not mean.
    fn warn_of_namesake<T: Any + ?Sized>(&self, workflow: &str, task: &str) {
        let type_name = std::any::type_name::<T>();
        if let Some(serializer) = self.pool.for_namesake(TypeId::of::<T>(), type_name) {
            log::warn!(
                "task `{task}` of workflow `{workflow}`: no persistent serializer takes this `{}`, \
                 so it is stored inline in the record{}",
                type_names::short(type_name),
                crate::registry::namesake_hint(serializer.as_ref(), type_name)
            );
        }
    }

    pub(crate) fn backend_error(&self, source: anyhow::Error) -> Error {
        Error::Backend {
            backend: self.backend.kind().to_owned(),
            source,
        }
    }

    /// Whether the stored record refers to the objects of `written`: a put
    /// that failed may still have put the record in place, and its big data
    /// must then stay.
    fn record_holds(&self, workflow: &str, task: &str, written: &Written) -> bool {
        let Some((_, first)) = written.first() else {
            return false;
        };
        self.stored_ids(workflow, task)
            .iter()
            .any(|pid| pid.location == first.location)
    }

    /// The persistent ids of the stored record, read from its header alone
    /// (no checksum: a damaged record's big data is still found); empty
    /// when there is none or it cannot be read at all.
    fn stored_ids(&self, workflow: &str, task: &str) -> Vec<PersistentId> {
        if self.pool.is_empty() {
            // Nothing could remove them anyway.
            return Vec::new();
        }
        match self.stored_header(workflow, task) {
            Ok(None) => Vec::new(),
            Ok(Some(Ok(header))) => header.persistent_ids,
            Ok(Some(Err(reason))) => {
                log::warn!(
                    "record of task `{task}` in workflow `{workflow}` is unreadable ({reason}); \
                     the big data it names, if any, stays"
                );
                Vec::new()
            }
            Err(error) => {
                log::warn!(
                    "cannot read the record of task `{task}` in workflow `{workflow}` ({error:#}); \
                     the big data it names, if any, stays"
                );
                Vec::new()
            }
        }
    }

    /// The header of the stored record, read from its start alone (no
    /// checksum): `None` when there is no record, `Some(Err(reason))` when
    /// the header does not decode.
    ///
    /// # Errors
    /// When the backend cannot read the record.
    pub(crate) fn stored_header(
        &self,
        workflow: &str,
        task: &str,
    ) -> anyhow::Result<Option<Result<RecordHeader, String>>> {
        // Enough for the header of almost any record; larger ones are read whole.
        const HEADER_PROBE: usize = 64 * 1024;
        let Some(prefix) = self.backend.get_prefix(workflow, task, HEADER_PROBE)? else {
            return Ok(None);
        };
        let header = match record::decode_header(&prefix) {
            Err(_) if prefix.len() >= HEADER_PROBE => {
                match self
                    .backend
                    .get_limited(workflow, task, self.limits.max_record_bytes)?
                {
                    Some(bytes) => record::decode_header(&bytes),
                    None => return Ok(None),
                }
            }
            decoded => decoded,
        };
        Ok(Some(header))
    }

    /// Best-effort removal of big data by id (name lookup, no Rust type).
    fn remove_ids(&self, workflow: &str, ids: &[PersistentId]) {
        let found = ids.iter().filter_map(|pid| {
            let serializer = self.pool.by_name(&pid.serializer);
            if serializer.is_none() {
                log::warn!(
                    "no serializer `{}` is registered to remove `{}` of workflow `{workflow}`",
                    pid.serializer,
                    pid.location
                );
            }
            serializer.map(|serializer| (serializer.as_ref(), pid))
        });
        self.remove_objects(workflow, found);
    }

    /// Best-effort removal of big data a failed save or copy wrote.
    pub(crate) fn remove_written(&self, workflow: &str, written: &Written) {
        self.remove_objects(workflow, written.iter().map(|(s, p)| (s.as_ref(), p)));
    }

    fn remove_objects<'a>(
        &self,
        workflow: &str,
        objects: impl IntoIterator<Item = (&'a dyn PersistentSerializer, &'a PersistentId)>,
    ) {
        let mut objects = objects.into_iter().peekable();
        if objects.peek().is_none() {
            return;
        }
        let protocols = match self.backend.protocols(workflow) {
            Ok(protocols) => protocols,
            Err(error) => {
                log::warn!("cannot reach the big data of workflow `{workflow}`: {error:#}");
                return;
            }
        };
        for (serializer, pid) in objects {
            if let Err(error) = serializer.remove(pid, &protocols) {
                log::warn!(
                    "serializer `{}` could not remove `{}` of workflow `{workflow}`: {error:#}",
                    serializer.name(),
                    pid.location
                );
            }
        }
    }
}

/// A task glob, checked.
pub(crate) fn task_pattern(pattern: &str) -> Result<glob::Pattern> {
    glob::Pattern::new(pattern).map_err(|e| Error::InvalidPattern {
        pattern: pattern.to_owned(),
        reason: e.to_string(),
    })
}

/// Encodes the payload: the whole value through its persistent serializer
/// when `whole`, otherwise with MessagePack (structs as maps, so that other
/// languages see field names).
fn encode_payload<T: Savable + ?Sized>(value: &T, whole: bool) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(128);
    let mut serializer = rmp_serde::Serializer::new(&mut out).with_struct_map();
    let encoded = match value.as_any() {
        Some(value) if whole => {
            crate::persistent::serialize_whole(value, std::any::type_name::<T>(), &mut serializer)
        }
        _ => value.serialize(&mut serializer),
    };
    encoded.map(|()| out).map_err(|e| e.to_string())
}

/// Why a payload did not decode.
enum PayloadError {
    /// serde's message: the value is not a `T` (or a hook failed).
    Decode(String),
    /// The value decoded, and this many bytes follow it.
    Trailing(usize),
}

/// Decodes a payload that is exactly one MessagePack value.
fn decode_payload<T: DeserializeOwned + Any>(
    payload: &[u8],
    whole: bool,
) -> Result<T, PayloadError> {
    let mut deserializer = rmp_serde::Deserializer::new(std::io::Cursor::new(payload));
    let decoded = if whole {
        crate::persistent::deserialize(&mut deserializer)
    } else {
        T::deserialize(&mut deserializer)
    };
    let value = decoded.map_err(|e| PayloadError::Decode(e.to_string()))?;
    let consumed = usize::try_from(deserializer.position()).unwrap_or(usize::MAX);
    match payload.len().checked_sub(consumed) {
        Some(0) => Ok(value),
        Some(trailing) => Err(PayloadError::Trailing(trailing)),
        None => Err(PayloadError::Decode(
            "the decoder read past the payload".to_owned(),
        )),
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as u64)
}
