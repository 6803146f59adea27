"""Per-member behaviour of a snapshot: the figures that must not depend on its scale.

Used by the scale-invariance benchmark and tests: a synthetic population whose members visit
the same outlets, use the same scenes and are active as often at scale 1 as at scale 100.
"""

from __future__ import annotations

from pipelines.core import catalog
from pipelines.core.snapshot import Snapshot
from pipelines.core.sql import SqlFolder

SQL = SqlFolder.beside(__file__)

#: The figures compared across scales (member_behaviour.sql says how each is computed).
INVARIANT = (
    "purchases_per_member_outlet_month",
    "outlets_per_member_month",
    "top3_outlet_share",
    "returning_share",
    "monthly_active_share",
    "adoption_transit",
    "adoption_retail",
    "adoption_bills",
    "adoption_p2p",
)


def member_behaviour(snapshot: Snapshot | str) -> dict[str, float]:
    """The snapshot's per-member figures (member_behaviour.sql), over its whole months."""
    with catalog.connect(snapshot) as con:
        frame = catalog.frame(con, SQL.load("member_behaviour"))
    return {k: float(v) for k, v in frame.row(0, named=True).items()}


def relative_differences(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    """|b - a| / a for each invariant figure."""
    return {k: abs(b[k] - a[k]) / a[k] for k in INVARIANT}
