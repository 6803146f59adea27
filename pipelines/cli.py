"""`python -m pipelines`: the command line of card-insights."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipelines.core.config import ConfigError
from pipelines.core.engine import QueryError
from pipelines.core.paths import BadNameError, check_name
from pipelines.core.signals import signals
from pipelines.core.snapshot import SnapshotError
from pipelines.core.workers import WorkerDied
from pipelines.ingest.importer import ContractError
from pipelines.quality.gate import GateError
from pipelines.reporting.batches import RunError

app = typer.Typer(
    help="card-insights: synthetic card data, the data-quality gate, marts and reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Markdown joins a docstring's wrapped lines into paragraphs that fit the terminal.
    rich_markup_mode="markdown",
)
console = Console(stderr=True)
out = Console()

DEFAULT_SNAPSHOT = "default"


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _is_interrupt(exc: BaseException) -> bool:
    """Whether an error is Ctrl-C in another library's words: DuckDB answers it in a query with
    "Query interrupted", and while reading a registered Arrow table with an error that names
    the KeyboardInterrupt; others raise their own error from it, or one without a trace of it
    after Ctrl-C reached the process (`signals`)."""
    if signals.interrupted():
        return True
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen)
        if isinstance(seen, KeyboardInterrupt) or text == "Query interrupted" or "KeyboardInterrupt" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _error(message: str) -> None:
    """One message, never wrapped inside a path or reread as markup, then exit code 1."""
    console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(1) from None


def _interrupted() -> None:
    """After Ctrl-C: everything half-written was removed on the way here. Exit at once: waiting
    in the interpreter's own shutdown for worker processes (concurrent.futures joins them)
    could hang when Ctrl-C came while one was being started."""
    from pipelines.core.stale import stop_descendants

    console.print("[bold red]interrupted:[/] nothing was published")
    stop_descendants(grace=2.0)
    # os._exit skips multiprocessing's exit hook, which releases the semaphores of process
    # pools: run it here, or its resource tracker reports them leaked once this process is gone.
    from multiprocessing import util

    util._run_finalizers(0)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)


#: Failures the user can act on from their message alone.
EXPECTED = (
    SnapshotError,
    BadNameError,
    GateError,
    ContractError,
    RunError,
    ConfigError,
    ValueError,
    QueryError,
    WorkerDied,
)


def friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected failures into a one-line message and exit code 1, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # A scheduler's SIGTERM takes the same clean-up path as Ctrl-C.
        signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            return func(*args, **kwargs)
        except KeyboardInterrupt:
            _interrupted()
        except Exception as exc:
            if _is_interrupt(exc):
                _interrupted()
            if isinstance(exc, EXPECTED):
                _error(str(exc))
            if isinstance(exc, OSError):
                # A full disk, a read-only or missing folder: the system's words, and where.
                where = f" {exc.filename}" if exc.filename else ""
                _error(f"cannot use{where}: {exc.strerror or exc}")
            raise

    return wrapper


SnapshotOpt = Annotated[str, typer.Option("--snapshot", "-s", help="Snapshot ID (letters, digits, '.', '_', '-').")]


@app.command()
@friendly
def generate(
    snapshot: SnapshotOpt = DEFAULT_SNAPSHOT,
    scale: Annotated[
        float | None,
        typer.Option(help="Size: 1 = 10,000 members, about 1.3 million rows over 6 months. [default: 1]"),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Random seed; the same seed and scale give identical tables. [default: 42]")
    ] = None,
    months: Annotated[
        int | None, typer.Option(help="Months covered, from 2025-01, each ended by today. [default: 6]", min=1, max=36)
    ] = None,
    horizon: Annotated[
        int | None,
        typer.Option(
            help="Months the members are drawn over (who joins, moves, churns when; the campaigns), at least "
            "--months [default: --months]. A snapshot with a horizon past its months can be extended month by "
            "month with --extends; each extension equals those months generated whole.",
            min=1,
            max=36,
        ),
    ] = None,
    extends: Annotated[
        str | None,
        typer.Option(
            help="Generated snapshot to extend by its next month: its months' files are shared (hard links), "
            "the new month is generated with its seed, scale and shape, the members, cards and campaigns are "
            "those at the new month's end. The parent needs a --horizon past its months.",
        ),
    ] = None,
    shape: Annotated[
        str,
        typer.Option(
            help="Kind of operator: default (a card and wallet used in all four scenes) or retail-sparse "
            "(retail only, a few orders a year per customer, as a web shop's log)."
        ),
    ] = "default",
    if_absent: Annotated[bool, typer.Option("--if-absent", help="Do nothing if the snapshot exists.")] = False,
) -> None:
    """Generate a SYNTHETIC snapshot into data/snapshots/ID (atomic; never overwrites)."""
    import dataclasses

    from pipelines.core.snapshot import list_snapshots
    from pipelines.ingest.generator import generate as run_generate
    from pipelines.ingest.generator.params import SHAPES

    if if_absent and snapshot in list_snapshots():
        console.print(f"snapshot {snapshot!r} already exists; kept as it is")
        return
    if shape not in SHAPES:
        raise ValueError(f"--shape must be one of {', '.join(SHAPES)}, got {shape!r}")
    if extends is not None:
        check_name(extends)
        given = [
            f"--{n}"
            for n, v in (("scale", scale), ("seed", seed), ("months", months), ("horizon", horizon))
            if v is not None
        ]
        if given or shape != "default":
            raise ValueError(
                f"--extends takes the seed, scale, shape and horizon of {extends!r} and adds one month; leave out "
                + ", ".join(given or ["--shape"])
            )
        params = None
    else:
        params = dataclasses.replace(SHAPES[shape], months=months or 6, horizon=horizon)
    with Progress(
        TextColumn("[bold]generating[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(snapshot, total=None, rows=0)

        def step(what: str, rows: int) -> None:
            bar.update(task, advance=1, description=what, rows=bar.tasks[task].fields["rows"] + rows)

        manifest = run_generate(
            snapshot,
            scale=1.0 if scale is None else scale,
            seed=42 if seed is None else seed,
            params=params,
            progress=step,
            extends=extends,
        )
    total = sum(t["rows"] for t in manifest["tables"].values())
    console.print(f"[green]wrote[/] snapshot {snapshot!r} (SYNTHETIC): {total:,} rows")


snapshots_app = typer.Typer(
    help="List snapshots with their period, size and row counts; `snapshots remove ID` deletes one.",
    rich_markup_mode="markdown",
)
app.add_typer(snapshots_app, name="snapshots")


@snapshots_app.callback(invoke_without_command=True)
@friendly
def snapshots(ctx: typer.Context) -> None:
    """List snapshots with their period, size and row counts; `snapshots remove ID` deletes one.

    A monthly extension names the snapshot it extends; its size counts its own files, and the
    files it shares with earlier snapshots (hard links, stored once) apart."""
    if ctx.invoked_subcommand is not None:
        return
    from pipelines.core.snapshot import Snapshot, list_snapshots

    found = list_snapshots()
    if not found:
        console.print("no snapshots yet: run `make data`")
        return
    t = Table("snapshot", "period", "extends", "synthetic", "rows", "MB", "largest table")
    for name in found:
        snap = Snapshot.open(name)
        m = snap.manifest
        rows = {k: v["rows"] for k, v in m["tables"].items()}
        files = [f for v in m["tables"].values() for f in v["files"]]
        own = sum(f["bytes"] for f in files if "from" not in f) / 1e6
        shared = sum(f["bytes"] for f in files if "from" in f) / 1e6
        big = max(rows, key=rows.__getitem__)
        t.add_row(
            name,
            f"{m['period']['start']} .. {m['period']['end']}",
            snap.extends or "",
            "yes" if m["synthetic"] else "no",
            f"{sum(rows.values()):,}",
            f"{own:,.1f}" + (f" (+{shared:,.1f} shared)" if shared else ""),
            f"{big} ({rows[big]:,})",
        )
    out.print(t)


@snapshots_app.command("remove")
@friendly
def remove_snapshot(
    snapshot: Annotated[str, typer.Argument(help="ID of the snapshot to delete.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a snapshot with its verdict, marts and planted ground truth.

    Published reports in reports/ID/ are kept: they are outputs, not data.
    """
    import shutil

    from pipelines.core.paths import ground_truth_dir
    from pipelines.core.snapshot import Snapshot, remove_snapshot
    from pipelines.marts import marts_dir
    from pipelines.quality.gate import validation_dir

    snap = Snapshot.open(snapshot)
    if not yes and not typer.confirm(f"delete snapshot {snap.id!r} ({snap.label}, {snap.start} .. {snap.end})?"):
        raise typer.Exit(1)
    folder = remove_snapshot(snap.id)
    for derived in (validation_dir(snap.id), marts_dir(snap.id), ground_truth_dir() / snap.id):
        shutil.rmtree(derived, ignore_errors=True)
    console.print(f"removed snapshot {snap.id!r} ({folder}), its verdict and its marts")


