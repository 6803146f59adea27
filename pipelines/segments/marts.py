"""The segment family's marts: member_month (activity per member, month and scene), rfm (scores
and segment at every month end) and migration (segment moves between month ends).

member_month is built from one GROUP BY member per scene and month instead of one GROUP BY
member, month and scene over every event: measured in `make bench`, this takes about a third
off its time, because the hash table stays at one row per member and the time and scene
filters skip row groups. That needs event tables stored in time order (the generator writes a
month per file, the importer sorts); on unordered files each month would read every row group.
The gate has checked that every event lies inside the period, so no event falls outside it.
"""

from __future__ import annotations

import datetime as dt

from pipelines.core.family import MartWriter
from pipelines.core.period import month_starts
from pipelines.core.schema import SCENES
from pipelines.core.snapshot import Snapshot
from pipelines.core.sql import SqlFolder, inline
from pipelines.segments.config import config_tables, load_config

SQL = SqlFolder.beside(__file__)


def member_scene_months(snap: Snapshot, since: dt.date | None = None) -> str:
    """The query member_month reads (the view member_scene_months): int_member_scene_month once
    per scene and calendar month of the period (from `since`: the months before are the parent
    snapshot's), unioned."""
    query = SQL.load("int_member_scene_month")
    return " UNION ALL ".join(
        f"({inline(query, {'month_start': m, 'scene_name': scene})})"
        for m in month_starts(since or snap.start, snap.end)
        for scene in SCENES
    )


def build(out: MartWriter) -> None:
    config = load_config()
    for name, table in config_tables(config).items():
        out.register(name, table)
    # Extending the parent's marts: member_month reads the new months' events only, and rfm
    # scores the new month ends from member_month (the whole history of it, members x months,
    # not the events); migration is recomputed from rfm.
    out.view("member_scene_months", member_scene_months(out.snapshot, out.since))
    out.query("member_month", SQL.load("mart_member_month"), reuse="month")
    out.query("rfm", SQL.load("mart_rfm"), config.sql_params(out.snapshot), reuse="month_end")
    out.query("migration", SQL.load("mart_migration"))
