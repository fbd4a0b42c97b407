"""The rule of a correction sent twice (domain/repeats.py): the same request under the same key
answers with the first punch; another request under that key is refused."""

from datetime import UTC, datetime

from punchcard_punch.domain.repeats import answer_to_repeat, fingerprint

AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_the_same_request_has_the_same_fingerprint_whatever_the_order_of_its_fields():
    one = fingerprint("add", {"worker_id": "w", "punched_at": AT, "reason": "forgot"})
    two = fingerprint("add", {"reason": "forgot", "punched_at": AT, "worker_id": "w"})
    assert one == two and len(one) == 64


def test_any_difference_gives_another_fingerprint():
    base = {"worker_id": "w", "punched_at": AT, "reason": "forgot", "admin_id": "a"}
    first = fingerprint("add", base)
    assert fingerprint("replace", base) != first
    for field, value in (
        ("worker_id", "v"),
        ("punched_at", AT.replace(minute=1)),
        ("reason", "forgot!"),
        ("admin_id", "b"),
        ("clock_id", None),  # a field more, even empty
    ):
        assert fingerprint("add", {**base, field: value}) != first, field


def test_a_repeat_answers_with_the_first_punch_or_is_refused():
    asked = fingerprint("add", {"worker_id": "w"})
    assert answer_to_repeat((asked, "punch-1"), asked) == "punch-1"
    assert answer_to_repeat((fingerprint("add", {"worker_id": "v"}), "punch-1"), asked) is None
