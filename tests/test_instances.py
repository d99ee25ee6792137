"""Several instances on one PostgreSQL: two real `python -m bot run --webhook` processes behind one address (the
test is the load balancer), both sweeping. Every scheduled reminder and snapshot goes out exactly once, and an update
that reaches both instances is acted on once."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.fake_api import FakeBotApi
from bot.http_api import HttpBotApi
from storage import campaigns, groups
from storage.migrate import upgrade_database
from storage.models import PeriodKind
from storage.session import Database, wait_for_start_up_turn
from tests.pg_server import PostgresServer, free_port
from tests.test_http_api import ANN, ANN_ID, HEAD_IDS, ROOT, TOKEN, prepare_heads, start_bot, working_morning
from web.telegram import webhook_secret

HEADS = 200
GROUP_ID = -100_777
WEBHOOK = "https://bot.example.org/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def campaign_environment(day: dt.date) -> dict[str, str]:
    """Real processes use the real clock: a time zone where it is mid-morning, a campaign around that day, a working
    day, and a snapshot due now (the weekly one, or the month-end one when that day is the month's last working
    day, which replaces it)."""
    zone, _ = working_morning()
    return {
        "SHUANGYOU_BOT__TIME_ZONE": zone,
        "SHUANGYOU_CALENDAR__EXTRA_WORKDAYS": f'["{day.isoformat()}"]',
        "SHUANGYOU_CAMPAIGN__STARTS": (day - dt.timedelta(days=40)).isoformat(),
        "SHUANGYOU_CAMPAIGN__ENDS": (day + dt.timedelta(days=40)).isoformat(),
        "SHUANGYOU_SNAPSHOTS__WEEKLY_DAY": day.strftime("%a").lower(),
        "SHUANGYOU_SNAPSHOTS__WEEKLY_TIME": "00:00",
        "SHUANGYOU_SNAPSHOTS__MONTH_END_TIME": "00:00",
    }


async def bind_group(url: str) -> None:
    db = Database(url)
    try:
        async with db.transaction() as session:
            await groups.bind_campaign_group(session=session, chat_id=GROUP_ID, title="双优群", bound_by_id=None)
    finally:
        await db.close()


async def wait_for(condition: Any, seconds: float, what: str) -> None:
    for _ in range(int(seconds * 10)):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"waited {seconds} s for {what}")


def command_update(api: FakeBotApi, text: str) -> dict[str, Any]:
    message = api.record_user_message(
        ANN_ID, ANN, text, entities=[{"type": "bot_command", "offset": 0, "length": len(text)}]
    )
    return {"update_id": api.next_update_id(), "message": api.message_dict(message)}


async def post_update(client: httpx.AsyncClient, port: int, update: dict[str, Any]) -> None:
    response = await client.post(
        f"http://127.0.0.1:{port}/telegram", json=update, headers={SECRET_HEADER: webhook_secret(TOKEN)}
    )
    assert response.status_code == 200


async def test_two_webhook_instances_on_one_postgresql(tmp_path: Path, postgres_server: PostgresServer) -> None:
    (tmp_path / "config.toml").write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    _, day = working_morning()
    url = await postgres_server.create_database()
    await prepare_heads(url, HEADS, day)
    await bind_group(url)
    api = FakeBotApi(flood_limits=True)
    api.ensure_user(ANN)
    api.ensure_group(GROUP_ID, "双优群", supergroup=True)
    for number in range(HEADS):
        api.ensure_user({"id": HEAD_IDS + number, "is_bot": False, "first_name": f"Head {number}"})
    ports = (free_port(), free_port())

    def sent(chat_filter: Any) -> list[Any]:
        return [call for call in api.calls_to("sendMessage") if call.ok and chat_filter(int(call.params["chat_id"]))]

    def boards() -> list[Any]:
        return [call for call in sent(lambda chat: chat == GROUP_ID) if call.params["text"].startswith("📊")]

    async with HttpBotApi(api) as server:
        environment = campaign_environment(day)
        instances = [await start_webhook_instance(server, tmp_path, environment, url, port) for port in ports]
        try:
            await wait_for(lambda: len([c for c in api.calls_to("setWebhook") if c.ok]) == 2, 120, "both webhooks")
            async with httpx.AsyncClient(timeout=30) as client:
                await wait_for_ports(client, ports)
                for number in range(10):  # the load balancer takes turns
                    await post_update(client, ports[number % 2], command_update(api, "/help"))
                twice = command_update(api, "/whoami")
                await asyncio.gather(*(post_update(client, port, twice) for port in ports))
            await wait_for(lambda: len(sent(lambda chat: chat >= HEAD_IDS)) >= HEADS and boards(), 120, "the sweeps")
            await asyncio.sleep(5)  # time for a second copy to show, if one were coming
        finally:
            errors = await stop_all(instances)

    reminders = Counter(int(call.params["chat_id"]) for call in sent(lambda chat: chat >= HEAD_IDS))
    assert set(reminders) == {HEAD_IDS + number for number in range(HEADS)} and set(reminders.values()) == {1}
    assert len(boards()) == 1
    answers = [call.params["text"] for call in sent(lambda chat: chat == ANN_ID)]
    # The /whoami given to both instances changes nothing, so neither claims it: each answers (a change is claimed
    # and made once: tests/test_faults.py).
    assert len(answers) == 12 and sum("What you can do here" in text for text in answers) == 10
    assert b"Traceback" not in errors and b"ERROR" not in errors


async def test_instances_starting_together_take_turns(postgres_server: PostgresServer) -> None:
    """Migrations and the campaign's rows from four instances at once on an empty database: no unique violation."""
    url = await postgres_server.create_database()
    databases = [Database(url) for _ in range(4)]

    async def start_up(db: Database) -> None:
        await upgrade_database(db.engine)
        async with db.transaction() as session:
            await wait_for_start_up_turn(session)
            await campaigns.sync_campaign(
                session=session, name="双优", starts=dt.date(2026, 5, 1), ends=dt.date(2026, 12, 31)
            )

    try:
        await asyncio.gather(*(start_up(db) for db in databases))
        async with databases[0].transaction() as session:
            periods = await campaigns.list_periods(session=session, campaign_id=1, kind=PeriodKind.MONTH)
    finally:
        await asyncio.gather(*(db.close() for db in databases))
    assert [period.starts_on.month for period in periods] == list(range(5, 13))


async def start_webhook_instance(
    server: HttpBotApi, workdir: Path, environment: dict[str, str], url: str, port: int
) -> asyncio.subprocess.Process:
    options = ("--webhook", WEBHOOK, "--port", str(port))
    return await start_bot(server, workdir, environment, database_url=url, options=options)


async def wait_for_ports(client: httpx.AsyncClient, ports: tuple[int, ...]) -> None:
    """The webhook servers answer (a GET on the hook is refused with 405 once the server is up)."""
    for port in ports:
        for _ in range(300):
            try:
                await client.get(f"http://127.0.0.1:{port}/telegram")
                break
            except httpx.TransportError:
                await asyncio.sleep(0.1)


async def stop_all(instances: list[asyncio.subprocess.Process]) -> bytes:
    for instance in instances:
        if instance.returncode is None:
            instance.terminate()
    outputs = await asyncio.gather(*(instance.communicate() for instance in instances))
    return b"".join(stderr or b"" for _, stderr in outputs)


pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
