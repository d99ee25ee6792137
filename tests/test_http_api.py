"""Real `python -m bot run` processes on the Bot API served over HTTP: they answer, survive kill -9 and carry on."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sqlite3
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from bot.fake_api import FakeBotApi
from bot.http_api import HttpBotApi
from storage import members, sections, tasks
from storage.migrate import upgrade_database
from storage.models import MemberStatus, Role, SectionKind
from storage.session import Database

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:AAEabcdefghijklmnopqrstuvwxyz012345678"
HEAD_IDS = 900_000
THOUSAND = 1000
LEASE_SECONDS = 10
ANN_ID = 4242
ANN: dict[str, Any] = {"id": ANN_ID, "is_bot": False, "first_name": "Ann", "language_code": "en"}


async def start_bot(
    server: HttpBotApi,
    workdir: Path,
    extra: dict[str, str] | None = None,
    *,
    database_url: str | None = None,
    options: tuple[str, ...] = (),
) -> asyncio.subprocess.Process:
    """`python -m bot run` in `workdir` (its config.toml, else the defaults) on `server`, by default on the SQLite
    database there."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SHUANGYOU_")}
    environment["SHUANGYOU_WEB__PORT"] = "0"  # the web pages on a free port (options may name one)
    environment.update(extra or {})
    environment.update(
        BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=server.base_url,
        TELEGRAM_BASE_FILE_URL=server.base_url.replace("/bot", "/file/bot"),
        DATABASE_URL=database_url or f"sqlite+aiosqlite:///{workdir / 'shuangyou.db'}",
        PYTHONPATH=str(ROOT),
    )
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", *options, cwd=workdir, env=environment,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def say(api: FakeBotApi, text: str) -> None:
    message = api.record_user_message(
        ANN["id"], ANN, text, entities=[{"type": "bot_command", "offset": 0, "length": len(text)}]
    )
    api.push_update({"message": api.message_dict(message)})


async def answers(api: FakeBotApi, count: int) -> list[str]:
    """Waits (up to a minute) until the bot has written `count` messages to Ann."""
    for _ in range(600):
        texts = [m.text for m in api.chats[ANN_ID].messages.values() if m.from_bot]
        if len(texts) >= count:
            return texts
        await asyncio.sleep(0.1)
    raise AssertionError(f"the bot wrote {texts!r}, not {count} messages")


async def test_a_bot_process_answers_over_http_and_survives_kill_9(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    api = FakeBotApi(flood_limits=True)
    api.ensure_user(ANN)
    async with HttpBotApi(api) as server:
        first = await start_bot(server, tmp_path)
        try:
            await say(api, "/help")
            assert (await answers(api, 1))[0].startswith("What you can do here")
        finally:
            first.send_signal(signal.SIGKILL)
            await first.wait()

        second = await start_bot(server, tmp_path)
        try:
            await say(api, "/start")
            texts = await answers(api, 2)
            assert "Welcome to Shuangyou" in texts[1]
            assert len(texts) == 2  # the /help answered before the kill is not answered again
        finally:
            second.terminate()
            _, errors = await second.communicate()
    assert b"Traceback" not in errors and TOKEN.encode() not in errors
    assert [call.method for call in api.calls].count("getMe") >= 2
    assert api.flood is not None and api.flood.refused == 0


def working_morning() -> tuple[str, dt.date]:
    """A time zone where it is now about ten in the morning, and that local day: real processes use the real clock,
    and reminders go out in working hours only."""
    now = dt.datetime.now(dt.UTC)
    offset = 10 - now.hour
    if offset < -12:
        offset += 24
    zone = "Etc/GMT" + (f"-{offset}" if offset > 0 else f"+{-offset}" if offset < 0 else "")
    return zone, (now + dt.timedelta(hours=offset)).date()


async def prepare_heads(url: str, heads: int, day: dt.date) -> None:
    """One section with `heads` heads and a task due `day`: a reminder to each head that morning."""
    db = Database(url)
    try:
        await upgrade_database(db.engine)
        async with db.transaction() as session:
            section = await sections.create_section(session=session, name="行政审批科", kind=SectionKind.OFFICE)
            for number in range(heads):
                await members.create_member(
                    session=session,
                    telegram_id=HEAD_IDS + number,
                    display_name=f"Head {number}",
                    role=Role.HEAD,
                    status=MemberStatus.ACTIVE,
                    section_id=section.id,
                    language="en",
                )
            await tasks.create_task(
                session=session, section_id=section.id or 0, title="回复企业投诉", due_on=day, responsible_id=None,
                created_by_id=None,
            )  # fmt: skip
    finally:
        await db.close()


def reminder_states(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as connection:
        return dict(connection.execute("SELECT status, count(*) FROM reminder GROUP BY status").fetchall())


async def test_kill_9_in_the_middle_of_a_fan_out_to_a_thousand_heads(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    zone, day = working_morning()
    database = tmp_path / "shuangyou.db"
    await prepare_heads(f"sqlite+aiosqlite:///{database}", THOUSAND, day)
    api = FakeBotApi(flood_limits=True)
    for number in range(THOUSAND):
        api.ensure_user({"id": HEAD_IDS + number, "is_bot": False, "first_name": f"Head {number}"})
    extra = {
        "SHUANGYOU_BOT__TIME_ZONE": zone,
        "SHUANGYOU_CALENDAR__EXTRA_WORKDAYS": f'["{day.isoformat()}"]',
        "SHUANGYOU_OUTBOX__LEASE_SECONDS": str(LEASE_SECONDS),  # the killed process's claims lapse soon
    }

    def sent_to_heads() -> list[int]:
        return [int(call.params["chat_id"]) for call in api.calls_to("sendMessage") if call.ok]

    async with HttpBotApi(api) as server:
        first = await start_bot(server, tmp_path, extra)
        try:
            for _ in range(1200):
                if len(sent_to_heads()) >= 300:
                    break
                await asyncio.sleep(0.1)
        finally:
            first.send_signal(signal.SIGKILL)  # in the middle of the fan-out
            await first.wait()
        killed_at = len(sent_to_heads())
        second = await start_bot(server, tmp_path, extra)
        try:
            for _ in range(3000):  # the claims of the killed process lapse after LEASE_SECONDS
                states = await asyncio.to_thread(reminder_states, database)
                if states.get("sent", 0) == THOUSAND:
                    break
                await asyncio.sleep(0.1)
        finally:
            second.terminate()
            _, errors = await second.communicate()

    received = Counter(sent_to_heads())
    assert 300 <= killed_at < THOUSAND
    assert states == {"sent": THOUSAND}
    assert set(received) == {HEAD_IDS + number for number in range(THOUSAND)}  # every head reminded
    assert sum(received.values()) - THOUSAND <= 1  # none twice, but for the one in flight at the kill
    assert b"Traceback" not in errors
