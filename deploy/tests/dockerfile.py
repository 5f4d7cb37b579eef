#!/usr/bin/env python3
"""The Dockerfile's shape, without Docker (standard library only).

  dockerfile.py deploy/Dockerfile deploy/helm/training-service/values.yaml

Multi-stage (a Rust build stage, a separate runtime stage); the final stage runs as a
numeric non-root USER equal to the chart's podSecurityContext.runAsUser, EXPOSEs the chart's
http and admin ports, has ENTRYPOINT training-service and `serve` as its command, and never
copies a secret-looking file or sets a secret-looking variable.
"""

import json
import re
import sys
from pathlib import Path


def instructions(text: str) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def chart_value(values: str, path: list[str]) -> str | None:
    """A scalar from values.yaml by indentation (no YAML library needed for these keys)."""
    depth, want = 0, path[0]
    for line in values.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        key, _, value = line.strip().partition(":")
        if indent == depth * 2 and key == want:
            if depth == len(path) - 1:
                return value.strip()
            depth += 1
            want = path[depth]
        elif indent < depth * 2:
            return None
    return None


def main(argv: list[str]) -> int:
    dockerfile, values_path = argv
    ins = instructions(Path(dockerfile).read_text(encoding="utf-8"))
    values = Path(values_path).read_text(encoding="utf-8")
    problems = []
    froms = [i for i, (w, _) in enumerate(ins) if w == "FROM"]
    if len(froms) < 2:
        problems.append("not multi-stage (needs a build stage and a runtime stage)")
    if froms and "rust:" not in ins[froms[0]][1]:
        problems.append("the first stage is not a rust image")
    final = ins[froms[-1]:] if froms else ins
    if froms and not re.search(r"COPY\s+--from=", " ".join(f"{w} {r}" for w, r in final)):
        problems.append("the runtime stage does not COPY --from the build stage")
    users = [r for w, r in final if w == "USER"]
    uid = chart_value(values, ["podSecurityContext", "runAsUser"])
    if not users:
        problems.append("no USER in the runtime stage")
    else:
        m = re.fullmatch(r"(\d+)(?::(\d+))?", users[-1])
        if not m or m.group(1) == "0":
            problems.append(f"USER {users[-1]} is not a numeric non-root uid")
        elif uid and m.group(1) != uid:
            problems.append(f"USER {m.group(1)} differs from the chart's runAsUser {uid}")
    exposed = {p.split("/")[0] for w, r in final if w == "EXPOSE" for p in r.split()}
    for port in ("http", "admin"):
        v = chart_value(values, ["ports", port])
        if v not in exposed:
            problems.append(f"the chart's {port} port {v} is not EXPOSEd (EXPOSE {sorted(exposed)})")
    entry = [r for w, r in final if w == "ENTRYPOINT"]
    cmd = [r for w, r in final if w == "CMD"]
    try:
        entry_v = json.loads(entry[-1]) if entry else []
        cmd_v = json.loads(cmd[-1]) if cmd else []
    except json.JSONDecodeError:
        problems.append("ENTRYPOINT/CMD are not in exec (JSON) form: signals would go to a shell")
        entry_v, cmd_v = [], []
    if not entry_v or not entry_v[0].endswith("/training-service"):
        problems.append(f"ENTRYPOINT {entry_v} is not training-service")
    if "serve" not in entry_v[1:] + cmd_v:
        problems.append("neither ENTRYPOINT nor CMD runs `serve`")
    for w, r in ins:
        if w in ("ENV", "ARG") and re.search(r"(PASSWORD|SECRET|TOKEN|MONGODB_URI)\s*=", r, re.I):
            problems.append(f"{w} {r}: a secret in the image")
        if w in ("COPY", "ADD") and re.search(r"\.(pem|key|env)\b|credentials", r):
            problems.append(f"{w} {r}: copies secret-looking files into the image")
    for p in problems:
        print(f"FAIL {dockerfile}: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
