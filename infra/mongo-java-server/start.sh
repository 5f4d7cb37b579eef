#!/usr/bin/env bash
# Starts mongo-java-server 1.47 (MongoDB wire protocol, in Java; H2 MVStore backend, one file)
# on 127.0.0.1:27018 through the project's launcher (infra/mongo-java-server/src/...). It reports
# MongoDB 4.4 / wire version 9 (the library's own answer, 8, is refused by current drivers) and
# has its oplog on (change streams). Connect with
#   mongodb://127.0.0.1:27018/?directConnection=true
# MONGO_JAVA_SERVER_BACKEND=memory starts the in-memory backend instead (about twice as fast in
# the store's tests; nothing survives a restart). Idempotent: does nothing when our
# mongo-java-server already runs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

LOGFILE="$INFRA_LOGS/mongo-java-server.log"
PIDFILE="$INFRA_STATE/mongo-java-server.pid"
DATA="$INFRA_STATE/mongo-java-server"

if pid_alive "$PIDFILE"; then
  exit 0
fi
ensure_port_free "$MONGO_JAVA_SERVER_PORT" mongo-java-server
[ -f "$MONGO_JAVA_SERVER_DIR/mongo-java-server-launcher.jar" ] \
  || die "the mongo-java-server launcher is not built; run infra/up"
mkdir -p "$DATA"
case "${MONGO_JAVA_SERVER_BACKEND:-h2}" in
  h2) backend=(--file "$DATA/data.mv.db"); where="H2 in $DATA" ;;
  memory) backend=(--memory); where="in memory" ;;
  *) die "MONGO_JAVA_SERVER_BACKEND must be h2 or memory, not '$MONGO_JAVA_SERVER_BACKEND'" ;;
esac

log "starting mongo-java-server $MONGO_JAVA_SERVER_VERSION on 127.0.0.1:$MONGO_JAVA_SERVER_PORT ($where)"
# The oplog lives in the heap (see the launcher): kept 2 minutes, not the launcher's default 60.
# Under the benchmark's load (tens of thousands of updates a minute) an hour of it filled a 1 GB
# heap and the server spent most of its time in full GCs (61 of them, 107 s, in one run);
# change streams only need the seconds a test watches.
start_daemon mongo-java-server "$LOGFILE" java -Xms256m -Xmx2g -XX:+UseSerialGC -Djava.awt.headless=true \
  -Dorg.slf4j.simpleLogger.showDateTime=true -Dorg.slf4j.simpleLogger.dateTimeFormat="yyyy-MM-dd'T'HH:mm:ss.SSS" \
  -Dorg.slf4j.simpleLogger.log.de.bwaldvogel=warn -Dorg.slf4j.simpleLogger.log.io.netty=warn \
  -cp "$MONGO_JAVA_SERVER_DIR/libs/*:$MONGO_JAVA_SERVER_DIR/mongo-java-server-launcher.jar" \
  local.infra.MongoJavaServerLauncher --listen "127.0.0.1:$MONGO_JAVA_SERVER_PORT" "${backend[@]}" \
  --oplog-retention-minutes 2

deadline=$((SECONDS + 60))
until port_listening "$MONGO_JAVA_SERVER_PORT"; do
  pid_alive "$PIDFILE" || die "mongo-java-server exited during start; see $LOGFILE"
  [ "$SECONDS" -lt "$deadline" ] || die "mongo-java-server did not come up within 60s; see $LOGFILE"
  sleep 0.3
done
log "mongo-java-server is up"
