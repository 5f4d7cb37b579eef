//! [`Avro<T>`]: the value decoded from Confluent-framed Avro through the schema registry.

use std::any::TypeId;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use super::{Delivery, FromMessage, Rejection};
use crate::avro::{AvroSchema, Prepared, ReaderType, wire};
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

/// A resolution's cache key: (registry client, schema id, reader type).
pub(crate) type Key = (u64, u32, TypeId);
/// A resolution, or why the writer schema cannot be read as the reader type.
pub(crate) type Entry = Result<Arc<Prepared>, Arc<str>>;

/// Resolutions shared by all threads (filled on first use of a (registry, id, type)).
static PREPARED: LazyLock<Mutex<HashMap<Key, Entry>>> = LazyLock::new(Default::default);

thread_local! {
    /// A lock-free front for [`PREPARED`]: each worker thread keeps what it has used (a
    /// handful of entries: a linear scan beats hashing, and nothing is cloned per message).
    static LOCAL: RefCell<Vec<(Key, Entry)>> = const { RefCell::new(Vec::new()) };
}

/// Calls `f` with the resolution cached for `key`, borrowed from the thread's cache (no
/// lock, no clone once the thread has seen it); `None` if none is cached yet.
pub(crate) fn with_cached<R>(key: &Key, f: impl FnOnce(&Entry) -> R) -> Option<R> {
    let mut f = Some(f);
    let hit = LOCAL.with(|l| {
        let l = l.borrow();
        let (_, e) = l.iter().find(|(k, _)| k == key)?;
        f.take().map(|f| f(e))
    });
    if hit.is_some() {
        return hit;
    }
    let e = PREPARED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(key)
        .cloned()?;
    let result = f.map(|f| f(&e));
    LOCAL.with(|l| l.borrow_mut().push((*key, e)));
    result
}

/// Decodes `body` (schema id `id`) with a cached resolution.
pub(crate) fn decode_with<'de, T: serde::Deserialize<'de>>(
    extractor: &'static str,
    entry: &Entry,
    id: u32,
    body: &'de [u8],
) -> Result<T, Rejection> {
    let prepared = entry
        .as_ref()
        .map_err(|m| Rejection::undecodable(extractor, m.to_string()))?;
    prepared
        .decode::<T>(body)
        .map_err(|e| Rejection::undecodable(extractor, format!("schema id {id}: {e}")))
}

/// Splits a framed value into (schema id, body) and finds the registry: what every Avro
/// extractor does first.
pub(crate) fn framed<'a>(
    extractor: &'static str,
    d: &Delivery<'a>,
) -> Result<(u32, &'a [u8], &'a SchemaRegistry), Rejection> {
    let value = d
        .payload()
        .ok_or_else(|| Rejection::undecodable(extractor, "the message has no value (tombstone)"))?;
    let (id, body) = wire::split(value).map_err(|e| Rejection::undecodable(extractor, e))?;
    let registry = d.state().get::<SchemaRegistry>().ok_or_else(|| {
        Rejection::permanent(
            extractor,
            "no schema registry configured (set SCHEMA_REGISTRY_URL)",
        )
    })?;
    Ok((id, body, registry))
}

/// Fetches writer schema `id` and resolves it against `reader`, caching the result
/// (a mismatch is cached too: it is permanent for this id).
pub(crate) async fn prepare(
    extractor: &'static str,
    registry: &SchemaRegistry,
    id: u32,
    reader: ReaderType,
) -> Result<Entry, Rejection> {
    let registered = registry.schema_by_id(id).await.map_err(|e| match e {
        RegistryError::NotFound { .. } => {
            Rejection::undecodable(extractor, format!("unknown schema id {id} ({e})"))
        }
        e if e.is_retryable() => Rejection::unavailable(extractor, e),
        e => Rejection::permanent(extractor, e),
    })?;
    let entry: Entry = (|| {
        let writer = apache_avro::Schema::parse_str(&registered.schema)
            .map_err(|e| format!("the registry's schema {id} does not parse: {e}"))?;
        let schema = reader.schema()?;
        Prepared::new(&writer, &schema).map(Arc::new).map_err(|m| {
            format!(
                "schema mismatch: writer schema {id} cannot be read as `{}`: {m}",
                reader.name
            )
        })
    })()
    .map_err(Arc::from);
    let key = (registry.instance_id(), id, reader.id);
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

/// What an Avro extractor declares at boot: `reader`'s schema and a registry.
pub(crate) fn avro_requirements(r: &mut super::Requirements, reader: ReaderType) {
    r.require_avro_reader(reader.name, reader.schema);
    r.require_state_with_hint::<SchemaRegistry>(
        "set SCHEMA_REGISTRY_URL (or call `.schema_registry(...)` on the runtime builder); \
         `mock://<scope>` selects an in-process registry",
    );
}

impl<T: AvroSchema> FromMessage for Avro<T> {
    async fn from_message(d: &Delivery<'_>) -> Result<Self, Rejection> {
        let (id, body, registry) = framed("Avro", d)?;
        let reader = ReaderType::of::<T>();
        let key = (registry.instance_id(), id, reader.id);
        if let Some(decoded) = with_cached(&key, |e| decode_with::<T>("Avro", e, id, body)) {
            return decoded.map(Avro);
        }
        let entry = prepare("Avro", registry, id, reader).await?;
        decode_with::<T>("Avro", &entry, id, body).map(Avro)
    }

    fn requirements(r: &mut super::Requirements) {
        avro_requirements(r, ReaderType::of::<T>());
    }
}
