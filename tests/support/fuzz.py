"""What every fuzz in the suite shares: a fixed budget, the same examples on every run."""

from __future__ import annotations

import os

import requests
from hypothesis import HealthCheck, Phase, settings

#: Examples per operation and mode (OpenAPI) or per strategy, times a module's own factor;
#: raise it locally to search harder.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
#: FUZZ_RANDOM=1: new examples on every run, to search beyond the suite's fixed ones (a failure
#: is reproduced with pytest's ``--hypothesis-seed=N``, N from Hypothesis's report or any).
RANDOM = os.environ.get("FUZZ_RANDOM", "") not in ("", "0")


def fuzz_settings(max_examples: int) -> settings:
    """Derandomized (the same requests on every run; FUZZ_RANDOM=1 to search further), no
    example database, no deadline, no shrinking: a failure is reported as it was met, with the
    request that met it."""
    return settings(
        max_examples=max_examples,
        derandomize=not RANDOM,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def error_shape_problem(response: requests.Response) -> str | None:
    """What is wrong with a 4xx answer's body, or None: every API answers an error as
    ``{"code", "message", "field"}`` (a string code and message; ``field`` null or the first bad
    field's name), so a client can show it and act on its code."""
    if not 400 <= response.status_code < 500:
        return None
    try:
        body = response.json()
    except ValueError:
        return f"not JSON: {response.text[:120]!r}"
    if not isinstance(body, dict):
        return f"not an object: {str(body)[:120]}"
    missing = [key for key in ("code", "message", "field") if key not in body]
    if missing:
        return f"no {', '.join(missing)}: {str(body)[:160]}"
    if not (isinstance(body["code"], str) and body["code"]):
        return f"code is not a name: {body['code']!r}"
    if not isinstance(body["message"], str):
        return f"message is not text: {body['message']!r}"
    if body["field"] is not None and not isinstance(body["field"], str):
        return f"field is neither null nor a name: {body['field']!r}"
    return None
