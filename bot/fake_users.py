"""Users and chats on the in-process Bot API: they send text, commands and button presses through the real
Application, and read what the bot sent them. The tests and the terminal console are built on this.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from telegram import Update

from bot.context import BotApplication
from bot.fake_api import FakeBotApi, FakeChat, StoredMessage


class NoSuchButton(LookupError):
    """No message in the chat has a button with that label."""


@dataclass
class Sent:
    """What the bot did in answer to one action."""

    messages: list[StoredMessage] = field(default_factory=list)
    edited: list[StoredMessage] = field(default_factory=list)
    answer: str | None = None  # the callback answer (toast/alert), for button presses

    @property
    def texts(self) -> list[str]:
        return [message.text for message in self.messages]


class FakeTelegram:
    """The world around the bot: makes users and groups, and delivers their updates."""

    def __init__(self, application: BotApplication, api: FakeBotApi) -> None:
        self.application = application
        self.api = api
        self._user_ids = itertools.count(10_001)
        self._group_ids = itertools.count(-1_001)

    def private_user(
        self,
        first_name: str = "Alice",
        *,
        last_name: str | None = None,
        language: str | None = "en",
        user_id: int | None = None,
        username: str | None = None,
    ) -> FakeUser:
        user: dict[str, Any] = {
            "id": user_id or next(self._user_ids),
            "is_bot": False,
            "first_name": first_name,
        }
        for key, value in (("last_name", last_name), ("language_code", language), ("username", username)):
            if value is not None:
                user[key] = value
        self.api.ensure_user(user)
        return FakeUser(self, user)

    def group(self, title: str = "Campaign group", *, chat_id: int | None = None) -> FakeGroup:
        chat = self.api.ensure_group(chat_id or next(self._group_ids), title)
        return FakeGroup(self, chat.id)

    async def deliver(self, update: dict[str, Any]) -> None:
        update = {"update_id": self.api.next_update_id(), **update}
        await self.application.process_update(Update.de_json(update, self.application.bot))

    def next_query_id(self) -> str:
        """Unique across every FakeTelegram on this API, as Telegram's are (a restarted bot meets new ones)."""
        return f"q{self.api.next_update_id()}"


class FakeGroup:
    def __init__(self, world: FakeTelegram, chat_id: int) -> None:
        self.world = world
        self.id = chat_id

    @property
    def chat(self) -> FakeChat:
        return self.world.api.chats[self.id]

    def add(self, *users: FakeUser, status: str = "member") -> None:
        for user in users:
            self.chat.members[user.id] = status

    def bot_messages(self) -> list[StoredMessage]:
        return [message for message in self.chat.messages.values() if message.from_bot]

    def last_text(self) -> str:
        messages = self.bot_messages()
        return messages[-1].text if messages else ""


