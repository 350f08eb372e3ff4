"""The command-line interface through its real entry point (a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import lifecircle as lc
from conftest import ROOT

EXE = Path(sys.executable).with_name("lifecircle")


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "lifecircle"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )


def test_profile_list_show_init(tmp_path):
    r = cli("profile", "list")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == sorted(lc.list_profiles())
    r = cli("profile", "show", "gb50180-2018")
    assert r.returncode == 0, r.stderr
    assert "五分钟生活圈居住区" in r.stdout and "kindergarten" in r.stdout
    r = cli("profile", "init", "jiaxing-yilao-yixiao", "--out", str(tmp_path / "mine.toml"))
    assert r.returncode == 0, r.stderr
    p = lc.load_profile(tmp_path / "mine.toml")
    assert p.id == "jiaxing-yilao-yixiao" and "nursery" in p.categories
    r = cli("profile", "init", "jiaxing-yilao-yixiao", "--out", str(tmp_path / "mine.toml"))
    assert r.returncode == 2 and "--force" in r.stderr


def test_bad_config_names_key_and_line(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(
        '[network]\nsource = "x.osm.pbf"\n\n[communities]\npath = "c.gpkg"\npopulaton = "人口"\n\n'
        '[analysis]\nprofile = "gb50180-2018"\n',
        encoding="utf-8",
    )
    r = cli("run", str(cfg))
    assert r.returncode == 2
    assert (
        "line 6" in r.stderr and "communities.populaton" in r.stderr and "'population'" in r.stderr
    )
    cfg.write_text(
        '[network]\nsource = "x.osm.pbf"\n[analysis]\nprofile = "gb50180-2018"\n', encoding="utf-8"
    )
    r = cli("run", str(cfg))
    assert r.returncode == 2 and "communities" in r.stderr
    cfg.write_text('[netwrk]\nsource = "x"\n', encoding="utf-8")
    r = cli("run", str(cfg))
    assert r.returncode == 2 and "line 1" in r.stderr and "[network]" in r.stderr


def test_missing_input_file_is_a_clear_error(tmp_path):
    r = cli("config", "init", "--out", str(tmp_path / "c.toml"))
    assert r.returncode == 0, r.stderr
    r = cli("--quiet", "run", str(tmp_path / "c.toml"))  # the template's paths do not exist yet
    assert r.returncode == 2
    assert "city.osm.pbf" in r.stderr and "Traceback" not in r.stderr


def test_demo_writes_everything(tmp_path):
    out = tmp_path / "demo"
    r = cli("--quiet", "demo", "--out", str(out))
    assert r.returncode == 0, r.stderr
    for name in (
        "lifecircle_shortfalls.xlsx",
        "lifecircle_shortfalls.csv",
        "lifecircle_pool.gpkg",
        "lifecircle_map.html",
    ):
        assert (out / name).stat().st_size > 0, name
    assert "短板 shortfalls" in r.stdout and str(out) in r.stdout
    pool = lc.read_pool(out / "lifecircle_pool.gpkg")
    assert len(pool) > 0 and set(pool["status"]) == {"储备"}
    # a second run keeps what planners wrote in the pool
    import sqlite3

    con = sqlite3.connect(out / "lifecircle_pool.gpkg")
    pid = pool["project_id"].iloc[0]
    con.execute(
        "UPDATE lifecircle_pool SET status = '申报', notes = '街道已上报' WHERE project_id = ?",
        (pid,),
    )
    con.commit()
    con.close()
    r = cli("--quiet", "demo", "--out", str(out))
    assert r.returncode == 0, r.stderr
    again = lc.read_pool(out / "lifecircle_pool.gpkg").set_index("project_id")
    assert again.loc[pid, "status"] == "申报" and again.loc[pid, "notes"] == "街道已上报"


def test_config_paths_are_relative_to_the_config_file(tmp_path, monkeypatch):
    from lifecircle.config import load_config

    cfg_dir = tmp_path / "cfg"
    cfg_dir.mkdir()
    (cfg_dir / "run.toml").write_text(
        '[network]\nsource = "city.osm.pbf"\n[communities]\npath = "c.gpkg"\n'
        '[analysis]\nprofile = "gb50180-2018"\n[output]\ndir = "results"\npool = "pool.gpkg"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)  # run from elsewhere
    for name in ("city.osm.pbf", "c.gpkg"):  # only their existence is checked here
        (cfg_dir / name).touch()
    cfg = load_config(cfg_dir / "run.toml")
    assert cfg.output["dir"] == cfg_dir / "results"
    assert cfg.output["pool"] == cfg_dir / "results" / "pool.gpkg"
    assert cfg.network["source"] == cfg_dir / "city.osm.pbf"
    assert cfg.communities["path"] == cfg_dir / "c.gpkg"
    # a wrong path is found when the configuration is read, before a network is loaded
    (cfg_dir / "c.gpkg").unlink()
    with pytest.raises(lc.ConfigError, match=r"run.toml, line 4: communities.path: file not found"):
        load_config(cfg_dir / "run.toml")


def test_demo_is_its_config_and_reads_right(tmp_path):
    """`lifecircle demo` writes demo.toml and `lifecircle run demo.toml` gives the same numbers;
    the sample shows all three kinds of result: communities meeting the standard, real
    shortfalls, and a category without data (issue 12.5)."""
    import openpyxl

    out = tmp_path / "demo"
    r = cli("--quiet", "demo", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert (out / "demo.toml").exists() and "lifecircle run" in r.stdout
    first = {
        row[0]: row[1]
        for row in openpyxl.load_workbook(out / "lifecircle_shortfalls.xlsx")["总体情况"].iter_rows(
            min_row=2, values_only=True
        )
    }
    # 2 of the 4 inhabited sample communities meet every required category; 1 category has no data
    assert first["达标社区比例 (全部社区)"] == 0.5 and first["缺数据未评估的类别数"] == 1
    assert first["短板数"] > 0
    r = cli("--quiet", "run", str(out / "demo.toml"))
    assert r.returncode == 0, r.stderr
    again = {
        row[0]: row[1]
        for row in openpyxl.load_workbook(out / "lifecircle_shortfalls.xlsx")["总体情况"].iter_rows(
            min_row=2, values_only=True
        )
    }
    assert {k: v for k, v in again.items() if not k.startswith("分析时间")} == {
        k: v for k, v in first.items() if not k.startswith("分析时间")
    }  # fmt: skip


def test_config_template_runs_after_editing_only_the_paths(tmp_path):
    from lifecircle.cli import sample_dir

    d = sample_dir()
    r = cli("config", "init", "--out", str(tmp_path / "c.toml"))
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "c.toml").read_text(encoding="utf-8")
    text = text.replace('"city.osm.pbf"', f'"{(d / "helsinki_centre.osm.pbf").as_posix()}"')
    text = text.replace(
        '"communities.gpkg"', f'"{(d / "helsinki_communities.geojson").as_posix()}"'
    )
    (tmp_path / "c.toml").write_text(text, encoding="utf-8")
    r = cli("run", str(tmp_path / "c.toml"))
    assert r.returncode == 0, r.stderr
    assert "Give buildings=" not in r.stderr and "Traceback" not in r.stderr
    assert (tmp_path / "lifecircle_output" / "lifecircle_shortfalls.xlsx").exists()
    # the summary says how many categories could not be assessed and what the share counts
    assert "无数据未评估" in r.stdout and "全部社区" in r.stdout


def test_run_errors_name_the_config_key_and_line(tmp_path):
    from lifecircle.cli import sample_dir

    d = sample_dir()
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[network]\nsource = "{(d / "helsinki_centre.osm.pbf").as_posix()}"\n\n'
        f'[communities]\npath = "{(d / "helsinki_communities.geojson").as_posix()}"\n\n'
        '[demand]\nbuildings = "osm"\nmissing_population = "error"\n\n'
        '[analysis]\nprofile = "jiaxing-yilao-yixiao"\n',
        encoding="utf-8",
    )
    r = cli("--quiet", "run", str(cfg))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "line 7" in r.stderr and "demand" in r.stderr
    assert '[demand] missing_population = \\"zero\\"' in r.stderr or (
        '[demand] missing_population = "zero"' in r.stderr
    )


def test_output_dir_that_is_a_file_is_a_clear_error(tmp_path):
    from lifecircle.cli import sample_dir

    d = sample_dir()
    (tmp_path / "results").write_text("not a folder", encoding="utf-8")
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[network]\nsource = "{(d / "helsinki_centre.osm.pbf").as_posix()}"\n'
        f'[communities]\npath = "{(d / "helsinki_communities.geojson").as_posix()}"\n'
        '[analysis]\nprofile = "gb50180-2018"\n[output]\ndir = "results"\n',
        encoding="utf-8",
    )
    r = cli("run", str(cfg))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "line 8" in r.stderr and "output.dir" in r.stderr and "is a file" in r.stderr


def _sample_config(tmp_path: Path, output: str) -> Path:
    """``c.toml`` in ``tmp_path``: the bundled sample, and ``output`` as its [output] section."""
    from lifecircle.cli import sample_dir

    d = sample_dir()
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[network]\nsource = "{(d / "helsinki_centre.osm.pbf").as_posix()}"\n'
        f'[communities]\npath = "{(d / "helsinki_communities.geojson").as_posix()}"\n'
        '[demand]\nmissing_population = "zero"\n'
        '[analysis]\nprofile = "jiaxing-yilao-yixiao"\n'
        f"[output]\n{output}",
        encoding="utf-8",
    )
    return cfg


def test_a_failed_pool_export_leaves_no_files_of_the_run(tmp_path):
    """Outputs are written in a temporary folder and moved in only when the pool export worked:
    a pool that cannot be written leaves nothing of that run behind (issue 13)."""
    out = tmp_path / "results"
    out.mkdir()
    (out / "broken.gpkg").write_bytes(b"this is not a GeoPackage")
    cfg = _sample_config(
        tmp_path, 'dir = "results"\nformats = ["xlsx", "csv", "gpkg"]\npool = "broken.gpkg"\n'
    )
    r = cli("--quiet", "run", str(cfg))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "output.pool" in r.stderr and "broken.gpkg" in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["broken.gpkg"]


def test_version_global_options_after_the_subcommand_and_profile_show(tmp_path):
    r = cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"lifecircle {lc.__version__}"
    r = cli("profile", "show")
    assert r.returncode == 2 and "gb50180-2018" in r.stdout and "needs a name" in r.stdout
    r = cli("demo", "--quiet", "--lang", "en", "--out", str(tmp_path / "d"))
    assert r.returncode == 0, r.stderr
    assert "shortfalls:" in r.stdout and "短板" not in r.stdout
    assert 'lang = "en"' in (tmp_path / "d" / "demo.toml").read_text(encoding="utf-8")


_RESULTS = 'dir = "results"\nformats = ["csv"]\nmap = false\n'


def test_run_records_itself_in_the_pool_history(tmp_path):
    """`lifecircle run` adds the run to the GeoPackage pool's run history, with the figures of
    its summary; running the same inputs again replaces the row (same run id);
    ``record_run = false`` records nothing."""
    cfg = _sample_config(tmp_path, _RESULTS)
    r = cli("--quiet", "run", str(cfg))
    assert r.returncode == 0, r.stderr
    pool = tmp_path / "results" / "lifecircle_pool.gpkg"
    runs = lc.read_runs(pool)
    assert len(runs) == 1
    rec = lc.read_run(pool, runs["run_id"].iloc[0])
    assert rec.profile == "jiaxing-yilao-yixiao"
    assert rec.summary["communities"] == int(runs["communities"].iloc[0]) == 6  # the sample's
    assert rec.summary["share_meeting_standard"] == runs["share_meeting_standard"].iloc[0]
    assert rec.summary["shortfalls"] == int(runs["shortfalls"].iloc[0]) > 0
    assert cli("--quiet", "run", str(cfg)).returncode == 0
    assert list(lc.read_runs(pool)["run_id"]) == list(runs["run_id"])

    off = tmp_path / "off"
    off.mkdir()
    cfg = _sample_config(off, _RESULTS + "record_run = false\n")
    assert cli("--quiet", "run", str(cfg)).returncode == 0
    assert len(lc.read_pool(off / "results" / "lifecircle_pool.gpkg")) > 0
    assert len(lc.read_runs(off / "results" / "lifecircle_pool.gpkg")) == 0
