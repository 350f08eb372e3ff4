"""Shared fixtures: paths to ../shared data, and skip rules.

Tests that need ``../shared`` skip with a reason where it is absent (a user's clone). In CI
(``LIFECIRCLE_CI=1``, set by ``.ci/run``) a missing server, browser or data set fails instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lifecircle import settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LIFECIRCLE_SHARED", ROOT.parent / "shared")).resolve()
DATA = SHARED / "data"
FIXTURES = Path(__file__).parent / "data"
IN_CI = os.environ.get("LIFECIRCLE_CI") == "1"


@pytest.fixture(autouse=True)
def _restore_settings():
    """lifecircle.settings as they were before each test, afterwards: a test that changes a
    setting cannot change what a later test sees."""
    saved = {
        k: v
        for k, v in vars(settings).items()
        if not k.startswith("_") and isinstance(v, bool | int | float | str)
    }
    yield
    for k, v in saved.items():
        setattr(settings, k, v)


@pytest.fixture(scope="module")
def quiet():
    """No progress bars in a test module, its module fixtures included: use it with
    ``pytestmark = pytest.mark.usefixtures("quiet")``."""
    with settings.override(progress=False):
        yield


def need(condition: bool, reason: str) -> None:
    """Skip (or, in CI, fail) when ``condition`` is false."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def shared_file(relpath: str) -> Path:
    """A file under ../shared/data, or skip with a clear reason."""
    path = DATA / relpath
    need(path.exists(), f"real data {relpath} not found under {DATA} (../shared is absent)")
    return path


@pytest.fixture(scope="session")
def nanjing_osm() -> Path:
    return shared_file("cn_nanjing_xinjiekou/nanjing_xinjiekou_osm_bbox.osm")


@pytest.fixture(scope="session")
def futian_graphml() -> Path:
    return shared_file("cn_shenzhen_futian/shenzhen_futian_osmnx_all.graphml")


@pytest.fixture(scope="session")
def liechtenstein_pbf() -> Path:
    return shared_file("intl/liechtenstein.osm.pbf")


@pytest.fixture()
def local_overpass(monkeypatch):
    """A listening local port as the Overpass endpoint, so the reachability check passes offline
    (the download itself is replaced by OSMnx's own reader in the tests that use this)."""
    import socket

    from lifecircle import settings

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    monkeypatch.setattr(settings, "overpass_url", f"http://127.0.0.1:{srv.getsockname()[1]}/api")
    yield settings.overpass_url
    srv.close()


def libreoffice_sheets(path: Path, tmp_path: Path) -> dict[str, list[list[str]]]:
    """Every sheet of a workbook as LibreOffice shows it (headless ``soffice --convert-to csv``,
    cell contents as shown: number formats applied): {sheet name: rows of text}."""
    import csv
    import shutil
    import subprocess

    need(shutil.which("soffice") is not None, "LibreOffice (soffice) is not installed")
    out = tmp_path / f"rendered-{path.stem}"
    # filter options: comma, quote, UTF-8, from line 1, -, -, not quoted as text, detect special
    # numbers, save cell contents AS SHOWN, no formulas, keep spaces, every sheet (-1)
    subprocess.run(
        ["soffice", f"-env:UserInstallation={(tmp_path / 'lo_profile').as_uri()}", "--headless",
         "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,"
         "false,-1", "--outdir", str(out), str(path)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    sheets = {}
    for f in sorted(out.glob(f"{path.stem}-*.csv")):
        name = f.stem[len(path.stem) + 1 :]
        sheets[name] = list(csv.reader(f.open(encoding="utf-8", newline="")))
    return sheets
