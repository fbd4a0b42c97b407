"""A stripped text's OpenAPI pattern (``bounds.stripped_text_pattern``) takes exactly what the
server takes: the server strips Unicode's White_Space (pydantic's strip_whitespace, Rust's
str::trim), then checks and counts what is left, and a client reads the pattern as ECMA-262 does.
The pattern names its white space instead of ``\\s``, on which ECMA-262, Unicode and Python's re
disagree (U+0085, U+FEFF, U+001C-U+001F): a randomized fuzz sent "\\t\\x85\\t " as a site id,
which ``\\s`` let through the pattern and the server found blank; another sent "\\f" as a clock's
optional site id, which ``TEXT_PATTERN`` on the string sent refused and the server stripped to ""
and took."""

from __future__ import annotations

import re

import pytest
from punchcard_kit.bounds import Text, stripped_text_pattern
from pydantic import TypeAdapter, ValidationError

ECMA_262 = set("\t\n\v\f\r \xa0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff") | {
    chr(c) for c in range(0x2000, 0x200B)
}
UNICODE_WHITE_SPACE = (ECMA_262 - {"\ufeff"}) | {"\x85"}
PYTHON = {chr(c) for c in range(0x10000) if chr(c).isspace()}
SPACES = sorted(ECMA_262 | UNICODE_WHITE_SPACE | PYTHON | {"\u200b", "\u180e"})


def accepted(text: str, min_length: int) -> bool:
    try:
        TypeAdapter(Text(50, min_length=min_length)).validate_python(text)
    except ValidationError:
        return False
    return True


def test_the_pattern_names_its_white_space():
    for min_length in (0, 1, 3):
        assert not re.search(r"\\[sS]", stripped_text_pattern(min_length))


@pytest.mark.parametrize("min_length", [0, 1, 3])
@pytest.mark.parametrize("char", SPACES, ids=lambda c: f"U+{ord(c):04X}")
def test_the_pattern_takes_what_the_server_takes(char, min_length):
    pattern = re.compile(stripped_text_pattern(min_length))
    for text in (
        f"\t{char}\t ",
        char,
        f"{char}ab{char}",
        f"a{char}",
        f"{char}abc",
        f"a{char}b",
        f"ab{char}c",
    ):
        assert (pattern.fullmatch(text) is not None) == accepted(text, min_length), repr(text)


CONTROLS = [chr(c) for c in range(0x20)] + ["\x7f"]


@pytest.mark.parametrize("min_length", [0, 1, 3])
@pytest.mark.parametrize("char", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_the_pattern_takes_the_controls_the_server_takes(char, min_length):
    """Tabs and line breaks inside a text are kept; around it they are stripped like spaces; any
    other control is refused wherever it stands (a form feed around the text is stripped)."""
    pattern = re.compile(stripped_text_pattern(min_length))
    for text in (char, f"{char}abc", f"abc{char}", f"a{char}bc", f" {char} ", f"{char}{char}"):
        assert (pattern.fullmatch(text) is not None) == accepted(text, min_length), repr(text)
