"""`python -m pipelines run`: execute a batch of report notebooks and publish it atomically.

Layout of reports/<snapshot>/:
    <run-id>/            a completed run: per report NAME.ipynb, NAME.html, NAME.params.json,
                         NAME.log; manifest.json, index.html, data_quality.html
    latest -> <run-id>   the newest completed run of the whole monthly batch (a symlink swapped
                         in one step); latest-<batch> for any other batch, so that running one
                         batch never replaces another's reports
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
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from pipelines.paths import REPO_ROOT, check_name
from pipelines.quality.gate import PAGE, require_passing, validation_dir
from pipelines.snapshot import MANIFEST, read_manifest, sha256_file, snapshot_path

BATCH_DIR = Path(__file__).parent / "config" / "batches"
DEFAULT_BATCH = "monthly"
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
KERNEL = "python3"


class RunError(ValueError):
    """A run that cannot start: bad batch, parameters, snapshot, or another run holding the lock."""


def reports_dir() -> Path:
    return Path(os.environ.get("CARD_INSIGHTS_REPORTS", REPO_ROOT / "reports")).resolve()


@dataclass(frozen=True)
class Report:
    family: str
    name: str
    notebook: Path
    params: dict[str, Any]


@dataclass
class Outcome:
    report: Report
    status: str = "pending"  # ok, failed
    seconds: float = 0.0  # executing the notebook
    html_seconds: float = 0.0  # writing its HTML
    error: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


def batches() -> list[str]:
    return sorted(p.stem for p in BATCH_DIR.glob("*.toml"))


def _notebook_parameters(path: Path) -> dict[str, Any]:
    import papermill

    return {name: p["default"] for name, p in papermill.inspect_notebook(str(path)).items()}


def _check_value(report: str, name: str, value: Any, default: str) -> None:
    """The value must have the type of the notebook's default (papermill passes it as is)."""
    literal = _literal_type(default)
    if literal is None:
        return
    ok = isinstance(value, literal) and not (literal is int and isinstance(value, bool))
    if literal is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise RunError(f"{report}: parameter {name}={value!r} should be {literal.__name__} like its default {default}")


def _literal_type(default: str) -> type | None:
    text = default.strip().replace("_", "")
    if text in ("True", "False"):
        return bool
    if re.fullmatch(r"-?\d+", text):
        return int
    if re.fullmatch(r"-?\d+\.\d*(e-?\d+)?", text):
        return float
    if text[:1] in "\"'":
        return str
    return None


def load_batch(name: str, snapshot: str, only: list[str] | None = None) -> list[Report]:
    """The batch file's reports, every parameter checked against its notebook, before anything runs."""
    path = BATCH_DIR / f"{check_name(name, 'batch name')}.toml"
    if not path.exists():
        raise RunError(f"unknown batch {name!r}; batches: {', '.join(batches())}")
    spec = tomllib.loads(path.read_text())
    families = {r["family"] for r in spec["reports"]}
    unknown = set(only or []) - families
    if unknown:
        raise RunError(
            f"--only {', '.join(sorted(unknown))}: not in batch {name!r} (families: {', '.join(sorted(families))})"
        )
    reports: list[Report] = []
    for entry in spec["reports"]:
        if only and entry["family"] not in only:
            continue
        notebook = NOTEBOOK_DIR / entry["notebook"]
        if not notebook.exists():
            raise RunError(f"batch {name!r}: notebook {entry['notebook']} does not exist")
        declared = _notebook_parameters(notebook)
        for grid_params in _expand(entry, snapshot):
            params = {**entry.get("params", {}), **grid_params, "snapshot": snapshot}
            label = "-".join(str(grid_params[k]) for k in sorted(grid_params)) if grid_params else ""
            report_name = check_name(f"{entry['family']}-{label}" if label else entry["family"], "report name")
            for key, value in params.items():
                if key not in declared:
                    raise RunError(f"{report_name}: {entry['notebook']} has no parameter {key!r}")
                _check_value(report_name, key, value, declared[key])
            reports.append(Report(entry["family"], report_name, notebook, params))
    names = [r.name for r in reports]
    if len(set(names)) != len(names):
        raise RunError(f"batch {name!r} names two reports the same")
    _check_entities(name, snapshot, reports)
    return reports


# Parameters that name something in the snapshot, and where to find it.
_ENTITIES = {
    "merchant": "SELECT merchant_id FROM merchants UNION SELECT brand_id FROM merchants WHERE brand_id IS NOT NULL",
    "employer": "SELECT employer_id FROM employers",
}


