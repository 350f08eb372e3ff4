"""Reading the tables users bring, once for the whole library (facility lists, community lists).

* :func:`read_table` reads CSV/TXT/TSV (encoding detected by :func:`lifecircle._files.decode_text`),
  Excel, GeoPackage, GeoJSON, Shapefile, FlatGeobuf and (Geo)Parquet files, or takes a
  (Geo)DataFrame, and returns a :class:`Table` that knows how its rows are numbered for the
  user (spreadsheet rows, or index labels). Empty files, empty sheets and unreadable files raise
  :class:`~lifecircle.InputError` naming the file; a two-row header (a merged ``坐标`` cell over
  ``经度``/``纬度``) is read as one header row.
* :func:`find_column` finds a column by its Chinese or English header (compared through
  :func:`lifecircle._text.key`), :func:`find_lonlat` the longitude and latitude columns, splitting
  a combined ``"lng,lat"`` column (``经纬度``, ``location``) into two.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError
from .._files import decode_text
from .._text import count_value, fold, key
from .osm import is_osm_file

log = logging.getLogger(__name__)

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
GIS_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".fgb")
TABLE_SUFFIXES = (*CSV_SUFFIXES, *EXCEL_SUFFIXES, *GIS_SUFFIXES, ".parquet")

# ---------------------------------------------------------------------- coordinate columns
#: Header names of longitude / latitude columns, in priority order (compared through ``key``).
LON_NAMES = ("lon", "lng", "longitude", "long", "x", "经度", "东经", "经度坐标", "x坐标")
LAT_NAMES = ("lat", "latitude", "y", "纬度", "北纬", "纬度坐标", "y坐标")
#: Headers of one column holding both, longitude first ("120.75,30.74", Amap's ``location``).
LOC_NAMES = (
    "location",
    "经纬度",
    "坐标",
    "lnglat",
    "lng,lat",
    "lonlat",
    "lon,lat",
    "经度,纬度",
    "经纬度坐标",
    "坐标经纬度",
    "位置",
)
#: The same, latitude first.
LATLON_NAMES = ("latlng", "lat,lng", "latlon", "lat,lon", "纬度,经度", "纬经度")
#: Parts of a header that mark a combined column (``经纬度(高德)``, ``gcj_location``).
_PAIR_PARTS = ("经纬度", "lnglat", "lonlat", "经度纬度", "location")
_LATLON_PARTS = ("latlng", "latlon", "纬度经度", "纬经度")
_LON_PARTS = ("经度",)
_LAT_PARTS = ("纬度",)
_LON_TOKEN = re.compile(r"(^|[^a-z])(lng|lon|longitude)([^a-z]|$)")
_LAT_TOKEN = re.compile(r"(^|[^a-z])(lat|latitude)([^a-z]|$)")
_PAIR_SEP = re.compile(r"\s*[,，;；]\s*|\s+")
_UNNAMED = re.compile(r"^Unnamed: \d+(_level_\d+)?$")


def rows_text(rows: Sequence[Any], limit: int = 8) -> str:
    """``"2, 3, 5 and 4 more"``: the first ``limit`` row labels and how many are not shown."""
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:limit])
    more = len(rows) - limit
    return shown + (f" and {more} more" if more > 0 else "")


@dataclass
class Table:
    """A table as read, with how its rows are named for the user.

    Attributes
    ----------
    frame : the data (a GeoDataFrame for GIS layers), blank spreadsheet rows removed.
    name : the file name (``"名单.csv"``) or ``"table"`` for a frame given in memory.
    stem : the file name without suffix (``"table"`` for frames), the default source label.
    labels : one label per row of ``frame``: spreadsheet row numbers for CSV/Excel (the first data
        row is 2, or 3 under a two-row header), else the index labels.
    row_note : how to read ``labels`` (printed after row lists in messages).
    header_rows : header rows above the data in a spreadsheet (1, or 2 for a two-row header; 0
        for layers and frames).
    is_file : False for a frame given in memory.
    """

    frame: pd.DataFrame
    name: str
    stem: str
    labels: np.ndarray
    row_note: str
    header_rows: int = 1
    is_file: bool = field(default=True)

    def rows(self, mask: np.ndarray, limit: int = 8) -> str:
        """``"rows 3, 5 (spreadsheet row numbers; the header is row 1)"`` for a boolean mask."""
        return f"rows {rows_text(list(self.labels[mask]), limit)} ({self.row_note})"

    @property
    def geometry_name(self) -> str | None:
        """Name of the geometry column, None for plain tables."""
        return geometry_name(self.frame)

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the rows where ``mask`` is true (frame and labels together)."""
        self.frame = self.frame.loc[mask]
        self.labels = self.labels[mask]


