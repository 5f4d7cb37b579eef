//! Each example's `--asyncapi` prints an AsyncAPI 3.0 document that the AsyncAPI parser
//! validates with zero errors and that lists the example's handler. Needs no servers; needs
//! the validator (`tests/asyncapi/setup.sh`).

use std::process::Command;

use consume_tests::asyncapi;

fn document(bin: &str) -> String {
    let out = Command::new(bin)
        .arg("--asyncapi")
        .env_remove("CONSUME_HANDLERS")
        .env_remove("CONSUME_DEAD_LETTERS")
        .output()
        .expect("run the example");
    assert!(
        out.status.success(),
        "{bin} --asyncapi: exit {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn json_hello_documents_its_handler_with_the_payload_schema() {
    let doc = document(env!("CARGO_BIN_EXE_json_hello"));
    asyncapi::assert_valid("json_hello", &doc, &["on_progress"], None);
    for expected in [
        "address: examples.lecture-progress",
        "- examples-json-hello",
        "$ref: \"#/components/schemas/LectureProgress\"",
        "watched_seconds:",
        "address: examples.lecture-progress.examples-json-hello.dlq",
    ] {
        assert!(doc.contains(expected), "no {expected:?} in:\n{doc}");
    }
}

#[test]
fn state_and_shutdown_documents_its_handler() {
    let doc = document(env!("CARGO_BIN_EXE_state_and_shutdown"));
    asyncapi::assert_valid("state_and_shutdown", &doc, &["add_watch_time"], None);
    assert!(doc.contains("address: examples.watch-time"), "{doc}");
}