def _check_entities(batch: str, snapshot: str, reports: list[Report]) -> None:
    """Every merchant and employer a report names exists in the snapshot (compared in Python,
    never spliced into SQL)."""
    from pipelines import catalog

    wanted = {key: {r.params[key] for r in reports if r.params.get(key)} for key in _ENTITIES}
    if not any(wanted.values()):
        return
    with catalog.connect(snapshot) as con:
        for key, values in wanted.items():
            missing = sorted(values - {row[0] for row in con.execute(_ENTITIES[key]).fetchall()}) if values else []
            if missing:
                names = ", ".join(map(str, missing))
                raise RunError(f"batch {batch!r}: unknown {key} {names} in snapshot {snapshot!r}")


def _expand(entry: dict[str, Any], snapshot: str) -> list[dict[str, Any]]:
    """The parameter grid: each key a list of values (or a named list resolved from the data)."""
    grid = entry.get("grid", {})
    combos: list[dict[str, Any]] = [{}]
    for key, values in grid.items():
        values = resolve_list(values, snapshot) if isinstance(values, str) else values
        combos = [{**c, key: v} for c in combos for v in values]
    return combos


def resolve_list(token: str, snapshot: str) -> list[str]:
    """Named lists in batch files: '@carbon_programme' (employers that subscribe), '@merchant_sample'
    (a spread of outlets and a chain) and '@busiest_outlets' (the 100 outlets with most purchases)."""
    from pipelines import catalog

    queries = {
        "@carbon_programme": "SELECT employer_id FROM employers WHERE in_carbon_programme ORDER BY employer_id",
        "@merchant_sample": (
            "SELECT id FROM (SELECT merchant_id AS id, row_number() OVER (ORDER BY count(*) DESC, merchant_id) AS r "
            "FROM purchases GROUP BY merchant_id) WHERE r IN (1, 10, 30) "
            "UNION (SELECT max(merchant_id) FROM merchants) UNION (SELECT min(brand_id) FROM merchants) ORDER BY id"
        ),
        "@busiest_outlets": (
            "SELECT merchant_id FROM purchases GROUP BY merchant_id ORDER BY count(*) DESC, merchant_id LIMIT 100"
        ),
    }
    if token not in queries:
        raise RunError(f"unknown list {token!r} in batch file; known: {', '.join(queries)}")
    with catalog.connect(snapshot) as con:
        return [r[0] for r in con.execute(queries[token]).fetchall()]


def _git() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}


def code_hash() -> str:
    """Notebooks, package code, SQL, configuration and lock: what a report depends on."""
    h = hashlib.sha256()
    files = [
        *NOTEBOOK_DIR.glob("*.ipynb"),
        *Path(__file__).parent.rglob("*.py"),
        *Path(__file__).parent.rglob("*.sql"),
        *(Path(__file__).parent / "config").rglob("*.*"),
        REPO_ROOT / "uv.lock",
    ]
    for p in sorted(f for f in files if f.exists()):
        h.update(str(p.relative_to(REPO_ROOT)).encode() + b"\n" + p.read_bytes())
    return h.hexdigest()


def run_id(batch: str, snapshot: str, reports: list[Report]) -> str:
    h = hashlib.sha256()
    h.update(sha256_file(snapshot_path(snapshot) / MANIFEST).encode())
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


def execute(report: Report, out: Path) -> Outcome:
    """Run one notebook with papermill in this process's warm kernel, then export HTML without
    input cells. Call `warm_kernel.shutdown()` when the batch is done."""
    import papermill

    from pipelines import warm_kernel

    outcome = Outcome(report)
    ipynb, log = out / f"{report.name}.ipynb", out / f"{report.name}.log"
    (out / f"{report.name}.params.json").write_text(json.dumps(report.params, indent=2, sort_keys=True) + "\n")
    start = time.perf_counter()
    with open(log, "w") as log_file:
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
            )
            outcome.status = "ok"
        except Exception as exc:  # papermill raises PapermillExecutionError, kernels can die
            outcome.status = "failed"
            outcome.error = _error_text(exc)
            log_file.write(f"\nFAILED: {outcome.error}\n")
    outcome.seconds = time.perf_counter() - start
    if ipynb.exists():
        html = out / f"{report.name}.html"
        html.write_text(to_html(ipynb), encoding="utf-8")
    outcome.html_seconds = time.perf_counter() - start - outcome.seconds
    outcome.outputs = {p.name: sha256_file(p) for p in sorted(out.glob(f"{report.name}.*"))}
    return outcome


def _error_text(exc: BaseException) -> str:
    name = getattr(exc, "ename", type(exc).__name__)
    value = getattr(exc, "evalue", str(exc))
    return f"{name}: {value}".strip()[:2000]


_REMOTE_SCRIPT = re.compile(r"<script[^>]*\ssrc=\"https?://[^\"]*\"[^>]*>\s*</script>", re.IGNORECASE)


