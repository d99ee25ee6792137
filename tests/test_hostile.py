"""Random updates of every kind from every kind of user: the bot answers or ignores them, logs no error, and nobody
gains what their role does not give (roles, sections, the campaign group, ratings by outsiders stay as they were)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.app import all_commands
from storage import groups
from storage.models import CampaignGroup, Member, Rating, Role, Section
from tests.conftest import Bot
from tests.factories import make_member, make_section

ROLES = ("outsider", "staff", "head", "leader", "industry")
PREFIXES = ["rk", "ms", "ss", "ssp", "rate", "memp", "memr", "appr", "task", "x"]
COMMANDS = [f"/{spec.name}" for spec in all_commands()]
update_ids = itertools.count(1)

texts = st.one_of(
    st.text(max_size=200),
    st.builds(lambda c, rest: f"{c} {rest}", st.sampled_from(COMMANDS), st.text(max_size=60)),
    st.sampled_from(COMMANDS),
    st.sampled_from(["/start i_AAAA", "/start r_nope", "/start rate", "<b>x</b>", "/unknown@ShuangyouBot"]),
)
callback_data = st.one_of(
    st.text(min_size=1, max_size=64).filter(lambda data: len(data.encode()) <= 64),
    st.builds(
        lambda prefix, fields: ":".join([prefix, *fields])[:64],
        st.sampled_from(PREFIXES),
        st.lists(
            st.one_of(st.integers(-5, 10**6).map(str), st.sampled_from(["section", "member", "month", "1"])), max_size=4
        ),
    ),
)
events = st.lists(
    st.one_of(
        st.tuples(st.just("text"), st.sampled_from(ROLES), st.booleans(), texts),
        st.tuples(st.just("edited"), st.sampled_from(ROLES), st.booleans(), texts),
        st.tuples(st.just("sticker"), st.sampled_from(ROLES), st.booleans(), st.just("")),
        st.tuples(st.just("photo"), st.sampled_from(ROLES), st.booleans(), st.text(max_size=50)),
        st.tuples(st.just("press"), st.sampled_from(ROLES), st.booleans(), callback_data),
        st.tuples(st.just("channel"), st.just("outsider"), st.just(False), texts),
        st.tuples(st.just("kicked"), st.sampled_from(ROLES), st.booleans(), st.just("")),
    ),
    min_size=1,
    max_size=6,
)
STICKER = {"file_id": "s1", "file_unique_id": "u1", "width": 512, "height": 512, "is_animated": False,
           "is_video": False, "type": "regular"}  # fmt: skip
PHOTO = [{"file_id": "p1", "file_unique_id": "q1", "width": 90, "height": 90}]


async def snapshot_of_powers(bot: Bot) -> tuple[Any, ...]:
    async with bot.db.transaction() as session:
        roles = sorted((m.id, m.role, m.status, m.section_id) for m in (await session.exec(select(Member))).all())
        units = sorted((s.id, s.name, s.archived_at) for s in (await session.exec(select(Section))).all())
        bound = [(g.chat_id, g.title) for g in (await session.exec(select(CampaignGroup))).all()]
        ratings = (await session.exec(select(Rating))).all()
    return roles, units, bound, len(ratings)


@pytest.mark.no_flood_limits
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=events)
async def test_random_updates_change_nothing_they_may_not(bot: Bot, steps: list[tuple[str, str, bool, str]]) -> None:
    home = await make_section(bot.db, f"科室 {next(update_ids)}")
    people = {"outsider": bot.tg.private_user("Stranger <i>", language="en")}
    for role, member_role in (("staff", Role.STAFF), ("head", Role.HEAD), ("leader", Role.LEADER)):
        people[role] = bot.tg.private_user(role, language="en")
        await make_member(bot.db, people[role].id, role, role=member_role, section=home, language="en")
    industry = bot.tg.private_user("Acme", language="zh")
    await make_member(bot.db, industry.id, "Acme", role=Role.INDUSTRY, language="zh")
    people["industry"] = industry
    group = bot.tg.group("双优活动群")
    async with bot.db.transaction() as session:
        await groups.bind_campaign_group(session=session, chat_id=group.id, title="双优活动群", bound_by_id=None)
    for user in people.values():
        group.add(user)
    before = await snapshot_of_powers(bot)

    for kind, role, in_group, payload in steps:
        user, chat = people[role], group if in_group else None
        if kind == "text":
            await user.send(payload, chat=chat)
        elif kind == "edited":
            message = bot.api.record_user_message(chat.id if chat else user.id, user.user, payload or "x")
            await bot.tg.deliver({"edited_message": {**bot.api.message_dict(message), "edit_date": 1}})
        elif kind == "sticker":
            await user.send_update("message", {"sticker": STICKER}, chat=chat)
        elif kind == "photo":
            await user.send_update("message", {"photo": PHOTO, "caption": payload}, chat=chat)
        elif kind == "press":
            await user.send("/help", chat=chat)
            await user.press_data(payload, message=user.last_message(chat=chat))
        elif kind == "channel":
            message = bot.api.record_user_message(group.id, user.user, payload or "x")
            post = {key: value for key, value in bot.api.message_dict(message).items() if key != "from"}
            await bot.tg.deliver({"channel_post": {**post, "chat": {**post["chat"], "type": "channel"}}})
        elif kind == "kicked" and role != "outsider":
            await bot.tg.deliver({"my_chat_member": {
                "chat": bot.tg.group("Elsewhere").chat.as_dict(), "from": user.user, "date": 0,
                "old_chat_member": {"status": "member", "user": bot.api.bot_user},
                "new_chat_member": {"status": "kicked", "user": bot.api.bot_user, "until_date": 0},
            }})  # fmt: skip

    assert await snapshot_of_powers(bot) == before
    assert not bot.errors.records
