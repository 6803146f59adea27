"""The commute-carbon report as an employer's sustainability officer reads it: the report's
figures (pipelines/commute_carbon/report.py) in words from the translation tables, value
boxes, tables and charts. Only how the figures are shown is decided here."""

from __future__ import annotations

import itertools
from html import escape
from pathlib import Path

import altair as alt
import duckdb
import polars as pl

from pipelines import privacy
from pipelines.commute_carbon.emissions import LEVELS
from pipelines.commute_carbon.report import AVOIDED_BANDS_KG, OTHER_MODES, EmployerReport
from pipelines.core import catalog
from pipelines.reporting import document
from pipelines.reporting.tables import Table, in_words
from pipelines.reporting.words import Words, load

WORDS = Path(__file__).with_name("words.toml")
# Pixels a month takes in the monthly chart: room for its name written level.
_MONTH_STEP = 72


def words(lang: str) -> Words:
    return load(lang, WORDS)


class Page:
    """One employer's report in one language."""

    def __init__(self, con: duckdb.DuckDBPyConnection, report: EmployerReport, w: Words) -> None:
        self.r, self.w = report, w
        name = "name_zh" if w.lang == "zh-TW" else "name_en"
        stations = catalog.frame(con, f"SELECT station_id, {name} AS name FROM stations ORDER BY station_id")
        self.stations = dict(zip(stations["station_id"], stations["name"], strict=True))

    def mode(self, code: str) -> str:
        return self.w.label("mode", "other" if code == OTHER_MODES else code)

    def kg(self, value: float) -> str:
        return self.w("unit.kg", value=self.w.number(value))

    def header(self) -> document.Header:
        w, e = self.w, self.r.employer
        first, last = (w.month(m) for m in self.r.months)
        title = w("carbon.title", name=e["employer_name"], first=first, last=last)
        station = self.stations.get(e["work_station_id"], e["work_station_id"])
        subtitle = w("carbon.subtitle", sector=w.label("sector", e["sector"]), station=station)
        synthetic = f"{subtitle} {w('report.synthetic')}"
        period = w("carbon.period", first=first, last=last)
        return document.header(title, synthetic, w("report.back"), w.lang, e["employer_name"], period)

    def status(self) -> document.Text | None:
        """Why there are no figures, when there are none."""
        if self.r.empty:
            return document.text(self.w("carbon.empty"), employees=0)
        if not self.r.enough_employees:
            return document.text(self.w("carbon.too_few", k=privacy.K_MIN), employees_at_least=privacy.K_MIN)
        return None

    def headline(self) -> document.Boxes:
        w, h = self.w, self.r.headline()

        def count(key: str) -> document.Box:
            return document.Box(key, w(f"carbon.box.{key}"), w.number(h[key]), h[key])

        def kg(key: str) -> document.Box:
            low, central, high = (h[f"{key}_kg_{lvl}"] for lvl in LEVELS)
            note = w("carbon.box.range", low=w.number(low), high=w.number(high))
            return document.Box(f"{key}_kg_central", w(f"carbon.box.{key}"), self.kg(central), round(central, 1), note)

        pkm = document.Box("pkm", w("carbon.box.pkm"), w("unit.km", value=w.number(h["pkm"])), round(h["pkm"], 1))
        boxes = [count("employees_covered"), count("commuting_days"), count("commute_trips"), pkm]
        return document.boxes([*boxes, kg("caused"), kg("counterfactual"), kg("avoided")])

    def surprises(self) -> document.Text:
        """A line for each figure a reader would stop at: a negative avoided estimate."""
        w, h = self.w, self.r.headline()
        lines = []
        if h["avoided_kg_low"] < 0:
            lines.append(w("carbon.why.avoided_low_negative", low=self.kg(h["avoided_kg_low"])))
        if h["avoided_kg_central"] < 0:
            lines.append(w("carbon.why.avoided_negative"))
        return document.bullets(lines, avoided_low_negative=h["avoided_kg_low"] < 0)

    def monthly(self) -> tuple[Table, object]:
        w, monthly = self.w, self.r.monthly()
        plain = monthly.select(
            "month",
            "employees",
            "commuting_days",
            "commute_trips",
            pl.col("pkm").round(1),
            pl.col("caused_kg_central").round(1),
            pl.col("avoided_kg_central").round(1),
        )
        shown = plain.select(
            pl.col("month").map_elements(w.month, return_dtype=pl.String).alias(w("carbon.column.month")),
            pl.col("employees").alias(w("carbon.column.employees")),
            pl.col("commuting_days").alias(w("carbon.column.commuting_days")),
            pl.col("commute_trips").alias(w("carbon.column.commute_trips")),
            pl.col("pkm").round(0).cast(pl.Int64).alias(w("carbon.column.pkm")),
            pl.col("caused_kg_central").round(0).cast(pl.Int64).alias(w("carbon.column.caused")),
            pl.col("avoided_kg_central").round(0).cast(pl.Int64).alias(w("carbon.column.avoided")),
        )
        table = Table(shown, w("carbon.caption.monthly", k=privacy.K_MIN), plain=plain)
        data = monthly.drop_nulls("avoided_kg_central").with_columns(
            pl.col("month").map_elements(w.month, return_dtype=pl.String).alias("month_name")
        )
        order = [w.month(m) for m in monthly["month"].to_list()]
        # A place per month wide enough for its name written level, as the table above reads;
        # past a year, narrower places (the page is 1,100 px wide) with the names slanted.
        step = min(_MONTH_STEP, 900 // max(len(order), 1))
        month = alt.X(
            "month_name:O",
            title=None,
            sort=order,
            scale=alt.Scale(domain=order),
            axis=alt.Axis(labelAngle=0 if step == _MONTH_STEP else -45),
        )
        kg_title = w("carbon.chart.kg")
        band = (
            alt.Chart(data)
            .mark_area(opacity=0.25)
            .encode(x=month, y=alt.Y("avoided_kg_low:Q", title=kg_title), y2=alt.Y2("avoided_kg_high:Q"))
        )
        line = alt.Chart(data).mark_line(point=True).encode(x=month, y=alt.Y("avoided_kg_central:Q"))
        caused = (
            alt.Chart(data)
            .mark_line(point=alt.OverlayMarkDef(color="#e15759"), strokeDash=[4, 3], color="#e15759")
            .encode(x=month, y=alt.Y("caused_kg_central:Q"))
        )
        chart = (band + line + caused).properties(
            width=alt.Step(step), height=260, title=w("report.chart_synthetic", title=w("carbon.chart.monthly_title"))
        )
        return table, document.chart(chart, w("carbon.chart.monthly_alt"), data, w("carbon.chart.monthly_empty"))

    def by_mode(self) -> tuple[Table, object]:
        w, modes = self.w, self.r.by_mode()
        plain = modes.with_columns(pl.col(pl.Float64).round(1))
        shown = modes.select(
            pl.col("mode").map_elements(self.mode, return_dtype=pl.String).alias(w("carbon.column.mode")),
            pl.col("legs").alias(w("carbon.column.legs")),
            pl.col("pkm").round(0).cast(pl.Int64).alias(w("carbon.column.pkm")),
            pl.col("share_of_pkm_pct").round(1).alias(w("carbon.column.share_of_pkm")),
            *[
                pl.col(f"caused_kg_{lvl}").round(0).cast(pl.Int64).alias(w(f"carbon.column.caused_{lvl}"))
                for lvl in LEVELS
            ],
        )
        table = Table(shown, w("carbon.caption.by_mode", k=privacy.K_MIN), plain=plain)
        data = modes.with_columns(pl.col("mode").map_elements(self.mode, return_dtype=pl.String).alias("mode_name"))
        chart = (
            alt.Chart(data)
            .mark_bar()
            .encode(
                x=alt.X("pkm:Q", title=w("carbon.chart.pkm")),
                y=alt.Y("mode_name:N", sort="-x", title=None),
            )
            .properties(title=w("report.chart_synthetic", title=w("carbon.chart.by_mode_title")))
        )
        return table, document.chart(chart, w("carbon.chart.by_mode_alt"), data, w("carbon.chart.by_mode_empty"))

    def bands(self) -> list[str]:
        """The avoided-kg bands in words, in the order of `employee_distribution`."""
        w, edges = self.w, AVOIDED_BANDS_KG
        labels = [w("carbon.band.below", kg=w.number(edges[0]))]
        labels += [w("carbon.band.range", low=w.number(lo), high=w.number(hi)) for lo, hi in itertools.pairwise(edges)]
        return [*labels, w("carbon.band.above", kg=w.number(edges[-1]))]

    def spread(self) -> tuple[Table, object]:
        w, spread = self.w, self.r.employee_distribution()
        labels = self.bands()
        shown = spread.select(
            pl.Series(w("carbon.column.band"), labels),
            pl.col("employees")
            .cast(pl.String)
            .fill_null(w("carbon.band.hidden", k=privacy.K_MIN))
            .alias(w("carbon.column.employees")),
        )
        table = Table(shown, w("carbon.caption.spread", k=privacy.K_MIN), plain=spread.drop("suppressed"))
        bands = spread.with_columns(pl.Series("band", labels))
        data = bands.drop_nulls("employees")
        # Every band on the axis, hidden ones too, so no employee vanishes off its end.
        band = alt.X("band:O", sort=labels, scale=alt.Scale(domain=labels), title=w("carbon.chart.band"))
        employees = alt.Y("employees:Q", title=w("carbon.column.employees"))
        bars = alt.Chart(data).mark_bar().encode(x=band, y=employees)
        # A hidden band says so on the chart: without a word it would read as no employee.
        hidden = bands.filter(pl.col("employees").is_null()).select(
            "band", pl.lit(0).alias("employees"), pl.lit(w("carbon.chart.hidden")).alias("mark")
        )
        marks = (
            alt.Chart(hidden)
            # Upright along the band: side by side, level words overlapped in the narrow bands.
            .mark_text(angle=270, align="left", baseline="middle", dx=3, color="#555")
            .encode(x=band, y=employees, text=alt.Text("mark:N"))
        )
        chart = (bars + marks).properties(title=w("report.chart_synthetic", title=w("carbon.chart.spread_title")))
        alt_text = w("carbon.chart.spread_alt")
        return table, document.chart(chart, alt_text, data, w("carbon.chart.spread_empty", k=privacy.K_MIN))

    def note(self, mode: str, note: str | None) -> str:
        """A factor's note: in words for the shipped factor set, as written for one's own."""
        if not note:
            return ""
        key = f"carbon.factor_note.{mode}"
        return " " + (self.w(key) if self.w.has(key) else note)

    def factors(self) -> tuple[Table, document.Text]:
        """The factors, and their sources as cited (citations stay in the language they were
        published in)."""
        w, rows = self.w, self.r.factors.table
        plain = rows.select("mode", "role", "unit", "low", "central", "high", "default_occupancy")
        shown = rows.select(
            pl.col("mode").map_elements(self.mode, return_dtype=pl.String).alias(w("carbon.column.mode")),
            in_words("role", lambda r: w(f"carbon.role.{r}"), w("carbon.column.role")),
            in_words("unit", lambda u: w(f"carbon.factor_unit.{u}"), w("carbon.column.unit")),
            pl.col("low").alias(w("carbon.column.low")),
            pl.col("central").alias(w("carbon.column.central")),
            pl.col("high").alias(w("carbon.column.high")),
            pl.col("default_occupancy").alias(w("carbon.column.occupancy")),
        )
        mix = "; ".join(f"{self.mode(m)} {w.pct(100 * s, 1)}" for m, s in self.r.mix.items())
        lines = [w("carbon.mix", mix=mix), "", w("carbon.sources")]
        for row in rows.iter_rows(named=True):
            note = self.note(row["mode"], row["note"])
            # <cite>: a source is quoted as published, in the language it was published in.
            lines.append(f"- **{self.mode(row['mode'])}**: <cite>{escape(row['source'])}</cite>{note}")
        text = document.text("\n".join(lines), **{f"mix.{m}": round(s, 3) for m, s in self.r.mix.items()})
        return Table(shown, w("carbon.caption.factors"), plain=plain), text
