"""The merchants that subscribe to the monthly profile (config/subscribers.csv)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

CONFIG_DIR = Path(__file__).parent / "config"


def subscribers(con: duckdb.DuckDBPyConnection | None = None) -> list[str]:
    """The subscribing merchants, in the file's order (a named list for batches)."""
    return pl.read_csv(CONFIG_DIR / "subscribers.csv")["merchant"].to_list()
