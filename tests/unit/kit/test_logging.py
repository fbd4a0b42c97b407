"""The kit's log lines: the project's own (structlog's native path) and the standard library's
(aiokafka, uvicorn) come out as one JSON object a line, with the same fields."""

from __future__ import annotations

import io
import json
import logging
import sys
import uuid

import pytest
from punchcard_kit.logging import configure_logging, correlation, get_logger


@pytest.fixture
def name() -> str:
    """A module name no logger has been built for yet (loggers are cached on first use)."""
    return f"tests.logging.{uuid.uuid4().hex}"


def lines(captured: str) -> list[dict]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


def test_a_line_names_its_module_level_service_and_fields(name, capsys):
    configure_logging("logged")
    with correlation("c-1", tenant_id="t-1"):
        get_logger(name).info("pin attempt verified", attempt_id="a-1", reason=None)
    [line] = [line for line in lines(capsys.readouterr().err) if line.get("logger") == name]
    assert line["event"] == "pin attempt verified"
    assert line["level"] == "info"
    assert line["service"] == "logged"
    assert line["correlation_id"] == "c-1" and line["tenant_id"] == "t-1"
    assert line["attempt_id"] == "a-1" and line["reason"] is None
    assert line["timestamp"].endswith("Z")


def test_lines_below_the_level_are_not_written(name, capsys):
    configure_logging("logged", "WARNING")
    log = get_logger(name)
    log.debug("not this")
    log.info("nor this")
    log.warning("this")
    assert [line["event"] for line in lines(capsys.readouterr().err)] == ["this"]


def test_an_exception_line_carries_its_traceback(name, capsys):
    configure_logging("logged")
    try:
        raise ValueError("the cause")
    except ValueError:
        get_logger(name).exception("it failed", step=2)
    [line] = lines(capsys.readouterr().err)
    assert line["level"] == "error" and line["step"] == 2
    assert "ValueError: the cause" in line["exception"]


def test_a_standard_library_line_has_the_same_shape(capsys):
    configure_logging("logged")
    with correlation("c-2"):
        logging.getLogger("aiokafka.conn").warning("broker %s unreachable", "k-1")
    [line] = lines(capsys.readouterr().err)
    assert line["event"] == "broker k-1 unreachable"
    assert line["logger"] == "aiokafka.conn"
    assert line["level"] == "warning" and line["service"] == "logged"
    assert line["correlation_id"] == "c-2"


def test_aiokafka_below_warning_is_quiet(capsys):
    configure_logging("logged", "DEBUG")
    logging.getLogger("aiokafka.conn").info("reconnecting")
    assert lines(capsys.readouterr().err) == []


def test_lines_follow_the_stream_of_the_moment(name, capsys, monkeypatch):
    """A logger built while one stream was stderr writes to the one that is stderr now (a
    test's captured stream is closed after it; a cached logger must not write to that)."""
    configure_logging("logged")
    log = get_logger(name)
    log.info("first")
    assert [line["event"] for line in lines(capsys.readouterr().err)] == ["first"]
    later = io.StringIO()
    monkeypatch.setattr(sys, "stderr", later)
    log.info("second")
    assert [line["event"] for line in lines(later.getvalue())] == ["second"]


def test_a_logger_already_built_follows_a_later_configuration(name, capsys):
    """Loggers are built on their first line and kept; configuring again (another level,
    another renderer) still reaches them."""
    configure_logging("first")
    log = get_logger(name)
    log.info("built")
    configure_logging("second", "WARNING")
    log.info("dropped")
    log.warning("kept")
    configure_logging("third", json=False)
    log.info("plain again")
    err = capsys.readouterr().err
    assert [line["event"] for line in lines(err)] == ["built", "kept"]
    assert [line["service"] for line in lines(err)] == ["first", "second"]
    assert "plain again" in err.splitlines()[-1] and "service=third" in err.splitlines()[-1]


def test_a_line_stderr_cannot_take_is_dropped_not_raised(name, monkeypatch):
    """A closed pipe or file on stderr loses the line; the code that logged goes on."""
    configure_logging("logged")
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stderr", closed)
    get_logger(name).error("nobody reads this")


def test_console_lines_when_json_is_off(name, capsys):
    configure_logging("logged", json=False)
    get_logger(name).warning("plain", clock_id="k-9")
    err = capsys.readouterr().err
    assert "plain" in err and "clock_id=k-9" in err and not err.lstrip().startswith("{")
