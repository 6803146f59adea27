"""The project's Altair theme and renderer, set in one call from every notebook.

Reports must open offline, so notebooks render charts as SVG through vl-convert (no
JavaScript or network needed); analysts in JupyterLab may pass `interactive=True`.
"""

from __future__ import annotations

import altair as alt

PALETTE = ["#1b6ca8", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f", "#bab0ac"]
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"


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


def use_theme(interactive: bool = False) -> None:
    """Enable the project theme; render SVG (offline, stable) unless `interactive`."""
    alt.theme.enable("card_insights")
    alt.renderers.enable("default" if interactive else "svg")
