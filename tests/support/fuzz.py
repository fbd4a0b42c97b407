"""What every fuzz in the suite shares: a fixed budget, the same examples on every run."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

#: Examples per operation and mode (OpenAPI) or per strategy, times a module's own factor;
#: raise it locally to search harder.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))


def fuzz_settings(max_examples: int) -> settings:
    """Derandomized (the same requests on every run), no example database, no deadline, no
    shrinking: a failure is reported as it was met, with the request that met it."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
