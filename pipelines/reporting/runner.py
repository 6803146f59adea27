"""`python -m pipelines run`: execute a batch of report notebooks and publish it atomically.

Layout of reports/<snapshot>/:
    <run-id>/            a completed run: per report NAME.ipynb, NAME.html, NAME.params.json,
                         NAME.log; manifest.json, index.html, data_quality.html
    latest -> <run-id>   the newest completed run of the whole monthly batch (a symlink swapped
                         in one step); latest-<batch> for any other batch, so that running one
                         batch never replaces another's reports; latest-en, latest-<batch>-en
                         for a batch run in English (--lang en)
    <run-id>.failed/     a run in which some report failed (the link stays where it was)
    .incomplete-*        a run being written (never linked)
A run of some families only (--only) is published in its own folder and moves no link: the
link always leads to a whole batch. The run ID is a hash of the snapshot, the code and the
batch's parameters, so re-running the same thing is a no-op unless forced.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from pipelines import marts
from pipelines.core import workers
from pipelines.core.freshness import inputs_hash
from pipelines.core.paths import LOCK_FILE, NOTEBOOK_DIR, PACKAGE_DIR, REPO_ROOT, check_name
from pipelines.core.signals import signals
from pipelines.core.snapshot import Snapshot, sha256_file
from pipelines.core.stale import clear_stale
from pipelines.privacy.ledger import entries as ledger_entries
from pipelines.quality.gate import (
    CHECKED_BY_RUN,
    PAGE,
    GateError,
    require_passing,
    require_unchanged_files,
)
from pipelines.quality.page import render as quality_page
from pipelines.reporting.batches import Report, RunError, load_batch, one_report, open_releases
from pipelines.reporting.words import LANGS

if TYPE_CHECKING:
    import nbformat

DEFAULT_BATCH = "monthly"
KERNEL = "python3"


def reports_dir() -> Path:
    return Path(os.environ.get("CARD_INSIGHTS_REPORTS", REPO_ROOT / "reports")).resolve()


@dataclass
class Outcome:
    report: Report
    status: str = "pending"  # ok, failed
    seconds: float = 0.0  # executing the notebook
    html_seconds: float = 0.0  # writing its HTML
    error: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    page: dict[str, str] = field(default_factory=dict)  # what its outputs declared for the index
    papermill: dict[str, Any] = field(default_factory=dict)  # what papermill recorded
    chart_warnings: list[str] = field(default_factory=list)  # what Vega-Lite said drawing its charts


def _git() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}


def code_hash() -> str:
    """What a report can depend on: the whole package (its code, SQL and configuration), the
    notebooks and the lock."""
    return inputs_hash([PACKAGE_DIR, NOTEBOOK_DIR, LOCK_FILE])


def run_id(batch: str, snap: Snapshot, reports: list[Report]) -> str:
    h = hashlib.sha256()
    h.update(snap.manifest_sha256.encode())
    h.update(code_hash().encode())
    h.update(json.dumps([(r.name, r.params) for r in reports], sort_keys=True, default=str).encode())
    return f"{batch}-{h.hexdigest()[:12]}"


@contextlib.contextmanager
def _lock(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunError(f"another run is writing reports in {folder}; try again when it has finished") from None
        yield


def execute(report: Report, out: Path, kernel_env: dict[str, str] | None = None) -> Outcome:
    """Run one notebook with papermill in this process's warm kernel (its environment this
    process's, with `kernel_env` added), then export HTML without input cells. Call
    `warm_kernel.shutdown()` when the batch is done."""
    import nbformat
    import papermill

    from pipelines.reporting import warm_kernel

    outcome = Outcome(report)
    ipynb, log = out / f"{report.name}.ipynb", out / f"{report.name}.log"
    (out / f"{report.name}.params.json").write_text(json.dumps(report.params, indent=2, sort_keys=True) + "\n")
    start = time.perf_counter()
    with open(log, "w", encoding="utf-8") as log_file:
        # Whoever opens the log of a report that printed nothing still learns what ran and how.
        log_file.write(
            f"{report.name}: notebooks/{report.notebook.name}, started "
            f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC\n"
            f"parameters: {json.dumps(report.params, sort_keys=True, ensure_ascii=False, default=str)}\n"
        )
        log_file.flush()
        try:
            papermill.execute_notebook(
                str(report.notebook),
                str(ipynb),
                parameters=report.params,
                kernel_name=KERNEL,
                engine_name=warm_kernel.ENGINE,
                progress_bar=False,
                stdout_file=log_file,
                stderr_file=log_file,
                cwd=str(NOTEBOOK_DIR),
                kernel_env=kernel_env or {},
            )
            outcome.status = "ok"
        except Exception as exc:  # papermill raises PapermillExecutionError, kernels can die
            outcome.status = "failed"
            outcome.error = _error_text(exc)
    outcome.seconds = time.perf_counter() - start
    if ipynb.exists():
        try:
            nb = nbformat.read(ipynb, as_version=4)
            outcome.page, outcome.papermill = _page_facts(nb), _notebook_facts(nb)
            outcome.chart_warnings = _chart_warnings(nb)
            html = to_html(nb, outcome.page.get("title", report.name), outcome.page.get("lang", "en"))
            (out / f"{report.name}.html").write_text(html, encoding="utf-8")
        except (OSError, ValueError) as exc:  # a full disk, or a notebook cut short by one
            outcome.status = "failed"
            outcome.error = outcome.error or f"could not write {report.name}.html: {_error_text(exc)}"
    outcome.html_seconds = time.perf_counter() - start - outcome.seconds
    closing = [f"chart warning (Vega-Lite): {w}" for w in outcome.chart_warnings]
    took = f"notebook {outcome.seconds:.1f} s, page {outcome.html_seconds:.1f} s"
    closing.append(f"ok ({took})" if outcome.status == "ok" else f"FAILED ({took}): {outcome.error}")
    try:
        with open(log, "a", encoding="utf-8") as log_file:
            log_file.writelines(f"\n{line}" for line in closing)
            log_file.write("\n")
    except OSError as exc:  # a full disk fails this report, not the batch
        outcome.status = "failed"
        outcome.error = outcome.error or f"could not write {report.name}.log: {_error_text(exc)}"
    outcome.outputs = {p.name: sha256_file(p) for p in sorted(out.glob(f"{report.name}.*"))}
    return outcome


def _error_text(exc: BaseException) -> str:
    name = getattr(exc, "ename", type(exc).__name__)
    value = getattr(exc, "evalue", str(exc))
    return f"{name}: {value}".strip()[:2000]


#: nbconvert template of the report pages (templates/report): no editor styles, no CDN scripts.
TEMPLATES = Path(__file__).parent / "templates"


@functools.cache
def _exporter() -> Any:
    """One exporter a process: building one compiles its templates, a third of a second, and
    nbconvert's own batch conversion also reuses one for every notebook. The notebook is
    validated once after its preprocessors instead of after each of them (a dozen validations
    of a notebook holding its charts). Pygments' style sheet for code is left out: a report
    shows no code."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    return HTMLExporter(
        config=Config({"CSSHTMLHeaderPreprocessor": {"enabled": False}}),
        extra_template_basedirs=[str(TEMPLATES)],
        template_name="report",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        optimistic_validation=True,
    )


