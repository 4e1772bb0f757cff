"""The service's one configuration object, read from ``SERAGAM_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from detector.attire import DEFAULT_ATTIRE_WEIGHTS
from detector.model import DEFAULT_WEIGHTS

MAX_RETENTION_DAYS = 36500  # a century: a longer period keeps images forever (and overflows the date maths)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SERAGAM_")

    data_dir: Path = Path("data")
    database_url: str | None = None  # default: an SQLite file in data_dir
    model: Path = DEFAULT_WEIGHTS
    attire: Path | None = DEFAULT_ATTIRE_WEIGHTS  # two-stage scoring's person classifier; empty: off
    max_image_bytes: int = Field(20 * 1024 * 1024, gt=0)
    max_clip_bytes: int = Field(2 * 1024 * 1024 * 1024, gt=0)
    max_image_pixels: int = Field(40_000_000, gt=0)
    policy_file: Path | None = None  # default: api/policy/default_policy.yaml
    calendar_file: Path | None = None  # default: api/policy/default_calendar.yaml
    sample_interval_s: float = Field(
        1.0, gt=0, allow_inf_nan=False
    )  # seconds between the clip frames that are scored
    clock_skew_s: float = Field(
        300.0, ge=0, allow_inf_nan=False
    )  # how far in the future a capture time may lie (device clocks drift)
    retention_unflagged_days: int = 30  # uploads that opened no case are deleted after this many days
    retention_dismissed_days: int = 90  # evidence images of dismissed cases are deleted after this many days
    seed_demo: bool = True  # seed a demo registry and an administrator key into an empty database
    session_secret: str | None = None  # signs web UI session cookies; default: a random one in data_dir
    secure_cookies: bool = True  # session cookies only over HTTPS (browsers allow http://localhost too)
    sign_in_attempts: int = Field(5, ge=1)  # wrong web UI sign-ins per username or address before a pause
    sign_in_pause_s: float = Field(300.0, gt=0, allow_inf_nan=False)  # 0 would turn throttling off

    @field_validator("attire", mode="before")
    @classmethod
    def _attire_off(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("retention_unflagged_days", "retention_dismissed_days")
    @classmethod
    def _retention_period(cls, days: int, info: ValidationInfo) -> int:
        if not 1 <= days <= MAX_RETENTION_DAYS:
            raise ValueError(
                f"SERAGAM_{str(info.field_name).upper()} is {days}: a retention period is a whole number of "
                f"days from 1 to {MAX_RETENTION_DAYS}"
            )
        return days

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'seragam.db'}"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"
