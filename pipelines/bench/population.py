"""Per-member behaviour of the synthetic population at scale 1 and at a large scale, for `make bench`.

The generator's members must visit their outlets, use their scenes and be active as often at
any scale; this part generates both snapshots, measures member_behaviour.sql on each in its own
process and notes every figure side by side with the largest relative difference (goal: under
5 %). The figures themselves are checked against a count by hand in tests/ingest.
"""

from __future__ import annotations

import time
from pathlib import Path

from pipelines.bench.harness import Measurement, env, generated, measure

#: The scale the large one is compared with.
BASE_SCALE = 1.0
GOAL = 0.05


def behaviour(snapshot: str) -> dict:
    from pipelines.ingest.behaviour import member_behaviour

    start = time.perf_counter()
    figures = member_behaviour(snapshot)
    return {"seconds": time.perf_counter() - start, "figures": figures}


def compare(base: dict[str, float], large: dict[str, float], scale: float) -> str:
    """The note of the comparison: each figure at both scales and the largest difference."""
    from pipelines.ingest.behaviour import INVARIANT, relative_differences

    differences = relative_differences(base, large)
    worst = max(differences, key=lambda k: differences[k])
    verdict = "within" if differences[worst] < GOAL else "NOT within"
    figures = ", ".join(f"{k} {base[k]:.3f} / {large[k]:.3f}" for k in INVARIANT)
    return (
        f"scale {BASE_SCALE:g} / {scale:g}: {figures}; largest difference {differences[worst]:.1%} ({worst}), "
        f"{verdict} {GOAL:.0%}"
    )


def part(scale: float, data: Path) -> list[Measurement]:
    environment = env(data)
    out, figures = [], {}
    for s in (BASE_SCALE, scale):
        snap = f"bench-population-s{s:g}"
        gen = generated(snap, s, environment)
        m = measure(f"member behaviour scale {s:g}", "population", "behaviour", environment, snapshot=snap)
        figures[s] = m.detail.pop("figures")
        m.detail["rows"] = gen.detail["rows"]
        out += [gen, m]
    out[-1].detail["note"] = compare(figures[BASE_SCALE], figures[scale], scale)
    return out
