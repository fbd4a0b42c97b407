"""What a pattern an API declares means, in words. The OpenAPI states the regular expression
(a client, a fuzzer, a generated form can check it); a person reading a 422 gets the words:
"Input should be an e-mail address", not pydantic's "String should match pattern '^[^@\\s…'".
A pattern defined with ``described(pattern, meaning)`` is answered so by every service
(``http_errors.first_problem``); one without a meaning keeps pydantic's message."""

from __future__ import annotations

_MEANINGS: dict[str, str] = {}


def described(pattern: str, meaning: str) -> str:
    """Records what ``pattern`` means (a noun phrase: "a UUID") and returns the pattern, to be
    used where it is defined: ``UUID_PATTERN = described(r"^…$", "a UUID")``."""
    _MEANINGS[pattern] = meaning
    return pattern


def meaning_of(pattern: str | None) -> str | None:
    return None if pattern is None else _MEANINGS.get(pattern)
