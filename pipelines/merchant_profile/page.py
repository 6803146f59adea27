"""The merchant profile as a shop owner reads it: the released figures (pipelines/merchant_profile/
profile.py) in words from the translation tables, value boxes, tables and charts. Only how
the figures are shown is decided here; which figures are released, and their noise, are not.
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import duckdb
import polars as pl

from pipelines import privacy
from pipelines.core import catalog
from pipelines.merchant_profile.profile import PARTS_OF_DAY, SHARE_MARGIN_MAX_POINTS, Profile
from pipelines.reporting import document
from pipelines.reporting.tables import Table
from pipelines.reporting.words import Words, load

WORDS = Path(__file__).with_name("words.toml")
#: The table of words each dimension's values are found under.
VALUE_WORDS = {
    "customer_type": "customer_type",
    "visit_frequency": "visit_frequency",
    "age_band": "age_band",
    "gender": "gender",
    "segment": "segment",
    "cross_category": "category",
    "home_district": "district",
}
SHARE_DIMENSIONS = ("customer_type", "visit_frequency", "age_band", "gender", "segment")


def words(lang: str) -> Words:
    return load(lang, WORDS)


class Page:
    """One merchant's profile in one language."""

    def __init__(self, con: duckdb.DuckDBPyConnection, profile: Profile, w: Words) -> None:
        self.p, self.w = profile, w
        names = catalog.frame(con, "SELECT name_en, name_zh FROM districts ORDER BY name_en")
        self.districts = dict(zip(names["name_en"], names["name_zh" if w.lang == "zh-TW" else "name_en"], strict=True))

    def value(self, dimension: str, code: str) -> str:
        if dimension == "home_district" and code in self.districts:
            return self.districts[code]
        return self.w.label(VALUE_WORDS[dimension], code)

    def header(self) -> document.Header:
        w, unit = self.w, self.p.unit
        title = w("merchant.title", name=unit["unit_name"], month=w.month(self.p.month))
        level = w(f"merchant.level.{unit['level']}")
        subtitle = w(
            "merchant.subtitle", level=level, category=w.label("category", unit["category"]), unit=unit["unit_id"]
        )
        synthetic = f"{subtitle} {w('report.synthetic')}"
        return document.header(title, synthetic, w("report.back"), w.lang, unit["unit_name"], w.month(self.p.month))

    def not_enough(self) -> document.Text:
        return document.text(self.w("merchant.not_enough", k=privacy.K_MIN), customers_at_least=privacy.K_MIN)

    def headline(self) -> document.Boxes:
        w, h, m = self.w, self.p.headline(), self.p.margins()

        def box(key: str, money: bool = False) -> document.Box:
            show = w.money if money else w.number
            margin = w("report.margin", margin=show(m[key]))
            if h[key] is None:
                return document.Box(key, w(f"merchant.box.{key}"), w("report.too_uncertain"), None, margin)
            return document.Box(key, w(f"merchant.box.{key}"), show(h[key]), h[key], margin)

        ticket = h["average_ticket_ntd"]
        boxes = [box("customers"), box("transactions"), box("revenue_ntd", money=True)]
        boxes.append(
            document.Box(
                "average_ticket_ntd",
                w("merchant.box.average_ticket_ntd"),
                w.money(ticket) if ticket is not None else w("report.too_uncertain"),
                ticket,
                w("merchant.box.ticket_note"),
            )
        )
        return document.boxes(boxes)

    def peers(self) -> document.Text:
        w, p = self.w, self.p
        shown, _ = p.peers
        if not shown:
            few = len(p.peer_units) < privacy.PEER_MIN_MERCHANTS
            why = (
                w("merchant.peers.too_few", n=len(p.peer_units), k=privacy.PEER_MIN_MERCHANTS)
                if few
                else w("merchant.peers.dominant")
            )
            return document.text(why, peers_shown=False)
        h = p.peer_headline()
        ticket = h["average_ticket_ntd"]
        text = w(
            "merchant.peers.shown",
            scope=w(f"merchant.scope.{p.peer_scope}"),
            n=h["merchants"],
            median=w.number(h["median_customers"]),
            ticket=w.money(ticket) if ticket is not None else w("report.too_uncertain"),
        )
        return document.text(text, peers_shown=True, peer_merchants=h["merchants"])

    def share_note(self) -> document.Text:
        w, p, margin = self.w, self.p, self.p.margins()["share_pct"]
        if p.shares_readable:
            return document.text(w("merchant.share_note", margin=w.number(margin)), share_margin_points=margin)
        most = w.number(SHARE_MARGIN_MAX_POINTS)
        peers = " " + w("merchant.share_note_peers") if p.peers[0] else ""
        if p.customers_readable:
            # One decimal: 15.4 rounded to 15 would read as within the limit it is over.
            text = w("merchant.share_note_hidden", margin=w.number(margin, 1), most=most)
            return document.text(text + peers, share_margin_points=margin, own_shares_shown=False)
        # The margin is 1,960 over the customers: given exactly, it would give away the count
        # the headline hides as too uncertain.
        text = w("merchant.share_note_hidden_total", most=most)
        return document.text(text + peers, own_shares_shown=False)

    def stand_outs(self) -> document.Text:
        w, found = self.w, self.p.stand_outs()
        if not self.p.peers[0]:
            return document.text(w("merchant.stand_out.no_peers"))
        if not self.p.shares_readable:
            return document.text(w("merchant.stand_out.too_uncertain"))
        if not found:
            enough = max(10.0, self.p.margins()["share_pct"])
            return document.text(w("report.none_stand_out", points=w.number(enough)))
        lines = [
            w(
                "merchant.stand_out.more" if f["gap"] > 0 else "merchant.stand_out.fewer",
                group=self.value(f["dimension"], f["value"]),
                share=w.pct(f["share_pct"]),
                peers=w.pct(f["peer_share_pct"]),
                gap=w.number(abs(f["gap"])),
            )
            for f in found
        ]
        return document.bullets(lines, **{f"{f['dimension']}.{f['value']}": round(f["gap"], 1) for f in found})

    def compared(self, dimension: str) -> Table | document.Text:
        """A dimension's shares next to the peers', or a line saying they are not shown."""
        w = self.w
        own, frame = self.p.shares_readable, self.p.compared(dimension)
        if frame.height == 0:
            why = "merchant.table.all_small" if own else "merchant.table.not_shown"
            return document.text(w(why, table=w(f"merchant.dimension.{dimension}"), k=privacy.K_MIN))
        if dimension in ("home_district", "cross_category"):
            # Ties in order of value, so the table reads the same on every run.
            order = "share_pct" if own else "peer_share_pct"
            frame = frame.sort(order, "value", descending=[True, False], nulls_last=True)
        shown = frame.select(
            pl.col("value")
            .map_elements(lambda c: self.value(dimension, c), return_dtype=pl.String)
            .alias(w(f"merchant.dimension.{dimension}")),
            # Not an empty column of one's own: an empty cell means fewer than K_MIN customers.
            *([pl.col("share_pct").alias(w("merchant.column.share"))] if own else []),
            *([pl.col("peer_share_pct").alias(w("merchant.column.peers"))] if self.p.peers[0] else []),
        )
        caption = w(f"merchant.caption.{dimension}")
        return Table(shown, caption if own else w("merchant.caption.peers_only", caption=caption), plain=frame)

    def glossary(self) -> document.Text:
        """What each RFM segment name means, for a shop owner who has never met RFM, under its
        heading; nothing when no segment is shown."""
        w = self.w
        codes = [c for c in self.p.compared("segment")["value"].to_list() if w.has(f"segment_meaning.{c}")]
        if not codes:
            return document.text("")
        lines = [f"**{w.label('segment', c)}**: {w.label('segment_meaning', c)}" for c in codes]
        heading = f"## {w('merchant.section.glossary')}\n\n"
        return document.text(heading + w("merchant.glossary.intro") + "\n\n" + "\n".join(f"- {line}" for line in lines))

    def customers_chart(self) -> object:
        w, own = self.w, self.p.shares_readable
        only = "" if own else "_peers_only"  # its words when only the peers' shares are drawn
        who = [w("merchant.chart.this_merchant"), w("merchant.chart.peers")]
        long = pl.concat(
            [
                self.p.compared(d)
                .unpivot(index="value", variable_name="who", value_name="pct")
                .with_columns(
                    pl.col("value").map_elements(lambda c, d=d: self.value(d, c), return_dtype=pl.String),
                    pl.lit(w(f"merchant.dimension.{d}")).alias("dimension"),
                )
                for d in ("age_band", "gender", "visit_frequency", "customer_type")
            ]
        ).with_columns(pl.col("who").replace({"share_pct": who[0], "peer_share_pct": who[1]}))
        long = long.drop_nulls()
        chart = (
            alt.Chart(long)
            .mark_bar()
            .encode(
                x=alt.X("pct:Q", title=w("merchant.chart.pct_customers")),
                y=alt.Y("value:N", title=None),
                yOffset=alt.YOffset("who:N", sort=who),
                color=alt.Color("who:N", title=None, sort=who),
                # Headers above each panel: the long dimension names would overlap if set sideways.
                row=alt.Row(
                    "dimension:N",
                    title=None,
                    header=alt.Header(labelAngle=0, labelOrient="top", labelAnchor="start", labelFontWeight="bold"),
                ),
            )
            .resolve_scale(y="independent")
            .properties(width=320, title=w("report.chart_synthetic", title=w(f"merchant.chart.customers_title{only}")))
        )
        empty = w("merchant.chart.customers_empty") if own else w("merchant.chart.too_uncertain")
        return document.chart(chart, w(f"merchant.chart.customers_alt{only}"), long, empty)

    def week(self) -> tuple[document.Text, object]:
        """The sentence saying which grid is shown and why, and the grid's chart."""
        w = self.w
        if not self.p.shares_readable:
            # No grid to describe: the sentence in the chart's place says why.
            return document.text(""), document.missing(w("merchant.week.too_uncertain"))
        grain, grid = self.p.week_grid()
        shown = grid.drop_nulls("share_pct")
        days = [w.weekday(d) for d in range(1, 8)]
        if grain == "hour":
            slots = [f"{h:02d}" for h in range(24)]
            x_title, note = w("merchant.week.hour"), w("merchant.week.hour_note", k=privacy.K_MIN)
            labels = {s: s for s in slots}
        else:
            slots = [p for p, _ in PARTS_OF_DAY]
            x_title, note = w("merchant.week.part"), w("merchant.week.part_note", k=privacy.K_MIN)
            labels = {s: w.label("part_of_day", s) for s in slots}
        frame = shown.with_columns(
            pl.col("day").map_elements(lambda d: days[d - 1], return_dtype=pl.String).alias("day_name"),
            pl.col("slot").replace_strict(labels).alias("slot_name"),
        )
        chart = (
            alt.Chart(frame)
            .mark_rect()
            .encode(
                # The whole week on both axes, so slots without trade or too small show as gaps.
                x=alt.X("slot_name:O", title=x_title, scale=alt.Scale(domain=[labels[s] for s in slots])),
                y=alt.Y("day_name:O", title=None, scale=alt.Scale(domain=days)),
                color=alt.Color("share_pct:Q", title=w("merchant.week.legend")),
            )
            .properties(title=w("report.chart_synthetic", title=w("merchant.week.title")))
        )
        busiest = ""
        if shown.height:
            top = shown.sort("share_pct", "day", "slot", descending=[True, False, False]).row(0, named=True)
            busiest = " " + w(
                "merchant.week.busiest",
                day=days[top["day"] - 1],
                slot=labels[top["slot"]] if grain == "part_of_day" else w("merchant.week.at_hour", hour=top["slot"]),
                share=w.pct(top["share_pct"], 1),
            )
        empty = w("merchant.week.empty", k=privacy.K_MIN)
        text = document.text(note + busiest, grain=grain, cells_shown=shown.height)
        return text, document.chart(chart, w("merchant.week.alt", grain=x_title) + busiest, shown, empty)

    def bounds(self) -> document.Text:
        w, release = self.w, self.p.release
        if release is None:
            return document.text("")
        c = release.config
        rho = c.rho_per_release()
        return document.text(
            w(
                "merchant.privacy.bounds",
                units=c.max_units,
                visits=c.max_visits,
                spend=w.money(c.max_spend_ntd),
                hours=c.max_hours,
            )
            + "\n\n"
            + w(
                "merchant.privacy.release",
                release=release.id,
                rho=f"{rho:.3f}",
                epsilon=f"{c.epsilon(rho):.2f}",
                delta=f"{c.delta:g}",
                yearly_rho=c.yearly_rho,
                yearly_epsilon=f"{c.epsilon(c.yearly_rho):.1f}",
            )
        )
