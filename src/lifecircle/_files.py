"""Files, once for the whole library: atomic writes (temporary file beside the target, then moved into
place) and reading text whose encoding is unknown (UTF-8 with or without BOM, else GB18030)."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from ._errors import InputError, LifecircleError

log = logging.getLogger(__name__)


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


def decode_text(
    raw: bytes, name: str, encoding: str | None = None, error: type[Exception] = InputError
) -> tuple[str, str]:
    """Decode ``raw`` (the bytes of file ``name``) and say which encoding was used.

    With ``encoding=None``: UTF-8 with a BOM, else UTF-8, else GB18030 (a superset of GBK and
    GB2312, what Excel writes for "CSV" on a Chinese Windows). A leading BOM is removed. Text
    that is none of these raises ``error`` naming the file and the fix.
    """
    if encoding is None:
        if raw.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8-sig"
        else:
            for candidate in ("utf-8", "gb18030"):
                try:
                    raw.decode(candidate)
                except UnicodeDecodeError:
                    continue
                encoding = candidate
                break
            else:
                raise error(
                    f"{name}: cannot tell the text encoding (not UTF-8, not GBK/GB18030); pass "
                    "encoding=..., or re-save the file as 'CSV UTF-8' in Excel"
                )
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise error(f"{name}: cannot decode as {encoding!r}: {exc}") from None
    return text.lstrip("\ufeff"), encoding
