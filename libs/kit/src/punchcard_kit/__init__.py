"""The small kit every Punchcard service shares: settings, logging, database and migrations,
the transactional outbox and its relay, the Kafka consumer loop, health endpoints.

It holds no business rules: services own those."""
