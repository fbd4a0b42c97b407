"""What the command line's subcommands share: JSON lines on stdout, private files, and running
until a duration, a signal or a condition, with a stats line now and then."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}, default=str), flush=True)


def write_private_json(path: str | Path, document: dict) -> Path:
    """Write a JSON file readable by its owner only (credentials, ComKeys)."""
    out = Path(path)
    out.touch(mode=0o600)
    out.chmod(0o600)
    out.write_text(json.dumps(document, indent=2) + "\n")
    return out


def load_list(path: Path, key: str, field: str, pairs: bool = False) -> list[str]:
    """Strings from a JSON file: `{key: [{field: ...}]}` (what `register` writes), or a list of
    strings / `{field: ...}` objects (/ `[id, value]` pairs when `pairs`)."""
    data = json.loads(path.read_text())
    items = data.get(key, []) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected a list of {key}")
    values = []
    for item in items:
        if isinstance(item, str):
            values.append(item)
        elif isinstance(item, dict) and isinstance(item.get(field), str):
            values.append(item[field])
        elif pairs and isinstance(item, list) and len(item) == 2 and isinstance(item[1], str):
            values.append(item[1])
        else:
            raise ValueError(f"{path}: not one of the {key}: {item!r}")
    return values


def saved(path: str | Path, document: dict, count: int, prefix: str, started: float) -> int:
    """Write what `register` made (privately) and say so: the exit status 0."""
    out = write_private_json(path, document)
    emit(
        "registered",
        count=count,
        prefix=prefix,
        out=str(out),
        seconds=round(time.monotonic() - started, 3),
    )
    return 0


def first(items: list[Any], count: int | None, what: str) -> list[Any]:
    """The first `count` items (all with None); an `error` line when there are none."""
    chosen = items if count is None else items[:count]
    if not chosen:
        emit("error", message=f"no {what}")
    return chosen


def add_register_arguments(reg: Any, saves: str, default_prefix: str) -> None:
    """The arguments of a `register` command (clocks POSTed to the admin API)."""
    reg.add_argument(
        "--admin-url",
        required=True,
        help="admin API base: the gateway's http://HOST:8000/api/v1 (with an admin token) or "
        "device-sync's http://HOST:8104/internal/v1 (with an internal caller token)",
    )
    reg.add_argument(
        "--token", required=True, help="bearer token sent as 'Authorization: Bearer TOKEN'"
    )
    reg.add_argument("--count", type=int, required=True, help="how many clocks to register")
    reg.add_argument("--site-id", required=True, help="the site every new clock belongs to")
    reg.add_argument("--out", required=True, help=f"where to write the {saves} (JSON, mode 0600)")
    reg.add_argument(
        "--prefix",
        default=None,
        help="serial-number prefix; clocks get PREFIX-000000, PREFIX-000001, ... "
        f"(default: {default_prefix})",
    )
    reg.add_argument(
        "--time-zone", default="UTC", help="IANA time zone of the clocks (default: UTC)"
    )
    reg.add_argument(
        "--concurrency", type=int, default=50, help="registrations in flight at once (default: 50)"
    )


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM."""
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, done.set)
    return done


async def run_until(
    done: asyncio.Event,
    started: float,
    duration: float | None,
    stats_every: float,
    stats: Callable[[], dict[str, Any]],
    finished: Callable[[], bool] = lambda: False,
) -> None:
    """Until `done` is set, `duration` seconds after `started` have passed, or `finished()`;
    a `stats` line every `stats_every` seconds (0: none)."""
    deadline = None if duration is None else started + duration
    while not done.is_set():
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            break
        step = stats_every if stats_every > 0 else 3600.0
        if deadline is not None:
            step = min(step, deadline - now)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), step)
        if stats_every > 0 and not done.is_set():
            if deadline is None or time.monotonic() < deadline:
                emit("stats", t=round(time.monotonic() - started, 3), **stats())
        if finished():
            break
