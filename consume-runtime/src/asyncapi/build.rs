//! From handler plans to the document: channels by topic, a `receive` operation per handler
//! (and topic), its message from what the handler's extractors declared, and the dead-letter
//! channels with their `send` operations.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Info;
use super::json_schema::Schemas;
use super::model::{
    ASYNCAPI_VERSION, Action, Channel, ChannelBindings, Components, Document,
    KAFKA_BINDING_VERSION, KafkaChannel, KafkaMessage, KafkaOperation, Message, MessageBindings,
    Operation, OperationBindings, Ref,
};
use crate::consumer::dead_letter;
use crate::error::Error;
use crate::extract::Requirements;
use crate::registry::HandlerPlan;

/// The schema format of Avro payloads (AsyncAPI's name for Avro 1.9+ schemas in JSON).
const AVRO_SCHEMA_FORMAT: &str = "application/vnd.apache.avro+json;version=1.9.0";

pub(super) fn document(plans: &[&HandlerPlan], info: &Info) -> Result<Document, Error> {
    let mut b = Builder {
        channels: BTreeMap::new(),
        by_topic: BTreeMap::new(),
        operations: BTreeMap::new(),
        schemas: Schemas::new(&info.json_schemas),
    };
    for plan in plans {
        b.handler(plan)?;
    }
    let schemas: BTreeMap<String, Value> = b.schemas.definitions().into_iter().collect();
    Ok(Document {
        asyncapi: ASYNCAPI_VERSION,
        info: super::model::Info {
            title: info.title.clone(),
            version: info.version.clone(),
            description: info.description.clone(),
        },
        channels: b.channels,
        operations: b.operations,
        components: (!schemas.is_empty()).then_some(Components { schemas }),
    })
}

struct Builder<'a> {
    channels: BTreeMap<String, Channel>,
    /// Topic → channel id.
    by_topic: BTreeMap<String, String>,
    operations: BTreeMap<String, Operation>,
    schemas: Schemas<'a>,
}

