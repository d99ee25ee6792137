"""Real `python -m bot run` processes on the Bot API served over HTTP: they answer, survive kill -9 and carry on."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

from bot.fake_api import FakeBotApi
from bot.http_api import HttpBotApi

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:AAEabcdefghijklmnopqrstuvwxyz012345678"
ANN_ID = 4242
ANN: dict[str, Any] = {"id": ANN_ID, "is_bot": False, "first_name": "Ann", "language_code": "en"}


async def start_bot(server: HttpBotApi, workdir: Path) -> asyncio.subprocess.Process:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SHUANGYOU_")}
    environment.update(
        BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=server.base_url,
        TELEGRAM_BASE_FILE_URL=server.base_url.replace("/bot", "/file/bot"),
        DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'shuangyou.db'}",
        PYTHONPATH=str(ROOT),
    )
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=workdir, env=environment,
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
