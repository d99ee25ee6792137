"""Settings: documented defaults in config.toml, overridden by environment variables.

The CLI loads them once (`load_settings`) and passes them down; nothing reads them from a global.
A bad value raises `ConfigError` whose message is one line naming the key and what is expected.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.workdays import WorkCalendar, shared_calendar
from storage.models import RaterGroup
from storage.scoring import Rules

DEFAULT_CONFIG_PATH = Path("config.toml")
CONFIG_PATH_VARIABLE = "SHUANGYOU_CONFIG"
ENV_PREFIX = "SHUANGYOU_"
ENV_NESTED_DELIMITER = "__"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///shuangyou.db"
WEIGHT_TOLERANCE = 1e-6
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RANKING_APP_PATH = "/app/ranking"  # the /ranking Mini App (web/miniapp.py)
Language = Literal["zh_CN", "en"]


class ConfigError(Exception):
    """The configuration cannot be used; the message is one line meant for the operator."""


def _clock_time(value: object) -> dt.time:
    """A time of day in the configured time zone: "HH:MM" or a TOML time, nothing else."""
    if isinstance(value, dt.time) and value.tzinfo is None:
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", value.strip()):
        try:
            return dt.time.fromisoformat(value.strip().zfill(5) if len(value.strip()) == 4 else value.strip())
        except ValueError:
            pass
    raise ValueError(f'a time of day as "HH:MM", not {value!r}')


ClockTime = Annotated[dt.time, BeforeValidator(_clock_time)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BotSettings(_Section):
    time_zone: str = "Asia/Shanghai"
    default_language: Language = "zh_CN"
    admins: tuple[int, ...] = ()
    flood_burst: int = Field(default=30, ge=1, le=1_000_000)  # updates a user may send at once
    flood_rate: float = Field(default=3.0, gt=0, le=10_000)  # and per second after that

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"an IANA time zone such as Asia/Shanghai, not {value!r}") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def _in_language(language: str, chinese: str, english: str) -> str:
    """Of a text configured in both languages, the one `language` reads."""
    return chinese if language.startswith("zh") else english


class Label(_Section):
    """Something the organisation names in config.toml, with one text per language: a reader sees only theirs."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,15}$")
    name_zh: str = Field(min_length=1, max_length=32)
    name_en: str = Field(min_length=1, max_length=48)

    def name(self, language: str) -> str:
        return _in_language(language, self.name_zh, self.name_en)


class Standard(Label):
    weight: float = Field(gt=0, le=1)


class ReasonTag(Label):
    """A reason a reviewer can pick for a bad review; a review keeps its key."""


DEFAULT_REASON_TAGS = (
    ReasonTag(key="unfriendly", name_zh="态度不好", name_en="Unfriendly"),
    ReasonTag(key="slow", name_zh="办事拖延", name_en="Slow"),
    ReasonTag(key="unclear", name_zh="材料要求不清", name_en="Unclear requirements"),
    ReasonTag(key="again", name_zh="多次跑腿", name_en="Came back again"),
)
# What config.toml said before reasons had a text per language: each is read as the tag above it.
OLD_REASON_TAGS = dict(
    zip(
        ("态度不好 Unfriendly", "办事拖延 Slow", "材料要求不清 Unclear requirements", "多次跑腿 Came back again"),
        DEFAULT_REASON_TAGS,
        strict=True,
    )
)


DEFAULT_STANDARDS = (
    Standard(key="service", name_zh="优化服务", name_en="Optimise service", weight=0.2),
    Standard(key="efficiency", name_zh="提高效能", name_en="Raise efficiency", weight=0.2),
    Standard(key="innovation", name_zh="创新工作", name_en="Innovate work", weight=0.2),
    Standard(key="rules", name_zh="完善制度", name_en="Perfect the rules", weight=0.2),
    Standard(key="satisfaction", name_zh="群众满意", name_en="Public satisfaction", weight=0.2),
)


def _campaign_day(value: object) -> object:
    """Reads "MM-DD" as that day of the current year; full dates pass through to pydantic."""
    if isinstance(value, str) and re.fullmatch(r"\d{2}-\d{2}", value):
        month, day = (int(part) for part in value.split("-"))
        try:
            return dt.date(dt.date.today().year, month, day)
        except ValueError:
            raise ValueError(f"a real day as MM-DD or YYYY-MM-DD, not {value!r}") from None
    return value