@app.command()
@friendly
def privacy() -> None:
    """The privacy ledger: what each year of data has spent of its budget, every release
    (merchant figures, audience counts) with its cost, and the cost per merchant."""
    from pipelines.privacy.accounting import load_privacy
    from pipelines.privacy.ledger import entries, ledger_path, year_summary

    releases = entries()
    if not releases:
        console.print(f"no privacy releases yet ({ledger_path()})")
        return
    config = load_privacy()
    years = sorted({e["year"] for e in releases.values()})
    t = Table("year", "rho spent", "rho budget", "epsilon spent", "releases", title="Privacy budget per year of data")
    for year in years:
        s = year_summary(year, config)
        n = sum(1 for e in releases.values() if e["year"] == year)
        t.add_row(str(year), f"{s['rho']:.3f}", f"{s['budget_rho']:g}", f"{s['epsilon']:.1f}", str(n))
    out.print(t)
    t = Table(
        "release", "kind", "snapshot", "what", "year", "rho", "epsilon", "published", title="Releases, oldest first"
    )
    per_merchant: dict[str, float] = {}
    for rid, e in sorted(releases.items(), key=lambda item: item[1]["recorded_at"]):
        what = ", ".join(e.get("merchants", [])) or e.get("audience", "")
        kept = "yes" if e.get("kept") else "no"
        t.add_row(
            rid,
            e.get("kind", ""),
            e.get("snapshot", ""),
            what,
            str(e["year"]),
            f"{e['rho']:.3f}",
            f"{e['epsilon']:.2f}",
            kept,
        )
        for merchant in e.get("merchants", []):
            per_merchant[merchant] = per_merchant.get(merchant, 0.0) + e["rho"]
    out.print(t)
    if per_merchant:
        t = Table("merchant", "rho of the releases that reported it", title="Privacy cost per merchant")
        for merchant, rho in sorted(per_merchant.items()):
            t.add_row(merchant, f"{rho:.3f}")
        out.print(t)
    console.print(f"ledger: {ledger_path()}")


