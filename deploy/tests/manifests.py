#!/usr/bin/env python3
"""Offline checks of the chart's rendered manifests (run by deploy/check, inside its venv).

  manifests.py split RENDERED CORE_OUT          built-in kinds -> CORE_OUT (for kubernetes-validate);
                                                 prints the custom resources' kinds
  manifests.py crds RENDERED KEDA_DIR CRD.yaml…  custom resources against their CRDs' OpenAPI
                                                 schemas (unknown fields are errors), and KEDA
                                                 `kafka` triggers against the scaler's own
                                                 parameter list in KEDA_DIR (the Go module)
  manifests.py assert RENDERED --partitions N    what the chart promises (probes, secrets only by
                                                 reference, static membership, shutdown budget,
                                                 KEDA wiring, selectors)

Every failure is printed as `FAIL <file>: <what>` and the exit status is 1.
"""

import copy
import re
import sys
from pathlib import Path

import jsonschema
import yaml

CUSTOM_GROUPS = ("keda.sh/", "monitoring.coreos.com/")
SECRET_ENV = re.compile(r"(PASSWORD|SECRET|TOKEN|_PEM|JAAS|MONGODB_URI|CREDENTIAL|PRIVATE|_KEY$|_KEY_)")

failures: list[str] = []


def fail(where: str, what: str) -> None:
    failures.append(f"FAIL {where}: {what}")