impl Builder<'_> {
    /// The handler's `receive` operations and, with dead letters on, its `send` operations.
    fn handler(&mut self, plan: &HandlerPlan) -> Result<(), Error> {
        let requirements = plan.handler.requirements();
        let message = self.message(plan, &requirements)?;
        for topic in &plan.topics {
            let channel = self.channel(topic);
            let message_id = self.add_message(&channel, &message);
            let id = match plan.topics.len() {
                1 => plan.name.clone(),
                _ => format!("{}-{channel}", plan.name),
            };
            let operation = Operation {
                action: Action::Receive,
                channel: channel_ref(&channel),
                title: plan.name.clone(),
                summary: format!(
                    "`{}` reads `{topic}` in consumer group `{}`.",
                    plan.name, plan.group
                ),
                description: describe(plan, topic),
                bindings: OperationBindings {
                    kafka: KafkaOperation {
                        group_id: Some(json!({ "type": "string", "enum": [plan.group] })),
                        binding_version: KAFKA_BINDING_VERSION,
                    },
                },
                messages: vec![message_ref(&channel, &message_id)],
                handler: plan.name.clone(),
            };
            self.add_operation(&id, operation);
        }
        let mut dead_letter_topics: Vec<&str> = Vec::new();
        for (_, dlq) in plan.dead_letter_routes().unwrap_or_default() {
            if !dead_letter_topics.contains(&dlq.as_str()) {
                dead_letter_topics.push(dlq);
            }
        }
        for dlq in &dead_letter_topics {
            let channel = self.channel(dlq);
            let message_id = self.add_message(&channel, &dead_letter_message());
            let id = match dead_letter_topics.len() {
                1 => format!("{}-dead-letters", plan.name),
                _ => format!("{}-dead-letters-{channel}", plan.name),
            };
            let sources: Vec<&str> = plan
                .dead_letter_routes()
                .unwrap_or_default()
                .iter()
                .filter(|(_, d)| d == dlq)
                .map(|(t, _)| t.as_str())
                .collect();
            let operation = Operation {
                action: Action::Send,
                channel: channel_ref(&channel),
                title: format!("{} dead letters", plan.name),
                summary: format!(
                    "Records of `{}` that `{}` failed for good, as received, with headers \
                     saying why.",
                    sources.join("`, `"),
                    plan.name
                ),
                description: format!(
                    "A record whose handling failed for good (retries exhausted, a permanent \
                     error, a value that does not decode) is published here before its offset \
                     is committed: key, value and headers byte for byte, plus the headers \
                     described in the message. A crash in between makes a duplicate, never a \
                     loss.\n\nHandler `{}` ({}), group `{}`.",
                    plan.name, plan.location, plan.group
                ),
                bindings: OperationBindings {
                    kafka: KafkaOperation {
                        group_id: None,
                        binding_version: KAFKA_BINDING_VERSION,
                    },
                },
                messages: vec![message_ref(&channel, &message_id)],
                handler: plan.name.clone(),
            };
            self.add_operation(&id, operation);
        }
        Ok(())
    }

    /// The channel of `topic`, created on first use; its id is the topic with every character
    /// other than letters, digits, `_` and `-` replaced by `_`, made unique.
    fn channel(&mut self, topic: &str) -> String {
        if let Some(id) = self.by_topic.get(topic) {
            return id.clone();
        }
        let id = unique(&self.channels, &identifier(topic));
        self.channels.insert(
            id.clone(),
            Channel {
                address: topic.to_owned(),
                messages: BTreeMap::new(),
                description: None,
                bindings: ChannelBindings {
                    kafka: KafkaChannel {
                        topic: topic.to_owned(),
                        binding_version: KAFKA_BINDING_VERSION,
                    },
                },
            },
        );
        self.by_topic.insert(topic.to_owned(), id.clone());
        id
    }

    /// Adds `message` to the channel unless an equal one is there; returns its id.
    fn add_message(&mut self, channel: &str, message: &Message) -> String {
        let Some(ch) = self.channels.get_mut(channel) else {
            return identifier(&message.name);
        };
        if let Some((id, _)) = ch.messages.iter().find(|(_, m)| *m == message) {
            return id.clone();
        }
        let id = unique(&ch.messages, &identifier(&message.name));
        ch.messages.insert(id.clone(), message.clone());
        id
    }

    fn add_operation(&mut self, id: &str, operation: Operation) {
        let id = unique(&self.operations, &identifier(id));
        self.operations.insert(id, operation);
    }

    /// The message a handler reads, from what its extractors declared: the first value
    /// (Avro, then JSON) and the first key.
    fn message(&mut self, plan: &HandlerPlan, r: &Requirements) -> Result<Message, Error> {
        let key = r.keys.first().cloned();
        if let Some((type_name, schema)) = r.avro_readers.first() {
            let schema: Value = serde_json::from_str(schema).map_err(|e| {
                Error::AsyncApi(format!(
                    "handler `{}` ({}): the Avro schema of `{type_name}` is not JSON: {e}",
                    plan.name, plan.location
                ))
            })?;
            let name = schema
                .get("name")
                .and_then(Value::as_str)
                .map_or(short_name(type_name), short_name)
                .to_owned();
            return Ok(Message {
                title: name.clone(),
                name,
                summary: format!("Avro, read as `{type_name}`."),
                description: Some(
                    "In the Confluent wire format (magic byte, 4-byte schema id, body). Each \
                     record's writer schema comes from the schema registry by its id and must \
                     resolve to this reader schema; a record that does not decode is \
                     dead-lettered."
                        .to_owned(),
                ),
                content_type: Some("avro/binary"),
                headers: None,
                payload: Some(json!({ "schemaFormat": AVRO_SCHEMA_FORMAT, "schema": schema })),
                bindings: Some(MessageBindings {
                    kafka: KafkaMessage {
                        key,
                        schema_id_location: Some("payload"),
                        schema_id_payload_encoding: Some("confluent"),
                        binding_version: KAFKA_BINDING_VERSION,
                    },
                }),
            });
        }
        let bindings = |key: Option<Value>| {
            key.map(|key| MessageBindings {
                kafka: KafkaMessage {
                    key: Some(key),
                    schema_id_location: None,
                    schema_id_payload_encoding: None,
                    binding_version: KAFKA_BINDING_VERSION,
                },
            })
        };
        if let Some((type_id, type_name)) = r.json_values.first() {
            let payload = self.schemas.payload(*type_id);
            let name = short_name(type_name).to_owned();
            let schema_note = if payload.is_some() {
                ""
            } else {
                " No JSON Schema was given for the type, so the payload is not described."
            };
            return Ok(Message {
                title: name.clone(),
                name,
                summary: format!("JSON, read as `{type_name}`."),
                description: Some(format!(
                    "A value that is not valid JSON for this type is dead-lettered.{schema_note}"
                )),
                content_type: Some("application/json"),
                headers: None,
                payload,
                bindings: bindings(key),
            });
        }
        Ok(Message {
            name: "Record".to_owned(),
            title: "Record".to_owned(),
            summary: "A record (the handler decodes no value through `Avro<T>` or `Json<T>`)."
                .to_owned(),
            description: None,
            content_type: None,
            headers: None,
            payload: None,
            bindings: bindings(key),
        })
    }
}

