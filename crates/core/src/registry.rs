//! The plugin registry: serializers and backend kinds linked in through
//! `inventory`, and the per-storage pool that run-time registrations extend.

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::backend::StorageBackend;
use crate::serializer::PersistentSerializer;

/// A persistent serializer linked into the program.
///
/// Submit one with [`submit_persistent_serializer!`](crate::submit_persistent_serializer);
/// every [`Storage`](crate::Storage) then uses it, with no call at run time.
pub struct PersistentSerializerRegistration {
    create: fn() -> Arc<dyn PersistentSerializer>,
}

impl PersistentSerializerRegistration {
    /// A registration whose serializer `create` builds (called once per storage).
    pub const fn new(create: fn() -> Arc<dyn PersistentSerializer>) -> Self {
        Self { create }
    }
}

inventory::collect!(PersistentSerializerRegistration);

/// A storage backend kind linked into the program.
///
/// Submit one with [`submit_storage_backend!`](crate::submit_storage_backend);
/// [`storage_factory`](crate::storage_factory) then finds it by kind.
pub struct StorageBackendRegistration {
    kind: &'static str,
    create: BackendConstructor,
}

/// Builds a backend from the `options` of a [`StorageConfig`](crate::StorageConfig).
pub type BackendConstructor =
    fn(options: &serde_json::Value) -> anyhow::Result<Box<dyn StorageBackend>>;

impl StorageBackendRegistration {
    /// A registration of `kind` (matched without regard to ASCII case).
    pub const fn new(kind: &'static str, create: BackendConstructor) -> Self {
        Self { kind, create }
    }

    /// The kind as registered.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    pub(crate) fn create(
        &self,
        options: &serde_json::Value,
    ) -> anyhow::Result<Box<dyn StorageBackend>> {
        (self.create)(options)
    }
}

inventory::collect!(StorageBackendRegistration);

/// Registers a persistent serializer for every storage of the program.
///
/// The argument is a `fn() -> Arc<dyn PersistentSerializer>` (a path or a
/// non-capturing closure).
///
/// ```
/// # use std::sync::Arc;
/// # use functionfuse_core::PersistentSerializer;
/// # fn my_serializer() -> Arc<dyn PersistentSerializer> { unimplemented!() }
/// functionfuse_core::submit_persistent_serializer!(my_serializer);
/// ```
#[macro_export]
macro_rules! submit_persistent_serializer {
    ($create:expr) => {
        $crate::__private::inventory::submit! {
            $crate::PersistentSerializerRegistration::new($create)
        }
    };
}

/// Registers a storage backend kind for [`storage_factory`](crate::storage_factory).
///
/// ```
/// # use functionfuse_core::StorageBackend;
/// # fn open(_: &serde_json::Value) -> anyhow::Result<Box<dyn StorageBackend>> { unimplemented!() }
/// functionfuse_core::submit_storage_backend!("my-kind", open);
/// ```
#[macro_export]
macro_rules! submit_storage_backend {
    ($kind:expr, $create:expr) => {
        $crate::__private::inventory::submit! {
            $crate::StorageBackendRegistration::new($kind, $create)
        }
    };
}

/// Every backend kind linked into the program, sorted.
pub fn linked_kinds() -> Vec<String> {
    let mut kinds: Vec<String> = inventory::iter::<StorageBackendRegistration>
        .into_iter()
        .map(|registration| registration.kind.to_owned())
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

/// The registration of `kind`, compared without regard to ASCII case.
pub(crate) fn find_backend(kind: &str) -> Option<&'static StorageBackendRegistration> {
    inventory::iter::<StorageBackendRegistration>
        .into_iter()
        .find(|registration| registration.kind.eq_ignore_ascii_case(kind))
}

/// The serializers one storage uses: the linked ones, overridden by those
/// registered at run time.
#[derive(Clone, Default)]
pub(crate) struct SerializerPool {
    by_type: HashMap<TypeId, Arc<dyn PersistentSerializer>>,
}

impl fmt::Debug for SerializerPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Dozens of array types share one serializer name: show the names.
        let mut names: Vec<&str> = self.by_type.values().map(|s| s.name()).collect();
        names.sort_unstable();
        names.dedup();
        f.debug_struct("SerializerPool")
            .field("types", &self.by_type.len())
            .field("names", &names)
            .finish()
    }
}

impl SerializerPool {
    /// A pool of every serializer linked into the program.
    pub(crate) fn linked() -> Self {
        let mut pool = Self::default();
        for registration in inventory::iter::<PersistentSerializerRegistration> {
            let serializer = (registration.create)();
            let type_id = serializer.serializer_class().type_id;
            // Two crates linking a serializer for one type: the first wins;
            // run-time registration is how a user picks.
            pool.by_type.entry(type_id).or_insert(serializer);
        }
        pool
    }

    /// Adds or replaces the serializer for its class.
    pub(crate) fn register(&mut self, serializer: Arc<dyn PersistentSerializer>) {
        self.by_type
            .insert(serializer.serializer_class().type_id, serializer);
    }

    /// The serializer for the type `type_id`.
    pub(crate) fn for_type(&self, type_id: TypeId) -> Option<&Arc<dyn PersistentSerializer>> {
        self.by_type.get(&type_id)
    }

    /// Some serializer called `name`: enough to remove an object by its id.
    pub(crate) fn by_name(&self, name: &str) -> Option<&Arc<dyn PersistentSerializer>> {
        self.by_type
            .values()
            .find(|serializer| serializer.name() == name)
    }

    /// Whether the pool has no serializer at all (lets saves skip work).
    pub(crate) fn is_empty(&self) -> bool {
        self.by_type.is_empty()
    }
}
