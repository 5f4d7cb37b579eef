//! The MongoDB store (tested against FerretDB 1.24 on SQLite with the `_id`-only guard, and
//! mongo-java-server 1.47 with the version guard; no real MongoDB runs here). Design and limits:
//! `docs/training-storage.md`; the servers: `docs/mongodb-servers.md`.
//!
//! One document per bucket (learner, course, day, source), `_id` `"{learner}|{course}|{day}|{source}"`:
//!
//! ```text
//! { _id, learner_id, course_id, day, source: "lecture"|"quiz"|"attendance",
//!   v: <version>, n: <events>, seconds: <sum>, check_in, check_out, identity_verified,
//!   updated_at: <ms>, last_event_at: <newest occurred_at, ms>,
//!   ids: [event_id, …], events: [{event_id, occurred_at, seconds, …}, …] }
//! ```
//!
//! `apply` reads the touched buckets' `ids` and `v` in one `find`, drops the events already
//! there, and writes each bucket's new events *and* new totals in one single-document update
//! guarded by `{_id, v}`, all buckets in one `update` command. Storing an event and counting it
//! are one atomic write, and a stored event is never counted again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::event::EventHandler;
use mongodb::event::command::CommandEvent;
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection, Database, IndexModel};

use crate::domain::time::now_ms;
use crate::domain::{
    AttendanceKind, CoursePage, DayKey, DayTotals, LearnerTraining, RefinedEvent, Source,
    SourceKind, Totals,
};

use super::bucket_cache::{BucketCache, Known};
use super::{
    ApplyReport, BucketKey, OpsCounter, OpsSnapshot, Snapshot, Store, StoreError, StoreFuture,
    group,
};

/// The collection holding the buckets.
pub const BUCKETS_COLLECTION: &str = "training_buckets";
tokio::task_local! {
    /// Set while [`Store::apply`] runs: the driver calls the command monitor inline, in the
    /// task that runs the operation, so a command started in `apply` is counted as the
    /// writer's ([`OpsSnapshot::apply_commands`]) and an API read is not.
    static IN_APPLY: ();
}

/// Rounds of read-and-write before [`StoreError::Conflict`].
const MAX_ROUNDS: u32 = 8;
/// Update statements per `update` command on MongoDB (keeps each command far below 16 MiB).
const STATEMENTS_PER_COMMAND: usize = 500;
/// Update statements per `update` command on FerretDB 1.24: its `update` keeps the SQLite
/// query of every statement that matched a document open until the whole command ends, and its
/// pool has 100 connections per database, so a command with more than ~100 matching statements
/// (or a few concurrent ones summing to that) waits forever. 25 leaves room for four
/// concurrent writers.
const FERRETDB_STATEMENTS_PER_COMMAND: usize = 25;
/// `_id`s per `find` when reading versions.
const IDS_PER_FIND: usize = 1_000;
/// FerretDB connections one process may hold at once (its pool has 100 per database; this
/// leaves room for three service instances).
const FERRETDB_CONNECTION_BUDGET: usize = 30;
/// MongoDB's duplicate-key error: an upsert whose `{_id, v}` guard did not match.
const DUPLICATE_KEY: i64 = 11_000;

/// What an `update` command did.
enum Outcome {
    /// Every statement took effect but these (indexes), which must be retried.
    Known(HashSet<usize>),
    /// The reply does not say which statements took effect.
    Unknown,
}

/// The fields of a bucket that make its totals (everything but the events).
fn totals_projection() -> Document {
    doc! {
        "learner_id": 1, "course_id": 1, "day": 1, "source": 1, "n": 1, "seconds": 1,
        "check_in": 1, "check_out": 1, "identity_verified": 1, "updated_at": 1,
        "last_event_at": 1,
    }
}

/// How a bucket update is guarded against a concurrent writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Filter `{_id, v}`: a compare-and-set on the version (MongoDB, where `_id` is indexed in
    /// any filter and single-document updates are atomic; mongo-java-server, whose updates are
    /// atomic too, and whose launcher in `infra/` plans such a filter on the `_id` index).
    Version,
    /// Filter `{_id}` only (FerretDB: it pushes a filter down to SQLite only when it is exactly
    /// `{_id: <string>}`, and scans the whole collection otherwise; its updates are not atomic
    /// either, so a version filter would not be a real compare-and-set there). Correct under
    /// the one-writer-per-bucket rule; see `docs/training-storage.md`.
    IdOnly,
}

