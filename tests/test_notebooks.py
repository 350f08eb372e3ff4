"""The notebooks in notebooks/: committed exactly as generated, and they run from top to bottom.

Each notebook is executed by a real Jupyter kernel (nbclient), offline, on the bundled sample,
with this checkout's ``src`` first on the kernel's ``PYTHONPATH`` and no ``LIFECIRCLE_*``
variables. Their temporary output folders (``tempfile.mkdtemp``) land in pytest's ``tmp_path``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import time
from pathlib import Path

import pytest

from conftest import ROOT, need

NB_DIR = ROOT / "notebooks"
NAMES = ["01_quickstart.ipynb", "02_your_own_city.ipynb", "03_custom_standard.ipynb",
         "04_campaign_monitoring.ipynb"]


def _generator():
    spec = importlib.util.spec_from_file_location("make_notebooks", NB_DIR / "make_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _jupyter():
    try:
        import nbclient
        import nbformat
    except ImportError:
        need(False, "nbclient/nbformat/ipykernel not installed: pip install -e '.[test]'")
    return nbclient, nbformat


def test_committed_notebooks_are_what_the_generator_writes():
    _jupyter()
    gen = _generator()
    assert sorted(gen.NOTEBOOKS) == NAMES
    assert sorted(p.name for p in NB_DIR.glob("*.ipynb")) == NAMES
    for name in NAMES:
        committed = (NB_DIR / name).read_text(encoding="utf-8")
        assert committed == gen.render(name), (
            f"{name} is stale: run python notebooks/make_notebooks.py"
        )
        assert '"outputs": []' in committed and '"execution_count": null' in committed


def _tagged(nb, tag: str):
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}, found {len(cells)}"
    return cells[0]


def _text(cell, kinds=("text/plain", "text/html")) -> str:
    """Everything a code cell showed: printed text and displayed results."""
    parts = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            parts.append(out["text"])
        elif out["output_type"] in ("execute_result", "display_data"):
            parts.extend(str(out["data"][k]) for k in kinds if k in out["data"])
    return "\n".join(parts)


def _stdout(cell) -> str:
    return "".join(
        o["text"]
        for o in cell.get("outputs", [])
        if o["output_type"] == "stream" and o["name"] == "stdout"
    )


def _html_rows(cell) -> int:
    html = _text(cell, kinds=("text/html",))
    body = html.split("<tbody>", 1)[1] if "<tbody>" in html else ""
    return body.count("<tr")


def _execute(name: str, tmp_path, monkeypatch):
    nbclient, nbformat = _jupyter()
    for key in [k for k in os.environ if k.startswith("LIFECIRCLE_")]:
        monkeypatch.delenv(key)
    # the kernel (and the CLI it starts) import this checkout
    monkeypatch.setenv("PYTHONPATH", str(ROOT / "src"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # tempfile.mkdtemp() in the notebooks
    work = tmp_path / "cwd"
    work.mkdir()
    nb = nbformat.read(NB_DIR / name, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    )
    t0 = time.perf_counter()
    client.execute()  # raises CellExecutionError when a cell fails
    print(f"{name}: executed in {time.perf_counter() - t0:.1f} s")
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert "Traceback" not in _text(cell), cell.source
    assert list(work.iterdir()) == [], "a notebook wrote into its working folder"
    return nb


@pytest.mark.slow
def test_quickstart(tmp_path, monkeypatch):
    nb = _execute("01_quickstart.ipynb", tmp_path, monkeypatch)
    # the kernel ran this checkout's lifecircle (sample_dir() is found next to its src/)
    assert f"sample data: {ROOT / 'sample_data'}" in _stdout(_tagged(nb, "setup"))
    assert "nursing_home" in _text(_tagged(nb, "with-bureau"))
    sf = _tagged(nb, "shortfalls")
    assert _html_rows(sf) == 10 and "仅 0% 的居民在 300 m 步行范围内" in _text(sf)
    gaps = _tagged(nb, "data-gaps")
    assert _html_rows(gaps) == 1 and "elderly_meal_aid" in _text(gaps)
    cats = _tagged(nb, "categories")
    assert _html_rows(cats) == 9 and "health_centre" in _text(cats)
    assert _html_rows(_tagged(nb, "sites")) > 0
    assert "leaflet" in _text(_tagged(nb, "map"), kinds=("text/html",)).lower()
    assert _html_rows(_tagged(nb, "pool")) == 5
    files = _text(_tagged(nb, "files"))
    for f in ("短板地图.html", "短板清单.xlsx", "补短板项目库.gpkg"):
        assert f in files


@pytest.mark.slow
def test_your_own_city(tmp_path, monkeypatch):
    nb = _execute("02_your_own_city.ipynb", tmp_path, monkeypatch)
    assert "uses the bundled sample" in _stdout(_tagged(nb, "network"))
    assert _html_rows(_tagged(nb, "bureau-table")) == 6
    err = _stdout(_tagged(nb, "no-crs"))
    assert "crs='gcj02'" in err and "does not guess" in err
    assert _html_rows(_tagged(nb, "bureau")) == 6
    shift = re.search(r"GCJ-02: \(.*?\), (\d+) m from WGS84", _stdout(_tagged(nb, "jiaxing-shift")))
    assert shift and 470 <= int(shift.group(1)) <= 510
    bd = re.search(r"BD-09: .*?, (\d+) m from WGS84", _stdout(_tagged(nb, "jiaxing-shift")))
    assert bd and 1000 <= int(bd.group(1)) <= 1200
    merged = _tagged(nb, "merged")
    # one bureau record duplicates an OSM clinic (the twin placed 0.0002° away): merged into one
    out = _stdout(merged)
    n_records, n_fac = (
        int(x) for x in re.search(r"= (\d+) records → (\d+) facilities", out).groups()
    )
    assert n_fac == n_records - 1 and _html_rows(merged) == 1
    comm = _text(_tagged(nb, "communities"))
    assert "330402001" in comm and "330402" in comm and "演示街道一" in comm
    assert _html_rows(_tagged(nb, "analysis")) == 10
    assert "名老年人未覆盖" in _text(_tagged(nb, "elderly"))
    assert "[network]" in _stdout(_tagged(nb, "config-init"))
    assert "完成 done" in _stdout(_tagged(nb, "cli-run"))
    files = _text(_tagged(nb, "run-files"))
    for f in (
        "lifecircle_shortfalls.xlsx",
        "lifecircle_shortfalls.csv",
        "补短板项目库.gpkg",
        "lifecircle_map.html",
    ):
        assert f in files


@pytest.mark.slow
def test_custom_standard(tmp_path, monkeypatch):
    nb = _execute("03_custom_standard.ipynb", tmp_path, monkeypatch)
    assert "jiaxing-yilao-yixiao" in _text(_tagged(nb, "list"))
    assert _html_rows(_tagged(nb, "gb-table")) == 38
    assert "with_distances" in _text(_tagged(nb, "with-distances"))
    typo = _stdout(_tagged(nb, "typo"))
    assert (
        "distanse_m" in typo
        and "did you mean 'distance_m'" in typo
        and re.search(r"line \d+", typo)
    )
    compare = _text(_tagged(nb, "compare"))
    assert "elderly_activity_room" in compare and "elderly_meal_aid" in compare
    assert "custom.nested_levels = False" in _stdout(_tagged(nb, "station"))


@pytest.mark.slow
def test_campaign_monitoring(tmp_path, monkeypatch):
    nb = _execute("04_campaign_monitoring.ipynb", tmp_path, monkeypatch)
    pool = _text(_tagged(nb, "pool"))
    assert "在建" in pool and " 已建成" in pool
    scenario = _stdout(_tagged(nb, "scenario"))
    assert re.search(r"<Scenario \+6 facilities", scenario), scenario
    assert _html_rows(_tagged(nb, "scenario")) > 0  # newly covered residents per category
    runs = _tagged(nb, "runs")
    assert _html_rows(runs) == 2 and "forecast" not in _text(runs)  # real runs, not a scenario
    changes = _tagged(nb, "compare")
    assert "improved" in _stdout(changes) and _html_rows(changes) >= 1
    assert "other" not in _text(changes, kinds=("text/html",))  # every change has its cause
    unmatched = _tagged(nb, "survey")
    assert _html_rows(unmatched) == 1 and "Töölö" in _text(unmatched)
    assert "covered_but_unsatisfied" in _text(_tagged(nb, "voice"))
    report = _tagged(nb, "report")
    assert "scenario" not in _text(report)  # the December run is not a scenario: no such note
    out = re.search(r"outputs: (\S+)", _stdout(report)).group(1)
    html = (Path(out) / "2026年第4季度.html").read_text(encoding="utf-8")
    assert "居民意见" in html and "覆盖达标但居民不满意" in html
    files = _stdout(report)
    for f in ("2026年第4季度.html", "2026年第4季度.xlsx", "补短板项目库.gpkg"):
        assert f in files
