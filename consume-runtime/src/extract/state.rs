//! [`State<T>`]: shared application state, provided once at boot.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use super::{Delivery, FromMessage, Rejection};

/// A value provided with `.state(value)` on the runtime builder, cloned for each message
/// (wrap large state in an `Arc`). A handler taking `State<T>` when no `T` was provided is
/// a boot error, never a per-message failure.
#[derive(Debug, Clone, Copy, Default)]
pub struct State<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromMessage for State<T> {
    async fn from_message(d: &Delivery<'_>) -> Result<Self, Rejection> {
        d.state().get::<T>().cloned().map(State).ok_or_else(|| {
            // Unreachable after the boot check; kept as a clear error rather than a panic.
            Rejection::permanent(
                "State",
                format!(
                    "no `{}` was provided to the runtime",
                    std::any::type_name::<T>()
                ),
            )
        })
    }

    fn requirements(r: &mut Requirements) {
        r.require_state::<T>();
    }
}

impl<T> std::ops::Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Values of distinct types, looked up by type (on the per-message path: the hasher just
/// takes the `TypeId`'s bits, which are already a hash).
#[derive(Default)]
pub struct StateMap {
    values: HashMap<TypeId, Box<dyn Any + Send + Sync>, BuildHasherDefault<TypeIdHasher>>,
    names: Vec<&'static str>,
}

/// A `Hasher` for `TypeId` keys only.
#[derive(Default)]
pub(crate) struct TypeIdHasher(u64);

impl Hasher for TypeIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 ^= v;
    }
}

impl StateMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the value of type `T`.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        if self
            .values
            .insert(TypeId::of::<T>(), Box::new(value))
            .is_none()
        {
            self.names.push(std::any::type_name::<T>());
        }
    }

    /// The value of type `T`, if provided.
    pub fn get<T: 'static>(&self) -> Option<&T> {
        self.values
            .get(&TypeId::of::<T>())
            .and_then(|b| b.downcast_ref::<T>())
    }

    pub(crate) fn contains(&self, id: TypeId) -> bool {
        self.values.contains_key(&id)
    }
}

impl fmt::Debug for StateMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Type names only: state values may hold secrets.
        f.debug_struct("StateMap")
            .field("types", &self.names)
            .finish()
    }
}

/// What a handler's extractors need from the runtime, collected at boot.
#[derive(Debug, Default)]
pub struct Requirements {
    /// (type, type name, how to provide it).
    pub(crate) states: Vec<(TypeId, &'static str, &'static str)>,
    /// Avro reader types: (type name, reader schema), checked against the registry at boot.
    pub(crate) avro_readers: Vec<(&'static str, &'static str)>,
    /// JSON value types: (type, type name), for the AsyncAPI document's payload schemas.
    pub(crate) json_values: Vec<(TypeId, &'static str)>,
    /// JSON Schemas of the message key, for the AsyncAPI document.
    pub(crate) keys: Vec<serde_json::Value>,
}

impl Requirements {
    /// Declares that a value of type `T` must be provided with `.state(...)`.
    pub fn require_state<T: 'static>(&mut self) {
        self.require_state_with_hint::<T>("call `.state(value)` on the runtime builder");
    }

    /// Declares that the handler reads Avro into a type with this reader schema; the runtime
    /// checks at boot that the latest writer schema of each topic resolves to it.
    pub fn require_avro_reader(&mut self, type_name: &'static str, schema: &'static str) {
        self.avro_readers.push((type_name, schema));
    }

    /// Declares that the handler reads the message value as JSON of type `T`. Documentation
    /// only: the AsyncAPI export ([`asyncapi`](mod@crate::asyncapi)) gives the message the
    /// JSON Schema given for `T` in its [`Info`](crate::asyncapi::Info), if any.
    pub fn describe_json_value<T: 'static>(&mut self) {
        self.json_values
            .push((TypeId::of::<T>(), std::any::type_name::<T>()));
    }

    /// Declares the message key as this JSON Schema (e.g. `{"type": "string"}`).
    /// Documentation only: the AsyncAPI export puts it in the Kafka message binding's `key`.
    pub fn describe_key(&mut self, schema: serde_json::Value) {
        self.keys.push(schema);
    }

    /// [`Requirements::require_state`] with a specific fix in the boot error.
    pub fn require_state_with_hint<T: 'static>(&mut self, how_to_provide: &'static str) {
        self.states.push((
            TypeId::of::<T>(),
            std::any::type_name::<T>(),
            how_to_provide,
        ));
    }
}
