"""A plain-text summary of one snapshot: what `make run` prints before the reports."""

from __future__ import annotations

from pipelines.core import catalog
from pipelines.core.snapshot import Snapshot
from pipelines.core.sql import SqlFolder

SQL = SqlFolder.beside(__file__)


def summarise(snapshot: str) -> str:
    snap = Snapshot.open(snapshot)
    m = snap.manifest
    lines = [
        f"snapshot {snap.id} ({snap.label}) at {snap.folder}",
        f"period {m['period']['start']} .. {m['period']['end']}, times in {m['timezone']}",
    ]
    # The first column as wide as its longest name (campaign_assignments), so figures line up.
    first = max(len(name) for name in [*m["tables"], "scene"]) + 2
    lines += ["", f"{'table':<{first}}{'rows':>14}{'MB':>10}"]
    for name, t in m["tables"].items():
        size = sum(f["bytes"] for f in t["files"]) / 1e6
        lines.append(f"{name:<{first}}{t['rows']:>14,}{size:>10.1f}")
    with catalog.connect(snap) as con:
        mix = con.execute(SQL.load("scene_mix")).fetchall()
    lines += ["", f"{'scene':<{first}}{'events':>14}{'NT$':>16}{'% events':>10}"]
    lines += [f"{s:<{first}}{n:>14,}{amt:>16,}{pct:>10.1f}" for s, n, amt, pct in mix]
    return "\n".join(lines)
