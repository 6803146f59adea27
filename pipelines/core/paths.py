"""Where things live on disk, and the one rule for names that become folder names."""

from __future__ import annotations

import os
import re
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = PACKAGE_DIR.parent
REFERENCE_DIR = REPO_ROOT / "data" / "reference"
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
LOCK_FILE = REPO_ROOT / "uv.lock"

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class BadNameError(ValueError):
    """A user-supplied name that is not safe to use as a folder or file name."""


def data_dir() -> Path:
    """Root of generated data; CARD_INSIGHTS_DATA moves it (tests use a temporary folder)."""
    return Path(os.environ.get("CARD_INSIGHTS_DATA", REPO_ROOT / "data")).resolve()


def snapshots_dir() -> Path:
    return data_dir() / "snapshots"


def ground_truth_dir() -> Path:
    return data_dir() / "ground_truth"


def check_name(value: str, what: str = "snapshot ID") -> str:
    """Return `value` if it is a plain name (letters, digits, '.', '_', '-'), else raise.

    Names reach the file system, so '..', slashes, leading dots and empty names are refused.
    """
    if not _SAFE_NAME.fullmatch(value or "") or ".." in value:
        raise BadNameError(
            f"invalid {what} {value!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, and no '..'"
        )
    return value


def snapshot_path(snapshot: str) -> Path:
    return snapshots_dir() / check_name(snapshot)
