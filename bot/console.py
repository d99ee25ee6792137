"""The terminal console: use the bot as its users do, without Telegram.

The same Application runs on the in-process Bot API and a real database file. You type as a user; the bot's
replies are printed with their inline buttons numbered, so `:2` presses the second one. `:user`, `:group` and
`:private` switch between users and chats. Lines come from the terminal or from standard input, so
`printf '/start\\n/help\\n' | python -m bot console` prints both answers and exits at the end of the input.
At a terminal the lines can be edited and the arrow keys bring back earlier ones, from this run and the ones
before (the standard library's readline; the history is kept in the user's home, `HISTORY_FILE`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import re
import shlex
import signal
import sys
import threading
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bot.app import build_application, on_start
from bot.clock import ShiftedClock
from bot.config import Settings
from bot.context import SERVICES_KEY, BotApplication
from bot.fake_api import FakeBotApi, StoredMessage
from bot.fake_users import FakeGroup, FakeTelegram, FakeUser, NoSuchButton
from jobs.nudges import plan_nudges
from jobs.outbox import deliver_due
from jobs.reminders import plan_reminders
from jobs.snapshots import plan_snapshots
from storage import groups, members
from storage.migrate import upgrade_database
from storage.session import Database
from web.app import build_web_app
from web.server import WebServerError, web_server, with_port_chosen

HISTORY_FILE = "~/.shuangyou_history"  # the lines typed at the console's terminal, kept across runs and databases
HISTORY_LENGTH = 1000  # lines kept
CONSOLE_HELP = f"""\
Type as a Telegram user would: /start, /help, or any text. Console commands start with a colon:
  :1, :2 ...                  press a button of the bot's last message (buttons are shown as [1] [2] ...)
  :press LABEL                press the button with that label
  :user NAME [id=N] [lang=en|zh]
                              become another user (created on first use; the same name keeps its id)
  :users                      list the users
  :group [TITLE]              talk in a group chat (created on first use; the current user joins it)
  :private                    back to the current user's private chat with the bot
  :time [YYYY-MM-DD HH:MM]     show the bot's time, or travel to that moment (local time of config.toml)
                              and run the reminder sweep and the outbox there
  :help                       this list
  :quit                       leave (Ctrl-D, Ctrl-C or the end of the input do too)
