"""Reading line layers (road centrelines, 路网中心线) through pyogrio: Shapefile, GeoPackage,
GeoJSON, FlatGeobuf and FileGDB folders.

Shapefiles without a ``.cpg`` say nothing about their text encoding; Chinese ones are usually
GBK/GB18030 (written on a Chinese Windows), newer ones UTF-8. The DBF's field names and records are
decoded with :func:`lifecircle._files.decode_text` (UTF-8, else GB18030) to tell which.
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import geopandas as gpd
import pyogrio

from .._errors import NetworkError
from .._files import decode_text

log = logging.getLogger(__name__)

#: File suffixes read as line layers (``.gdb`` is a FileGDB folder).
LINE_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".fgb", ".gdb")

_LINE_TYPES = ("LineString", "MultiLineString", "LineString Z", "MultiLineString Z")
# How much of a large DBF is enough to tell UTF-8 from GB18030.
_DBF_SAMPLE_BYTES = 4_000_000


def is_line_file(path: Path) -> bool:
    """True if ``path`` has a suffix read as a line layer (Shapefile, GeoPackage, GeoJSON, FileGDB)."""
    return path.suffix.lower() in LINE_SUFFIXES


def shapefile_encoding(path: Path) -> str | None:
    """The text encoding of a Shapefile's attributes.

    ``None`` when a ``.cpg`` file states it (GDAL reads it), else ``"utf-8"`` or ``"gb18030"``
    from the DBF's field names and records.
    """
    if path.with_suffix(".cpg").exists() or path.with_suffix(".CPG").exists():
        return None
    dbf = next(
        (p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None
    )
    if dbf is None:
        return None
    with open(dbf, "rb") as fh:
        raw = fh.read(_DBF_SAMPLE_BYTES)
    if len(raw) < 32:
        return None
    header_len = struct.unpack("<H", raw[8:10])[0]
    names = b"".join(
        raw[i : i + 11].split(b"\x00")[0] + b" " for i in range(32, header_len - 32, 32)
    )
    record_len = max(struct.unpack("<H", raw[10:12])[0], 1)
    records = raw[header_len:]
    records = records[: len(records) // record_len * record_len]  # whole records only
    _, encoding = decode_text(names + records.rstrip(b"\x1a"), dbf.name, error=NetworkError)
    return "utf-8" if encoding == "utf-8-sig" else encoding


def _pick_layer(path: Path, layer: str | int | None) -> str | int | None:
    if layer is not None:
        return layer
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises DataSourceError and others
        raise NetworkError(f"cannot open {path}: {exc}") from exc
    if len(layers) <= 1:
        return None
    lines = [str(name) for name, kind in layers if str(kind) in _LINE_TYPES]
    if len(lines) == 1:
        return lines[0]
    listed = ", ".join(f"{name} ({kind})" for name, kind in layers)
    raise NetworkError(
        f"{path.name} holds several layers ({listed}); say which holds the streets with "
        "layer='...' (or [network] layer = '...' in the configuration)"
    )


def read_line_layer(
    path: str | Path, layer: str | int | None = None, encoding: str | None = None
) -> gpd.GeoDataFrame:
    """Read a line layer as it is (its own CRS, all attributes) through pyogrio.

    Parameters
    ----------
    path :
        ``.shp``, ``.gpkg``, ``.geojson``/``.json``, ``.fgb`` or a FileGDB ``.gdb`` folder.
    layer :
        Layer name or number inside a GeoPackage/FileGDB; needed when it holds several line layers.
    encoding :
        Text encoding of the attributes; default: the ``.cpg`` of a Shapefile, else UTF-8 or
        GB18030 told from the DBF (see :func:`shapefile_encoding`).
    """
    path = Path(path)
    if not path.exists():
        raise NetworkError(f"file not found: {path}")
    if encoding is None and path.suffix.lower() == ".shp":
        encoding = shapefile_encoding(path)
        if encoding:
            log.info("%s has no .cpg; its attributes read as %s", path.name, encoding)
    layer = _pick_layer(path, layer)
    try:
        gdf = gpd.read_file(path, layer=layer, encoding=encoding, engine="pyogrio")
    except Exception as exc:  # pyogrio/GDAL errors of several types
        raise NetworkError(f"cannot read {path.name} as a line layer: {exc}") from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf:
        raise NetworkError(f"{path.name}: the layer has no geometry; road centrelines are needed")
    return gdf
