"""An in-process Telegram Bot API: the transport under the tests and the terminal console.

`FakeBotApi` is a python-telegram-bot `BaseRequest`, so the real bot code runs on it unchanged. It answers the
methods the bot uses the way Telegram does, including Telegram's refusals (bad HTML, overlong text or callback
data, "message is not modified", unknown chats), keeps every chat's messages so that edits apply, records every
call, and injects faults on demand: 429 with retry_after, timeouts, 403 "bot was blocked", 5xx, and the migration
of a group to a supergroup.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

logger = logging.getLogger(__name__)

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
CALLBACK_ANSWER_LIMIT = 200
ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-spoiler",
    }
)
ALLOWED_TAGS_WITH_SPAN = ALLOWED_TAGS | {"span", "tg-emoji"}


class ApiError(Exception):
    """A refusal the way Telegram words it; becomes an HTTP error response."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass
class Fault:
    """One injected failure, consumed by the next matching call after `after` matching calls went through. The
    method ANY_CALL matches every call the bot makes but getUpdates."""

    method: str
    chat_id: int | None
    error: ApiError | None = None
    timeout: bool = False
    migrate_to: int | None = None
    after: int = 0

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        if self.method not in (method, ANY_CALL) or method == "getUpdates":
            return False
        return self.chat_id is None or _chat_id_of(params) == self.chat_id


@dataclass(frozen=True)
class UploadedFile:
    name: str
    content: bytes


@dataclass
class Call:
    """One request the bot made, and how it ended."""

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class StoredMessage:
    """A message as a chat holds it: sent by the bot or by a user."""

    message_id: int
    chat_id: int
    from_user: dict[str, Any]
    date: int
    text: str = ""
    html: str = ""
    reply_markup: dict[str, Any] | None = None
    photo: bytes | None = None
    document: bytes | None = None
    document_name: str | None = None
    edited: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def from_bot(self) -> bool:
        return bool(self.from_user.get("is_bot"))

    def button_rows(self) -> list[list[dict[str, Any]]]:
        if not self.reply_markup:
            return []
        return list(self.reply_markup.get("inline_keyboard", []))

    def button_labels(self) -> list[list[str]]:
        return [[button["text"] for button in row] for row in self.button_rows()]


@dataclass
class FakeChat:
    id: int
    type: str
    title: str | None = None
    first_name: str | None = None
    username: str | None = None
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    members: dict[int, str] = field(default_factory=dict)
    next_message_id: int = 1

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        for key in ("title", "first_name", "username"):
            if (value := getattr(self, key)) is not None:
                data[key] = value
        return data

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


Listener = Callable[[str, StoredMessage], None]


SENDING_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
ANY_CALL = "*"


class FloodLimits:
    """About 30 messages a second overall, 1 a second to one chat, 20 a minute to one group (Telegram's FAQ)."""

    OVERALL = (30, 1.0)
    PER_CHAT = (3, 3.0)  # about 1 a second, with the short bursts Telegram lets through
    PER_GROUP = (20, 60.0)

    def __init__(self) -> None:
        self.sent: list[float] = []
        self.by_chat: dict[int, list[float]] = {}
        self.refused = 0

    def check(self, chat_id: int, now: float) -> None:
        chat = self.by_chat.setdefault(chat_id, [])
        limits = [(self.sent, *self.OVERALL), (chat, *(self.PER_GROUP if chat_id < 0 else self.PER_CHAT))]
        for moments, count, period in limits:
            recent = [moment for moment in moments if moment > now - period]
            moments[:] = recent
            if len(recent) >= count:
                self.refused += 1
                wait = max(1, math.ceil(recent[0] + period - now))
                error = ApiError(429, f"Too Many Requests: retry after {wait}")
                error.parameters = {"retry_after": wait}
                raise error
        self.sent.append(now)
        chat.append(now)


