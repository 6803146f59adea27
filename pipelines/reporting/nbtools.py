"""Notebook housekeeping: the test snapshot nbval runs against, and clean committed outputs.

`python -m pipelines.nbtools NOTEBOOK ...` executes each notebook against a fresh test
snapshot and keeps outputs only where nbval compares them: cells tagged
`nbval-ignore-output` (charts, timings, unstable tables) are stored without outputs, and
execution counts and run metadata are dropped, as nbstripout would.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat

TEST_SNAPSHOT = "test"
TEST_SCALE = 0.1
TEST_SEED = 7
IGNORE_TAG = "nbval-ignore-output"
#: The noise key of test runs: fixed, so that nbval compares the same noisy figures every run.
TEST_NOISE_KEY = "card-insights test key: not a secret, never for real data"


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip run metadata and the outputs of cells nbval does not compare.

    nbval skips a cell without an execution count as unrun, so cells whose outputs are
    compared keep one: their position among the code cells, the same on every refresh.
    """
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in ("kernelspec", "language_info")}
    nb.metadata.get("language_info", {}).pop("version", None)
    code_cells = (c for c in nb.cells if c.cell_type == "code")
    for number, cell in enumerate(code_cells, start=1):
        if IGNORE_TAG in cell.metadata.get("tags", []):
            cell.outputs = []
        cell.execution_count = number if cell.outputs else None
        for out in cell.outputs:
            out.pop("execution_count", None)
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k == "tags"}
        cell.pop("id", None)
    nb.nbformat_minor = 4
    return nb


def is_clean(nb: nbformat.NotebookNode) -> list[str]:
    """What keeps a notebook from being clean (empty when it is)."""
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.execution_count is not None and not cell.outputs:
            problems.append(f"cell {i}: execution count stored without outputs")
        if IGNORE_TAG in cell.metadata.get("tags", []) and cell.outputs:
            problems.append(f"cell {i}: output stored in a cell nbval ignores")
        if any(o.get("output_type") == "error" for o in cell.outputs):
            problems.append(f"cell {i}: an error is stored")
    extra = set(nb.metadata) - {"kernelspec", "language_info"}
    if extra:
        problems.append(f"notebook metadata not stripped: {sorted(extra)}")
    return problems


def make_test_snapshot() -> None:
    """Generate and validate the test snapshot in the current data folder, as a real run would."""
    from pipelines.ingest.generator import generate
    from pipelines.quality.gate import validate

    generate(TEST_SNAPSHOT, scale=TEST_SCALE, seed=TEST_SEED)
    if not validate(TEST_SNAPSHOT).success:
        raise RuntimeError("the test snapshot failed its own data-quality gate")


def refresh(paths: list[Path]) -> None:
    """Execute notebooks on a fresh test snapshot and store their clean outputs."""
    from nbconvert.preprocessors import ExecutePreprocessor

    with tempfile.TemporaryDirectory(prefix="card-insights-test-") as data:
        os.environ["CARD_INSIGHTS_DATA"] = data
        os.environ["CARD_INSIGHTS_NOISE_KEY"] = TEST_NOISE_KEY
        make_test_snapshot()
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            ExecutePreprocessor(timeout=600, kernel_name="python3").preprocess(
                nb, {"metadata": {"path": str(path.parent)}}
            )
            nbformat.write(clean(nb), path)
            print(f"refreshed {path}")


if __name__ == "__main__":
    refresh([Path(p) for p in sys.argv[1:]])
