"""tqdm progress bars that honour :data:`lifecircle.settings.progress`, and a logging handler
that writes through tqdm so a warning never lands on a progress bar's line."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable
from typing import Any, TypeVar

try:  # widgets in Jupyter when ipywidgets is there; plain text bars otherwise (no TqdmWarning)
    import ipywidgets  # noqa: F401
    from tqdm.auto import tqdm
except ImportError:
    from tqdm.std import tqdm

from . import settings

T = TypeVar("T")


def progress(iterable: Iterable[T] | None = None, **kwargs: Any) -> tqdm:
    """Wrap an iterable (or make a manual bar) that is silent when progress is off."""
    kwargs.setdefault("disable", not settings.progress)
    kwargs.setdefault("leave", False)
    return tqdm(iterable, **kwargs)


class TqdmHandler(logging.StreamHandler):
    """A stream handler (stderr by default) that prints through ``tqdm.write``: an active bar is
    cleared, the message printed on its own line, and the bar drawn again below it."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream if stream is not None else sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        """Write one record above the progress bars."""
        try:
            tqdm.write(self.format(record), file=self.stream)
            self.flush()
        except Exception:  # logging must never raise
            self.handleError(record)


class Laps:
    """Wall-clock seconds per phase of a run: call it with a phase's name when the phase ends;
    ``seconds`` maps each name to its duration."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def __call__(self, name: str) -> None:
        """End the phase ``name`` now (it began where the previous one ended)."""
        now = time.perf_counter()
        self.seconds[name] = now - self._t
        self._t = now
