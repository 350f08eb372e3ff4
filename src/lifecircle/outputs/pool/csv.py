"""CSV store: UTF-8 with BOM (so Excel shows Chinese), ``经度``/``纬度`` columns.

A file Excel re-saved as GB18030 is read too (and rewritten as UTF-8). Each export rewrites the
file beside the target and moves it into place.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Any

from ... import settings
from ..._errors import PoolError
from ..._files import decode_text
from ..._progress import progress
from ..tables import csv_text, csv_text_back
from .backend import ExportJob, Stored, Target, Written
from .locking import replace_unless_changed, signature
from .tabular import TABULAR, from_tabular, header, header_lang, labels, lonlat, tabular_value
from .values import Row, record

log = logging.getLogger(__name__)


def _load(path: Path) -> tuple[list[Row], list[str], str | None]:
    """Rows, column names in file order (pool names or planners' own headers) and language."""
    text, encoding = decode_text(path.read_bytes(), str(path), error=PoolError)
    if not encoding.startswith("utf-8"):
        log.info("%s was saved as %s (Excel 'CSV'); it is rewritten as UTF-8 with BOM", path,
                 encoding)  # fmt: skip
    lines = [[csv_text_back(cell) for cell in line]
             for line in csv.reader(io.StringIO(text, newline=""))]  # fmt: skip
    if not lines:
        return [], [], None
    first = lines[0]
    accepted = labels()
    names = [accepted.get(h.strip().lower(), h) for h in first]
    if "project_id" not in names:
        raise PoolError(f"{path} is not a lifecircle pool (no 项目编号/project_id column)")
    rows = []
    for line in lines[1:]:
        if not any(cell.strip() for cell in line):
            continue
        raw = dict(zip(names, line + [""] * (len(names) - len(line)), strict=False))
        rows.append(from_tabular(raw))
    return rows, names, header_lang(first)


def _text(value: Any) -> str:
    """A value as CSV text; text a spreadsheet would take for a formula is protected."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, str):
        return str(csv_text(value))
    return str(value)


class CSV:
    """The CSV store (:class:`~.backend.Backend`)."""

    def read(
        self, target: Target, layer: str, schema: str | None, connect_timeout_s: float
    ) -> Stored:
        """All rows of the file and the planner-added columns."""
        rows, names, _ = _load(target.path)
        return Stored(rows, [n for n in names if n not in TABULAR])

    def export(self, target: Target, job: ExportJob) -> Written:
        """Read, merge, and write the whole file anew (headers in the file's language)."""
        path: Path = target.path
        seen = signature(path)
        existing, names, lang = _load(path) if seen is not None else (None, [], None)
        lang = job.headers or lang or settings.language
        columns = [*names, *[n for n in TABULAR if n not in names]]
        plan = job.plan_for(existing)

        def write(tmp: Path) -> None:
            with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
                out = csv.writer(fh)
                out.writerow([_text(header(n, lang) if n in TABULAR else n) for n in columns])
                for row in progress(plan.rows, desc="pool: writing CSV", unit="project"):
                    rec = record(row)
                    rec["lon"], rec["lat"] = lonlat(rec.get("geometry"))
                    out.writerow(
                        [
                            _text(tabular_value(rec.get(n), lang, n, rec.get("profile")))
                            for n in columns
                        ]
                    )

        replace_unless_changed(path, write, seen)
        return Written(plan.counts, len(plan.rows))
