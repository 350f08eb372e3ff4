"""Exports wait for each other, but not forever; a server that never answers is reported.

Another process holding a file pool's lock, QGIS/another session holding the PostgreSQL table,
another program saving the file between our read and our write, and a PostgreSQL port that
accepts the connection but never answers: each ends in a PoolError saying what happened, and
the pool holds exactly what was written.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import test_pool
from conftest import ROOT
from lifecircle import PoolError, export_pool, read_pool
from lifecircle.outputs.pool import api, postgis
from lifecircle.outputs.pool.locking import replace_unless_changed, signature, write_retrying
from test_pool import PG_URL, frame, p3, project, three

pg_engine = test_pool.pg_engine  # the PostgreSQL fixtures of test_pool
pg_schema = test_pool.pg_schema

HOLD_LOCK = """
import sys
from pathlib import Path
from lifecircle.outputs.pool.locking import exclusive
with exclusive(Path(sys.argv[1]), 30):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def hold_lock(path: Path) -> subprocess.Popen:
    """Another process holding the pool's lock until it reads a line (or is killed)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    assert proc.stdout.readline().strip() == "locked"
    return proc


@pytest.mark.parametrize("fmt", ["gpkg", "xlsx", "csv", "geojson"])
def test_a_file_pool_being_written_makes_the_next_export_wait_then_fail(tmp_path, fmt):
    path = tmp_path / f"pool.{fmt}"
    export_pool(frame(project(1)), path, run_id="r1")
    before = path.read_bytes()
    holder = hold_lock(path)
    try:
        start = time.monotonic()
        with pytest.raises(PoolError, match="is being written by another process; try again"):
            export_pool(three(), path, run_id="r2", lock_timeout_s=0.5)
        assert 0.5 <= time.monotonic() - start < 5
        assert path.read_bytes() == before
    finally:
        holder.communicate("done\n", timeout=30)
    report = export_pool(three(), path, run_id="r2", lock_timeout_s=5)
    assert (report.added, report.total) == (2, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"pool.{fmt}"]


def test_a_crashed_export_does_not_block_the_next(tmp_path):
    path = tmp_path / "pool.xlsx"
    holder = hold_lock(path)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    assert (tmp_path / "pool.xlsx.lock").exists()  # left behind, but nobody holds it
    start = time.monotonic()
    assert export_pool(three(), path, run_id="r1", lock_timeout_s=5).added == 3
    assert time.monotonic() - start < 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pool.xlsx"]


def planner_saves(path: Path, note: str) -> None:
    """Another program (Excel, a script) writes a note into the first project of the file."""
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
        rows[1][rows[0].index("备注")] = note
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows(rows)
    elif path.suffix == ".xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path)
        ws = wb["lifecircle_pool"]
        ws.cell(2, [c.value for c in ws[1]].index("备注") + 1, note)
        wb.save(path)
    elif path.suffix == ".geojson":
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc["features"][0]["properties"]["notes"] = note
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def changing_merge(monkeypatch, change, times: int) -> list:
    """Make another program change the file while the export merges, the first ``times`` times."""
    calls = []
    original = api.merge

    def merge(*args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            change(len(calls))
        return original(*args, **kwargs)

    monkeypatch.setattr(api, "merge", merge)
    return calls


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "geojson"])
def test_a_file_saved_by_another_program_during_the_export_is_read_again(
    tmp_path, monkeypatch, fmt
):
    path = tmp_path / f"pool.{fmt}"
    export_pool(frame(project(1)), path, run_id="r1")
    calls = changing_merge(monkeypatch, lambda _: planner_saves(path, "规划人员刚保存"), times=1)
    report = export_pool(frame(project(1), p3()), path, run_id="r2")
    assert len(calls) == 2  # read, merged, found the file changed, read and merged again
    assert (report.added, report.unchanged, report.total) == (1, 1, 2)
    pool = read_pool(path).set_index("priority_rank")
    assert pool.loc[1, "notes"] == "规划人员刚保存" and pool.loc[1, "run_id"] == "r2"
    assert pool.loc[3, "community_name"] == "塘汇社区"


def test_a_file_that_keeps_changing_is_not_overwritten(tmp_path, monkeypatch):
    path = tmp_path / "pool.csv"
    export_pool(frame(project(1)), path, run_id="r1")
    calls = changing_merge(monkeypatch, lambda n: planner_saves(path, f"第{n}次保存"), times=99)
    with pytest.raises(PoolError, match="changed by another program during each of 3 tries"):
        export_pool(frame(project(1), p3()), path, run_id="r2")
    assert len(calls) == 3
    pool = read_pool(path)
    assert pool["notes"].tolist() == ["第3次保存"] and pool["run_id"].tolist() == ["r1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pool.csv"]


def appending_writer(path: Path, other_saves: int):
    """A write that appends " + ours" to what it read; another program saves the file after
    the read, on the first ``other_saves`` tries. Returns the write and the texts it read."""
    read: list[str] = []

    def write() -> int:
        seen = signature(path)
        text = path.read_text(encoding="utf-8")
        read.append(text)
        if len(read) <= other_saves:
            path.write_text(f"another program's save {len(read)}", encoding="utf-8")
        replace_unless_changed(path, lambda tmp: tmp.write_text(text + " + ours"), seen)
        return len(read)

    return write, read


def test_write_retrying_starts_over_on_the_changed_file(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("ours before", encoding="utf-8")
    write, read = appending_writer(path, other_saves=1)
    assert write_retrying(path, write, lock_timeout_s=5) == 2
    assert read == ["ours before", "another program's save 1"]
    assert path.read_text(encoding="utf-8") == "another program's save 1 + ours"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.csv"]


def test_write_retrying_gives_up_after_its_tries_and_writes_nothing(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("ours before", encoding="utf-8")
    write, read = appending_writer(path, other_saves=99)
    with pytest.raises(PoolError) as err:
        write_retrying(path, write, lock_timeout_s=5, tries=2, label="the run history X")
    assert str(err.value) == (
        "the run history X was changed by another program during each of 2 tries; nothing was "
        "written. Close the program that keeps saving it (Excel, WPS, a sync tool) and try again."
    )
    assert len(read) == 2 and path.read_text(encoding="utf-8") == "another program's save 2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.csv"]


def test_a_new_geopackage_created_meanwhile_is_merged_into(tmp_path, monkeypatch):
    # Another program creates the GeoPackage while this export builds a new one beside it.
    path, theirs = tmp_path / "pool.gpkg", tmp_path / "theirs" / "pool.gpkg"
    export_pool(frame(project(1)), theirs, run_id="theirs")
    calls = changing_merge(monkeypatch, lambda _: shutil.copy(theirs, path), times=1)
    report = export_pool(frame(p3()), path, run_id="ours")
    assert len(calls) == 2 and (report.added, report.retired, report.total) == (1, 1, 2)
    assert sorted(read_pool(path)["run_id"]) == ["ours", "theirs"]


# --------------------------------------------------------------------------------------------
# PostgreSQL


@pytest.mark.postgis
def test_postgis_table_held_by_another_session_times_out(pg_engine, pg_schema):
    import psycopg

    export_pool(frame(project(1)), PG_URL, schema=pg_schema, run_id="r1")
    with psycopg.connect(PG_URL) as other:  # e.g. a QGIS editing session on the table
        other.execute(f'LOCK TABLE "{pg_schema}".lifecircle_pool IN EXCLUSIVE MODE')
        start = time.monotonic()
        with pytest.raises(PoolError, match="is being written by another process; try again"):
            export_pool(three(), PG_URL, schema=pg_schema, run_id="r2", lock_timeout_s=1)
        assert time.monotonic() - start < 6
        other.rollback()
    assert read_pool(PG_URL, schema=pg_schema)["run_id"].tolist() == ["r1"]
    assert export_pool(three(), PG_URL, schema=pg_schema, run_id="r2").added == 2


@pytest.mark.postgis
def test_postgis_export_waits_for_another_export_of_the_same_pool(pg_engine, pg_schema):
    import psycopg

    with psycopg.connect(PG_URL) as other:  # an export of the same new pool, mid-transaction
        other.execute(
            "SELECT pg_advisory_xact_lock(CAST(%s AS integer), hashtext(%s || '.' || %s))",
            (postgis.LOCK_SPACE, pg_schema, "lifecircle_pool"),
        )
        with pytest.raises(PoolError, match="is being written by another process"):
            export_pool(three(), PG_URL, schema=pg_schema, run_id="r1", lock_timeout_s=1)
        other.rollback()
    report = export_pool(three(), PG_URL, schema=pg_schema, run_id="r1")
    assert (report.added, report.total) == (3, 3)


class SilentServer:
    """A TCP server that accepts connections and never answers (a wrong port, a stuck proxy)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def test_a_postgresql_port_that_never_answers_fails_within_the_timeout():
    server = SilentServer()
    url = f"postgresql://planner@127.0.0.1:{server.port}/gis"
    try:
        for call in (lambda: export_pool(three(), url, connect_timeout_s=2),
                     lambda: read_pool(url, connect_timeout_s=2)):  # fmt: skip
            start = time.monotonic()
            with pytest.raises(PoolError, match=f"127.0.0.1:{server.port} did not answer within"):
                call()
            assert 2 <= time.monotonic() - start < 6
        assert len(server.held) == 2  # the connections were accepted, then nothing came back
    finally:
        server.close()


def test_a_closed_postgresql_port_is_named():
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    with pytest.raises(PoolError, match=f"cannot connect to PostgreSQL at 127.0.0.1:{port}"):
        export_pool(three(), f"postgresql://planner@127.0.0.1:{port}/gis")
