"""Calendar months of a snapshot's declared period, which may start and end on any day.

Generated snapshots cover whole months; an operator's extract may run to any day (up to
yesterday, say). A month the period covers only in part holds less activity than a whole
one, so reports default to whole months and RFM is scored only at month ends inside the period.
"""

from __future__ import annotations

import datetime as dt

import polars as pl


def next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_end(month: dt.date) -> dt.date:
    return next_month(month) - dt.timedelta(days=1)


def month_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first day of every calendar month that overlaps [start, end]."""
    out, month = [], dt.date(start.year, start.month, 1)
    while month <= end:
        out.append(month)
        month = next_month(month)
    return out


def month_ends_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """The calendar month ends inside [start, end]."""
    return [e for e in map(month_end, month_starts(start, end)) if e <= end]


def period_months(start: dt.date, end: dt.date) -> pl.DataFrame:
    """One row per month the period overlaps: its first day, and whether the period covers all of it."""
    starts = month_starts(start, end)
    complete = [m >= start and month_end(m) <= end for m in starts]
    return pl.DataFrame({"month": starts, "complete": complete}, schema={"month": pl.Date, "complete": pl.Boolean})
