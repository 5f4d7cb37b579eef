#!/usr/bin/env python3
"""Lint of the Grafana dashboard (standard library only, no network).

  lint.py DASHBOARD.json [REPO_ROOT]

- the JSON parses; uid, title, schemaVersion; panel ids unique; every panel on the grid;
- a `datasource` template variable of type `datasource` (Prometheus), and every panel and
  query uses it (`${datasource}`), so the dashboard imports into any Grafana;
- every PromQL expression names only metrics of METRICS (histograms: `_bucket`, `_sum`,
  `_count`; quantiles only over `_bucket`, inside `rate`), only PromQL functions, and has
  balanced brackets;
- with REPO_ROOT: every metric of METRICS is still defined in the Rust sources (a renamed
  metric fails here instead of leaving an empty panel).

Exit 1 with one `FAIL` line per problem.
"""

import json
import re
import sys
from pathlib import Path

# name -> (type, source file that defines it)
METRICS = {
    "consume_messages_handled_total": ("counter", "consume-runtime/src/metrics.rs"),
    "consume_messages_failed_total": ("counter", "consume-runtime/src/metrics.rs"),
    "consume_retries_total": ("counter", "consume-runtime/src/metrics.rs"),
    "consume_handler_panics_total": ("counter", "consume-runtime/src/metrics.rs"),
    "consume_rebalances_total": ("counter", "consume-runtime/src/metrics.rs"),
    "consume_dead_letters_total": ("counter", "consume-runtime/src/metrics.rs"),
    "consume_commit_failures_total": ("counter", "consume-runtime/src/metrics.rs"),
    "consume_worker_restarts_total": ("counter", "consume-runtime/src/metrics.rs"),
    "consume_fetch_errors_total": ("counter", "consume-runtime/src/metrics.rs"),
    "consume_partition_stalls_total": ("counter", "consume-runtime/src/metrics.rs"),
    "consume_assigned_partitions": ("gauge", "consume-runtime/src/metrics.rs"),
    "consume_poll_timestamp_seconds": ("gauge", "consume-runtime/src/metrics.rs"),
    "consume_partition_lag_messages": ("gauge", "consume-runtime/src/metrics.rs"),
    "consume_partition_lag_seconds": ("gauge", "consume-runtime/src/metrics.rs"),
    "consume_partition_stalled": ("gauge", "consume-runtime/src/metrics.rs"),
    "consume_handler_duration_seconds": ("histogram", "consume-runtime/src/metrics.rs"),
    "training_events_applied_total": ("counter", "training-service/src/metrics.rs"),
    "training_events_duplicate_total": ("counter", "training-service/src/metrics.rs"),
    "training_event_visible_latency_seconds": ("histogram", "training-service/src/metrics.rs"),
    "training_store_commands_total": ("counter", "training-service/src/metrics.rs"),
}

FUNCTIONS = set(
    """abs absent absent_over_time avg avg_over_time bottomk ceil changes clamp clamp_max clamp_min
    count count_over_time count_values day_of_month day_of_week day_of_year days_in_month delta
    deriv exp floor group histogram_avg histogram_count histogram_fraction histogram_quantile
    histogram_stddev histogram_stdvar histogram_sum holt_winters hour idelta increase irate
    label_join label_replace last_over_time ln log10 log2 max max_over_time min min_over_time
    minute month predict_linear present_over_time quantile quantile_over_time rate resets round
    scalar sgn sort sort_desc sqrt stddev stddev_over_time stdvar stdvar_over_time sum
    sum_over_time time timestamp topk vector year""".split()
)
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
            "bool", "offset", "inf", "nan"}
PANEL_TYPES = {"row", "timeseries", "stat", "gauge", "table", "heatmap", "bargauge", "text"}

failures: list[str] = []


def fail(where: str, what: str) -> None:
    failures.append(f"FAIL {where}: {what}")


