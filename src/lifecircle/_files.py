"""Writing files safely: to a temporary file next to the target, then moved into place."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from ._errors import LifecircleError


def atomic_write(
    path: Path,
    write: Callable[[Path], object],
    error: type[Exception] = LifecircleError,
    note: str = "",
) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path`` and move it over ``path``.

    A failure leaves ``path`` as it was. The new file gets the permissions of the file it
    replaces, or the usual ones for a new file (0666 less the umask), not mkstemp's 0600. A target
    locked by another program (Excel on Windows) raises ``error`` with a message saying so.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        if path.exists():
            mode = path.stat().st_mode & 0o777
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        try:
            os.replace(tmp, path)
        except PermissionError as exc:
            raise error(
                f"cannot replace {path}: is it open in Excel or another program? Close it and "
                f"try again{note}"
            ) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return path
