"""The merchant register as units: a chain's category and district are the most common of its
outlets', and a tie goes to the first in order, so two builds of the same data agree; keys
follow the IDs, so a register that grows keeps every earlier key (an extension's new months
join its parent's)."""

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
        assert (chain["district_id"], chain["category"], chain["unit"]) == ("D01", "food", -2)
        assert units.filter(pl.col("level") == "outlet")["unit_id"].to_list() == sorted(merchants["merchant_id"])


def _run(sql: str, **tables: pl.DataFrame) -> pl.DataFrame:
    con = duckdb.connect()
    for name, frame in tables.items():
        con.register(name, frame.to_arrow())
    return pl.from_arrow(con.sql(SQL.load(sql)).to_arrow_table())


def test_keys_follow_the_ids_and_hold_when_the_register_grows():
    merchants = pl.DataFrame(
        {
            "merchant_id": ["S0000007", "S0000120"],
            "merchant_name": ["a", "b"],
            "brand_id": ["B0042", None],
            "brand_name": ["Chain", None],
            "district_id": ["D01", "D02"],
            "category": ["food", "food"],
        }
    )
    members = pl.DataFrame(
        {
            "member_id": ["M00000005", "M00000100"],
            "account_id": ["W00000005", "W00000100"],
            "gender": ["F", "M"],
            "birth_year": [1990, 1980],
            "home_district_id": ["D01", "D01"],
        }
    )
    cards = pl.DataFrame({"card_id": ["K000000009", "K000000010"], "member_id": ["M00000100", None]})
    districts = pl.DataFrame({"district_id": ["D01"], "name_en": ["Xinxing"]})
    # One more outlet, member and unregistered card, each with a lower number than the others.
    grown = {
        "merchants": pl.concat([merchants, merchants.tail(1).with_columns(merchant_id=pl.lit("S0000003"))]),
        "members": pl.concat(
            [members, members.tail(1).with_columns(member_id=pl.lit("M00000001"), account_id=pl.lit("W00000001"))]
        ),
        "cards": pl.concat([cards, cards.tail(1).with_columns(card_id=pl.lit("K000000001"))]),
    }
    for register in ({"merchants": merchants, "members": members, "cards": cards}, grown):
        units = _run("mart_merchant_units", merchants=register["merchants"])
        assert (
            dict(units.select("unit_id", "unit").iter_rows()).items()
            >= {"S0000007": 8, "S0000120": 121, "B0042": -43}.items()
        )
        customers = _run("int_merchant_customers", members=register["members"], districts=districts)
        payers = _run(
            "int_merchant_payers", cards=register["cards"], merchant_customers=customers, members=register["members"]
        )
        keys = dict(payers.select("payer_id", "customer").iter_rows())
        assert keys.items() >= {"W00000005": 6, "W00000100": 101, "K000000009": 101, "K000000010": -11}.items()
