"""The lint gate: ruff (complexity, docstrings, imports) and tools/check_layout.py (function
length, private names, one-way imports) pass on the whole repository — see docs/architecture.md."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT


def _check_layout():
    spec = importlib.util.spec_from_file_location(
        "check_layout", ROOT / "tools" / "check_layout.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_ruff_passes():
    ruff = shutil.which("ruff") or str(ROOT / ".venv" / "bin" / "ruff")
    cmd = [ruff] if shutil.which(ruff) else [sys.executable, "-m", "ruff"]
    r = subprocess.run(
        [*cmd, "check", "src", "tests", "benchmarks", "tools", "docs", "sample_data", "notebooks"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr


def test_layout_rules_hold():
    mod = _check_layout()
    problems = [p for f in sorted(mod.PKG.rglob("*.py")) for p in mod.check_file(f)]
    assert problems == []


def test_layout_checker_catches_what_it_should(tmp_path, monkeypatch):
    mod = _check_layout()
    pkg = tmp_path / "src" / "lifecircle"
    (pkg / "analysis").mkdir(parents=True)
    long_body = "\n".join(f"    x{i} = {i}" for i in range(81))
    (pkg / "analysis" / "bad.py").write_text(
        textwrap.dedent(
            """
            from ..network.graph import _helper
            from ..outputs.map import shortfall_map

            def lazy():
                from ..outputs import tables
                return tables

            def reach_in(net):
                return net._snap(1)
            """
        )
        + "\ndef long():\n"
        + long_body
        + "\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(mod, "ROOT", tmp_path)
    monkeypatch.setattr(mod, "PKG", pkg)
    problems = mod.check_file(pkg / "analysis" / "bad.py")
    text = "\n".join(problems)
    assert "imports private name _helper" in text
    assert "analysis imports outputs (a later stage)" in text  # at the top level
    assert "inside a function" not in text  # Analysis.map()/to_excel() may import lazily
    assert "private attribute ._snap" in text
    assert "long() has 82 lines of code" in text  # the def line and 81 body lines
    assert len(problems) == 4


@pytest.mark.parametrize("name", ["py.typed"])
def test_typed_package(name):
    assert (ROOT / "src" / "lifecircle" / name).exists()
