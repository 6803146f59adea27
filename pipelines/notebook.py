"""What every report notebook does first, so that notebooks stay thin and look alike."""

from __future__ import annotations

import polars as pl

from pipelines.charts import use_theme
from pipelines.snapshot import latest_snapshot, read_manifest


def start(snapshot: str = "", interactive: bool = False) -> str:
    """Theme, table printing, and the snapshot to use (default: the newest); prints its label."""
    use_theme(interactive)
    pl.Config.set_tbl_width_chars(150)
    pl.Config.set_tbl_hide_dataframe_shape(True)
    pl.Config.set_tbl_hide_column_data_types(True)
    pl.Config.set_tbl_rows(60)
    pl.Config.set_tbl_cols(20)
    pl.Config.set_fmt_str_lengths(60)
    pl.Config.set_thousands_separator(",")
    snapshot = snapshot or latest_snapshot()
    manifest = read_manifest(snapshot)
    label = "SYNTHETIC data" if manifest["synthetic"] else "imported data"
    print(f"snapshot {snapshot} ({label}), {manifest['period']['start']} .. {manifest['period']['end']}")
    return snapshot
