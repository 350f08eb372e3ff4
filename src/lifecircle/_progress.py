"""tqdm progress bars that honour :data:`lifecircle.settings.progress`."""

from __future__ import annotations

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