def to_html(ipynb: Path) -> str:
    """HTML without input cells that opens offline: charts are inline SVG, and the template's
    CDN scripts (MathJax, require.js), which no report uses, are removed."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nbformat.read(ipynb, as_version=4))
    return _REMOTE_SCRIPT.sub("", body)


def _versions() -> dict[str, str]:
    names = ("duckdb", "polars", "altair", "papermill", "nbconvert", "great-expectations", "vl-convert-python")
    return {n: version(n) for n in names}


def _notebook_facts(ipynb: Path) -> dict[str, Any]:
    """What papermill recorded in the executed notebook's metadata."""
    import nbformat

    if not ipynb.exists():
        return {}
    meta = nbformat.read(ipynb, as_version=4).metadata.get("papermill", {})
    return {k: meta.get(k) for k in ("start_time", "end_time", "duration", "exception", "version", "parameters")}


@dataclass
class RunResult:
    run_id: str
    folder: Path
    outcomes: list[Outcome]
    skipped: bool = False

    @property
    def ok(self) -> bool:
        return all(o.status == "ok" for o in self.outcomes)


def latest_name(batch: str) -> str:
    """The link to a batch's newest completed run in reports/<snapshot>/."""
    return "latest" if batch == DEFAULT_BATCH else f"latest-{batch}"


def run(
    snapshot: str,
    batch: str = DEFAULT_BATCH,
    only: list[str] | None = None,
    force: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    jobs: int = 1,
) -> RunResult:
    read_manifest(check_name(snapshot))
    verdict = require_passing(snapshot)
    reports = load_batch(batch, snapshot, only)
    if not reports:
        raise RunError(f"batch {batch!r} has no reports to run")
    rid = run_id(batch, snapshot, reports)
    root = reports_dir() / snapshot
    final = root / rid
    with _lock(root):
        if final.exists() and not force:
            return RunResult(rid, final, [], skipped=True)
        from pipelines import marts

        marts.build(snapshot)
        tmp = root / f".incomplete-{rid}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            outcomes = _execute_all(reports, tmp, jobs, progress)
            result = RunResult(rid, final, outcomes)
            shutil.copy(validation_dir(snapshot) / PAGE, tmp / PAGE)
            manifest = _manifest(snapshot, batch, rid, verdict, outcomes, tmp)
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
            from pipelines.index_page import render

            (tmp / "index.html").write_text(render(manifest), encoding="utf-8")
            _publish(tmp, root, rid, result.ok, None if only else latest_name(batch))
            if not result.ok:
                result.folder = root / f"{rid}.failed"
            return result
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _execute_all(
    reports: list[Report], out: Path, jobs: int, progress: Callable[[str, int, int], None] | None
) -> list[Outcome]:
    """Run the reports, `jobs` at a time; outcomes come back in batch order."""
    if jobs < 1:
        raise RunError(f"--jobs must be at least 1, got {jobs}")
    if jobs == 1:
        from pipelines import warm_kernel

        outcomes = []
        try:
            for i, report in enumerate(reports):
                if progress:
                    progress(report.name, i, len(reports))
                outcomes.append(execute(report, out))
        finally:
            warm_kernel.shutdown()
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        # spawn: a forked copy of a process running DuckDB and Polars threads can hang.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_start) as pool:
            futures = {pool.submit(execute, report, out): i for i, report in enumerate(reports)}
            done: dict[int, Outcome] = {}
            try:
                for future in as_completed(futures):
                    done[futures[future]] = future.result()
                    if progress:
                        progress(done[futures[future]].report.name, len(done), len(reports))
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        outcomes = [done[i] for i in range(len(reports))]
    if progress:
        progress("", len(reports), len(reports))
    return outcomes


def _worker_start() -> None:
    """Workers exit through multiprocessing's finalizers, not atexit: stop the kernel there."""
    from multiprocessing.util import Finalize

    from pipelines import warm_kernel

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


def _manifest(
    snapshot: str, batch: str, rid: str, verdict: dict[str, Any], outcomes: list[Outcome], folder: Path
) -> dict[str, Any]:
    return {
        "run_id": rid,
        "batch": batch,
        "snapshot": snapshot,
        "snapshot_synthetic": read_manifest(snapshot)["synthetic"],
        "snapshot_manifest_sha256": sha256_file(snapshot_path(snapshot) / MANIFEST),
        "validation": {
            "success": verdict["success"],
            "suites_hash": verdict["suites_hash"],
            "validated_at": verdict["validated_at"],
            "statistics": verdict["statistics"],
            "page": PAGE,
        },
        "git": _git(),
        "lock_sha256": sha256_file(REPO_ROOT / "uv.lock"),
        "code_sha256": code_hash(),
        "versions": _versions(),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "status": "ok" if all(o.status == "ok" for o in outcomes) else "failed",
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
                "papermill": _notebook_facts(folder / f"{o.report.name}.ipynb"),
            }
            for o in outcomes
        ],
    }
