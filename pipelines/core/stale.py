"""Leftovers of a process that was killed: folders it was writing (`.incomplete-...-PID`,
`.old-...-PID`) and private kernel socket folders. Each carries its writer's process ID, so a
later run removes those whose writer is gone, and never one that is still being written."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

import psutil


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()


def clear_stale(parent: Path, *prefixes: str) -> list[Path]:
    """Remove entries of `parent` named PREFIX...-PID whose process is gone; returns them."""
    removed = []
    if not parent.is_dir():
        return removed
    for prefix in prefixes:
        for old in parent.glob(f"{prefix}*"):
            pid = old.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not alive(int(pid)):
                shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
                removed.append(old)
    return removed


def _resource_tracker(process: psutil.Process) -> bool:
    """multiprocessing's resource tracker ends by itself once this process is gone; stopping
    it early makes it print a traceback."""
    try:
        return any("resource_tracker" in part for part in process.cmdline())
    except psutil.Error:
        return False


def _gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_gone(processes: list[psutil.Process], seconds: float) -> list[psutil.Process]:
    """Those of `processes` still running after up to `seconds`."""
    deadline = time.monotonic() + seconds
    alive = [p for p in processes if not _gone(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if not _gone(p)]
    return alive


def stop_descendants(grace: float = 3.0, keep: frozenset[int] = frozenset()) -> None:
    """Stop every process this one started (report workers, their kernels), but the children
    in `keep` and theirs: SIGTERM, then SIGKILL for those still there after `grace` seconds.
    Bounded in time: an interrupted run must never hang waiting for a child that does not answer.

    An ended child is left for its owner to reap (a zombie until then): multiprocessing waits
    for its own workers, and a pool shutting down loops forever on one reaped behind its back."""
    children = []
    for child in psutil.Process().children():
        if child.pid not in keep and not _resource_tracker(child):
            with contextlib.suppress(psutil.Error):
                children += [child, *child.children(recursive=True)]
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.send_signal(signal.SIGTERM)
    for child in _wait_gone(children, grace):
        with contextlib.suppress(psutil.Error):
            child.kill()
    _wait_gone(children, grace)