class CampaignSettings(_Section):
    name: str = Field(default="争创优质服务科室，争当优质服务个人", min_length=1, max_length=100)  # in Chinese
    name_en: str = Field(default="Excellent service: the best sections, the best staff", min_length=1, max_length=100)
    starts: dt.date = Field(default_factory=lambda: dt.date(dt.date.today().year, 5, 1))
    ends: dt.date = Field(default_factory=lambda: dt.date(dt.date.today().year, 12, 31))
    rating_period: Literal["month", "quarter"] = "month"
    standards: tuple[Standard, ...] = Field(default=DEFAULT_STANDARDS, min_length=1, max_length=10)

    _parse_days = field_validator("starts", "ends", mode="before")(_campaign_day)

    @model_validator(mode="after")
    def _consistent(self) -> CampaignSettings:
        if self.ends < self.starts:
            raise ValueError(f"ends ({self.ends}) must not be before starts ({self.starts})")
        keys = [standard.key for standard in self.standards]
        if len(set(keys)) != len(keys):
            raise ValueError(f"standards need distinct keys, got {keys}")
        total = sum(standard.weight for standard in self.standards)
        if abs(total - 1) > WEIGHT_TOLERANCE:
            raise ValueError(f"the weights of the standards must add up to 1, they add up to {total:g}")
        return self

    def title(self, language: str) -> str:
        """The campaign's name in `language`."""
        return _in_language(language, self.name, self.name_en)


class GroupWeights(_Section):
    industry: float = Field(default=0.5, ge=0, le=1)
    internal: float = Field(default=0.3, ge=0, le=1)
    public: float = Field(default=0.2, ge=0, le=1)

    @model_validator(mode="after")
    def _add_up_to_one(self) -> GroupWeights:
        total = self.industry + self.internal + self.public
        if abs(total - 1) > WEIGHT_TOLERANCE:
            raise ValueError(f"industry + internal + public must add up to 1, they add up to {total:g}")
        return self


class ScoringSettings(_Section):
    group_weights: GroupWeights = GroupWeights()
    prior_weight: float = Field(default=5, ge=0, le=1000)
    min_raters: int = Field(default=3, ge=1, le=1000)
    overdue_day_points: float = Field(default=0.5, ge=0, le=100)
    unrectified_review_points: float = Field(default=2, ge=0, le=100)
    max_deduction: float = Field(default=20, ge=0, le=100)
    individual_ranking: tuple[Literal["staff", "head", "leader", "admin"], ...] = ("leader", "admin")

    def rules(self) -> Rules:
        weights = self.group_weights
        return Rules(
            group_weights={
                RaterGroup.INDUSTRY: weights.industry,
                RaterGroup.INTERNAL: weights.internal,
                RaterGroup.PUBLIC: weights.public,
            },
            prior_weight=self.prior_weight,
            min_raters=self.min_raters,
            overdue_day_points=self.overdue_day_points,
            unrectified_review_points=self.unrectified_review_points,
            max_deduction=self.max_deduction,
        )


