"""Identity's use cases: each runs in one tenant transaction and writes its events to the outbox."""
