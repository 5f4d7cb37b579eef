//! The dashboard, opened in headless Chromium (Debian's `chromium`, driven by playwright-core
//! from npm), shows the same numbers as the API: a learner's own total, and the admin table's
//! cell for that learner. Needs `infra/up` and `training-service/tests/dashboard/setup.sh`
//! (`./dev test` runs both).

#[path = "e2e/harness.rs"]
mod harness;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use harness::Deployment;
use serde_json::Value;
use training_service::auth::Role;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_what_the_api_says() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dashboard");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        here.join("node_modules/playwright-core").is_dir() && Path::new(&chromium).exists(),
        "the dashboard test needs Chromium ({chromium}) and playwright-core: run `training-service/tests/dashboard/setup.sh` (./dev test does)"
    );
    let mut d = Deployment::new("e2e-dash", 2).await;
    let service = d.start().await;
    let truth = d.simulate(&[
        "--learners",
        "12",
        "--courses",
        "2",
        "--rate",
        "300",
        "--duration",
        "3",
        "--seed",
        "21",
    ]);
    d.assert_totals_match(&service, &truth, Duration::from_secs(90))
        .await;

    // The first course in the admin's list is the one the dashboard opens with.
    let client = reqwest::Client::new();
    let courses: Value = client
        .get(format!("http://127.0.0.1:{}/v1/courses", service.port))
        .bearer_auth(d.admin_token())
        .send()
        .await
        .expect("GET courses")
        .json()
        .await
        .expect("json");
    let first_course = courses["courses"][0].as_str().expect("a course").to_owned();
    let (learner, view) = truth["learners"]
        .as_object()
        .expect("learners")
        .iter()
        .find(|(_, l)| {
            l["courses"]
                .as_array()
                .is_some_and(|cs| cs.iter().any(|c| c["course_id"] == first_course.as_str()))
        })
        .expect("a learner of the first course");
    let api = d.learner(&client, &service, learner).await;
    assert_eq!(api["total_seconds"], view["total_seconds"]);
    let course_total = api["courses"]
        .as_array()
        .expect("courses")
        .iter()
        .find(|c| c["course_id"] == first_course.as_str())
        .expect("course")["total_seconds"]
        .to_string();
    let total = api["total_seconds"].to_string();

    let out = Command::new("node")
        .arg(here.join("check.mjs"))
        .args([
            &format!("http://127.0.0.1:{}", service.port),
            &d.token(learner, Role::Learner),
            learner,
            &total,
            d.admin_token(),
            &first_course,
        ])
        .env("CHROMIUM", &chromium)
        .output()
        .expect("run node check.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "check.mjs failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: Value = serde_json::from_str(stdout.trim()).expect("check.mjs prints JSON");
    assert!(shown.get("error").is_none(), "browser error: {shown}");
    assert_eq!(
        shown["learner_total_seconds"].as_str(),
        Some(total.as_str()),
        "the learner's dashboard shows {shown}, the API says {total}"
    );
    assert_eq!(
        shown["admin_learner_cell"].as_str(),
        Some(course_total.as_str()),
        "the admin table shows {shown}, the API says {course_total} for {learner} in {first_course}"
    );
    assert!(shown["admin_rows"].as_u64().unwrap_or(0) >= 1);
    let url = shown["learner_url"].as_str().unwrap_or_default();
    assert!(
        url.ends_with("/dashboard") && !url.contains("token"),
        "the page keeps the token in its address: {url}"
    );
    drop(service);
    d.cleanup();
}
