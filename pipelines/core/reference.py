"""The reference tables every snapshot holds, districts and stations, built from the sourced
CSV files in data/reference/ (their provenance is in those files). The generator writes them
into every SYNTHETIC snapshot; an import takes them from here when the extract omits them."""

from __future__ import annotations

import polars as pl

from pipelines.core.paths import REFERENCE_DIR
from pipelines.core.schema import table

REFERENCE_TABLES = ("districts", "stations")


def reference_tables() -> dict[str, pl.DataFrame]:
    """districts and stations in the schema's columns and types."""
    districts = pl.read_csv(REFERENCE_DIR / "kaohsiung_districts.csv")
    district_of = dict(zip(districts["name_zh"], districts["district_id"], strict=True))
    stations = pl.read_csv(REFERENCE_DIR / "kaohsiung_rail_stations.csv").with_columns(
        pl.col("district_zh").replace_strict(district_of).alias("district_id")
    )
    return {
        name: frame.select(table(name).column_names).cast(dict(table(name).polars_schema))
        for name, frame in (("districts", districts), ("stations", stations))
    }
