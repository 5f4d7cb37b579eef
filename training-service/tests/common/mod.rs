//! Helpers shared by the integration tests: event builders and store constructors.
#![allow(dead_code, unreachable_pub)]

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use training_service::domain::{
    AttendanceChecked, AttendanceKind, LectureProgress, QuizSubmitted, RefinedEvent,
};
use training_service::store::{Guard, MemoryStore, MongoStore};

/// 2026-03-10T00:00:00Z (09:00 in Seoul).
pub const DAY0: i64 = 1_773_100_800_000;
/// One day in ms.
pub const DAY_MS: i64 = 86_400_000;

pub fn lecture(id: &str, learner: &str, course: &str, seconds: i32, at: i64) -> RefinedEvent {
    RefinedEvent::try_from(LectureProgress {
        event_id: id.into(),
        learner_id: learner.into(),
        course_id: course.into(),
        lecture_id: format!("lec-{course}"),
        watched_seconds: seconds,
        occurred_at: at,
    })
    .expect("valid lecture event")
}

pub fn quiz(id: &str, learner: &str, course: &str, seconds: i32, at: i64) -> RefinedEvent {
    RefinedEvent::try_from(QuizSubmitted {
        event_id: id.into(),
        learner_id: learner.into(),
        course_id: course.into(),
        quiz_id: format!("quiz-{course}"),
        score: 7,
        max_score: 10,
        time_spent_seconds: seconds,
        occurred_at: at,
    })
    .expect("valid quiz event")
}

pub fn attendance(
    id: &str,
    learner: &str,
    course: &str,
    kind: AttendanceKind,
    at: i64,
) -> RefinedEvent {
    RefinedEvent::try_from(AttendanceChecked {
        event_id: id.into(),
        learner_id: learner.into(),
        course_id: course.into(),
        kind,
        occurred_at: at,
    })
    .expect("valid attendance event")
}

/// A small deterministic generator (64-bit LCG), so failures reproduce.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `n` realistic events: `learners` learners, 3 courses, 3 days, all three sources.
pub fn history(n: usize, learners: u64, seed: u64) -> Vec<RefinedEvent> {
    let mut rng = Lcg(seed);
    (0..n)
        .map(|i| {
            let learner = format!("learner-{:03}", rng.below(learners));
            let course = format!("course-{}", rng.below(3));
            let at = DAY0 + (rng.below(3) as i64) * DAY_MS + (rng.below(86_400_000) as i64);
            let id = format!("ev-{seed}-{i}");
            match rng.below(10) {
                0..=5 => lecture(&id, &learner, &course, rng.below(3601) as i32, at),
                6..=7 => quiz(&id, &learner, &course, rng.below(1200) as i32, at),
                8 => attendance(&id, &learner, &course, AttendanceKind::CheckIn, at),
                _ => attendance(&id, &learner, &course, AttendanceKind::IdentityVerified, at),
            }
        })
        .collect()
}

pub fn memory_store() -> MemoryStore {
    MemoryStore::new()
}

/// The MongoDB-wire servers of `infra/up` the MongoDB store is tested on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// FerretDB 1.24 on SQLite (`127.0.0.1:27017`, or `MONGODB_URI`): the `_id`-only guard.
    FerretDb,
    /// mongo-java-server 1.47 on H2 (`127.0.0.1:27018`, or `MONGO_JAVA_SERVER_URI`): atomic
    /// single-document updates, so the version guard (what MongoDB gets).
    MongoJavaServer,
}

impl Server {
    /// Both servers, FerretDB first.
    pub const ALL: [Server; 2] = [Server::FerretDb, Server::MongoJavaServer];

    /// The connection string.
    pub fn uri(self) -> String {
        match self {
            Server::FerretDb => std::env::var("MONGODB_URI")
                .unwrap_or_else(|_| "mongodb://127.0.0.1:27017/?directConnection=true".to_owned()),
            Server::MongoJavaServer => std::env::var("MONGO_JAVA_SERVER_URI")
                .unwrap_or_else(|_| "mongodb://127.0.0.1:27018/?directConnection=true".to_owned()),
        }
    }

    /// Its name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Server::FerretDb => "FerretDB",
            Server::MongoJavaServer => "mongo-java-server",
        }
    }

    /// The guard the store chooses on it by itself (`TRAINING_MONGO_GUARD=auto`).
    pub fn guard(self) -> Guard {
        match self {
            Server::FerretDb => Guard::IdOnly,
            Server::MongoJavaServer => Guard::Version,
        }
    }

    /// Fails (never skips) when the server is down, naming `infra/up`.
    pub fn require(self) {
        let uri = self.uri();
        let addr = host_port(&uri);
        let reachable = addr.to_socket_addrs().ok().is_some_and(|mut addrs| {
            addrs.any(|sa| TcpStream::connect_timeout(&sa, Duration::from_secs(2)).is_ok())
        });
        assert!(
            reachable,
            "{} is not reachable at {uri}: start it with `infra/up`",
            self.name()
        );
    }

    /// A MongoStore on a fresh database of this server, with the guard it chooses itself.
    pub async fn store(self) -> MongoStore {
        self.store_on(&unique_db()).await
    }

    /// A MongoStore on database `db` of this server (another writer, when `db` is in use).
    pub async fn store_on(self, db: &str) -> MongoStore {
        self.require();
        let uri = self.uri();
        let store = MongoStore::connect(&uri, db).await.unwrap_or_else(|e| {
            panic!(
                "{} is not reachable at {uri}: start it with `infra/up` ({e})",
                self.name()
            )
        });
        assert_eq!(
            store.guard(),
            self.guard(),
            "{} got an unexpected guard",
            self.name()
        );
        store
    }
}

/// The MongoDB URI of FerretDB (`MONGODB_URI`, default: FerretDB from `infra/up`).
pub fn mongodb_uri() -> String {
    Server::FerretDb.uri()
}

fn host_port(uri: &str) -> String {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest).to_owned()
}

/// Fails (never skips) when FerretDB is down.
pub fn require_ferretdb() {
    Server::FerretDb.require();
}

/// A database name unique to this process and call.
pub fn unique_db() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "training_test_{}_{}_{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A MongoStore on a fresh database of FerretDB.
pub async fn mongo_store() -> MongoStore {
    Server::FerretDb.store().await
}

/// Runs each `async fn(Server)` once per server: `ferretdb::name` and `mongo_java_server::name`
/// (the caller has [`Server`] in scope; `#[macro_use] mod common;`).
#[allow(unused_macros)] // not every test crate that includes this module runs on both
macro_rules! on_both_servers {
    ($($name:ident),* $(,)?) => {
        mod ferretdb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Server::FerretDb).await;
                }
            )*
        }
        mod mongo_java_server {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Server::MongoJavaServer).await;
                }
            )*
        }
    };
}
