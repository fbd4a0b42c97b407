"""PostgreSQL (under row-level security), the password hasher and the upstream services
(identity, device-sync)."""
