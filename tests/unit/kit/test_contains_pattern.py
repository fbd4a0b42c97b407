"""The lists' searches (workers, clocks): "contains", case-insensitively, taken literally.
``_`` and ``%`` are characters of Employee IDs, names and serials, not LIKE wildcards."""

import re

import pytest
from punchcard_kit.db import contains_pattern, folded


def like(pattern: str, value: str) -> bool:
    """PostgreSQL's LIKE with its default escape (backslash), for the test."""
    regex = ""
    chars = iter(pattern)
    for c in chars:
        if c == "\\":
            regex += re.escape(next(chars))
        elif c == "%":
            regex += ".*"
        elif c == "_":
            regex += "."
        else:
            regex += re.escape(c)
    return re.fullmatch(regex, value, re.DOTALL) is not None


@pytest.mark.parametrize(
    "search, value, found",
    [
        ("ana", "ana pérez", True),
        ("ANA", "ana pérez", True),  # the value is lower-cased by the statement
        ("emp_001", "emp_001", True),
        ("emp_001", "emp-001", False),  # "_" is not "any character"
        ("emp_001", "empx001", False),
        ("100%", "100% ana", True),
        ("100%", "1000 ana", False),  # "%" is not "anything"
        ("a\\b", "a\\b", True),
        ("a\\b", "ab", False),
        ("", "anyone", True),
    ],
)
def test_a_search_matches_what_contains_it_literally(search, value, found):
    assert like(contains_pattern(search), value) is found


def test_the_column_is_lower_cased_in_every_script_whatever_the_database_locale():
    # Under the C locale lower() changes A-Z only; ICU's root collation lower-cases all.
    assert folded("w.name") == 'lower(w.name COLLATE "und-x-icu")'
    assert contains_pattern("ÉMILE Ørjan") == "%émile ørjan%"
