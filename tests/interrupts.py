"""Ctrl-C as a terminal sends it: to a command's whole process group, at a chosen moment."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time

import psutil
import pytest

#: A command must end this soon after Ctrl-C; it takes under a second when nothing is wrong.
BOUND_S = 20


def _group(pgid: int) -> list[int]:
    found = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid:
                found.append(process.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return found


def ctrl_c(args: list[str], env: dict[str, str], delay: float, label: str) -> tuple[int, str]:
    """Start `args`, press Ctrl-C after `delay` seconds; its exit code and stderr once it has
    ended (failing the test past BOUND_S) and left no process of its group behind."""
    run = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    time.sleep(delay)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(run.pid, signal.SIGINT)
    try:
        run.wait(timeout=BOUND_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.pid, signal.SIGKILL)
        run.wait()
        pytest.fail(f"{label}: still running {BOUND_S} s after Ctrl-C at {delay:.1f} s")
    deadline = time.monotonic() + 5
    while _group(run.pid) and time.monotonic() < deadline:  # the resource tracker ends last
        time.sleep(0.1)
    left = _group(run.pid)
    if left:
        # Killed before failing: one holding stderr open would block reading it, and the
        # test would hang instead of failing.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.pid, signal.SIGKILL)
    assert left == [], (label, delay, "processes left behind")
    stderr = run.stderr.read().decode() if run.stderr else ""
    # Ctrl-C while the interpreter is still starting, before any of the program's own code
    # runs (every frame is runpy's or importlib's), gets Python's own report: nothing began.
    before_start = stderr.rstrip().endswith("\nKeyboardInterrupt") and not re.search(r'File "(?!<frozen )', stderr)
    assert before_start or "Traceback" not in stderr, (label, delay, stderr[-2000:])
    assert run.returncode in (0, 130, -signal.SIGINT), (label, delay, run.returncode, stderr[-500:])
    return run.returncode, stderr


def mostly_interrupted(outcomes: list[int]) -> bool:
    return outcomes.count(130) + outcomes.count(-signal.SIGINT) >= len(outcomes) // 2
