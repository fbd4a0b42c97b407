"""The PIN attempt rule (domain.pin_attempts.decide_pin_attempt): order of checks, what is
counted, which lock, and no argon2 work where none is needed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from punchcard_identity.domain.model import WorkerStatus
from punchcard_identity.domain.pin_attempts import (
    Identified,
    PinAttemptFacts,
    PinLimits,
    RecordFailure,
    Reject,
    VerifyPin,
    decide_pin_attempt,
    look_again_for_assignment,
    pace_unknown,
    unknown_answer_wait,
)

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LIMITS = PinLimits(
    worker_clock_threshold=5, worker_total_threshold=15, lock_minutes=15, clock_failure_limit=30
)
KNOWN = PinAttemptFacts(
    now=NOW,
    pin_opened=True,
    found=True,
    assigned=True,
    status=WorkerStatus.ACTIVE,
    pin_set=True,
    pin_allowed=True,
)


def decide(facts: PinAttemptFacts):
    return decide_pin_attempt(facts, LIMITS)


@pytest.mark.parametrize(
    "facts",
    [
        replace(KNOWN, found=False),
        replace(KNOWN, pin_opened=False),
        replace(KNOWN, assigned=False),
        # Even with many wrong PINs at the clock or a lock: the same answer as a stranger.
        replace(KNOWN, assigned=False, clock_failures=1000, locked_until=NOW + timedelta(hours=1)),
    ],
)
def test_unknown_or_unassigned_is_unknown_user_counted_apart_with_no_pin_check(facts):
    assert decide(facts) == Reject("UNKNOWN_USER", count_unknown=True)


def test_a_correct_and_a_wrong_pin_at_an_unassigned_clock_get_the_same_answer():
    unassigned = replace(KNOWN, assigned=False)
    assert decide(replace(unassigned, pin_matches=True)) == decide(
        replace(unassigned, pin_matches=False, worker_clock_failures=1, worker_total_failures=1)
    )


def test_order_of_checks_for_known_workers():
    assert decide(replace(KNOWN, status=WorkerStatus.INACTIVE)) == Reject("INACTIVE")
    assert decide(replace(KNOWN, status=WorkerStatus.PENDING)) == Reject("INACTIVE")
    assert decide(replace(KNOWN, pin_set=False, pin_allowed=False)) == Reject("PIN_NOT_SET")
    assert decide(replace(KNOWN, pin_allowed=False)) == Reject("PIN_NOT_ALLOWED")
    assert decide(KNOWN) == VerifyPin()
    assert decide(replace(KNOWN, pin_matches=True)) == Identified()
    assert decide(replace(KNOWN, pin_matches=False)) == RecordFailure()


def test_a_correct_pin_forgets_the_workers_wrong_pins_only_when_some_are_counted():
    right = replace(KNOWN, pin_matches=True)
    assert decide(replace(right, worker_failures=True)) == Identified(forget_failures=True)
    assert decide(right) == Identified(forget_failures=False)


def test_a_lock_rejects_without_a_pin_check_and_counts_nothing():
    later = NOW + timedelta(minutes=7)
    for facts in (
        replace(KNOWN, locked_until=later),
        replace(KNOWN, clock_locked_until=later),
        replace(KNOWN, locked_until=NOW + timedelta(minutes=1), clock_locked_until=later),
    ):
        assert decide(facts) == Reject("LOCKED_OUT", locked_until=later)
    expired = replace(KNOWN, locked_until=NOW - timedelta(seconds=1), clock_locked_until=NOW)
    assert decide(expired) == VerifyPin()


def test_many_wrong_pins_at_a_clock_stop_pin_checks_there_but_unknown_ids_do_not():
    assert decide(replace(KNOWN, clock_failures=29)) == VerifyPin()
    assert decide(replace(KNOWN, clock_failures=30)) == Reject("LOCKED_OUT")


def wrong(at_clock: int, total: int):
    return decide(
        replace(
            KNOWN, pin_matches=False, worker_clock_failures=at_clock, worker_total_failures=total
        )
    )


def test_wrong_pins_lock_the_worker_at_that_clock_only():
    assert wrong(1, 1) == Reject("WRONG_PIN", attempts_remaining=4)
    assert wrong(4, 9) == Reject("WRONG_PIN", attempts_remaining=1)
    until = NOW + timedelta(minutes=15)
    assert wrong(5, 5) == Reject("LOCKED_OUT", locked_until=until, lock_at_clock_until=until)


def test_wrong_pins_at_many_clocks_lock_the_worker_everywhere_for_a_bounded_time():
    until = NOW + timedelta(minutes=15)
    assert wrong(2, 15) == Reject("LOCKED_OUT", locked_until=until, lock_worker_until=until)
    assert wrong(5, 40) == Reject("LOCKED_OUT", locked_until=until, lock_worker_until=until)


def test_unknown_ids_are_paced_like_a_pin_check_up_to_the_clocks_limit_then_answered_at_once():
    assert pace_unknown(1, LIMITS) and pace_unknown(30, LIMITS)
    assert not pace_unknown(31, LIMITS)


def test_only_a_found_worker_not_assigned_to_the_clock_is_looked_up_again():
    assert look_again_for_assignment(opened=True, found=True, assigned=False)
    assert not look_again_for_assignment(opened=True, found=True, assigned=True)
    assert not look_again_for_assignment(opened=True, found=False, assigned=False)  # unknown ID
    assert not look_again_for_assignment(opened=False, found=True, assigned=False)


def test_a_paced_unknown_user_waits_a_pin_check_and_at_least_the_assignment_grace():
    assert unknown_answer_wait(0.02, 0.1) == 0.1
    assert unknown_answer_wait(0.3, 0.1) == 0.3
    assert unknown_answer_wait(0.02, 0.0) == 0.02


def test_every_reason_is_a_reject_reason_of_the_contract_by_name():
    from punchcard.v1 import common_pb2
    from punchcard_identity.domain.pin_attempts import Reason
    from punchcard_kit.contract_enums import proto_name, to_proto

    for reason in Reason:
        assert proto_name(common_pb2.RejectReason, to_proto(common_pb2.RejectReason, reason)) == (
            reason.value
        )
