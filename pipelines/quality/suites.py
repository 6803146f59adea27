"""Great Expectations 1.x suites, built from the one schema definition.

`python -m pipelines expectations` writes them to expectations/*.json with GX's own classes,
so every file is a valid GX suite; a test rebuilds them and fails if a committed file differs,
so the suites cannot drift from the schema.

Every expectation carries `meta.table` (the table or derived view it checks), `meta.column`
where it has one, and a `description`: the rule in plain words, printed when it fails.
Bounds that depend on the run (period, now, previous snapshot) are GX suite parameters
(`{"$PARAMETER": name}`) filled in at validation time.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pipelines.core.network import stations
from pipelines.core.paths import REPO_ROOT
from pipelines.core.schema import SCENE_TABLES, TABLES, Column, Table
from pipelines.quality.bands import BANDS_FILE

EXPECTATIONS_DIR = REPO_ROOT / "expectations"
#: Bumped when the engine's reading of a suite changes, so old results stop counting.
ENGINE_VERSION = "4"
#: Event tables: a scene the operator does not run is declared absent; its table is then empty.
EVENT_TABLES = tuple(SCENE_TABLES.values())


def _meta(table: str, column: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"table": table, **({"column": column} if column else {}), **extra}


def _bounds_in_words(lo: float | None, hi: float | None) -> str:
    if lo is None:
        return f"is at most {hi}"
    if hi is None:
        return f"is at least {lo}"
    return f"lies between {lo} and {hi}"


def _column_expectations(t: Table, c: Column) -> list:
    import great_expectations.expectations as gxe

    out = [
        gxe.ExpectColumnValuesToBeOfType(
            column=c.name,
            type_=c.duckdb_type,
            meta=_meta(t.name, c.name),
            description=f"{t.name}.{c.name} is stored as {c.duckdb_type}",
        )
    ]
    if not c.nullable:
        out.append(
            gxe.ExpectColumnValuesToNotBeNull(
                column=c.name, meta=_meta(t.name, c.name), description=f"{t.name}.{c.name} is never empty"
            )
        )
    if c.unique:
        out.append(
            gxe.ExpectColumnValuesToBeUnique(
                column=c.name,
                meta=_meta(t.name, c.name),
                description=f"{t.name}.{c.name} identifies one row (no duplicates)",
            )
        )
    if c.min is not None or c.max is not None:
        out.append(
            gxe.ExpectColumnValuesToBeBetween(
                column=c.name,
                min_value=c.min,
                max_value=c.max,
                meta=_meta(t.name, c.name),
                description=f"{t.name}.{c.name} {_bounds_in_words(c.min, c.max)}",
            )
        )
    allowed: tuple[str, ...] | None = c.allowed
    if c.references == "stations.station_id":
        allowed = tuple(s.station_id for s in stations())
    if allowed:
        out.append(
            gxe.ExpectColumnValuesToBeInSet(
                column=c.name,
                value_set=list(allowed),
                meta=_meta(t.name, c.name),
                description=f"{t.name}.{c.name} is one of the known values"
                + (" (station codes of the reference table)" if c.references == "stations.station_id" else ""),
            )
        )
    if c.pattern:
        out.append(
            gxe.ExpectColumnValuesToMatchRegex(
                column=c.name,
                regex=c.pattern,
                meta=_meta(t.name, c.name),
                description=f"{t.name}.{c.name} has the format {c.pattern}",
            )
        )
    return out


def _row_count(t: Table):
    import great_expectations.expectations as gxe

    table = t.name
    if t.may_be_empty:
        return gxe.ExpectTableRowCountToBeBetween(
            min_value=0, meta=_meta(table), description=f"{table} may be empty (an operator may have none)"
        )
    if table not in EVENT_TABLES:
        return gxe.ExpectTableRowCountToBeBetween(min_value=1, meta=_meta(table), description=f"{table} is not empty")
    return gxe.ExpectTableRowCountToBeBetween(
        min_value={"$PARAMETER": f"{table}_min_rows"},
        max_value={"$PARAMETER": f"{table}_max_rows"},
        meta=_meta(table),
        description=f"{table} is not empty, or is empty when its scene is declared absent",
    )


def table_suite(t: Table):
    import great_expectations.expectations as gxe
    from great_expectations.core.expectation_suite import ExpectationSuite

    exps = [
        gxe.ExpectTableColumnsToMatchOrderedList(
            column_list=t.column_names,
            meta=_meta(t.name),
            description=f"{t.name} has exactly the columns of the data dictionary, in order",
        ),
        _row_count(t),
    ]
    for c in t.columns:
        exps += _column_expectations(t, c)
    return ExpectationSuite(name=t.name, expectations=exps, meta={"kind": "table", "table": t.name})


def _rows(table: str, column: str | None, query: str, description: str, keys: list[str], **fuse: str):
    """An UnexpectedRowsExpectation. `fuse` (meta `condition` on alias b, or `references`)
    lets the engine fold it into the table's one scan; the query stays the definition."""
    import great_expectations.expectations as gxe

    return gxe.UnexpectedRowsExpectation(
        unexpected_rows_query=" ".join(query.split()),
        description=description,
        meta=_meta(table, column, keys=keys, **fuse),
    )


