#!/usr/bin/env bash
# Starts Apicurio Registry 3.3 (in-memory storage) on 127.0.0.1:8081 and sets the
# Confluent-compatible API's global compatibility to BACKWARD (Confluent's default).
# Confluent clients use http://127.0.0.1:8081/apis/ccompat/v7.
# Idempotent: does nothing when our registry already runs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

LOGFILE="$INFRA_LOGS/registry.log"
PIDFILE="$INFRA_STATE/registry.pid"
BASE="http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"

if pid_alive "$PIDFILE"; then
  exit 0
fi
ensure_port_free "$REGISTRY_PORT" "schema registry"
[ -f "$APICURIO_DIR/quarkus-run.jar" ] || die "Apicurio Registry is not installed; run infra/up"

# Apicurio Registry 3.3 is compiled for Java 21.
JAVA21=$(java_at_least 21) || die "Apicurio Registry 3.3 needs Java 21+; none found (set JAVA_HOME or install one under /usr/lib/jvm)"

log "starting Apicurio Registry (ccompat API at $BASE)"
start_daemon registry "$LOGFILE" "$JAVA21" -Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
  -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
  -Dquarkus.management.enabled=false -Dquarkus.http.access-log.enabled=false \
  -Dapicurio.rest.deletion.artifact.enabled=true \
  -Dapicurio.rest.deletion.artifact-version.enabled=true \
  -Dapicurio.rest.deletion.group.enabled=true \
  -jar "$APICURIO_DIR/quarkus-run.jar"

deadline=$((SECONDS + 120))
until curl -sf "$BASE/subjects" >/dev/null 2>&1; do
  pid_alive "$PIDFILE" || die "the schema registry exited during start; see $LOGFILE"
  [ "$SECONDS" -lt "$deadline" ] || die "the schema registry did not come up within 120s; see $LOGFILE"
  sleep 0.5
done

curl -sf -X PUT -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
  --data '{"compatibility":"BACKWARD"}' "$BASE/config" >/dev/null \
  || die "could not set the registry's compatibility to BACKWARD; see $LOGFILE"
log "schema registry is up (compatibility BACKWARD)"
