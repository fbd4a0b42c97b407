"""Identity's domain: pure Python, no drivers."""