def _condition_rows(table: str, column: str, condition: str, description: str, key: str):
    """Rows of `table` (alias b) where `condition` holds are the unexpected ones."""
    condition = " ".join(condition.split())
    query = f"SELECT b.{key} FROM {{batch}} b WHERE {condition}"
    return _rows(table, column, query, description, [key], condition=condition)


def relationships_suite():
    from great_expectations.core.expectation_suite import ExpectationSuite

    exps = []
    for t in TABLES:
        for c in t.columns:
            if not c.references:
                continue
            parent, pcol = c.references.split(".")
            keys = [*t.key_columns, *([] if c.name in t.key_columns else [c.name])]
            query = (
                f'SELECT {", ".join(f"b.{k}" for k in keys)} FROM {{batch}} b WHERE b."{c.name}" IS NOT NULL '
                f'AND NOT EXISTS (SELECT 1 FROM "{parent}" p WHERE p."{pcol}" = b."{c.name}")'
            )
            description = f"every {t.name}.{c.name} exists in {parent}.{pcol}"
            exps.append(_rows(t.name, c.name, query, description, keys, references=c.references))
    exps += [
        _condition_rows(
            "members",
            "guardian_member_id",
            "year(CAST($period_end AS DATE)) - b.birth_year BETWEEN 14 AND 20 AND b.guardian_member_id IS NULL",
            "every member aged 14-20 has a guardian",
            "member_id",
        ),
        _condition_rows(
            "members",
            "guardian_member_id",
            "b.guardian_member_id IS NOT NULL "
            "AND NOT (year(CAST($period_end AS DATE)) - b.birth_year BETWEEN 14 AND 20)",
            "only members aged 14-20 have a guardian",
            "member_id",
        ),
        _rows(
            "members",
            "guardian_member_id",
            "SELECT b.member_id, b.guardian_member_id FROM {batch} b "
            "JOIN members g ON g.member_id = b.guardian_member_id "
            "WHERE year(CAST($period_end AS DATE)) - g.birth_year < 20",
            "every guardian is an adult (20 or older)",
            ["member_id", "guardian_member_id"],
        ),
        _condition_rows(
            "cards",
            "employer_id",
            "(b.card_type = 'staff') <> (b.employer_id IS NOT NULL)",
            "staff cards, and only staff cards, name their employer",
            "card_id",
        ),
        _condition_rows(
            "cards",
            "member_id",
            "b.card_type = 'staff' AND b.member_id IS NULL",
            "every staff card belongs to a registered member",
            "card_id",
        ),
        _condition_rows(
            "trips",
            "origin_station_id",
            "(b.mode IN ('mrt', 'lrt')) <> (b.origin_station_id IS NOT NULL AND b.destination_station_id IS NOT NULL)",
            "MRT and light-rail trips, and only they, name both stations",
            "trip_id",
        ),
        _condition_rows(
            "trips",
            "tap_out_at",
            "b.tap_out_at < b.tap_in_at OR b.tap_out_at > b.tap_in_at + INTERVAL 6 HOUR",
            "every trip ends after it starts, within six hours",
            "trip_id",
        ),
        _condition_rows(
            "purchases",
            "payment_method",
            "NOT ((b.payment_method = 'card' AND b.card_id IS NOT NULL AND b.account_id IS NULL) "
            "OR (b.payment_method = 'wallet' AND b.account_id IS NOT NULL AND b.card_id IS NULL))",
            "each purchase names exactly the card or the wallet account that paid, as its method says",
            "purchase_id",
        ),
        _condition_rows(
            "transfers",
            "to_account_id",
            "b.from_account_id = b.to_account_id",
            "no transfer goes from an account to itself",
            "transfer_id",
        ),
        # A snapshot that extends another: its new days' events carry IDs of their own.
        _rows(
            "reused_ids",
            "id",
            "SELECT b.table_name, b.id FROM {batch} b",
            "no event of the days an extension adds reuses an ID of the months before them",
            ["table_name", "id"],
            requires="parent",
        ),
        _rows(
            "dropped_campaigns",
            "campaign_id",
            "SELECT b.campaign_id FROM {batch} b",
            "an extension keeps every campaign of the snapshot it extends",
            ["campaign_id"],
            requires="parent",
        ),
    ]
    return ExpectationSuite(name="relationships", expectations=exps, meta={"kind": "relationships"})


