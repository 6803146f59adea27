"""A real public transaction log, CDNOW (69,659 orders by 23,570 customers, January 1997 to
June 1998, as shipped with the lifetimes package), turned into an extract by the documented
contract: retail only, one outlet, wallet payments, no demographics, amounts in US dollars
converted to NT$ with decimals (imported with --round-money). It must import, pass the gate,
and score members so that RFM separates them."""

from __future__ import annotations

import datetime as dt
from importlib.metadata import distribution
from pathlib import Path

import polars as pl
import pytest

from pipelines import marts
from pipelines.core import catalog
from pipelines.core.schema import TABLES, table
from pipelines.ingest.importer import import_source
from pipelines.quality.gate import validate
from pipelines.segments.analysis import open_segmentation

NTD_PER_USD = 30.0
NOW = dt.datetime(2026, 11, 23, 12)


def cdnow_extract(folder: Path) -> Path:
    source = distribution("lifetimes").locate_file("lifetimes/datasets/CDNOW_master.txt")
    rows = [line.split() for line in Path(source).read_text().splitlines()[1:] if line.strip()]
    log = pl.DataFrame(rows, schema=["customer", "date", "cds", "usd"], orient="row").with_columns(
        pl.col("customer").cast(pl.Int64),
        pl.col("date").str.strptime(pl.Date, "%Y%m%d"),
        pl.col("usd").cast(pl.Float64),
    )
    folder.mkdir(parents=True)
    members = log.group_by("customer").agg(pl.col("date").min().alias("join_date")).sort("customer")
    frames = {
        "members": members.select(
            pl.format("M{}", pl.col("customer").cast(pl.String).str.zfill(8)).alias("member_id"),
            pl.format("W{}", pl.col("customer").cast(pl.String).str.zfill(8)).alias("account_id"),
            pl.lit(None, pl.String).alias("gender"),
            pl.lit(None, pl.Int32).alias("birth_year"),
            pl.lit(None, pl.String).alias("home_district_id"),
            "join_date",
            pl.lit(None, pl.String).alias("guardian_member_id"),
        ),
        "merchants": pl.DataFrame(
            {
                "merchant_id": ["S0000001"],
                "merchant_name": ["CDNOW"],
                "brand_id": [None],
                "brand_name": [None],
                "category": ["bookstore"],
                "district_id": ["D01"],
                "opened_date": [dt.date(1996, 1, 1)],
            }
        ),
        "purchases": log.with_row_index("purchase_id", offset=1).select(
            pl.col("purchase_id").cast(pl.Int64),
            pl.col("date").cast(pl.Datetime("us")).dt.offset_by("12h").alias("purchased_at"),
            pl.lit("S0000001").alias("merchant_id"),
            (pl.col("usd") * NTD_PER_USD).round(2).alias("amount"),
            pl.lit("wallet").alias("payment_method"),
            pl.lit(None, pl.String).alias("card_id"),
            pl.format("W{}", pl.col("customer").cast(pl.String).str.zfill(8)).alias("account_id"),
        ),
    }
    for t in TABLES:
        frame = frames.get(t.name)
        if frame is None and t.name in ("cards", "employers"):
            frame = pl.DataFrame(schema=table(t.name).polars_schema)
        if frame is not None:
            frame.write_csv(folder / f"{t.name}.csv")
    return folder


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory):
    data = tmp_path_factory.mktemp("cdnow-data")
    mp = pytest.MonkeyPatch()
    mp.setenv("CARD_INSIGHTS_DATA", str(data))
    source = cdnow_extract(tmp_path_factory.mktemp("cdnow") / "extract")
    manifest = import_source(
        source,
        "cdnow",
        dt.date(1997, 1, 1),
        dt.date(1998, 6, 30),
        absent_scenes=("transit", "bills", "p2p"),
        round_money=True,
    )
    verdict = validate("cdnow", now=NOW)
    marts.build("cdnow")
    yield manifest, verdict
    mp.undo()


def test_the_real_log_imports_and_passes_the_gate(cdnow):
    manifest, verdict = cdnow
    assert manifest["tables"]["purchases"]["rows"] == 69_659
    assert manifest["tables"]["members"]["rows"] == 23_570
    assert verdict.success, [(o.table, o.expectation["description"], o.result) for o in verdict.failures]
    volume = {r["table_name"]: r for r in verdict.document["observed"]["volume"]}
    # 1.26 orders per active customer-month, as measured on the log itself.
    assert volume["purchases"]["per_payer_month"] == pytest.approx(1.2579, abs=1e-3)


def test_rfm_separates_the_real_customers(cdnow):
    with marts.connect("cdnow") as con:
        seg = open_segmentation(con, marts.Snapshot.open("cdnow"))
        assert seg.as_of == dt.date(1998, 6, 30)
        scores = catalog.frame(con, "SELECT * FROM rfm WHERE month_end = ? AND r_score IS NOT NULL", [seg.as_of])
        everyone = catalog.frame(con, "SELECT segment FROM rfm WHERE month_end = ?", [seg.as_of])
    n = scores.height
    assert n > 1000  # customers who ordered in April-June 1998
    for column in ("r_score", "m_score"):  # few ties: a fifth each, within 5 points
        shares = scores[column].value_counts(normalize=True).sort(column)["proportion"]
        assert shares.len() == 5 and all(0.15 <= s <= 0.25 for s in shares), (column, shares.to_list())
    # Most active customers ordered once or twice in the window: ties this large cannot be
    # split, so each value keeps one score, and more orders never score lower.
    by_value = scores.group_by("frequency").agg(pl.col("f_score").n_unique().alias("scores"), pl.col("f_score").first())
    assert by_value["scores"].max() == 1
    assert by_value.sort("frequency")["f_score"].is_sorted()
    once = scores.filter(pl.col("frequency") == 1)
    assert once.height / n > 0.5 and once["f_score"][0] == 2  # its middle sits in the second fifth
    # The old rule called 2,622 one-order customers "Can't Lose Them".
    assert once.filter(pl.col("segment") == "Can't Lose Them").height == 0
    # Customers with no order in the window are Lapsed, not scored.
    assert everyone.filter(pl.col("segment") == "Lapsed").height == everyone.height - n
