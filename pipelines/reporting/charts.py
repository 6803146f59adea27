"""The project's Altair theme and renderer, set in one call from every notebook.

Reports must open offline, so notebooks render charts as SVG through vl-convert (no
JavaScript or network needed); analysts in JupyterLab may pass `interactive=True`.
"""

from __future__ import annotations

import logging
import re
import threading

import altair as alt
from altair.vegalite.v6.display import svg_renderer

PALETTE = ["#1b6ca8", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f", "#bab0ac"]
# Noto Sans CJK TC (Debian's fonts-noto-cjk) draws the Traditional Chinese of zh-TW reports.
FONT = "DejaVu Sans, Noto Sans CJK TC, Helvetica, Arial, sans-serif"


@alt.theme.register("card_insights", enable=False)
def _theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "font": FONT,
            "view": {"continuousWidth": 520, "continuousHeight": 260, "stroke": None},
            "range": {"category": PALETTE},
            "axis": {"labelFontSize": 11, "titleFontSize": 12, "gridColor": "#e6e6e6", "domainColor": "#888"},
            "legend": {"labelFontSize": 11, "titleFontSize": 12},
            "title": {"fontSize": 14, "anchor": "start", "color": "#222"},
            "bar": {"color": PALETTE[0]},
            "line": {"color": PALETTE[0], "strokeWidth": 2},
        }
    }


# vl-convert numbers gradients and clip paths from counters that live as long as the process,
# so the same chart would get other IDs after other charts in a reused kernel; each chart is
# its own SVG image, so numbering its IDs from 0 keeps it the same wherever it is drawn.
_COUNTED_ID = re.compile(r"\b(gradient_|clip)(\d+)\b")


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


# vl-convert 2 logs Vega-Lite's warnings, which a report's kernel would print into the page the
# reader sees: they are kept with the chart instead (`svg_and_warnings`).
_VL_CONVERT_LOG = logging.getLogger("vl_convert")
_VL_CONVERT_LOG.propagate = False
_VL_CONVERT_LOG.setLevel(logging.WARNING)  # whatever level the root logger is at
_VL_CONVERT_LOG.addHandler(logging.NullHandler())
_DRAWING = threading.Lock()


def svg_and_warnings(spec: dict) -> tuple[str, list[str]]:
    """The chart as SVG (IDs numbered from 0), and what Vega-Lite warned of while drawing it."""
    recorder = _Warnings()
    # One chart at a time: the warnings arrive on the process-wide logger (vl-convert draws
    # one chart at a time anyway).
    with _DRAWING:
        _VL_CONVERT_LOG.addHandler(recorder)
        try:
            svg = stable_svg_renderer(spec)["image/svg+xml"]
        except Exception as exc:
            for message in recorder.messages:
                exc.add_note(f"Vega-Lite warned: {message}")
            raise
        finally:
            _VL_CONVERT_LOG.removeHandler(recorder)
    return svg, recorder.messages


def stable_svg_renderer(spec: dict, **metadata) -> dict[str, str]:
    """Altair's SVG renderer with the chart's gradient and clip-path IDs numbered from 0."""
    bundle = svg_renderer(spec, **metadata)
    svg = bundle["image/svg+xml"]
    numbers: dict[tuple[str, str], int] = {}
    for key in _COUNTED_ID.findall(svg):
        numbers.setdefault(key, sum(1 for k in numbers if k[0] == key[0]))
    bundle["image/svg+xml"] = _COUNTED_ID.sub(lambda m: f"{m.group(1)}{numbers[(m.group(1), m.group(2))]}", svg)
    return bundle


alt.renderers.register("card_insights_svg", stable_svg_renderer)


def use_theme(interactive: bool = False) -> None:
    """Enable the project theme; render SVG (offline, stable) unless `interactive`."""
    alt.theme.enable("card_insights")
    alt.renderers.enable("default" if interactive else "card_insights_svg")