class ReminderSettings(_Section):
    days_before: tuple[int, ...] = Field(default=(3, 1))
    digest_days_ahead: int = Field(default=7, ge=1, le=60)
    on_due_day: bool = True
    every_working_day_overdue: bool = True
    digest_time: ClockTime = dt.time(9, 0)
    escalate_after_working_days: int = Field(default=2, ge=1, le=60)
    sweep_interval_seconds: int = Field(default=60, ge=5, le=3600)

    @field_validator("days_before")
    @classmethod
    def _positive_days(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(day < 1 or day > 60 for day in value):
            raise ValueError("working days between 1 and 60")
        return tuple(sorted(set(value), reverse=True))


class SnapshotSettings(_Section):
    weekly_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    weekly_time: ClockTime = dt.time(9, 0)
    month_end_time: ClockTime = dt.time(17, 0)
    top: int = Field(default=10, ge=1, le=50)
    board: Literal["campaign", "rating"] = "campaign"  # the campaign so far, or the current rating period
    individuals: bool = True  # the posted board names the top individuals too
    font_file: str = ""  # a CJK font for the chart; empty: look for one on the machine


class AwardSettings(_Section):
    sections: int = Field(default=3, ge=1, le=50)
    individuals: int = Field(default=10, ge=1, le=200)
    tie_break: Literal["raters", "industry", "public", "deductions"] = "raters"


class WorkingHours(_Section):
    starts: ClockTime = dt.time(8, 30)
    ends: ClockTime = dt.time(17, 30)

    @model_validator(mode="after")
    def _ordered(self) -> WorkingHours:
        if self.ends <= self.starts:
            raise ValueError(f"ends ({self.ends:%H:%M}) must be after starts ({self.starts:%H:%M})")
        return self


class CalendarSettings(_Section):
    country: str = Field(default="CN", pattern=r"^[A-Z]{2}$")
    extra_holidays: tuple[dt.date, ...] = ()
    extra_workdays: tuple[dt.date, ...] = ()

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        if value not in holidays.list_supported_countries():
            raise ValueError(f"a country code the holidays library knows, such as CN, not {value!r}")
        return value

    def work_calendar(self) -> WorkCalendar:
        return shared_calendar(self.country, self.extra_holidays, self.extra_workdays)


class NudgeSettings(_Section):
    last_working_days: int = Field(default=2, ge=0, le=10)  # 0: no nudges


class OutboxSettings(_Section):
    lease_seconds: int = Field(default=120, ge=5, le=3600)

    @property
    def lease(self) -> dt.timedelta:
        """How long a claimed message is left to the process that claimed it (see config.toml)."""
        return dt.timedelta(seconds=self.lease_seconds)


class ReviewSettings(_Section):
    bad_reason_tags: tuple[ReasonTag, ...] = Field(default=DEFAULT_REASON_TAGS, min_length=1, max_length=8)
    rectify_working_days: int = Field(default=5, ge=1, le=60)

    @field_validator("bad_reason_tags", mode="before")
    @classmethod
    def _tags_as_before(cls, value: object) -> object:
        """A tag written as one text (the form of earlier releases) is that text in both languages; the default
        tags of earlier releases are read as today's."""
        if not isinstance(value, list | tuple):
            return value
        return [
            (OLD_REASON_TAGS.get(tag) or {"key": f"tag{number}", "name_zh": tag, "name_en": tag})
            if isinstance(tag, str)
            else tag
            for number, tag in enumerate(value, start=1)
        ]

    @field_validator("bad_reason_tags")
    @classmethod
    def _distinct_keys(cls, value: tuple[ReasonTag, ...]) -> tuple[ReasonTag, ...]:
        keys = [tag.key for tag in value]
        if len(set(keys)) != len(keys):
            raise ValueError(f"reason tags need distinct keys, got {keys}")
        return value

    def tag(self, key: str) -> ReasonTag | None:
        return next((tag for tag in self.bad_reason_tags if tag.key == key), None)


class WebSettings(_Section):
    """The web server in the bot's process: the public's review pages, the lobby board, the /ranking Mini App and,
    in webhook mode, Telegram's updates."""

    enabled: bool = True
    listen: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)  # 0: any free port (tests)
    public_url: str = Field(default="", max_length=200)  # https://… behind the reverse proxy; empty: listen:port
    lobby: bool = True  # /lobby, the hall's screen
    lobby_key: str = Field(default="", max_length=100)  # if set, /lobby?key=… only
    reviews_per_address_per_hour: int = Field(default=30, ge=1, le=100_000)
    # The reverse proxies whose X-Forwarded-For names the client (comma-separated addresses, or "*" for any).
    trusted_proxies: str = Field(default="127.0.0.1", max_length=500)

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            raise ValueError("an address such as https://shuangyou.example.gov.cn (or empty)")
        return value

    def base_url(self) -> str:
        """Where the pages are, for the links the bot gives: the public address, else the one it listens on."""
        return self.public_url or f"http://{self.listen}:{self.port}"

    def ranking_app_url(self) -> str | None:
        """The address of /ranking's Mini App, when Telegram can open it: it opens https addresses only."""
        base = self.base_url()
        return base + RANKING_APP_PATH if self.enabled and base.startswith("https://") else None


class InviteSettings(_Section):
    valid_days: int = Field(default=7, ge=1, le=365)
    max_uses: int = Field(default=5, ge=1, le=10_000)


CONFIG_SECTIONS = (
    *("bot", "campaign", "scoring", "reminders", "snapshots", "working_hours", "invites", "calendar", "reviews"),
    *("nudges", "awards", "outbox", "web"),
)


