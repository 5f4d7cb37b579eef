//! [`Avro<T>`]: the value decoded from Confluent-framed Avro through the schema registry.

use std::any::TypeId;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use super::{Delivery, FromMessage, Rejection};
use crate::avro::{self, AvroSchema, Prepared, wire};
use crate::schema_registry::{RegistryError, SchemaRegistry};

/// The message value decoded from Avro in the Confluent wire format into `T`.
///
/// The writer schema comes from the registry by the id in the message; it is resolved
/// against `T`'s reader schema ([`AvroSchema`]) once per (schema id, `T`) and cached, so
/// after the first message of an id nothing but decoding happens (no HTTP call, no lock).
///
/// Rejections (all permanent, so the message goes to the dead letters, except the first):
/// - the registry is unreachable: the message **waits** (retried until the registry is back,
///   never skipped);
/// - no value (tombstone), too short, wrong magic byte;
/// - unknown schema id;
/// - the writer schema does not resolve to `T`'s (a field the reader needs is missing, …);
/// - truncated or invalid body, declared lengths beyond the message, trailing bytes.
///
/// Needs a schema registry (`SCHEMA_REGISTRY_URL`, or `Runtime::schema_registry`), checked
/// at boot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Avro<T>(pub T);

impl<T> std::ops::Deref for Avro<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

type Key = (u64, u32, TypeId);
type Entry = Result<Arc<Prepared>, Arc<str>>;

/// Resolutions shared by all threads (filled on first use of a (registry, id, type)).
static PREPARED: LazyLock<Mutex<HashMap<Key, Entry>>> = LazyLock::new(Default::default);

thread_local! {
    /// A lock-free front for [`PREPARED`]: each worker thread keeps what it has used (a
    /// handful of entries: a linear scan beats hashing, and nothing is cloned per message).
    static LOCAL: RefCell<Vec<(Key, Entry)>> = const { RefCell::new(Vec::new()) };
}

/// Decodes with the thread's cached resolution for `key`; `None` if none is cached yet.
fn decode_cached<T: AvroSchema>(key: &Key, id: u32, body: &[u8]) -> Option<Result<T, Rejection>> {
    let hit = LOCAL.with(|l| {
        l.borrow()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, e)| decode_with::<T>(e, id, body))
    });
    if hit.is_some() {
        return hit;
    }
    let e = PREPARED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(key)
        .cloned()?;
    let result = decode_with::<T>(&e, id, body);
    LOCAL.with(|l| l.borrow_mut().push((*key, e)));
    Some(result)
}

fn decode_with<T: AvroSchema>(entry: &Entry, id: u32, body: &[u8]) -> Result<T, Rejection> {
    let prepared = entry
        .as_ref()
        .map_err(|m| Rejection::undecodable("Avro", m.to_string()))?;
    prepared
        .decode::<T>(body)
        .map_err(|e| Rejection::undecodable("Avro", format!("schema id {id}: {e}")))
}

async fn prepare<T: AvroSchema>(registry: &SchemaRegistry, id: u32) -> Result<Entry, Rejection> {
    let registered = registry.schema_by_id(id).await.map_err(|e| match e {
        RegistryError::NotFound { .. } => {
            Rejection::undecodable("Avro", format!("unknown schema id {id} ({e})"))
        }
        e if e.is_retryable() => Rejection::unavailable("Avro", e),
        e => Rejection::permanent("Avro", e),
    })?;
    let entry: Entry = (|| {
        let writer = apache_avro::Schema::parse_str(&registered.schema)
            .map_err(|e| format!("the registry's schema {id} does not parse: {e}"))?;
        let reader = avro::reader_schema::<T>()?;
        Prepared::new(&writer, &reader).map(Arc::new).map_err(|m| {
            format!(
                "schema mismatch: writer schema {id} cannot be read as `{}`: {m}",
                std::any::type_name::<T>()
            )
        })
    })()
    .map_err(Arc::from);
    let key = (registry.instance_id(), id, TypeId::of::<T>());
    PREPARED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, entry.clone());
    LOCAL.with(|l| {
        let mut l = l.borrow_mut();
        l.retain(|(k, _)| *k != key);
        l.push((key, entry.clone()));
    });
    Ok(entry)
}

impl<T: AvroSchema> FromMessage for Avro<T> {
    async fn from_message(d: &Delivery<'_>) -> Result<Self, Rejection> {
        let value = d.payload().ok_or_else(|| {
            Rejection::undecodable("Avro", "the message has no value (tombstone)")
        })?;
        let (id, body) = wire::split(value).map_err(|e| Rejection::undecodable("Avro", e))?;
        let registry = d.state().get::<SchemaRegistry>().ok_or_else(|| {
            Rejection::permanent(
                "Avro",
                "no schema registry configured (set SCHEMA_REGISTRY_URL)",
            )
        })?;
        let key = (registry.instance_id(), id, TypeId::of::<T>());
        if let Some(decoded) = decode_cached::<T>(&key, id, body) {
            return decoded.map(Avro);
        }
        let entry = prepare::<T>(registry, id).await?;
        decode_with::<T>(&entry, id, body).map(Avro)
    }

    fn requirements(r: &mut super::Requirements) {
        r.require_avro_reader(std::any::type_name::<T>(), T::SCHEMA);
        r.require_state_with_hint::<SchemaRegistry>(
            "set SCHEMA_REGISTRY_URL (or call `.schema_registry(...)` on the runtime builder); \
             `mock://<scope>` selects an in-process registry",
        );
    }
}