/// The MongoDB store. Cheap to share behind an `Arc`; the driver pools connections.
#[derive(Debug, Clone)]
pub struct MongoStore {
    db: Database,
    buckets: Collection<Document>,
    ops: Arc<OpsCounter>,
    guard: Guard,
    statements_per_command: usize,
    /// On FerretDB: a budget of SQLite connections for this process. FerretDB holds one of its
    /// 100 per-database connections for every statement of a command until the command ends;
    /// when concurrent commands need more than that, they wait on each other forever. A read
    /// takes one permit, an `update` one per statement.
    budget: Option<Arc<tokio::sync::Semaphore>>,
    /// What this writer knows about buckets (see [`MongoStore::with_bucket_cache`]).
    cache: Option<Arc<Mutex<BucketCache>>>,
}

impl MongoStore {
    /// Connects to `uri`, uses database `database`, and creates the indexes. Every command the
    /// driver sends from then on counts in [`Store::ops`].
    pub async fn connect(uri: &str, database: &str) -> Result<Self, StoreError> {
        let mut opts = ClientOptions::parse(uri).await?;
        if opts.server_selection_timeout.is_none() {
            opts.server_selection_timeout = Some(Duration::from_secs(5));
        }
        if opts.app_name.is_none() {
            opts.app_name = Some("training-service".to_owned());
        }
        let ops = Arc::new(OpsCounter::default());
        let counter = Arc::clone(&ops);
        // Counted, not derived: every command the driver starts (retries included), by name.
        opts.command_event_handler = Some(EventHandler::callback(move |ev: CommandEvent| {
            if let CommandEvent::Started(started) = ev {
                counter.named_command(&started.command_name, IN_APPLY.try_with(|_| ()).is_ok());
            }
        }));
        let client = Client::with_options(opts)?;
        let db = client.database(database);
        let info = db.run_command(doc! { "buildInfo": 1 }).await?;
        let ferretdb = info.contains_key("ferretdbVersion");
        let (guard, statements_per_command) = if ferretdb {
            (Guard::IdOnly, FERRETDB_STATEMENTS_PER_COMMAND)
        } else {
            (Guard::Version, STATEMENTS_PER_COMMAND)
        };
        let store = Self {
            buckets: db.collection(BUCKETS_COLLECTION),
            db,
            ops,
            guard,
            statements_per_command,
            budget: ferretdb
                .then(|| Arc::new(tokio::sync::Semaphore::new(FERRETDB_CONNECTION_BUDGET))),
            cache: None,
        };
        // FerretDB 1.24 does not use secondary indexes for these queries (only `_id` is
        // pushed down to SQLite), and its `createIndexes` on an existing compound index drops
        // the connection (a server-side panic): create them on MongoDB only.
        if !ferretdb {
            store.ensure_indexes().await?;
        }
        Ok(store)
    }

    /// The guard in use (chosen at connect: [`Guard::IdOnly`] on FerretDB).
    pub fn guard(&self) -> Guard {
        self.guard
    }

    /// Overrides the guard (tests; or to force the version guard on FerretDB, at the cost of a
    /// collection scan per bucket written).
    pub fn with_guard(mut self, guard: Guard) -> Self {
        self.guard = guard;
        self
    }

    /// Keeps each bucket's version and event ids after reading or writing it (about
    /// `max_ids` event ids at most), so that the next call writing the bucket needs no read:
    /// one `update` command per call in the steady state instead of a `find` and an `update`.
    ///
    /// With [`Guard::Version`] a stale entry only costs a retry, and a bucket not in the cache
    /// is assumed absent rather than read (a wrong guess costs a retry as well). With
    /// [`Guard::IdOnly`] the caller must be the buckets' only writer and call
    /// [`Store::ownership_changed`] on every consumer-group rebalance (the service does);
    /// otherwise do not enable it there.
    pub fn with_bucket_cache(mut self, max_ids: usize) -> Self {
        self.cache = Some(Arc::new(Mutex::new(BucketCache::new(max_ids))));
        self
    }

