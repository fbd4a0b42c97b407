"""Identity's entry points: the internal HTTP API (behind the gateway) and the Kafka consumer."""
