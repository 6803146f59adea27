"""The workspace itself: catalog, data dictionary, lock file and environment.yml, CLI help."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib

import pytest

from pipelines import marts_dictionary
from pipelines.core.paths import REPO_ROOT
from pipelines.core.schema import TABLES
from pipelines.ingest.dictionary import DICTIONARY_PATH, render


def test_data_dictionary_is_current_and_documents_every_column():
    text = render()
    assert DICTIONARY_PATH.read_text() == text, "run `make dictionary`"
    for t in TABLES:
        for c in t.columns:
            assert f"| `{c.name}` |" in text


def test_marts_dictionary_is_current():
    assert marts_dictionary.MARTS_DICTIONARY_PATH.read_text() == marts_dictionary.render(), "run `make dictionary`"


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
    from pipelines.ingest.summary import summarise

    text = summarise(snapshot)
    assert "SYNTHETIC" in text
    for scene in ("transit", "retail", "bills", "p2p"):
        assert scene in text
    # Figures line up under their headings, however long a table's name.
    for block in text.split("\n\n")[1:]:
        assert len({len(line) for line in block.splitlines()}) == 1, block


NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_clean_with_parameters_first(path):
    import nbformat

    from pipelines.reporting.nbtools import is_clean

    nb = nbformat.read(path, as_version=4)
    assert is_clean(nb) == []
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "parameters" in first_code.metadata.get("tags", [])


def test_the_explore_notebook_links_dictionaries_that_exist():
    import nbformat

    notebook = REPO_ROOT / "notebooks" / "explore.ipynb"
    text = "".join(c.source for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "markdown")
    links = re.findall(r"\]\((\.\./[^)]+)\)", text)
    assert "../docs/marts_dictionary.md" in links
    assert all((notebook.parent / link).resolve().is_file() for link in links), links


def test_make_lab_runs_as_root_and_passes_options_through():
    planned = subprocess.run(
        ["make", "-n", "lab", "LAB_ARGS=--no-browser --port 8890"], cwd=REPO_ROOT, capture_output=True, text=True
    ).stdout
    lab = next(line for line in planned.splitlines() if "jupyter lab" in line)
    assert lab.endswith("--no-browser --port 8890")
    assert ("--allow-root" in lab) == (os.getuid() == 0)


def test_make_generates_only_the_default_snapshot_on_demand():
    """`make run SNAPSHOT=2025-07` before July is imported must not make up SYNTHETIC data under
    that ID (a data engineer's first try did, and the real import was then refused)."""

    def planned(*args: str) -> str:
        return subprocess.run(["make", "-n", *args], cwd=REPO_ROOT, capture_output=True, text=True).stdout

    assert "pipelines generate --snapshot default" in planned("run")
    other = planned("run", "SNAPSHOT=2025-07")
    assert "pipelines generate" not in other and "pipelines validate --snapshot 2025-07" in other
