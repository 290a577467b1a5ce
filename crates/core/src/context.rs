//! The per-thread context that [`Storage`](crate::Storage) installs while it
//! encodes or decodes a payload, so that [`Persistent`](crate::Persistent)
//! fields deep inside a user's type can reach the serializers and protocols.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::sync::Arc;

use crate::backend::StorageBackend;
use crate::error::{Error, StoredTypeMismatch};
use crate::protocols::Protocols;
use crate::registry::SerializerPool;
use crate::serializer::{PersistentId, PersistentSerializer};

/// What the context is doing.
pub(crate) enum Mode {
    /// Encoding: persistent ids written so far (with their serializer, for rollback).
    Save(Vec<(Arc<dyn PersistentSerializer>, PersistentId)>),
    /// Decoding: the ids from the record header.
    Read(Vec<PersistentId>),
}

/// One storage call in progress on this thread.
pub(crate) struct Context {
    pub(crate) pool: Arc<SerializerPool>,
    pub(crate) backend: Arc<dyn StorageBackend>,
    pub(crate) workflow: String,
    pub(crate) task: String,
    pub(crate) mode: Mode,
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
        // The guard pops even when `body` unwinds, so a panic in user code
        // cannot leave a stale context behind for the next call.
        let guard = PopGuard;
        let result = body();
        let context = guard.pop();
        (result, context)
    }

    fn protocols(&mut self) -> Result<Protocols, Error> {
        if let Some(protocols) = &self.protocols {
            return Ok(protocols.clone());
        }
        let protocols =
            self.backend
                .protocols(&self.workflow)
                .map_err(|source| Error::Backend {
                    backend: self.backend.kind().to_owned(),
                    source,
                })?;
        self.protocols = Some(protocols.clone());
        Ok(protocols)
    }

    fn remember(&mut self, error: Error) -> String {
        let message = error.to_string();
        self.failure.get_or_insert(error);
        message
    }
}

struct PopGuard;

impl PopGuard {
    fn pop(self) -> Context {
        std::mem::forget(self);
        pop_context()
    }
}

impl Drop for PopGuard {
    fn drop(&mut self) {
        // Only reached while unwinding.
        STACK.with(|stack| stack.borrow_mut().pop());
    }
}

#[allow(clippy::expect_used)] // pushed by `run` just before; not input-dependent
fn pop_context() -> Context {
    STACK
        .with(|stack| stack.borrow_mut().pop())
        .expect("context pushed by Context::run")
}

/// Runs `f` on the innermost context, if any.
fn with_top<R>(f: impl FnOnce(&mut Context) -> R) -> Option<R> {
    STACK.with(|stack| stack.borrow_mut().last_mut().map(f))
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
    let prepared = with_top(|context| {
        if !matches!(context.mode, Mode::Save(_)) {
            return None;
        }
        let prepared = match context.pool.for_type(TypeId::of::<T>()) {
            Some(serializer) => {
                let serializer = Arc::clone(serializer);
                context.protocols().map(|protocols| (serializer, protocols))
            }
            None => Err(no_serializer(std::any::type_name::<T>())),
        };
        Some(prepared.map_err(|error| context.remember(error)))
    })
    .flatten()?;
    let (serializer, protocols) = match prepared {
        Ok(prepared) => prepared,
        Err(message) => return Some(Err(message)),
    };
    // No borrow of the context is held here: the serializer may itself use
    // serde, or even another storage.
    let result = serializer.pickle(value, &protocols);
    with_top(|context| match result {
        Err(source) => Err(context.remember(Error::Serializer {
            serializer: serializer.name().to_owned(),
            source,
        })),
        Ok(pid) => match &mut context.mode {
            Mode::Save(written) => {
                // Each id takes memory, so 2^32 of them cannot exist.
                let index = written.len() as u32;
                written.push((serializer, pid));
                Ok(index)
            }
            Mode::Read(_) => Err("storage context changed during a save".to_owned()),
        },
    })
}

/// Reads persistent object `index` of the record being decoded as `T`.
pub(crate) fn unpickle<T: Any>(index: u32) -> Result<T, String> {
    let prepared = with_top(|context| {
        let prepared = prepare_unpickle::<T>(context, index);
        prepared.map_err(|error| context.remember(error))
    })
    .unwrap_or_else(|| Err("no storage is reading on this thread".to_owned()))?;
    let (serializer, pid, protocols, workflow, task) = prepared;
    let result = serializer.unpickle(&pid, &protocols).and_then(|object| {
        object.downcast::<T>().map(|boxed| *boxed).map_err(|_| {
            anyhow::anyhow!(
                "returned another type than `{}` (a bug in the serializer)",
                std::any::type_name::<T>()
            )
        })
    });
    result.map_err(|source| {
        let error = match source.downcast::<StoredTypeMismatch>() {
            Ok(mismatch) => Error::TypeMismatch {
                workflow,
                task,
                stored: mismatch.stored,
                requested: mismatch.requested,
                reason: mismatch.reason,
            },
            Err(source) => Error::Serializer {
                serializer: serializer.name().to_owned(),
                source: source.context(format!(
                    "cannot read `{}` of task `{task}` in workflow `{workflow}`",
                    pid.location
                )),
            },
        };
        with_top(|context| context.remember(error)).unwrap_or_default()
    })
}

type Prepared = (
    Arc<dyn PersistentSerializer>,
    PersistentId,
    Protocols,
    String,
    String,
);

fn prepare_unpickle<T: Any>(context: &mut Context, index: u32) -> Result<Prepared, Error> {
    let Mode::Read(pids) = &context.mode else {
        return Err(corrupt(context, "persistent reference outside a read"));
    };
    let Some(pid) = pids.get(index as usize).cloned() else {
        return Err(corrupt(
            context,
            &format!("reference to persistent object {index}, which the header does not list"),
        ));
    };
    let requested = std::any::type_name::<T>();
    let Some(serializer) = context.pool.for_type(TypeId::of::<T>()).cloned() else {
        return Err(no_serializer(requested));
    };
    if serializer.name() != pid.serializer {
        return Err(Error::TypeMismatch {
            workflow: context.workflow.clone(),
            task: context.task.clone(),
            stored: format!("object of serializer `{}`", pid.serializer),
            requested: requested.to_owned(),
            reason: format!(
                "`{requested}` is handled by serializer `{}`",
                serializer.name()
            ),
        });
    }
    let protocols = context.protocols()?;
    Ok((
        serializer,
        pid,
        protocols,
        context.workflow.clone(),
        context.task.clone(),
    ))
}

fn corrupt(context: &Context, reason: &str) -> Error {
    Error::CorruptRecord {
        workflow: context.workflow.clone(),
        task: context.task.clone(),
        reason: reason.to_owned(),
    }
}

pub(crate) fn no_serializer(type_name: &str) -> Error {
    Error::NoSerializer {
        type_name: type_name.to_owned(),
        hint: "; enable the facade feature or link the crate that provides one, \
               or call Storage::register_persistent_serializers"
            .to_owned(),
    }
}
