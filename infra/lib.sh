# Shared helpers for the infra/ scripts. Sourced, never run.
# Every path is absolute; state and logs live under $INFRA_STATE (git-ignored).

INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$INFRA_DIR/.." && pwd)"
INFRA_STATE="${INFRA_STATE:-$REPO_DIR/.infra}"
INFRA_LOGS="$INFRA_STATE/logs"
INFRA_BIN="$INFRA_STATE/bin"
KAFKA_LIBS="$INFRA_DIR/kafka/target/libs"
APICURIO_DIR="$INFRA_DIR/kafka/target/apicurio"
MONGO_JAVA_SERVER_DIR="$INFRA_DIR/mongo-java-server/target"

# Versions and ports (the README lists the same values).
KAFKA_VERSION=4.3.1
KAFKA_PORT=9092
KAFKA_CONTROLLER_PORT=9093
KAFKA_SASL_PORT=9094
REGISTRY_PORT=8081
FERRETDB_PORT=27017
MONGO_JAVA_SERVER_VERSION=1.47.0
MONGO_JAVA_SERVER_PORT=27018

mkdir -p "$INFRA_LOGS" "$INFRA_BIN"

log() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] error: %s\n' "$*" >&2; exit 1; }

need_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed; $2"
}

# pid_alive <pidfile>: true when the file names a running process.
pid_alive() {
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# port_listening <port>: true when something listens on 127.0.0.1:<port>.
port_listening() {
  ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

# port_owner <port>: "pid=NNN,name" of the listener, best effort.
port_owner() {
  ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1
}

# ensure_port_free <port> <service>: fail in one line if a process we did not start holds it.
ensure_port_free() {
  if port_listening "$1"; then
    die "port $1 (needed by $2) is already taken by another process ($(port_owner "$1")); stop that process first (infra/down only stops what infra/up started)"
  fi
}

# wait_until <seconds> <description> <logfile> <command...>: poll until the command succeeds.
wait_until() {
  local secs=$1 what=$2 logfile=$3; shift 3
  local deadline=$((SECONDS + secs))
  while ! "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      die "$what did not come up within ${secs}s; see $logfile"
    fi
    sleep 0.5
  done
}

# start_daemon <name> <logfile> <command...>: start in the background, detached from this
# shell's process group, and record the pid in $INFRA_STATE/<name>.pid.
start_daemon() {
  local name=$1 logfile=$2; shift 2
  setsid nohup "$@" >"$logfile" 2>&1 < /dev/null &
  echo $! >"$INFRA_STATE/$name.pid"
}

# stop_daemon <name> [timeout]: SIGTERM the recorded pid, SIGKILL after the timeout.
stop_daemon() {
  local name=$1 timeout=${2:-30} pidfile="$INFRA_STATE/$1.pid"
  if ! pid_alive "$pidfile"; then
    rm -f "$pidfile"
    return 0
  fi
  local pid; pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + timeout))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "$name (pid $pid) ignored SIGTERM for ${timeout}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.3
  done
  rm -f "$pidfile"
  log "$name stopped"
}

# Java classpath of Kafka's jars (broker and tools share it, like the tarball's libs/).
kafka_classpath() { printf '%s/*' "$KAFKA_LIBS"; }

# java_at_least <major>: print the path of a `java` whose major version is >= <major>,
# preferring $JAVA_HOME, then `java` on PATH, then the JDKs under /usr/lib/jvm.
java_at_least() {
  local want=$1 cand v
  for cand in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java 2>/dev/null)" /usr/lib/jvm/*/bin/java; do
    [ -x "$cand" ] || continue
    v=$("$cand" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
    v=${v#1.}
    if [ -n "$v" ] && [ "$v" -ge "$want" ] 2>/dev/null; then
      printf '%s\n' "$cand"
      return 0
    fi
  done
  return 1
}
