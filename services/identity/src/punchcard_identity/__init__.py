"""Punchcard identity service. Workers, PINs and PIN verification at the kiosk. Owns the worker
register and the PIN hashes; publishes worker lifecycle and PIN events; answers PIN punch
attempts with identification verdicts."""
