"""The documentation that is generated or quoted from code stays in step with it."""

from __future__ import annotations

import importlib.util
import re

from conftest import ROOT


def test_api_reference_is_current():
    spec = importlib.util.spec_from_file_location("make_api", ROOT / "docs" / "make_api.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    current = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert current == mod.render(), "docs/api.md is stale: run python docs/make_api.py"


def test_outputs_doc_is_current():
    spec = importlib.util.spec_from_file_location("make_api", ROOT / "docs" / "make_api.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    current = (ROOT / "docs" / "outputs.md").read_text(encoding="utf-8")
    assert current == mod.render_outputs(current), "docs/outputs.md is stale: run docs/make_api.py"


def test_cli_doc_quotes_the_config_template_and_all_keys():
    from lifecircle.config import SCHEMA, TEMPLATE

    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert TEMPLATE.format(name="lifecircle.toml").strip() in doc
    for section, keys in SCHEMA.items():
        for key in keys:
            assert f"`{key}`" in doc, f"{section}.{key}"


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1).strip().splitlines()
    assert len(block) == 2
    assert "lifecircle demo" in block[0] and "pytest" in block[1]
    # the CI script runs exactly these lines
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "readme_cmd 1" in ci and "readme_cmd 2" in ci


def test_warnings_show_until_logging_is_configured():
    """In Jupyter nobody configures logging: lifecircle's warnings must still show (stderr)."""
    import subprocess
    import sys

    code = (
        "import logging, lifecircle as lc\n"
        "logging.getLogger('lifecircle.x').warning('visible before')\n"
        "logging.getLogger('lifecircle.x').info('info stays quiet')\n"
        "logging.basicConfig(format='ROOT %(message)s')\n"
        "logging.getLogger('lifecircle.x').warning('once after')\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert r.returncode == 0, r.stderr
    assert "WARNING lifecircle.x: visible before" in r.stderr
    assert "info stays quiet" not in r.stderr
    assert r.stderr.count("once after") == 1 and "ROOT once after" in r.stderr
