"""Cell values of the pool, whatever store they come from: empty, text, codes, numbers, years.

Every store reads its rows through :func:`coerce`, so a pool column has one Python type
whichever file or database held it; every writer takes a row's values from :func:`record`.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from typing import Any

import numpy as np
import pandas as pd

from .schema import CODE_COLUMNS, COLUMN, DEFAULT_STATUS, NAMES, STATUSES

log = logging.getLogger(__name__)

#: One pool row: column name → value (planner columns and bookkeeping keys included).
Row = dict[str, Any]


def is_na(value: object) -> bool:
    """True for None, NA, NaT, NaN and the empty string."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return isinstance(value, str) and value == ""


def code_text(value: object) -> str | None:
    """Admin codes and ids as text: 330402001001 (int, or the float 3.30402001001e11) → str."""
    if is_na(value):
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value).strip() or None


def as_text(value: object) -> str | None:
    """A text cell: whole floats lose their ``.0``, dates become ISO text."""
    if is_na(value):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def as_float(value: object) -> float | None:
    """A finite float (thousands separators allowed in text), else None."""
    if is_na(value) or isinstance(value, bool):
        return None
    try:
        out = float(str(value).replace(",", "")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def as_int(value: object) -> int | None:
    """A whole number, else None."""
    out = as_float(value)
    return int(out) if out is not None and out.is_integer() else None


_YEAR = re.compile(r"\s*(\d{4})(?:\.0+)?\s*年?\s*")


def as_year(value: object, pid: object) -> int | str | None:
    """Planner's year: an int when it reads as one; otherwise the text, kept as written."""
    if is_na(value):
        return None
    if isinstance(value, int | np.integer | float | np.floating) and not isinstance(value, bool):
        if float(value).is_integer():
            return int(value)
    m = _YEAR.fullmatch(str(value))
    if m:
        return int(m.group(1))
    log.warning("project %s: year %r is not a year; kept as written", pid, value)
    return str(value)


_TRUE = {"1", "true", "yes", "y", "是", "t"}
_FALSE = {"0", "false", "no", "n", "否", "f"}


def as_bool(value: object) -> bool | None:
    """True/False from bools, numbers and 是/否, yes/no, true/false text; else None."""
    if is_na(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return bool(value)
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def as_date(value: object) -> str | None:
    """A date as ``YYYY-MM-DD`` text; text that is no date is kept as written."""
    if is_na(value):
        return None
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        return text


_BY_DTYPE = {"str": as_text, "float": as_float, "int": as_int, "bool": as_bool, "date": as_date}


def coerce(raw: Row) -> Row:
    """Normalise a record read from any store: pool columns typed, other keys kept as they are."""
    out = dict(raw)
    pid = code_text(raw.get("project_id"))
    for name in NAMES:
        value = raw.get(name)
        if name == "geometry":
            out[name] = None if value is None or is_na(value) else value
        elif name == "year":
            out[name] = as_year(value, pid)
        elif name in CODE_COLUMNS or name == "project_id":
            out[name] = code_text(value)
        else:
            out[name] = _BY_DTYPE[COLUMN[name].dtype](value)
    status = out.get("status")
    if status is not None and status not in STATUSES:
        log.info("project %s: status %r is not one of %s; kept as written", pid, status, STATUSES)
    return out


def record(row: Row) -> Row:
    """The values one store row is written from (every writer calls it once per row)."""
    return {k: (None if is_na(v) else v) for k, v in row.items() if not k.startswith("_")}


def same(name: str, a: object, b: object) -> bool:
    """Whether two values of pool column ``name`` are equal (numbers and points up to noise)."""
    if is_na(a) or is_na(b):
        return is_na(a) and is_na(b)
    if name == "geometry":
        if a.is_empty or b.is_empty or a.geom_type != "Point" or b.geom_type != "Point":
            return a.equals(b)
        return abs(a.x - b.x) < 1e-7 and abs(a.y - b.y) < 1e-7
    if COLUMN[name].dtype in ("float", "int"):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def planner_edited(row: Row) -> bool:
    """Whether a planner wrote any of status (other than the default), year, owner, notes."""
    return (row.get("status") not in (None, DEFAULT_STATUS)) or any(
        not is_na(row.get(n)) for n in ("year", "owner", "notes")
    )
