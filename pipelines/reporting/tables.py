"""Tables as reports show them; imports no family, so every family's page may use it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

import polars as pl

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
    # The figures as a language-neutral frame (codes, unrounded headers) for the plain-text
    # rendering, when `frame` is in the reader's words: nbval then compares figures, not words.
    plain: pl.DataFrame | None = None

    def __repr__(self) -> str:
        if self.plain is not None:
            return str(self.plain)
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


def in_words(column: str, word: Callable[[str], str], name: str | None = None) -> pl.Expr:
    """A column of codes as the reader's words (`word` gives one code's), named `name`."""
    return pl.col(column).map_elements(word, return_dtype=pl.String).alias(name or column)
