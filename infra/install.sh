#!/usr/bin/env bash
# Installs what the servers need, skipping whatever is already in place:
#  - Kafka's and Apicurio Registry's jars from Maven Central (infra/kafka/pom.xml),
#  - the FerretDB launcher, built from the Go module proxy (infra/ferretdb/),
#  - the mongo-java-server launcher, built with Maven from Maven Central (infra/mongo-java-server/).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_cmd java "install a JDK 17+ (Debian: openjdk-17-jre-headless)"
need_cmd mvn "install Maven (Debian: maven)"
need_cmd go "install Go 1.24+"
need_cmd openssl "install openssl"
need_cmd ss "install iproute2"
need_cmd curl "install curl"

install_jars() {
  if [ -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" ] && [ -f "$APICURIO_DIR/quarkus-run.jar" ] \
     && [ "$KAFKA_LIBS" -nt "$INFRA_DIR/kafka/pom.xml" ]; then
    return 0
  fi
  log "resolving Kafka $KAFKA_VERSION and Apicurio Registry jars from Maven Central"
  local mlog="$INFRA_LOGS/maven.log"
  if ! mvn -B -q -f "$INFRA_DIR/kafka/pom.xml" package >"$mlog" 2>&1; then
    die "Maven could not resolve the Kafka/Apicurio jars; see $mlog"
  fi
  touch "$KAFKA_LIBS"
}

install_ferretdb() {
  local bin="$INFRA_BIN/ferretdb" src="$INFRA_DIR/ferretdb"
  if [ -x "$bin" ] && [ "$bin" -nt "$src/main.go" ] && [ "$bin" -nt "$src/go.sum" ]; then
    return 0
  fi
  log "building the FerretDB launcher from the Go module proxy (first time: a few minutes)"
  local glog="$INFRA_LOGS/ferretdb-build.log"
  if ! (cd "$src" && go build -trimpath -o "$bin.tmp" .) >"$glog" 2>&1; then
    die "building FerretDB failed; see $glog"
  fi
  mv "$bin.tmp" "$bin"
}

install_mongo_java_server() {
  local src="$INFRA_DIR/mongo-java-server" jar="$MONGO_JAVA_SERVER_DIR/mongo-java-server-launcher.jar"
  if [ -f "$jar" ] && [ "$jar" -nt "$src/pom.xml" ] \
     && [ -z "$(find "$src/src" -newer "$jar" -print -quit)" ]; then
    return 0
  fi
  log "building the mongo-java-server $MONGO_JAVA_SERVER_VERSION launcher with Maven (first time: a minute)"
  local mlog="$INFRA_LOGS/mongo-java-server-build.log"
  if ! mvn -B -q -f "$src/pom.xml" package >"$mlog" 2>&1; then
    die "building the mongo-java-server launcher failed; see $mlog"
  fi
  touch "$jar"
}

install_jars
install_ferretdb
install_mongo_java_server