    /// (hits, misses) of the bucket cache, if enabled.
    pub fn bucket_cache_stats(&self) -> Option<(u64, u64)> {
        self.cache.as_ref().map(|c| lock(c).stats())
    }

    /// The database in use.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The buckets collection (for tools and tests).
    pub fn buckets(&self) -> &Collection<Document> {
        &self.buckets
    }

    /// Waits for `n` permits of the FerretDB budget (nothing on MongoDB).
    async fn permits(&self, n: usize) -> Option<tokio::sync::SemaphorePermit<'_>> {
        let budget = self.budget.as_ref()?;
        let n = u32::try_from(n.min(FERRETDB_CONNECTION_BUDGET)).unwrap_or(1);
        budget.acquire_many(n).await.ok()
    }

    async fn ensure_indexes(&self) -> Result<(), StoreError> {
        self.buckets
            .create_indexes([
                IndexModel::builder().keys(doc! { "learner_id": 1 }).build(),
                IndexModel::builder()
                    .keys(doc! { "course_id": 1, "learner_id": 1 })
                    .build(),
            ])
            .await?;
        Ok(())
    }

    /// Reads `v` and `ids` of the given buckets (absent ones are left out).
    async fn read_versions(&self, ids: &[&String]) -> Result<HashMap<String, Known>, StoreError> {
        let mut out = HashMap::with_capacity(ids.len());
        // One `$in` read per batch: on FerretDB it scans the collection (only an exact `{_id}`
        // filter is pushed down), but one scan costs less there than one command per bucket,
        // and the command count is what the service is judged on.
        let _permit = self.permits(1).await;
        for chunk in ids.chunks(IDS_PER_FIND) {
            let mut cursor = self
                .buckets
                .find(doc! { "_id": { "$in": chunk.to_vec() } })
                .projection(doc! { "v": 1, "ids": 1 })
                // One more than can match: a reply that fills its batch exactly leaves the
                // cursor open (FerretDB, MongoDB), which costs an empty `getMore` (counted).
                .batch_size(u32::try_from(chunk.len() + 1).unwrap_or(u32::MAX))
                .await?;
            while let Some(d) = cursor.try_next().await? {
                let (id, v, ids) = versions_of(&d)?;
                out.insert(id, Known { v, ids });
            }
        }
        Ok(out)
    }

    async fn apply_batch(&self, events: &[RefinedEvent]) -> Result<ApplyReport, StoreError> {
        let (groups, repeats) = group(events);
        let mut report = ApplyReport {
            received: events.len(),
            duplicates: repeats,
            ..ApplyReport::default()
        };
        let mut pending: BTreeMap<String, (BucketKey, Vec<&RefinedEvent>)> = groups
            .into_iter()
            .map(|(k, batch)| (k.id(), (k, batch)))
            .collect();
        let mut uncertain: HashSet<String> = HashSet::new();
        let mut round = 0;
        while !pending.is_empty() {
            round += 1;
            if round > MAX_ROUNDS {
                let bucket = pending.keys().next().cloned().unwrap_or_default();
                return Err(StoreError::Conflict {
                    bucket,
                    attempts: MAX_ROUNDS,
                });
            }
            if round > 1 {
                report.retries += 1;
            }
            // What each pending bucket holds: from the cache in the first round (entries are
            // taken out and go back only after a successful write), read otherwise.
            // Under the version guard a bucket the cache does not know is assumed absent
            // (`v` 0): if it exists after all, its upsert fails with 11000 and the next round
            // reads it. New buckets (a new day, learner or course) then cost no read at all.
            let mut view: HashMap<String, Known> = HashMap::new();
            let mut unknown: Vec<&String> = Vec::new();
            match (&self.cache, round) {
                (Some(cache), 1) => {
                    let mut cache = lock(cache);
                    for id in pending.keys() {
                        match cache.take(id) {
                            Some(k) => {
                                view.insert(id.clone(), k);
                            }
                            None if self.guard == Guard::Version => {}
                            None => unknown.push(id),
                        }
                    }
                }
                _ => unknown.extend(pending.keys()),
            }
            if !unknown.is_empty() {
                view.extend(self.read_versions(&unknown).await?);
            }
            let now = now_ms();
            let mut writes: Vec<(String, usize, Document)> = Vec::new();
            let mut unchanged: Vec<String> = Vec::new();
            pending.retain(|id, (key, batch)| {
                let (v, stored) = view.get(id).map_or((0, None), |k| (k.v, Some(&k.ids)));
                if let Some(stored) = stored {
                    batch.retain(|e| {
                        if !stored.contains(&e.event_id) {
                            return true;
                        }
                        // Stored by an earlier round whose outcome we could not tell, or
                        // by an earlier delivery.
                        if uncertain.remove(&e.event_id) {
                            report.applied += 1;
                        } else {
                            report.duplicates += 1;
                        }
                        false
                    });
                }
                if batch.is_empty() {
                    unchanged.push(id.clone());
                    return false;
                }
                let guard = (self.guard == Guard::Version).then_some(v);
                writes.push((
                    id.clone(),
                    batch.len(),
                    statement(id, key, guard, batch, now),
                ));
                true
            });
            let mut written: Vec<(String, Known)> = Vec::new();
            for id in unchanged {
                if let Some(k) = view.remove(&id) {
                    written.push((id, k));
                }
            }
            for chunk in writes.chunks(self.statements_per_command) {
                match self.write(chunk).await? {
                    Outcome::Known(conflicted) => {
                        for (i, (id, fresh, _)) in chunk.iter().enumerate() {
                            if conflicted.contains(&i) {
                                continue;
                            }
                            report.applied += fresh;
                            report.buckets_written += 1;
                            self.ops.writes(1);
                            if let Some((_, batch)) = pending.remove(id) {
                                let mut k = view.remove(id).unwrap_or_default();
                                k.v += 1;
                                k.ids.extend(batch.iter().map(|e| e.event_id.clone()));
                                written.push((id.clone(), k));
                            }
                        }
                    }
                    Outcome::Unknown => {
                        // Some statements may have been applied: the next round re-reads the
                        // buckets and skips whatever landed.
                        for (id, _, _) in chunk {
                            if let Some((_, batch)) = pending.get(id) {
                                uncertain.extend(batch.iter().map(|e| e.event_id.clone()));
                            }
                        }
                    }
                }
            }
            if let Some(cache) = &self.cache {
                let mut cache = lock(cache);
                for (id, k) in written {
                    cache.put(id, k);
                }
            }
        }
        Ok(report)
    }

    /// Sends one `update` command. Returns which statements hit a stale guard or a concurrent
    /// insert (error 11000), or [`Outcome::Unknown`] when the reply does not account for every
    /// statement: FerretDB stops at the first write error even with `ordered: false` and then
    /// omits `n`.
    async fn write(&self, chunk: &[(String, usize, Document)]) -> Result<Outcome, StoreError> {
        let updates: Vec<Document> = chunk.iter().map(|(_, _, s)| s.clone()).collect();
        let _permits = self.permits(chunk.len()).await;
        let reply = self
            .db
            .run_command(doc! {
                "update": BUCKETS_COLLECTION,
                "updates": updates,
                "ordered": false,
            })
            .await?;
        let mut conflicted = HashSet::new();
        if let Ok(errors) = reply.get_array("writeErrors") {
            for e in errors {
                let Bson::Document(e) = e else { continue };
                let index = usize::try_from(int(e, "index")).unwrap_or(usize::MAX);
                let code = int(e, "code");
                let Some((id, _, _)) = chunk.get(index) else {
                    return Ok(Outcome::Unknown);
                };
                if code == DUPLICATE_KEY {
                    conflicted.insert(index);
                } else {
                    let msg = e.get_str("errmsg").unwrap_or("");
                    return Err(StoreError::Database(format!(
                        "update of bucket {id} failed with code {code}: {msg}"
                    )));
                }
            }
        }
        if let Ok(wce) = reply.get_document("writeConcernError") {
            return Err(StoreError::Database(format!("write concern error: {wce}")));
        }
        let expected = chunk.len() - conflicted.len();
        match reply.get("n") {
            Some(Bson::Int32(_) | Bson::Int64(_)) if int(&reply, "n") == expected as i64 => {
                Ok(Outcome::Known(conflicted))
            }
            _ => Ok(Outcome::Unknown),
        }
    }

    async fn totals_of(
        &self,
        filter: Document,
    ) -> Result<(BTreeMap<DayKey, DayTotals>, Option<i64>), StoreError> {
        let _permit = self.permits(1).await;
        let mut cursor = self
            .buckets
            .find(filter)
            .projection(totals_projection())
            .batch_size(10_000)
            .await?;
        let mut days: BTreeMap<DayKey, DayTotals> = BTreeMap::new();
        let mut updated_at = None;
        while let Some(d) = cursor.try_next().await? {
            let (key, totals) = bucket_totals(&d)?;
            days.entry(key).or_default().merge(&totals);
            let u = int(&d, "updated_at");
            updated_at = Some(updated_at.map_or(u, |x: i64| x.max(u)));
        }
        Ok((days, updated_at))
    }
}

