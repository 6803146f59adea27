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
        "",
        f"{'table':<15}{'rows':>14}{'MB':>10}",
    ]
    for name, t in m["tables"].items():
        size = sum(f["bytes"] for f in t["files"]) / 1e6
        lines.append(f"{name:<15}{t['rows']:>14,}{size:>10.1f}")
    with catalog.connect(snap) as con:
        mix = con.execute(SQL.load("scene_mix")).fetchall()
    lines += ["", f"{'scene':<15}{'events':>14}{'NT$':>16}{'% events':>10}"]
    lines += [f"{s:<15}{n:>14,}{amt:>16,}{pct:>10.1f}" for s, n, amt, pct in mix]
    return "\n".join(lines)
