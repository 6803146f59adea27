"""Who a merchant wants to reach: audience criteria, checked, in plain words and as SQL parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.core.schema import SCENES


@dataclass(frozen=True)
class Audience:
    """Who a merchant wants to reach; empty values mean 'any'."""

    gender: str = ""
    age_min: int = 0
    age_max: int = 120
    min_monthly_spend_ntd: int = 0
    districts: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    scene: str = ""

    def __post_init__(self) -> None:
        if self.gender not in ("", "F", "M"):
            raise ValueError(f"gender must be F, M or empty (any), got {self.gender!r}")
        if not 0 <= self.age_min <= self.age_max <= 120:
            raise ValueError(f"age range {self.age_min}-{self.age_max} is not a range within 0-120")
        if self.min_monthly_spend_ntd < 0:
            raise ValueError("minimum monthly spend cannot be negative")
        if self.scene and self.scene not in SCENES:
            raise ValueError(f"scene must be one of {', '.join(SCENES)} or empty, got {self.scene!r}")

    @staticmethod
    def from_text(
        gender: str = "",
        ages: str = "",
        min_monthly_spend_ntd: int = 0,
        districts: str = "",
        segments: str = "",
        scene: str = "",
    ) -> Audience:
        """Build from notebook-style scalar parameters: ages '30-45', comma-separated lists."""
        lo, hi = 0, 120
        if ages:
            try:
                lo, hi = (int(x) for x in ages.split("-"))
            except ValueError:
                raise ValueError(f"ages must look like 30-45, got {ages!r}") from None
        return Audience(gender, lo, hi, min_monthly_spend_ntd, _items(districts), _items(segments), scene)

    @staticmethod
    def from_params(params: dict[str, Any]) -> Audience:
        """From a segment report's parameters (audience_gender, audience_ages, ...)."""
        return Audience.from_text(
            params["audience_gender"],
            params["audience_ages"],
            params["audience_min_monthly_spend_ntd"],
            params["audience_districts"],
            params["audience_segments"],
            params["audience_scene"],
        )

    def describe(self) -> str:
        """The criteria in plain words, for a report or a command's output."""
        who = {"F": "women", "M": "men"}.get(self.gender, "members")
        parts = [who if (self.age_min, self.age_max) == (0, 120) else f"{who} aged {self.age_min}-{self.age_max}"]
        if self.min_monthly_spend_ntd:
            parts.append(f"spending at least NT${self.min_monthly_spend_ntd:,} a month")
        if self.districts:
            parts.append(f"living in {', '.join(self.districts)}")
        if self.segments:
            parts.append(f"in segment {', '.join(self.segments)}")
        if self.scene:
            parts.append(f"active in {self.scene} over the window")
        return ", ".join(parts)

    def params(self) -> dict[str, Any]:
        return {
            "gender": self.gender,
            "age_min": self.age_min,
            "age_max": self.age_max,
            "min_monthly_spend": self.min_monthly_spend_ntd,
            "districts": list(self.districts),
            "segments": list(self.segments),
            "scene": self.scene,
        }


def _items(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())