impl MongoStore {
    /// The events counted in the buckets matching `filter` (the sum of their `n`): one
    /// `aggregate` whose reply is one small document.
    async fn events_counted(&self, filter: Document) -> Result<u64, StoreError> {
        let _permit = self.permits(1).await;
        let mut cursor = self
            .buckets
            .aggregate([
                doc! { "$match": filter },
                doc! { "$group": { "_id": Bson::Null, "n": { "$sum": "$n" } } },
            ])
            .await?;
        Ok(match cursor.try_next().await? {
            Some(d) => u64::try_from(int(&d, "n")).unwrap_or(0),
            None => 0,
        })
    }
}

/// The update statement adding `fresh` to bucket `id`, guarded by its version `v` (0: absent)
/// when one is given.
fn statement(
    id: &str,
    key: &BucketKey,
    v: Option<i64>,
    fresh: &[&RefinedEvent],
    now: i64,
) -> Document {
    let seconds: i64 = fresh.iter().map(|e| i64::from(e.seconds())).sum();
    let newest = fresh.iter().map(|e| e.occurred_at).max().unwrap_or(0);
    let mut set = doc! { "updated_at": now };
    for e in fresh {
        if let Source::Attendance { kind } = &e.source {
            set.insert(flag_field(*kind), true);
        }
    }
    let ids: Vec<&str> = fresh.iter().map(|e| e.event_id.as_str()).collect();
    let docs: Vec<Document> = fresh.iter().map(|e| event_doc(e)).collect();
    let mut q = doc! { "_id": id };
    if let Some(v) = v {
        q.insert("v", v);
    }
    doc! {
        "q": q,
        "u": {
            "$setOnInsert": {
                "learner_id": &key.learner_id,
                "course_id": &key.course_id,
                "day": &key.day,
                "source": key.source.as_str(),
            },
            "$inc": { "v": 1_i64, "n": fresh.len() as i64, "seconds": seconds },
            "$push": { "ids": { "$each": ids }, "events": { "$each": docs } },
            "$set": set,
            "$max": { "last_event_at": newest },
        },
        // A guard that does not match makes the upsert insert a second `_id`: error 11000,
        // reported per statement, which tells exactly which bucket to retry. Without a
        // version guard, 11000 still reports two writers creating the same new bucket.
        "upsert": true,
    }
}

