"""What every report notebook does first, so that notebooks stay thin and look alike."""

from __future__ import annotations

import polars as pl

from pipelines import marts
from pipelines.core.snapshot import Snapshot
from pipelines.quality.gate import checked_by_run, require_passing
from pipelines.reporting.charts import use_theme
from pipelines.reporting.tables import Table


def start(snapshot: str = "", interactive: bool = False) -> Snapshot:
    """Theme, table printing, and the snapshot to use (default: the newest), read once: it
    must have passed the data-quality gate, and its marts are built if they are not current
    (in a report run, which builds them before its first report, they are left to the run).
    Pass the returned value to `marts.connect` and the report functions."""
    use_theme(interactive)
    pl.Config.set_tbl_width_chars(150)
    pl.Config.set_tbl_hide_dataframe_shape(True)
    pl.Config.set_tbl_hide_column_data_types(True)
    pl.Config.set_tbl_rows(60)
    pl.Config.set_tbl_cols(20)
    pl.Config.set_fmt_str_lengths(60)
    pl.Config.set_thousands_separator(",")
    snap = require_passing(Snapshot.open(snapshot or None))
    if not checked_by_run(snap):
        marts.build(snap)
    return snap


def table(frame: pl.DataFrame, caption: str = "", plain: pl.DataFrame | None = None) -> Table:
    return Table(frame, caption, plain)
