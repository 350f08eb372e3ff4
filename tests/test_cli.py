"""The command-line interface through its real entry point (a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
    cfg = load_config(cfg_dir / "run.toml")
    assert cfg.output["dir"] == cfg_dir / "results"
    assert cfg.output["pool"] == cfg_dir / "results" / "pool.gpkg"
    assert cfg.network["source"] == cfg_dir / "city.osm.pbf"
    assert cfg.communities["path"] == cfg_dir / "c.gpkg"
