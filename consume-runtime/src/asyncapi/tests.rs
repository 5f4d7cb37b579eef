use serde_json::{Value, json};

use super::*;
use crate::avro::AvroSchema;
use crate::consumer::erased::{ErasedHandler, erase, erase_batch};
use crate::options::{BatchOptions, DeadLetter, HandlerOptions};
use crate::registry::{Registration, resolve};
use crate::{Avro, Batch, Json, Key, Meta};

#[derive(Debug, serde::Deserialize)]
struct Progress {
    #[allow(dead_code)]
    seconds: i32,
}

impl AvroSchema for Progress {
    const SCHEMA: &'static str = r#"{"type":"record","name":"Progress","namespace":"t.v1",
        "fields":[{"name":"seconds","type":"int"}]}"#;
}

#[derive(Debug, serde::Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
struct Order {
    #[allow(dead_code)]
    id: String,
}

async fn avro(_k: Key<String>, _v: Avro<Progress>) {}
async fn json(_k: Key<Option<Vec<u8>>>, _v: Json<Order>) {}
async fn raw(_m: Meta) {}
async fn batch(_b: Batch<(Key<String>, Json<Order>)>) {}

fn make_avro() -> ErasedHandler {
    erase(avro)
}
fn make_json() -> ErasedHandler {
    erase(json)
}
fn make_raw() -> ErasedHandler {
    erase(raw)
}
fn make_batch() -> ErasedHandler {
    erase_batch(batch)
}

const fn reg(
    name: &'static str,
    topics: &'static [&'static str],
    group: &'static str,
    make: fn() -> ErasedHandler,
    options: HandlerOptions,
) -> Registration {
    Registration {
        name,
        topics,
        group,
        module_path: "m",
        file: "f.rs",
        line: 1,
        make,
        options,
    }
}

static AVRO: Registration = reg(
    "on_progress",
    &["${ENV:dev}.progress"],
    "g1",
    make_avro,
    HandlerOptions::DEFAULT,
);
static JSON: Registration = reg(
    "on_order",
    &["orders", "orders.eu"],
    "g2",
    make_json,
    HandlerOptions {
        dead_letter: DeadLetter::Topic("orders.failed"),
        ..HandlerOptions::DEFAULT
    },
);
static RAW: Registration = reg(
    "on_raw",
    &["dev.progress"],
    "g3",
    make_raw,
    HandlerOptions {
        dead_letter: DeadLetter::Off,
        ..HandlerOptions::DEFAULT
    },
);
static BATCH: Registration = reg(
    "load",
    &["orders"],
    "g4",
    make_batch,
    HandlerOptions {
        batch: Some(BatchOptions {
            max_size: 10,
            max_linger_ms: 5,
        }),
        ..HandlerOptions::DEFAULT
    },
);

fn doc(info: &Info) -> Value {
    let plans = resolve(&[&AVRO, &JSON, &RAW, &BATCH], &[], true, &|_| None).expect("plans");
    let doc = document(&plans, info).expect("document");
    serde_json::from_str(&doc.to_json().expect("json")).expect("parses")
}

#[test]
fn a_channel_per_topic_and_a_receive_operation_per_handler_and_topic() {
    let d = doc(&Info::new("svc", "1.2.3").description("d"));
    assert_eq!(d["asyncapi"], "3.0.0");
    assert_eq!(
        d["info"],
        json!({"title": "svc", "version": "1.2.3", "description": "d"})
    );
    let channels = d["channels"].as_object().expect("channels");
    let addresses: Vec<&str> = channels
        .values()
        .map(|c| c["address"].as_str().expect("address"))
        .collect();
    for topic in [
        "dev.progress",
        "orders",
        "orders.eu",
        "orders.failed",
        "dev.progress.g1.dlq",
    ] {
        assert_eq!(
            addresses.iter().filter(|a| **a == topic).count(),
            1,
            "{topic} in {addresses:?}"
        );
    }
    let ops = d["operations"].as_object().expect("operations");
    let ids: Vec<&str> = ops.keys().map(String::as_str).collect();
    assert_eq!(
        ids,
        [
            "load",
            "load-dead-letters",
            "on_order-orders",
            "on_order-orders_eu",
            "on_order-dead-letters",
            "on_progress",
            "on_progress-dead-letters",
            "on_raw",
        ]
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );
    let op = &ops["on_progress"];
    assert_eq!(op["action"], "receive");
    assert_eq!(op["channel"]["$ref"], "#/channels/dev_progress");
    assert_eq!(op["x-consume-handler"], "on_progress");
    assert_eq!(
        op["bindings"]["kafka"],
        json!({"groupId": {"type": "string", "enum": ["g1"]}, "bindingVersion": "0.5.0"})
    );
    assert_eq!(
        channels["dev_progress"]["bindings"]["kafka"],
        json!({"topic": "dev.progress", "bindingVersion": "0.5.0"})
    );
    // Two handlers read dev.progress with different messages: both are on the channel, and
    // each operation points at its own.
    let messages = channels["dev_progress"]["messages"].as_object().expect("m");
    assert_eq!(
        messages.keys().collect::<Vec<_>>(),
        ["Progress", "Record"],
        "{messages:#?}"
    );
    assert_eq!(
        op["messages"],
        json!([{"$ref": "#/channels/dev_progress/messages/Progress"}])
    );
    assert_eq!(
        ops["on_raw"]["messages"],
        json!([{"$ref": "#/channels/dev_progress/messages/Record"}])
    );
}