def to_html(nb: nbformat.NotebookNode, title: str, lang: str) -> str:
    """HTML without input cells that opens offline: charts are inline SVG, the style sheet is
    inlined, and the page runs no script. A notebook whose HTML output holds one (a report
    family's mistake) is refused with ValueError: the report fails and says so."""
    nb.metadata["title"] = title
    body, _ = _exporter().from_notebook_node(nb)
    if "<script" in body.lower():
        raise ValueError("its page would run a script; reports draw charts as images and load nothing")
    # nbconvert knows two-letter language codes only: the page says which language it is in.
    return body.replace('<html lang="en">', f'<html lang="{lang}">', 1)


def _page_facts(nb: nbformat.NotebookNode) -> dict[str, str]:
    """What a report's outputs declared for its page and the index: title, language, subject,
    period and headline (the first output to declare one wins)."""
    from pipelines.reporting.document import META

    facts: dict[str, str] = {}
    for metadata in _output_metadata(nb):
        for key, value in metadata.get(META, {}).items():
            facts.setdefault(key, value)
    return facts


def _chart_warnings(nb: nbformat.NotebookNode) -> list[str]:
    """What Vega-Lite warned about while drawing a report's charts (kept out of its page), each
    once: a warning can mean a chart left out what it should draw."""
    from pipelines.reporting.document import CHART_WARNINGS

    said: dict[str, None] = {}
    for metadata in _output_metadata(nb):
        said.update(dict.fromkeys(metadata.get(CHART_WARNINGS, [])))
    return list(said)


def _output_metadata(nb: nbformat.NotebookNode) -> Iterator[dict[str, Any]]:
    """The metadata of every output of a report, in order."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            yield output.get("metadata", {})


def _versions() -> dict[str, str]:
    names = ("duckdb", "polars", "altair", "papermill", "nbconvert", "great-expectations", "vl-convert-python")
    return {n: version(n) for n in names}


def _notebook_facts(nb: nbformat.NotebookNode) -> dict[str, Any]:
    """What papermill recorded in the executed notebook's metadata."""
    meta = nb.metadata.get("papermill", {})
    return {k: meta.get(k) for k in ("start_time", "end_time", "duration", "exception", "version", "parameters")}


