//! The per-thread context that [`Storage`](crate::Storage) installs while it
//! encodes or decodes a payload, so that [`Persistent`](crate::Persistent)
//! fields deep inside a user's type can reach the serializers and protocols.
//!
//! No borrow of the context is held while a serializer or the backend runs:
//! either may use serde, or even another storage, on the same thread.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::sync::Arc;

use crate::backend::StorageBackend;
use crate::error::{DamagedObject, Error, StorageFailure, StoredTypeMismatch};
use crate::protocols::Protocols;
use crate::registry::SerializerPool;
use crate::serializer::{PersistentId, PersistentSerializer};
use crate::type_names;

/// Persistent objects written by a save so far, with their serializer.
pub(crate) type Written = Vec<(Arc<dyn PersistentSerializer>, PersistentId)>;

/// What the context is doing.
pub(crate) enum Mode {
    /// Encoding: the objects written so far (for the header, or rollback).
    Save(Written),
    /// Decoding: the ids from the record header.
    Read(Vec<PersistentId>),
}

/// One storage call in progress on this thread.
pub(crate) struct Context {
    pool: Arc<SerializerPool>,
    backend: Arc<dyn StorageBackend>,
    workflow: String,
    task: String,
    mode: Mode,
    /// Built on first use: most records hold no persistent object.
    protocols: Option<Protocols>,
    /// The first structured error, reported instead of serde's text.
    pub(crate) failure: Option<Error>,
}

thread_local! {
    static STACK: RefCell<Vec<Context>> = const { RefCell::new(Vec::new()) };
}

impl Context {
    pub(crate) fn new(
        pool: Arc<SerializerPool>,
        backend: Arc<dyn StorageBackend>,
        workflow: &str,
        task: &str,
        mode: Mode,
    ) -> Self {
        Self {
            pool,
            backend,
            workflow: workflow.to_owned(),
            task: task.to_owned(),
            mode,
            protocols: None,
            failure: None,
        }
    }

    /// Runs `body` with this context installed and hands the context back.
    pub(crate) fn run<R>(self, body: impl FnOnce() -> R) -> (R, Context) {
        STACK.with(|stack| stack.borrow_mut().push(self));
        let guard = UnwindGuard;
        let result = body();
        std::mem::forget(guard);
        (result, pop_own())
    }

    /// What a save context collected: the objects written and the first
    /// structured error (a read context has written nothing).
    pub(crate) fn into_save_parts(self) -> (Written, Option<Error>) {
        match self.mode {
            Mode::Save(written) => (written, self.failure),
            Mode::Read(_) => (Vec::new(), self.failure),
        }
    }

    fn remember(&mut self, error: Error) -> String {
        let message = error.to_string();
        self.failure.get_or_insert(error);
        message
    }

    fn corrupt(&self, reason: String) -> Error {
        Error::CorruptRecord {
            workflow: self.workflow.clone(),
            task: self.task.clone(),
            reason,
        }
    }
}

fn pop() -> Option<Context> {
    STACK.with(|stack| stack.borrow_mut().pop())
}

/// Pops the context `run` pushed: nothing else pops it, so it is there.
#[allow(clippy::expect_used)] // an invariant of this module, not input-dependent
fn pop_own() -> Context {
    pop().expect("the context pushed by Context::run")
}

/// Pops the context when the body unwinds (a panic in a user's `Serialize`
/// or in a serializer), removing the big data a save had written.
struct UnwindGuard;

impl Drop for UnwindGuard {
    fn drop(&mut self) {
        if let Some(context) = pop()
            && let (Mode::Save(written), Some(protocols)) = (&context.mode, &context.protocols)
        {
            for (serializer, pid) in written {
                let _ = serializer.remove(pid, protocols);
            }
        }
    }
}

/// Runs `f` on the innermost context, if any.
fn with_top<R>(f: impl FnOnce(&mut Context) -> R) -> Option<R> {
    STACK.with(|stack| stack.borrow_mut().last_mut().map(f))
}

/// The protocols of the innermost context, asking the backend once.
fn protocols() -> Result<Protocols, Error> {
    let (cached, backend, workflow) = with_top(|context| {
        (
            context.protocols.clone(),
            Arc::clone(&context.backend),
            context.workflow.clone(),
        )
    })
    .ok_or_else(|| Error::Backend {
        backend: "?".to_owned(),
        source: anyhow::anyhow!("no storage call in progress on this thread"),
    })?;
    if let Some(protocols) = cached {
        return Ok(protocols);
    }
    let protocols = backend
        .protocols(&workflow)
        .map_err(|source| Error::Backend {
            backend: backend.kind().to_owned(),
            source,
        })?;
    with_top(|context| context.protocols = Some(protocols.clone()));
    Ok(protocols)
}

/// Records `error` in the innermost context; returns its text for serde.
fn fail(error: Error) -> String {
    let message = error.to_string();
    with_top(|context| context.remember(error)).unwrap_or(message)
}

/// Whether a storage is decoding on this thread.
pub(crate) fn reading() -> bool {
    with_top(|context| matches!(context.mode, Mode::Read(_))).unwrap_or(false)
}

