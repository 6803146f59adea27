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

import duckdb

from pipelines.core.family import MartWriter
from pipelines.core.period import month_starts
from pipelines.core.schema import SCENES
from pipelines.core.snapshot import Snapshot
from pipelines.core.sql import SqlFolder
from pipelines.segments.config import load_config, register_config

SQL = SqlFolder.beside(__file__)


def define_member_events(con: duckdb.DuckDBPyConnection) -> None:
    """The view member_events: every registered member's events in all four scenes."""
    con.execute(f"CREATE OR REPLACE VIEW member_events AS {SQL.load('stg_member_events')}")


def define_member_scene_months(con: duckdb.DuckDBPyConnection, snap: Snapshot, since: dt.date | None = None) -> None:
    """The view member_scene_months that mart_member_month reads: one call of the
    int_member_scene_month macro per scene and calendar month of the period (from `since`:
    the months before are the parent snapshot's)."""
    con.execute(SQL.load("int_member_scene_month"))
    parts = [
        f"SELECT * FROM member_scene_month(DATE '{m}', '{scene}')"
        for m in month_starts(since or snap.start, snap.end)
        for scene in SCENES
    ]
    con.execute(f"CREATE OR REPLACE TEMP VIEW member_scene_months AS {' UNION ALL '.join(parts)}")


def build(out: MartWriter) -> None:
    config = load_config()
    register_config(out.con, config)
    # Extending the parent's marts: member_month reads the new months' events only, and rfm
    # scores the new month ends from member_month (the whole history of it, members x months,
    # not the events); migration is recomputed from rfm.
    define_member_scene_months(out.con, out.snapshot, out.since)
    out.query("member_month", SQL.load("mart_member_month"), reuse="month")
    out.query("rfm", SQL.load("mart_rfm"), config.sql_params(out.snapshot), reuse="month_end")
    out.query("migration", SQL.load("mart_migration"))
