"""Ctrl-C at any moment of a parallel report run: the run stops within seconds, prints no
traceback, publishes nothing, and leaves no process, no half-written folder and no kernel
socket folder behind."""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import pytest

from pipelines.quality.gate import validate
from tests.interrupts import ctrl_c, mostly_interrupted

RUNS = 16


@pytest.fixture(scope="module")
def validated(snapshot):
    validate(snapshot, now=dt.datetime(2026, 11, 23))
    return snapshot


def test_ctrl_c_at_random_moments_never_hangs_and_leaves_nothing(validated, tmp_path):
    reports = tmp_path / "reports"
    # The runs' own temporary folder, short enough for kernel sockets: kernel folders of other
    # test sessions on the machine cannot be mistaken for theirs.
    scratch = Path(tempfile.mkdtemp(prefix="ci-", dir="/tmp"))
    env = {**os.environ, "CARD_INSIGHTS_REPORTS": str(reports), "TMPDIR": str(scratch)}
    args = [sys.executable, "-m", "pipelines", "run", "-s", validated, "--batch", "merchants", "--jobs", "2", "--force"]
    chance = random.Random(20261127)
    outcomes = []
    for i in range(RUNS):
        # One moment in each of RUNS equal slices of 0.3-4 s, so the command loading and the
        # run starting its kernels and reports all get their Ctrl-C.
        moment = 0.3 + (i + chance.random()) * 3.7 / RUNS
        returncode, _ = ctrl_c(args, env, moment, f"run {i}")
        outcomes.append(returncode)
    folder = reports / validated
    assert not list(folder.glob(".incomplete-*")) and not list(folder.glob(".old-*"))
    kernels = set(scratch.glob("card-insights-kernel-*"))
    owners = [p.name.rsplit("-", 1)[-1] for p in kernels]
    assert [pid for pid in owners if pid.isdigit() and not psutil.pid_exists(int(pid))] == []
    latest = folder / "latest-merchants"
    if latest.exists():  # a run that finished before its Ctrl-C is complete
        assert (latest / "index.html").exists()
    assert mostly_interrupted(outcomes)
    shutil.rmtree(scratch)


WRAPPED = """
import os, signal
from pipelines.cli import friendly

@friendly
def command():
    try:
        os.kill(os.getpid(), signal.SIGINT)
    except KeyboardInterrupt as exc:
        raise {error}("reading the object registered as 'period_months' failed") from exc

command()
"""


@pytest.mark.parametrize("error", ["RuntimeError", "ValueError", "OSError"])
def test_ctrl_c_that_a_library_wraps_in_its_own_error_still_ends_as_an_interrupt(error):
    """DuckDB, reading a registered Arrow table, catches the KeyboardInterrupt and raises its own
    error: the command must still end as interrupted, not with a traceback or an error line."""
    done = subprocess.run([sys.executable, "-c", WRAPPED.format(error=error)], capture_output=True, text=True)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr and "error:" not in done.stderr
    assert "interrupted: nothing was published" in done.stderr


EARLY = """
import pipelines.cli as cli

def app():
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt as exc:
        raise RuntimeError("Error calling __set_name__ on 'cached_property' instance 'data'") from exc

cli.app = app
cli.main()
"""


def test_ctrl_c_while_the_options_are_read_ends_as_an_interrupt():
    """Ctrl-C before the command's own handler, while typer imports what reads an option, comes
    out of a class definition as Python 3.11's RuntimeError: still an interrupt, no traceback."""
    done = subprocess.run([sys.executable, "-c", EARLY], capture_output=True, text=True)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr
    assert "interrupted: nothing was published" in done.stderr


SWALLOWED = """
import os, signal
import pipelines.cli as cli

@cli.friendly
def app():
    try:
        os.kill(os.getpid(), signal.{signal})
    except KeyboardInterrupt:
        pass  # as Polars' Rust code does, inside a cast
    raise TypeError("'<unprintable str object>' is not a Polars data type")

cli.app = app
cli.main()
"""


@pytest.mark.parametrize("sent", ["SIGINT", "SIGTERM"])
def test_ctrl_c_a_library_swallows_still_ends_as_an_interrupt(sent):
    """Polars, interrupted inside a cast, drops the KeyboardInterrupt and raises a TypeError
    that names nothing of it: the signal itself was noted, so the command (through `friendly`,
    which takes SIGTERM as Ctrl-C, as every command does) ends as interrupted."""
    code = SWALLOWED.format(signal=sent)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr
    assert "interrupted: nothing was published" in done.stderr


def test_an_error_without_ctrl_c_is_not_taken_for_one():
    done = subprocess.run(
        [sys.executable, "-c", SWALLOWED.format(signal="SIGINT").replace("os.kill(os.getpid(), signal.SIGINT)", "0")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "TypeError" in done.stderr and "interrupted" not in done.stderr


ONE_JOB = """
import os, signal
from pathlib import Path
from pipelines.core.signals import signals
from pipelines.reporting import runner

ran = []

def execute(report, out, kernel_env=None):
    ran.append(report)
    try:
        os.kill(os.getpid(), signal.SIGINT)
    except KeyboardInterrupt:
        pass  # as a kernel client or library may, failing the report instead
    return runner.Outcome(report, status="failed", error="RuntimeError: kernel died")

runner.execute = execute
signals.watch()
try:
    runner._execute_all(["first", "second"], Path("."), 1, None, {})
except KeyboardInterrupt:
    print("interrupted after", ran)
"""


def test_ctrl_c_a_report_swallows_on_one_job_stops_the_batch():
    """With --jobs 1 the reports run in the command's own process: Ctrl-C that papermill or a
    library turns into that report's failure stops the batch as interrupted."""
    done = subprocess.run([sys.executable, "-c", ONE_JOB], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "interrupted after ['first']"
