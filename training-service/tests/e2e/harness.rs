//! Runs the real `training-service` binary against the servers of `infra/up`: one fresh set
//! of topics, consumer groups and database per test, service instances as child processes
//! (so they can be killed with SIGKILL), `simulate` for the load and the ground truth, and
//! the HTTP API to read the totals back.

#![allow(dead_code, unreachable_pub)] // included by several test files, each using a subset

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use consume_tests::{endpoints, kafka, require, unique};
use serde_json::Value;
use training_service::auth::{JwtConfig, JwtSecret, Role, Verifier};

pub const BIN: &str = env!("CARGO_BIN_EXE_training-service");
const SECRET: &str = "e2e-test-secret-0123456789abcdef";
const AUDIENCE: &str = "training-e2e";
const ISSUER: &str = "https://e2e.example";

fn verifier() -> Verifier {
    Verifier::new(JwtConfig::new(
        JwtSecret::new(SECRET).expect("secret"),
        AUDIENCE,
        ISSUER,
    ))
}

/// One isolated deployment: topics, group prefix, database, logs.
pub struct Deployment {
    pub topics: [String; 3],
    pub group: String,
    pub db: String,
    pub dir: PathBuf,
    started: usize,
    admin: String,
    /// Extra environment for every process the deployment starts.
    env: Vec<(String, String)>,
}

/// A running service instance.
pub struct Instance {
    pub child: Child,
    /// The public port (API, dashboard).
    pub port: u16,
    /// The admin port (probes, metrics).
    pub admin_port: u16,
    pub log: PathBuf,
}

impl Deployment {
    /// Checks the servers, creates the three topics (`partitions` each).
    pub async fn new(name: &str, partitions: i32) -> Self {
        require::kafka();
        require::registry();
        require::mongodb();
        let topics = [
            unique::name(&format!("{name}-lecture")),
            unique::name(&format!("{name}-attendance")),
            unique::name(&format!("{name}-quiz")),
        ];
        let base = kafka::plaintext_config();
        for t in &topics {
            kafka::create_topic(&base, t, partitions).await;
        }
        let dir = std::env::temp_dir().join(unique::name(name));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        Self {
            topics,
            group: unique::name(&format!("{name}-g")),
            db: unique::name(name).replace('-', "_"),
            dir,
            started: 0,
            admin: verifier().mint("e2e-admin", Role::Admin, Duration::from_secs(3600)),
            env: Vec::new(),
        }
    }

