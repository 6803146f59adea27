"""Segments (member management): RFM scores and named segments over all spend scenes, segment
sizes and value, month-to-month migration, scene and demographic mix, a differential subsidy
plan and an audience builder.

    marts.py      the marts (member_month, rfm, migration), documented in marts.toml
    sql/          stg_member_events -> int_member_scene_month -> mart_* -> rpt_* (one query a file)
    config/       rfm.toml, the R x F segment map, segment descriptions, the subsidy policy
    analysis.py   the questions a report asks of the marts
    audience.py, subsidy.py; audience_release.py: audience counts with differential privacy
Notebook: notebooks/segments.ipynb; tests: tests/segments/.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.core.family import Family
from pipelines.segments import marts
from pipelines.segments.analysis import check_params
from pipelines.segments.audience_release import batch_audiences

FAMILY = Family(
    name="segments",
    title="Member segments",
    package=Path(__file__).parent,
    build=marts.build,
    views={"member_events": marts.SQL.load("stg_member_events")},
    check=check_params,
    release=batch_audiences,
)
