"""Whatever anyone types, the bot answers briefly, logs no error and changes nothing it should not."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.app import all_commands
from handlers.arguments import unused_text
from storage.models import Member
from tests.conftest import Bot
from tests.test_button_authorisation import kinds_of_button

commands = st.sampled_from(["/start", "/help", "/start@ShuangyouBot", "/help@OtherBot", "/x", "/"])
texts = st.one_of(
    st.text(min_size=1, max_size=300).filter(lambda text: text.strip() != ""),
    st.builds(lambda command, rest: f"{command} {rest}", commands, st.text(max_size=100)),
    st.sampled_from(["<b>", "&amp;", "</i>", "<script>", "{name}", "%s", "\u200b", "🙂" * 50, "长" * 4096]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts, language=st.sampled_from([None, "en", "zh-hans", "ru", ""]), in_group=st.booleans())
async def test_any_text_from_a_stranger_is_answered_safely(
    bot: Bot, text: str, language: str | None, in_group: bool
) -> None:
    stranger = bot.tg.private_user("Str<a>nger & co", language=language or None)
    group = bot.tg.group("Fuzz") if in_group else None
    if group is not None:
        group.add(stranger)

    sent = await stranger.send(text, chat=group)

    if group is None:  # one answer; a command that takes nothing says after it that the text after it was not used
        assert len(sent.messages) == 1 + (unused_text(text, all_commands()) is not None)
    assert all(0 < len(message.text) <= 4096 for message in sent.messages)
    assert not bot.errors.records
    async with bot.db.transaction() as session:
        assert (await session.exec(select(Member))).all() == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.text(min_size=1, max_size=64).filter(lambda data: len(data.encode()) <= 64))
async def test_any_callback_data_is_answered_and_changes_nothing(bot: Bot, data: str) -> None:
    """Data no button of the bot carries (real buttons pressed by anyone: tests/test_button_authorisation.py)."""
    assume(not any(kind.parse(data) for kind in kinds_of_button()))
    alice = bot.tg.private_user("Alice")
    await alice.send("/help")

    sent = await alice.press_data(data, message=alice.last_message())

    assert sent.answer
    assert sent.messages == []
    assert not bot.errors.records
    async with bot.db.transaction() as session:
        assert (await session.exec(select(Member))).all() == []
