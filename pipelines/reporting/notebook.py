"""What every report notebook does first, so that notebooks stay thin and look alike."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape

import polars as pl

from pipelines import marts
from pipelines.core.snapshot import Snapshot
from pipelines.quality.gate import require_passing
from pipelines.reporting.charts import use_theme


def start(snapshot: str = "", interactive: bool = False) -> Snapshot:
    """Theme, table printing, and the snapshot to use (default: the newest), read once: it
    must have passed the data-quality gate, and its marts are built if they are not current.
    Prints its label; pass the returned value to `marts.connect` and the report functions."""
    use_theme(interactive)
    pl.Config.set_tbl_width_chars(150)
    pl.Config.set_tbl_hide_dataframe_shape(True)
    pl.Config.set_tbl_hide_column_data_types(True)
    pl.Config.set_tbl_rows(60)
    pl.Config.set_tbl_cols(20)
    pl.Config.set_fmt_str_lengths(60)
    pl.Config.set_thousands_separator(",")
    snap = require_passing(Snapshot.open(snapshot or None))
    marts.build(snap)
    print(f"snapshot {snap.id} ({snap.label}), {snap.start} .. {snap.end}")
    return snap


_FIGURE = r"^[<>]?[0-9][0-9,.]*$"


def _numeric(column: pl.Series) -> bool:
    """Right-aligned: numbers, and text columns of figures such as a suppressed "<10"."""
    text = column.drop_nulls()
    return column.dtype.is_numeric() or (column.dtype == pl.String and text.str.contains(_FIGURE).all())


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,}"
    return escape(value.isoformat() if isinstance(value, dt.date) else str(value))


@dataclass(frozen=True)
class Table:
    """A table as a report shows it: an HTML table in the HTML reports and JupyterLab, where
    a wide text table would wrap into an unreadable block, and the Polars text table in a
    terminal (and in nbval's comparison of text outputs). Empty cells are nulls: suppressed
    or not applicable."""

    frame: pl.DataFrame
    caption: str = ""

    def __repr__(self) -> str:
        return f"{self.caption}\n{self.frame}" if self.caption else str(self.frame)

    def _repr_html_(self) -> str:
        caption = f'<caption style="text-align: left">{escape(self.caption)}</caption>' if self.caption else ""
        align = [f' style="text-align: {"right" if _numeric(c) else "left"}"' for c in self.frame.iter_columns()]
        head = "".join(
            f"<th{a}>{escape(name.replace('_', ' '))}</th>" for a, name in zip(align, self.frame.columns, strict=True)
        )
        body = "".join(
            "<tr>" + "".join(f"<td{a}>{_cell(v)}</td>" for a, v in zip(align, row, strict=True)) + "</tr>"
            for row in self.frame.iter_rows()
        )
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def table(frame: pl.DataFrame, caption: str = "") -> Table:
    return Table(frame, caption)
