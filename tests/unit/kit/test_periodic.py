"""A periodic job runs turn after turn; a failing turn is logged and the next one still comes;
setting ``stopping`` ends the loop."""

import asyncio

from punchcard_kit.periodic import run_periodically


async def test_a_failing_turn_does_not_end_the_loop_and_stopping_does():
    stopping = asyncio.Event()
    turns = []

    async def job():
        turns.append(len(turns))
        if len(turns) == 1:
            raise ConnectionError("database down")
        if len(turns) == 3:
            stopping.set()

    await run_periodically("test job", job, every_s=0.01, first_after_s=0, stopping=stopping)
    assert turns == [0, 1, 2]


async def test_nothing_runs_when_stopped_before_the_first_turn():
    stopping = asyncio.Event()
    stopping.set()
    ran = []

    async def job():
        ran.append(1)

    await run_periodically("test job", job, every_s=0.01, stopping=stopping)
    assert ran == []
