"""The registered report families. Adding a family: write its package (see
docs/architecture.md) and add its FAMILY here; the mart builder, the marts dictionary and the
runner's named lists take it from this list."""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from pipelines.campaigns import FAMILY as CAMPAIGNS
from pipelines.commute_carbon import FAMILY as COMMUTE_CARBON
from pipelines.core.family import Family
from pipelines.merchant_profile import FAMILY as MERCHANT_PROFILE
from pipelines.segments import FAMILY as SEGMENTS

FAMILIES: tuple[Family, ...] = (SEGMENTS, COMMUTE_CARBON, MERCHANT_PROFILE, CAMPAIGNS)


def in_build_order(families: tuple[Family, ...] = FAMILIES) -> list[Family]:
    """Families ordered so that each comes after those whose marts it reads."""
    provider = {mart.name: f.name for f in families for mart in f.marts}
    ordered: list[Family] = []
    pending = list(families)
    while pending:
        ready = [f for f in pending if all(provider.get(m) in {o.name for o in ordered} for m in f.reads)]
        if not ready:
            names = ", ".join(f"{f.name} (reads {', '.join(f.reads)})" for f in pending)
            raise RuntimeError(f"families read marts nobody builds, or read each other in a cycle: {names}")
        ordered += ready
        pending = [f for f in pending if f not in ready]
    return ordered


def named_lists() -> dict[str, Callable[[duckdb.DuckDBPyConnection], list[str]]]:
    """Every family's named lists for batch files (e.g. '@carbon_programme')."""
    return {name: resolve for f in FAMILIES for name, resolve in f.lists.items()}
