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


def test_a_worker_that_dies_is_named_as_such() -> None:
    with pytest.raises(workers.WorkerDied, match="killed, or out of memory"), workers.pool(1) as submit:
        workers.result(submit(os._exit, 1))


@pytest.mark.parametrize(
    ("files", "cores"),
    [
        ({}, None),  # no control group files: every core it may run on
        ({"cpu.max": "max 100000\n"}, None),  # cgroup v2 without a quota
        ({"cpu.max": "150000 100000\n"}, 2),  # a quota of 1.5 cores: two cores in use at times
        ({"cpu.max": "50000 100000\n"}, 1),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),  # v1, no quota
        ({"cpu/cpu.cfs_quota_us": "100000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),
        ({"cpu.max": "nonsense\n"}, None),
    ],
)
def test_usable_cores_follow_the_affinity_and_a_container_quota(tmp_path, files, cores) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    affinity = len(os.sched_getaffinity(0))
    assert workers.usable_cores(tmp_path) == (affinity if cores is None else min(cores, affinity))
