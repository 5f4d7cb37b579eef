# Ports of the Kafka listeners defined here rather than in infra/lib.sh. Sourced, never run
# (by infra/kafka/start.sh, and by whatever reports on the listeners, e.g. infra/status).

# SASL_PLAINTEXT + OAUTHBEARER with Kafka's unsecured JWT validator (tests of the runtime's
# OAUTHBEARER token refresh; tokens expire for real: re-authentication is enforced).
KAFKA_OAUTH_PORT=9096
