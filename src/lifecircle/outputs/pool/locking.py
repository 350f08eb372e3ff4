"""Keeping exports to one pool file apart: a lock beside the file, and a check before replacing it.

:func:`exclusive` holds an operating-system lock on ``<target>.lock`` for a whole
read-merge-write, so two processes exporting to the same file take turns instead of both
writing what they read (one export's rows would be lost). The lock file is removed afterwards;
the lock dies with its process, so a crash leaves nothing that blocks the next export.

Programs that do not take the lock (Excel saving the workbook, a script) are caught by
:func:`replace_unless_changed`: the file is replaced only if it is still the one that was read;
otherwise :class:`TargetChanged` is raised and nothing is written. :func:`write_retrying` holds
the lock and starts a write over when that happens (exports and run-history writers alike).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from ..._errors import PoolError
from ..._files import atomic_write

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Writes to a file another program keeps changing are tried this many times.
CHANGE_TRIES = 3

if sys.platform == "win32":  # pragma: no cover - tested on Linux
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _release(lock: Path, fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        os.close(fd)
        try:  # fails while another process has it open (and is waiting): it is theirs then
            lock.unlink()
        except OSError:
            pass

    def _still_at(lock: Path, fd: int) -> bool:
        return True  # an open file cannot be deleted on Windows

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def _release(lock: Path, fd: int) -> None:
        # Remove the file while still holding it: a waiting process then finds its lock on a
        # deleted file (see _still_at) and starts over with a new one.
        try:
            lock.unlink()
        finally:
            os.close(fd)

    def _still_at(lock: Path, fd: int) -> bool:
        """Whether the locked file is still the one at ``lock`` (not deleted by its holder)."""
        try:
            return os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            return False


def lock_path(path: Path) -> Path:
    """The lock file of pool file ``path``: ``pool.xlsx`` → ``pool.xlsx.lock``."""
    return path.with_name(path.name + ".lock")


def _acquire(path: Path, timeout_s: float) -> int:
    lock = lock_path(path)
    deadline = time.monotonic() + timeout_s
    pause = 0.005
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise PoolError(
                f"cannot create the lock file {lock}: {exc}; is the folder writable?"
            ) from exc
        if _try_lock(fd):
            if _still_at(lock, fd):
                return fd
        os.close(fd)
        if time.monotonic() >= deadline:
            raise PoolError(
                f"the pool {path} is being written by another process; try again (waited "
                f"{timeout_s:g} s for {lock.name})"
            )
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


@contextmanager
def exclusive(path: Path, timeout_s: float) -> Iterator[None]:
    """Hold the lock of pool file ``path``; wait at most ``timeout_s`` seconds for it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _acquire(path, timeout_s)
    try:
        yield
    finally:
        _release(lock_path(path), fd)


class TargetChanged(Exception):
    """The pool file changed between reading it and replacing it (another program saved it)."""


def signature(path: Path) -> tuple[int, int, int] | None:
    """What identifies this version of the file (inode, size, change time); None if absent."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def replace_unless_changed(
    path: Path, write: Callable[[Path], object], seen: tuple[int, int, int] | None
) -> None:
    """Write beside ``path`` and move into place, unless ``path`` is no longer ``seen``.

    ``seen`` is :func:`signature` of the file taken before it was read. On any failure, and
    when the file changed (:class:`TargetChanged`), the pool is left as it was.
    """

    def guarded(tmp: Path) -> None:
        write(tmp)
        if signature(path) != seen:
            raise TargetChanged(str(path))

    atomic_write(path, guarded, error=PoolError, note=" (the pool was left unchanged)")


def write_retrying(
    path: Path,
    fn: Callable[[], T],
    lock_timeout_s: float,
    tries: int = CHANGE_TRIES,
    label: str | None = None,
) -> T:
    """Run ``fn`` holding the lock of ``path``; start over when it raises :class:`TargetChanged`.

    ``fn`` reads the file, takes its :func:`signature` first, and writes with
    :func:`replace_unless_changed`. ``label`` names the file in messages (default ``path``).
    After ``tries`` tries that each found the file changed by another program,
    :class:`PoolError` says so; nothing was written.
    """
    name = str(path) if label is None else label
    for n in range(1, tries + 1):
        try:
            with exclusive(path, lock_timeout_s):
                return fn()
        except TargetChanged:
            log.warning("%s was changed by another program while it was written (try %d of %d)",
                        name, n, tries)  # fmt: skip
    raise PoolError(
        f"{name} was changed by another program during each of {tries} tries; nothing was "
        "written. Close the program that keeps saving it (Excel, WPS, a sync tool) and try again."
    )
