"""The one schema definition: the generator, the data dictionary and the expectations read it.

Every table a snapshot holds is declared here with its columns, types, keys, ranges, allowed
values and foreign keys. Nothing else in the code base restates a column list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

#: Logical types, mapped once to Polars (for writing) and DuckDB (for checking).
POLARS_TYPES: dict[str, pl.DataType] = {
    "str": pl.String(),
    "int32": pl.Int32(),
    "int64": pl.Int64(),
    "float64": pl.Float64(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
    "timestamp": pl.Datetime("us"),
}
DUCKDB_TYPES: dict[str, str] = {
    "str": "VARCHAR",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "float64": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}

GENDERS = ("F", "M")
CARD_TYPES = ("adult", "student", "senior", "staff")
MODES = ("mrt", "lrt", "bus", "tra", "bike")
MERCHANT_CATEGORIES = (
    "convenience_store",
    "food_and_drink",
    "supermarket",
    "pharmacy",
    "department_store",
    "fuel",
    "parking",
    "bookstore",
    "entertainment",
)
PAYMENT_METHODS = ("card", "wallet")
BILLER_TYPES = ("electricity", "water", "gas", "telecom", "tax_and_fees", "insurance")
SECTORS = ("manufacturing", "finance", "public_sector", "healthcare", "technology", "retail")
SYSTEMS = ("KRTC", "KLRT")
CAMPAIGN_KINDS = ("merchant_offer", "operator_subsidy")
CAMPAIGN_OWNERS = ("operator", "merchant", "chain")
ARMS = ("treatment", "holdout")
#: The four scenes a member's card and wallet are used in, and the event table of each. An
#: operator that does not run a scene declares it absent at import; its table is then empty.
SCENE_TABLES: dict[str, str] = {"transit": "trips", "retail": "purchases", "bills": "bill_payments", "p2p": "transfers"}
SCENES = tuple(SCENE_TABLES)
LINES = ("R", "O", "C")

#: All times are local wall-clock time in Asia/Taipei (UTC+8, no daylight saving), stored
#: without a zone so that hour-of-day means the same in every engine.
TIMEZONE = "Asia/Taipei"


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    description: str
    nullable: bool = False
    unique: bool = False
    min: float | int | None = None
    max: float | int | None = None
    allowed: tuple[str, ...] | None = None
    pattern: str | None = None
    references: str | None = None  # "table.column"
    money: bool = False  # integer NT$: an import refuses decimals unless told to round them

    @property
    def polars_type(self) -> pl.DataType:
        return POLARS_TYPES[self.dtype]

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.dtype]


@dataclass(frozen=True)
class Table:
    name: str
    kind: str  # "reference", "entity", "event" or "campaign"
    description: str
    columns: tuple[Column, ...]
    #: One column, or several joined by commas ("campaign_id,member_id").
    primary_key: str
    time_column: str | None = None  # events: the column that places a row in the period
    #: An entity table an operator may not have at all (no staff cards, no card payments, no
    #: outlets): the foreign keys of the events that need it catch a load that lost it.
    may_be_empty: bool = False
    #: A table an extract may leave out altogether (an operator that runs no campaigns): the
    #: import then writes it empty.
    optional: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def key_columns(self) -> list[str]:
        return self.primary_key.split(",")

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def polars_schema(self) -> pl.Schema:
        return pl.Schema({c.name: c.polars_type for c in self.columns})


def _id(name: str, what: str, pattern: str, **kw: object) -> Column:
    return Column(name, "str", what, pattern=pattern, **kw)  # type: ignore[arg-type]


MEMBER_ID = r"^M[0-9]{8}$"
ACCOUNT_ID = r"^W[0-9]{8}$"
CARD_ID = r"^K[0-9]{9}$"
MERCHANT_ID = r"^S[0-9]{7}$"
BRAND_ID = r"^B[0-9]{4}$"
EMPLOYER_ID = r"^E[0-9]{4}$"
DISTRICT_ID = r"^D[0-9]{2}$"
STATION_ID = r"^(R|O|C)[0-9A-Z]+$"
CAMPAIGN_ID = r"^C[0-9]{5}$"

TABLES: tuple[Table, ...] = (
    Table(
        "districts",
        "reference",
        "Kaohsiung districts served by rail (from data/reference/kaohsiung_districts.csv).",
        (
            _id("district_id", "District code.", DISTRICT_ID, unique=True),
            Column("name_zh", "str", "District name in Chinese."),
            Column("name_en", "str", "District name in English."),
            Column("lon", "float64", "Longitude (WGS84) of the mean of its stations.", min=120.0, max=121.0),
            Column("lat", "float64", "Latitude (WGS84) of the mean of its stations.", min=22.0, max=23.5),
        ),
        primary_key="district_id",
    ),
    Table(
        "stations",
        "reference",
        "Kaohsiung MRT (Red, Orange) and Circular Light Rail stations (TDX open data).",
        (
            _id("station_id", "Station code as signed (R10, O5, C14 ...).", STATION_ID, unique=True),
            Column("system", "str", "Operator system: KRTC (MRT) or KLRT (light rail).", allowed=SYSTEMS),
            Column("line_id", "str", "Line: R (Red), O (Orange), C (Circular light rail).", allowed=LINES),
            Column("sequence", "int32", "Order of the station along its line, from 1.", min=1, max=60),
            Column("cumulative_km", "float64", "Distance along the line from its first station.", min=0, max=40),
            Column("name_zh", "str", "Station name in Chinese."),
            Column("name_en", "str", "Station name in English."),
            Column("district_id", "str", "District the station is in.", references="districts.district_id"),
            Column("lon", "float64", "Longitude (WGS84).", min=120.0, max=121.0),
            Column("lat", "float64", "Latitude (WGS84).", min=22.0, max=23.5),
        ),
        primary_key="station_id",
        notes=("R10 and O5 are one station (Formosa Boulevard); O1 and C14 are one station (Hamasen).",),
    ),
    Table(
        "members",
        "entity",
        "Registered members: one per person, each with exactly one wallet account.",
        (
            _id("member_id", "Pseudonymous member ID.", MEMBER_ID, unique=True),
            _id("account_id", "The member's wallet account (one per member).", ACCOUNT_ID, unique=True),
            Column("gender", "str", "Gender as registered; empty when unknown.", nullable=True, allowed=GENDERS),
            Column(
                "birth_year",
                "int32",
                "Year of birth (minors included); empty when unknown.",
                nullable=True,
                min=1900,
                max=2015,
            ),
            Column(
                "home_district_id",
                "str",
                "Home district; empty when unknown or outside the districts served.",
                nullable=True,
                references="districts.district_id",
            ),
            Column("join_date", "date", "Date the member registered; members keep joining."),
            Column(
                "guardian_member_id",
                "str",
                "Guardian of a member aged 14-20 (age = period end year - birth year), and of no one "
                "older; must be an adult member.",
                nullable=True,
                pattern=MEMBER_ID,
                references="members.member_id",
            ),
        ),
        primary_key="member_id",
    ),
    Table(
        "employers",
        "entity",
        "Employers that issue staff cards; their work place sits near a real station.",
        (
            _id("employer_id", "Employer ID.", EMPLOYER_ID, unique=True),
            Column("employer_name", "str", "Employer name (synthetic)."),
            Column("sector", "str", "Business sector.", allowed=SECTORS),
            Column("district_id", "str", "District of the work place.", references="districts.district_id"),
            Column("work_station_id", "str", "Rail station nearest the work place.", references="stations.station_id"),
            Column("in_carbon_programme", "bool", "Whether the employer subscribes to commute carbon reports."),
        ),
        primary_key="employer_id",
        may_be_empty=True,
    ),
    Table(
        "cards",
        "entity",
        "Stored-value cards. Registered cards belong to a member; anonymous cards have none.",
        (
            _id("card_id", "Pseudonymous card ID.", CARD_ID, unique=True),
            Column("card_type", "str", "Fare class of the card.", allowed=CARD_TYPES),
            Column(
                "member_id",
                "str",
                "Holder; null for an unregistered anonymous card. A member may hold several cards.",
                nullable=True,
                pattern=MEMBER_ID,
                references="members.member_id",
            ),
            Column(
                "employer_id",
                "str",
                "Issuing employer, for staff cards only.",
                nullable=True,
                pattern=EMPLOYER_ID,
                references="employers.employer_id",
            ),
            Column("issued_date", "date", "Date the card was issued."),
        ),
        primary_key="card_id",
        may_be_empty=True,
    ),
    Table(
        "merchants",
        "entity",
        "Merchant outlets accepting the card and wallet; chains share a brand.",
        (
            _id("merchant_id", "Outlet ID.", MERCHANT_ID, unique=True),
            Column("merchant_name", "str", "Outlet name (synthetic)."),
            Column("brand_id", "str", "Chain brand, null for an independent outlet.", nullable=True, pattern=BRAND_ID),
            Column("brand_name", "str", "Chain brand name (synthetic), null for an independent.", nullable=True),
            Column("category", "str", "Merchant category.", allowed=MERCHANT_CATEGORIES),
            Column("district_id", "str", "District the outlet is in.", references="districts.district_id"),
            Column("opened_date", "date", "Date the outlet started accepting payments."),
        ),
        primary_key="merchant_id",
        may_be_empty=True,
    ),
    Table(
        "trips",
        "event",
        "Transit scene: one row per ride (tap in to tap out) on MRT, light rail, bus, TRA or public bike.",
        (
            Column("trip_id", "int64", "Trip ID, unique within the snapshot.", unique=True, min=1),
            Column("card_id", "str", "Card that paid.", pattern=CARD_ID, references="cards.card_id"),
            Column("mode", "str", "Transport mode.", allowed=MODES),
            Column("tap_in_at", "timestamp", "Tap-in time, local Asia/Taipei."),
            Column("tap_out_at", "timestamp", "Tap-out time, local Asia/Taipei."),
            Column(
                "origin_station_id",
                "str",
                "Boarding station (MRT and light rail only).",
                nullable=True,
                references="stations.station_id",
            ),
            Column(
                "destination_station_id",
                "str",
                "Alighting station (MRT and light rail only).",
                nullable=True,
                references="stations.station_id",
            ),
            Column("origin_district_id", "str", "District of boarding.", references="districts.district_id"),
            Column("destination_district_id", "str", "District of alighting.", references="districts.district_id"),
            Column(
                "distance_km",
                "float64",
                "Distance travelled: along the lines for rail, as recorded for bus, TRA and bike.",
                min=0.1,
                max=120,
            ),
            Column("fare", "int64", "Fare charged in NT$ (integer).", min=0, max=400, money=True),
        ),
        primary_key="trip_id",
        time_column="tap_in_at",
    ),
    Table(
        "purchases",
        "event",
        "Retail scene: one row per payment at a merchant outlet, by card or by wallet.",
        (
            Column("purchase_id", "int64", "Purchase ID, unique within the snapshot.", unique=True, min=1),
            Column("purchased_at", "timestamp", "Payment time, local Asia/Taipei."),
            Column("merchant_id", "str", "Outlet paid.", pattern=MERCHANT_ID, references="merchants.merchant_id"),
            Column(
                "amount",
                "int64",
                "Amount paid in NT$ (integer); 0 for a fully discounted or free order.",
                min=0,
                max=200_000,
                money=True,
            ),
            Column(
                "payment_method", "str", "Paid by tapping a card or from the wallet account.", allowed=PAYMENT_METHODS
            ),
            Column(
                "card_id", "str", "Card, when paid by card.", nullable=True, pattern=CARD_ID, references="cards.card_id"
            ),
            Column(
                "account_id",
                "str",
                "Wallet account, when paid from the wallet.",
                nullable=True,
                pattern=ACCOUNT_ID,
                references="members.account_id",
            ),
        ),
        primary_key="purchase_id",
        time_column="purchased_at",
    ),
    Table(
        "bill_payments",
        "event",
        "Bill scene: monthly bills paid from the wallet account.",
        (
            Column("bill_payment_id", "int64", "Bill payment ID, unique within the snapshot.", unique=True, min=1),
            Column("paid_at", "timestamp", "Payment time, local Asia/Taipei."),
            Column(
                "account_id", "str", "Wallet account that paid.", pattern=ACCOUNT_ID, references="members.account_id"
            ),
            Column("biller_type", "str", "Kind of bill.", allowed=BILLER_TYPES),
            Column("amount", "int64", "Amount paid in NT$ (integer).", min=1, max=200_000, money=True),
        ),
        primary_key="bill_payment_id",
        time_column="paid_at",
    ),
    Table(
        "transfers",
        "event",
        "Peer-to-peer scene: money sent from one wallet account to another.",
        (
            Column("transfer_id", "int64", "Transfer ID, unique within the snapshot.", unique=True, min=1),
            Column("transferred_at", "timestamp", "Transfer time, local Asia/Taipei."),
            Column(
                "from_account_id", "str", "Sending wallet account.", pattern=ACCOUNT_ID, references="members.account_id"
            ),
            Column(
                "to_account_id", "str", "Receiving wallet account.", pattern=ACCOUNT_ID, references="members.account_id"
            ),
            Column("amount", "int64", "Amount sent in NT$ (integer).", min=1, max=100_000, money=True),
        ),
        primary_key="transfer_id",
        time_column="transferred_at",
    ),
)

TABLES += (
    Table(
        "campaigns",
        "campaign",
        "Offers and subsidies sent to an audience with a random holdout: a merchant's or chain's offer, "
        "or the operator's own subsidy.",
        (
            _id("campaign_id", "Campaign ID.", CAMPAIGN_ID, unique=True),
            Column("campaign_name", "str", "Campaign name as the owner calls it."),
            Column("kind", "str", "A merchant's offer, or the operator's subsidy.", allowed=CAMPAIGN_KINDS),
            Column("owner_kind", "str", "Who pays for the offer.", allowed=CAMPAIGN_OWNERS),
            Column(
                "owner_id",
                "str",
                "The outlet (merchant owner) or chain brand (chain owner); empty for the operator. An offer "
                "counts purchases at this outlet or at any outlet of this chain.",
                nullable=True,
                pattern=r"^(S[0-9]{7}|B[0-9]{4})$",
            ),
            Column("audience_rule", "str", "Who was eligible, in words."),
            Column("start_date", "date", "First day of the offer."),
            Column("end_date", "date", "Last day of the offer (inclusive)."),
            Column(
                "offer_value", "int64", "NT$ off (or paid back) per redeemed purchase.", min=1, max=10_000, money=True
            ),
            Column(
                "holdout_share",
                "float64",
                "Declared share of the audience held out (sent nothing), drawn at random.",
                min=0.01,
                max=0.99,
            ),
            Column("seed", "int64", "Seed of the random draw of the holdout, so that it can be redrawn."),
        ),
        primary_key="campaign_id",
        may_be_empty=True,
        optional=True,
    ),
    Table(
        "campaign_assignments",
        "campaign",
        "Each member of a campaign's audience and the arm they were drawn into; only the treatment arm "
        "is sent the offer.",
        (
            _id("campaign_id", "Campaign.", CAMPAIGN_ID, references="campaigns.campaign_id"),
            _id("member_id", "Member in the audience.", MEMBER_ID, references="members.member_id"),
            Column("arm", "str", "treatment (sent the offer) or holdout (sent nothing).", allowed=ARMS),
            Column("sent_at", "timestamp", "When the offer was sent; empty for the holdout.", nullable=True),
        ),
        primary_key="campaign_id,member_id",
        may_be_empty=True,
        optional=True,
    ),
    Table(
        "redemptions",
        "campaign",
        "Purchases that redeemed a campaign's offer, and the NT$ it paid for them.",
        (
            _id("campaign_id", "Campaign redeemed.", CAMPAIGN_ID, references="campaigns.campaign_id"),
            Column("purchase_id", "int64", "Purchase that redeemed it.", references="purchases.purchase_id", min=1),
            Column(
                "value",
                "int64",
                "NT$ the offer paid (off the price or back to the wallet).",
                min=1,
                max=10_000,
                money=True,
            ),
        ),
        primary_key="campaign_id,purchase_id",
        may_be_empty=True,
        optional=True,
    ),
)

TABLE_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
EVENT_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES if t.kind == "event")


def table(name: str) -> Table:
    try:
        return TABLE_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; tables are {', '.join(TABLE_BY_NAME)}") from None
