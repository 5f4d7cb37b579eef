//! `training-service asyncapi` prints a valid AsyncAPI 3.0 document of the service's
//! consumers: the AsyncAPI parser (from npm, `tests/asyncapi/setup.sh`) reports zero errors,
//! every handler is a `receive` operation, the YAML says what the JSON says, and the topic
//! settings and runtime switches show in it. And the validator does fail on broken documents.
//! Needs no servers.

use std::process::Command;

use consume_tests::asyncapi;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_training-service");
const HANDLERS: [&str; 3] = ["attendance", "lecture_progress", "quiz_submitted"];

/// Runs `training-service asyncapi <args>` with none of the settings it reads in its
/// environment except `env`.
fn asyncapi_command(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut c = Command::new(BIN);
    for v in [
        "TRAINING_LECTURE_TOPIC",
        "TRAINING_ATTENDANCE_TOPIC",
        "TRAINING_QUIZ_TOPIC",
        "TRAINING_GROUP",
        "CONSUME_HANDLERS",
        "CONSUME_DEAD_LETTERS",
        "KAFKA_BROKERS",
    ] {
        c.env_remove(v);
    }
    let out = c
        .arg("asyncapi")
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run training-service");
    assert!(
        out.status.success(),
        "training-service asyncapi {args:?}: exit {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn operations(doc: &str) -> serde_json::Map<String, Value> {
    let doc: Value = serde_json::from_str(doc).expect("JSON");
    doc["operations"].as_object().expect("operations").clone()
}

#[test]
fn the_document_is_valid_lists_every_handler_and_its_dead_letters() {
    let json = asyncapi_command(&[], &[]);
    asyncapi::assert_valid("training-service asyncapi", &json, &HANDLERS, None);
    let ops = operations(&json);
    for h in HANDLERS {
        assert_eq!(ops[h]["action"], "receive", "{h}");
        let dlq = &ops[&format!("{h}-dead-letters")];
        assert_eq!(dlq["action"], "send", "{h}");
    }
    let lecture = &ops["lecture_progress"];
    assert_eq!(
        lecture["bindings"]["kafka"]["groupId"]["enum"][0],
        "training-hours.lecture-progress"
    );
    assert_eq!(
        lecture["channel"]["$ref"],
        "#/channels/training_lecture-progress"
    );
    assert!(json.contains("\"schemaFormat\": \"application/vnd.apache.avro+json;version=1.9.0\""));

    // YAML: valid too, and the same document.
    let yaml = asyncapi_command(&["--format", "yaml"], &[]);
    let json_file =
        std::env::temp_dir().join(format!("training-asyncapi-{}.json", std::process::id()));
    std::fs::write(&json_file, &json).expect("write the JSON document");
    let report = asyncapi::validate(&yaml, &HANDLERS, Some(&json_file));
    let _ = std::fs::remove_file(&json_file);
    assert!(report.valid, "YAML: {}\n{yaml}", report.output);
}

#[test]
fn topics_groups_and_switches_come_from_the_settings() {
    let json = asyncapi_command(
        &["--lecture-topic", "prod.lectures", "--group", "th"],
        &[("CONSUME_DEAD_LETTERS", "off")],
    );
    asyncapi::assert_valid("with settings", &json, &HANDLERS, None);
    let doc: Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(doc["channels"]["prod_lectures"]["address"], "prod.lectures");
    let ops = operations(&json);
    assert_eq!(
        ops["lecture_progress"]["bindings"]["kafka"]["groupId"]["enum"][0],
        "th.lecture-progress"
    );
    assert!(
        ops.values().all(|op| op["action"] == "receive"),
        "dead letters are off: {:?}",
        ops.keys().collect::<Vec<_>>()
    );

    let json = asyncapi_command(&[], &[("CONSUME_HANDLERS", "attendance")]);
    asyncapi::assert_valid("one handler", &json, &["attendance"], None);
    assert_eq!(
        operations(&json).keys().collect::<Vec<_>>(),
        ["attendance", "attendance-dead-letters"]
    );
}

#[test]
fn the_validator_fails_on_broken_documents() {
    let json = asyncapi_command(&[], &[]);
    let broken = asyncapi::broken(&json);
    assert_eq!(
        broken.len(),
        2,
        "a broken reference and a broken Avro schema"
    );
    for (doc, says) in broken {
        let report = asyncapi::validate(&doc, &HANDLERS, None);
        assert!(!report.valid, "not caught ({says}): {}", report.output);
        assert!(report.output.contains(says), "{says}: {}", report.output);
    }
    let report = asyncapi::validate(&json, &["no_such_handler"], None);
    assert!(!report.valid, "{}", report.output);
    assert!(
        report
            .output
            .contains("handler no_such_handler has no receive operation"),
        "{}",
        report.output
    );
}
