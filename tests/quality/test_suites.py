"""The suites: valid GX 1.x files, in step with the schema, and read by the engine as GX reads them."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from pipelines.core.schema import TABLES
from pipelines.quality.engine import SUPPORTED, TableRunner
from pipelines.quality.suites import EXPECTATIONS_DIR, build_all, load_all, render


def test_committed_suites_match_the_schema():
    built = build_all()
    committed = load_all()
    assert set(committed) == set(built), "run `python -m pipelines expectations`"
    for name, suite in built.items():
        assert (EXPECTATIONS_DIR / f"{name}.json").read_text() == render(suite), f"{name}.json is stale"


def test_committed_suites_load_as_gx_suites():
    from great_expectations.core.expectation_suite import ExpectationSuite

    for name, suite in load_all().items():
        loaded = ExpectationSuite(**suite)
        assert len(loaded.expectations) == len(suite["expectations"]), name
        assert {e["type"] for e in suite["expectations"]} <= set(SUPPORTED)


def test_every_column_rule_of_the_schema_has_an_expectation():
    suites = load_all()
    for t in TABLES:
        kinds = {(e["kwargs"].get("column"), e["type"]) for e in suites[t.name]["expectations"]}
        for c in t.columns:
            assert (c.name, "expect_column_values_to_be_of_type") in kinds
            assert ((c.name, "expect_column_values_to_not_be_null") in kinds) is (not c.nullable)
            assert ((c.name, "expect_column_values_to_be_unique") in kinds) is c.unique
            if c.pattern:
                assert (c.name, "expect_column_values_to_match_regex") in kinds
        fks = {e["meta"].get("column") for e in suites["relationships"]["expectations"] if e["meta"]["table"] == t.name}
        assert {c.name for c in t.columns if c.references} <= fks


# Crafted data with every kind of flaw: nulls, a duplicate, out-of-range, unknown and malformed values.
CRAFTED = pd.DataFrame(
    {
        "id": [1, 2, 2, 4, 5, 6, None],
        "amount": [5.0, -1.0, None, 50.0, 10.0, 1e9, 3.0],
        "code": ["K001", "K002", "x", None, "K0X5", "K006", "K007"],
        "kind": ["a", "b", "z", None, "a", "a", "b"],
    }
)
CASES = [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "amount"}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "code"}},
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "amount", "min_value": 1, "max_value": 100}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "amount", "min_value": 0}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "amount", "max_value": {"$PARAMETER": "hi"}}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "kind", "value_set": ["a", "b"]}},
    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "code", "regex": "^K[0-9]{3}$"}},
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1, "max_value": 5}},
    {"type": "expect_table_columns_to_match_ordered_list", "kwargs": {"column_list": ["id", "amount", "code", "kind"]}},
    {"type": "expect_table_columns_to_match_ordered_list", "kwargs": {"column_list": ["id", "code"]}},
]


@pytest.fixture(scope="module")
def gx_batch():
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    asset = context.data_sources.add_pandas("crafted").add_dataframe_asset("crafted")
    return asset.add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": CRAFTED})


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['type']}:{json.dumps(c['kwargs'])[:40]}")
def test_engine_agrees_with_gx_on_crafted_data(gx_batch, case):
    """A canary: if a GX upgrade changes what an expectation means, this fails."""
    import great_expectations.expectations as gxe

    params = {"hi": 100}
    cls = next(
        c for c in vars(gxe).values() if isinstance(c, type) and getattr(c, "expectation_type", None) == case["type"]
    )
    theirs = gx_batch.validate(cls(**case["kwargs"]), expectation_parameters=params)
    con = duckdb.connect()
    con.register("crafted", CRAFTED)
    expectation = {**case, "meta": {"table": "crafted"}}
    ours = TableRunner(con, "crafted", ["id"], params).run([("crafted", expectation)])[0]
    assert ours.success == theirs.success
    for key in ("unexpected_count", "missing_count", "element_count", "observed_value"):
        if key in theirs.result:
            assert ours.result[key] == theirs.result[key], key
