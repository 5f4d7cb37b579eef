#!/usr/bin/env python3
"""Interop peer: consume <count> records from the beginning with a fresh group, as a confluent-kafka-python user does.

usage: consume.py --brokers 127.0.0.1:9092 --registry <url> --topic <t> --count <n> [--group <g>] [--timeout-ms 60000]
stdout: one JSON line per decoded record (fields as decoded, occurred_at as integer epoch milliseconds),
nothing else; exit 1 if <n> records did not arrive within the timeout.
"""

import datetime
import json
import os
import sys
import time

from confluent_kafka import Consumer, KafkaError
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from common import fail, parser, read_schema

SCRIPT = "consume.py"
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def plain(value):
    """fastavro turns timestamp-millis into an aware datetime: give back the integer milliseconds."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return (value - EPOCH) // datetime.timedelta(milliseconds=1)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def main():
    args = parser(SCRIPT, consumer=True).parse_args()
    read_schema()  # the writer schema comes from the registry by id; this only checks the shared file is there
    registry = SchemaRegistryClient({"url": args.registry})
    # No reader schema: decode with the writer schema fetched by the id in the Confluent framing
    # (GET /schemas/ids/<id>?subject=<topic>-value, which Apicurio's ccompat API serves).
    # subject.name.strategy.type TOPIC: the default "associated" strategy would first GET
    # /associations/resources/-/<topic>, which Apicurio lacks (404, then TopicNameStrategy anyway).
    deserializer = AvroDeserializer(registry, conf={"subject.name.strategy.type": "TOPIC"})
    group = args.group or f"interop-py-{args.topic}-{int(time.time() * 1000)}-{os.getpid()}"
    consumer = Consumer(
        {
            "bootstrap.servers": args.brokers,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    received = 0
    deadline = time.monotonic() + args.timeout_ms / 1000
    try:
        consumer.subscribe([args.topic])
        while received < args.count:
            left = deadline - time.monotonic()
            if left <= 0:
                fail(SCRIPT, f"received {received} of {args.count} records from '{args.topic}' within {args.timeout_ms} ms")
            msg = consumer.poll(min(left, 1.0))
            if msg is None:
                continue
            if msg.error():
                if msg.error().retriable() or msg.error().code() in (
                    KafkaError._PARTITION_EOF,
                    KafkaError.UNKNOWN_TOPIC_OR_PART,
                ):
                    print(f"{SCRIPT}: waiting: {msg.error()}", file=sys.stderr, flush=True)
                    continue
                fail(SCRIPT, f"consumer error: {msg.error()}")
            try:
                decoded = deserializer(msg.value(), SerializationContext(msg.topic(), MessageField.VALUE))
            except Exception as e:  # noqa: BLE001
                fail(SCRIPT, f"decoding partition {msg.partition()} offset {msg.offset()}: {type(e).__name__}: {e}")
            received += 1
            # Compact separators and raw UTF-8 so lines match the Node peer's JSON.stringify byte for byte.
            sys.stdout.write(json.dumps(plain(decoded), separators=(",", ":"), ensure_ascii=False) + "\n")
            sys.stdout.flush()
    finally:
        consumer.close()


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001
        fail(SCRIPT, f"{type(e).__name__}: {e}")
    sys.exit(0)