def geometry_name(df: pd.DataFrame) -> str | None:
    """Name of the active geometry column of a GeoDataFrame, None for a plain table."""
    import geopandas as gpd

    if not isinstance(df, gpd.GeoDataFrame):
        return None
    try:
        return df.geometry.name
    except AttributeError:  # a GeoDataFrame without an active geometry column
        return None


def read_table(
    obj: Any, encoding: str | None = None, sheet: str | int | None = None, what: str = "table"
) -> Table:
    """Read a table file or take a (Geo)DataFrame; see the module docstring for the formats.

    Parameters
    ----------
    obj : a path or a (Geo)DataFrame (copied).
    encoding : text encoding of CSV files (default: detected).
    sheet : Excel sheet or GeoPackage layer (default: the first).
    what : what the table is (``"facilities"``, ``"communities"``), for messages.
    """
    import geopandas as gpd

    if isinstance(obj, pd.DataFrame):
        if len(obj) == 0:
            raise InputError(f"the {what} table is empty (no rows)")
        frame = obj.copy()
        labels = np.asarray(frame.index, dtype=object)
        table = _drop_blank_rows(Table(frame, "table", "table", labels, "index labels", 0, False))
        if len(table.frame) == 0:
            raise InputError(f"the {what} table has only blank rows")
        return table
    if not isinstance(obj, (str, Path)):
        raise InputError(
            f"expected a file path or a (Geo)DataFrame for the {what}, got {type(obj).__name__}"
        )
    path = Path(obj)
    if not path.exists():
        raise InputError(f"file not found: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a table file")
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES or suffix in EXCEL_SUFFIXES:
        if path.stat().st_size == 0:
            raise InputError(
                f"{path.name}: the file is empty (0 bytes); export the table again "
                "(in Excel: Save As → CSV UTF-8 or .xlsx)"
            )
        frame = _read_csv(path, encoding) if suffix in CSV_SUFFIXES else _read_excel(path, sheet)
        frame, header_rows = _merge_two_row_header(frame, path.name)
        first = header_rows + 1
        note = (
            "spreadsheet row numbers; the header is row 1"
            if header_rows == 1
            else f"spreadsheet row numbers; the header is rows 1-{header_rows}"
        )
        labels = np.arange(len(frame)) + first
        table = Table(frame, path.name, path.stem, labels, note, header_rows)
    elif suffix == ".parquet" or suffix in GIS_SUFFIXES:
        frame = _read_gis(path, sheet, gpd)
        labels = np.asarray(frame.index, dtype=object)
        table = Table(frame, path.name, path.stem, labels, "feature numbers from 0", 0)
    elif is_osm_file(path):
        raise InputError(
            f"{path.name} is an OSM file, not a table: read facilities with "
            "lifecircle.facilities_from_osm, buildings with "
            "lifecircle.communities.buildings_from_osm"
        )
    else:
        raise InputError(
            f"don't know how to read {path.name}: expected .csv, .xlsx, .gpkg, .geojson, "
            ".shp or .parquet"
        )
    table = _drop_blank_rows(table)
    if len(table.frame) == 0:
        raise InputError(f"{path.name}: the table has no rows (only a header?)")
    return table


