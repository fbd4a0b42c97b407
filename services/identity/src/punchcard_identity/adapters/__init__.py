"""Identity's adapters: PostgreSQL, Redis, hashing."""
