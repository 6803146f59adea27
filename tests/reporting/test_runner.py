"""The report runner: publishes atomically, fails loudly, leaves the last good run in place."""

from __future__ import annotations

import ast
import base64
import fcntl
import json
import logging
import re
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from pipelines.core import workers
from pipelines.core.paths import BadNameError
from pipelines.core.snapshot import Snapshot, SnapshotError
from pipelines.quality.gate import GateError
from pipelines.reporting import batches, runner
from pipelines.reporting.words import LANGS


@pytest.fixture()
def reports(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CARD_INSIGHTS_REPORTS", str(tmp_path / "reports"))
    return tmp_path / "reports"


@pytest.fixture(scope="module")
def validated(snapshot):
    import datetime as dt

    from pipelines.quality.gate import validate

    validate(snapshot, now=dt.datetime(2026, 11, 23))
    return snapshot


def _figures(ipynb: Path) -> list:
    """What a reader sees: every cell's text and image outputs, no run metadata. Printed text
    is joined per cell, as the page shows it: how the kernel split it into stream messages
    depends on timing."""
    nb = nbformat.read(ipynb, as_version=4)
    out = []
    for cell in nb.cells:
        text = ""
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream":
                text += o["text"]
            else:
                data = o.get("data", {})
                out.append({k: v for k, v in data.items() if k != "application/vnd.jupyter.widget-view+json"})
        out.append(text)
    return out


def test_batch_runs_publishes_and_reproduces(validated, reports):
    first = runner.run(validated, force=True)
    assert first.ok and not first.skipped
    latest = reports / validated / "latest"
    assert latest.resolve() == first.folder.resolve()
    for name in (
        "index.html",
        "manifest.json",
        "data_quality.html",
        "segments.html",
        "segments.ipynb",
        "segments.params.json",
        "segments.log",
    ):
        assert (latest / name).exists(), name
    manifest = json.loads((latest / "manifest.json").read_text())
    report = manifest["reports"][0]
    assert report["status"] == "ok" and report["papermill"]["exception"] is None
    assert manifest["validation"]["success"] and manifest["snapshot_synthetic"]
    assert set(report["outputs_sha256"]) >= {"segments.html", "segments.ipynb"}
    html = (latest / "segments.html").read_text()
    assert not re.search(r"(src|href)=\"https?://", html)  # opens offline
    # ... with the report style sheet inlined and no script: not JupyterLab's editor styles
    # (263 KB a page), nor the CDN scripts an offline page could not load.
    assert "<script" not in html and "--jp-" not in html and "max-width: 1100px" in html
    assert html.count("data:image/svg+xml") >= 4  # charts drawn as inline SVG
    assert "segments.html" in (latest / "index.html").read_text()

    again = runner.run(validated)  # same snapshot, code and parameters: nothing to do
    assert again.skipped and again.run_id == first.run_id

    names = [o.report.name for o in first.outcomes]
    assert {o.report.family for o in first.outcomes} == {"segments", "commute_carbon", "merchant_profile", "campaigns"}
    figures = {name: _figures(latest / f"{name}.ipynb") for name in names}
    second = runner.run(validated, force=True)
    assert second.ok
    assert {name: _figures(second.folder / f"{name}.ipynb") for name in names} == figures


def _notebook(path: Path, *sources: str) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('snapshot = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(source) for source in sources)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


#: A chart whose two layers sort the same axis differently: Vega-Lite warns and drops the sort.
WARNING_CHART = """
import altair as alt
import polars as pl
from IPython.display import display
from pipelines.reporting import charts, document

charts.use_theme()
data = pl.DataFrame({"a": ["p", "q"], "lo": [1, 0], "mid": [2, 3]})
base = alt.Chart(data).encode(y=alt.Y("a:N", sort="-x"))
layered = base.mark_rule().encode(x=alt.X("lo:Q")) + base.mark_point().encode(x=alt.X("mid:Q"))
display(document.chart(layered, "alt text", data, "empty"))
"""


@pytest.fixture()
def toy_batches(tmp_path, monkeypatch):
    notebooks, folder = tmp_path / "notebooks", tmp_path / "batches"
    notebooks.mkdir()
    folder.mkdir()
    _notebook(notebooks / "fine.ipynb", "print('fine')")
    _notebook(notebooks / "raises.ipynb", "raise RuntimeError('the data made no sense')")
    _notebook(notebooks / "dies.ipynb", "import os\nos._exit(1)")
    _notebook(notebooks / "after.ipynb", "print('after')")
    _notebook(notebooks / "dies_late.ipynb", "print('before the end')", "import os\nos._exit(1)", "print('never')")
    # A report's objects in reference cycles, one of them held by a failure's traceback only,
    # and the next report, which finds them gone: nothing a report made outlives it.
    cycle = "import sys, weakref\nclass Cycle:\n    def __init__(self):\n        self.me = self\n"
    _notebook(
        notebooks / "cycles.ipynb",
        cycle + "kept = Cycle()\nsys.card_insights_kept = weakref.ref(kept)",
        "def fail():\n    local = Cycle()\n    sys.card_insights_local = weakref.ref(local)\n"
        "    raise ValueError\nfail()",
    )
    _notebook(
        notebooks / "gone.ipynb",
        "import sys\nassert sys.card_insights_kept() is None and sys.card_insights_local() is None",
    )
    _notebook(notebooks / "env.ipynb", "import os\nprint(os.environ.get('CARD_INSIGHTS_CHECKED_BY_RUN'))")
    _notebook(
        notebooks / "sets.ipynb",
        'leaked = 1\nimport os\nimport polars as pl\nos.environ["CARD_INSIGHTS_LEAK"] = "1"\npl.Config.set_tbl_rows(3)',
    )
    _notebook(
        notebooks / "checks.ipynb",
        'import os\nimport polars as pl\nassert "CARD_INSIGHTS_LEAK" not in os.environ\n'
        'assert "POLARS_FMT_MAX_ROWS" not in pl.Config.state(if_set=True)',
    )
    _notebook(notebooks / "reads.ipynb", "print(leaked)")
    _notebook(notebooks / "warns.ipynb", WARNING_CHART)
    # The kernel's parent is the runner's worker: as if the system killed it (out of memory).
    _notebook(notebooks / "kills_worker.ipynb", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)")
    batches_books = {
        "good": ["fine"],
        "other": ["after"],
        "bad": ["fine", "raises", "dies", "after"],
        "state": ["sets", "reads", "checks"],
        "late": ["dies_late", "raises", "fine"],
        "cycles": ["cycles", "gone"],
        "env": ["env"],
        "warns": ["warns", "fine"],
        "killed": ["fine", "kills_worker", "after"],
    }
    for name, books in batches_books.items():
        (folder / f"{name}.toml").write_text(
            "".join(f'[[reports]]\nfamily = "{b}"\nnotebook = "{b}.ipynb"\n' for b in books)
        )
    monkeypatch.setattr(runner, "NOTEBOOK_DIR", notebooks)
    monkeypatch.setattr(batches, "NOTEBOOK_DIR", notebooks)
    monkeypatch.setattr(batches, "BATCH_DIR", folder)
    monkeypatch.setattr(runner, "code_hash", lambda: "toy")
    return folder


def test_failed_notebooks_are_recorded_and_latest_stays(validated, reports, toy_batches):
    good = runner.run(validated, batch="good")
    latest = reports / validated / "latest-good"
    assert latest.resolve() == good.folder.resolve()
    bad = runner.run(validated, batch="bad")
    assert not (reports / validated / "latest-bad").exists()
    assert not bad.ok
    status = {o.report.name: (o.status, o.error) for o in bad.outcomes}
    assert status["fine"] == ("ok", "")  # the others still run
    assert status["raises"][0] == "failed" and "the data made no sense" in status["raises"][1]
    assert status["dies"][0] == "failed"  # a kernel that dies
    assert status["after"] == ("ok", "")  # is replaced for the next report
    assert latest.resolve() == good.folder.resolve()
    assert bad.folder.name.endswith(".failed")
    manifest = json.loads((bad.folder / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert "the data made no sense" in (bad.folder / "index.html").read_text()
    assert not list((reports / validated).glob(".incomplete-*"))
    # Each log says what ran and how it ended, also where the notebook printed nothing.
    logs = {name: (bad.folder / f"{name}.log").read_text() for name in status}
    assert logs["fine"].startswith("fine: notebooks/") and "\nparameters: {" in logs["fine"]
    assert re.search(r"\nok \(notebook \d+\.\d s, page \d+\.\d s\)\n$", logs["fine"])
    assert re.search(r"\nFAILED \(notebook .*\): .*the data made no sense", logs["raises"])
    assert "\nFAILED (notebook " in logs["dies"]


def test_a_failed_report_keeps_what_ran_before_the_failure(validated, reports, toy_batches):
    """The notebook is written once, when it ends, failed or not (not after every cell)."""
    result = runner.run(validated, batch="late")
    assert [o.status for o in result.outcomes] == ["failed", "failed", "ok"]
    died = nbformat.read(result.folder / "dies_late.ipynb", as_version=4)
    # papermill adds the injected parameters as the second cell
    assert [o.get("text") for o in died.cells[2].outputs] == ["before the end\n"]
    assert died.cells[4].outputs == [] and "DeadKernelError" in result.outcomes[0].error
    assert "before the end" in (result.folder / "dies_late.html").read_text()
    raised = nbformat.read(result.folder / "raises.ipynb", as_version=4)
    assert any("the data made no sense" in str(o.get("evalue")) for c in raised.cells for o in c.get("outputs", []))
    manifest = json.loads((result.folder / "manifest.json").read_text())
    assert [r["papermill"]["exception"] for r in manifest["reports"]][1:] == [True, None]


def test_a_report_is_written_when_it_ends_not_around_every_cell(validated, reports, toy_batches, monkeypatch):
    import papermill.engines

    writes = []
    real = papermill.engines.write_ipynb
    monkeypatch.setattr(papermill.engines, "write_ipynb", lambda nb, path: writes.append(path) or real(nb, path))
    assert runner.run(validated, batch="late").outcomes[2].status == "ok"
    # Per report: once as it starts, once as it ends (papermill's own saves, not per cell).
    assert len(writes) == 2 * 3


def test_nothing_a_report_made_outlives_it_in_the_warm_kernel(validated, reports, toy_batches):
    result = runner.run(validated, batch="cycles")
    assert [o.status for o in result.outcomes] == ["failed", "ok"], result.outcomes[1].error


def test_parallel_jobs_give_the_same_outcomes(validated, reports, toy_batches):
    serial = runner.run(validated, batch="bad", force=True)
    parallel = runner.run(validated, batch="bad", force=True, jobs=2)

    def summary(result: runner.RunResult) -> list[tuple[str, str]]:
        return [(o.report.name, o.status) for o in result.outcomes]

    assert summary(parallel) == summary(serial)
    assert "the data made no sense" in parallel.outcomes[1].error


def test_the_command_line_runs_a_job_a_core_unless_told(validated, reports, toy_batches, monkeypatch):
    """`run` without --jobs uses every core it may, but never more jobs than reports."""
    from typer.testing import CliRunner

    from pipelines.cli import app

    asked = []
    execute_all = runner._execute_all

    def spy(reports_, out, jobs, *rest):
        asked.append(jobs)
        return execute_all(reports_, out, 1, *rest)  # parallel runs are tested above

    monkeypatch.setattr(runner, "_execute_all", spy)
    monkeypatch.setattr(workers, "usable_cores", lambda: 3)
    for args in (["--batch", "bad"], ["--batch", "good"], ["--batch", "bad", "--jobs", "1"]):
        done = CliRunner().invoke(app, ["run", "-s", validated, "--force", *args])
        assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    assert asked == [3, 1, 1]  # four reports on three cores; one report; as told
    runner.run(validated, batch="good", force=True)
    assert asked[-1] == 1  # the library runs in its caller's process unless told


def test_a_worker_killed_mid_batch_stops_the_run_in_one_line_and_publishes_nothing(validated, reports, toy_batches):
    from typer.testing import CliRunner

    from pipelines.cli import app

    done = CliRunner().invoke(app, ["run", "-s", validated, "--batch", "killed", "--jobs", "2"])
    assert done.exit_code == 1, done.output
    assert "a worker process ended without finishing its task" in done.output
    assert "nothing of this run was published" in done.output
    assert "Traceback" not in done.output
    published = [p.name for p in (reports / validated).iterdir()]
    assert not [name for name in published if "killed" in name or name.startswith(".incomplete")], published


def test_each_report_starts_from_a_clean_kernel(validated, reports, toy_batches):
    """Reports share a warm kernel, but nothing one defines reaches the next."""
    result = runner.run(validated, batch="state")
    status = {o.report.name: (o.status, o.error) for o in result.outcomes}
    assert status["sets"] == ("ok", "")
    assert status["reads"][0] == "failed" and "NameError" in status["reads"][1]
    assert status["checks"] == ("ok", "")  # environment variables and Polars settings are back
    executed = nbformat.read(result.folder / "reads.ipynb", as_version=4)
    counts = [c.execution_count for c in executed.cells if c.cell_type == "code" and c.execution_count]
    assert counts[0] == 1  # numbered as in a fresh kernel


def test_warm_kernel_reports_match_fresh_kernels(validated, reports):
    """The merchant profiles of a batch, run one after another in one warm kernel, show the
    same figures as each notebook run alone by papermill in a kernel of its own."""
    import papermill

    result = runner.run(validated, batch="merchants", force=True)
    assert result.ok
    for outcome in result.outcomes:
        alone = reports / f"{outcome.report.name}-alone.ipynb"
        papermill.execute_notebook(
            str(outcome.report.notebook),
            str(alone),
            parameters=outcome.report.params,
            progress_bar=False,
            cwd=str(runner.NOTEBOOK_DIR),
        )
        assert _figures(result.folder / f"{outcome.report.name}.ipynb") == _figures(alone), outcome.report.name


def test_every_notebook_parameter_is_visible_to_papermill():
    """papermill skips a parameter line it cannot parse (e.g. a second '=' in its comment),
    and the runner then refuses that parameter in a batch."""
    import papermill

    for notebook in sorted(runner.NOTEBOOK_DIR.glob("*.ipynb")):
        cells = nbformat.read(notebook, as_version=4).cells
        cell = next(c for c in cells if "parameters" in c.metadata.get("tags", []))
        assigned = re.findall(r"^(\w+)\s*=", cell.source, re.MULTILINE)
        assert list(papermill.inspect_notebook(str(notebook))) == assigned, notebook.name


@pytest.mark.parametrize(("key", "value"), [("merchant", "S9999999"), ("employer", "E9999")])
def test_unknown_merchant_or_employer_is_refused_at_load(validated, reports, monkeypatch, tmp_path, key, value):
    notebook = {"merchant": "merchant_profile.ipynb", "employer": "commute_carbon.ipynb"}[key]
    (tmp_path / "odd.toml").write_text(
        f'[[reports]]\nfamily = "x"\nnotebook = "{notebook}"\n[reports.grid]\n{key} = ["{value}"]\n'
    )
    monkeypatch.setattr(batches, "BATCH_DIR", tmp_path)
    with pytest.raises(runner.RunError, match=f"unknown {key} {value}"):
        runner.run(validated, batch="odd")
    assert not (reports / validated).exists()


def test_interrupt_leaves_no_run_and_latest_in_place(validated, reports, toy_batches):
    good = runner.run(validated, batch="good")

    def interrupt(name: str, done: int, total: int) -> None:
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runner.run(validated, batch="bad", progress=interrupt)
    folder = reports / validated
    assert (folder / "latest-good").resolve() == good.folder.resolve()
    # The snapshot's landing page is the good run's: the interrupted one wrote nothing.
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == sorted(
        ["index.html", "latest-good", good.run_id]
    )
    assert "bad-" not in (folder / "index.html").read_text()


@pytest.mark.parametrize("what", ["files", "marts", "removed", "code"])
def test_files_or_marts_changed_while_the_reports_ran_publish_nothing(
    mart_con, snapshot, toy_batches, tmp_path, monkeypatch, what
):
    """The notebooks of a run leave the file check and the marts to the run, which checks
    both again at its end."""
    import os
    import shutil

    from pipelines import marts

    source = Path(os.environ["CARD_INSIGHTS_DATA"])
    data = tmp_path / "data"
    for folder in ("snapshots", "validation", "marts"):
        shutil.copytree(source / folder / snapshot, data / folder / snapshot)
    monkeypatch.setenv("CARD_INSIGHTS_DATA", str(data))
    monkeypatch.setenv("CARD_INSIGHTS_REPORTS", str(tmp_path / "reports"))
    good = runner.run(snapshot, batch="good")
    trips = data / "snapshots" / snapshot / "trips"
    stamp = data / "marts" / snapshot / marts.MARTS_FILE

    def stray(name: str, done: int, total: int) -> None:
        if done == 1 and what == "files":
            shutil.copy(next(trips.glob("*.parquet")), trips / "part-extra.parquet")
        if done == 1 and what == "marts":  # built again (still current, so only the stamp tells)
            rebuilt = json.loads(stamp.read_text()) | {"built_at": "later"}
            stamp.write_text(json.dumps(rebuilt))
        if done == 1 and what == "removed":
            stamp.unlink()
        if done == 1 and what == "code":
            monkeypatch.setattr(marts, "code_hash", lambda: "1" * 64)

    changed = {
        "files": r"part-extra\.parquet: file is not in the manifest.*they changed while the reports ran",
        "marts": r"the marts of .* were rebuilt or removed while the reports ran",
        "removed": r"the marts of .* were rebuilt or removed while the reports ran",
        "code": r"the code changed while the reports ran",
    }[what]
    with pytest.raises(batches.RunError, match=changed + ".*nothing was published; the run is kept"):
        runner.run(snapshot, batch="bad", progress=stray)
    folder = tmp_path / "reports" / snapshot
    assert (folder / "latest-good").resolve() == good.folder.resolve()
    kept = [p for p in folder.iterdir() if p.name.startswith("bad-")]
    assert len(kept) == 1 and kept[0].name.endswith(".failed")
    manifest = json.loads((kept[0] / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "while the reports ran" in manifest["error"]
    assert (kept[0] / "raises.log").exists()  # what each report did is kept


def test_the_run_tells_its_kernels_which_snapshot_it_checked(validated, reports, toy_batches):
    import os

    from pipelines.core.snapshot import Snapshot

    seen = []
    result = runner.run(validated, batch="env", progress=lambda *_: seen.append(os.environ.get(runner.CHECKED_BY_RUN)))
    printed = nbformat.read(result.folder / "env.ipynb", as_version=4).cells[2].outputs[0]["text"]
    assert printed.strip() == Snapshot.open(validated).manifest_sha256
    assert seen == [None, None]  # the runner's own environment is left alone


def test_the_monthly_batch_profiles_the_merchants_of_the_subscribers_file(validated):
    from pipelines.merchant_profile.subscribers import subscribers

    reports = batches.load_batch("monthly", Snapshot.open(validated))
    assert [r.params["merchant"] for r in reports if r.family == "merchant_profile"] == subscribers()


def test_a_batch_in_another_language_is_its_own_run_and_the_reports_own_language_is_not(validated):
    """--lang en sets every report's language; --lang zh-TW, the notebooks' own, is the usual
    run: the same reports, parameters and run ID, and the same link."""
    snap = Snapshot.open(validated)
    usual = batches.load_batch("monthly", snap)
    english = batches.load_batch("monthly", snap, lang="en")
    assert [r.name for r in english] == [r.name for r in usual]
    assert all(e.params == {**u.params, "lang": "en"} for e, u in zip(english, usual, strict=True))
    chinese = batches.load_batch("monthly", snap, lang="zh-TW")
    assert runner.run_id("monthly", snap, chinese) == runner.run_id("monthly", snap, usual)
    assert runner.run_id("monthly", snap, english) != runner.run_id("monthly", snap, usual)
    assert [runner.latest_name("monthly", lang) for lang in ("", "zh-TW", "en")] == ["latest", "latest", "latest-en"]
    assert runner.latest_name("merchants", "en") == "latest-merchants-en"
    with pytest.raises(runner.RunError, match="--lang: lang must be one of zh-TW, en, got 'fr'"):
        batches.load_batch("monthly", snap, lang="fr")


@pytest.mark.parametrize("name", ["en", "merchants-en", "weekly-zh-TW"])
def test_a_batch_named_like_a_run_in_another_language_is_refused(validated, toy_batches, name):
    """Its run's link, latest-merchants-en, would be an English run's of the merchants batch."""
    (toy_batches / f"{name}.toml").write_text((toy_batches / "good.toml").read_text())
    with pytest.raises(runner.RunError, match=f"batch '{name}': a batch name may not be or end in a language"):
        batches.load_batch(name, Snapshot.open(validated))


def test_a_runs_language_is_its_pages_or_for_a_report_that_failed_first_its_parameter():
    from pipelines.reporting.index_page import _languages

    failed_early = {"page": {}, "parameters": {"lang": "en", "snapshot": "x"}}
    assert _languages({"reports": [{"page": {"lang": "en"}}, failed_early]}) == "en"
    assert _languages({"reports": [{"page": {"lang": "zh-TW"}}, failed_early]}) == "en, zh-TW"
    assert _languages({"reports": [{"page": {}, "parameters": {}}]}) == ""


def test_every_notebook_is_written_first_in_the_reports_own_language():
    """The link names take LANGS[0] for the language every notebook defaults to."""
    import papermill

    for notebook in sorted(runner.NOTEBOOK_DIR.glob("*.ipynb")):
        declared = papermill.inspect_notebook(str(notebook))
        if "lang" in declared:
            assert ast.literal_eval(declared["lang"]["default"]) == LANGS[0], notebook.name


def test_chart_warnings_reach_the_manifest_the_log_and_the_command_line(validated, reports, toy_batches):
    """A warning drawing a chart stays out of the page, but whoever runs the batch is told."""
    from typer.testing import CliRunner

    from pipelines.cli import app

    done = CliRunner().invoke(app, ["run", "-s", validated, "--batch", "warns"])
    assert done.exit_code == 0, done.output
    assert re.search(r"ok warns .*\n\s+chart warning \(Vega-Lite\): .*conflicting sort", done.output)
    folder = reports / validated / "latest-warns"
    manifest = json.loads((folder / "manifest.json").read_text())
    said = {r["name"]: r["chart_warnings"] for r in manifest["reports"]}
    assert said["fine"] == [] and len(said["warns"]) == 1 and "conflicting sort" in said["warns"][0]
    assert f"chart warning (Vega-Lite): {said['warns'][0]}" in (folder / "warns.log").read_text()
    assert "conflicting sort" not in (folder / "warns.html").read_text()


def test_each_batch_has_its_own_latest_and_a_partial_run_moves_none(validated, reports, toy_batches):
    folder = reports / validated
    good = runner.run(validated, batch="good")
    other = runner.run(validated, batch="other")
    assert (folder / "latest-good").resolve() == good.folder.resolve()  # not replaced by another batch
    assert (folder / "latest-other").resolve() == other.folder.resolve()
    assert runner.latest_name("monthly") == "latest" and not (folder / "latest").exists()
    partial = runner.run(validated, batch="bad", only=["fine", "after"])
    assert partial.ok and sorted(o.report.name for o in partial.outcomes) == ["after", "fine"]
    assert (partial.folder / "index.html").exists()  # published in its own folder
    links = sorted(p.name for p in folder.iterdir() if p.is_symlink())
    assert links == ["latest-good", "latest-other"]


def test_a_second_run_waits_for_the_lock(validated, reports, toy_batches):
    folder = reports / validated
    folder.mkdir(parents=True)
    with open(folder / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(runner.RunError, match="another run is writing"):
            runner.run(validated, batch="good")


@pytest.mark.parametrize(
    ("batch_text", "error", "match"),
    [
        (
            '[[reports]]\nfamily = "fine"\nnotebook = "fine.ipynb"\n[reports.params]\ncolour = "red"\n',
            runner.RunError,
            "has no parameter 'colour'",
        ),
        ('[[reports]]\nfamily = "fine"\nnotebook = "nope.ipynb"\n', runner.RunError, "does not exist"),
        (
            '[[reports]]\nfamily = "fine"\nnotebook = "fine.ipynb"\n[reports.grid]\nsnapshot = ["../../etc"]\n',
            BadNameError,
            "invalid report name",
        ),
    ],
    ids=["unknown-parameter", "missing-notebook", "path-in-parameter"],
)
def test_bad_batches_fail_before_anything_runs(validated, reports, toy_batches, batch_text, error, match):
    (toy_batches / "odd.toml").write_text(batch_text)
    with pytest.raises(error, match=match):
        runner.run(validated, batch="odd")
    assert not (reports / validated).exists() or not any((reports / validated).iterdir())


@pytest.mark.parametrize(
    ("family", "param", "match"),
    [
        ("merchant_profile", "k_min = 1", "has no parameter 'k_min'"),
        ("segments", 'lang = "fr"', "segments: lang must be one of zh-TW, en"),
    ],
    ids=["privacy-floor", "unknown-language"],
)
def test_no_batch_can_lower_the_privacy_floor_or_pick_an_unknown_language(
    validated, reports, tmp_path, monkeypatch, family, param, match
):
    monkeypatch.setattr(batches, "BATCH_DIR", tmp_path)
    (tmp_path / "odd.toml").write_text(
        f'[[reports]]\nfamily = "{family}"\nnotebook = "{family}.ipynb"\n[reports.params]\n{param}\n'
    )
    with pytest.raises(runner.RunError, match=match):
        runner.run(validated, batch="odd")


def test_malformed_parameter_values_are_refused(validated, reports):
    batch = batches.BATCH_DIR / "monthly.toml"
    text = batch.read_text().replace("subsidy_budget_ntd = 500000", 'subsidy_budget_ntd = "lots"')
    with pytest.raises(runner.RunError, match=r"subsidy_budget_ntd='lots' should be int"):
        batches._check_value("segments", "subsidy_budget_ntd", "lots", "500_000")
    assert "lots" in text


def test_unknown_snapshot_batch_and_unvalidated_snapshot(validated, reports, isolated_data):
    with pytest.raises(SnapshotError, match="unknown snapshot"):
        runner.run("nope")
    from pipelines.ingest.generator import generate

    generate("raw", scale=0.05, seed=1)
    with pytest.raises(GateError, match="has not been validated"):
        runner.run("raw")
    with pytest.raises(runner.RunError, match="unknown batch 'weekly'"):
        batches.load_batch("weekly", Snapshot.open("raw"))


def test_chart_svg_is_the_same_however_many_charts_came_before():
    """vl-convert's gradient counter runs on across charts; the project renderer renumbers it."""
    import altair as alt
    import polars as pl

    from pipelines.reporting.charts import stable_svg_renderer

    chart = alt.Chart(pl.DataFrame({"x": [1, 2], "y": [3, 4]})).mark_rect().encode(x="x:O", color="y:Q").to_dict()
    first, second = (stable_svg_renderer(chart)["image/svg+xml"] for _ in range(2))
    assert "gradient_0" in first and first == second


def test_a_chart_is_checked_against_the_schema_once_for_each_shape(monkeypatch):
    """Altair's schema check runs for the first chart of a shape, not again for the same chart
    over other rows; a chart of another shape, such as one with a wrong property, is checked."""
    import altair as alt
    import polars as pl

    from pipelines.reporting import charts, document

    charts.use_theme()
    checks = []
    to_dict = alt.TopLevelMixin.to_dict

    def counted(self, *args, validate=True, **kwargs):
        checks.append(validate)
        return to_dict(self, *args, validate=validate, **kwargs)

    monkeypatch.setattr(alt.TopLevelMixin, "to_dict", counted)
    monkeypatch.setattr(document, "_CHECKED_SHAPES", set())

    def bars(rows: list[int]) -> tuple:
        data = pl.DataFrame({"a": [f"r{i}" for i in range(len(rows))], "n": rows})
        return alt.Chart(data).mark_bar().encode(x="n:Q", y="a:N"), data

    for rows in ([1, 2], [5, 7, 9], [3]):
        chart, data = bars(rows)
        # the alt text names each one's figures: not part of the shape
        assert isinstance(document.chart(chart, f"alt: {rows}", data, "empty"), document.Figure)
    assert checks.count(True) == 1
    chart, data = bars([1])
    chart.mark = {"type": "bar", "colr": "red"}  # set as a plain dict, so Altair checks it only whole
    with pytest.raises(alt.utils.schemapi.SchemaValidationError):
        document.chart(chart, "alt", data, "empty")
    assert checks.count(True) == 2


def test_report_charts_give_their_channels_as_objects_not_text():
    """Altair turns a channel given as text ("members:Q") into its class by hashing its whole
    schema, about 7 ms a channel, for every chart of every report; `alt.Y("members:Q")` gives
    the same chart without it."""
    import ast

    from pipelines.core.paths import PACKAGE_DIR

    as_text = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "encode":
                for keyword in node.keywords:
                    if isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, str):
                        as_text.append(f"{path.relative_to(PACKAGE_DIR)}:{node.lineno} {keyword.arg}")
    assert as_text == []


def test_a_chart_warning_is_kept_with_the_chart_not_printed_into_the_page(capfd):
    """Vega-Lite's warnings (logged by vl-convert 2) go with the figure's output metadata, where
    the browser test looks for them, and never into the report's text."""
    import altair as alt
    import polars as pl

    from pipelines.reporting import charts, document

    charts.use_theme()
    # A handler on the root logger, as a kernel or a script may have: the warning must not reach
    # it, and must be kept even when the root logger lets only errors through.
    root = logging.getLogger()
    printing, level = logging.StreamHandler(sys.stderr), root.level
    root.addHandler(printing)
    root.setLevel(logging.ERROR)
    try:
        data = pl.DataFrame({"a": ["p", "q"], "lo": [1, 0], "mid": [2, 3]})
        base = alt.Chart(data).encode(y=alt.Y("a:N", sort="-x"))
        layered = base.mark_rule().encode(x="lo:Q") + base.mark_point().encode(x="mid:Q")
        figure = document.chart(layered, "alt text", data, "empty")
        bundle, metadata = figure._repr_mimebundle_()
        assert "<svg" in base64.b64decode(bundle["text/html"].split("base64,")[1].split('"')[0]).decode()
        assert any("conflicting sort" in m for m in metadata[document.CHART_WARNINGS])
        single = document.chart(alt.Chart(data).mark_bar().encode(x="mid:Q", y="a:N"), "alt", data, "empty")
        assert single._repr_mimebundle_()[1] == {}
    finally:
        root.removeHandler(printing)
        root.setLevel(level)
    out, err = capfd.readouterr()
    assert "conflicting" not in out + err


@pytest.mark.parametrize(
    ("batch_text", "match"),
    [
        ('[[reprots]]\nfamily = "fine"\nnotebook = "fine.ipynb"\n', "unknown key.*reprots"),
        (
            '[[reports]]\nfamily = "fine"\nnotebook = "fine.ipynb"\n[reports.parms]\nx = 1\n',
            "report 1: unknown key.*parms",
        ),
    ],
    ids=["misspelt-reports", "misspelt-params"],
)
def test_unknown_keys_in_a_batch_file_are_named(validated, reports, toy_batches, batch_text, match):
    (toy_batches / "odd.toml").write_text(batch_text)
    with pytest.raises(runner.RunError, match=match):
        runner.run(validated, batch="odd")


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ('audience_segments = "Champions,Champs"', "segments: unknown segments Champs"),
        ('audience_districts = "D99"', "segments: unknown districts D99"),
        ('as_of = "2025-06-15"', "as_of must be a month end"),
        ("subsidy_budget_ntd = -5", "must not be negative"),
    ],
)
def test_a_bad_parameter_value_stops_the_batch_before_any_report_runs(
    validated, reports, monkeypatch, tmp_path, params, match
):
    (tmp_path / "odd.toml").write_text(
        f'[[reports]]\nfamily = "segments"\nnotebook = "segments.ipynb"\n[reports.params]\n{params}\n'
    )
    monkeypatch.setattr(batches, "BATCH_DIR", tmp_path)
    with pytest.raises(runner.RunError, match=match):
        runner.run(validated, batch="odd")
    assert not (reports / validated).exists() or not any((reports / validated).iterdir())


def test_a_merchant_release_over_the_yearly_budget_stops_the_batch_before_it_runs(validated, reports, monkeypatch):
    import dataclasses

    from pipelines.privacy import release as privacy_release
    from pipelines.privacy.accounting import load_privacy

    tight = dataclasses.replace(load_privacy(), yearly_rho=0.1)
    monkeypatch.setattr(privacy_release, "load_privacy", lambda: tight)
    with pytest.raises(runner.RunError, match=r"privacy budget for 2025 would be exceeded"):
        runner.run(validated, batch="merchants", force=True)
    assert not (reports / validated).exists() or not [p for p in (reports / validated).iterdir() if p.is_dir()]


def test_the_same_merchants_again_show_the_published_figures_at_no_cost(validated, reports, tmp_path, monkeypatch):
    """A batch renamed, or a report run on its own, gets the release already published for the
    same merchants and month (same figures, nothing charged); --new-release is a new revision."""
    from pipelines import marts
    from pipelines.merchant_profile.profile import profile
    from pipelines.privacy.ledger import entries

    monkeypatch.setattr(batches, "BATCH_DIR", tmp_path)
    text = (runner.NOTEBOOK_DIR.parent / "pipelines/reporting/batches/merchants.toml").read_text()
    for name in ("merchants", "renamed"):
        (tmp_path / f"{name}.toml").write_text(text)
    first = runner.run(validated, batch="merchants", force=True)
    again = runner.run(validated, batch="renamed", force=True)
    assert first.ok and again.ok

    def merchant_releases() -> list[str]:
        return sorted(rid for rid, e in entries().items() if e["kind"] == "merchant")

    released = merchant_releases()
    assert len(released) == 1
    assert json.loads((again.folder / "manifest.json").read_text())["privacy_releases"].keys() == set(released)
    for report in first.outcomes:
        assert _figures(first.folder / f"{report.report.name}.ipynb") == _figures(
            again.folder / f"{report.report.name}.ipynb"
        )
    merchant = first.outcomes[0].report.params["merchant"]
    snap = Snapshot.open(validated)
    with marts.connect(snap) as con:
        assert profile(con, snap, merchant).release.id == released[0]
    assert merchant_releases() == released
    # The same through the command line (`run --notebook`): no second noisy draw to average.
    single = runner.run(validated, notebook="merchant_profile", params=[("merchant", merchant)])
    assert single.ok and merchant_releases() == released
    assert json.loads((single.folder / "manifest.json").read_text())["privacy_releases"].keys() == set(released)
    name = first.outcomes[0].report.name
    assert _figures(single.folder / "merchant_profile.ipynb") == _figures(first.folder / f"{name}.ipynb")
    fresh = runner.run(validated, batch="merchants", new_release=True)
    assert fresh.ok and merchant_releases() == sorted([*released, f"{released[0]}-r2"])


def test_kernel_sockets_fit_even_under_a_deep_temporary_folder(monkeypatch, tmp_path):
    """A Unix socket's path holds 107 bytes: under a deep TMPDIR the warm kernel's sockets go
    to /tmp, or the kernel could not start at all."""
    from pipelines.reporting import warm_kernel

    deep = tmp_path / ("d" * 80)
    deep.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    assert warm_kernel.socket_root() == "/tmp"
    shallow = "/tmp/" + "s" * (warm_kernel._ROOT_MAX - len("/tmp/"))
    monkeypatch.setattr(tempfile, "tempdir", shallow)
    assert warm_kernel.socket_root() == shallow
    longest = f"{shallow}/{warm_kernel._FOLDER}{'x' * 8}-{9_999_999}/{warm_kernel._SOCKET}-999"
    assert len(longest) <= 107


def test_one_report_with_papermill_style_parameters(validated, reports):
    result = runner.run(
        validated, notebook="merchant_profile", params=[("merchant", "S0000004"), ("period", "2025-06")]
    )
    assert result.ok and [o.report.name for o in result.outcomes] == ["merchant_profile"]
    executed = nbformat.read(result.folder / "merchant_profile.ipynb", as_version=4)
    given = executed.metadata["papermill"]["parameters"]
    assert (given["merchant"], given["period"]) == ("S0000004", "2025-06")
    assert not any(p.is_symlink() for p in (reports / validated).iterdir())  # no batch's latest moved


@pytest.mark.parametrize(
    ("notebook", "params", "match"),
    [
        ("merchant_profile", [("merchnt", "S0000004")], "has no parameter 'merchnt'; its parameters: snapshot"),
        ("segments", [("window_months", "three")], r"window_months='three' should be int like its default 3"),
        ("segments", [("window_months", "6")], None),
        ("merchant_profile", [("period", "2031-01")], "period must be one of 2025-01 .. 2025-06"),
        ("nope", [], "unknown notebook 'nope'; notebooks: campaign_effect, commute_carbon"),
        # The campaigns family's notebook is named otherwise: its checks apply all the same.
        ("campaign_effect", [("campaign", "C99999")], "campaign 'C99999' is not in snapshot"),
        ("campaign_effect", [("view", "shop")], "view must be one of"),
        ("campaign_effect", [], None),
    ],
)
def test_parameters_from_the_command_line_are_read_and_checked(validated, snap, notebook, params, match):
    if match is None:
        (report,) = batches.one_report(notebook, params, snap)
        assert report.name == notebook  # the report keeps its notebook's name
        assert report.params.get("window_months", 6) == 6  # an int, as the notebook's default
    else:
        with pytest.raises(runner.RunError, match=match):
            batches.one_report(notebook, params, snap)


@pytest.mark.parametrize(
    ("given", "lang", "expected"),
    [
        ([], "en", "en"),
        ([("lang", "en")], "", "en"),
        ([("lang", "zh-TW")], "en", "en"),
        ([("lang", "en")], "zh-TW", None),
    ],
)
def test_one_report_takes_the_language_as_a_batch_does(snap, given, lang, expected):
    """--lang wins over -p lang, and the notebook's own language is left unsaid (the usual run)."""
    (report,) = batches.one_report("segments", given, snap, lang)
    assert report.params.get("lang") == expected


def test_the_command_line_takes_parameters_as_papermill_does():
    from pipelines.cli import _parameters

    assert _parameters(["-p", "merchant", "S0000004", "--parameter", "period", "2025-06"]) == [
        ("merchant", "S0000004"),
        ("period", "2025-06"),
    ]
    for bad in (["--forse"], ["-p", "merchant"]):
        with pytest.raises(runner.RunError, match="give parameters as -p NAME VALUE"):
            _parameters(bad)


def test_a_page_never_runs_a_script():
    """JavaScript and widget outputs are left out of the page; an HTML output carrying a
    script (a family's mistake) is refused, and the runner fails that report with the reason."""
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": "<p>figures</p>", "text/plain": ""}),
        nbformat.v4.new_output("display_data", data={"application/javascript": "alert(1)", "text/plain": ""}),
    ]
    nb = nbformat.v4.new_notebook(cells=[cell])
    html = runner.to_html(nb, "t", "en")
    assert "<p>figures</p>" in html and "alert(1)" not in html and "<script" not in html
    cell.outputs.append(
        nbformat.v4.new_output("display_data", data={"text/html": '<script src="https://cdn.example/x.js"></script>'})
    )
    with pytest.raises(ValueError, match="would run a script"):
        runner.to_html(nb, "t", "en")
