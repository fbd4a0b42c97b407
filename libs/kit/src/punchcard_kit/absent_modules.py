"""Optional modules a library asks for on its hot path, remembered as absent once.

httpcore (under httpx, the gateway's client to device-sync, identity and punch) asks which
async library runs every time it makes a lock, an event or a cancellation shield — several
times per request — with ``import sniffio`` inside a ``try``. anyio 4 no longer installs
sniffio, so each of those imports fails after searching every ``sys.path`` entry on disk:
about 0.1 ms each, measured as ~17 % of the gateway's CPU during a kiosk PIN punch run. A
module that is not installed is recorded as ``None`` in ``sys.modules``, which Python's
import treats as "not importable" at once (ImportError, as before, without the search): the
library takes the same branch (asyncio), at the cost of a dictionary lookup."""

from __future__ import annotations

import importlib.util
import sys

# Imported (and failed) on a hot path by a dependency; absent from this environment.
HOT_OPTIONAL_MODULES = ("sniffio",)


def remember_absent_modules(names: tuple[str, ...] = HOT_OPTIONAL_MODULES) -> list[str]:
    """Mark those of ``names`` that cannot be found as absent; returns the names marked. A
    module that is installed (or already imported) is left alone."""
    marked = []
    for name in names:
        if name in sys.modules:
            continue
        if importlib.util.find_spec(name) is None:
            sys.modules[name] = None  # type: ignore[assignment]
            marked.append(name)
    return marked
