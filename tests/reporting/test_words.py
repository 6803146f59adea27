"""The translation tables: every key in every language, with the same placeholders; a missing
word is an error; numbers and dates in the reader's locale."""

from __future__ import annotations

import datetime as dt
import string
from pathlib import Path

import pytest

from pipelines.core.schema import MERCHANT_CATEGORIES, MODES, SECTORS
from pipelines.reporting import words

TABLES = sorted(Path(words.__file__).parents[1].glob("**/words.toml"))


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("path", TABLES, ids=lambda p: str(p.parent.name))
def test_every_key_has_every_language_with_the_same_placeholders(path):
    for key, entry in words.read_table(path).items():
        assert set(entry) == set(words.LANGS), (path, key)
        assert len({frozenset(_placeholders(text)) for text in entry.values()}) == 1, (path, key)


def test_a_key_is_in_one_table_only():
    seen: dict[str, Path] = {}
    for path in TABLES:
        for key in words.read_table(path):
            assert key not in seen, (key, path, seen.get(key))
            seen[key] = path


def test_every_code_of_the_schema_lists_has_a_word():
    w = words.load("zh-TW")
    for kind, codes in (("category", MERCHANT_CATEGORIES), ("mode", MODES), ("sector", SECTORS)):
        for code in codes:
            assert w.label(kind, code) != code


def test_a_missing_word_is_an_error_not_the_code():
    with pytest.raises(words.MissingWord):
        words.load("en").label("category", "no_such_category")
    with pytest.raises(ValueError, match="lang must be one of"):
        words.load("fr")


def test_numbers_and_dates_follow_the_locale():
    zh, en = words.load("zh-TW"), words.load("en")
    assert zh.month("2025-06") == "2025年6月"
    assert en.month("2025-06-01") == "Jun 2025"
    assert zh.day("2025-06-08") == "2025年6月8日"
    assert en.day(dt.date(2025, 6, 8)) == "8 Jun 2025"
    assert en.number(1234567.891, 1) == "1,234,567.9"
    assert en.signed(-2.4) == "−2"
    assert zh.weekday(1) != en.weekday(1)
    assert en.money(1500) == "NT$1,500"


def test_an_edited_table_is_read_again_and_a_read_one_cannot_be_changed(tmp_path):
    """Tables are parsed once a process: an analyst's edit must still show, and no report may
    change the words the next report reads."""
    import os
    import time

    path = tmp_path / "words.toml"
    path.write_text('[shop.greeting]\nen = "Hello"\nzh-TW = "您好"\n', encoding="utf-8")
    assert words.read_table(path)["shop.greeting"]["en"] == "Hello"
    assert words.read_table(path) is words.read_table(path)  # parsed once
    # An edit of the same size, its modification time set back as `cp -p` or tar would
    # (after a pause longer than the clock tick of coarse file timestamps, as edits are).
    before = path.stat()
    time.sleep(0.05)
    path.write_text('[shop.greeting]\nen = "Howdy"\nzh-TW = "嗨嗨"\n', encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    assert words.read_table(path)["shop.greeting"]["en"] == "Howdy"
    path.write_text('[shop.greeting]\nen = "Welcome back"\nzh-TW = "歡迎回來"\n', encoding="utf-8")
    assert words.read_table(path)["shop.greeting"]["en"] == "Welcome back"
    table = words.read_table(path)
    with pytest.raises(TypeError):
        table["shop.greeting"]["en"] = "Changed"  # type: ignore[index]
    with pytest.raises(TypeError):
        table["shop.other"] = {}  # type: ignore[index]
    assert words.load("en", path)("shop.greeting") == "Welcome back"
