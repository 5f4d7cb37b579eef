//! The README's handler and its test-kit test, as printed there (keep them in step).

use consume_runtime::testing::TestKafka;
use consume_runtime::{HandlerError, Json, Key, consume};

#[derive(serde::Deserialize)]
struct LectureProgress {
    lecture_id: String,
    watched_seconds: u32,
}

#[consume(topic = "training.lecture-progress", group = "progress-printer")]
async fn on_progress(
    Key(learner): Key<String>,
    Json(p): Json<LectureProgress>,
) -> Result<(), HandlerError> {
    println!(
        "{learner} watched {}s of {}",
        p.watched_seconds, p.lecture_id
    );
    Ok(())
}

#[tokio::test]
async fn progress_is_printed() -> Result<(), Box<dyn std::error::Error>> {
    let kafka = TestKafka::start()?;
    kafka
        .send_json(
            "training.lecture-progress",
            "learner-1",
            &serde_json::json!({"lecture_id": "l-1", "watched_seconds": 60}),
        )
        .await?;
    let app = kafka.run(kafka.runtime().only(["on_progress"])).await?;
    app.idle().await?; // handled and committed, every partition
    assert_eq!(app.handler("on_progress").handled, 1);
    assert!(app.dead_letters("on_progress").await?.is_empty());
    app.stop().await.map_err(Into::into)
}