class FakeUser:
    """A Telegram user; `chat=None` means their private chat with the bot."""

    def __init__(self, world: FakeTelegram, user: dict[str, Any]) -> None:
        self.world = world
        self.user = user

    @property
    def id(self) -> int:
        return int(self.user["id"])

    @property
    def name(self) -> str:
        return str(self.user["first_name"])

    def _chat_id(self, chat: FakeGroup | None) -> int:
        return chat.id if chat is not None else self.id

    def _chat(self, chat: FakeGroup | None) -> FakeChat:
        return self.world.api.chats[self._chat_id(chat)]

    async def send(self, text: str, *, chat: FakeGroup | None = None) -> Sent:
        """Types `text` (a command if it starts with /) and returns what the bot sent in answer."""
        api, chat_id = self.world.api, self._chat_id(chat)
        message = api.record_user_message(chat_id, self.user, text, **_command_entities(text))
        return await self._deliver({"message": api.message_dict(message)}, chat_id)

    async def edit_last(self, text: str, *, chat: FakeGroup | None = None) -> Sent:
        """Edits the user's own newest message in the chat to `text`: Telegram sends it again as `edited_message`."""
        api, chat_id = self.world.api, self._chat_id(chat)
        message = [m for m in self._chat(chat).messages.values() if m.from_user.get("id") == self.id][-1]
        message.text = message.html = text
        message.extra = {**message.extra, "entities": []} | _command_entities(text)
        data = api.message_dict(message) | {"edit_date": int(time.time())}
        return await self._deliver({"edited_message": data}, chat_id)

    async def send_update(self, kind: str, payload: dict[str, Any], *, chat: FakeGroup | None = None) -> Sent:
        """A message of another kind (sticker, photo, new_chat_members, ...) in the chat."""
        api, chat_id = self.world.api, self._chat_id(chat)
        message = api.record_user_message(chat_id, self.user, "", **payload)
        data = api.message_dict(message)
        data.pop("text", None)
        return await self._deliver({kind: data}, chat_id)

    async def press(self, label: str, *, chat: FakeGroup | None = None, message_id: int | None = None) -> Sent:
        """Presses the button labelled `label` on the newest bot message that has one."""
        message, data = self.find_button(label, chat=chat, message_id=message_id)
        return await self.press_data(data, message=message)

    async def press_data(self, data: str, *, message: StoredMessage) -> Sent:
        """Sends a callback query with any data at all, as a modified client could."""
        api = self.world.api
        query_id = self.world.next_query_id()
        query = {
            "id": query_id,
            "from": self.user,
            "message": api.message_dict(message),
            "chat_instance": str(message.chat_id),
            "data": data,
        }
        sent = await self._deliver({"callback_query": query}, message.chat_id)
        answer = api.callback_answers.get(query_id)
        sent.answer = None if answer is None else answer.get("text", "")
        return sent

    def find_button(
        self, label: str, *, chat: FakeGroup | None = None, message_id: int | None = None
    ) -> tuple[StoredMessage, str]:
        messages = [m for m in self._chat(chat).messages.values() if m.from_bot and m.reply_markup]
        if message_id is not None:
            messages = [m for m in messages if m.message_id == message_id]
        for message in reversed(messages):
            for row in message.button_rows():
                for button in row:
                    if button["text"] == label and "callback_data" in button:
                        return message, str(button["callback_data"])
        raise NoSuchButton(f"no button {label!r} in {self._chat_id(chat)}; buttons: {self.buttons(chat=chat)}")

    async def _deliver(self, update: dict[str, Any], chat_id: int) -> Sent:
        events: list[tuple[str, StoredMessage]] = []
        with self.world.api.listening(lambda event, message: events.append((event, message))):
            await self.world.deliver(update)
        return Sent(
            messages=[m for event, m in events if event == "sent" and m.chat_id == chat_id],
            edited=[m for event, m in events if event == "edited" and m.chat_id == chat_id],
        )

    # --- reading ------------------------------------------------------------------------------------------------

    def bot_messages(self, *, chat: FakeGroup | None = None) -> list[StoredMessage]:
        return [message for message in self._chat(chat).messages.values() if message.from_bot]

    def last_message(self, *, chat: FakeGroup | None = None) -> StoredMessage:
        messages = self.bot_messages(chat=chat)
        if not messages:
            raise AssertionError(f"the bot has sent nothing to {self.name}")
        return messages[-1]

    def last_text(self, *, chat: FakeGroup | None = None) -> str:
        return self.last_message(chat=chat).text

    def buttons(self, *, chat: FakeGroup | None = None) -> list[list[str]]:
        """The button labels of the newest bot message that has buttons."""
        for message in reversed(self.bot_messages(chat=chat)):
            if message.reply_markup:
                return message.button_labels()
        return []


def _command_entities(text: str) -> dict[str, Any]:
    """The entity Telegram marks a command with, when `text` starts with one."""
    if not text.startswith("/"):
        return {}
    length = len(text.split(maxsplit=1)[0]) if text.strip() else 1
    return {"entities": [{"type": "bot_command", "offset": 0, "length": _utf16_length(text[:length])}]}


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
