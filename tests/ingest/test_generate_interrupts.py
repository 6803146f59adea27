"""Ctrl-C at any moment of `generate` (a pool of worker processes): it stops within seconds,
prints no traceback and no warning, publishes nothing half-made and leaves no process."""

from __future__ import annotations

import os
import random
import sys

from tests.interrupts import ctrl_c, mostly_interrupted

RUNS = 10


def test_ctrl_c_at_random_moments_of_generate_stops_cleanly(tmp_path) -> None:
    chance = random.Random(20261206)
    outcomes = []
    for i in range(RUNS):
        data = tmp_path / f"data{i}"
        env = {**os.environ, "CARD_INSIGHTS_DATA": str(data)}
        args = [sys.executable, "-m", "pipelines", "generate", "--scale", "2", "-s", "x"]
        returncode, stderr = ctrl_c(args, env, chance.uniform(0.5, 6.0), f"run {i}")
        assert "Warning" not in stderr, (i, stderr[-2000:])
        for folder in ("snapshots", "ground_truth"):
            left = sorted(p.name for p in (data / folder).glob("*")) if (data / folder).exists() else []
            assert left == (["x"] if returncode == 0 else []), (i, folder, left)
        outcomes.append(returncode)
    assert mostly_interrupted(outcomes)
