"""The internal HTTP API (behind the gateway)."""