#: |z| beyond this fails the campaign checks: two-sided p < 0.0001, so that a snapshot with a
#: hundred honest campaigns raises a false alarm about once in a hundred snapshots, while an
#: audience of a few hundred drawn 60/40 instead of 50/50 is caught.
CAMPAIGN_Z = 4.0
#: The balance of the arms' spend is judged over this many days before a campaign starts, and
#: only when each arm has at least BALANCE_MIN_ARM members: spend is skewed, and a z of a
#: handful of members is no normal variate (an honest 4-member holdout of a 51-member local
#: offer once gave |z| = 4.1).
PRE_PERIOD_DAYS = 28
BALANCE_MIN_ARM = 30


def campaigns_suite():
    """Campaign rules: one assignment per member and campaign, the arms drawn as declared
    (sample ratio, and balance of the pre-period spend), redemptions only by the treatment
    arm inside the campaign's days, at the owner's outlets."""
    import great_expectations.expectations as gxe
    from great_expectations.core.expectation_suite import ExpectationSuite

    exps = [
        _rows(
            "campaign_assignments",
            "member_id",
            "SELECT b.campaign_id, b.member_id FROM {batch} b GROUP BY ALL HAVING count(*) > 1",
            "each member is assigned once per campaign",
            ["campaign_id", "member_id"],
        ),
        _rows(
            "redemptions",
            "purchase_id",
            "SELECT b.campaign_id, b.purchase_id FROM {batch} b GROUP BY ALL HAVING count(*) > 1",
            "a purchase redeems a campaign at most once",
            ["campaign_id", "purchase_id"],
        ),
        _condition_rows(
            "campaigns",
            "end_date",
            "b.end_date < b.start_date",
            "every campaign ends on or after its first day",
            "campaign_id",
        ),
        _condition_rows(
            "campaigns",
            "owner_kind",
            "(b.kind = 'operator_subsidy') <> (b.owner_kind = 'operator') OR (b.owner_kind = 'operator') <> "
            "(b.owner_id IS NULL) OR (b.owner_kind = 'merchant' AND b.owner_id NOT LIKE 'S%') "
            "OR (b.owner_kind = 'chain' AND b.owner_id NOT LIKE 'B%')",
            "subsidies are the operator's and offers a merchant's or chain's, named by its outlet or brand ID",
            "campaign_id",
        ),
        _condition_rows(
            "campaign_assignments",
            "sent_at",
            "(b.arm = 'treatment') <> (b.sent_at IS NOT NULL)",
            "the treatment arm, and only it, was sent the offer",
            "campaign_id",
        ),
        _condition_rows(
            "campaign_assignments",
            "sent_at",
            "b.sent_at > CAST($now AS TIMESTAMP)",
            "no offer was sent in the future (Asia/Taipei time)",
            "campaign_id",
        ),
        _rows(
            "redemptions",
            "campaign_id",
            "SELECT b.campaign_id, b.purchase_id FROM {batch} b "
            "JOIN purchases p ON p.purchase_id = b.purchase_id "
            "JOIN campaigns c ON c.campaign_id = b.campaign_id "
            "LEFT JOIN cards k ON k.card_id = p.card_id "
            "LEFT JOIN members m ON m.account_id = p.account_id "
            "LEFT JOIN campaign_assignments a ON a.campaign_id = b.campaign_id "
            "AND a.member_id = coalesce(k.member_id, m.member_id) "
            "LEFT JOIN merchants o ON o.merchant_id = p.merchant_id "
            "WHERE a.arm IS DISTINCT FROM 'treatment' OR CAST(p.purchased_at AS DATE) NOT BETWEEN c.start_date "
            "AND c.end_date OR (c.owner_kind = 'merchant' AND p.merchant_id <> c.owner_id) "
            "OR (c.owner_kind = 'chain' AND o.brand_id IS DISTINCT FROM c.owner_id)",
            "offers are redeemed only by the treatment arm, inside the campaign's days, at the owner's outlets",
            ["campaign_id", "purchase_id"],
        ),
    ]
    for column, what in (
        ("srm_z", "the holdout is the declared share of the audience (sample-ratio test)"),
        (
            "pre_spend_z",
            f"whose arms both have {BALANCE_MIN_ARM} members or more, the arms spent alike in the "
            f"{PRE_PERIOD_DAYS} days before the campaign (the holdout was drawn at random)",
        ),
    ):
        exps.append(
            gxe.ExpectColumnValuesToBeBetween(
                column=column,
                min_value=-CAMPAIGN_Z,
                max_value=CAMPAIGN_Z,
                meta=_meta("campaign_balance", column, keys=["campaign_id"]),
                description=f"in every campaign {what}: |z| at most {CAMPAIGN_Z:g}, p >= 0.0001",
            )
        )
    # Not "campaigns": that is the campaigns table's own suite.
    return ExpectationSuite(name="campaign_rules", expectations=exps, meta={"kind": "campaign_rules"})


