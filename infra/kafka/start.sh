#!/usr/bin/env bash
# Starts one Apache Kafka KRaft node (broker + controller) on loopback:
#   PLAINTEXT 127.0.0.1:9092, SASL_SSL (SCRAM-SHA-512) 127.0.0.1:9094, controller 127.0.0.1:9093,
#   SASL_PLAINTEXT (OAUTHBEARER, unsecured JWT validator) 127.0.0.1:9096 (infra/kafka/ports.sh).
# On first start it generates a throwaway CA, the broker's certificate and SCRAM test users,
# and formats the log directory. Idempotent: does nothing when our broker already runs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

STATE="$INFRA_STATE/kafka"
CERTS="$STATE/certs"
DATA="$STATE/data"
CONF="$STATE/server.properties"
CREDS="$STATE/credentials.env"
LOGFILE="$INFRA_LOGS/kafka.log"
PIDFILE="$INFRA_STATE/kafka.pid"
L4J=(-Dlog4j2.configurationFile="$INFRA_DIR/kafka/log4j2.properties" -Dkafka.logs.dir="$INFRA_LOGS")

if pid_alive "$PIDFILE"; then
  exit 0
fi
for p in $KAFKA_PORT $KAFKA_CONTROLLER_PORT $KAFKA_SASL_PORT $KAFKA_OAUTH_PORT; do ensure_port_free "$p" kafka; done
mkdir -p "$STATE" "$CERTS"

# Throwaway CA and a broker certificate for localhost / 127.0.0.1.
if [ ! -f "$CERTS/broker-keystore.pem" ]; then
  log "generating a throwaway CA and broker certificate in $CERTS"
  (
    cd "$CERTS"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=consume-rs-test-ca \
      -keyout ca.key -out ca.pem
    openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout broker.key -out broker.csr
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >san.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile san.ext -out broker.crt
    cat broker.key broker.crt >broker-keystore.pem.tmp
    mv broker-keystore.pem.tmp broker-keystore.pem
  ) >"$INFRA_LOGS/kafka-certs.log" 2>&1 || die "generating certificates failed; see $INFRA_LOGS/kafka-certs.log"
fi

# Test users: random passwords, written once, read by tests through credentials.env.
if [ ! -f "$CREDS" ]; then
  pw_app=$(openssl rand -hex 16)
  pw_admin=$(openssl rand -hex 16)
  umask 077
  cat >"$CREDS.tmp" <<CREDS
KAFKA_SASL_BOOTSTRAP=127.0.0.1:$KAFKA_SASL_PORT
KAFKA_SASL_USERNAME=app
KAFKA_SASL_PASSWORD=$pw_app
KAFKA_SASL_ADMIN_USERNAME=admin
KAFKA_SASL_ADMIN_PASSWORD=$pw_admin
KAFKA_SSL_CA_LOCATION=$CERTS/ca.pem
CREDS
  mv "$CREDS.tmp" "$CREDS"
  umask 022
fi
# shellcheck disable=SC1090
source "$CREDS"

cat >"$CONF" <<PROPS
# Written by infra/kafka/start.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT,SASL_SSL://127.0.0.1:$KAFKA_SASL_PORT,OAUTH://127.0.0.1:$KAFKA_OAUTH_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_SSL://127.0.0.1:$KAFKA_SASL_PORT,OAUTH://127.0.0.1:$KAFKA_OAUTH_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,OAUTH:SASL_PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA
num.network.threads=2
num.io.threads=4
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
log.segment.bytes=104857600
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
# OAUTH: OAUTHBEARER with the unsecured validator (accepts an unsigned JWT with sub/exp;
# refuses expired ones). Re-authentication is enforced (KIP-368): a connection's session
# ends when its token expires, so a client keeps working only by refreshing its token.
listener.name.oauth.sasl.enabled.mechanisms=OAUTHBEARER
listener.name.oauth.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="broker";
listener.name.oauth.oauthbearer.connections.max.reauth.ms=3600000
ssl.keystore.type=PEM
ssl.keystore.location=$CERTS/broker-keystore.pem
ssl.client.auth=none
PROPS

CP="$(kafka_classpath)"
if [ ! -f "$DATA/meta.properties" ]; then
  log "formatting the KRaft log directory $DATA"
  cid=$(java -cp "$CP" "${L4J[@]}" kafka.tools.StorageTool random-uuid 2>>"$INFRA_LOGS/kafka-format.log" | tail -1)
  java -cp "$CP" "${L4J[@]}" kafka.tools.StorageTool format -t "$cid" -c "$CONF" \
    --add-scram "SCRAM-SHA-512=[name=$KAFKA_SASL_USERNAME,password=$KAFKA_SASL_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=$KAFKA_SASL_ADMIN_USERNAME,password=$KAFKA_SASL_ADMIN_PASSWORD]" \
    >>"$INFRA_LOGS/kafka-format.log" 2>&1 || die "formatting Kafka storage failed; see $INFRA_LOGS/kafka-format.log"
fi

log "starting Kafka $KAFKA_VERSION (PLAINTEXT :$KAFKA_PORT, SASL_SSL :$KAFKA_SASL_PORT, OAUTHBEARER :$KAFKA_OAUTH_PORT)"
start_daemon kafka "$LOGFILE" java -Xms512m -Xmx1g -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
  -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
  "${L4J[@]}" -cp "$CP" kafka.Kafka "$CONF"

kafka_ready() {
  pid_alive "$PIDFILE" || return 2
  grep -q 'Kafka Server started' "$LOGFILE" && port_listening "$KAFKA_PORT" && port_listening "$KAFKA_SASL_PORT" \
    && port_listening "$KAFKA_OAUTH_PORT"
}
deadline=$((SECONDS + 120))
until kafka_ready; do
  pid_alive "$PIDFILE" || die "Kafka exited during start; see $LOGFILE"
  [ "$SECONDS" -lt "$deadline" ] || die "Kafka did not come up within 120s; see $LOGFILE"
  sleep 0.5
done
log "Kafka is up"
