"""The consumer loop prunes its ``processed_events`` past retention at its first chance, then
at most hourly, whenever the process started: the monotonic clock counts from the machine's
boot, and a start of 0.0 once meant no prune in a process started within a machine's first
hour."""

from contextlib import asynccontextmanager

from punchcard_kit.messaging.consumer import ConsumerLoop


class _Pool:
    def __init__(self) -> None:
        self.statements: list[tuple] = []

    @asynccontextmanager
    async def acquire(self):
        yield self

    async def execute(self, sql: str, *args) -> None:
        self.statements.append((sql, *args))


async def test_the_first_prune_runs_at_once_then_hourly(monkeypatch):
    now = [1_200.0]  # a machine up for 20 minutes
    monkeypatch.setattr("punchcard_kit.periodic.time.monotonic", lambda: now[0])
    pool = _Pool()
    loop = ConsumerLoop(
        group_id="g",
        topics=["t"],
        handler=None,
        pool=pool,
        bootstrap_servers="unused:9092",
        processed_retention_days=14,
    )
    await loop._maybe_prune()
    assert len(pool.statements) == 1 and pool.statements[0][1:] == ("g", 14)
    now[0] += 3_599
    await loop._maybe_prune()
    assert len(pool.statements) == 1  # not again within the hour
    now[0] += 1
    await loop._maybe_prune()
    assert len(pool.statements) == 2