@app.command()
@friendly
def summary(snapshot: SnapshotOpt = DEFAULT_SNAPSHOT) -> None:
    """Print what a snapshot holds: tables, rows, period and the mix of the four scenes."""
    from pipelines.ingest.summary import summarise

    typer.echo(summarise(snapshot))


@app.command()
@friendly
def dictionary(
    check: Annotated[
        bool, typer.Option("--check", help="Fail if a dictionary in docs/ is out of date; write nothing.")
    ] = False,
) -> None:
    """Write the data dictionaries: docs/data_dictionary.md (raw tables, from the schema) and
    docs/marts_dictionary.md (every mart column, from each family's marts.toml)."""
    from pipelines import marts_dictionary
    from pipelines.ingest import dictionary as raw

    stale = []
    for path, text in (
        (raw.DICTIONARY_PATH, raw.render()),
        (marts_dictionary.MARTS_DICTIONARY_PATH, marts_dictionary.render()),
    ):
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
            continue
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        console.print(f"wrote {path}")
    if stale:
        console.print(f"docs/{', docs/'.join(stale)} out of date: run `python -m pipelines dictionary`")
        raise typer.Exit(1)


@app.command()
@friendly
def validate(
    snapshot: SnapshotOpt = DEFAULT_SNAPSHOT,
    previous: Annotated[
        str | None,
        typer.Option(
            help="Earlier snapshot to compare volumes and scene mix with; 'auto' (what `make run` passes): "
            "the snapshot this one extends, else the one whose period ends last before this one's, if any. "
            "A snapshot that extends another is compared with it unless another is named."
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="Where the checks' SQL runs: duckdb (this process) or spark (Apache Spark: master and "
            "settings from pipelines/spark/config/spark.toml, or the file CARD_INSIGHTS_SPARK_CONFIG names, "
            "master overridden by CARD_INSIGHTS_SPARK_MASTER; needs Java 17: make java). The same suites "
            "and the same verdict either way.",
        ),
    ] = "duckdb",
) -> None:
    """Run the expectation suites on a snapshot; exit 0 if it passes, 1 if not.

    Prints every failed expectation (table, column, rule, what was seen, sample keys) and
    stores the verdict (JSON) and a data-quality page (HTML) in data/validation/ID/.
    """
    from pipelines.core.engine import ENGINES
    from pipelines.quality.describe import failure_lines, volume_lines
    from pipelines.quality.gate import previous_of
    from pipelines.quality.gate import validate as run_validate

    connect = None
    if engine == "spark":
        from pipelines.spark.connection import SparkConnection
        from pipelines.spark.session import session

        def connect() -> SparkConnection:
            return SparkConnection(session())

    elif engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: one of {', '.join(ENGINES)}")
    if previous == "auto":
        previous = previous_of(snapshot)
        console.print(f"comparing with the previous snapshot {previous}" if previous else "no previous snapshot")
    with console.status("validating ...") as status:
        verdict = run_validate(
            snapshot, previous=previous, progress=lambda t: status.update(f"validating {t} ..."), connect=connect
        )
    for problem in verdict.integrity:
        console.print(f"[red]FAILED[/]  {problem['table']}: {problem['file']}: {problem['problem']}", highlight=False)
    for outcome in verdict.failures:
        console.print("\n".join(failure_lines(outcome)), highlight=False, markup=False)
    console.print("\n".join(volume_lines(verdict.document)), highlight=False, markup=False, soft_wrap=True)
    stats = verdict.document["statistics"]
    page = verdict.path.parent / "data_quality.html"
    if verdict.success:
        console.print(f"[green]passed[/]: {stats['evaluated_expectations']} expectations met; page: {page}")
        return
    console.print(
        f"[bold red]failed[/]: {stats['unsuccessful_expectations']} of {stats['evaluated_expectations']} expectations"
        f" and {len(verdict.integrity)} file problems; no report will run on {snapshot!r}. Page: {page}"
    )
    raise typer.Exit(1)