/// Locks the cache; one left behind by a panic is emptied (its entries may be half-updated).
fn lock(cache: &Mutex<BucketCache>) -> std::sync::MutexGuard<'_, BucketCache> {
    cache.lock().unwrap_or_else(|poisoned| {
        cache.clear_poison();
        let mut c = poisoned.into_inner();
        c.forget_all();
        c
    })
}

fn flag_field(kind: AttendanceKind) -> &'static str {
    match kind {
        AttendanceKind::CheckIn => "check_in",
        AttendanceKind::CheckOut => "check_out",
        AttendanceKind::IdentityVerified => "identity_verified",
    }
}

fn event_doc(e: &RefinedEvent) -> Document {
    let mut d = doc! { "event_id": &e.event_id, "occurred_at": e.occurred_at };
    match &e.source {
        Source::Lecture {
            lecture_id,
            seconds,
        } => {
            d.insert("lecture_id", lecture_id);
            d.insert("seconds", i64::from(*seconds));
        }
        Source::Quiz {
            quiz_id,
            seconds,
            score,
            max_score,
        } => {
            d.insert("quiz_id", quiz_id);
            d.insert("seconds", i64::from(*seconds));
            d.insert("score", *score);
            d.insert("max_score", *max_score);
        }
        Source::Attendance { kind } => {
            d.insert("kind", kind.as_str());
        }
    }
    d
}

