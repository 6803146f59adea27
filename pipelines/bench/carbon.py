"""The carbon marts for all employers against their floor, for `make bench`.

The floor is the least any per-employer distance figure needs: trips joined to staff cards,
distance summed by employer, month and mode. The mart does the real work: rail distances
along the lines, journeys, home and work areas, commute detection (the commute marts,
written to Parquet as `marts.build` does), then per employer and month the counts, the
passenger-km by mode and the emissions with their ranges. The grain is the least any rule
that follows each card's trips in time order needs: the staff trips fetched on integer card
numbers and sorted by card and time, nothing computed.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import polars as pl

from pipelines.bench.harness import Measurement, env, generated, note_limit, timed_query, versus_floor
from pipelines.commute_carbon import emissions
from pipelines.commute_carbon.marts import SQL, commute_marts
from pipelines.core import catalog

_FLOOR_SQL = """
SELECT c.employer_id, date_trunc('month', t.tap_in_at) AS month, t.mode, sum(t.distance_km) AS km
FROM trips t JOIN cards c ON c.card_id = t.card_id AND c.card_type = 'staff'
GROUP BY ALL
"""

_GRAIN_SQL = """
SELECT c.card_no, CAST(epoch(t.tap_in_at) AS BIGINT) AS tap_in_s, CAST(epoch(t.tap_out_at) AS BIGINT) AS tap_out_s,
    t.origin_district_id, t.destination_district_id, t.mode, t.distance_km
FROM trips t JOIN staff_cards c ON c.card_id = t.card_id
"""


def floor(snapshot: str) -> dict:
    return timed_query(snapshot, _FLOOR_SQL)


def grain(snapshot: str) -> dict:
    with catalog.connect(snapshot) as con:
        start = time.perf_counter()
        con.register("staff_cards", catalog.frame(con, SQL.load("stg_staff_cards")).to_arrow())
        trips = catalog.frame(con, _GRAIN_SQL).sort("card_no", "tap_in_s")
        return {"seconds": time.perf_counter() - start, "groups": trips.height}


def mart(snapshot: str) -> dict:
    with catalog.connect(snapshot) as con, tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        for name, frame in commute_marts(con).items():
            frame.write_parquet(Path(tmp) / f"{name}.parquet", compression="zstd")
        days, pkm = (pl.read_parquet(Path(tmp) / f"{name}.parquet") for name in ("commute_days", "commute_pkm"))
        table = emissions.monthly_figures(days, pkm, emissions.load_factors(), emissions.default_mix())
        return {"seconds": time.perf_counter() - start, "groups": table.height}


def part(scale: float, data: Path) -> list[Measurement]:
    """The commute carbon marts for all employers next to trips joined to staff cards."""
    environment = env(data, "carbon")
    snap = f"bench-carbon-s{scale:g}"
    steps = {
        "floor: trips x staff cards, km by employer, month, mode": "floor",
        "grain: staff trips fetched and sorted by card and time": "grain",
        "carbon marts (commutes, per employer and month, kg CO2e)": "mart",
    }
    out = versus_floor(generated(snap, scale, environment), "carbon", "trips", steps, environment, snapshot=snap)
    note_limit("carbon", *out[1:])
    return out
