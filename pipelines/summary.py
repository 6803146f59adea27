"""A plain-text summary of one snapshot: what `make run` prints until reports exist."""

from __future__ import annotations

from pipelines import catalog, sql
from pipelines.snapshot import read_manifest, snapshot_path


def summarise(snapshot: str) -> str:
    m = read_manifest(snapshot)
    label = "SYNTHETIC data" if m["synthetic"] else "imported data"
    lines = [
        f"snapshot {snapshot} ({label}) at {snapshot_path(snapshot)}",
        f"period {m['period']['start']} .. {m['period']['end']}, times in {m['timezone']}",
        "",
        f"{'table':<15}{'rows':>14}{'MB':>10}",
    ]
    for name, t in m["tables"].items():
        size = sum(f["bytes"] for f in t["files"]) / 1e6
        lines.append(f"{name:<15}{t['rows']:>14,}{size:>10.1f}")
    with catalog.connect(snapshot) as con:
        mix = con.execute(sql.load("scene_mix")).fetchall()
    lines += ["", f"{'scene':<15}{'events':>14}{'NT$':>16}{'% events':>10}"]
    lines += [f"{s:<15}{n:>14,}{amt:>16,}{pct:>10.1f}" for s, n, amt, pct in mix]
    return "\n".join(lines)
