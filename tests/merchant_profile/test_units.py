"""The merchant register as units: a chain's category and district are the most common of its
outlets', and a tie goes to the first in order, so two builds of the same data agree."""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.merchant_profile.marts import SQL


def test_a_chain_split_evenly_takes_the_first_district_and_category():
    merchants = pl.DataFrame(
        {
            "merchant_id": ["S0001", "S0002", "S0003", "S0004", "S0005"],
            "merchant_name": ["a", "b", "c", "d", "e"],
            "brand_id": ["B0001", "B0001", "B0001", "B0001", None],
            "brand_name": ["Chain", "Chain", "Chain", "Chain", None],
            # Two outlets in D13, two in D01: a tie; categories three to one.
            "district_id": ["D13", "D01", "D13", "D01", "D05"],
            "category": ["food", "food", "grocery", "food", "food"],
        }
    )
    for order in (merchants, merchants.reverse()):
        con = duckdb.connect()
        con.register("merchants", order.to_arrow())
        units = pl.from_arrow(con.sql(SQL.load("mart_merchant_units")).to_arrow_table())
        chain = units.filter(pl.col("level") == "chain").row(0, named=True)
        assert (chain["district_id"], chain["category"], chain["unit"]) == ("D01", "food", -1)
        assert units.filter(pl.col("level") == "outlet")["unit_id"].to_list() == sorted(merchants["merchant_id"])