/// The message of every dead-letter channel.
fn dead_letter_message() -> Message {
    let properties: serde_json::Map<String, Value> = dead_letter::HEADERS
        .iter()
        .map(|(name, what)| {
            (
                (*name).to_owned(),
                json!({ "type": "string", "description": what }),
            )
        })
        .collect();
    Message {
        name: "DeadLetter".to_owned(),
        title: "Dead letter".to_owned(),
        summary: "A record that failed for good, with headers saying where from and why."
            .to_owned(),
        description: Some(
            "Key, value and headers as received, plus these headers (values are bytes; \
             `kafka_dlt-*` are Spring Kafka's dead-letter headers with the same encodings, so \
             tools written for those read these)."
                .to_owned(),
        ),
        content_type: None,
        headers: Some(json!({
            "type": "object",
            "properties": properties,
            "additionalProperties": true,
        })),
        payload: None,
        bindings: None,
    }
}

/// Handler details for an operation's description.
fn describe(plan: &HandlerPlan, topic: &str) -> String {
    let o = &plan.options;
    let mut lines = vec![format!(
        "Handler `{}` at {} (`{}`), consumer group `{}`.",
        plan.name, plan.location, plan.module_path, plan.group
    )];
    lines.push(match (o.batch, o.concurrency) {
        (Some(b), _) => format!(
            "Records are handled in batches of up to {} (waiting up to {} ms for a batch to \
             fill), each partition in offset order.",
            b.max_size, b.max_linger_ms
        ),
        (None, 1) => "Each partition is handled one record at a time, in offset order.".to_owned(),
        (None, n) => format!(
            "Up to {n} records of a partition are handled at once; records with the same key \
             strictly in offset order."
        ),
    });
    lines.push(match plan.dead_letter_topic(topic) {
        Some(dlq) => format!("Records that fail for good are dead-lettered to `{dlq}`."),
        None => {
            "Dead letters are off: records that fail for good are logged and skipped.".to_owned()
        }
    });
    lines.push(
        "Offsets are committed only after the handler settled the record (at-least-once)."
            .to_owned(),
    );
    lines.join("\n\n")
}

fn channel_ref(channel: &str) -> Ref {
    Ref {
        to: format!("#/channels/{channel}"),
    }
}

fn message_ref(channel: &str, message: &str) -> Ref {
    Ref {
        to: format!("#/channels/{channel}/messages/{message}"),
    }
}

/// `s` with every character other than ASCII letters, digits, `_` and `-` replaced by `_`
/// (AsyncAPI's identifier characters; they need no escaping in a `$ref`).
pub(super) fn identifier(s: &str) -> String {
    let id: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if id.is_empty() { "_".to_owned() } else { id }
}

/// `id`, or `id-2`, `id-3`, … whichever `map` does not have yet.
fn unique<V>(map: &BTreeMap<String, V>, id: &str) -> String {
    if !map.contains_key(id) {
        return id.to_owned();
    }
    (2..)
        .map(|n| format!("{id}-{n}"))
        .find(|candidate| !map.contains_key(candidate))
        .unwrap_or_else(|| id.to_owned())
}

/// A type's name without its path and generic arguments: `a::b::Event<c::D>` → `Event`;
/// an Avro full name `training.v1.Lecture` → `Lecture`.
pub(super) fn short_name(type_name: &str) -> &str {
    let base = type_name.split('<').next().unwrap_or(type_name);
    base.rsplit([':', '.']).next().unwrap_or(base)
}