@dataclass
class RunResult:
    run_id: str
    folder: Path
    outcomes: list[Outcome]
    skipped: bool = False
    error: str = ""  # what went wrong with the run as a whole

    @property
    def ok(self) -> bool:
        return not self.error and all(o.status == "ok" for o in self.outcomes)


def latest_name(batch: str, lang: str = "") -> str:
    """The link to a batch's newest completed run in reports/<snapshot>/; a run in another
    language than the reports' own (`lang`) has a link of its own, latest-en, latest-BATCH-en."""
    name = "latest" if batch == DEFAULT_BATCH else f"latest-{batch}"
    return f"{name}-{lang}" if lang and lang != LANGS[0] else name


def run(
    snapshot: str,
    batch: str = DEFAULT_BATCH,
    only: list[str] | None = None,
    force: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    jobs: int | None = 1,
    new_release: bool = False,
    notebook: str = "",
    params: list[tuple[str, str]] | None = None,
    lang: str = "",
) -> RunResult:
    """Run a batch's reports and publish them together; `new_release`: fresh privacy releases
    (new revisions, charged) instead of the figures already published, and run again.
    `notebook` (with `params`, NAME VALUE pairs as papermill's `-p`): run that one report
    instead of the batch, published in its own folder like a run with `only`. `lang`: every
    report in that language (zh-TW, en), the same figures. `jobs`: reports run at once (None:
    `default_jobs`, as the command line does)."""
    force = force or new_release
    snap = require_passing(check_name(snapshot))
    if notebook:
        batch, only = notebook, [notebook]
        reports = one_report(notebook, params or [], snap, lang)
    else:
        reports = load_batch(batch, snap, only, lang)
    if not reports:
        raise RunError(f"batch {batch!r} has no reports to run")
    rid = run_id(batch, snap, reports)
    root = reports_dir() / snap.id
    final = root / rid
    with _lock(root):
        clear_stale(root, ".incomplete-", ".old-")
        if final.exists() and not force:
            return RunResult(rid, final, [], skipped=True)
        built = marts.build(snap)
        with marts.connect(snap) as con:
            open_releases(con, snap, batch, reports, new_release)
        tmp = root / f".incomplete-{rid}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            # The notebooks leave the snapshot's files and marts to the run: checked and built
            # above, and checked again once the last report has run.
            outcomes = _execute_all(
                reports,
                tmp,
                default_jobs(len(reports)) if jobs is None else jobs,
                progress,
                {CHECKED_BY_RUN: snap.manifest_sha256},
            )
            result = RunResult(rid, final, outcomes)
            try:
                require_unchanged_files(snap)
            except GateError as exc:
                result.error = f"{exc}; they changed while the reports ran"
            result.error = result.error or _marts_changed(snap, built)
            # The verdict's page again, with a way back to this run's reports.
            (tmp / PAGE).write_text(quality_page(snap.verdict, snap.label, back="index.html"), encoding="utf-8")
            manifest = _manifest(snap, batch, rid, outcomes, result.error)
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
            from pipelines.reporting.index_page import landing, render, runs_of

            (tmp / "index.html").write_text(render(manifest, runs_of(root)), encoding="utf-8")
            _publish(tmp, root, rid, result.ok, None if only else latest_name(batch, lang))
            page = root / f".index.html.{os.getpid()}"
            page.write_text(landing(snap.id, snap.label, runs_of(root)), encoding="utf-8")
            page.replace(root / "index.html")  # readers see the old page or the new one
            if not result.ok:
                result.folder = root / f"{rid}.failed"
            if result.error:
                raise RunError(f"{result.error}: nothing was published; the run is kept in {result.folder}")
            return result
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _marts_changed(snap: Snapshot, built: dict[str, Any]) -> str:
    """Why the reports may not have read the marts the run built before them ("" if they did)."""
    try:
        now = json.loads((marts.marts_dir(snap) / marts.MARTS_FILE).read_text())
    except (OSError, ValueError):  # gone, or being written
        now = None
    if now != built:
        return f"the marts of {snap.id!r} were rebuilt or removed while the reports ran"
    if marts.code_hash() != built["code_sha256"]:
        return "the code changed while the reports ran (run them again on the new code)"
    return ""


#: Memory a job may take (a runner worker and its kernel took 0.5-0.7 GB at scale 20), and so
#: how many jobs the free memory allows.
JOB_BYTES = 2**30


