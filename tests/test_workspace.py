"""The workspace itself: catalog, data dictionary, lock file and environment.yml, CLI help."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import pytest

from pipelines import catalog
from pipelines.dictionary import DICTIONARY_PATH, render
from pipelines.paths import REPO_ROOT
from pipelines.schema import TABLES


def test_catalog_exposes_every_table(snapshot):
    with catalog.connect(snapshot) as con:
        views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        assert views == {t.name for t in TABLES} | {"member_events", "period_months"}
        assert con.execute("SELECT count(*), bool_and(complete) FROM period_months").fetchone() == (6, True)
        for t in TABLES:
            assert con.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0] > 0


def test_catalog_defaults_to_the_latest_snapshot(snapshot):
    with catalog.connect() as con:
        assert con.execute("SELECT count(*) FROM members").fetchone()[0] > 0


def test_catalog_settings_stay_below_the_machine(monkeypatch):
    monkeypatch.delenv("CARD_INSIGHTS_DUCKDB_MEMORY", raising=False)
    s = catalog.settings()
    ram_gb = __import__("os").sysconf("SC_PAGE_SIZE") * __import__("os").sysconf("SC_PHYS_PAGES") / 2**30
    assert int(s.memory_limit.removesuffix("GB")) < ram_gb
    with catalog.connect() as con:
        assert con.execute("SELECT current_setting('threads')").fetchone()[0] == s.threads


def test_data_dictionary_is_current_and_documents_every_column():
    text = render()
    assert DICTIONARY_PATH.read_text() == text, "run `make dictionary`"
    for t in TABLES:
        for c in t.columns:
            assert f"| `{c.name}` |" in text


def _lock_pins() -> set[str]:
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text())
    return {
        f"{p['name']}=={p['version']}"
        for p in lock["package"]
        if p.get("source", {}).get("editable") != "." and p["name"] != "card-insights"
    }


def test_environment_yml_installs_exactly_the_lock():
    text = (REPO_ROOT / "environment.yml").read_text()
    assert "- python=3.11" in text
    pins = set(re.findall(r"^\s+- [\"']?([A-Za-z0-9_.\-]+==[^\s;\"']+)", text, re.MULTILINE))
    assert pins == _lock_pins()


@pytest.mark.parametrize(
    "command",
    [
        "",
        "generate",
        "snapshots",
        "summary",
        "dictionary",
        "bench",
        "validate",
        "import",
        "expectations",
        "marts",
        "audience",
        "run",
    ],
)
def test_every_command_has_help(command):
    args = [sys.executable, "-m", "pipelines", *([command] if command else []), "--help"]
    result = subprocess.run(args, capture_output=True, text=True, check=True)
    assert "Usage" in result.stdout


def test_summary_names_the_snapshot_as_synthetic(snapshot):
    from pipelines.summary import summarise

    text = summarise(snapshot)
    assert "SYNTHETIC" in text
    for scene in ("transit", "retail", "bills", "p2p"):
        assert scene in text


NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_clean_with_parameters_first(path):
    import nbformat

    from pipelines.nbtools import is_clean

    nb = nbformat.read(path, as_version=4)
    assert is_clean(nb) == []
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "parameters" in first_code.metadata.get("tags", [])
