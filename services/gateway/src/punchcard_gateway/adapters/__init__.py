"""PostgreSQL (under row-level security), the password hasher and the identity upstream."""
