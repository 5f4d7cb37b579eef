//! Schema registry smoke tests through the Confluent-compatible API (Apicurio's ccompat/v7):
//! register, fetch by id and by subject, and BACKWARD compatibility is enforced.
//! Needs `infra/up`.

use consume_tests::{endpoints, require, unique};
use serde_json::{Value, json};

const CT: &str = "application/vnd.schemaregistry.v1+json";

fn schema_v1(name: &str) -> String {
    json!({
        "type": "record", "name": name, "namespace": "smoke.v1",
        "fields": [
            {"name": "event_id", "type": "string"},
            {"name": "watched_seconds", "type": "int"}
        ]
    })
    .to_string()
}

async fn register(http: &reqwest::Client, subject: &str, schema: &str) -> reqwest::Response {
    http.post(format!(
        "{}/subjects/{subject}/versions",
        endpoints::registry_url()
    ))
    .header("Content-Type", CT)
    .json(&json!({ "schema": schema }))
    .send()
    .await
    .expect("registry request")
}

async fn get_json(http: &reqwest::Client, path: &str) -> Value {
    let resp = http
        .get(format!("{}{path}", endpoints::registry_url()))
        .send()
        .await
        .expect("registry request");
    assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
    resp.json().await.expect("json body")
}

#[tokio::test]
async fn register_and_fetch_by_id_and_subject() {
    require::registry();
    let http = reqwest::Client::new();
    let subject = format!("{}-value", unique::name("smoke-topic"));
    let schema = schema_v1("Progress");

    let resp = register(&http, &subject, &schema).await;
    assert!(resp.status().is_success(), "register: {}", resp.status());
    let id = resp.json::<Value>().await.expect("json")["id"]
        .as_i64()
        .expect("numeric id");

    // Registering the same schema again returns the same id (idempotent).
    let again = register(&http, &subject, &schema).await;
    let again_id = again.json::<Value>().await.expect("json")["id"].as_i64();
    assert_eq!(again_id, Some(id));

    let by_id = get_json(&http, &format!("/schemas/ids/{id}")).await;
    let fetched: Value = serde_json::from_str(by_id["schema"].as_str().expect("schema string"))
        .expect("schema is JSON");
    let original: Value = serde_json::from_str(&schema).expect("schema is JSON");
    assert_eq!(fetched, original);

    let latest = get_json(&http, &format!("/subjects/{subject}/versions/latest")).await;
    assert_eq!(latest["id"].as_i64(), Some(id));
    assert_eq!(latest["version"].as_i64(), Some(1));
    assert_eq!(latest["subject"].as_str(), Some(subject.as_str()));
}

#[tokio::test]
async fn backward_compatibility_is_enforced() {
    require::registry();
    let http = reqwest::Client::new();
    let config = get_json(&http, "/config").await;
    assert_eq!(
        config["compatibilityLevel"], "BACKWARD",
        "infra/up sets BACKWARD"
    );

    let subject = format!("{}-value", unique::name("smoke-compat"));
    let v1 = register(&http, &subject, &schema_v1("Compat")).await;
    assert!(v1.status().is_success(), "register v1: {}", v1.status());

    // A new field with a default: readers of v2 can read v1 data.
    let v2 = json!({
        "type": "record", "name": "Compat", "namespace": "smoke.v1",
        "fields": [
            {"name": "event_id", "type": "string"},
            {"name": "watched_seconds", "type": "int"},
            {"name": "course_id", "type": "string", "default": ""}
        ]
    })
    .to_string();
    let ok = register(&http, &subject, &v2).await;
    assert!(
        ok.status().is_success(),
        "compatible v2 refused: {}",
        ok.status()
    );

    // A new field without a default breaks BACKWARD: 409 Conflict.
    let v3 = json!({
        "type": "record", "name": "Compat", "namespace": "smoke.v1",
        "fields": [
            {"name": "event_id", "type": "string"},
            {"name": "watched_seconds", "type": "int"},
            {"name": "course_id", "type": "string", "default": ""},
            {"name": "lecture_id", "type": "string"}
        ]
    })
    .to_string();
    let refused = register(&http, &subject, &v3).await;
    assert_eq!(
        refused.status().as_u16(),
        409,
        "incompatible schema must be refused"
    );
}