def _parameters(args: list[str]) -> list[tuple[str, str]]:
    """`-p NAME VALUE` pairs (papermill's form) from the arguments typer did not take."""
    pairs, rest = [], list(args)
    while rest:
        flag = rest.pop(0)
        if flag not in ("-p", "--parameter") or len(rest) < 2:
            raise RunError(f"unexpected argument {flag!r}: give parameters as -p NAME VALUE")
        pairs.append((rest.pop(0), rest.pop(0)))
    return pairs


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@friendly
def run(
    ctx: typer.Context,
    snapshot: SnapshotOpt = DEFAULT_SNAPSHOT,
    batch: Annotated[
        str,
        typer.Option(
            help="Batch file in pipelines/reporting/batches/ without .toml: monthly (segments, carbon per "
            "employer, subscribing merchants), merchants (a sample) or outlets100 (100 outlets, a fixed "
            "sample of the register)."
        ),
    ] = "monthly",
    only: Annotated[list[str] | None, typer.Option(help="Run only this report family; repeat for several.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Run again even if this exact run is complete.")] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            help="Reports to run at once; with more than one, each job is a process with its own warm kernel "
            "(0.5-1 GB a job). Default: one a core this process may use, no more than the reports or the "
            "free GB of memory.",
            min=1,
            show_default=False,
        ),
    ] = None,
    new_release: Annotated[
        bool,
        typer.Option(
            "--new-release",
            help="Publish freshly computed privacy-protected figures (merchant profiles, audience counts) "
            "as a new release, charged to the yearly privacy budget, instead of the figures already "
            "published for the same merchants and month: after a data or code correction only.",
        ),
    ] = False,
    notebook: Annotated[
        str,
        typer.Option(
            help="Run this one notebook (its name without .ipynb, e.g. merchant_profile) instead of the "
            "batch, with parameters as papermill takes them: -p merchant S0000004 -p period 2025-06."
        ),
    ] = "",
    lang: Annotated[
        str,
        typer.Option(
            help="Write every report in this language: zh-TW (Traditional Chinese, the reports' own) or en "
            "(English), with the privacy-protected figures already published for the same merchants and "
            "month (unless --new-release). A batch in English is a run of its own, linked as latest-en "
            "(latest-BATCH-en). Default: the language the batch file gives each report.",
        ),
    ] = "",
) -> None:
    """Run a batch of report notebooks on a validated snapshot and publish it.

    Parameters, merchants and employers are checked before anything runs; marts are built
    once; each notebook runs with papermill and is exported to HTML that opens offline. A run
    of the whole batch becomes reports/SNAPSHOT/latest (latest-BATCH for a batch other than
    monthly, with -en added for --lang en) only when every report succeeded; a run with
    --only keeps its own folder and moves no link. Exit 0 when all succeeded (or the same run
    was already complete), 1 otherwise, 2 for a wrong command line (an unknown option, a
    missing value), 130 on Ctrl-C.
    """
    from rich.progress import Progress as Bar

    from pipelines.reporting.runner import latest_name
    from pipelines.reporting.runner import run as run_batch

    with Bar(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("reports", total=None)

        def step(name: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=f"report {name}" if name else "done")

        params = _parameters(ctx.args)
        if params and not notebook:
            raise RunError("-p NAME VALUE sets a parameter of one report: give its --notebook too")
        result = run_batch(
            snapshot,
            batch=batch,
            only=only,
            force=force,
            progress=step,
            jobs=jobs,
            new_release=new_release,
            notebook=notebook,
            params=params,
            lang=lang,
        )
    if result.skipped:
        console.print(f"run {result.run_id} is already complete (use --force to run it again)")
    for o in result.outcomes:
        mark = "[green]ok[/]" if o.status == "ok" else "[bold red]FAILED[/]"
        console.print(f"{mark} {o.report.name} ({o.seconds:.1f} s){': ' + o.error if o.error else ''}", highlight=False)
        for warning in o.chart_warnings:
            console.print(f"  [yellow]chart warning[/] (Vega-Lite): {escape(warning)}", highlight=False)
    index = result.folder / "index.html"
    if not result.ok:
        link = f"reports/{snapshot}/{latest_name(batch, lang)}"
        console.print(f"[bold red]failed[/]: see {index}; {link} still points to the last good run")
        raise typer.Exit(1)
    if only or notebook:
        console.print(f"one report or some families only: reports/{snapshot}/{latest_name(batch, lang)} is unchanged")
    elif not result.skipped:
        # The link this run now is: the path stays the same from one month to the next.
        index = result.folder.parent / latest_name(batch, lang) / "index.html"
    typer.echo(str(index))


@app.command()
@friendly
def marts(
    snapshot: SnapshotOpt = DEFAULT_SNAPSHOT,
    force: Annotated[
        bool,
        typer.Option("--force", help="Rebuild from the whole history even if nothing changed, or if it could extend."),
    ] = False,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            help="Where the marts' SQL runs: duckdb (this process), or spark (Apache Spark: master and "
            "settings from pipelines/spark/config/spark.toml, or the file CARD_INSIGHTS_SPARK_CONFIG names, "
            "master overridden by CARD_INSIGHTS_SPARK_MASTER; needs Java 17: make java). The same SQL and "
            "the same figures either way. Default: the engine that made the marts there are, else duckdb; "
            "current marts are kept whichever engine made them.",
        ),
    ] = None,
) -> None:
    """Build the marts of a validated snapshot: segments, merchant profiles, commutes, campaigns.

    member_month, rfm and migration; merchant_month and merchant_cells (aggregates only);
    commute_days and commute_pkm; the campaign marts. Written to data/marts/ID/; skipped when
    the snapshot, SQL and configuration are unchanged and the same engine made them. A monthly
    extension whose parent's marts are current reuses their months before the new days where
    a mart allows it (member_month, rfm, the commute and merchant marts, campaign_members) and
    builds the rest.
    """
    from pipelines.marts import build, marts_dir

    built: list[str] = []
    with console.status("building marts ...") as status:

        def progress(mart: str) -> None:
            built.append(mart)
            status.update(f"building mart {mart} ...")

        stamp = build(snapshot, force=force, progress=progress, engine=engine)
    rows = ", ".join(f"{name} {n:,} rows" for name, n in stamp["marts"].items())
    if not built:
        console.print(
            f"[green]marts[/] of {snapshot!r} in {marts_dir(snapshot)} are up to date "
            f"(built on {stamp.get('engine', 'duckdb')}): {rows}"
        )
        return
    console.print(f"[green]marts[/] of {snapshot!r} in {marts_dir(snapshot)}, built on {stamp['engine']}: {rows}")
    if extended := stamp.get("extended"):
        reused = ", ".join(f"{name} {n:,} rows" for name, n in extended["rows_reused"].items())
        console.print(f"extended the marts of {extended['from']!r} from {extended['since']} on, reusing {reused}")


