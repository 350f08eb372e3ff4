#!/usr/bin/env python
"""Write docs/api.md from the docstrings of lifecircle's public API (``lifecircle.__all__``).

Run from the repository root: ``python docs/make_api.py``. A test checks the file is current.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

import lifecircle as lc  # noqa: E402
from lifecircle._deprecated import MOVED, REPLACED  # noqa: E402

SECTIONS = [
    ("Network", ["load_network", "WalkNetwork", "Snapped", "Reach", "Pairs", "ComponentReport"]),
    ("Standards", ["load_profile", "list_profiles", "Profile", "Level", "Category"]),
    (
        "Facilities and coordinates",
        [
            "facilities_from_osm",
            "load_facilities",
            "merge_duplicates",
            "to_wgs84",
            "parse_coord_system",
            "detect_offset",
        ],
    ),
    ("Communities", ["load_communities", "demand_points", "Demand"]),
    ("Analysis", ["analyze", "Analysis", "AnalysisParams"]),
    (
        "Siting and programme",
        [
            "user_candidates",
            "Candidates",
            "siting_problem",
            "SitingProblem",
            "optimal_sites",
            "SitingPlan",
            "Solution",
            "plan_programme",
            "ProgrammeParams",
            "Programme",
            "programme_projects",
        ],
    ),
    ("Isochrones", ["isochrones", "covered_area"]),
    ("Map", ["shortfall_map", "save_map"]),
    ("Reserve pool", ["export_pool", "read_pool", "PoolReport"]),
    ("Monitoring", ["report", "compare", "Comparison", "RunRecord", "record_run", "read_runs",
                    "read_run", "Scenario", "load_survey", "Survey", "residents_voice", "Voice"]),  # fmt: skip
    (
        "Errors",
        [
            "LifecircleError",
            "InputError",
            "CRSError",
            "NetworkError",
            "ProfileError",
            "ConfigError",
            "PoolError",
            "InfeasibleError",
        ],
    ),
]


def _doc(obj: object) -> str:
    return inspect.cleandoc(obj.__doc__ or "").strip()


def _sig(name: str, obj: object) -> str:
    try:
        return f"{name}{inspect.signature(obj)}"
    except (TypeError, ValueError):
        return name


def render() -> str:
    """The text of docs/api.md."""
    out = [
        "# Python API",
        "",
        "Generated from the docstrings by `python docs/make_api.py`; everything here is importable "
        "from `lifecircle`. The package has one folder or module per pipeline stage: `sources`, "
        "`network`, `standards`, `facilities`, `communities`, `isochrone`, `analysis`, `outputs` "
        "(`tables`, `map`, `pool`), `pipeline`, `config`, `cli` — see "
        "[architecture.md](architecture.md).",
        "",
    ]
    listed = set()
    for title, names in SECTIONS:
        names = [n for n in names if hasattr(lc, n)]
        if not names:
            continue
        out += [f"## {title}", ""]
        for name in names:
            listed.add(name)
            obj = getattr(lc, name)
            if inspect.isclass(obj) and issubclass(obj, Exception):
                out += [f"### `{name}`", "", _doc(obj), ""]
                continue
            out += [f"### `{_sig(name, obj)}`", "", "```text", _doc(obj), "```", ""]
            if inspect.isclass(obj):
                for mname, member in sorted(vars(obj).items()):
                    if mname.startswith("_"):
                        continue
                    if isinstance(member, property):
                        first = _doc(member).splitlines()[0] if _doc(member) else ""
                        out += [f"* **`{name}.{mname}`** (property) — {first}"]
                    elif callable(member) or isinstance(member, (classmethod, staticmethod)):
                        fn = (
                            member.__func__
                            if isinstance(member, (classmethod, staticmethod))
                            else member
                        )
                        first = _doc(fn).split("\n\n")[0].replace("\n", " ")
                        out += [f"* **`{name}.{_sig(mname, fn)}`** — {first}"]
                out += [""]
    rest = sorted(set(lc.__all__) - listed - {"settings", "coords"})
    if rest:
        out += ["## Other", ""] + [f"* `{n}`" for n in rest] + [""]
    out += ["## Settings", "", "```text", _doc(lc.settings), "```", ""]
    for k, v in vars(lc.settings).items():
        if k == "annotations" or k.startswith("_") or callable(v) or inspect.ismodule(v):
            continue
        out.append(f"* `lifecircle.settings.{k}` = `{v!r}`")
    out += ["", "## Deprecated names (removed in 0.3)", ""] + DEPRECATED + [""]
    return "\n".join(out) + "\n"


#: What moved in 0.2, with the new name; the old names still work and warn.
DEPRECATED = [
    *(f"* module `{old}` → `{new}`" for old, new in sorted(MOVED.items())),
    *(f"* module `{old}` → `{new}`: {why}" for old, (new, why) in sorted(REPLACED.items())),
    "* `lifecircle.isochrone.Level` → `lifecircle.isochrone.IsochroneLevel` "
    "(`lifecircle.Level` is a standard profile's life-circle level)",
    "* `WalkNetwork.snap()` returns a `Snapped` object instead of a DataFrame; "
    "`Snapped.to_frame()` gives the former DataFrame",
    "* `Reach.snaps` (a DataFrame) → `Reach.snapped` (a `Snapped`); `Reach.snaps` still works",
    "* `Analysis.sites` is read-only (set by `propose_sites`); `Analysis._site_cover` → "
    "`Analysis.site_cover`",
]


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_outputs(current: str) -> str:
    """docs/outputs.md with its generated part (between the markers) made from the label tables
    of ``lifecircle.outputs`` (sheets, columns, coded values)."""
    from lifecircle.outputs.labels import COLUMNS, VALUES, YES_NO
    from lifecircle.outputs.tables import SHEETS

    out = ["<!-- generated by docs/make_api.py: edit src/lifecircle/outputs/labels.py -->", ""]
    out += ["| attribute | sheet (中文) | sheet (English) |", "| --- | --- | --- |"]
    out += [f"| `{a}` | {zh} | {en} |" for a, zh, en in SHEETS]
    out += ["", "| column | 中文 | English | meaning |", "| --- | --- | --- | --- |"]
    out += [
        f"| `{c}` | {_cell(lb.zh)} | {_cell(lb.en)} | {_cell(lb.explanation)} |"
        for c, lb in COLUMNS.items()
    ]
    out += ["", "Coded values as the workbooks and CSV show them:", ""]
    out += ["| column | value | 中文 | English |", "| --- | --- | --- | --- |"]
    for col, table in {**VALUES, "meets_* / pop_estimated": YES_NO}.items():
        out += [f"| `{col}` | `{v}` | {zh} | {en} |" for v, (zh, en) in table.items()]
    start, end = "<!-- outputs:start -->", "<!-- outputs:end -->"
    i, j = current.index(start) + len(start), current.index(end)
    return current[:i] + "\n" + "\n".join(out) + "\n" + current[j:]


if __name__ == "__main__":
    (HERE / "api.md").write_text(render(), encoding="utf-8")
    print(f"wrote {HERE / 'api.md'}")
    outputs = HERE / "outputs.md"
    outputs.write_text(render_outputs(outputs.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {outputs}")