At a terminal, ↑ and ↓ bring back the lines typed before, in this run and earlier ones ({HISTORY_FILE}).
The admins named in config.toml (bot.admins) are admins here too: `:user Boss id=<their id>`."""

BUTTON = re.compile(r"^:(\d+)$")

logger = logging.getLogger(__name__)


@dataclass
class ConsoleState:
    user: FakeUser
    group: FakeGroup | None = None
    users: dict[str, FakeUser] = field(default_factory=dict)
    groups: dict[str, FakeGroup] = field(default_factory=dict)
    buttons: list[tuple[StoredMessage, str]] = field(default_factory=list)


class Console:
    """Reads lines, acts them out as the current user, prints what the bot sends."""

    def __init__(self, application: BotApplication, api: FakeBotApi, out: TextIO, *, echo: bool) -> None:
        self.application = application
        self.api = api
        self.world = FakeTelegram(application, api)
        self.out = out
        self.echo = echo
        first = self.world.private_user("You", language=None, user_id=stable_id("you"))
        self.state = ConsoleState(user=first, users={"you": first})
        api.add_listener(self._show)
        self._commands: dict[str, Callable[[list[str]], Awaitable[None]]] = {
            "press": self._press_label,
            "user": self._switch_user,
            "users": self._list_users,
            "group": self._switch_group,
            "private": self._switch_private,
            "help": self._help,
            "time": self._time,
        }

    # --- input --------------------------------------------------------------------------------------------------

    def know(self, name: str, telegram_id: int, language: str | None) -> None:
        """A member from the database: their chat exists, so what the bot sends them is shown."""
        key = name.lower()
        if key in self.state.users or any(user.id == telegram_id for user in self.state.users.values()):
            return
        code = None if language is None else language.split("_")[0]
        self.state.users[key] = self.world.private_user(name[:64], language=code, user_id=telegram_id)

    def know_group(self, title: str, chat_id: int) -> None:
        """The bound campaign group: it exists, so what the bot posts there is shown, and `:group TITLE` enters it."""
        self.state.groups.setdefault(title.lower(), self.world.group(title[:128], chat_id=chat_id))

    def prompt(self) -> str:
        where = f" in {self.state.group.chat.title}" if self.state.group else ""
        return f"{self.state.user.name}{where} › "

    async def handle_line(self, line: str) -> bool:
        """Acts out one line; returns False when the console should stop."""
        line = line.strip()
        if not line:
            return True
        if self.echo:
            self._print(f"{self.prompt()}{line}")
        if line in {":quit", ":q", ":exit"}:
            return False
        if match := BUTTON.match(line):
            await self._press_number(int(match.group(1)))
        elif line.startswith(":"):
            await self._console_command(line[1:])
        else:
            await self.state.user.send(line, chat=self.state.group)
        return True

    async def _console_command(self, text: str) -> None:
        try:
            name, *args = shlex.split(text)
        except ValueError:
            name, args = text.split()[0] if text.split() else "", []
        command = self._commands.get(name)
        if command is None:
            self._print(f"(unknown console command :{name}; :help lists them)")
            return
        await command(args)

    async def _press_number(self, number: int) -> None:
        if not 1 <= number <= len(self.state.buttons):
            self._print(f"(there is no button [{number}] on the last message here)")
            return
        message, label = self.state.buttons[number - 1]
        await self._press(label, message.message_id)

    async def _press_label(self, args: list[str]) -> None:
        if not args:
            self._print("(say which button: :press LABEL)")
            return
        await self._press(" ".join(args), None)

    async def _press(self, label: str, message_id: int | None) -> None:
        try:
            sent = await self.state.user.press(label, chat=self.state.group, message_id=message_id)
        except NoSuchButton:
            self._print(f"(no button {label!r} here)")
            return
        if sent.answer:
            self._print(f"  ⓘ {sent.answer}")

    async def _switch_user(self, args: list[str]) -> None:
        if not args:
            self._print("(say who: :user NAME [id=N] [lang=en|zh])")
            return
        options = dict(arg.split("=", 1) for arg in args[1:] if "=" in arg)
        key = args[0].lower()
        user = self.state.users.get(key)
        if user is None:
            user_id = int(options["id"]) if options.get("id", "").isdigit() else stable_id(args[0])
            user = self.world.private_user(args[0][:64], language=options.get("lang"), user_id=user_id)
            self.state.users[key] = user
            self._print(f"(you are now {user.name}, a new Telegram user with id {user.id})")
        else:
            if "lang" in options:
                user.user["language_code"] = options["lang"]
            self._print(f"(you are now {user.name}, id {user.id})")
        self.state.user = user
        if self.state.group is not None:
            self.state.group.add(user)
        self._collect_buttons()

    async def _list_users(self, args: list[str]) -> None:
        for user in self.state.users.values():
            marker = "*" if user is self.state.user else " "
            self._print(f" {marker} {user.name} (id {user.id})")

    async def _switch_group(self, args: list[str]) -> None:
        title = " ".join(args) or "Campaign group"
        group = self.state.groups.get(title.lower())
        if group is None:
            group = self.world.group(title[:128], chat_id=stable_group_id(title))
            self.state.groups[title.lower()] = group
            self._print(f"(a new group {title!r} with id {group.id}; the bot is a member)")
        group.add(self.state.user)
        self.state.group = group
        self._print(f"(you are talking in {title!r})")
        self._collect_buttons()

    async def _switch_private(self, args: list[str]) -> None:
        self.state.group = None
        self._print(f"(you are talking to the bot in private as {self.state.user.name})")
        self._collect_buttons()

    async def _help(self, args: list[str]) -> None:
        self._print(CONSOLE_HELP)

    async def _time(self, args: list[str]) -> None:
        services = self.application.bot_data[SERVICES_KEY]
        tz = services.settings.tz
        if args:
            try:
                moment = dt.datetime.strptime(" ".join(args), "%Y-%m-%d %H:%M").replace(tzinfo=tz)
            except ValueError:
                self._print("(say the moment as :time YYYY-MM-DD HH:MM)")
                return
            if not isinstance(services.clock, ShiftedClock):
                self._print("(this console's clock cannot travel)")
                return
            services.clock.set(moment)
            planned = await plan_reminders(services, services.clock.now())
            planned += await plan_nudges(services, services.clock.now())
            planned += await plan_snapshots(services, services.clock.now())
            sent = 0
            while delivered := await deliver_due(services, self.application.bot):  # every batch due now
                sent += delivered
            self._print(f"(the reminder sweep planned {planned} and the outbox sent {sent})")
        self._print(f"(it is {services.clock.now().astimezone(tz):%Y-%m-%d %H:%M %A} here)")

    # --- output -------------------------------------------------------------------------------------------------

    def _current_chat_id(self) -> int:
        return self.state.group.id if self.state.group else self.state.user.id

    def _show(self, event: str, message: StoredMessage) -> None:
        if event == "deleted":
            return
        here = message.chat_id == self._current_chat_id()
        label = "bot" if here else f"bot → {self._chat_name(message.chat_id)}"
        if event == "edited":
            label += " (edited)"
        body = message.text
        if message.photo is not None:
            body = f"[picture, {len(message.photo)} bytes] {body}".rstrip()
        if message.document is not None:
            body = f"[file {message.document_name or ''}, {len(message.document)} bytes] {body}".rstrip()
        self._print(f"{label} › {_indent(body)}")
        if here:
            self._collect_buttons()
            if message.reply_markup:
                self._print(_indent(self._render_buttons(message), first=True))
        elif message.reply_markup:
            labels = "  ".join(f"[{label}]" for row in message.button_labels() for label in row)
            self._print(_indent(f"{labels}   (switch to that user to press them)", first=True))

    def _collect_buttons(self) -> None:
        """Numbers the buttons of the newest message with buttons in the current chat."""
        chat = self.api.chats.get(self._current_chat_id())
        self.state.buttons = []
        if chat is None:
            return
        for message in reversed(list(chat.messages.values())):
            if message.from_bot and message.reply_markup:
                self.state.buttons = [(message, label) for row in message.button_labels() for label in row]
                return

    def _render_buttons(self, message: StoredMessage) -> str:
        lines, number = [], 0
        for row in message.button_rows():
            cells = []
            for button in row:
                number += 1
                address = button.get("url") or button.get("web_app", {}).get("url")  # a link, or a Mini App
                link = f" → {address}" if address else ""
                cells.append(f"[{number}] {button['text']}{link}")
            lines.append("  ".join(cells))
        return "\n".join(lines)

    def _chat_name(self, chat_id: int) -> str:
        chat = self.api.chats.get(chat_id)
        if chat is None:
            return str(chat_id)
        return chat.title or chat.first_name or str(chat_id)

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def stable_id(name: str) -> int:
    """The same Telegram id for the same console name in every run, so a user finds their account again."""
    return 100_000 + zlib.crc32(name.strip().lower().encode()) % 900_000_000


def stable_group_id(title: str) -> int:
    """The same supergroup-like chat id for the same console group title in every run."""
    return -1_000_000_000_000 - zlib.crc32(title.strip().lower().encode()) % 900_000_000


def _indent(text: str, *, first: bool = False) -> str:
    pad = "      "
    lines = text.split("\n")
    head = pad + lines[0] if first else lines[0]
    return "\n".join([head, *(pad + line if line else "" for line in lines[1:])])


async def run_console(
    settings: Settings, *, source: TextIO | None = None, out: TextIO | None = None, history: Path | None = None
) -> None:
    """Runs the console until `:quit` or the end of the input (by default standard input and output as they are
    when it starts, not as they were when this module was imported). At a terminal, lines are edited with
    readline and kept in `history` (by default `HISTORY_FILE`); other input is read as it comes."""
    source, out = source or sys.stdin, out or sys.stdout
    interactive = source.isatty()
    settings = with_port_chosen(settings)
    db = Database(settings.database_url)
    try:
        await upgrade_database(db.engine)
        api = FakeBotApi()
        application = build_application(settings, db=db, request=api, clock=ShiftedClock())
        with line_editing(history) if interactive else contextlib.nullcontext():
            await _talk(application, api, source, out, interactive=interactive)
    finally:
        await db.close()


@contextlib.contextmanager
def line_editing(history: Path | None = None, *, length: int = HISTORY_LENGTH) -> Iterator[None]:
    """Line editing for `input()` (the standard library's readline), with the lines typed before read from
    `history` (by default `HISTORY_FILE`) and written back, cut to the last `length`, when the console ends
    (Ctrl-D, :quit, Ctrl-C). Where Python has no readline (Windows), lines are read as they are, without a
    history."""
    try:
        import readline
    except ImportError:
        yield
        return
    history = history or Path(HISTORY_FILE).expanduser()
    readline.clear_history()
    readline.set_history_length(length)
    with contextlib.suppress(OSError):  # none yet, or unreadable: the history starts empty
        readline.read_history_file(history)
    terminal = _terminal_modes()
    try:
        yield
    finally:
        try:
            readline.write_history_file(history)
        except OSError as error:
            logger.warning("Could not keep the console's history in %s: %s", history, error)
        _restore_terminal(terminal)


def _terminal_modes() -> list[Any] | None:
    """The terminal's modes, to set again at the end: readline changes them while a line is typed, and Ctrl-C ends
    the console while it waits for one (`LineReader`)."""
    try:
        import termios
    except ImportError:
        return None
    try:
        return termios.tcgetattr(sys.stdin.fileno())
    except (termios.error, OSError, ValueError):  # not a terminal
        return None


def _restore_terminal(modes: list[Any] | None) -> None:
    if modes is None:
        return
    import termios

    with contextlib.suppress(termios.error, OSError, ValueError):
        termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, modes)


async def _talk(
    application: BotApplication, api: FakeBotApi, source: TextIO, out: TextIO, *, interactive: bool
) -> None:
    async with application, _pages(application, out, interactive=interactive):
        await on_start(application)
        await application.start()
        console = Console(application, api, out, echo=not interactive)
        async with application.bot_data[SERVICES_KEY].db.transaction() as session:
            for member in await members.list_members_on_telegram(session=session):
                assert member.telegram_id is not None
                console.know(member.display_name, member.telegram_id, member.language)
            bound = await groups.get_campaign_group(session=session)
            if bound is not None:
                console.know_group(bound.title, bound.chat_id)
        if interactive:
            print(CONSOLE_HELP.split("\n", 1)[0] + " Type :help for more.", file=out)
        lines = LineReader(source, interactive=interactive)
        try:
            while (line := await lines.next_line(console.prompt())) is not None:
                if not await console.handle_line(line):
                    break
        finally:
            lines.close()
            if lines.interrupted:
                print(file=out)  # the shell's prompt on a line of its own, not after the console's
            await application.stop()


@contextlib.asynccontextmanager
async def _pages(application: BotApplication, out: TextIO, *, interactive: bool) -> AsyncIterator[None]:
    """The web pages beside the console, on [web] listen:port; their addresses are printed (on standard error when
    the input is piped, so that the conversation's output stays as it was). A port in use is said, and the console
    goes on without them."""
    services = application.bot_data[SERVICES_KEY]
    web = services.settings.web
    if not web.enabled:
        yield
        return
    where = out if interactive else sys.stderr
    async with contextlib.AsyncExitStack() as stack:
        try:
            server = await stack.enter_async_context(web_server(build_web_app(services, application), web))
        except WebServerError as error:
            print(f"No web pages: {error} (set [web] port, or SHUANGYOU_WEB__PORT).", file=where)
        else:
            base = web.public_url or f"http://{web.listen}:{server.port}"
            print(f"Web pages: {base}/review/<token> (a section's review page; /ratinglink gives its link)", file=where)
            if web.lobby:
                print(f"The hall's screen: {base}/lobby" + ("?key=…" if web.lobby_key else ""), file=where)
        yield


class LineReader:
    """The lines typed at the terminal, or of `source` as they come. Each is read in a thread, so that the bot goes
    on (its jobs, its outbox) while a line is typed; a daemon thread rather than the executor's, which Python waits
    for at exit. At a terminal, Ctrl-C ends the console as Ctrl-D does, without waiting for the line being typed."""

    def __init__(self, source: TextIO, *, interactive: bool) -> None:
        self.source = source
        self.interactive = interactive
        self.interrupted = False
        self._waiting: asyncio.Future[str | None] | None = None
        self._loop = asyncio.get_running_loop()
        if interactive:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not here (Windows, a thread)
                self._loop.add_signal_handler(signal.SIGINT, self.interrupt)

    async def next_line(self, prompt: str) -> str | None:
        """The next line, or None at the end of the input (or after Ctrl-C)."""
        if self.interrupted:
            return None
        waiting: asyncio.Future[str | None] = self._loop.create_future()
        self._waiting = waiting
        prompt = prompt if self.interactive else ""
        threading.Thread(target=self._read, args=(waiting, prompt), name="console-input", daemon=True).start()
        return await waiting

    def _read(self, waiting: asyncio.Future[str | None], prompt: str) -> None:
        try:
            line = _read_line(self.source, prompt)
        except Exception as error:  # handed to the console, which stops on it as it did when it read the line
            answer = functools.partial(_fail, waiting, error)
        else:
            answer = functools.partial(_settle, waiting, line)
        with contextlib.suppress(RuntimeError):  # the console has ended meanwhile (Ctrl-C): nobody waits for it
            self._loop.call_soon_threadsafe(answer)

    def interrupt(self) -> None:
        """Ctrl-C: the line being typed is dropped and the console ends."""
        self.interrupted = True
        if self._waiting is not None:
            _settle(self._waiting, None)

    def close(self) -> None:
        if self.interactive:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                self._loop.remove_signal_handler(signal.SIGINT)


def _settle(waiting: asyncio.Future[str | None], line: str | None) -> None:
    if not waiting.done():
        waiting.set_result(line)


def _fail(waiting: asyncio.Future[str | None], error: Exception) -> None:
    if not waiting.done():
        waiting.set_exception(error)


def _read_line(source: TextIO, prompt: str) -> str | None:
    """A line of the terminal through `input()` (edited with readline once it is imported), else of `source`."""
    try:
        if prompt and source is sys.stdin:
            return input(prompt)
        line = source.readline()
    except (EOFError, KeyboardInterrupt):
        return None
    return line if line else None
