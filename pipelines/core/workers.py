"""Process pools that Ctrl-C stops at once and quietly.

Ctrl-C in a terminal reaches the whole process group. Only the process that owns a pool
answers it: its workers ignore it (set before any of their own code runs, so one pressed while
a worker still imports cannot print a traceback from it), and the owner, on any exception,
ends them instead of waiting for their current task."""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import psutil

from pipelines.core.stale import stop_descendants

#: Seconds between checks for Ctrl-C while waiting for workers.
POLL_S = 0.2
#: Where Linux shows this process's control group, with its CPU quota.
CGROUP = Path("/sys/fs/cgroup")


class WorkerDied(RuntimeError):
    """A worker process ended without finishing its task: killed, or out of memory."""


def usable_cores(cgroup: Path = CGROUP) -> int:
    """The cores this process may use: those it may run on (its CPU affinity), fewer if its
    control group has a CPU quota (a container started with --cpus 2 on a 64-core host)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = _quota(cgroup)
    return max(1, min(cores, math.ceil(quota))) if quota else cores


def _quota(cgroup: Path) -> float | None:
    """The CPU quota in cores, from cgroup v2's cpu.max ("max 100000": none) or v1's CFS
    files (a quota of -1: none); None when there is no quota or no such file."""
    try:
        limit, period = (cgroup / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        try:
            limit = (cgroup / "cpu" / "cpu.cfs_quota_us").read_text()
            period = (cgroup / "cpu" / "cpu.cfs_period_us").read_text()
        except OSError:
            return None
    with contextlib.suppress(ValueError, ZeroDivisionError):
        if int(limit) > 0:
            return int(limit) / int(period)
    return None


def _start(initializer: Callable[..., None] | None, initargs: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if initializer is not None:
        initializer(*initargs)


@contextlib.contextmanager
def pool(
    jobs: int, initializer: Callable[..., None] | None = None, initargs: tuple = ()
) -> Iterator[Callable[..., Future]]:
    """A pool of `jobs` spawned workers, each set up by `initializer(*initargs)`; yields its
    `submit`. Leaving the block by an exception (Ctrl-C included) ends the workers and
    cancels what they had not started; the caller's other child processes are left alone."""
    others = frozenset(p.pid for p in psutil.Process().children())
    # spawn, not fork: a forked copy of a process running DuckDB's or Polars' threads can hang.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start, initargs=(initializer, initargs)) as ex:
        submitted = 0

        def submit(fn: Callable[..., Any], *args: Any) -> Future:
            nonlocal submitted
            submitted += 1
            if submitted > jobs:
                return ex.submit(fn, *args)
            # A spawned pool starts a worker on each of its first `jobs` submits: with Ctrl-C
            # blocked, the worker starts with it blocked, and it is delivered here after.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                return ex.submit(fn, *args)
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

        try:
            yield submit
        except BaseException as exc:
            stop_descendants(keep=others)
            # The workers are gone, so this returns at once; it lets go of the pool's queues,
            # whose semaphores would otherwise be reported leaked at exit.
            ex.shutdown(wait=True, cancel_futures=True)
            if isinstance(exc, BrokenProcessPool):
                died = "a worker process ended without finishing its task (killed, or out of memory?)"
                raise WorkerDied(died) from exc
            raise


def completed(futures: Iterable[Future]) -> Iterator[Future]:
    """The futures as each finishes (as_completed), waking every POLL_S: Ctrl-C delivered to
    another thread (Polars' or DuckDB's) reaches the main thread only when it runs Python."""
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
        yield from done


def result(future: Future) -> Any:
    """The future's result, waiting as `completed` does."""
    while not wait([future], timeout=POLL_S).done:
        pass
    return future.result()
