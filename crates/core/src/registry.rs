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
    /// The same serializers by the outer name of their type (`ArrayBase`):
    /// a value with no serializer whose type has the short name of one
    /// with a serializer comes from another version of that type's crate,
    /// which users should be told.
    by_base_name: HashMap<&'static str, Vec<Arc<dyn PersistentSerializer>>>,
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
            .finish_non_exhaustive()
    }
}

impl SerializerPool {
    /// A pool of every serializer linked into the program.
    pub(crate) fn linked() -> Self {
        let mut pool = Self::default();
        for registration in inventory::iter::<PersistentSerializerRegistration> {
            let serializer = (registration.create)();
            let class = serializer.serializer_class();
            // Two crates linking a serializer for one type: the first wins;
            // run-time registration is how a user picks.
            if !pool.by_type.contains_key(&class.type_id) {
                pool.register(serializer);
            }
        }
        pool
    }

    /// Adds or replaces the serializer for its class.
    pub(crate) fn register(&mut self, serializer: Arc<dyn PersistentSerializer>) {
        let class = serializer.serializer_class();
        let namesakes = self
            .by_base_name
            .entry(crate::type_names::base(class.type_name))
            .or_default();
        namesakes.retain(|other| other.serializer_class().type_id != class.type_id);
        namesakes.push(Arc::clone(&serializer));
        self.by_type.insert(class.type_id, serializer);
    }

    /// A serializer for a type whose short name is that of `type_name` but
    /// which is another type: the same type from another version of its
    /// crate.
    pub(crate) fn for_namesake(
        &self,
        type_id: TypeId,
        type_name: &str,
    ) -> Option<&Arc<dyn PersistentSerializer>> {
        let candidates = self.by_base_name.get(crate::type_names::base(type_name))?;
        let short = crate::type_names::short(type_name);
        candidates.iter().find(|serializer| {
            let class = serializer.serializer_class();
            class.type_id != type_id && crate::type_names::short(class.type_name) == short
        })
    }

    /// What to tell a user whose value of type `type_name` found no
    /// serializer, as the end of [`Error::NoSerializer`](crate::Error::NoSerializer)'s text.
    pub(crate) fn missing_hint(&self, type_id: TypeId, type_name: &str) -> String {
        match self.for_namesake(type_id, type_name) {
            Some(serializer) => namesake_hint(serializer.as_ref(), type_name),
            None => "; enable the facade feature or link the crate that provides one, \
                     or call Storage::register_persistent_serializers"
                .to_owned(),
        }
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

/// Says that `type_name` comes from another version of its crate than the
/// one `serializer` handles.
pub(crate) fn namesake_hint(serializer: &dyn PersistentSerializer, type_name: &str) -> String {
    let handled = serializer
        .type_origin()
        .map_or_else(|| "another version of its crate".to_owned(), str::to_owned);
    format!(
        "; serializer `{}` handles the `{}` of {handled}, and this value's type is \
         the one of another version of that crate: use the crate version the \
         serializer links (for arrays, the facade's `functionfuse::ndarray`)",
        serializer.name(),
        crate::type_names::short(type_name),
    )
}
