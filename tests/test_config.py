"""config.toml, the environment, and one clear line for every bad value."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.config import ConfigError, Settings, describe_error, load_settings
from tests.cli import call_cli

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def config_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_shipped_config_loads_with_the_documented_defaults() -> None:
    settings = load_settings(CONFIG)

    this_year = dt.date.today().year
    assert settings.bot.time_zone == "Asia/Shanghai"
    assert (settings.campaign.starts, settings.campaign.ends) == (dt.date(this_year, 5, 1), dt.date(this_year, 12, 31))
    assert [standard.key for standard in settings.campaign.standards] == [
        "service", "efficiency", "innovation", "rules", "satisfaction",
    ]  # fmt: skip
    assert settings.campaign.standards[4].name_zh == "群众满意"
    assert settings.scoring.group_weights.industry == 0.5
    assert settings.database_url == "sqlite+aiosqlite:///shuangyou.db"
    assert settings.bot_token is None


def test_shipped_config_equals_the_built_in_defaults() -> None:
    """So that running without a config file behaves exactly like the shipped one."""
    assert load_settings(CONFIG) == Settings()


def test_shipped_config_holds_no_secrets() -> None:
    values = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    flat = repr(values).lower()
    assert "token" not in flat and "password" not in flat and "database_url" not in flat


def test_environment_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[scoring]\nmin_raters = 4\n[bot]\nadmins = [1]\n")
    monkeypatch.setenv("SHUANGYOU_SCORING__MIN_RATERS", "9")
    monkeypatch.setenv("SHUANGYOU_BOT__ADMINS", "[7, 8]")
    monkeypatch.setenv("BOT_TOKEN", "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ_abc")
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:secret@db.example/shuangyou")
    monkeypatch.setenv("TELEGRAM_BASE_URL", "http://127.0.0.1:8081/bot")

    settings = load_settings(path)

    assert settings.scoring.min_raters == 9
    assert settings.bot.admins == (7, 8)
    assert settings.bot_token is not None and settings.bot_token.get_secret_value().startswith("123456:")
    assert settings.database_url == "postgresql+asyncpg://bot:secret@db.example/shuangyou"
    assert settings.telegram_base_url == "http://127.0.0.1:8081/bot"
    assert "ABCDEFG" not in repr(settings)


def test_config_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[bot]\ndefault_language = "en"\n')
    monkeypatch.setenv("SHUANGYOU_CONFIG", str(path))

    assert load_settings().bot.default_language == "en"


def test_full_dates_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, '[campaign]\nstarts = "2027-05-01"\nends = 2027-12-31\n')

    settings = load_settings(path)

    assert (settings.campaign.starts, settings.campaign.ends) == (dt.date(2027, 5, 1), dt.date(2027, 12, 31))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[scoring]\nmin_ratrs = 3\n", "scoring.min_ratrs: unknown key"),
        ("[scorng]\nmin_raters = 3\n", "scorng: unknown key"),
        ("bot_token = 'x'\n", "bot_token: unknown key"),
        ('[scoring]\nmin_raters = "three"\n', "scoring.min_raters: Input should be a valid integer"),
        ("[scoring]\nmin_raters = 0\n", "scoring.min_raters: Input should be greater than or equal to 1"),
        ('[bot]\ntime_zone = "Mars/Olympus"\n', "bot.time_zone: an IANA time zone such as Asia/Shanghai"),
        ('[bot]\ndefault_language = "fr"\n', "bot.default_language: Input should be 'zh_CN' or 'en'"),
        (
            "[scoring.group_weights]\nindustry = 0.6\n",
            "scoring.group_weights: industry + internal + public must add up",
        ),
        (
            "[[campaign.standards]]\nkey='a'\nname_zh='甲'\nname_en='A'\nweight=0.5\n",
            "must add up to 1, they add up to 0.5",
        ),
        ('[campaign]\nstarts = "02-30"\n', "campaign.starts: a real day as MM-DD or YYYY-MM-DD"),
        ('[campaign]\nstarts = "12-01"\nends = "05-01"\n', "campaign: ends"),
        ('[working_hours]\nstarts = "18:00"\n', "working_hours: ends (17:30) must be after starts (18:00)"),
        ('[reminders]\ndigest_time = "25:00"\n', 'reminders.digest_time: a time of day as "HH:MM", not'),
        ("[reminders]\ndays_before = [0]\n", "reminders.days_before: working days between 1 and 60"),
        ("[bot\n", "not valid TOML"),
    ],
)
def test_bad_value_gives_one_line_naming_the_key(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in config_error(tmp_path, text)


def test_bad_environment_value_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUANGYOU_SCORING__PRIOR_WEIGHT", "heavy")

    message = config_error(tmp_path, "")

    assert message.startswith("environment: SHUANGYOU_SCORING__PRIOR_WEIGHT: Input should be a valid number")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("BOT_TOKEN", "not-a-token", "environment: BOT_TOKEN: the token from @BotFather"),
        ("DATABASE_URL", "mysql://x/y", "environment: DATABASE_URL: a URL starting with sqlite+aiosqlite://"),
    ],
)
def test_bad_deployment_variable_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)

    assert config_error(tmp_path, "").startswith(expected)


def test_missing_named_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such config file"):
        load_settings(tmp_path / "nope.toml")


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read the config file"):
        load_settings(tmp_path)  # a directory


def test_file_in_a_wrong_encoding_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes('[campaign]\nname = "双优"\n'.encode("gb18030"))

    with pytest.raises(ConfigError, match=r"config.toml: "):
        load_settings(path)


def test_missing_default_file_means_built_in_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    assert load_settings() == Settings()


@given(
    section=st.sampled_from(["bot", "campaign", "scoring", "reminders", "snapshots", "working_hours"]),
    key=st.sampled_from(["time_zone", "admins", "starts", "ends", "min_raters", "prior_weight", "digest_time",
                         "days_before", "top", "weekly_day", "group_weights", "standards", "name"]),
    value=st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.text(max_size=30), st.booleans(),
                    st.lists(st.integers(-5, 100), max_size=4)),
)  # fmt: skip
def test_any_single_value_either_loads_or_gives_a_config_error(section: str, key: str, value: object) -> None:
    try:
        values: dict[str, Any] = {section: {key: value}}
        Settings(**values)
    except ValidationError as error:
        line = describe_error(error, Path("config.toml"))
        assert "\n" not in line and line.startswith("config.toml: ")


def test_cli_with_bad_config_prints_one_line_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "[scoring]\nmin_raters = -1\n")

    result = call_cli(monkeypatch, capsys, "--config", str(path), "migrate", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"config error: {path}: scoring.min_raters: Input should be greater than or equal to 1 (got -1)"
    ]


def test_times_of_day_are_read_as_people_write_them(tmp_path: Path) -> None:
    path = write(tmp_path, '[reminders]\ndigest_time = "9:05"\n[snapshots]\nweekly_time = 08:15:00\n')

    settings = load_settings(path)

    assert settings.reminders.digest_time == dt.time(9, 5)
    assert settings.snapshots.weekly_time == dt.time(8, 15)


def test_reason_tags_have_a_text_per_language_and_the_old_form_still_loads(tmp_path: Path) -> None:
    """[[reviews.bad_reason_tags]] gives each reason a key and its texts; a config of earlier releases (one text
    per reason, both languages in it) loads: the old defaults as today's tags, another text as itself."""
    path = tmp_path / "config.toml"
    path.write_text('[reviews]\nbad_reason_tags = ["办事拖延 Slow", "排队太久"]\n', encoding="utf-8")
    old = load_settings(path).reviews

    path.write_text(
        '[[reviews.bad_reason_tags]]\nkey = "queue"\nname_zh = "排队太久"\nname_en = "Long queue"\n', encoding="utf-8"
    )
    new = load_settings(path).reviews

    assert [(tag.key, tag.name("zh_CN"), tag.name("en")) for tag in old.bad_reason_tags] == [
        ("slow", "办事拖延", "Slow"),
        ("tag2", "排队太久", "排队太久"),
    ]
    assert new.tag("queue") is not None and new.tag("queue").name("en") == "Long queue"  # type: ignore[union-attr]
    path.write_text(
        '[[reviews.bad_reason_tags]]\nkey = "a"\nname_zh = "甲"\nname_en = "A"\n'
        '[[reviews.bad_reason_tags]]\nkey = "a"\nname_zh = "乙"\nname_en = "B"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="distinct keys"):
        load_settings(path)
