"""`python -m pipelines`: the command line of card-insights."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipelines.paths import BadNameError
from pipelines.snapshot import SnapshotError

app = typer.Typer(
    help="card-insights: synthetic card data, the data-quality gate, marts and reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()

DEFAULT_SNAPSHOT = "default"


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected failures into a one-line message and exit code 1, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # A scheduler's SIGTERM takes the same clean-up path as Ctrl-C.
        signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            return func(*args, **kwargs)
        except (SnapshotError, BadNameError, ValueError, FileNotFoundError) as exc:
            console.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            console.print("[bold red]interrupted:[/] nothing was published")
            raise typer.Exit(130) from None

    return wrapper


SnapshotOpt = Annotated[str, typer.Option("--snapshot", "-s", help="Snapshot ID (letters, digits, '.', '_', '-').")]


@app.command()
@friendly
def generate(
    snapshot: SnapshotOpt = DEFAULT_SNAPSHOT,
    scale: Annotated[float, typer.Option(help="Size: 1 = 10,000 members, about 2 million rows over 6 months.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed and scale give identical tables.")] = 42,
    months: Annotated[int, typer.Option(help="Months covered, from 2025-01.", min=1, max=36)] = 6,
    if_absent: Annotated[bool, typer.Option("--if-absent", help="Do nothing if the snapshot exists.")] = False,
) -> None:
    """Generate a SYNTHETIC snapshot into data/snapshots/ID (atomic; never overwrites)."""
    from pipelines.generator import generate as run_generate
    from pipelines.generator.params import GeneratorParams
    from pipelines.snapshot import list_snapshots

    if if_absent and snapshot in list_snapshots():
        console.print(f"snapshot {snapshot!r} already exists; kept as it is")
        return
    params = GeneratorParams(months=months)
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

        manifest = run_generate(snapshot, scale=scale, seed=seed, params=params, progress=step)
    total = sum(t["rows"] for t in manifest["tables"].values())
    console.print(f"[green]wrote[/] snapshot {snapshot!r} (SYNTHETIC): {total:,} rows")


@app.command()
@friendly
def snapshots() -> None:
    """List snapshots with their period, size and row counts."""
    from pipelines.snapshot import list_snapshots, read_manifest

    found = list_snapshots()
    if not found:
        console.print("no snapshots yet: run `make data`")
        return
    t = Table("snapshot", "period", "synthetic", "rows", "MB", "largest table")
    for name in found:
        m = read_manifest(name)
        rows = {k: v["rows"] for k, v in m["tables"].items()}
        size = sum(f["bytes"] for v in m["tables"].values() for f in v["files"]) / 1e6
        big = max(rows, key=rows.__getitem__)
        t.add_row(
            name,
            f"{m['period']['start']} .. {m['period']['end']}",
            "yes" if m["synthetic"] else "no",
            f"{sum(rows.values()):,}",
            f"{size:,.1f}",
            f"{big} ({rows[big]:,})",
        )
    out.print(t)


@app.command()
@friendly
def summary(snapshot: SnapshotOpt = DEFAULT_SNAPSHOT) -> None:
    """Print what a snapshot holds: tables, rows, period and the mix of the four scenes."""
    from pipelines.summary import summarise

    typer.echo(summarise(snapshot))


@app.command()
@friendly
def dictionary(
    check: Annotated[bool, typer.Option("--check", help="Fail if docs/data_dictionary.md is out of date.")] = False,
) -> None:
    """Write the data dictionary (docs/data_dictionary.md) from the schema."""
    from pipelines.dictionary import DICTIONARY_PATH, render

    text = render()
    if check:
        if not DICTIONARY_PATH.exists() or DICTIONARY_PATH.read_text() != text:
            console.print("docs/data_dictionary.md is out of date: run `python -m pipelines dictionary`")
            raise typer.Exit(1)
        return
    DICTIONARY_PATH.parent.mkdir(exist_ok=True)
    DICTIONARY_PATH.write_text(text)
    console.print(f"wrote {DICTIONARY_PATH}")


@app.command()
@friendly
def bench(
    scale: Annotated[list[float], typer.Option(help="Generator scale(s) to measure; repeat the option.")] = [1.0, 20.0],  # noqa: B006
    results: Annotated[Path, typer.Option(help="Markdown file the results are appended to.")] = Path(
        "benchmarks/RESULTS.md"
    ),
) -> None:
    """Measure generation and scan throughput and append them, with machine and date, to RESULTS.md."""
    from pipelines.bench import run_benchmarks

    run_benchmarks(scales=scale, results=results, log=console.print)


def main() -> None:
    try:
        app()
    except SystemExit as exc:
        sys.exit(exc.code)