def period_suite():
    import great_expectations.expectations as gxe
    from great_expectations.core.expectation_suite import ExpectationSuite

    exps = []
    for t in TABLES:
        if not t.time_column:
            continue
        col = t.time_column
        exps += [
            gxe.ExpectColumnValuesToBeBetween(
                column=col,
                min_value={"$PARAMETER": "period_start"},
                max_value={"$PARAMETER": "period_end"},
                meta=_meta(t.name, col, keys=t.key_columns),
                description=f"every {t.name}.{col} lies inside the snapshot's declared period "
                "(for an extension, inside the days it adds)",
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column=col,
                max_value={"$PARAMETER": "now"},
                meta=_meta(t.name, col, keys=t.key_columns),
                description=f"no {t.name}.{col} lies in the future (Asia/Taipei time)",
            ),
        ]
    for t in TABLES:
        for c in t.columns:
            if c.dtype == "date":
                exps.append(
                    gxe.ExpectColumnValuesToBeBetween(
                        column=c.name,
                        max_value={"$PARAMETER": "now"},
                        meta=_meta(t.name, c.name, keys=t.key_columns),
                        description=f"no {t.name}.{c.name} lies in the future (Asia/Taipei time)",
                    )
                )
    return ExpectationSuite(name="period", expectations=exps, meta={"kind": "period"})


