"""Who may press which button: every kind of callback data × every role × private chat and campaign group, pressed
as forged data (a modified client can send any) on a demo campaign, and compared with the table below: a role the
table does not list for a button must not change anything in the database with it. A kind of button the table does
not list fails the test, so that a new button cannot ship without someone deciding who may press it."""

from __future__ import annotations

import dataclasses
import enum
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_type_hints

import pytest
from sqlalchemy import event
from sqlmodel import col, select

import bot.app  # noqa: F401  (imports every feature, so that every kind of button is defined)
from bot.callbacks import CallbackData
from bot.demo import fill_demo
from storage import groups
from storage.models import Member, MemberStatus, PublicReview, Rating, Role, Task
from tests.conftest import ADMIN_ID, Bot
from tests.factories import make_member

# Tables every update may write whoever sends it: the claim of the update itself.
BOOKKEEPING = {"processed_update"}
# Roles: o outsider (and the public with a review link), p pending, s staff, h head, l leader, a admin, i industry
# rater, x head of another section. The forged buttons point at the staff member, their section (headed by h), a
# task and a review of that section, the first rating. Each kind of button: the roles whose press may change the
# database (a role may still find nothing to do: a dialog not open, a form of someone else's).
ROLES = "opshlaix"
MAY_CHANGE: dict[str, str] = {
    # joining
    "reg": "o", "regp": "o", "regn": "o", "regk": "o", "regok": "o", "regx": "o", "myname": "shlaix", "appr": "a",
    # invitations (heads for their own section), sections, members
    "invk": "hax", "invp": "hax", "invs": "ha", "invr": "ha",
    "secp": "a", "seco": "a", "seca": "a", "secr": "a", "secx": "a",
    "memp": "a", "memo": "a", "memr": "a", "memm": "a", "memt": "a", "mema": "a",
    # commitments and tasks of a section: its head, the leaders (tasks), the admins
    "cms": "", "cma": "ha", "cme": "ha", "cmr": "ha", "cmp": "ha",
    "tk": "", "tkl": "", "tkns": "la", "tknp": "hla", "tknr": "hla", "tkd": "hla", "tke": "hla", "tkc": "la",
    "rmz": "hla", "tkrc": "", "tkra": "hla",
    # rating: anyone registered may rate others; nudges are muted by their reader. The form's own buttons are signed
    # for their rater (handlers/rating_form.py): forged ones are refused before anything is read (test_ratings.py)
    "rtk": "shlaix", "rtp": "shlaix", "rtt": "shlaix", "rtkeep": "shlaix", "rtn": "shlaix", "rtm": "shlaix",
    "rtx": "shlaix",
    # public reviews: anyone outside the organisation; a review is its reviewer's own; the section's head appeals
    "rvl": "opaix", "rvt": "", "rvd": "", "rvf": "", "mda": "h", "rvs": "ha", "rvp": "ha", "rvo": "ha",
    "mdv": "a", "mdj": "a", "rvx": "la",
    # the campaign group: an admin moves it (in the group it moves to)
    "gmv": "a", "gkp": "",
    # views
    "rk": "", "ms": "", "ss": "", "ssp": "", "mdp": "",
}  # fmt: skip


def test_every_kind_of_button_is_in_the_table() -> None:
    assert sorted(kind.PREFIX for kind in kinds_of_button()) == sorted(MAY_CHANGE)


def kinds_of_button() -> Iterator[type[CallbackData]]:
    pending = list(CallbackData.__subclasses__())
    while pending:
        kind = pending.pop()
        pending += kind.__subclasses__()
        yield kind


