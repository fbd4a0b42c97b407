"""Pooled PostgreSQL connections go back to their pool without a reset query
(punchcard_kit.db.reset_nothing_more), so no code may leave state on a connection's session
beyond its transaction: no session-level settings or roles, no session advisory locks, no
cursors WITH HOLD, no LISTEN on a pooled connection. Checked on the source of the kit and every
service (migrations excepted: they run on a connection of their own, never a pool's; and
punchcard_kit/db.py, whose docstring names the rules)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SOURCES = sorted(
    p
    for p in [*ROOT.glob("libs/kit/src/**/*.py"), *ROOT.glob("services/*/src/**/*.py")]
    if "migrations" not in p.parts and p.name not in ("migrations.py", "db.py")
)

FORBIDDEN = {
    # set_config(name, value, false): a session-level setting.
    "session-level set_config": re.compile(r"set_config\([^)]*,\s*false\s*\)", re.I),
    # SET x / SET ROLE / SET SESSION (SET LOCAL is transaction-local).
    "SET without LOCAL": re.compile(r"[\"']\s*SET\s+(?!LOCAL\b)[a-z_.]+\s*(=|TO\b)", re.I),
    "SET ROLE / SESSION": re.compile(r"[\"']\s*SET\s+(ROLE|SESSION)\b", re.I),
    "session advisory lock": re.compile(r"pg_(try_)?advisory_lock(_shared)?\s*\(", re.I),
    "cursor WITH HOLD": re.compile(r"\bWITH\s+HOLD\b", re.I),
    "LISTEN statement": re.compile(r"[\"']\s*LISTEN\s", re.I),
}


def test_there_are_sources():
    assert len(SOURCES) > 50


@pytest.mark.parametrize("rule", sorted(FORBIDDEN))
def test_no_session_state_outlives_a_transaction(rule):
    pattern = FORBIDDEN[rule]
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in SOURCES
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, f"{rule} (pooled connections are not reset): {found}"


def test_listeners_use_connections_of_their_own():
    """add_listener only on a connection the code opened itself (asyncpg.connect)."""
    for path in SOURCES:
        text = path.read_text()
        if ".add_listener(" in text:
            assert "asyncpg.connect(" in text, f"{path.relative_to(ROOT)}: LISTEN on a pool?"


def test_the_rules_would_catch_it():
    assert FORBIDDEN["session-level set_config"].search("SELECT set_config('role', 'x', false)")
    assert FORBIDDEN["SET without LOCAL"].search('"SET app.tenant_id = 1"')
    assert not FORBIDDEN["SET without LOCAL"].search("\"SET LOCAL app.evidence_sweep = 'on'\"")
    assert FORBIDDEN["session advisory lock"].search("SELECT pg_advisory_lock(1)")
    assert not FORBIDDEN["session advisory lock"].search("pg_try_advisory_xact_lock($2::int, s)")