/// `_id`, `v` and the event ids of a bucket read with the `{v, ids}` projection.
fn versions_of(d: &Document) -> Result<(String, i64, HashSet<String>), StoreError> {
    let id = string(d, "_id")?;
    let mut seen = HashSet::new();
    if let Ok(arr) = d.get_array("ids") {
        for b in arr {
            if let Bson::String(s) = b {
                seen.insert(s.clone());
            }
        }
    }
    Ok((id, int(d, "v"), seen))
}

fn corrupt(d: &Document, problem: String) -> StoreError {
    StoreError::Corrupt {
        id: d.get("_id").map(ToString::to_string).unwrap_or_default(),
        problem,
    }
}

fn int(d: &Document, key: &str) -> i64 {
    match d.get(key) {
        Some(Bson::Int32(i)) => i64::from(*i),
        Some(Bson::Int64(i)) => *i,
        Some(Bson::Double(f)) => *f as i64,
        _ => 0,
    }
}

fn string(d: &Document, key: &str) -> Result<String, StoreError> {
    d.get_str(key)
        .map(str::to_owned)
        .map_err(|_| corrupt(d, format!("field {key} is missing or not a string")))
}

fn source_kind(d: &Document) -> Result<SourceKind, StoreError> {
    let s = string(d, "source")?;
    SourceKind::parse(&s).ok_or_else(|| corrupt(d, format!("unknown source {s:?}")))
}

/// A bucket's day and its stored counters.
fn bucket_totals(d: &Document) -> Result<(DayKey, DayTotals), StoreError> {
    let key = DayKey {
        learner_id: string(d, "learner_id")?,
        course_id: string(d, "course_id")?,
        day: string(d, "day")?,
    };
    let seconds =
        u64::try_from(int(d, "seconds")).map_err(|_| corrupt(d, "negative seconds".to_owned()))?;
    let mut t = DayTotals {
        check_in: d.get_bool("check_in").unwrap_or(false),
        check_out: d.get_bool("check_out").unwrap_or(false),
        identity_verified: d.get_bool("identity_verified").unwrap_or(false),
        events: u64::try_from(int(d, "n")).unwrap_or(0),
        last_event_at: d
            .contains_key("last_event_at")
            .then(|| int(d, "last_event_at")),
        ..DayTotals::default()
    };
    match source_kind(d)? {
        SourceKind::Lecture => t.lecture_seconds = seconds,
        SourceKind::Quiz => t.quiz_seconds = seconds,
        SourceKind::Attendance => {}
    }
    Ok((key, t))
}

/// The refined events stored in a bucket.
fn bucket_events(d: &Document, key: &DayKey) -> Result<Vec<RefinedEvent>, StoreError> {
    let kind = source_kind(d)?;
    let Ok(arr) = d.get_array("events") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(arr.len());
    for b in arr {
        let Bson::Document(e) = b else {
            return Err(corrupt(d, "an event is not a document".to_owned()));
        };
        let seconds = u32::try_from(int(e, "seconds"))
            .map_err(|_| corrupt(d, "event seconds out of range".to_owned()))?;
        let source = match kind {
            SourceKind::Lecture => Source::Lecture {
                lecture_id: string(e, "lecture_id")?,
                seconds,
            },
            SourceKind::Quiz => Source::Quiz {
                quiz_id: string(e, "quiz_id")?,
                seconds,
                score: i32::try_from(int(e, "score")).unwrap_or(0),
                max_score: i32::try_from(int(e, "max_score")).unwrap_or(0),
            },
            SourceKind::Attendance => {
                let k = string(e, "kind")?;
                Source::Attendance {
                    kind: AttendanceKind::parse(&k)
                        .ok_or_else(|| corrupt(d, format!("unknown attendance kind {k:?}")))?,
                }
            }
        };
        out.push(RefinedEvent {
            event_id: string(e, "event_id")?,
            learner_id: key.learner_id.clone(),
            course_id: key.course_id.clone(),
            day: key.day.clone(),
            source,
            occurred_at: int(e, "occurred_at"),
        });
    }
    Ok(out)
}

