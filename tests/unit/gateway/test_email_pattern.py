"""The admin e-mail's pattern means the same to a client reading the OpenAPI (ECMA-262's
``\\s``) as to the server (pydantic's Rust regex: Unicode's White_Space): every character on
which the readings of ``\\s`` differ is refused by the characters the pattern names."""

from __future__ import annotations

import re

import pytest
from punchcard_gateway.entrypoints.schemas import EMAIL_PATTERN, Email
from pydantic import TypeAdapter, ValidationError

_SPACES = set("\t\n\v\f\r \xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {
    chr(c) for c in range(0x2000, 0x200B)
}
ECMA_262 = _SPACES | {"\ufeff"}  # WhiteSpace and LineTerminator
UNICODE_WHITE_SPACE = _SPACES | {"\x85"}
PYTHON = {chr(c) for c in range(0x10000) if chr(c).isspace()}  # Python's re on str
DISPUTED = sorted(
    (ECMA_262 | UNICODE_WHITE_SPACE | PYTHON) - (ECMA_262 & UNICODE_WHITE_SPACE & PYTHON)
)
EMAIL = TypeAdapter(Email)


def test_the_readings_of_s_differ_somewhere():
    assert {"\x85", "\ufeff"} <= set(DISPUTED)


@pytest.mark.parametrize("char", DISPUTED, ids=lambda c: f"U+{ord(c):04X}")
def test_a_character_the_readings_dispute_is_refused_whatever_s_means(char):
    assert "\\s" not in EMAIL_PATTERN  # every character named: read alike by every client
    named_only = re.compile(EMAIL_PATTERN)
    for address in (f"a{char}b@example.com", f"ab@ex{char}ample.com", f"ab@example.c{char}om"):
        assert named_only.fullmatch(address) is None, address
        with pytest.raises(ValidationError):
            EMAIL.validate_python(address)


@pytest.mark.parametrize("char", ["\x7f", "\x80", "\x9b", "\x9f"], ids=lambda c: f"U+{ord(c):04X}")
def test_control_characters_are_refused(char):
    with pytest.raises(ValidationError):
        EMAIL.validate_python(f"a{char}b@example.com")


def test_an_address_of_any_script_is_taken_lower_case():
    assert EMAIL.validate_python(" Grace.Hopper@Example.COM ") == "grace.hopper@example.com"
    assert EMAIL.validate_python("ÎÝ©@exämple.io") == "îý©@exämple.io"
