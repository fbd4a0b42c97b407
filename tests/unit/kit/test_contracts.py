"""The kit's contract plumbing: generated constants in step with their source, the topic key
rules, proto <-> domain enums by name, and the one Employee ID / PIN definition."""

from __future__ import annotations

import enum
import subprocess
import sys
from pathlib import Path

import pytest
from punchcard.v1 import common_pb2, identity_pb2
from punchcard_kit import credentials
from punchcard_kit.contract_enums import from_proto, message_type, proto_name, to_proto
from punchcard_kit.messaging import catalogue

ROOT = Path(__file__).resolve().parents[3]


def test_generated_contract_files_are_in_step_with_their_sources() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools/gen_contracts.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_catalogued_topic_has_a_constant_and_its_key_rule() -> None:
    assert catalogue.IDENTITY_WORKERS.name == "punchcard.identity.workers.v1"
    assert catalogue.IDENTITY_WORKERS.key(tenant_id="t", worker_id="w") == "t/w"
    assert (
        catalogue.DEVICE_CLOCK_ASSIGNMENTS.key(tenant_id="t", clock_id="c", worker_id="w")
        == "t/c/w"
    )
    assert len({topic.name for topic in catalogue.ALL}) == len(catalogue.ALL) == 14


def test_a_key_with_the_wrong_parts_is_refused() -> None:
    with pytest.raises(TypeError, match="tenant_id/worker_id"):
        catalogue.IDENTITY_WORKERS.key(tenant_id="t", clock_id="c")


def test_a_verdict_is_keyed_by_its_worker_or_else_its_attempt() -> None:
    assert catalogue.verdict_key("t", "w", "a") == "t/w"
    assert catalogue.verdict_key("t", None, "a") == "t/a"
    assert catalogue.verdict_key("t", "", "a") == "t/a"


class Status(enum.StrEnum):
    PENDING = "Pending"
    ACTIVE = "Active"
    INACTIVE = "Inactive"


def test_proto_enums_map_to_domain_enums_by_name_both_ways() -> None:
    for member in Status:
        value = to_proto(common_pb2.WorkerStatus, member)
        assert value != 0
        assert from_proto(common_pb2.WorkerStatus, value, Status) is member
    assert common_pb2.WorkerStatus.Name(to_proto(common_pb2.WorkerStatus, Status.ACTIVE)) == (
        "WORKER_STATUS_ACTIVE"
    )


def test_unspecified_and_unknown_proto_values_are_none() -> None:
    assert from_proto(common_pb2.WorkerStatus, 0, Status) is None
    assert from_proto(common_pb2.WorkerStatus, 999, Status) is None
    assert to_proto(common_pb2.WorkerStatus, None) == 0
    assert proto_name(common_pb2.RejectReason, 0) == ""


def test_proto_name_strips_the_enum_prefix() -> None:
    value = common_pb2.RejectReason.values()[1]
    name = common_pb2.RejectReason.Name(value)
    assert proto_name(common_pb2.RejectReason, value) == name.removeprefix("REJECT_REASON_")
    assert message_type(identity_pb2.WorkerRegistered) == "punchcard.v1.WorkerRegistered"


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("E-1001", True),
        ("abc_9", True),
        ("a.b", False),
        ("", False),
        ("x" * 33, False),
        ("x" * 32, True),
        ("12 3", False),
        ("١٢٣", False),
    ],
)
def test_one_employee_id_rule(text: str, ok: bool) -> None:
    assert credentials.is_employee_id(text) is ok


def test_an_employee_id_is_one_worker_in_any_case() -> None:
    key = credentials.employee_id_key
    assert key("jsmith") == key("JSmith") == key("JSMITH") == "JSMITH"
    assert key("e-10_a") == "E-10_A"
    assert key("E1") != key("E2")


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("1234", True),
        ("123456", True),
        ("123", False),
        ("1234567", False),
        ("12a4", False),
        ("١٢٣٤", False),
    ],
)
def test_one_pin_format_rule(text: str, ok: bool) -> None:
    assert credentials.is_pin_format(text) is ok


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("1", True),
        ("0012345678", True),
        ("9" * 20, True),
        ("9" * 21, False),
        ("", False),
        ("12 3", False),
        ("12a", False),
        ("-12", False),
        ("١٢٣", False),
        ("123\n", False),
    ],
)
def test_one_card_number_rule(text: str, ok: bool) -> None:
    assert credentials.is_card_number(text) is ok
