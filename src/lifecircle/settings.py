"""Global defaults in one place (like ``osmnx.settings``).

Change them at run time, e.g. ``lifecircle.settings.max_snap_m = 300``, or for a block with
:func:`override`. Functions that take the same parameter explicitly use the explicit value first;
library code only reads these values (an analysis reads them once, into its parameters).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Points farther than this from every walkable edge are reported as unsnapped (metres).
max_snap_m: float = 500.0

#: Walking speeds (m/s) of the built-in speed profiles. Sources: see ``docs/concepts.md``
#: (MUTCD design pedestrian 1.2 m/s; 15th percentile of people over 60 about 0.92 m/s).
walk_speeds_m_per_s: dict[str, float] = {"adult": 1.2, "elderly": 0.9, "child": 0.8}

#: Overpass endpoint and timeout used by the online loaders (through osmnx).
overpass_url: str = "https://overpass-api.de/api"
requests_timeout_s: int = 180

#: Show tqdm progress bars on long steps. ``False`` silences them (the CLI's ``--quiet``).
progress: bool = True

#: Default Chinese (``"zh"``) or English (``"en"``) labels in maps and reasons.
language: str = "zh"


@contextmanager
def override(**values: Any) -> Iterator[None]:
    """Change settings inside a ``with`` block and restore them afterwards (used by the
    command line; library code reads settings, never writes them)::

        with lifecircle.settings.override(progress=False):
            ...
    """
    module = sys.modules[__name__]
    unknown = [k for k in values if not hasattr(module, k) or k.startswith("_")]
    if unknown:
        raise AttributeError(f"unknown lifecircle settings: {', '.join(unknown)}")
    old = {k: getattr(module, k) for k in values}
    try:
        for k, v in values.items():
            setattr(module, k, v)
        yield
    finally:
        for k, v in old.items():
            setattr(module, k, v)