class CommittedWrites:
    """The tables whose rows were changed by transactions that committed (SQLite: one connection writes at a
    time). A statement that changed no row (a DELETE of nothing, say) wrote nothing."""

    def __init__(self, bot: Bot) -> None:
        self.tables: set[str] = set()
        self._open: set[str] = set()
        engine = bot.db.engine.sync_engine
        event.listen(engine, "after_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "rollback", self._rollback)

    def _statement(self, _conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        words = statement.split()
        verb = words[0].upper() if words else ""
        if verb in {"INSERT", "UPDATE", "DELETE", "REPLACE"} and cursor.rowcount != 0:
            target = words[2] if verb in {"INSERT", "DELETE", "REPLACE"} else words[1]
            self._open.add(target.strip('"').lower())

    def _commit(self, _conn: Any) -> None:
        self.tables |= self._open - BOOKKEEPING
        self._open = set()

    def _rollback(self, _conn: Any) -> None:
        self._open = set()

    def take(self) -> set[str]:
        tables, self.tables = self.tables, set()
        return tables


async def first_id(bot: Bot, query: Any) -> int:
    async with bot.db.transaction() as session:
        found = (await session.exec(query)).first()
    return int(found or 1)


def forged(kind: type[CallbackData], ids: dict[str, int]) -> str:
    """Button data of this kind pointing at real rows: the staff member, their section, a review, a task..."""
    hints = get_type_hints(kind)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(kind):
        hint = hints[field.name]
        if hint is bool:
            values[field.name] = True
        elif hint is int:
            values[field.name] = ids.get(field.name, 1)
        elif isinstance(hint, type) and issubclass(hint, enum.Enum):
            values[field.name] = next(iter(hint))
        else:
            values[field.name] = STRING_VALUES.get((kind.PREFIX, field.name), "")
    return kind(**values).pack()


# Strings that a button of that kind carries (PREFIX, field): the values its keyboards use.
STRING_VALUES = {
    ("seca", "kind"): "office",
    ("mdv", "kind"): "rating",
    ("rvo", "outcome"): "explained",
}


async def demo_world(bot: Bot) -> dict[str, Any]:
    """The demo campaign, a pending applicant, the bound group, and the ids the forged buttons point at."""
    services = bot.app.bot_data["shuangyou.services"]
    await fill_demo(db=bot.db, settings=services.settings, today=bot.clock.now().date())
    people: dict[str, int] = {"o": 799}
    for letter, role in (("s", Role.STAFF), ("h", Role.HEAD), ("l", Role.LEADER), ("i", Role.INDUSTRY)):
        query = select(Member.telegram_id).where(Member.role == role, col(Member.telegram_id).is_not(None))
        people[letter] = await first_id(bot, query.order_by(col(Member.id)))
    staff_query = select(Member).where(Member.telegram_id == people["s"])
    async with bot.db.transaction() as session:
        staff = (await session.exec(staff_query)).one()
        admin = (await session.exec(select(Member).where(Member.telegram_id == ADMIN_ID))).first()
    if admin is None:
        await make_member(bot.db, ADMIN_ID, "Admin", role=Role.ADMIN, language="en")
    people["a"] = ADMIN_ID
    other_head = select(Member.telegram_id).where(
        Member.role == Role.HEAD, Member.section_id != staff.section_id, col(Member.telegram_id).is_not(None)
    )
    people["x"] = await first_id(bot, other_head)
    people["p"] = 701
    await make_member(bot.db, 701, "Pending", status=MemberStatus.PENDING, language="en")
    ids = {
        "member_id": staff.id or 1,
        "section_id": staff.section_id or 1,
        "review_id": await first_id(bot, select(PublicReview.id).order_by(col(PublicReview.id))),
        "task_id": await first_id(bot, select(Task.id).where(Task.section_id == staff.section_id)),
        "item_id": await first_id(bot, select(Rating.id).order_by(col(Rating.id))),
        "page": 0,
        "index": 0,
    }
    return {"people": people, "ids": ids}


def restore(bot: Bot, template: Path) -> None:
    """Puts the world back as it was (the engine lets go of its connections first)."""
    live = Path(bot.db.engine.url.database or "")
    for suffix in ("-wal", "-shm"):
        Path(f"{live}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, live)


@pytest.mark.no_flood_limits
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_each_role_may_press_exactly_its_buttons(bot: Bot, tmp_path: Path) -> None:
    world = await demo_world(bot)
    group = bot.tg.group("双优活动群")
    async with bot.db.transaction() as session:
        await groups.bind_campaign_group(session=session, chat_id=group.id, title="双优活动群", bound_by_id=None)
    users = {role: bot.tg.private_user(role, user_id=world["people"][role], language="en") for role in ROLES}
    for user in users.values():
        group.add(user)
        await user.send("/help")
    await users["a"].send("/help", chat=group)
    messages = {"private": None, "group": group.bot_messages()[-1]}
    template = tmp_path / "world.db"
    await bot.db.engine.dispose()
    shutil.copyfile(Path(bot.db.engine.url.database or ""), template)
    writes = CommittedWrites(bot)

    observed: dict[str, list[tuple[str, str]]] = {}
    for kind in sorted(kinds_of_button(), key=lambda kind: kind.PREFIX):
        data = forged(kind, world["ids"])
        for chat in ("private", "group"):
            for role, user in users.items():
                message = messages[chat] or user.bot_messages()[-1]
                await user.press_data(data, message=message)
                if tables := writes.take():
                    observed.setdefault(f"{kind.PREFIX} {chat}", []).append((role, ",".join(sorted(tables))))
                    await bot.db.engine.dispose()
                    restore(bot, template)
    wrong = [f"{key} by {role}: wrote {tables}" for key, writers in observed.items() for role, tables in writers
             if role not in MAY_CHANGE[key.split()[0]]]  # fmt: skip
    assert wrong == [], "\n".join(wrong)


def test_two_kinds_of_button_cannot_share_a_prefix() -> None:
    """A second kind of button with a taken prefix would take the first one's presses: it is refused when made."""
    taken = next(kinds_of_button()).PREFIX

    with pytest.raises(TypeError, match="is taken by"):

        @dataclasses.dataclass(frozen=True)
        class Impostor(CallbackData):
            PREFIX = taken
            number: int
