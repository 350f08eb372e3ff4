"""GeoJSON store: RFC 7946, EPSG:4326, English property names, versions in ``"lifecircle"``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from ..._errors import PoolError
from ..._progress import progress
from .backend import ExportJob, Stored, Target, Written
from .locking import replace_unless_changed, signature
from .schema import NAMES, SCHEMA_VERSION, check_version, meta_items
from .values import coerce, record


def _load(path: Path) -> Stored:
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PoolError(f"{path} is not readable GeoJSON: {exc}") from exc
    if doc.get("type") != "FeatureCollection":
        raise PoolError(f"{path} is not a GeoJSON FeatureCollection")
    check_version((doc.get("lifecircle") or {}).get("schema_version"), str(path))
    rows, extras = [], []
    for feat in doc.get("features", []):
        props = dict(feat.get("properties") or {})
        for k in props:
            if k not in NAMES and k not in extras:
                extras.append(k)
        geom = feat.get("geometry")
        props["geometry"] = None if geom is None else shapely.geometry.shape(geom)
        rows.append(coerce(props))
    return Stored(rows, extras)


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


class GeoJSON:
    """The GeoJSON store (:class:`~.backend.Backend`)."""

    def read(
        self, target: Target, layer: str, schema: str | None, connect_timeout_s: float
    ) -> Stored:
        """All features of the file and the planner-added properties."""
        return _load(target.path)

    def export(self, target: Target, job: ExportJob) -> Written:
        """Read, merge, and write the whole FeatureCollection anew."""
        path: Path = target.path
        seen = signature(path)
        existing, extras = _load(path) if seen is not None else (None, [])
        plan = job.plan_for(existing)

        def write(tmp: Path) -> None:
            features = []
            for row in progress(plan.rows, desc="pool: writing GeoJSON", unit="project"):
                rec = record(row)
                geom = rec.get("geometry")
                props = {n: _json_value(rec.get(n)) for n in NAMES if n != "geometry"}
                props |= {k: _json_value(rec.get(k)) for k in extras}
                features.append({
                    "type": "Feature",
                    "properties": props,
                    "geometry": None if geom is None else shapely.geometry.mapping(geom),
                })  # fmt: skip
            doc = {
                "type": "FeatureCollection",
                "name": job.layer,
                "lifecircle": dict(meta_items(job.run_id)) | {"schema_version": SCHEMA_VERSION},
                "features": features,
            }
            with tmp.open("w", encoding="utf-8") as fh:
                json.dump(doc, fh, ensure_ascii=False, indent=1, allow_nan=False)

        replace_unless_changed(path, write, seen)
        return Written(plan.counts, len(plan.rows))
