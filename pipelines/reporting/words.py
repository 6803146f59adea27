"""Every word a report shows comes from a translation table, and every number and date is
formatted for the reader's locale by Babel.

A table is a TOML file, data rather than code: one section per key, one entry per language,
with `{name}` placeholders filled by `str.format`:

    [merchant.customers]
    en = "{count} customers"
    zh-TW = "{count} 位顧客"

The shared table (`pipelines/reporting/words.toml`) holds the words every family uses (the
codes of the schema's lists, weekdays' parts of the day, the report chrome); each family adds
its own (`pipelines/<family>/words.toml`). A key missing from the tables, or a language
missing from a key, is an error, never a silent fallback to the code or to English.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from babel.dates import format_skeleton, get_day_names
from babel.numbers import format_decimal

#: The languages a report can be written in: the first is the default for readers in Kaohsiung.
LANGS = ("zh-TW", "en")
SHARED = Path(__file__).with_name("words.toml")
_LOCALES = {"zh-TW": "zh_Hant_TW", "en": "en_GB"}


class MissingWord(KeyError):
    """A key, or a language of a key, that the translation tables do not have."""


def read_table(path: Path) -> Mapping[str, Mapping[str, str]]:
    """A translation table, flattened to dotted keys: {"merchant.customers": {"en": ..., ...}};
    read-only, as it is shared by every report a process draws."""
    stat = path.stat()
    return _parsed(path.resolve(), stat.st_ino, stat.st_ctime_ns, stat.st_size)


@functools.cache
def _parsed(path: Path, inode: int, ctime_ns: int, size: int) -> Mapping[str, Mapping[str, str]]:
    """Parsed once a process while the file is unchanged: a batch draws thousands of reports
    from the same tables, and parsing them took 8-17 ms a report. Any write or replacement
    changes the file's status-change time or inode (which, unlike its modification time, no
    copy or archive tool sets back), so an analyst's edit in JupyterLab is read again."""
    out: dict[str, Mapping[str, str]] = {}

    def walk(prefix: str, node: Mapping) -> None:
        if node and all(isinstance(v, str) for v in node.values()):
            out[prefix] = MappingProxyType(dict(node))
            return
        for key, value in node.items():
            if not isinstance(value, Mapping):
                raise ValueError(f"{path}: {prefix}.{key} mixes a translation with nested keys")
            walk(f"{prefix}.{key}" if prefix else key, value)

    walk("", tomllib.loads(path.read_text(encoding="utf-8")))
    return MappingProxyType(out)


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    return lang


@dataclass(frozen=True)
class Words:
    """One language's view of the translation tables, with the locale's number and date formats."""

    lang: str
    table: Mapping[str, Mapping[str, str]]

    @property
    def locale(self) -> str:
        return _LOCALES[self.lang]

    def __call__(self, key: str, **values: object) -> str:
        try:
            template = self.table[key][self.lang]
        except KeyError:
            raise MissingWord(f"no {self.lang} text for {key!r} in the translation tables") from None
        return template.format(**values)

    def has(self, key: str) -> bool:
        return key in self.table

    def label(self, kind: str, code: object) -> str:
        """The word for a code of one of the schema's lists (`label("category", "fuel")`)."""
        return self(f"{kind}.{code}")

    def number(self, value: float, digits: int = 0) -> str:
        """A figure with the locale's grouping, rounded to `digits` decimals."""
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(round(value, digits) + 0.0, format=pattern, locale=self.locale)

    def signed(self, value: float, digits: int = 0) -> str:
        """A difference, always with its sign (+3, −2)."""
        text = self.number(abs(value), digits)
        return ("+" if value >= 0 else "−") + text

    def money(self, value: float, digits: int = 0) -> str:
        return self("unit.ntd", amount=self.number(value, digits))

    def pct(self, value: float, digits: int = 0) -> str:
        return self("unit.pct", value=self.number(value, digits))

    def month(self, value: dt.date | str) -> str:
        """A month in words: "2025年6月", "Jun 2025"."""
        day = dt.date.fromisoformat(f"{value}-01" if len(str(value)) == 7 else str(value)[:10])
        return format_skeleton("yMMM", day, locale=self.locale)

    def day(self, value: dt.date | str) -> str:
        """A day in words: "2025年6月8日", "8 Jun 2025"."""
        return format_skeleton("yMMMd", dt.date.fromisoformat(str(value)[:10]), locale=self.locale)

    def weekday(self, iso_day: int) -> str:
        """A day of the week from its ISO number (1 = Monday)."""
        return get_day_names("abbreviated", locale=self.locale)[iso_day - 1]


def load(lang: str, *tables: Path) -> Words:
    """The words of the shared table and the given family tables, in `lang`."""
    merged: dict[str, Mapping[str, str]] = {}
    for path in (SHARED, *tables):
        for key, entry in read_table(path).items():
            if key in merged:
                raise ValueError(f"{path}: {key!r} is already in another translation table")
            merged[key] = entry
    return Words(check_lang(lang), merged)
