//! The dashboard's learner and admin views in headless Chromium (Debian's `chromium`, driven by
//! playwright-core; axe-core for the accessibility scan; `tests/dashboard/setup.sh` installs
//! them), over the real HTTP server on loopback and the in-memory store filled with known
//! events: no Kafka, no database. The numbers come from the API; the pictures and words must
//! say the same (cap line, the part over the cap, what attendance still misses, freshness that
//! follows a new event, Korean, the admin's histogram, filters, search and sorting). The
//! pipeline header's dead letters are real ones: a handler checking lecture events with the
//! service's rules runs on the consume runtime's in-process cluster (`TestKafka`, no server),
//! and an event those rules refuse, bytes that do not decode and a record without a key must
//! show with their reasons in `/v1/pipeline` and on the page, in English and Korean.
//! Screenshots go to `target/dashboard-screenshots/` (the README's come from there). The same
//! page over Kafka and MongoDB: `e2e_dashboard.rs`.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::*;
use consume_runtime::metrics::{PARTITION_LAG_MESSAGES, PARTITION_LAG_SECONDS};
use consume_runtime::testing::TestKafka;
use consume_runtime::{Delivery, FromMessage, Json, Key, Rejection, consume};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use training_service::api::{self, ApiState};
use training_service::auth::{JwtConfig, JwtSecret, Verifier, sign};
use training_service::domain::time::now_ms;
use training_service::domain::{
    AttendanceKind, CoursePage, LearnerTraining, LectureProgress, RefinedEvent, seoul_day,
};
use training_service::metrics;
use training_service::store::{
    ApplyReport, MemoryStore, OpsSnapshot, Snapshot, Store, StoreFuture,
};

const SECRET: &str = "dashboard-views-test-secret-0123456789";

/// The memory store, counting reads of views apart from change checks.
#[derive(Default)]
struct Counting {
    inner: MemoryStore,
    reads: AtomicU64,
    checks: AtomicU64,
}

impl Counting {
    fn counts(&self) -> (u64, u64) {
        (
            self.reads.load(Ordering::SeqCst),
            self.checks.load(Ordering::SeqCst),
        )
    }
    fn read(&self) {
        self.reads.fetch_add(1, Ordering::SeqCst);
    }
    fn check(&self) {
        self.checks.fetch_add(1, Ordering::SeqCst);
    }
}

impl Store for Counting {
    fn apply<'a>(&'a self, events: &'a [RefinedEvent]) -> StoreFuture<'a, ApplyReport> {
        self.inner.apply(events)
    }
    fn learner_training<'a>(&'a self, learner_id: &'a str) -> StoreFuture<'a, LearnerTraining> {
        self.read();
        self.inner.learner_training(learner_id)
    }
    fn course_learners<'a>(
        &'a self,
        course_id: &'a str,
        limit: usize,
        after: Option<&'a str>,
    ) -> StoreFuture<'a, CoursePage> {
        self.read();
        self.inner.course_learners(course_id, limit, after)
    }
    fn courses(&self) -> StoreFuture<'_, Vec<String>> {
        self.read();
        self.inner.courses()
    }
    fn learner_version<'a>(&'a self, learner_id: &'a str) -> StoreFuture<'a, u64> {
        self.check();
        self.inner.learner_version(learner_id)
    }
    fn course_version<'a>(&'a self, course_id: &'a str) -> StoreFuture<'a, u64> {
        self.check();
        self.inner.course_version(course_id)
    }
    fn snapshot(&self) -> StoreFuture<'_, Snapshot> {
        self.inner.snapshot()
    }
    fn ping(&self) -> StoreFuture<'_, ()> {
        self.inner.ping()
    }
    fn ops(&self) -> OpsSnapshot {
        self.inner.ops()
    }
    fn kind(&self) -> &'static str {
        "counting-memory"
    }
}

fn token(sub: &str, role: &str) -> String {
    let exp = now_ms() / 1000 + 600;
    let secret = JwtSecret::new(SECRET).expect("secret");
    sign(
        &secret,
        &json!({ "sub": sub, "role": role, "exp": exp, "aud": "dash", "iss": "test" }),
    )
}

