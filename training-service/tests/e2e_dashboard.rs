//! The dashboard, opened in headless Chromium (Debian's `chromium`, driven by playwright-core
//! from npm), shows the same numbers as the API: a learner's own total, the admin table's
//! cell for that learner, and the pipeline header's dead letters: every invalid event the
//! simulation sent, refused by the service and dead-lettered with its reason. Needs
//! `infra/up` and `training-service/tests/dashboard/setup.sh` (`./dev test` runs both).

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
        // Invalid events but no re-sends: each invalid event is exactly one dead letter.
        "--invalid",
        "0.05",
        "--duplicates",
        "0",
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

    // The service refused every invalid event: this instance (the only one) dead-lettered
    // each, with its reason, and says so in `/v1/pipeline`.
    let invalid = truth["invalid"].as_u64().expect("truth.invalid");
    assert!(invalid > 0, "the simulation sent no invalid event");
    let pipeline: Value = client
        .get(format!("http://127.0.0.1:{}/v1/pipeline", service.port))
        .bearer_auth(d.admin_token())
        .send()
        .await
        .expect("GET pipeline")
        .json()
        .await
        .expect("json");
    let hour = &pipeline["dead_letters_last_hour"];
    assert_eq!(hour["total"], invalid, "{pipeline:#}");
    assert_eq!(
        hour["by_reason"],
        serde_json::json!({ "rejected": invalid }),
        "{pipeline:#}"
    );
    let recent = pipeline["recent_dead_letters"]
        .as_array()
        .expect("recent_dead_letters");
    assert_eq!(recent.len() as u64, invalid.min(10), "{pipeline:#}");
    for r in recent {
        let summary = r["summary"].as_str().unwrap_or_default();
        assert!(
            r["reason"] == "rejected"
                && summary
                    .starts_with("Refined extractor rejected the message: invalid event \"…\": ")
                && summary.ends_with(" is outside 0..=3600"),
            "{r}"
        );
        assert!(
            d.topics
                .contains(&r["topic"].as_str().unwrap_or_default().to_owned()),
            "{r}"
        );
    }
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
            &invalid.to_string(),
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
    assert_eq!(
        shown["admin_dead"],
        serde_json::json!([["rejected", format!("refused by validation: {invalid}")]]),
        "the admin's pipeline header shows {shown}, the API says {invalid} refused events"
    );
    let url = shown["learner_url"].as_str().unwrap_or_default();
    assert!(
        url.ends_with("/dashboard") && !url.contains("token"),
        "the page keeps the token in its address: {url}"
    );
    drop(service);
    d.cleanup();
}
