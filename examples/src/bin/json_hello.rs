//! The smallest `#[consume]` program: one JSON handler.
//!
//! ```text
//! infra/up
//! cargo run -p consume-examples --bin json_hello
//! # in another shell:
//! echo 'learner-1:{"lecture_id":"l-1","watched_seconds":30}' | \
//!   infra/kafka-tool console-producer --bootstrap-server 127.0.0.1:9092 \
//!   --topic examples.lecture-progress --property parse.key=true --property key.separator=:
//! ```
//! Stop it with Ctrl-C: it finishes in-flight messages, commits and leaves the group.
//! `json_hello --asyncapi` prints the AsyncAPI document of its handler (YAML) instead, with
//! the payload's JSON Schema derived by `schemars`.

use consume_runtime::asyncapi::Info;
use consume_runtime::{HandlerError, Json, Key, Meta, Runtime, consume};
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Deserialize, JsonSchema)]
struct LectureProgress {
    lecture_id: String,
    watched_seconds: u32,
}

#[consume(topic = "examples.lecture-progress", group = "examples-json-hello")]
async fn on_progress(
    Key(learner): Key<String>,
    Json(p): Json<LectureProgress>,
    meta: Meta,
) -> Result<(), HandlerError> {
    println!(
        "{learner} watched {}s of {} (partition {} offset {})",
        p.watched_seconds, p.lecture_id, meta.partition, meta.offset
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), consume_runtime::Error> {
    if std::env::args().any(|a| a == "--asyncapi") {
        let info = Info::new("json_hello", env!("CARGO_PKG_VERSION"))
            .description("The smallest `#[consume]` program: one JSON handler.")
            .json_schema::<LectureProgress>();
        println!("{}", Runtime::from_env()?.asyncapi(&info)?.to_yaml()?);
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    Runtime::from_env()?.create_missing_topics(3).run().await
}