#[test]
fn avro_payloads_are_multi_format_schemas_with_the_confluent_binding() {
    let d = doc(&Info::new("svc", "1"));
    let m = &d["channels"]["dev_progress"]["messages"]["Progress"];
    assert_eq!(
        m["payload"]["schemaFormat"],
        "application/vnd.apache.avro+json;version=1.9.0"
    );
    assert_eq!(m["payload"]["schema"]["name"], "Progress");
    assert_eq!(m["payload"]["schema"]["fields"][0]["type"], "int");
    assert_eq!(
        m["bindings"]["kafka"],
        json!({
            "key": {"type": "string"},
            "schemaIdLocation": "payload",
            "schemaIdPayloadEncoding": "confluent",
            "bindingVersion": "0.5.0"
        })
    );
}

#[test]
fn json_payloads_have_the_schema_given_for_their_type_or_none() {
    let d = doc(&Info::new("svc", "1"));
    let m = &d["channels"]["orders"]["messages"]["Order"];
    assert_eq!(m["contentType"], "application/json");
    assert!(m.get("payload").is_none(), "{m:#}");
    assert!(
        m["description"]
            .as_str()
            .is_some_and(|s| s.contains("No JSON Schema"))
    );
    assert_eq!(
        m["bindings"]["kafka"]["key"],
        json!({"anyOf": [{"type": "string", "contentEncoding": "binary", "description": "bytes"}, {"type": "null"}]})
    );

    let schema = json!({"type": "object", "required": ["id"]});
    let d = doc(&Info::new("svc", "1").json_schema_value::<Order>(schema.clone()));
    let orders = d["channels"]["orders"]["messages"].as_object().expect("m");
    // The batch handler's key is a `String`, the other's optional bytes: two messages.
    assert_eq!(orders.len(), 2, "{orders:#?}");
    for m in orders.values() {
        assert_eq!(m["payload"], schema);
    }
}

#[test]
fn dead_letters_are_send_operations_with_documented_headers() {
    let d = doc(&Info::new("svc", "1"));
    let ops = &d["operations"];
    let dlq = &ops["on_order-dead-letters"];
    assert_eq!(dlq["action"], "send");
    assert_eq!(dlq["channel"]["$ref"], "#/channels/orders_failed");
    assert!(
        dlq["summary"]
            .as_str()
            .is_some_and(|s| s.contains("`orders`, `orders.eu`"))
    );
    assert_eq!(
        ops["on_progress-dead-letters"]["channel"]["$ref"],
        "#/channels/dev_progress_g1_dlq"
    );
    assert!(ops.get("on_raw-dead-letters").is_none(), "dead letters off");
    let headers = &d["channels"]["orders_failed"]["messages"]["DeadLetter"]["headers"];
    for (name, _) in crate::consumer::dead_letter::HEADERS {
        assert_eq!(headers["properties"][name]["type"], "string", "{name}");
    }
}

#[test]
fn dead_letters_off_for_the_runtime_means_no_send_operations() {
    let plans = resolve(&[&AVRO], &[], false, &|_| None).expect("plans");
    let doc = document(&plans, &Info::new("svc", "1")).expect("document");
    assert_eq!(doc.operation_ids().collect::<Vec<_>>(), ["on_progress"]);
}

#[test]
fn yaml_says_the_same() {
    let plans = resolve(&[&AVRO, &JSON], &[], true, &|_| None).expect("plans");
    let doc = document(&plans, &Info::new("svc", "1.0")).expect("document");
    let yaml = doc.to_yaml().expect("yaml");
    assert!(yaml.starts_with("asyncapi: "), "{yaml}");
    // Versions stay strings.
    assert!(
        yaml.contains("asyncapi: 3.0.0") || yaml.contains("asyncapi: \"3.0.0\""),
        "{yaml}"
    );
    assert!(yaml.contains("$ref"), "{yaml}");
}

#[test]
fn an_avro_schema_that_is_not_json_names_the_handler() {
    #[derive(Debug, serde::Deserialize)]
    struct Broken;
    impl AvroSchema for Broken {
        const SCHEMA: &'static str = "not json";
    }
    async fn broken(_v: Avro<Broken>) {}
    fn make() -> ErasedHandler {
        erase(broken)
    }
    static BROKEN: Registration = reg("broken", &["t"], "g", make, HandlerOptions::DEFAULT);
    let plans = resolve(&[&BROKEN], &[], true, &|_| None).expect("plans");
    let e = document(&plans, &Info::new("svc", "1")).expect_err("not json");
    assert!(e.to_string().contains("`broken`"), "{e}");
}

#[test]
fn identifiers_are_safe_and_unique() {
    assert_eq!(super::build::identifier("a.b/c d"), "a_b_c_d");
    assert_eq!(super::build::short_name("a::b::Event<c::D>"), "Event");
    assert_eq!(super::build::short_name("t.v1.Lecture"), "Lecture");
}

#[cfg(feature = "schemars")]
#[test]
fn schemars_schemas_go_to_components() {
    let d = doc(&Info::new("svc", "1").json_schema::<Order>());
    let m = &d["channels"]["orders"]["messages"]["Order"];
    assert_eq!(m["payload"], json!({"$ref": "#/components/schemas/Order"}));
    let order = &d["components"]["schemas"]["Order"];
    assert_eq!(order["type"], "object");
    assert_eq!(order["properties"]["id"]["type"], "string");
}
