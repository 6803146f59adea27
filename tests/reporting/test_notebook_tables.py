"""Report tables: HTML for the reports, the Polars text table for nbval and terminals."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl

from pipelines.reporting import notebook


def _cells(html: str, tag: str) -> list[tuple[str, str]]:
    """(alignment, text) of every `tag` cell, in order."""
    return re.findall(rf'<{tag} style="text-align: (left|right)">(.*?)</{tag}>', html)


def test_html_table_escapes_text_formats_figures_and_leaves_nulls_empty():
    frame = pl.DataFrame(
        {
            "segment": ["Can't <Lose> & Keep", None],
            "members": [1234567, None],
            "share_pct": [12.5, 0.25],
            "month": [dt.date(2025, 6, 1), None],
            "shown": ["<10", "1,234"],
        }
    )
    html = notebook.table(frame, "Members & shares")._repr_html_()
    assert '<caption style="text-align: left">Members &amp; shares</caption>' in html
    assert _cells(html, "th") == [
        ("left", "segment"),
        ("right", "members"),
        ("right", "share pct"),
        ("left", "month"),
        ("right", "shown"),
    ]
    assert _cells(html, "td") == [
        ("left", "Can&#x27;t &lt;Lose&gt; &amp; Keep"),
        ("right", "1,234,567"),
        ("right", "12.5"),
        ("left", "2025-06-01"),
        ("right", "&lt;10"),
        ("left", ""),
        ("right", ""),
        ("right", "0.25"),
        ("left", ""),
        ("right", "1,234"),
    ]
    assert "<" not in re.sub(r"</?(table|caption|thead|tbody|tr|th|td)[^>]*>", "", html)


def test_text_form_is_the_caption_over_the_polars_table():
    frame = pl.DataFrame({"value": ["a", "b"], "customers": [12, 30]})
    assert repr(notebook.table(frame, "Visits")) == f"Visits\n{frame}"
    assert repr(notebook.table(frame)) == str(frame)