class Settings(BaseSettings):
    """Everything the bot is configured with. Environment variables win over config.toml."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        extra="forbid",
        frozen=True,
    )

    bot_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices("BOT_TOKEN"))
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL, validation_alias=AliasChoices("DATABASE_URL", "database_url")
    )
    telegram_base_url: str | None = Field(default=None, validation_alias=AliasChoices("TELEGRAM_BASE_URL"))
    telegram_base_file_url: str | None = Field(default=None, validation_alias=AliasChoices("TELEGRAM_BASE_FILE_URL"))
    bot: BotSettings = BotSettings()
    campaign: CampaignSettings = CampaignSettings()
    scoring: ScoringSettings = ScoringSettings()
    reminders: ReminderSettings = ReminderSettings()
    snapshots: SnapshotSettings = SnapshotSettings()
    awards: AwardSettings = AwardSettings()
    working_hours: WorkingHours = WorkingHours()
    invites: InviteSettings = InviteSettings()
    calendar: CalendarSettings = CalendarSettings()
    reviews: ReviewSettings = ReviewSettings()
    nudges: NudgeSettings = NudgeSettings()
    outbox: OutboxSettings = OutboxSettings()
    web: WebSettings = WebSettings()

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Accepts the usual sync spellings and names the async driver the bot needs."""
        for plain, async_form in (
            ("sqlite://", "sqlite+aiosqlite://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
        ):
            if value.startswith(plain):
                return async_form + value.removeprefix(plain)
        if value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            return value
        raise ValueError("a URL starting with sqlite+aiosqlite:// or postgresql+asyncpg://")

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not re.fullmatch(r"\d+:[A-Za-z0-9_-]{20,}", value.get_secret_value()):
            raise ValueError("the token from @BotFather, shaped like 123456789:AAE...")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init values; environment variables come first and so win.
        return (env_settings, init_settings)

    @property
    def tz(self) -> ZoneInfo:
        return self.bot.tz

    def scoring_rules(self) -> Rules:
        """[scoring] with the campaign's working days, which count the overdue days of a period."""
        return dataclasses.replace(
            self.scoring.rules(), working_days=self.calendar.work_calendar().working_days_between
        )


def config_path(explicit: Path | None = None) -> tuple[Path, bool]:
    """The config file to read and whether its absence is an error (it was asked for by name)."""
    if explicit is not None:
        return explicit, True
    if named := os.environ.get(CONFIG_PATH_VARIABLE):
        return Path(named), True
    return DEFAULT_CONFIG_PATH, False


def load_settings(path: Path | None = None) -> Settings:
    """Reads the config file (if any) and the environment; raises ConfigError with one line."""
    file, required = config_path(path)
    values = _read_toml(file, required=required)
    try:
        return Settings(**values)
    except ValidationError as error:
        raise ConfigError(describe_error(error, file)) from None


def _read_toml(file: Path, *, required: bool) -> dict[str, Any]:
    try:
        with file.open("rb") as handle:
            values = tomllib.load(handle)
    except FileNotFoundError:
        if required:
            raise ConfigError(f"{file}: no such config file (check {CONFIG_PATH_VARIABLE} or --config)") from None
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{file}: cannot read the config file ({error.__class__.__name__})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{file}: not valid TOML: {error}") from None
    for key in values:
        if key not in CONFIG_SECTIONS:
            raise ConfigError(
                f"{file}: {key}: unknown key; expected one of the sections {', '.join(CONFIG_SECTIONS)}"
                " (the token and URLs go in environment variables)"
            )
    return values


_ENV_NAMES = {
    "bot_token": "BOT_TOKEN",
    "database_url": "DATABASE_URL",
    "telegram_base_url": "TELEGRAM_BASE_URL",
    "telegram_base_file_url": "TELEGRAM_BASE_FILE_URL",
}


def describe_error(error: ValidationError, file: Path) -> str:
    """The first problem as one line: where it is, which key, what is expected."""
    problem = error.errors()[0]
    location = [str(part) for part in problem["loc"] if not isinstance(part, int)]
    source = _source_of(location, file)
    key = ".".join(location) or "(top level)"
    if source.startswith("environment variable"):
        key = source.removeprefix("environment variable ")
        source = "environment"
    if problem["type"] == "extra_forbidden":
        expectation = "unknown key"
    elif problem["type"] == "missing":
        expectation = "missing value"
    else:
        expectation = problem["msg"].removeprefix("Value error, ")
        if problem["type"] != "value_error" and "input" in problem:
            expectation += f" (got {problem['input']!r})"
    more = len(error.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{source}: {key}: {expectation}{suffix}"


def _source_of(location: list[str], file: Path, environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    if location and location[0].lower() in _ENV_NAMES:
        return f"environment variable {_ENV_NAMES[location[0].lower()]}"
    for depth in range(len(location), 0, -1):
        name = ENV_PREFIX + ENV_NESTED_DELIMITER.join(location[:depth]).upper()
        if name in environ:
            return f"environment variable {name}"
    return str(file)