    /// Sets `key=value` in the environment of every process started from now on.
    #[allow(dead_code)] // not every test binary including this harness uses it
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("KAFKA_BROKERS", endpoints::kafka_bootstrap())
            .env("SCHEMA_REGISTRY_URL", endpoints::registry_url())
            .env("MONGODB_URI", endpoints::mongodb_uri())
            .env("TRAINING_DB", &self.db)
            .env("TRAINING_JWT_SECRET", SECRET)
            .env("TRAINING_JWT_AUDIENCE", AUDIENCE)
            .env("TRAINING_JWT_ISSUER", ISSUER)
            .env("TRAINING_GROUP", &self.group)
            .env("TRAINING_LECTURE_TOPIC", &self.topics[0])
            .env("TRAINING_ATTENDANCE_TOPIC", &self.topics[1])
            .env("TRAINING_QUIZ_TOPIC", &self.topics[2])
            // A killed member is evicted after the session timeout (the broker's minimum).
            .env("CONSUME_RDKAFKA_SESSION_TIMEOUT_MS", "6000")
            .env("CONSUME_RDKAFKA_HEARTBEAT_INTERVAL_MS", "1000")
            // FerretDB scans the whole collection for every read (docs/training-storage.md):
            // an admin page can take seconds under load, more than the 10 s default allows
            // when the machine is busy. The tests are about exactness, not latency.
            .env("TRAINING_HTTP_REQUEST_TIMEOUT_MS", "60000")
            .env("RUST_LOG", "info,librdkafka=warn")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null());
        c
    }

    /// Starts a service instance on a free port and waits until `/readyz` says ready.
    pub async fn start(&mut self) -> Instance {
        self.started += 1;
        let (port, admin_port) = (free_port(), free_port());
        let log = self.dir.join(format!("service-{}.log", self.started));
        let child = self
            .command(&["serve"])
            .env("TRAINING_HTTP_ADDR", format!("127.0.0.1:{port}"))
            .env("TRAINING_ADMIN_ADDR", format!("127.0.0.1:{admin_port}"))
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("start training-service");
        let mut i = Instance {
            child,
            port,
            admin_port,
            log,
        };
        i.wait_ready(Duration::from_secs(60)).await;
        i
    }

    /// Runs `simulate` to completion with `args`; returns the ground truth JSON.
    pub fn simulate(&self, args: &[&str]) -> Value {
        let truth = self.dir.join(format!("truth-{}.json", unique::name("t")));
        let mut all: Vec<&str> = vec!["simulate"];
        all.extend_from_slice(args);
        let truth_s = truth.to_string_lossy().into_owned();
        all.extend_from_slice(&["--truth", &truth_s]);
        let out = self
            .command(&all)
            .stderr(Stdio::piped())
            .output()
            .expect("run simulate");
        assert!(
            out.status.success(),
            "simulate failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&std::fs::read(&truth).expect("truth file")).expect("truth json")
    }

    /// Starts `simulate` in the background.
    pub fn simulate_in_background(&self, args: &[&str]) -> (Child, PathBuf) {
        let truth = self.dir.join(format!("truth-{}.json", unique::name("t")));
        let truth_s = truth.to_string_lossy().into_owned();
        let mut all: Vec<&str> = vec!["simulate"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--truth", &truth_s]);
        let log = self.dir.join("simulate.log");
        let child = self
            .command(&all)
            .stderr(std::fs::File::create(log).expect("log"))
            .spawn()
            .expect("start simulate");
        (child, truth)
    }

    /// Runs `reconcile`; returns (success, stdout).
    pub fn reconcile(&self) -> (bool, String) {
        let out = self
            .command(&["reconcile"])
            .stderr(Stdio::piped())
            .output()
            .expect("run reconcile");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }

    /// Polls the admin view (`/v1/courses/{c}/learners`, all pages) until every learner's
    /// per-course totals equal the truth, then reads every learner's full view
    /// (`/v1/learners/{id}/training`, days included) once and compares it exactly
    /// (`updated_at` ignored). Panics after `timeout` with the first difference.
    pub async fn assert_totals_match(&self, at: &Instance, truth: &Value, timeout: Duration) {
        let learners = truth["learners"].as_object().expect("learners");
        let mut want: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        for (id, l) in learners {
            for c in l["courses"].as_array().expect("courses") {
                want.insert(
                    (
                        c["course_id"].as_str().expect("course").to_owned(),
                        id.clone(),
                    ),
                    (
                        c["total_seconds"].as_u64().expect("total"),
                        c["credited_seconds"].as_u64().expect("credited"),
                    ),
                );
            }
        }
        let courses: std::collections::BTreeSet<String> =
            want.keys().map(|(c, _)| c.clone()).collect();
        let deadline = Instant::now() + timeout;
        let client = reqwest::Client::new();
        loop {
            let mut got: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
            for c in &courses {
                let mut after: Option<String> = None;
                loop {
                    let mut url = format!(
                        "http://127.0.0.1:{}/v1/courses/{c}/learners?limit=500",
                        at.port
                    );
                    if let Some(a) = &after {
                        url.push_str(&format!("&after={a}"));
                    }
                    let page: Value = client
                        .get(url)
                        .bearer_auth(&self.admin)
                        .send()
                        .await
                        .expect("GET course learners")
                        .json()
                        .await
                        .expect("json");
                    for l in page["learners"].as_array().expect("learners") {
                        got.insert(
                            (c.clone(), l["learner_id"].as_str().expect("id").to_owned()),
                            (
                                l["total_seconds"].as_u64().expect("total"),
                                l["credited_seconds"].as_u64().expect("credited"),
                            ),
                        );
                    }
                    match page["next"].as_str() {
                        Some(n) => after = Some(n.to_owned()),
                        None => break,
                    }
                }
            }
            if got == want {
                break;
            }
            if Instant::now() > deadline {
                let diff = want
                    .iter()
                    .find(|(k, v)| got.get(*k) != Some(*v))
                    .map(|(k, v)| format!("{k:?}: truth {v:?}, API {:?}", got.get(k)))
                    .or_else(|| {
                        got.keys()
                            .find(|k| !want.contains_key(*k))
                            .map(|k| format!("{k:?} is in the API but not in the truth"))
                    })
                    .unwrap_or_default();
                panic!(
                    "after {timeout:?}, the admin view differs from the ground truth ({} of {} course-learners equal); first difference: {diff}; logs in {}",
                    want.iter().filter(|(k, v)| got.get(*k) == Some(*v)).count(),
                    want.len(),
                    self.dir.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        // Every learner's full view, days included.
        for (id, l) in learners {
            let got = self.learner(&client, at, id).await;
            assert_eq!(
                strip(&got),
                strip(l),
                "learner {id}: the API differs from the ground truth"
            );
        }
    }

    /// A token for `sub` with `role`, valid for an hour.
    pub fn token(&self, sub: &str, role: Role) -> String {
        verifier().mint(sub, role, Duration::from_secs(3600))
    }

    /// The admin token.
    pub fn admin_token(&self) -> &str {
        &self.admin
    }

    /// `GET /v1/learners/{id}/training` as admin.
    pub async fn learner(&self, client: &reqwest::Client, at: &Instance, id: &str) -> Value {
        let r = client
            .get(format!(
                "http://127.0.0.1:{}/v1/learners/{id}/training",
                at.port
            ))
            .bearer_auth(&self.admin)
            .send()
            .await
            .expect("GET learner");
        assert!(r.status().is_success(), "GET learner {id}: {}", r.status());
        r.json().await.expect("json")
    }

    /// The instance's `/metrics` text.
    pub async fn metrics(&self, at: &Instance) -> String {
        reqwest::get(format!("http://127.0.0.1:{}/metrics", at.admin_port))
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("text")
    }

    /// Removes logs and truth files (call at the end of a passing test).
    pub fn cleanup(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Instance {
    async fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let url = format!("http://127.0.0.1:{}/readyz", self.admin_port);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "training-service exited with {status} before it was ready:\n{}",
                    tail(&self.log)
                );
            }
            if let Ok(r) = reqwest::get(&url).await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "training-service not ready within {timeout:?}:\n{}",
                tail(&self.log)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// SIGKILL.
    pub fn kill_9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// SIGTERM; asserts a clean exit.
    pub fn terminate(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                assert!(s.success(), "exit after SIGTERM: {s}\n{}", tail(&self.log));
                return;
            }
            assert!(Instant::now() < deadline, "no exit within 60 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Instance {
    /// A failing test must not leave a service running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The totals without `updated_at` (not part of the truth).
fn strip(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("updated_at");
    }
    v
}

fn tail(path: &PathBuf) -> String {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    s[s.len().saturating_sub(4000)..].to_owned()
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Parses `name value` lines of Prometheus text into a map (labels kept in the name).
pub fn prometheus(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}