def _read_csv(path: Path, encoding: str | None) -> pd.DataFrame:
    text, used = decode_text(path.read_bytes(), path.name, encoding)
    if encoding is None:
        log.info("%s: read as %s", path.name, used)
    if not text.strip():
        raise InputError(f"{path.name}: the file holds no text (only blanks); export it again")
    sep = "\t" if path.suffix.lower() == ".tsv" else _sniff_sep(text)
    try:
        return pd.read_csv(
            StringIO(text),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(
            f"{path.name}: cannot read as a table ({exc}); check that every row has the same "
            "number of separators, or save it as .xlsx"
        ) from None


def _sniff_sep(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {sep: first.count(sep) for sep in (",", "\t", ";", "|")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] > 0 else ","


def _read_excel(path: Path, sheet: str | int | None) -> pd.DataFrame:
    try:
        return pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=str)
    except ValueError as exc:
        raise InputError(f"{path.name}: {exc}") from None
    except ImportError as exc:  # .xls needs xlrd
        raise InputError(
            f"{path.name}: cannot read this Excel format ({exc}); save it as .xlsx"
        ) from None
    except Exception as exc:  # a damaged or mislabelled file (zipfile, openpyxl errors)
        raise InputError(
            f"{path.name}: cannot read as an Excel workbook ({type(exc).__name__}: {exc}); "
            "open it in Excel and save it again as .xlsx"
        ) from None


def _read_gis(path: Path, layer: str | int | None, gpd: Any) -> pd.DataFrame:
    try:
        if path.suffix.lower() == ".parquet":
            try:
                return gpd.read_parquet(path)
            except (ValueError, KeyError):
                return pd.read_parquet(path)
        return gpd.read_file(path, layer=layer) if layer is not None else gpd.read_file(path)
    except Exception as exc:  # pyogrio and pyarrow raise several kinds
        raise InputError(
            f"{path.name}: cannot read: {exc}. Is it a complete GeoPackage/GeoJSON/Shapefile "
            "(a .shp needs its .shx and .dbf beside it)? Open it in QGIS to check"
        ) from exc


def _drop_blank_rows(table: Table) -> Table:
    """Blank rows of a spreadsheet are not data (no value and no geometry)."""
    df = table.frame
    geom = table.geometry_name
    data_cols = [c for c in df.columns if c != geom]
    blank = df[data_cols].isna().all(axis=1).to_numpy()
    if geom is not None:
        blank = blank & df.geometry.isna().to_numpy()
    if blank.any():
        table.keep(~blank)
    return table


def _is_number(v: Any) -> bool:
    try:
        float(fold(v).replace("°", ""))
    except ValueError:
        return False
    return True


def _merge_two_row_header(df: pd.DataFrame, name: str) -> tuple[pd.DataFrame, int]:
    """A header over two rows (``坐标`` merged over ``经度``/``纬度`` below it) as one row.

    Recognised when some header cells are blank (pandas names them ``Unnamed: n``), the first row
    below has text in those columns, and that row holds no number at all, only short texts. Each column then takes
    the name in the second row (``经度``), or the one above it when the second row is blank there;
    a name that would repeat gets the one above as a prefix (``高德坐标经度``).
    """
    if len(df) == 0:
        return df, 1
    cols = [str(c) for c in df.columns]
    unnamed = [bool(_UNNAMED.match(c)) for c in cols]
    first = [None if pd.isna(v) or not str(v).strip() else str(v).strip() for v in df.iloc[0]]
    if not any(u and f for u, f in zip(unnamed, first, strict=True)):
        return df, 1
    filled = [f for f in first if f]
    if len(filled) < 2 or any(_is_number(f) or len(f) > 20 for f in filled):
        return df, 1
    names, above = [], ""
    for col, is_blank, below in zip(cols, unnamed, first, strict=True):
        above = above if is_blank else col
        names.append(below or above)
    counts = pd.Series(names).value_counts()
    above = ""
    final = []
    for col, is_blank, nm in zip(cols, unnamed, names, strict=True):
        above = above if is_blank else col
        final.append(f"{above}{nm}" if counts[nm] > 1 and above != nm else nm)
    out = df.iloc[1:].copy()
    out.columns = final
    log.info("%s: two header rows read as one: %s", name, ", ".join(final))
    return out, 2


# ---------------------------------------------------------------------- finding columns
def find_column(
    columns: Sequence[Any],
    given: Any,
    names: Sequence[str],
    what: str,
    parts: Sequence[str] = (),
    token: re.Pattern[str] | None = None,
    taken: Iterable[Any] = (),
    where: str = "",
) -> Any:
    """The column for ``what``: the one given, else the first recognised header, else None.

    Headers are compared through :func:`lifecircle._text.key` (case, width, spaces and
    punctuation ignored), in the order of ``names``; then a header containing one of ``parts``, or
    matching ``token`` (on the folded header), if exactly one does. Columns in ``taken`` are
    skipped. Several candidates by part or token raise :class:`~lifecircle.InputError` asking
    which one; a ``given`` name that is not a column raises too.
    """
    prefix = f"{where}: " if where else ""
    if given is not None:
        if given in columns:
            return given
        raise InputError(
            f"{prefix}column {given!r} ({what}) not found; the table has columns "
            f"{', '.join(map(str, columns))}"
        )
    taken_set = {t for t in taken if t is not None}
    free = [c for c in columns if c not in taken_set]
    norm = {c: key(c) for c in free}
    for n in names:
        wanted = key(n)
        hits = [c for c in free if norm[c] == wanted]
        if hits:
            return hits[0]
    hits = [c for c in free if any(p in norm[c] for p in parts)]
    if token is not None:
        hits += [c for c in free if token.search(fold(c)) and c not in hits]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise InputError(
            f"{prefix}several columns could hold the {what}: {', '.join(map(str, hits))}; "
            f"say which one, e.g. {what.split()[0]}={hits[0]!r}"
        )
    return None


@dataclass
class LonLat:
    """The longitude and latitude columns found by :func:`find_lonlat`.

    ``split`` names the combined column they were split out of (its two parts were added to the
    frame as ``<column>:经度`` and ``<column>:纬度``, listed in ``synthetic``), else None.
    """

    lon: Any
    lat: Any
    split: Any = None
    synthetic: list[str] = field(default_factory=list)


def _pair_order(col: Any) -> bool | None:
    """None if ``col`` is not a combined lon/lat header, else True when latitude comes first."""
    k = key(col)
    if k in {key(n) for n in LATLON_NAMES} or any(p in k for p in _LATLON_PARTS):
        return True
    if k in {key(n) for n in LOC_NAMES} or any(p in k for p in _PAIR_PARTS):
        return False
    return None


def find_lonlat(
    df: pd.DataFrame, lon: Any = None, lat: Any = None, where: str = "table", exclude: Any = None
) -> LonLat:
    """Find the longitude and latitude columns of ``df`` (Chinese or English headers).

    Separate columns (``经度``/``纬度``, ``lng``/``lat``, ``x坐标`` ...) win; without them a single
    column of ``"lng,lat"`` text (headers ``经纬度``, ``坐标``, ``location``, ``lng,lat``; ``latlng``
    for latitude first; values separated by a comma, full-width comma, semicolon or space) is
    split into two new columns of ``df``, in place. ``exclude`` is a column never used (the
    geometry). Raises :class:`~lifecircle.InputError` when neither is found, naming the columns
    and the fix.
    """
    cols = [c for c in df.columns if c != exclude]
    pairs = [c for c in cols if _pair_order(c) is not None and c not in (lon, lat)]
    single = [c for c in cols if c not in pairs]
    lon_col = find_column(
        cols if lon is not None else single,
        lon,
        LON_NAMES,
        "lon column (longitude, 经度)",
        _LON_PARTS,
        _LON_TOKEN,
        [lat],
    )
    lat_col = find_column(
        cols if lat is not None else single,
        lat,
        LAT_NAMES,
        "lat column (latitude, 纬度)",
        _LAT_PARTS,
        _LAT_TOKEN,
        [lon_col],
    )
    if lon is None and lat is None and lon_col is None and lat_col is None and pairs:
        names = LOC_NAMES + LATLON_NAMES
        loc = find_column(pairs, None, names, "location column (经纬度)", [key(c) for c in pairs])
        return split_pairs(df, loc, lat_first=bool(_pair_order(loc)))
    if lon_col is None or lat_col is None:
        missing = " and ".join(
            w for w, c in (("longitude", lon_col), ("latitude", lat_col)) if c is None
        )
        raise InputError(
            f"{where}: cannot find the {missing} column; the table has columns "
            f"{', '.join(map(str, cols))}. Name them 经度/纬度 (or lng/lat), or pass lon='...' "
            "and lat='...'"
        )
    return LonLat(lon_col, lat_col)


def split_pairs(df: pd.DataFrame, col: Any, lat_first: bool = False) -> LonLat:
    """Split a column of ``"120.75,30.74"`` text into two new columns of ``df``, in place."""
    text = df[col].astype("string").str.strip()
    parts = text.str.split(_PAIR_SEP, n=1, regex=True)
    lon_col, lat_col = f"{col}:经度", f"{col}:纬度"
    first, second = parts.str[0].str.strip(), parts.str[1].str.strip()
    df[lon_col], df[lat_col] = (second, first) if lat_first else (first, second)
    log.info(
        "reading longitude, latitude from the %r column ('%s' text)",
        col,
        "lat,lng" if lat_first else "lng,lat",
    )
    return LonLat(lon_col, lat_col, split=col, synthetic=[lon_col, lat_col])


def read_counts(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts from a column (residents, beds …), read by :func:`~lifecircle._text.count_value`:
    ``(values, unreadable, from_text)``: the numbers (NaN where blank or unreadable), the cells
    that are not blank but hold no count (``"120-150"``, words), and the cells read from text
    that is not a plain number (``"1,050"``, ``"约900人"``, ``"1.2万"``), for the caller to name."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        n = len(values)
        return values.to_numpy(dtype="float64", na_value=np.nan), np.zeros(n, bool), np.zeros(n, bool)
    nums = np.array([count_value(v) for v in values], dtype="float64")
    text = values.astype("string").str.strip()
    blank = text.isna().to_numpy() | (text == "").fillna(True).to_numpy()
    plain = pd.to_numeric(values.mask(blank), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return nums, np.isnan(nums) & ~blank, ~np.isnan(nums) & np.isnan(plain)


def shown_values(values: pd.Series, mask: np.ndarray, read: np.ndarray | None = None, limit: int = 5) -> str:
    """The first ``limit`` cells at ``mask``, quoted (with what they were read as, given
    ``read``), for messages: ``'1,050' → 1,050, '约40' → 40``."""
    cells = values[mask].head(limit).tolist()
    if read is None:
        return ", ".join(repr(v) for v in cells)
    got = read[mask][:limit]
    return ", ".join(f"{v!r} → {g:,.10g}" for v, g in zip(cells, got, strict=True))


def coerce_numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Numbers from a column of coordinates: ``(values, not-a-number mask)``; blanks are NaN but
    not flagged (full-width digits and a trailing ``°`` are accepted)."""
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype="float64", na_value=np.nan), np.zeros(len(values), bool)
    text = values.astype("string").str.strip().str.replace("°", "", regex=False)
    text = text.map(lambda s: fold(s) if isinstance(s, str) else s)
    num = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    blank = text.isna().to_numpy() | (text == "").fillna(True).to_numpy()
    bad = np.isnan(num) & ~blank
    return num, bad
