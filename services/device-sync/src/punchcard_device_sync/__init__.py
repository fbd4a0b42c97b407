"""Punchcard device-sync service. Clocks, worker assignments and the durable per-clock command
queues that clocks poll and acknowledge."""