class FakeBotApi(BaseRequest):
    """Answers Bot API requests in process; see the module docstring."""

    def __init__(
        self,
        *,
        bot_id: int = 5_000_000_001,
        username: str = "ShuangyouBot",
        name: str = "Shuangyou",
        flood_limits: bool = False,
    ) -> None:
        self.bot_id = bot_id
        # Telegram's limits on what a bot sends, enforced when asked (the HTTP tests): beyond them, 429 retry_after.
        self.flood = FloodLimits() if flood_limits else None
        self.bot_user: dict[str, Any] = {"id": bot_id, "is_bot": True, "first_name": name, "username": username}
        self.chats: dict[int, FakeChat] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.calls: list[Call] = []
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self._faults: list[Fault] = []
        self._listeners: list[Listener] = []
        self._updates: list[dict[str, Any]] = []
        # Update ids go on from run to run, as Telegram's do: a database remembers the updates it acted on.
        self._update_ids = itertools.count(int(time.time() * 1000) % 2_000_000_000_000)
        self._new_update = asyncio.Event()
        self._closed = False

    # --- BaseRequest -------------------------------------------------------------------------------------------

    async def initialize(self) -> None:
        self._closed = False

    async def shutdown(self) -> None:
        self._closed = True
        self._new_update.set()

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        files = {name: _content(part) for name, part in request_data.multipart_data.items()} if request_data else {}
        return await self.handle(endpoint, params, files)

    async def handle(self, endpoint: str, params: dict[str, Any], files: dict[str, UploadedFile]) -> tuple[int, bytes]:
        """One Bot API call, however it arrived (in process, or over HTTP: bot/http_api.py)."""
        call = Call(endpoint, params, files)
        self.calls.append(call)
        try:
            self._inject_fault(endpoint, params)
            if self.flood is not None and endpoint in SENDING_METHODS:
                self.flood.check(_chat_id_of(params), time.monotonic())
            result = await self._dispatch(endpoint, params, files)
        except ApiError as error:
            call.error = error.description
            return error.status, json.dumps(error.body()).encode()
        except TimedOut:
            call.error = "timed out"
            raise
        return 200, json.dumps({"ok": True, "result": result}).encode()

    # --- faults ------------------------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        retry_after: int | None = None,
        status: int | None = None,
        timeout: bool = False,
        blocked: bool = False,
        migrate_to: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Makes the next `times` calls of `method` (optionally to one chat; ANY_CALL for any method) fail the
        chosen way, once `after` such calls went through."""
        for _ in range(times):
            fault = self._fault(method, retry_after, status, timeout, blocked, migrate_to, chat_id)
            fault.after = after
            self._faults.append(fault)

    @staticmethod
    def _fault(
        method: str,
        retry_after: int | None,
        status: int | None,
        timeout: bool,
        blocked: bool,
        migrate_to: int | None,
        chat_id: int | None,
    ) -> Fault:
        if retry_after is not None:
            if retry_after < 1:
                raise ValueError("Telegram's retry_after is at least 1 second")
            error = ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
            return Fault(method, chat_id, error=error)
        if blocked:
            return Fault(method, chat_id, error=ApiError(403, "Forbidden: bot was blocked by the user"))
        if migrate_to is not None:
            error = bad_request("group chat was upgraded to a supergroup chat")
            error.parameters = {"migrate_to_chat_id": migrate_to}
            return Fault(method, chat_id, error=error, migrate_to=migrate_to)
        if timeout:
            return Fault(method, chat_id, timeout=True)
        if status is not None:
            return Fault(method, chat_id, error=ApiError(status, _status_text(status)))
        raise ValueError("say how the call should fail")

    def _inject_fault(self, method: str, params: dict[str, Any]) -> None:
        for index, fault in enumerate(self._faults):
            if fault.matches(method, params) and fault.after > 0:
                fault.after -= 1
            elif fault.matches(method, params):
                del self._faults[index]
                if fault.migrate_to is not None:
                    self.migrate_chat(_chat_id_of(params), fault.migrate_to)
                if fault.timeout:
                    raise TimedOut("Timed out (injected)")
                assert fault.error is not None
                raise fault.error

    @property
    def pending_faults(self) -> int:
        return len(self._faults)

    # --- chats, users and updates ---------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """`listener(event, message)` is told of every message the bot sends, edits or deletes."""
        self._listeners.append(listener)

    @contextlib.contextmanager
    def listening(self, listener: Listener) -> Iterator[None]:
        self._listeners.append(listener)
        try:
            yield
        finally:
            self._listeners.remove(listener)

    def _notify(self, event: str, message: StoredMessage) -> None:
        for listener in self._listeners:
            listener(event, message)

    def ensure_user(self, user: dict[str, Any]) -> None:
        self.users[user["id"]] = user
        if user["id"] not in self.chats:
            self.chats[user["id"]] = FakeChat(
                id=user["id"],
                type="private",
                first_name=user.get("first_name"),
                username=user.get("username"),
            )
        self.chats[user["id"]].members[user["id"]] = "member"

    def ensure_group(self, chat_id: int, title: str, *, supergroup: bool = False) -> FakeChat:
        if chat_id not in self.chats:
            self.chats[chat_id] = FakeChat(id=chat_id, type="supergroup" if supergroup else "group", title=title)
            self.chats[chat_id].members[self.bot_id] = "member"
        return self.chats[chat_id]

    def migrate_chat(self, old_id: int, new_id: int) -> None:
        """The group becomes a supergroup with a new id, as Telegram does; its history moves along."""
        chat = self.chats.pop(old_id)
        chat.id = new_id
        chat.type = "supergroup"
        for message in chat.messages.values():
            message.chat_id = new_id
        self.chats[new_id] = chat

    def record_user_message(self, chat_id: int, user: dict[str, Any], text: str, **extra: Any) -> StoredMessage:
        chat = self.chats[chat_id]
        message = StoredMessage(
            message_id=chat.take_message_id(),
            chat_id=chat_id,
            from_user=user,
            date=int(time.time()),
            text=text,
            html=text,
            extra=extra,
        )
        chat.messages[message.message_id] = message
        return message

    def message_dict(self, message: StoredMessage) -> dict[str, Any]:
        """The message as the Bot API serialises it."""
        chat = self.chats[message.chat_id]
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": chat.as_dict(),
            "from": message.from_user,
        }
        if message.photo is not None:
            data["photo"] = [_photo_size(message)]
            if message.text:
                data["caption"] = message.text
        elif message.document is not None:
            data["document"] = _document(message)
            if message.text:
                data["caption"] = message.text
        else:
            data["text"] = message.text
        if message.edited:
            data["edit_date"] = int(time.time())
        if message.reply_markup:
            data["reply_markup"] = message.reply_markup
        data.update(message.extra)
        return data

    def push_update(self, update: dict[str, Any]) -> int:
        """Queues an update for getUpdates (polling); returns its update_id."""
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **update})
        self._new_update.set()
        return update_id

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def commands_for(self, scope: str, language: str = "", chat_id: int | None = None) -> list[str]:
        key = _scope_key({"type": scope, "chat_id": chat_id} if chat_id else {"type": scope})
        return [command["command"] for command in self.commands.get((key, language), [])]

    # --- methods -----------------------------------------------------------------------------------------------

    async def _dispatch(self, method: str, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            raise bad_request(f"method {method} is not implemented by the in-process Bot API")
        if method == "getUpdates":
            return await handler(params)
        return handler(params, files)

    def _api_getMe(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:  # noqa: N802
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False}

    def _api_sendMessage(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:  # noqa: N802
        chat = self._chat(params)
        text, html = _render(params.get("text", ""), params.get("parse_mode"), MESSAGE_LIMIT)
        return self._store_bot_message(chat, params, text=text, html=html)

    def _api_sendPhoto(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:  # noqa: N802
        chat = self._chat(params)
        photo = _attached(params.get("photo"), files, "photo")
        text, html = _render(params.get("caption", ""), params.get("parse_mode"), CAPTION_LIMIT, allow_empty=True)
        return self._store_bot_message(chat, params, text=text, html=html, photo=photo.content)

    def _api_sendDocument(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:  # noqa: N802
        chat = self._chat(params)
        document = _attached(params.get("document"), files, "document")
        text, html = _render(params.get("caption", ""), params.get("parse_mode"), CAPTION_LIMIT, allow_empty=True)
        return self._store_bot_message(
            chat, params, text=text, html=html, document=document.content, document_name=document.name
        )

    def _api_editMessageText(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:  # noqa: N802
        message = self._bot_message(params)
        text, html = _render(params.get("text", ""), params.get("parse_mode"), MESSAGE_LIMIT)
        markup = _checked_markup(params.get("reply_markup"), self._chat(params))
        if text == message.text and html == message.html and markup == message.reply_markup:
            raise bad_request(
                "message is not modified: specified new message content and reply markup are exactly the same "
                "as a current content and reply markup of the message"
            )
        message.text, message.html, message.reply_markup, message.edited = text, html, markup, True
        self._notify("edited", message)
        return self.message_dict(message)

    def _api_editMessageReplyMarkup(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:  # noqa: N802
        message = self._bot_message(params)
        markup = _checked_markup(params.get("reply_markup"), self._chat(params))
        if markup == message.reply_markup:
            raise bad_request("message is not modified: specified new message content and reply markup are exactly")
        message.reply_markup, message.edited = markup, True
        self._notify("edited", message)
        return self.message_dict(message)

    def _api_deleteMessage(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:  # noqa: N802
        chat = self._chat(params)
        message = chat.messages.pop(int(params["message_id"]), None)
        if message is None:
            raise bad_request("message to delete not found")
        self._notify("deleted", message)
        return True

    def _api_answerCallbackQuery(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:  # noqa: N802
        query_id = str(params["callback_query_id"])
        if query_id in self.callback_answers:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        if len(params.get("text", "")) > CALLBACK_ANSWER_LIMIT:
            raise bad_request("MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = params
        return True

    def _api_setMyCommands(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:  # noqa: N802
        scope = params.get("scope") or {"type": "default"}
        if "chat_id" in scope and int(scope["chat_id"]) not in self.chats:
            raise bad_request("chat not found")
        commands = list(params.get("commands", []))
        for command in commands:
            name, description = command.get("command", ""), command.get("description", "")
            if not (1 <= len(name) <= 32 and name.islower() and name.replace("_", "").isalnum()):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[(_scope_key(scope), params.get("language_code", ""))] = commands
        return True

    def _api_deleteMyCommands(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:  # noqa: N802
        scope = params.get("scope") or {"type": "default"}
        self.commands.pop((_scope_key(scope), params.get("language_code", "")), None)
        return True

    def _api_getMyCommands(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:  # noqa: N802
        scope = params.get("scope") or {"type": "default"}
        return self.commands.get((_scope_key(scope), params.get("language_code", "")), [])

    def _api_getChat(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:  # noqa: N802
        chat = self._chat(params)
        return {**chat.as_dict(), "accent_color_id": 0, "max_reaction_count": 11}

    def _api_getChatMember(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:  # noqa: N802
        chat = self._chat(params)
        user_id = int(params["user_id"])
        user = self.bot_user if user_id == self.bot_id else self.users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        status = chat.members.get(user_id, "left")
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "administrator":
            member.update(_ADMIN_RIGHTS)
        return member

    def _api_sendChatAction(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:  # noqa: N802
        self._chat(params)
        return True

    def _api_deleteWebhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:  # noqa: N802
        return True

    def _api_setWebhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:  # noqa: N802
        return True

    def _api_close(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        return True

    async def _api_getUpdates(self, params: dict[str, Any]) -> Any:  # noqa: N802
        offset = int(params.get("offset") or 0)
        self._updates = [update for update in self._updates if update["update_id"] >= offset]
        if not self._updates and not self._closed:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), timeout=min(float(params.get("timeout") or 0), 1.0))
        limit = int(params.get("limit") or 100)
        return self._updates[:limit]

    # --- helpers -----------------------------------------------------------------------------------------------

    def _chat(self, params: dict[str, Any]) -> FakeChat:
        chat_id = _chat_id_of(params)
        chat = self.chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        if chat.members.get(self.bot_id) in {"left", "kicked"}:
            raise ApiError(403, "Forbidden: bot was kicked from the group chat")
        return chat

    def _bot_message(self, params: dict[str, Any]) -> StoredMessage:
        chat = self._chat(params)
        message = chat.messages.get(int(params.get("message_id", 0)))
        if message is None:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return message

    def _store_bot_message(self, chat: FakeChat, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        message = StoredMessage(
            message_id=chat.take_message_id(),
            chat_id=chat.id,
            from_user=self.bot_user,
            date=int(time.time()),
            reply_markup=_checked_markup(params.get("reply_markup"), chat),
            **content,
        )
        chat.messages[message.message_id] = message
        self._notify("sent", message)
        return self.message_dict(message)


_ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
}


def _status_text(status: int) -> str:
    return {
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }.get(status, f"Error {status}")


def _chat_id_of(params: dict[str, Any]) -> int:
    try:
        return int(params.get("chat_id", 0))
    except (TypeError, ValueError):
        raise bad_request("chat not found") from None


def _scope_key(scope: dict[str, Any]) -> str:
    suffix = f":{scope['chat_id']}" if scope.get("chat_id") is not None else ""
    return f"{scope['type']}{suffix}"


def _content(part: tuple[str, Any, str]) -> UploadedFile:
    content = part[1]
    return UploadedFile(part[0], content if isinstance(content, bytes) else content.read())


def _attached(value: Any, files: dict[str, UploadedFile], kind: str) -> UploadedFile:
    if kind in files:
        return files[kind]
    if isinstance(value, str) and value.startswith("attach://"):
        return files[value.removeprefix("attach://")]
    if isinstance(value, str) and value:
        return UploadedFile(value, value.encode())  # a file_id or URL: kept as given
    raise bad_request(f"there is no {kind} in the request")


def _photo_size(message: StoredMessage) -> dict[str, Any]:
    size = len(message.photo or b"")
    return {"file_id": f"photo-{message.message_id}", "file_unique_id": f"p{message.message_id}", "width": 800,
            "height": 600, "file_size": size}  # fmt: skip


def _document(message: StoredMessage) -> dict[str, Any]:
    return {"file_id": f"doc-{message.message_id}", "file_unique_id": f"d{message.message_id}",
            "file_name": message.document_name or "file", "file_size": len(message.document or b"")}  # fmt: skip


def _checked_markup(markup: Any, chat: FakeChat) -> dict[str, Any] | None:
    """Refuses keyboards Telegram would refuse: bad callback data, buttons without an action, Mini App buttons
    outside a private chat or to an address that is not https."""
    if not markup:
        return None
    if isinstance(markup, str):
        markup = json.loads(markup)
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if not button.get("text"):
                raise bad_request("text buttons are unallowed in the inline keyboard")
            if "callback_data" in button:
                size = len(button["callback_data"].encode())
                if not 1 <= size <= CALLBACK_DATA_LIMIT:
                    raise bad_request("BUTTON_DATA_INVALID")
            elif "url" in button:
                if not str(button["url"]).startswith(("https://", "http://", "tg://")):
                    raise bad_request("BUTTON_URL_INVALID")
            elif "web_app" in button:
                if chat.type != "private":
                    raise bad_request("BUTTON_TYPE_INVALID")
                if not str(button["web_app"].get("url", "")).startswith("https://"):
                    raise bad_request("inline keyboard button Web App URL is invalid: Only HTTPS links are allowed")
            elif not {"switch_inline_query", "switch_inline_query_current_chat", "copy_text"} & button.keys():
                raise bad_request("BUTTON_TYPE_INVALID")
    return dict(markup)


def _render(text: str, parse_mode: str | None, limit: int, *, allow_empty: bool = False) -> tuple[str, str]:
    """(plain text, source) of a message; refuses what Telegram refuses."""
    if parse_mode not in (None, "HTML"):
        raise bad_request(f"unsupported parse_mode {parse_mode!r} in the in-process Bot API")
    plain = _TelegramHtml.parse(text) if parse_mode == "HTML" else text
    if not plain.strip() and not allow_empty:
        raise bad_request("message text is empty")
    if len(plain) > limit:
        raise bad_request("message is too long" if limit == MESSAGE_LIMIT else "message caption is too long")
    return plain, text


class _TelegramHtml(HTMLParser):
    """Telegram's HTML subset: only its tags, every tag closed, no stray markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.parts: list[str] = []
        self.open_tags: list[str] = []

    @classmethod
    def parse(cls, source: str) -> str:
        parser = cls()
        parser.feed(source)
        parser.close()
        if parser.open_tags:
            raise bad_request(
                f"can't parse entities: can't find end tag corresponding to start tag {parser.open_tags[-1]}"
            )
        return "".join(parser.parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS_WITH_SPAN:
            raise bad_request(f'can\'t parse entities: unsupported start tag "{tag}"')
        if tag == "a" and not dict(attrs).get("href"):
            raise bad_request("can't parse entities: a tag without href")
        self.open_tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open_tags or self.open_tags[-1] != tag:
            raise bad_request(f'can\'t parse entities: unmatched end tag "{tag}"')
        self.open_tags.pop()

    def handle_data(self, data: str) -> None:
        if set(data) & {"<", ">", "&"}:
            raise bad_request("can't parse entities: unescaped <, > or & in the text")
        self.parts.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in _ENTITIES:
            raise bad_request(f'can\'t parse entities: unsupported HTML entity "&{name};"')
        self.parts.append(_ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        try:
            code = int(name[1:], 16) if name.lower().startswith("x") else int(name)
            self.parts.append(chr(code))
        except (ValueError, OverflowError):
            raise bad_request(f'can\'t parse entities: bad character reference "&#{name};"') from None

    def unknown_decl(self, data: str) -> None:
        raise bad_request("can't parse entities: unsupported markup")

    def handle_comment(self, data: str) -> None:
        raise bad_request("can't parse entities: unsupported markup")

    def handle_decl(self, decl: str) -> None:
        raise bad_request("can't parse entities: unsupported markup")

    def handle_pi(self, data: str) -> None:
        raise bad_request("can't parse entities: unsupported markup")


_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
