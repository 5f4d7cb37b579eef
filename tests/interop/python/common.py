"""Shared helpers for produce.py / consume.py: CLI parsing, the schema file, errors to stderr."""

import argparse
import os
import sys

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lecture_progress.avsc")


def non_negative_int(text):
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got '{text}'")
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got '{text}'")
    return n


def parser(script, consumer=False):
    p = argparse.ArgumentParser(prog=script, allow_abbrev=False)
    p.add_argument("--brokers", required=True)
    p.add_argument("--registry", required=True, help="Confluent-compatible schema registry base URL")
    p.add_argument("--topic", required=True)
    p.add_argument("--count", required=True, type=non_negative_int)
    if consumer:
        p.add_argument("--group")
        p.add_argument("--timeout-ms", type=non_negative_int, default=60000)
    return p


def read_schema():
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        return f.read().strip()


def fail(script, message):
    print(f"{script}: error: {message}", file=sys.stderr, flush=True)
    sys.exit(1)