/// Three days of `learner-a` in `course-1` (over the cap and attended two days ago; checked in
/// without identity verification yesterday; a little today) and in `course-2`, plus
/// `learner-b` (attended yesterday) and `learner-c` (nothing on attendance).
fn history(now: i64) -> Vec<RefinedEvent> {
    let (d0, d1, d2) = (now - 2 * DAY_MS, now - DAY_MS, now - 60_000);
    let a = "learner-a";
    let mut v = Vec::new();
    for i in 0..9 {
        v.push(lecture(&format!("a-d0-{i}"), a, "course-1", 3600, d0));
    }
    v.push(lecture("a-d0-9", a, "course-1", 1800, d0)); // 9.5 h of lectures
    v.push(quiz("a-d0-q", a, "course-1", 1200, d0)); // + 20 min of quiz
    v.push(attendance(
        "a-d0-in",
        a,
        "course-1",
        AttendanceKind::CheckIn,
        d0,
    ));
    v.push(attendance(
        "a-d0-id",
        a,
        "course-1",
        AttendanceKind::IdentityVerified,
        d0,
    ));
    v.push(lecture("a-d1-l", a, "course-1", 3600, d1));
    v.push(lecture("a-d1-l2", a, "course-1", 3600, d1));
    v.push(attendance(
        "a-d1-in",
        a,
        "course-1",
        AttendanceKind::CheckIn,
        d1,
    ));
    v.push(lecture("a-d2-l", a, "course-1", 1800, d2));
    v.push(quiz("a-d2-q", a, "course-1", 600, d2));
    v.push(lecture("a-c2", a, "course-2", 2400, d1));
    let b = "learner-b";
    for i in 0..3 {
        v.push(lecture(&format!("b-d1-{i}"), b, "course-1", 3600, d1));
    }
    v.push(attendance(
        "b-d1-in",
        b,
        "course-1",
        AttendanceKind::CheckIn,
        d1,
    ));
    v.push(attendance(
        "b-d1-id",
        b,
        "course-1",
        AttendanceKind::IdentityVerified,
        d1,
    ));
    v.push(lecture("c-d2", "learner-c", "course-1", 900, d2));
    v
}

const LECTURES: &str = "training.lecture-progress";

/// A JSON lecture event checked with the service's own rules (`RefinedEvent::try_from`), as
/// the service's `Refined<T>` checks Avro ones: an event they refuse is rejected for good.
struct Checked;

impl FromMessage for Checked {
    async fn from_message(d: &Delivery<'_>) -> Result<Self, Rejection> {
        let Json(event) = Json::<LectureProgress>::from_message(d).await?;
        RefinedEvent::try_from(event)
            .map(|_| Checked)
            .map_err(|e| Rejection::permanent("Refined", e))
    }
}

#[consume(topic = "training.lecture-progress", group = "dashboard-views")]
async fn lecture_progress(Key(_learner): Key<String>, _event: Checked) {}

fn lecture_event(id: &str, seconds: i32) -> LectureProgress {
    LectureProgress {
        event_id: id.to_owned(),
        learner_id: "learner-a".to_owned(),
        course_id: "course-1".to_owned(),
        lecture_id: "lecture-1".to_owned(),
        watched_seconds: seconds,
        occurred_at: now_ms(),
    }
}