impl Store for MongoStore {
    fn apply<'a>(&'a self, events: &'a [RefinedEvent]) -> StoreFuture<'a, ApplyReport> {
        Box::pin(IN_APPLY.scope((), self.apply_batch(events)))
    }

    fn ownership_changed(&self) {
        // Under the version guard a stale entry costs one retry when (if ever) it is used, and
        // most buckets do not move in a rebalance: keep them. Without it, forget everything.
        if self.guard == Guard::IdOnly
            && let Some(cache) = &self.cache
        {
            lock(cache).forget_all();
        }
    }

    fn learner_training<'a>(&'a self, learner_id: &'a str) -> StoreFuture<'a, LearnerTraining> {
        Box::pin(async move {
            let (days, updated_at) = self.totals_of(doc! { "learner_id": learner_id }).await?;
            Ok(LearnerTraining::from_days(
                learner_id,
                days.iter()
                    .map(|(k, t)| (k.course_id.as_str(), k.day.as_str(), t)),
                updated_at,
            ))
        })
    }

    fn course_learners<'a>(
        &'a self,
        course_id: &'a str,
        limit: usize,
        after: Option<&'a str>,
    ) -> StoreFuture<'a, CoursePage> {
        Box::pin(async move {
            let mut filter = doc! { "course_id": course_id };
            if let Some(after) = after {
                filter.insert("learner_id", doc! { "$gt": after });
            }
            let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
            let mut cursor = self
                .buckets
                .aggregate([
                    doc! { "$match": filter },
                    doc! { "$group": { "_id": "$learner_id" } },
                    doc! { "$sort": { "_id": 1 } },
                    doc! { "$limit": fetch },
                ])
                .await?;
            let mut learners = Vec::new();
            while let Some(d) = cursor.try_next().await? {
                learners.push(string(&d, "_id")?);
            }
            if learners.is_empty() || limit == 0 {
                return Ok(Totals::default().course_learners(course_id, limit, after));
            }
            let (days, _) = self
                .totals_of(doc! { "course_id": course_id, "learner_id": { "$in": learners } })
                .await?;
            Ok(Totals { days }.course_learners(course_id, limit, after))
        })
    }

    fn courses(&self) -> StoreFuture<'_, Vec<String>> {
        Box::pin(async move {
            let mut cursor = self
                .buckets
                .aggregate([
                    doc! { "$group": { "_id": "$course_id" } },
                    doc! { "$sort": { "_id": 1 } },
                ])
                .await?;
            let mut out = Vec::new();
            while let Some(d) = cursor.try_next().await? {
                out.push(string(&d, "_id")?);
            }
            Ok(out)
        })
    }

    fn learner_version<'a>(&'a self, learner_id: &'a str) -> StoreFuture<'a, u64> {
        Box::pin(self.events_counted(doc! { "learner_id": learner_id }))
    }

    fn course_version<'a>(&'a self, course_id: &'a str) -> StoreFuture<'a, u64> {
        Box::pin(self.events_counted(doc! { "course_id": course_id }))
    }

    fn snapshot(&self) -> StoreFuture<'_, Snapshot> {
        Box::pin(async move {
            let mut cursor = self.buckets.find(doc! {}).batch_size(1_000).await?;
            let mut snap = Snapshot::default();
            while let Some(d) = cursor.try_next().await? {
                let (key, totals) = bucket_totals(&d)?;
                snap.events.extend(bucket_events(&d, &key)?);
                snap.aggregates.days.entry(key).or_default().merge(&totals);
            }
            Ok(snap)
        })
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.db.run_command(doc! { "ping": 1 }).await?;
            Ok(())
        })
    }

    fn ops(&self) -> OpsSnapshot {
        let (cache_hits, cache_misses) = self.bucket_cache_stats().unwrap_or_default();
        OpsSnapshot {
            cache_hits,
            cache_misses,
            ..self.ops.snapshot()
        }
    }

    fn kind(&self) -> &'static str {
        "mongodb"
    }
}