@app.command()
@friendly
def audience(
    out: Annotated[Path, typer.Option("--out", help="CSV file for the matching member IDs (not under reports/).")],
    snapshot: SnapshotOpt = DEFAULT_SNAPSHOT,
    as_of: Annotated[
        str, typer.Option(help="A month end inside the snapshot's period (YYYY-MM-DD); default the last.")
    ] = "",
    gender: Annotated[str, typer.Option(help="F, M, or empty for any.")] = "",
    ages: Annotated[str, typer.Option(help="Age range such as 30-45; empty for any.")] = "",
    min_monthly_spend: Annotated[int, typer.Option(help="Minimum average monthly spend in NT$.")] = 0,
    districts: Annotated[str, typer.Option(help="Comma-separated district IDs (D01 ...); empty for any.")] = "",
    segments: Annotated[str, typer.Option(help="Comma-separated segment names; empty for any.")] = "",
    scene: Annotated[str, typer.Option(help="Only members active in this scene (transit, retail, ...).")] = "",
    campaign: Annotated[
        str,
        typer.Option(
            help="Create a campaign: its ID (C followed by five digits). The file then holds every member's arm, "
            "treatment or holdout, as the campaign_assignments table; send the offer to the treatment arm only."
        ),
    ] = "",
    owner: Annotated[
        str,
        typer.Option(
            help="With --campaign: who pays for it, 'operator' or the outlet (S...) or chain (B...); a merchant or "
            "chain may have 12 campaigns drawn a year."
        ),
    ] = "",
    holdout: Annotated[
        float, typer.Option(help="With --campaign: the share of the audience held out (sent nothing), 0.05 to 0.5.")
    ] = 0.2,
    seed: Annotated[
        int | None,
        typer.Option(
            help="With --campaign: seed of the draw (0 to 2^63 - 1); with the operator's secret key "
            "(data/privacy/noise.key) and the campaign's ID it draws the audience and the arms. Default: a new "
            "random seed. A campaign is drawn once: its settings are kept, and a redraw with others is refused."
        ),
    ] = None,
    reach: Annotated[
        float,
        typer.Option(
            help="With --campaign: the share of the members who match the rule that the campaign reaches, drawn at "
            "random; at most 0.8, so that a merchant cannot tell from its till that a matching customer who paid "
            "without redeeming was held out."
        ),
    ] = 0.8,
) -> None:
    """Export the member IDs of an audience for the operator's own campaign system.

    Reports only ever show counts; IDs leave through this command alone, into a file you name.
    With --campaign, a random share of the matching members (--reach, at most 0.8) makes the
    audience, and each is drawn into the treatment arm or the holdout, so the measurement of the
    campaign's effect can compare the two. Both draws are keyed by the operator's secret key,
    the campaign's ID and seed, and the member's ID: without the key, nobody can redo them, so a
    merchant who knows some treated customers from its redemptions cannot work out anyone
    else's arm. A campaign is drawn once (pipelines/campaigns/audience.py says why).
    """
    from pipelines import marts
    from pipelines.campaigns.audience import check_settings, draw
    from pipelines.core.paths import REPO_ROOT
    from pipelines.core.schema import CAMPAIGN_ID
    from pipelines.quality.gate import require_passing
    from pipelines.reporting.runner import reports_dir
    from pipelines.segments.analysis import open_segmentation
    from pipelines.segments.audience import Audience

    target = out.resolve()
    for reports in {(REPO_ROOT / "reports").resolve(), reports_dir()}:
        if target == reports or reports in target.parents:
            raise ValueError(f"member IDs never go into a reports folder ({reports}): choose a file elsewhere")
    criteria = Audience.from_text(gender, ages, min_monthly_spend, districts, segments, scene)
    if campaign:
        if not re.fullmatch(CAMPAIGN_ID, campaign):
            raise ValueError(f"--campaign must look like C00042 (C and five digits), got {campaign!r}")
        check_settings(holdout, reach, seed)
        if not owner:
            raise ValueError("--campaign needs --owner: 'operator', or the outlet (S...) or chain (B...) that pays")
    snap = require_passing(snapshot)
    marts.build(snap)
    with marts.connect(snap) as con:
        members = open_segmentation(con, snap, as_of).audience_members(criteria)
        matching = members.height
        if campaign:
            members, seed = draw(con, members["member_id"], campaign, owner, holdout, reach, seed, criteria.describe())
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    members.write_csv(partial)
    partial.replace(target)
    console.print(f"[green]{members.height:,} members[/] ({criteria.describe()}) written to {target}")
    if campaign:
        held = int((members["arm"] == "holdout").sum())
        console.print(
            f"campaign {campaign}: {members.height:,} of the {matching:,} matching members reached ({reach:.0%}); "
            f"{members.height - held:,} to send the offer to, {held:,} held out ({holdout:.0%} declared); "
            f"seed {seed} with the operator's key redraws the same audience and arms"
        )