/// Hands `value` to its persistent serializer when a save is in progress.
///
/// `None`: no save in progress (encode inline). `Some(Ok(index))`: the
/// reference to write. `Some(Err(message))`: failed; the context keeps the
/// structured error.
pub(crate) fn pickle<T: Any>(value: &T) -> Option<Result<u32, String>> {
    pickle_dyn(value, std::any::type_name::<T>())
}

/// [`pickle`] of a value known as `dyn Any`, whose type is named `type_name`.
pub(crate) fn pickle_dyn(value: &dyn Any, type_name: &str) -> Option<Result<u32, String>> {
    let type_id = value.type_id();
    let serializer = with_top(|context| match context.mode {
        Mode::Save(_) => Some(
            context
                .pool
                .for_type(type_id)
                .cloned()
                .ok_or_else(|| no_serializer(&context.pool, type_id, type_name)),
        ),
        Mode::Read(_) => None,
    })
    .flatten()?;
    let serializer = match serializer {
        Ok(serializer) => serializer,
        Err(error) => return Some(Err(fail(error))),
    };
    let protocols = match protocols() {
        Ok(protocols) => protocols,
        Err(error) => return Some(Err(fail(error))),
    };
    let pid = match serializer.pickle(value, &protocols) {
        Ok(pid) => pid,
        Err(source) => return Some(Err(fail(serializer_failure(serializer.name(), source)))),
    };
    with_top(|context| match &mut context.mode {
        Mode::Save(written) => {
            // Each id takes memory, so 2^32 of them cannot exist.
            let index = written.len() as u32;
            written.push((serializer, pid));
            Ok(index)
        }
        Mode::Read(_) => Err("storage context changed during a save".to_owned()),
    })
}

/// Reads persistent object `index` of the record being decoded as `T`.
pub(crate) fn unpickle<T: Any>(index: u32) -> Result<T, String> {
    let (serializer, pid, workflow, task) = with_top(|context| {
        prepare_unpickle::<T>(context, index).map_err(|error| context.remember(error))
    })
    .unwrap_or_else(|| Err("no storage is reading on this thread".to_owned()))?;
    let protocols = protocols().map_err(fail)?;
    let object = serializer.unpickle(&pid, &protocols).and_then(|object| {
        object.downcast::<T>().map(|boxed| *boxed).map_err(|_| {
            anyhow::anyhow!(
                "returned another type than `{}` (a bug in the serializer)",
                std::any::type_name::<T>()
            )
        })
    });
    object.map_err(|source| {
        let source = match source.downcast::<StoredTypeMismatch>() {
            Ok(mismatch) => {
                return fail(Error::TypeMismatch {
                    workflow,
                    task,
                    stored: type_names::short(&mismatch.stored),
                    requested: type_names::short(&mismatch.requested),
                    reason: mismatch.reason,
                });
            }
            Err(source) => source,
        };
        let error = match source.downcast::<DamagedObject>() {
            Ok(damaged) => Error::CorruptRecord {
                workflow,
                task,
                reason: format!("{damaged} (serializer `{}`)", serializer.name()),
            },
            Err(source) => serializer_failure(
                serializer.name(),
                source.context(format!(
                    "cannot read `{}` of task `{task}` in workflow `{workflow}`",
                    pid.location
                )),
            ),
        };
        fail(error)
    })
}

/// A serializer's error: [`Error::Backend`] when the storage underneath
/// failed ([`StorageFailure`]), as for a record; [`Error::Serializer`] otherwise.
fn serializer_failure(serializer: &str, source: anyhow::Error) -> Error {
    if StorageFailure::is_in(&source)
        && let Some(backend) = with_top(|context| context.backend.kind())
    {
        return Error::Backend {
            backend: backend.to_owned(),
            source,
        };
    }
    Error::Serializer {
        serializer: serializer.to_owned(),
        source,
    }
}

type Prepared = (Arc<dyn PersistentSerializer>, PersistentId, String, String);

fn prepare_unpickle<T: Any>(context: &Context, index: u32) -> Result<Prepared, Error> {
    let Mode::Read(pids) = &context.mode else {
        return Err(context.corrupt("persistent reference outside a read".to_owned()));
    };
    let Some(pid) = pids.get(index as usize).cloned() else {
        return Err(context.corrupt(format!(
            "reference to persistent object {index}, which the header does not list"
        )));
    };
    let requested = type_names::short(std::any::type_name::<T>());
    let Some(serializer) = context.pool.for_type(TypeId::of::<T>()).cloned() else {
        return Err(no_serializer(
            &context.pool,
            TypeId::of::<T>(),
            std::any::type_name::<T>(),
        ));
    };
    if serializer.name() != pid.serializer {
        return Err(Error::TypeMismatch {
            workflow: context.workflow.clone(),
            task: context.task.clone(),
            stored: format!("object of serializer `{}`", pid.serializer),
            requested: requested.clone(),
            reason: format!(
                "`{requested}` is handled by serializer `{}`",
                serializer.name()
            ),
        });
    }
    Ok((
        serializer,
        pid,
        context.workflow.clone(),
        context.task.clone(),
    ))
}

fn no_serializer(pool: &SerializerPool, type_id: TypeId, type_name: &str) -> Error {
    Error::NoSerializer {
        type_name: type_names::short(type_name),
        hint: pool.missing_hint(type_id, type_name),
    }
}
