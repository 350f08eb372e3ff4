"""Shared fixtures: paths to ../shared data, and skip rules.

Tests that need ``../shared`` skip with a reason where it is absent (a user's clone). In CI
(``LIFECIRCLE_CI=1``, set by ``.ci/run``) a missing server, browser or data set fails instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LIFECIRCLE_SHARED", ROOT.parent / "shared")).resolve()
DATA = SHARED / "data"
FIXTURES = Path(__file__).parent / "data"
IN_CI = os.environ.get("LIFECIRCLE_CI") == "1"


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
