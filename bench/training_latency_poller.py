#!/usr/bin/env python3
"""Publish -> visible, seen from outside: polls one learner's totals in the training service's
API the way a dashboard would, and records when the total changed.

    training_latency_poller.py BASE_URL PROBE_LOG OUT_JSON

`simulate --probe-every-ms N --probe-log PROBE_LOG` sends, every N ms, one lecture event of
1 s for a learner of its own, and writes that learner's id to PROBE_LOG when it starts (and
every probe's send time when it ends). This script waits for the id, then polls
`GET /v1/learners/{id}/training` every POLL_MS (5 ms) with `If-None-Match` (a 304 costs the service
one cheap change check), and on SIGTERM writes `{"changes": [[wall_ms, total_seconds], ...],
"polls": n, "not_modified": m}` to OUT_JSON. Probe k became visible at the first change whose
total is >= k (bench/training-latency joins the two files).

The token is an HS256 JWT for the probe learner, signed with TRAINING_JWT_SECRET for
TRAINING_JWT_AUDIENCE / TRAINING_JWT_ISSUER (from the environment, as the service reads them).
Standard library only.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import signal
import sys
import time
import urllib.parse

POLL_MS = float(os.environ.get("POLL_MS", "5"))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(sub: str, role: str = "learner") -> str:
    now = int(time.time())
    claims = {
        "sub": sub,
        "role": role,
        "aud": os.environ["TRAINING_JWT_AUDIENCE"],
        "iss": os.environ["TRAINING_JWT_ISSUER"],
        "iat": now,
        "exp": now + 1800,
    }
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(os.environ["TRAINING_JWT_SECRET"].encode(), f"{head}.{body}".encode(), hashlib.sha256)
    return f"{head}.{body}.{b64(sig.digest())}"


def main() -> None:
    base, probe_log, out = sys.argv[1], sys.argv[2], sys.argv[3]
    stop = False

    def on_term(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    learner = None
    while learner is None and not stop:
        try:
            with open(probe_log) as f:
                learner = json.load(f)["learner"]
        except (OSError, ValueError, KeyError):
            time.sleep(0.01)
    changes, polls, not_modified = [], 0, 0
    if learner is not None:
        url = urllib.parse.urlsplit(base)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
        path = f"/v1/learners/{urllib.parse.quote(learner)}/training"
        headers = {"Authorization": f"Bearer {token(learner)}"}
        etag, total = None, None
        while not stop:
            if etag:
                headers["If-None-Match"] = etag
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                time.sleep(0.05)
                continue
            seen = int(time.time() * 1000)
            polls += 1
            if resp.status == 304:
                not_modified += 1
            elif resp.status == 200:
                etag = resp.getheader("ETag")
                now = json.loads(body)["total_seconds"]
                if now != total:
                    total = now
                    changes.append([seen, now])
            else:
                sys.exit(f"training_latency_poller: GET {path} answered {resp.status}: {body[:200]!r}")
            time.sleep(POLL_MS / 1000)
    with open(out, "w") as f:
        json.dump({"learner": learner, "changes": changes, "polls": polls, "not_modified": not_modified}, f)


if __name__ == "__main__":
    main()
