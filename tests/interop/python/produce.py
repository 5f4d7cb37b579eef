#!/usr/bin/env python3
"""Interop peer: produce <count> LectureProgress records the way a confluent-kafka-python user does.

usage: produce.py --brokers 127.0.0.1:9092 --registry <url> --topic <t> --count <n>
stdout: exactly one line `produced <n> schema_id=<id>`; librdkafka logs and errors go to stderr.
"""

import struct
import sys

from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext, StringSerializer

from common import fail, parser, read_schema

SCRIPT = "produce.py"


def record(i):
    return {
        "event_id": f"py-{i}",
        "learner_id": f"learner-{i % 7}",
        "course_id": f"course-{i % 3}",
        "lecture_id": f"lecture-{i}",
        "watched_seconds": (i * 10) % 3600,
        "occurred_at": 1764000000000 + i * 1000,  # an int is written as-is for timestamp-millis
    }


def main():
    args = parser(SCRIPT).parse_args()
    schema_str = read_schema()
    registry = SchemaRegistryClient({"url": args.registry})
    # auto.register.schemas POSTs /subjects/<topic>-value/versions and writes the id it answers (with
    # Apicurio that is a content id, which every client resolves through /schemas/ids/<id> as usual).
    # subject.name.strategy.type TOPIC: in 2.16 the default is the "associated" strategy, which first
    # GETs /associations/resources/-/<topic>; Apicurio's ccompat API has no such endpoint (404), and the
    # client then falls back to TopicNameStrategy anyway. Naming TOPIC skips that dead call.
    value_serializer = AvroSerializer(
        registry,
        schema_str,
        conf={"auto.register.schemas": True, "subject.name.strategy.type": "TOPIC"},
    )
    key_serializer = StringSerializer("utf_8")

    producer = Producer({"bootstrap.servers": args.brokers, "acks": "all", "linger.ms": 5})
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(f"record with key {msg.key()!r}: {err}")

    schema_id = None
    for i in range(args.count):
        value = record(i)
        ctx = SerializationContext(args.topic, MessageField.VALUE)
        try:
            payload = value_serializer(value, ctx)
        except Exception as e:  # noqa: BLE001 - name where it failed: the first call registers the schema
            raise RuntimeError(
                f"serializing record {i} (subject '{args.topic}-value' at {args.registry}): {type(e).__name__}: {e}"
            ) from e
        if schema_id is None:
            magic, schema_id = struct.unpack(">bI", payload[:5])  # Confluent framing: 0x00 + id (big-endian)
            if magic != 0:
                raise RuntimeError(f"serializer wrote magic byte {magic}, expected 0")
        key = key_serializer(value["learner_id"], SerializationContext(args.topic, MessageField.KEY))
        while True:
            try:
                producer.produce(args.topic, key=key, value=payload, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)  # local queue full: let deliveries drain
        producer.poll(0)

    remaining = producer.flush(30)
    if remaining:
        raise RuntimeError(f"{remaining} of {args.count} records still undelivered after 30 s")
    if errors:
        raise RuntimeError(f"{len(errors)} of {args.count} records failed: {errors[0]}")
    if schema_id is None:  # --count 0: nothing serialized, register explicitly to report the id
        schema_id = registry.register_schema(f"{args.topic}-value", Schema(schema_str, "AVRO"))
    print(f"produced {args.count} schema_id={schema_id}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - a peer reports any failure the same way
        fail(SCRIPT, f"{type(e).__name__}: {e}")
    sys.exit(0)