/// The next line node printed (`None` after two minutes of silence or at its end).
async fn next(lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> Option<String> {
    tokio::time::timeout(Duration::from_secs(120), lines.recv())
        .await
        .ok()
        .flatten()
}

async fn serve(state: ApiState) -> (String, watch::Sender<bool>) {
    let (stop, mut rx) = watch::channel(false);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let limits = state.limits().clone();
    let router = api::router(state);
    tokio::spawn(async move {
        api::server::serve(listener, router, &limits, async move {
            let _ = rx.wait_for(|s| *s).await;
        })
        .await;
    });
    (format!("http://{addr}"), stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_learner_and_admin_views_show_the_api_in_pictures_and_words() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dashboard");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        here.join("node_modules/playwright-core").is_dir()
            && here.join("node_modules/axe-core").is_dir()
            && Path::new(&chromium).exists(),
        "this test needs Chromium ({chromium}), playwright-core and axe-core: run `training-service/tests/dashboard/setup.sh` (./dev test does)"
    );
    let store = Arc::new(Counting::default());
    let now = now_ms();
    store.apply(&history(now)).await.expect("apply");

    // The consumers: the exporter first (it is the process's recorder), then the handler on
    // the in-process cluster, one partition: a valid event (offset 0), one the rules refuse
    // (1), bytes that are not JSON (2). A record without a key (3) comes while the admin's
    // page watches.
    metrics::exporter();
    let kafka = TestKafka::with_brokers(1, 1).expect("in-process Kafka");
    kafka
        .send_json(LECTURES, "learner-a", &lecture_event("ok-1", 600))
        .await
        .expect("send");
    kafka
        .send_json(LECTURES, "learner-a", &lecture_event("bad-1", 99_999))
        .await
        .expect("send");
    kafka
        .send_bytes(LECTURES, Some(b"learner-a"), Some(b"not json"), &[])
        .await
        .expect("send");
    let consumers = kafka
        .run(kafka.runtime().only(["lecture_progress"]))
        .await
        .expect("run the handler");
    consumers.idle().await.expect("handled");
    assert_eq!(consumers.handler("lecture_progress").dead_lettered, 2);

    let secret = JwtSecret::new(SECRET).expect("secret");
    let verifier = Arc::new(Verifier::new(JwtConfig::new(secret, "dash", "test")));
    let state = ApiState::new(store.clone(), verifier).with_consumers(consumers.metrics().clone());
    let (base, _stop) = serve(state).await;
    let api_view = store
        .inner
        .learner_training("learner-a")
        .await
        .expect("view");
    let (d0, d1) = (seoul_day(now - 2 * DAY_MS), seoul_day(now - DAY_MS));
    let screenshots: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/dashboard-screenshots")
        .to_path_buf();
    let cfg = json!({
        "base": base,
        "learnerToken": token("learner-a", "learner"),
        "learnerId": "learner-a",
        "adminToken": token("admin-1", "admin"),
        "course": "course-1",
        "total": api_view.total_seconds.to_string(),
        "overDay": d0,
        "missingDay": d1,
        "absentDay": d1,
        "screenshots": screenshots,
    });

    // What the rest of the pipeline header reads: this process's metrics.
    metrics::record_apply(100, 0);
    ::metrics::gauge!(PARTITION_LAG_SECONDS, "handler" => "h", "group" => "g", "topic" => "t", "partition" => "0")
        .set(1.5);
    ::metrics::gauge!(PARTITION_LAG_MESSAGES, "handler" => "h", "group" => "g", "topic" => "t", "partition" => "0")
        .set(7.0);

    let mut child = Command::new("node")
        .arg(here.join("views.mjs"))
        .arg(cfg.to_string())
        .env("CHROMIUM", &chromium)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node views.mjs");
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    // Store calls during each idle spell: (reads of views, change checks).
    let mut idle: Vec<(String, (u64, u64))> = Vec::new();
    let mut asked_for_event = false;
    let mut began = (0, 0);
    let last = loop {
        let Some(line) = next(&mut lines).await else {
            break String::new();
        };
        match line.as_str() {
            "ready-for-event" => {
                asked_for_event = true;
                // A quiz of a few seconds, just now: the page's "last counted activity" follows.
                let fresh = quiz("a-now", "learner-a", "course-1", 5, now_ms());
                store.apply(&[fresh]).await.expect("apply");
                writeln!(stdin, "go").expect("write to node");
            }
            "idle-begin" => began = store.counts(),
            "admin-idle-begin" => {
                began = store.counts();
                // The pipeline header's numbers come from the process's metrics: 30 more
                // events applied and one more dead letter while the admin's page watches.
                metrics::record_apply(30, 0);
                let event = serde_json::to_vec(&lecture_event("no-key", 60)).expect("json");
                kafka
                    .send_bytes(LECTURES, None, Some(&event), &[])
                    .await
                    .expect("send");
                consumers.idle().await.expect("handled");
            }
            "idle-end" | "admin-idle-end" => {
                let (r, c) = store.counts();
                idle.push((line.clone(), (r - began.0, c - began.1)));
            }
            _ => break line,
        }
    };
    drop(stdin);
    let out = child.wait_with_output().expect("node exits");
    let shown: Value = serde_json::from_str(&last).unwrap_or_else(|e| {
        panic!(
            "views.mjs printed {last:?} ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(shown.get("error").is_none(), "browser: {shown:#}");
    assert!(asked_for_event, "views.mjs never asked for the event");
    // An idle page asks only the change check: a learner's every 2 s, an admin's every 5 s
    // (the learner's page stays open meanwhile); the views are never read again.
    assert_eq!(idle.len(), 2, "{idle:?}");
    // Refreshes do not make the status live region speak.
    assert_eq!(shown["idle_status_changes"], 0);
    for (spell, (reads, checks)) in &idle {
        assert_eq!(*reads, 0, "{spell}: an idle page read a view");
        assert!(*checks >= 1, "{spell}: the page stopped polling");
    }

    // The learner: the API's numbers, the cap line, the part over the cap, what is missing.
    let l = &shown["learner"];
    assert_eq!(l["lang"], "en");
    assert_eq!(l["heading"], "Training time");
    assert_eq!(l["total_seconds"], api_view.total_seconds.to_string());
    assert_eq!(l["credited_seconds"], api_view.credited_seconds.to_string());
    assert_eq!(
        api_view.total_seconds,
        9 * 3600 + 1800 + 1200 + 7200 + 2400 + 2400
    );
    assert_eq!(l["cap_lines"], 1, "{l}");
    assert_eq!(l["cap_label"], "8 h cap");
    assert_eq!(l["over_day_credited"], "28800", "{l}");
    assert_eq!(
        l["over_day_over"],
        (9 * 3600 + 1800 + 1200 - 28_800).to_string()
    );
    assert_eq!(
        l["over_rects"], 1,
        "only the day over the cap has an uncredited part"
    );
    assert_eq!(l["missing_status"], "missingIdentity");
    assert_eq!(
        l["missing_text"],
        "not attended: identity verification not received yet"
    );
    assert_eq!(l["attended_text"], "attended");
    // course-1: 9.5 h + 2 h + 0.5 h of lectures, 20 + 10 min of quizzes: 96 % and 4 %.
    assert_eq!(l["share"], json!({ "lecture": "96", "quiz": "4" }), "{l}");
    assert_eq!(
        l["last_event_at"].as_str(),
        api_view.last_event_at.as_deref()
    );
    let f = l["freshness"].as_str().unwrap_or_default();
    assert!(f.ends_with(" s ago") || f.ends_with(" min ago"), "{f}");
    assert!(
        l["url"].as_str().is_some_and(|u| !u.contains("token")),
        "{l}"
    );
    // After a new event: a newer last_event_at and a label of a few seconds.
    let after = &shown["after_event"];
    assert_ne!(after["last_event_at"], l["last_event_at"], "{after}");
    assert_ne!(after["freshness"], l["freshness"], "{after}");
    let secs: u64 = after["freshness"]
        .as_str()
        .and_then(|s| s.strip_suffix(" s ago"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX);
    assert!(secs < 30, "{after}");
    assert_eq!(
        after["total_seconds"],
        (api_view.total_seconds + 5).to_string()
    );

    // Korean, chosen from the browser's language; the switch back to English.
    let ko = &shown["korean"];
    assert_eq!(ko["lang"], "ko", "{ko}");
    assert_eq!(ko["heading"], "학습 시간");
    assert_eq!(ko["last_activity_label"], "마지막으로 반영된 활동");
    assert_eq!(
        ko["missing_text"],
        "미출석: 본인 인증이 아직 접수되지 않았습니다"
    );
    assert_eq!(ko["cap_label"], "8시간 한도");
    assert_eq!(ko["pressed"], "true");
    assert!(
        ko["scroll_width"].as_u64().unwrap_or(u64::MAX) <= 390,
        "on a 390 px phone the page scrolls sideways: {ko}"
    );
    assert_eq!(
        shown["switched"],
        json!({ "lang": "en", "heading": "Training time", "pressed": "true" })
    );

    // The admin: the table, the histogram, who has not attended, pace, search, sorting.
    let a = &shown["admin"];
    assert_eq!(a["rows"], 3, "{a}");
    let now_view = store
        .inner
        .learner_training("learner-a")
        .await
        .expect("view");
    let a_course1 = &now_view.courses[0];
    assert_eq!(a["learner_cell"], a_course1.total_seconds.to_string());
    assert_eq!(
        a["learner_credited"],
        a_course1.credited_seconds.to_string()
    );
    assert_eq!(a["histogram_total"], 3, "every learner in one bin: {a}");
    assert_eq!(a["histogram_bins"], 8);
    assert_eq!(shown["absent"], json!(["learner-a", "learner-c"]));
    assert_eq!(
        shown["behind"],
        json!(["learner-a", "learner-b", "learner-c"])
    );
    assert_eq!(shown["behind_at_zero"], json!([]));
    assert_eq!(shown["search"], json!(["learner-a"]));
    assert_eq!(
        shown["sorted_desc"],
        json!(["learner-a", "learner-b", "learner-c"])
    );
    assert_eq!(shown["aria_sort"], "descending");
    // The pipeline header: a rate from the samples, the lag gauges, the dead letters of the
    // last hour by reason (the one without a key arrived while the page watched) and the
    // latest ones, newest first, with what the runtime says of each.
    let p = &shown["pipeline"];
    let rate: u64 = p["rate"]
        .as_str()
        .and_then(|r| r.strip_suffix(" / min"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(rate > 0, "{p}");
    assert_eq!(p["lag"], "1.5 s (7 records waiting)");
    assert_eq!(p["heading"], "Pipeline of this instance", "{p}");
    assert!(
        p["scope"]
            .as_str()
            .is_some_and(|s| s.starts_with("Only the consumers of the service instance")),
        "{p}"
    );
    assert_eq!(shown["dead_count_before"], "2", "{shown}");
    assert_eq!(p["dead_count"], "3", "{p}");
    assert_eq!(
        p["reasons"],
        json!([
            ["decode", "not decodable: 1"],
            ["key", "bad key: 1"],
            ["rejected", "refused by validation: 1"]
        ]),
        "{p}"
    );
    let refused = "Refined extractor rejected the message: invalid event \"…\": \
                   watched_seconds = 99999 is outside 0..=3600";
    let undecodable = "Json extractor rejected the message: expected ident at line 1 column 2";
    let keyless = "Key extractor rejected the message: the message has a null key";
    let record = |offset: u32| format!("{LECTURES} / 0 @ {offset}");
    assert_eq!(
        p["recent"],
        json!([
            ["3", "lecture_progress", record(3), "bad key", keyless],
            [
                "2",
                "lecture_progress",
                record(2),
                "not decodable",
                undecodable
            ],
            [
                "1",
                "lecture_progress",
                record(1),
                "refused by validation",
                refused
            ]
        ]),
        "{p}"
    );
    // The same in Korean.
    let k = &shown["korean_admin"];
    assert_eq!(k["heading"], "이 인스턴스의 파이프라인", "{k}");
    assert_eq!(
        k["reasons"],
        json!([
            ["decode", "디코딩 불가 1건"],
            ["key", "잘못된 키 1건"],
            ["rejected", "검증 거부 1건"]
        ]),
        "{k}"
    );
    assert_eq!(
        k["dead"],
        "최근 1시간 3건 — 디코딩 불가 1건, 잘못된 키 1건, 검증 거부 1건"
    );
    assert_eq!(k["reason_header"], "사유");
    assert_eq!(k["first_reason"], "잘못된 키");

    // What the page drew from: `/v1/pipeline`, for admins only.
    let client = reqwest::Client::new();
    let api: Value = client
        .get(format!("{base}/v1/pipeline"))
        .bearer_auth(token("admin-1", "admin"))
        .send()
        .await
        .expect("GET /v1/pipeline")
        .json()
        .await
        .expect("json");
    assert_eq!(
        api["dead_letters_last_hour"],
        json!({
            "total": 3,
            "by_reason": { "decode": 1, "key": 1, "rejected": 1 },
            "by_handler": { "lecture_progress": 3 }
        }),
        "{api:#}"
    );
    assert_eq!(api["dead_letters_total"], 3);
    let recent: Vec<(i64, &str, &str, u32, &str)> = api["recent_dead_letters"]
        .as_array()
        .expect("recent_dead_letters")
        .iter()
        .map(|d| {
            assert_eq!(d["handler"], "lecture_progress");
            assert_eq!(d["topic"], LECTURES);
            assert_eq!(d["partition"], 0);
            assert!(d["at"].as_str().is_some_and(|at| at.ends_with('Z')), "{d}");
            (
                d["offset"].as_i64().unwrap_or(-1),
                d["reason"].as_str().unwrap_or(""),
                d["summary"].as_str().unwrap_or(""),
                d["attempts"].as_u64().unwrap_or(0) as u32,
                d["handler"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        recent,
        [
            (3, "key", keyless, 1, "lecture_progress"),
            (2, "decode", undecodable, 1, "lecture_progress"),
            (1, "rejected", refused, 1, "lecture_progress")
        ]
    );
    let learner_asks = client
        .get(format!("{base}/v1/pipeline"))
        .bearer_auth(token("learner-a", "learner"))
        .send()
        .await
        .expect("GET /v1/pipeline as a learner");
    assert_eq!(learner_asks.status(), 403);
    consumers.stop().await.expect("the consumers stop");

    // No serious or critical accessibility violations, no script errors.
    for scan in ["learner_axe", "korean_axe", "admin_axe", "korean_admin_axe"] {
        assert_eq!(shown[scan], json!([]), "{scan}: {:#}", shown[scan]);
    }
    assert_eq!(shown["learner_errors"], json!([]));
    assert_eq!(shown["admin_errors"], json!([]));
    for png in ["learner.png", "learner-ko-phone.png", "admin.png"] {
        assert!(screenshots.join(png).is_file(), "{png}");
    }
}
