import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from punchcard_identity.domain.pin_policy import WeakPin, check_pin, common_pins

pins = st.text(alphabet="0123456789", min_size=4, max_size=6)


def _code(pin, employee_id=""):
    rejection = check_pin(pin, employee_id)
    return rejection.code if rejection else None


@given(st.sampled_from("0123456789"), st.integers(4, 6))
def test_one_digit_repeated_is_refused(digit, length):
    assert _code(digit * length) is WeakPin.REPEATED_DIGIT


@given(st.integers(0, 9), st.integers(4, 6), st.sampled_from([1, -1]))
def test_runs_up_or_down_are_refused(start, length, step):
    pin = "".join(str((start + step * i) % 10) for i in range(length))
    assert _code(pin) is WeakPin.SEQUENCE


@given(st.integers(1900, 2099))
def test_years_are_refused(year):
    assert _code(str(year)) in (WeakPin.YEAR, WeakPin.SEQUENCE, WeakPin.REPEATED_DIGIT)


@given(st.text(alphabet="0123456789", min_size=6, max_size=10), st.integers(4, 6))
def test_employee_id_or_its_last_digits_are_refused(employee_digits, length):
    pin = employee_digits[-length:]
    assume(_code(pin) is None)  # not already refused for another reason
    assert _code(pin, f"E-{employee_digits}") is WeakPin.EMPLOYEE_ID


@given(st.text(max_size=8).filter(lambda s: not (s.isascii() and s.isdigit() and 4 <= len(s) <= 6)))
def test_anything_but_4_to_6_ascii_digits_is_refused(text):
    assert _code(text) is WeakPin.NOT_DIGITS


@given(pins)
def test_every_accepted_pin_passes_every_rule(pin):
    if check_pin(pin, "E-31415") is None:
        assert len(set(pin)) > 1
        assert pin not in common_pins()
        assert not (len(pin) == 4 and 1900 <= int(pin) <= 2099)
        assert not "31415".endswith(pin)


@pytest.mark.parametrize("pin", ["1004", "6969", "1122", "123123", "159753", "2580", "0852"])
def test_common_pins_are_refused(pin):
    assert _code(pin) is WeakPin.COMMON


@pytest.mark.parametrize("pin", ["8351", "27094", "639172", "0483"])
def test_ordinary_pins_are_accepted(pin):
    assert check_pin(pin, "E-1001") is None


def test_every_rejection_has_a_message():
    for code in WeakPin:
        from punchcard_identity.domain.pin_policy import PinRejection

        assert PinRejection(code).message