def _date(option: str, text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{option} {text!r} is not a date: give a day that exists, as YYYY-MM-DD") from None


@app.command("import")
@friendly
def import_(
    source: Annotated[Path, typer.Argument(help="Folder with one file per table: NAME.parquet, NAME.csv or NAME/.")],
    snapshot: Annotated[str, typer.Option("--snapshot", "-s", help="ID of the new snapshot.")],
    end: Annotated[str, typer.Option(help="Last day of the period the extract covers (YYYY-MM-DD).")],
    start: Annotated[
        str | None,
        typer.Option(
            help="First day of the period the extract covers (YYYY-MM-DD); with --extends, the day after the "
            "parent's period, which is the default."
        ),
    ] = None,
    extends: Annotated[
        str | None,
        typer.Option(
            help="Snapshot this monthly extract extends: its events are the new days only, the parent's are "
            "shared (hard links, no copy); members, cards, merchants and campaigns left out are the parent's."
        ),
    ] = None,
    previous: Annotated[
        str | None, typer.Option(help="Snapshot to compare with; default: the newest earlier imported one.")
    ] = None,
    absent: Annotated[
        list[str] | None,
        typer.Option(
            help="A scene the operator does not run (transit, retail, bills or p2p); repeat for several. "
            "Its table may be left out and must be empty."
        ),
    ] = None,
    round_money: Annotated[
        bool,
        typer.Option(
            "--round-money", help="Round decimal amounts to whole NT$ (half away from zero) instead of refusing them."
        ),
    ] = False,
) -> None:
    """Import the operator's own Parquet/CSV extracts as a snapshot, then validate it.

    Table and column names, types and values are checked against the data dictionary first
    (docs/data_dictionary.md); every problem is listed and nothing is written. Districts and
    stations default to data/reference/ when the extract leaves them out. Times with a UTC
    offset are converted to Asia/Taipei. A snapshot that fails validation is removed (its
    data-quality page stays in data/validation/ID/), so the same ID can be imported again.
    Exits 1 if the contract is not met or the snapshot fails validation.

    Monthly: `import EXTRACT -s 2025-07 --extends 2025-06 --end 2025-07-31` makes a snapshot of
    2025-06's history plus July. The gate checks July's events, the keys and rules across
    months, and the drift against 2025-06; 2025-06 must have passed it.
    """
    from pipelines.core.snapshot import Snapshot, remove_snapshot
    from pipelines.ingest.importer import default_previous, import_source

    if start is None and extends is None:
        raise ValueError("--start is needed: the first day of the period the extract covers (or give --extends)")
    last = _date("--end", end)
    first = _date("--start", start) if start else Snapshot.open(extends).end + dt.timedelta(days=1)
    manifest = import_source(
        source,
        snapshot,
        first,
        last,
        absent_scenes=tuple(absent or ()),
        round_money=round_money,
        extends=extends,
    )
    rows = sum(t["rows"] for t in manifest["tables"].values())
    console.print(f"[green]imported[/] {rows:,} rows as snapshot {snapshot!r}; validating ...")
    if extends:
        from pipelines.core.schema import EVENT_TABLES

        shared = [n for n, t in manifest["tables"].items() if t["files"] and all("from" in f for f in t["files"])]
        taken = [n for n in shared if n not in EVENT_TABLES]
        console.print(f"taken whole from {extends!r} (left out of the extract): {', '.join(taken) or 'none'}")
        if idle := [n for n in shared if n in EVENT_TABLES]:
            console.print(f"no new rows in: {', '.join(idle)}")
    kept = False
    try:
        validate(snapshot=snapshot, previous=previous or extends or default_previous(snapshot))
        kept = True
    finally:
        if not kept:
            remove_snapshot(snapshot)
            console.print(
                f"snapshot {snapshot!r} was removed: nothing of this import is kept but its data-quality page"
            )


@app.command()
@friendly
def expectations() -> None:
    """Rebuild the GX suites in expectations/ from the schema (run after changing the schema)."""
    from pipelines.quality.suites import write_all

    for path in write_all():
        console.print(f"wrote {path}")


@app.command()
@friendly
def bench(
    scale: Annotated[list[float], typer.Option(help="Generator scale(s) to measure; repeat the option.")] = [1.0, 20.0],  # noqa: B006
    gate_scale: Annotated[
        float, typer.Option(help="Scale of the gate benchmark (55 puts 50M rows in trips); 0 skips it.")
    ] = 55.0,
    segments_scale: Annotated[
        float, typer.Option(help="Scale of the segment-marts benchmark (41 gives 50M spend events); 0 skips it.")
    ] = 41.0,
    carbon_scale: Annotated[
        float, typer.Option(help="Scale of the commute-carbon benchmark (22 gives 20M trips); 0 skips it.")
    ] = 22.0,
    merchants_scale: Annotated[
        float, typer.Option(help="Scale of the merchant-marts benchmark (168 gives 50M purchases); 0 skips it.")
    ] = 168.0,
    reports_scale: Annotated[
        float,
        typer.Option(help="Scale of the report-run benchmark (default batch, 100 merchant profiles); 0 skips it."),
    ] = 1.0,
    privacy_scale: Annotated[
        float,
        typer.Option(help="Scale of the privacy-accuracy benchmark (noisy against exact figures); 0 skips it."),
    ] = 1.0,
    population_scale: Annotated[
        float,
        typer.Option(
            help="Scale compared with scale 1 for per-member behaviour of the generated population "
            "(repeat visits, activity, scene adoption; goal: within 5 %); 0 skips it."
        ),
    ] = 0.0,
    campaigns_scale: Annotated[
        float,
        typer.Option(
            help="Scale of the campaign-marts benchmark (goal at 50M+ purchases and 100+ campaigns: within 2x "
            "the floor, ahead of Polars, under 4 GB; scale 168); 0 skips it."
        ),
    ] = 0.0,
    monthly_scale: Annotated[
        float,
        typer.Option(
            help="Scale of the monthly-update benchmark: on 3, 6 and 12 generated months imported whole, "
            "one more month imported extending them, gated, its marts built on theirs and the monthly "
            "batch run, next to that month alone (goals: marts within 1.5x of the new month alone; the "
            "update flat within 20 % across the histories); 0 skips it."
        ),
    ] = 0.0,
    spark_scale: Annotated[
        float,
        typer.Option(
            help="Scale of the Spark benchmark: every mart on DuckDB, then on Spark in local mode (checked "
            "equal), with the bytes each step shuffled (20 is the issue's figure); 0 skips it."
        ),
    ] = 0.0,
    operator_scale: Annotated[
        float,
        typer.Option(
            help="Scale of the operator-size benchmark (600: 6 million members): six months generated, gated, "
            "their marts built and the monthly batch run, then a seventh month generated extending them and "
            "the same again, beside that month alone (goals: the update under 30 minutes, its marts within "
            "1.5x of the month alone, every step under 16 GB); hours at 600; 0 skips it."
        ),
    ] = 0.0,
    results: Annotated[Path, typer.Option(help="Markdown file the results are appended to.")] = Path(
        "benchmarks/RESULTS.md"
    ),
) -> None:
    """Measure generation, scan, the gate and the marts against their floors, report runs, and
    what the merchant reports' privacy costs in accuracy; append to RESULTS.md.

    Each part runs in a fresh process on a freshly generated snapshot; a scale of 0 skips a part."""
    from pipelines.bench.run import run_benchmarks

    run_benchmarks(
        scales=scale,
        gate_scale=gate_scale,
        segments_scale=segments_scale,
        carbon_scale=carbon_scale,
        merchants_scale=merchants_scale,
        reports_scale=reports_scale,
        privacy_scale=privacy_scale,
        population_scale=population_scale,
        campaigns_scale=campaigns_scale,
        monthly_scale=monthly_scale,
        spark_scale=spark_scale,
        operator_scale=operator_scale,
        results=results,
        log=console.print,
    )


def main() -> None:
    signals.watch()
    try:
        app()
    except SystemExit as exc:
        sys.exit(exc.code)
    except KeyboardInterrupt:  # Ctrl-C while the command line was still being set up
        _interrupted()
    except Exception as exc:
        # Ctrl-C before a command's own handler runs, while typer reads the options, can land in
        # a module typer imports then; Python 3.11 wraps it in a class's "Error calling
        # __set_name__" RuntimeError.
        if _is_interrupt(exc):
            _interrupted()
        raise
