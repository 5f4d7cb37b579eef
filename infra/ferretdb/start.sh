#!/usr/bin/env bash
# Starts FerretDB 1.24 (MongoDB wire protocol, SQLite backend) on 127.0.0.1:27017 through the
# project's launcher (infra/ferretdb/main.go). Connect with
#   mongodb://127.0.0.1:27017/?directConnection=true
# Idempotent: does nothing when our FerretDB already runs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

LOGFILE="$INFRA_LOGS/ferretdb.log"
PIDFILE="$INFRA_STATE/ferretdb.pid"
DATA="$INFRA_STATE/ferretdb/data"

if pid_alive "$PIDFILE"; then
  exit 0
fi
ensure_port_free "$FERRETDB_PORT" ferretdb
[ -x "$INFRA_BIN/ferretdb" ] || die "the FerretDB launcher is not built; run infra/up"
mkdir -p "$DATA"

log "starting FerretDB on 127.0.0.1:$FERRETDB_PORT (SQLite in $DATA)"
start_daemon ferretdb "$LOGFILE" "$INFRA_BIN/ferretdb" -listen "127.0.0.1:$FERRETDB_PORT" -dir "$DATA"

deadline=$((SECONDS + 60))
until port_listening "$FERRETDB_PORT"; do
  pid_alive "$PIDFILE" || die "FerretDB exited during start; see $LOGFILE"
  [ "$SECONDS" -lt "$deadline" ] || die "FerretDB did not come up within 60s; see $LOGFILE"
  sleep 0.3
done
log "FerretDB is up"
