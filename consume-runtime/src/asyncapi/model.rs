//! The parts of an AsyncAPI 3.0 document the export writes, as serde types (fields in the
//! order the specification lists them, so the JSON and YAML read like hand-written ones).
//! Kafka bindings are version 0.5.0 of the Kafka bindings specification.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// The AsyncAPI version written.
pub(super) const ASYNCAPI_VERSION: &str = "3.0.0";
/// The Kafka bindings version written.
pub(super) const KAFKA_BINDING_VERSION: &str = "0.5.0";

/// The root object.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Document {
    pub(super) asyncapi: &'static str,
    pub(super) info: Info,
    pub(super) channels: BTreeMap<String, Channel>,
    pub(super) operations: BTreeMap<String, Operation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) components: Option<Components>,
}

/// The Info Object.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Info {
    pub(super) title: String,
    pub(super) version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) description: Option<String>,
}

/// A Channel Object: one Kafka topic.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Channel {
    pub(super) address: String,
    pub(super) messages: BTreeMap<String, Message>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) description: Option<String>,
    pub(super) bindings: ChannelBindings,
}

/// A channel's bindings.
#[derive(Debug, Clone, Serialize)]
pub(super) struct ChannelBindings {
    pub(super) kafka: KafkaChannel,
}

/// The Kafka channel binding.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct KafkaChannel {
    pub(super) topic: String,
    pub(super) binding_version: &'static str,
}

/// A Message Object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Message {
    pub(super) name: String,
    pub(super) title: String,
    pub(super) summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) content_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) headers: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) payload: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) bindings: Option<MessageBindings>,
}

/// A message's bindings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct MessageBindings {
    pub(super) kafka: KafkaMessage,
}

/// The Kafka message binding.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct KafkaMessage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) key: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) schema_id_location: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) schema_id_payload_encoding: Option<&'static str>,
    pub(super) binding_version: &'static str,
}

/// An Operation Object.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Operation {
    pub(super) action: Action,
    pub(super) channel: Ref,
    pub(super) title: String,
    pub(super) summary: String,
    pub(super) description: String,
    pub(super) bindings: OperationBindings,
    pub(super) messages: Vec<Ref>,
    /// The handler's name, for tools that map operations back to code.
    #[serde(rename = "x-consume-handler")]
    pub(super) handler: String,
}

/// What the application does on the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Action {
    /// It publishes (dead letters).
    Send,
    /// It consumes (a handler).
    Receive,
}

/// A Reference Object.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Ref {
    #[serde(rename = "$ref")]
    pub(super) to: String,
}

/// An operation's bindings.
#[derive(Debug, Clone, Serialize)]
pub(super) struct OperationBindings {
    pub(super) kafka: KafkaOperation,
}

/// The Kafka operation binding.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct KafkaOperation {
    /// A schema: `{"type": "string", "enum": [group]}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) group_id: Option<Value>,
    pub(super) binding_version: &'static str,
}

/// The Components Object (only JSON Schema definitions).
#[derive(Debug, Clone, Serialize)]
pub(super) struct Components {
    pub(super) schemas: BTreeMap<String, Value>,
}