def default_jobs(reports: int | None = None) -> int:
    """A job per usable core (`workers.usable_cores`), no more than the free memory holds at
    JOB_BYTES a job, and no more jobs than `reports`. On two cores a carbon batch takes 0.6x the
    time with two jobs as with one; a third job gains nothing (benchmarks/RESULTS.md)."""
    memory = psutil.virtual_memory().available // JOB_BYTES
    return max(1, min(workers.usable_cores(), memory, reports or memory))


def _execute_all(
    reports: list[Report],
    out: Path,
    jobs: int,
    progress: Callable[[str, int, int], None] | None,
    kernel_env: dict[str, str],
) -> list[Outcome]:
    """Run the reports, `jobs` at a time, with `kernel_env` added to their kernels'
    environment; outcomes come back in batch order."""
    if jobs < 1:
        raise RunError(f"--jobs must be at least 1, got {jobs}")
    if jobs == 1:
        from pipelines.reporting import warm_kernel

        outcomes = []
        try:
            for i, report in enumerate(reports):
                if progress:
                    progress(report.name, i, len(reports))
                outcomes.append(execute(report, out, kernel_env))
                if signals.interrupted():
                    # Ctrl-C in this process that papermill or a library turned into a report's
                    # failure: the batch stops as interrupted, not failed.
                    raise KeyboardInterrupt
        except BaseException:
            warm_kernel.shutdown(kill=True)
            raise
        warm_kernel.shutdown()
    else:
        from pipelines.reporting import warm_kernel

        done: dict[int, Outcome] = {}
        try:
            with workers.pool(jobs, _worker_start) as submit:
                futures = {submit(execute, report, out, kernel_env): i for i, report in enumerate(reports)}
                for future in workers.completed(futures):
                    done[futures[future]] = future.result()
                    if progress:
                        progress(done[futures[future]].report.name, len(done), len(reports))
        except BaseException as exc:
            # Ctrl-C, or a worker gone: the pool has ended the workers; their kernels too.
            warm_kernel.clear_leftovers()
            if isinstance(exc, workers.WorkerDied):
                raise workers.WorkerDied(
                    f"{exc}; nothing of this run was published: with little memory free, give fewer --jobs"
                ) from exc
            raise
        outcomes = [done[i] for i in range(len(reports))]
    if progress:
        progress("", len(reports), len(reports))
    return outcomes


def _worker_start() -> None:
    """Workers exit through multiprocessing's finalizers, not atexit: stop the kernel there."""
    from multiprocessing.util import Finalize

    from pipelines.reporting import warm_kernel

    Finalize(None, warm_kernel.shutdown, exitpriority=10)


def _publish(tmp: Path, root: Path, rid: str, ok: bool, link_name: str | None) -> None:
    """Completed runs replace their folder and, given a link name, become that link; failed
    ones are kept aside."""
    target = root / (rid if ok else f"{rid}.failed")
    old = root / f".old-{rid}-{os.getpid()}"
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    if ok and link_name:
        link = root / f".{link_name}-{os.getpid()}"
        link.unlink(missing_ok=True)
        link.symlink_to(rid)
        link.replace(root / link_name)  # rename is atomic: readers see the old or the new run


def _manifest(snap: Snapshot, batch: str, rid: str, outcomes: list[Outcome], error: str) -> dict[str, Any]:
    verdict = snap.verdict
    return {
        "run_id": rid,
        "batch": batch,
        "snapshot": snap.id,
        "snapshot_synthetic": snap.synthetic,
        "snapshot_manifest_sha256": snap.manifest_sha256,
        "validation": {
            "success": verdict["success"],
            "suites_hash": verdict["suites_hash"],
            "validated_at": verdict["validated_at"],
            "statistics": verdict["statistics"],
            "page": PAGE,
        },
        "git": _git(),
        "lock_sha256": sha256_file(LOCK_FILE),
        "code_sha256": code_hash(),
        "versions": _versions(),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "status": "ok" if not error and all(o.status == "ok" for o in outcomes) else "failed",
        "error": error,
        # What each privacy release the run published under cost, as the ledger records it.
        "privacy_releases": {
            rid: entry
            for rid, entry in ledger_entries().items()
            if rid in {o.report.params.get("release") for o in outcomes}
        },
        "reports": [
            {
                "name": o.report.name,
                "family": o.report.family,
                "notebook": f"notebooks/{o.report.notebook.name}",
                "parameters": o.report.params,
                "status": o.status,
                "error": o.error,
                "seconds": round(o.seconds, 2),
                "html_seconds": round(o.html_seconds, 2),
                "outputs_sha256": o.outputs,
                "papermill": o.papermill,
                "page": o.page,
                "chart_warnings": o.chart_warnings,
            }
            for o in outcomes
        ],
    }
