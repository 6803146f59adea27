"""A pool that fails ends its own workers and no other process of its caller."""

from __future__ import annotations

import os
import subprocess

import psutil
import pytest

from pipelines.core import workers


def test_a_failing_pool_ends_its_workers_and_leaves_the_callers_other_children_alone() -> None:
    other = subprocess.Popen(["sleep", "60"])
    try:
        with pytest.raises(RuntimeError), workers.pool(1) as submit:
            worker = workers.result(submit(os.getpid))
            raise RuntimeError("a step failed")
        assert not psutil.pid_exists(worker) or psutil.Process(worker).status() == psutil.STATUS_ZOMBIE
        assert other.poll() is None, "the caller's own child was stopped"
    finally:
        other.kill()
        other.wait()
