"""Peer groups for the merchant profile: other units of the same category in the same
district, in districts whose centres lie within NEARBY_KM, or anywhere in the city.

The default scope, auto, takes the narrowest with at least PEER_MIN_MERCHANTS peers (for a
chain, whose outlets spread over the city: the city). It looks only at how many peers each
scope holds, which anyone could count on a map, so that a wider scope being chosen says
nothing about any competitor's revenue. A scope holding more than PEER_MAX_MERCHANTS keeps
that many, a fixed pseudo-random sample (by a hash of the two IDs): a benchmark needs no
more, and every peer is a unit of the release, in which each member counts only so often.
"""

from __future__ import annotations

import hashlib
import math

import duckdb
import polars as pl

from pipelines import privacy
from pipelines.core import catalog
from pipelines.core.sql import SqlFolder

SQL = SqlFolder.beside(__file__)
SCOPES = ("auto", "district", "nearby", "city")
NEARBY_KM = 5.0
PEER_MAX_MERCHANTS = 12


def check_scope(scope: str) -> str:
    if scope not in SCOPES:
        raise ValueError(f"peer scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    return scope


def _districts_in(districts: pl.DataFrame, district_id: str, scope: str) -> list[str]:
    if scope == "city":
        return districts["district_id"].to_list()
    if scope == "district":
        return [district_id]
    home = districts.filter(pl.col("district_id") == district_id).row(0, named=True)
    return [d["district_id"] for d in districts.iter_rows(named=True) if _km(home, d) <= NEARBY_KM]


def _km(a: dict, b: dict) -> float:
    """Great-circle distance between two points given by lon/lat in degrees."""
    la1, la2, dlon = math.radians(a["lat"]), math.radians(b["lat"]), math.radians(b["lon"] - a["lon"])
    c = math.sin(la1) * math.sin(la2) + math.cos(la1) * math.cos(la2) * math.cos(dlon)
    return 6371.0 * math.acos(max(-1.0, min(1.0, c)))


def find_peers(con: duckdb.DuckDBPyConnection, unit: dict, scope: str) -> tuple[str, list[str]]:
    """The scope used (auto resolved) and the peers' unit IDs, for `unit` (level, unit_id,
    category, district_id): every unit of the register in the scope, whether or not it sold
    anything (which only its noisy figures may tell)."""
    if scope != "auto":
        scopes: tuple[str, ...] = (scope,)
    else:
        scopes = ("city",) if unit["level"] == "chain" else ("district", "nearby", "city")
    candidates = catalog.frame(
        con,
        SQL.load("rpt_peer_candidates"),
        {"level": unit["level"], "unit_id": unit["unit_id"], "category": unit["category"]},
    )
    districts = catalog.frame(con, SQL.load("rpt_district_centres"))
    for scope in scopes:
        in_scope = _districts_in(districts, unit["district_id"], scope)
        peers = candidates.filter(pl.col("district_id").is_in(in_scope))["unit_id"].to_list()
        if len(peers) >= privacy.PEER_MIN_MERCHANTS:
            break
    if len(peers) > PEER_MAX_MERCHANTS:
        sample = sorted(peers, key=lambda peer: hashlib.sha256(f"{unit['unit_id']} {peer}".encode()).digest())
        peers = sorted(sample[:PEER_MAX_MERCHANTS])
    return scope, peers
