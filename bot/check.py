"""`python -m bot check`: what an operator wants to know before (or while) running the bot, one line each.

The config has been read by then (a bad one stops earlier with its own line). Checked here: the database (reachable,
its schema), the token (Telegram's getMe), the chart font, the working-day calendar of the campaign's years, and the
score tallies against a recomputation from the raw ratings. Nothing is changed, except the tallies with --repair.
The exit status is 1 when something is wrong (a warning alone leaves it 0).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot
from telegram.error import InvalidToken, TelegramError

from bot.chart import find_cjk_font
from bot.config import Settings
from bot.workdays import missing_schedule
from storage import integrity, scoring
from storage.migrate import current_revision, head_revision
from storage.session import Database

TELEGRAM_BASE_URL = "https://api.telegram.org/bot"


@dataclass(frozen=True)
class Finding:
    subject: str
    ok: bool
    detail: str
    warning: bool = False  # works, but the operator should act (the exit status stays 0)

    def line(self) -> str:
        label = "PROBLEM" if not self.ok else "WARNING" if self.warning else "ok"
        return f"{label:>7}  {self.subject}: {self.detail}"


async def run_checks(settings: Settings, *, repair: bool = False) -> list[Finding]:
    findings = [Finding("config", True, f"campaign {settings.campaign.starts} to {settings.campaign.ends}")]
    findings += await check_database(settings, repair=repair)
    findings.append(await check_token(settings))
    findings.append(check_font(settings))
    findings.append(check_calendar(settings))
    return findings


async def check_database(settings: Settings, *, repair: bool) -> list[Finding]:
    where = make_url(settings.database_url).render_as_string(hide_password=True)
    db = Database(settings.database_url)
    try:
        revision, head = await current_revision(db.engine), head_revision()
        if revision != head:
            newer = revision is not None and revision > head
            advice = "it was upgraded by a newer version of the bot" if newer else "run `python -m bot migrate`"
            detail = f"{where} is at schema {revision or 'none'}, this version needs {head}: {advice}"
            return [Finding("database", False, detail)]
        async with db.transaction() as session:
            damage = await integrity.check_integrity(session=session)
        if damage:
            return [damaged(where, damage)]
        findings = [Finding("database", True, f"{where}, schema {revision}, its pages sound")]
        async with db.transaction() as session:
            problems = await scoring.check_tallies(session=session)
            if problems and repair:
                await scoring.rebuild_tallies(session=session)
        findings.append(tally_finding(problems, repaired=repair))
        return findings
    except (SQLAlchemyError, OSError) as error:
        if integrity.is_damage(error):  # so damaged that SQLite could not even read what was asked
            return [damaged(where, [str(getattr(error, "orig", error))])]
        reason = str(error).splitlines()[0] if str(error) else ""
        return [Finding("database", False, f"cannot use {where}: {error.__class__.__name__}: {reason}")]
    finally:
        await db.close()


def damaged(where: str, damage: list[str]) -> Finding:
    return Finding(
        "database", False, f"{where} is damaged: {'; '.join(damage)}. Stop the bot and restore the last backup"
    )


def tally_finding(problems: list[str], *, repaired: bool) -> Finding:
    if not problems:
        return Finding("score tallies", True, "they match a recomputation from the ratings and reviews")
    shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
    if repaired:
        return Finding("score tallies", True, f"{len(problems)} differences repaired ({shown})")
    return Finding("score tallies", False, f"{len(problems)} differences ({shown}); `check --repair` rebuilds them")


async def check_token(settings: Settings) -> Finding:
    """getMe with the token; the token itself never appears in what is printed."""
    if settings.bot_token is None:
        return Finding("token", True, "BOT_TOKEN is not set: `python -m bot run` starts the terminal console")
    token = settings.bot_token.get_secret_value()
    try:
        async with Bot(token, base_url=settings.telegram_base_url or TELEGRAM_BASE_URL) as bot:
            return Finding("token", True, f"Telegram knows it as @{bot.username}")
    except InvalidToken:
        return Finding("token", False, "Telegram refused BOT_TOKEN; check it with @BotFather (/mybots → API Token)")
    except TelegramError as error:
        return Finding("token", False, f"Telegram could not be asked: {str(error).replace(token, '<BOT_TOKEN>')}")


def check_font(settings: Settings) -> Finding:
    font = find_cjk_font(settings.snapshots.font_file)
    if font is None:
        return Finding(
            "chart font",
            False,
            "no font with Chinese glyphs: snapshots are posted as a table alone (bash scripts/install-cjk-font)",
        )
    return Finding("chart font", True, str(font))


def check_calendar(settings: Settings) -> Finding:
    campaign = settings.campaign
    warning = missing_schedule(settings.calendar.work_calendar(), campaign.starts, campaign.ends)
    if warning is not None:
        return Finding("calendar", True, warning, warning=True)
    years = sorted({campaign.starts.year, campaign.ends.year})
    return Finding("calendar", True, f"{settings.calendar.country} working days of {', '.join(map(str, years))} known")
