"""The gate's volume and shape bands (config/bands.toml), read strictly, as suite parameters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.core.config import ConfigError, check_keys, read_toml
from pipelines.core.schema import SCENE_TABLES

BANDS_FILE = Path(__file__).parent / "config" / "bands.toml"


@dataclass(frozen=True)
class Bands:
    events_per_active_payer_month: dict[str, tuple[float, float]]
    min_share_of_median_month: float
    rows_per_day_ratio: tuple[float, float]
    scene_share_change_pp: float

    def params(self) -> dict[str, Any]:
        """The suites' parameters for these bands."""
        out: dict[str, Any] = {
            "min_share_of_median_month": self.min_share_of_median_month,
            "min_rows_per_day_ratio": self.rows_per_day_ratio[0],
            "max_rows_per_day_ratio": self.rows_per_day_ratio[1],
            "min_scene_share_change_pp": -self.scene_share_change_pp,
            "max_scene_share_change_pp": self.scene_share_change_pp,
        }
        for table, (lo, hi) in self.events_per_active_payer_month.items():
            out[f"{table}_min_per_payer_month"], out[f"{table}_max_per_payer_month"] = lo, hi
        return out


def _band(value: Any, where: str) -> tuple[float, float]:
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int | float) for v in value)):
        raise ConfigError(f"{where}: a band is [low, high], got {value!r}")
    lo, hi = float(value[0]), float(value[1])
    if not 0 <= lo <= hi:
        raise ConfigError(f"{where}: a band needs 0 <= low <= high, got {value!r}")
    return lo, hi


def load_bands(path: Path = BANDS_FILE) -> Bands:
    sections = ("events_per_active_payer_month", "months", "compared_with_previous")
    raw = check_keys(read_toml(path), sections, str(path), required=sections)
    tables = tuple(SCENE_TABLES.values())
    per_month = check_keys(raw["events_per_active_payer_month"], tables, f"{path} [events_per_active_payer_month]")
    months = check_keys(
        raw["months"], ("min_share_of_median_month",), f"{path} [months]", required=("min_share_of_median_month",)
    )
    keys = ("rows_per_day_ratio", "scene_share_change_pp")
    previous = check_keys(raw["compared_with_previous"], keys, f"{path} [compared_with_previous]", required=keys)
    share = months["min_share_of_median_month"]
    if not (isinstance(share, int | float) and 0 <= share <= 1):
        raise ConfigError(f"{path}: min_share_of_median_month must be between 0 and 1, got {share!r}")
    change = previous["scene_share_change_pp"]
    if not (isinstance(change, int | float) and change >= 0):
        raise ConfigError(f"{path}: scene_share_change_pp must be a number of points, got {change!r}")
    return Bands(
        {t: _band(per_month.get(t), f"{path}: {t}") for t in tables},
        float(share),
        _band(previous["rows_per_day_ratio"], f"{path}: rows_per_day_ratio"),
        float(change),
    )
