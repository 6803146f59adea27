"""The campaign family's settings (config/campaigns.toml), read strictly."""

from __future__ import annotations

from pathlib import Path

from pipelines.campaigns.effects import Settings
from pipelines.core.config import ConfigError, check_keys, read_toml

CONFIG = Path(__file__).parent / "config" / "campaigns.toml"


def load_settings(path: Path = CONFIG) -> Settings:
    raw = read_toml(path)
    keys = ("confidence", "power", "srm_alpha", "pre_period_days")
    check_keys(raw, keys, str(path), required=keys)
    days = raw["pre_period_days"]
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 366:
        raise ConfigError(f"{path}: pre_period_days must be a whole number of days from 1 to 366, got {days!r}")
    settings = Settings(**{k: float(raw[k]) for k in keys[:3]}, pre_period_days=days)
    for name in ("confidence", "power", "srm_alpha"):
        if not 0 < getattr(settings, name) < 1:
            raise ConfigError(f"{path}: {name} must lie strictly between 0 and 1, got {getattr(settings, name)}")
    return settings