def load(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def is_custom(doc: dict) -> bool:
    return str(doc.get("apiVersion", "")).startswith(CUSTOM_GROUPS)


def name_of(doc: dict) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


# ---------------------------------------------------------------------------------------------
# split


def cmd_split(rendered: str, core_out: str) -> None:
    docs = load(rendered)
    core = [d for d in docs if not is_custom(d)]
    with open(core_out, "w", encoding="utf-8") as f:
        yaml.safe_dump_all(core, f, sort_keys=False)
    custom = sorted(d["kind"] for d in docs if is_custom(d))
    print(" ".join(custom))


# ---------------------------------------------------------------------------------------------
# crds


def strict(schema: dict) -> dict:
    """The CRD's structural schema as a draft-4 JSON schema in which unknown fields are errors
    (the API server would prune them silently: a typo would vanish, not fail)."""
    s = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if node.get("nullable") and "type" in node:
                node["type"] = [node["type"], "null"]
            if (
                node.get("type") == "object"
                and "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(s)
    # metadata is validated by the API server itself; the CRD says only `type: object`.
    return s


def crd_index(paths: list[str]) -> dict:
    index = {}
    for p in paths:
        for crd in load(p):
            spec = crd["spec"]
            for v in spec["versions"]:
                if not v.get("served", True):
                    continue
                key = (f"{spec['group']}/{v['name']}", spec["names"]["kind"])
                index[key] = strict(v["schema"]["openAPIV3Schema"])
    return index


TAG = re.compile(r'keda:"([^"]+)"')


def kafka_scaler_params(keda_dir: str) -> dict:
    """The `kafka` trigger's parameters, from the struct tags of KEDA's own scaler."""
    src = Path(keda_dir, "pkg/scalers/kafka_scaler.go").read_text(encoding="utf-8")
    params = {}
    for tag in TAG.findall(src):
        fields = dict(
            (kv.split("=", 1) + [""])[:2] for kv in tag.split(",")
        )
        name = fields["name"]
        orders = fields.get("order", "").split(";")
        params[name] = {
            "metadata": "triggerMetadata" in orders,
            "authParams": "authParams" in orders,
            "optional": "optional" in fields or "default" in fields,
            "enum": fields["enum"].split(";") if fields.get("enum") else None,
        }
    if "bootstrapServers" not in params or "lagThreshold" not in params:
        raise SystemExit(f"cannot read the kafka scaler's parameters from {keda_dir}")
    return params


def check_kafka_trigger(where: str, trig: dict, params: dict, auth: dict | None) -> None:
    meta = trig.get("metadata", {})
    supplied = set(meta)
    auth_params = set()
    if auth:
        auth_params = {t["parameter"] for t in auth["spec"].get("secretTargetRef", [])}
    for key, value in meta.items():
        p = params.get(key)
        if p is None or not p["metadata"]:
            fail(where, f"kafka trigger metadata `{key}` is not a parameter of KEDA's kafka scaler")
            continue
        if p["enum"] and value not in p["enum"]:
            fail(where, f"kafka trigger `{key}: {value}` is not one of {p['enum']}")
    for key in auth_params:
        p = params.get(key)
        if p is None or not p["authParams"]:
            fail(where, f"TriggerAuthentication parameter `{key}` is not an auth parameter of the kafka scaler")
    for key, p in params.items():
        if not p["optional"] and key not in supplied and key not in auth_params:
            fail(where, f"kafka trigger lacks the required parameter `{key}`")
    for key in ("lagThreshold", "activationLagThreshold"):
        if key in meta and not re.fullmatch(r"[0-9]+", str(meta[key])):
            fail(where, f"kafka trigger `{key}: {meta[key]}` is not a whole number")
    sasl = meta.get("sasl", "none")
    if sasl == "oauthbearer" and meta.get("saslTokenProvider") == "aws_msk_iam":
        # The scaler's own rules (parseOAuthParams): TLS and a region, plus an AWS identity.
        if meta.get("tls") != "enable":
            fail(where, "MSK IAM needs `tls: enable`")
        if not meta.get("awsRegion"):
            fail(where, "MSK IAM needs `awsRegion`")
        provider = ((auth or {}).get("spec", {}).get("podIdentity") or {}).get("provider")
        if provider != "aws":
            fail(where, f"MSK IAM needs a TriggerAuthentication with podIdentity.provider aws (got {provider})")
    if sasl.startswith("scram") and not {"username", "password"} <= auth_params:
        fail(where, "SASL/SCRAM needs username and password from the TriggerAuthentication")


def cmd_crds(rendered: str, keda_dir: str, crd_paths: list[str]) -> None:
    index = crd_index(crd_paths)
    params = kafka_scaler_params(keda_dir)
    docs = load(rendered)
    auths = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "TriggerAuthentication"}
    checked = 0
    for doc in docs:
        if not is_custom(doc):
            continue
        where = f"{rendered} {name_of(doc)}"
        schema = index.get((doc["apiVersion"], doc["kind"]))
        if schema is None:
            fail(where, f"no CRD given for {doc['apiVersion']} {doc['kind']}")
            continue
        validator = jsonschema.Draft4Validator(schema)
        for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
            path = ".".join(str(p) for p in err.absolute_path) or "(root)"
            fail(where, f"{path}: {err.message}")
        checked += 1
        if doc["kind"] == "ScaledObject":
            for trig in doc["spec"].get("triggers", []):
                if trig.get("type") != "kafka":
                    continue
                ref = (trig.get("authenticationRef") or {}).get("name")
                auth = auths.get(ref) if ref else None
                if ref and auth is None:
                    fail(where, f"authenticationRef {ref} names no rendered TriggerAuthentication")
                check_kafka_trigger(f"{where} trigger {trig.get('name')}", trig, params, auth)
    print(f"{checked} custom resource(s) valid against their CRDs")


# ---------------------------------------------------------------------------------------------
# assert


def env_map(container: dict) -> tuple[list[str], dict]:
    names = [e["name"] for e in container.get("env", [])]
    return names, {e["name"]: e for e in container.get("env", [])}


def cmd_assert(rendered: str, partitions: int) -> None:
    docs = load(rendered)
    where = rendered
    kinds = [d["kind"] for d in docs]
    if "Secret" in kinds:
        fail(where, "the chart rendered a Secret: secrets must be referenced, never rendered")
    workloads = [d for d in docs if d["kind"] in ("StatefulSet", "Deployment")]
    if len(workloads) != 1:
        fail(where, f"expected one workload, got {[name_of(w) for w in workloads]}")
        return
    wl = workloads[0]
    spec = wl["spec"]
    pod = spec["template"]["spec"]
    pod_labels = spec["template"]["metadata"]["labels"]
    if spec["selector"]["matchLabels"].items() - pod_labels.items():
        fail(where, "the workload's selector does not match its pod labels")
    containers = pod["containers"]
    c = next((c for c in containers if c["name"] == "training-service"), None)
    if c is None:
        fail(where, "no container named training-service")
        return
    if c.get("args") != ["serve"]:
        fail(where, f"container args {c.get('args')} are not [serve]")
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    names, env = env_map(c)
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        fail(where, f"environment variables set twice: {sorted(dupes)}")

    def value(n):
        return env.get(n, {}).get("value")

    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz"), ("startupProbe", "/healthz")):
        get = (c.get(probe) or {}).get("httpGet")
        if not get:
            fail(where, f"{probe} missing or not an HTTP GET")
            continue
        if get.get("path") != path or get.get("port") != "admin":
            fail(where, f"{probe} is {get.get('path')} on {get.get('port')}, expected {path} on the admin port")
    admin_addr = value("TRAINING_ADMIN_ADDR") or ""
    if not admin_addr.endswith(f":{ports.get('admin')}"):
        fail(where, f"TRAINING_ADMIN_ADDR {admin_addr} is not the admin port {ports.get('admin')}")
    http_addr = value("TRAINING_HTTP_ADDR") or ""
    if not http_addr.endswith(f":{ports.get('http')}"):
        fail(where, f"TRAINING_HTTP_ADDR {http_addr} is not the http port {ports.get('http')}")

    # Secrets: by reference only.
    for n, e in env.items():
        if SECRET_ENV.search(n) and "value" in e:
            fail(where, f"{n} has a literal value: secrets must come from secretKeyRef or envFrom")
    required_refs = ["TRAINING_JWT_SECRET"]
    if value("TRAINING_STORE") == "mongodb":
        required_refs.append("MONGODB_URI")
    if value("KAFKA_SASL_MECHANISM") == "AWS_MSK_IAM":
        for n in ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"):
            if n in env:
                fail(where, f"{n} is set with AWS_MSK_IAM (the pod's IAM role signs)")
        if value("KAFKA_SECURITY_PROTOCOL") != "sasl_ssl":
            fail(where, "AWS_MSK_IAM without sasl_ssl")
    elif value("KAFKA_SASL_MECHANISM"):
        required_refs.append("KAFKA_SASL_PASSWORD")
    if value("SCHEMA_REGISTRY_USERNAME"):
        required_refs.append("SCHEMA_REGISTRY_PASSWORD")
    for n in required_refs:
        if not (env.get(n, {}).get("valueFrom") or {}).get("secretKeyRef"):
            fail(where, f"{n} is not set from a secretKeyRef")
    for n in ("KAFKA_BROKERS", "SCHEMA_REGISTRY_URL", "TRAINING_JWT_AUDIENCE", "TRAINING_JWT_ISSUER"):
        if not value(n):
            fail(where, f"{n} is not set")

    # Static membership: the pod's name, from the downward API, declared before its use.
    instance = env.get("CONSUME_GROUP_INSTANCE_ID")
    if instance is not None:
        if instance.get("value") != "$(POD_NAME)":
            fail(where, f"CONSUME_GROUP_INSTANCE_ID is {instance}, expected $(POD_NAME)")
        pod_name = env.get("POD_NAME", {})
        if (pod_name.get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath") != "metadata.name":
            fail(where, "POD_NAME is not the downward API's metadata.name")
        elif names.index("POD_NAME") > names.index("CONSUME_GROUP_INSTANCE_ID"):
            fail(where, "POD_NAME must come before CONSUME_GROUP_INSTANCE_ID for $(POD_NAME) to expand")
        if wl["kind"] != "StatefulSet":
            fail(where, "static membership on a Deployment: pod names change on every rollout")
        if not value("CONSUME_RDKAFKA_SESSION_TIMEOUT_MS"):
            fail(where, "static membership without an explicit session timeout")

    # Shutdown budget: the kubelet must not kill the pod before offsets are committed.
    grace = pod.get("terminationGracePeriodSeconds", 30)
    shutdown_s = -(-int(value("CONSUME_SHUTDOWN_TIMEOUT_MS") or 20000) // 1000)
    pre_stop = ((c.get("lifecycle") or {}).get("preStop") or {}).get("sleep", {}).get("seconds", 0)
    if grace <= pre_stop + shutdown_s + 10:
        fail(where, f"terminationGracePeriodSeconds {grace} <= preStop {pre_stop} + shutdown {shutdown_s} + 10 s close")

    # Not root.
    psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
    if not psc.get("runAsNonRoot") or psc.get("runAsUser", 0) == 0:
        fail(where, "the pod may run as root")
    if csc.get("allowPrivilegeEscalation") is not False or not csc.get("readOnlyRootFilesystem"):
        fail(where, "the container allows privilege escalation or a writable root filesystem")

    # Services, PDB: they select these pods.
    for d in docs:
        sel = None
        if d["kind"] == "Service":
            sel = d["spec"].get("selector", {})
            for p in d["spec"]["ports"]:
                if isinstance(p.get("targetPort"), str) and p["targetPort"] not in ports:
                    fail(where, f"{name_of(d)} targets port {p['targetPort']}, which the container does not name")
        elif d["kind"] == "PodDisruptionBudget":
            sel = d["spec"]["selector"]["matchLabels"]
        if sel is not None and sel.items() - pod_labels.items():
            fail(where, f"{name_of(d)} does not select the workload's pods")
    if wl["kind"] == "StatefulSet":
        headless = [d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == spec.get("serviceName")]
        if not headless or headless[0]["spec"].get("clusterIP") != "None":
            fail(where, f"the StatefulSet's serviceName {spec.get('serviceName')} is not a rendered headless Service")

    sa = [d for d in docs if d["kind"] == "ServiceAccount"]
    for s in sa:
        arn = (s["metadata"].get("annotations") or {}).get("eks.amazonaws.com/role-arn")
        if arn is not None and not re.fullmatch(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/.+", arn):
            fail(where, f"IRSA annotation {arn} is not an IAM role ARN")
        if s["metadata"]["name"] != pod.get("serviceAccountName"):
            fail(where, f"the pods use ServiceAccount {pod.get('serviceAccountName')}, the chart made {s['metadata']['name']}")

    # KEDA: owns the replica count, targets this workload, one trigger per consumer group.
    scaled = [d for d in docs if d["kind"] == "ScaledObject"]
    if scaled:
        so = scaled[0]["spec"]
        if "replicas" in spec:
            fail(where, "KEDA is on but the workload sets replicas (the HPA and helm would fight)")
        ref = so["scaleTargetRef"]
        if (ref.get("kind"), ref.get("name")) != (wl["kind"], wl["metadata"]["name"]):
            fail(where, f"ScaledObject targets {ref}, not {name_of(wl)}")
        if so["maxReplicaCount"] > partitions:
            fail(where, f"maxReplicaCount {so['maxReplicaCount']} exceeds the partition count {partitions}")
        if so.get("minReplicaCount", 0) > so["maxReplicaCount"]:
            fail(where, "minReplicaCount exceeds maxReplicaCount")
        group = value("TRAINING_GROUP")
        expected = {
            (f"{group}.lecture-progress", value("TRAINING_LECTURE_TOPIC")),
            (f"{group}.attendance", value("TRAINING_ATTENDANCE_TOPIC")),
            (f"{group}.quiz-submitted", value("TRAINING_QUIZ_TOPIC")),
        }
        got = {(t["metadata"].get("consumerGroup"), t["metadata"].get("topic")) for t in so["triggers"] if t["type"] == "kafka"}
        if got != expected:
            fail(where, f"kafka triggers watch {sorted(got)}, the pods consume {sorted(expected)}")
        for t in so["triggers"]:
            if t["metadata"].get("allowIdleConsumers") != "false":
                fail(where, f"trigger {t.get('name')}: allowIdleConsumers must be \"false\"")
    elif "replicas" not in spec:
        fail(where, "no KEDA and no replicas")
    print(f"{rendered}: {len(docs)} objects, promises hold" if not failures else "")


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "split":
        cmd_split(argv[1], argv[2])
    elif len(argv) >= 4 and argv[0] == "crds":
        cmd_crds(argv[1], argv[2], argv[3:])
    elif len(argv) == 4 and argv[0] == "assert" and argv[2] == "--partitions":
        cmd_assert(argv[1], int(argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for f in failures:
        print(f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