def volume_suite():
    """Volume and shape, with bands from config/bands.toml given as suite parameters: per
    present scene, events per active payer-month and every month against the median month;
    against a previous snapshot, rows per day and each scene's share of events."""
    import great_expectations.expectations as gxe
    from great_expectations.core.expectation_suite import ExpectationSuite

    exps = [
        gxe.ExpectColumnValuesToBeBetween(
            column="per_payer_month",
            min_value={"$PARAMETER": f"{table}_min_per_payer_month"},
            max_value={"$PARAMETER": f"{table}_max_per_payer_month"},
            meta=_meta(f"volume_{table}", "per_payer_month", requires="scene", keys=["table_name"]),
            description=f"{table} holds a sane number of events per active payer-month (bands.toml)",
        )
        for table in EVENT_TABLES
    ]
    exps += [
        gxe.ExpectColumnValuesToBeBetween(
            column="share_of_median_month",
            min_value={"$PARAMETER": "min_share_of_median_month"},
            meta=_meta("monthly_volume", "share_of_median_month", keys=["table_name", "month"]),
            description="every month of each present scene holds its share of the median month's rows per day "
            "(bands.toml)",
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="rows_per_day_ratio",
            min_value={"$PARAMETER": "min_rows_per_day_ratio"},
            max_value={"$PARAMETER": "max_rows_per_day_ratio"},
            meta=_meta("volume_change", "rows_per_day_ratio", requires="previous", keys=["table_name"]),
            description="each table's rows per day are within the band of the previous snapshot's (bands.toml)",
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="share_change_pp",
            min_value={"$PARAMETER": "min_scene_share_change_pp"},
            max_value={"$PARAMETER": "max_scene_share_change_pp"},
            meta=_meta("scene_mix_change", "share_change_pp", requires="previous", keys=["scene"]),
            description="each scene's share of events moved no more than the band since the previous snapshot "
            "(bands.toml)",
        ),
    ]
    return ExpectationSuite(name="volume", expectations=exps, meta={"kind": "volume"})


def build_all() -> dict[str, dict]:
    """Every suite as GX's JSON dict, keyed by file stem."""
    suites = [
        *(table_suite(t) for t in TABLES),
        relationships_suite(),
        campaigns_suite(),
        period_suite(),
        volume_suite(),
    ]
    return {s.name: s.to_json_dict() for s in suites}


def render(suite: dict) -> str:
    return json.dumps(suite, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_all(folder: Path = EXPECTATIONS_DIR) -> list[Path]:
    folder.mkdir(exist_ok=True)
    written = []
    for name, suite in build_all().items():
        path = folder / f"{name}.json"
        path.write_text(render(suite))
        written.append(path)
    return written


def load_all(folder: Path = EXPECTATIONS_DIR) -> dict[str, dict]:
    """The committed suites, read as plain JSON (importing GX takes seconds; the gate needn't)."""
    files = sorted(folder.glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no expectation suites in {folder}: run `python -m pipelines expectations`")
    return {p.stem: json.loads(p.read_text()) for p in files}


def suites_hash(folder: Path = EXPECTATIONS_DIR) -> str:
    """Identifies the suites (and the bands they run with) a result was produced under:
    editing any suite or band changes it."""
    h = hashlib.sha256(f"engine {ENGINE_VERSION}\n".encode())
    for p in [*sorted(folder.glob("*.json")), BANDS_FILE]:
        h.update(p.name.encode() + b"\n" + p.read_bytes())
    return h.hexdigest()