def metric_names(expr: str) -> tuple[list[str], list[str]]:
    """(metric names, function names) of a PromQL expression."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)          # string literals
    e = re.sub(r"\{[^{}]*\}", "", e)                         # label matchers
    e = re.sub(r"\[[^\[\]]*\]", "", e)                       # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", e)
    e = re.sub(r"\$\{?\w+\}?", "", e)                        # Grafana variables
    funcs, metrics = [], []
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        word = m.group(0)
        rest = e[m.end():].lstrip()
        if word.lower() in KEYWORDS:
            continue
        (funcs if rest.startswith("(") else metrics).append(word)
    return metrics, funcs


def allowed(metric: str) -> bool:
    if metric in METRICS:
        return METRICS[metric][0] != "histogram"  # a histogram is read through its series
    for suffix in ("_bucket", "_sum", "_count"):
        base = metric[: -len(suffix)] if metric.endswith(suffix) else None
        if base and METRICS.get(base, ("",))[0] == "histogram":
            return True
    return False


def balanced(expr: str) -> bool:
    pairs, stack = {")": "(", "]": "[", "}": "{"}, []
    for ch in re.sub(r'"(?:[^"\\]|\\.)*"', "", expr):
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack.pop() != pairs[ch]:
                return False
    return not stack


def uses_datasource_var(ds) -> bool:
    return isinstance(ds, dict) and ds.get("uid") in ("${datasource}", "$datasource")


def check_expr(where: str, expr: str) -> None:
    if not expr.strip():
        fail(where, "empty expression")
        return
    if not balanced(expr):
        fail(where, f"unbalanced brackets in {expr}")
    metrics, funcs = metric_names(expr)
    if not metrics and "time()" not in expr:
        fail(where, f"names no metric: {expr}")
    for m in metrics:
        if not allowed(m):
            fail(where, f"metric `{m}` is not in the list of exported metrics (or is a histogram read without _bucket/_sum/_count)")
    for f in funcs:
        if f not in FUNCTIONS:
            fail(where, f"`{f}` is not a PromQL function")
    if "histogram_quantile" in expr:
        if not re.search(r"histogram_quantile\(\s*0?\.\d+\s*,\s*sum by \([^)]*\ble\b[^)]*\) \(rate\(\w+_bucket", expr):
            fail(where, "histogram_quantile must be over `sum by (le, …) (rate(<histogram>_bucket[…]))`")
    for m in metrics:
        if m.endswith("_total") and not re.search(rf"(rate|increase|irate)\(\s*{m}\b", expr):
            fail(where, f"counter `{m}` used without rate()/increase()")


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    path = argv[0]
    try:
        dash = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        print(f"FAIL {path}: does not parse: {e}", file=sys.stderr)
        return 1
    for key in ("uid", "title", "schemaVersion", "panels", "templating"):
        if key not in dash:
            fail(path, f"no `{key}`")
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        fail(path, "no `datasource` template variable of type datasource for prometheus")
    for name, v in variables.items():
        if v.get("type") == "query":
            if not uses_datasource_var(v.get("datasource")):
                fail(path, f"variable {name} does not query ${{datasource}}")
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            inner = re.fullmatch(r"label_values\((.*),\s*\w+\)", q or "")
            if not inner:
                fail(path, f"variable {name}: expected label_values(<metric…>, <label>), got {q}")
            else:
                check_expr(f"{path} variable {name}", inner.group(1))

    panels = []
    for p in dash.get("panels", []):
        panels.append(p)
        panels.extend(p.get("panels", []))
    ids = [p.get("id") for p in panels]
    if len(ids) != len(set(ids)) or None in ids:
        fail(path, f"panel ids missing or not unique: {ids}")
    queries = 0
    for p in panels:
        where = f"{path} panel {p.get('id')} “{p.get('title')}”"
        if p.get("type") not in PANEL_TYPES:
            fail(where, f"unknown panel type {p.get('type')}")
        if not p.get("title"):
            fail(where, "no title")
        g = p.get("gridPos", {})
        if not all(isinstance(g.get(k), int) for k in "hwxy") or g["x"] + g["w"] > 24:
            fail(where, f"bad gridPos {g}")
        if p.get("type") == "row":
            continue
        if not uses_datasource_var(p.get("datasource")):
            fail(where, "does not use the ${datasource} variable")
        targets = p.get("targets", [])
        if not targets:
            fail(where, "no queries")
        for t in targets:
            if "datasource" in t and not uses_datasource_var(t["datasource"]):
                fail(where, f"query {t.get('refId')} does not use ${{datasource}}")
            check_expr(f"{where} query {t.get('refId')}", t.get("expr", ""))
            queries += 1

    if len(argv) > 1:
        root = Path(argv[1])
        for name, (_, source) in METRICS.items():
            try:
                text = (root / source).read_text(encoding="utf-8")
            except OSError as e:
                fail(str(root / source), f"cannot read: {e}")
                continue
            if f'"{name}"' not in text:
                fail(path, f"metric `{name}` is no longer defined in {source}: update the dashboard and this list")

    for f in failures:
        print(f, file=sys.stderr)
    if failures:
        return 1
    print(f"{path}: {len(panels)} panels, {queries} queries, metrics all exported")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
