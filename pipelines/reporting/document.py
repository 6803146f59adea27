"""A report as a document: a header with its title and a link to the index, headline value
boxes, text as Markdown, charts as images with alt text, and a sentence where a chart has
nothing to show.

Every piece carries two renderings: what the reader sees (HTML or Markdown, in words from
the translation tables) and a plain-text one holding only the figures, with codes and
unformatted numbers, the same in every language. nbval compares both; a test compares the
plain-text figures of a report written in each language.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

import altair as alt
import polars as pl

from pipelines.reporting.charts import svg_and_warnings

#: Output metadata the runner reads: the report's title for the browser tab, and its language.
META = "card_insights"
#: Output metadata of a chart Vega-Lite warned about while drawing it (kept out of the page).
CHART_WARNINGS = "card_insights_chart_warnings"
INDEX = "index.html"

#: Headline boxes: at most four a row, the rows balanced (five go three and two, seven four and
#: three, not four and one alone), a box's width counting its padding and border. A box asks for
#: a rem less than its share of the row, so that a figure a little wider than the share still
#: leaves the row whole. A figure breaks only at its spaces ("262,886 / 公里", never
#: "262,886 公 / 里": CJK text breaks anywhere).
_BOXES_A_ROW = 4
_BOX_ROW_STYLE = "display:flex;flex-wrap:wrap;gap:.75rem;margin:.5rem 0 1rem 0"
_BOX_STYLE = (
    "flex:1 1 calc((100% - {gaps} * .75rem) / {per_row} - 1rem);box-sizing:border-box;"
    "border:1px solid #d8dee4;border-radius:8px;padding:.6rem .8rem;background:#f8fafc"
)


def _figures(figures: Mapping[str, object]) -> str:
    return "\n".join(f"{key}: {value}" for key, value in figures.items())


@dataclass(frozen=True)
class Header:
    """The report's title (also the browser tab's), what it is about, and the way back to the index."""

    title: str
    subtitle: str
    back: str  # the link text back to the index
    lang: str
    subject: str  # whom it is about (a merchant, an employer), for the index
    period: str  # the period it covers, for the index

    def _repr_mimebundle_(self, include=None, exclude=None) -> tuple[dict, dict]:
        html = (
            f'<nav><a href="{INDEX}">{escape(self.back)}</a></nav>'
            f"<h1>{escape(self.title)}</h1><p>{escape(self.subtitle)}</p>"
        )
        facts = {"title": self.title, "lang": self.lang, "subject": self.subject, "period": self.period}
        return {"text/html": html, "text/plain": ""}, {META: facts}


@dataclass(frozen=True)
class Box:
    """One headline figure: its label, the figure as the reader sees it, a note under it (the
    margin, or why it is not shown), and the figure itself for the plain-text rendering."""

    key: str
    label: str
    shown: str
    figure: object
    note: str = ""


@dataclass(frozen=True)
class Boxes:
    """A row of headline figures; the first is the report's headline on the index."""

    boxes: Sequence[Box]

    def _repr_mimebundle_(self, include=None, exclude=None) -> tuple[dict, dict]:
        first = self.boxes[0]
        plain = _figures({b.key: b.figure for b in self.boxes})
        return {"text/html": self._html(), "text/plain": plain}, {META: {"headline": f"{first.label}: {first.shown}"}}

    def _html(self) -> str:
        rows = -(-len(self.boxes) // _BOXES_A_ROW)
        per_row = -(-len(self.boxes) // rows)
        box = _BOX_STYLE.format(gaps=per_row - 1, per_row=per_row)
        cells = "".join(
            f'<div style="{box}"><div style="font-size:.85rem;color:#555">{escape(b.label)}</div>'
            f'<div style="font-size:1.5rem;font-weight:600;word-break:keep-all">{escape(b.shown)}</div>'
            + (f'<div style="font-size:.8rem;color:#666">{escape(b.note)}</div>' if b.note else "")
            + "</div>"
            for b in self.boxes
        )
        return f'<div class="value-boxes" style="{_BOX_ROW_STYLE}">{cells}</div>'


@dataclass(frozen=True)
class Text:
    """Markdown for the reader; `figures` (code -> value) for the plain-text rendering."""

    markdown: str
    figures: Mapping[str, object] = field(default_factory=dict)

    def __repr__(self) -> str:
        return _figures(self.figures)

    def _repr_markdown_(self) -> str:
        return self.markdown


@dataclass(frozen=True)
class Figure:
    """A chart drawn as an SVG image with alt text (the HTML export's own image has none)."""

    svg: str
    alt: str
    warnings: Sequence[str] = ()

    def __repr__(self) -> str:
        # No figures of its own: a chart draws what a table beside it shows.
        return ""

    def _repr_mimebundle_(self, include=None, exclude=None) -> tuple[dict, dict]:
        data = base64.b64encode(self.svg.encode("utf-8")).decode("ascii")
        alt_text = escape(self.alt, quote=True)
        html = f'<figure style="margin:0"><img src="data:image/svg+xml;base64,{data}" alt="{alt_text}"></figure>'
        return {"text/html": html, "text/plain": ""}, ({CHART_WARNINGS: list(self.warnings)} if self.warnings else {})


def header(title: str, subtitle: str, back: str, lang: str, subject: str, period: str) -> Header:
    return Header(title, subtitle, back, lang, subject, period)


def boxes(items: Sequence[Box]) -> Boxes:
    return Boxes(items)


def text(markdown: str, **figures: object) -> Text:
    return Text(markdown, figures)


def bullets(lines: Sequence[str], **figures: object) -> Text:
    return Text("\n".join(f"- {line}" for line in lines), figures)


def missing(why: str) -> Text:
    """The sentence, in italics, standing where a chart or table would be and saying why not."""
    return text(f"*{why}*")


def chart(chart: alt.TopLevelMixin, alt_text: str, data: pl.DataFrame, empty: str) -> Any:
    """The chart with its alt text, or, when `data` has no row to draw, the sentence `empty`
    saying why. Interactive sessions (JupyterLab) keep Altair's own renderer."""
    if data.height == 0:
        return missing(empty)
    if alt.renderers.active != "card_insights_svg":
        return chart.properties(description=alt_text)
    described = chart.properties(description=alt_text)
    spec = described.to_dict(validate=False)
    # The alt text is left out too: `properties` checked it, and it names each merchant's figures.
    unchecked = {k: v for k, v in spec.items() if k not in ("datasets", "description")}
    shape = _DATA_NAME.sub("data", json.dumps(unchecked, sort_keys=True))
    if shape not in _CHECKED_SHAPES:
        described.to_dict()  # Altair's check of the spec, with its own messages
        _CHECKED_SHAPES.add(shape)
    svg, warnings = svg_and_warnings(spec)
    return Figure(svg, alt_text, tuple(warnings))


# Altair's check of a chart against the Vega-Lite schema took 50 ms of a carbon report's 130 ms
# monthly chart, and a batch draws the same chart for thousands of employers with other rows:
# a chart is checked once a process for each shape (its spec without the rows, whose dataset
# names are hashes of the rows), since the rows are any JSON objects to the schema.
_CHECKED_SHAPES: set[str] = set()
_DATA_NAME = re.compile(r"data-[0-9a-f]{32}")


def section(title: str) -> Text:
    return Text(f"## {title}")
