"""/members: admins change roles and sections and deactivate members; the member is told and their menu follows."""

from __future__ import annotations

from storage.models import MemberStatus, Role
from tests.conftest import ADMIN_ID, Bot
from tests.factories import make_member, make_section, reload_member


async def admin(bot: Bot):  # type: ignore[no-untyped-def]
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID)
    await boss.send("/start")
    return boss


async def test_admin_makes_a_staff_member_head(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    alice = bot.tg.private_user("Alice")
    member = await make_member(bot.db, alice.id, "Alice", section=section, language="en")
    boss = await admin(bot)

    await boss.send("/members")
    await boss.press("Alice · 办公室 · staff member")
    sent = await boss.press("section head")

    assert sent.answer == "Saved."
    assert boss.last_text().startswith("Alice\nRole: section head\nSection: 办公室\nStatus: active")
    assert (await reload_member(bot.db, member.id)).role == Role.HEAD
    assert alice.last_text().startswith("An administrator changed your role: you are now section head.")
    assert "invite" in bot.api.commands_for("chat", chat_id=alice.id)


async def test_admin_moves_and_deactivates_a_member(bot: Bot) -> None:
    office = await make_section(bot.db, "办公室")
    await make_section(bot.db, "财务科")
    alice = bot.tg.private_user("Alice")
    member = await make_member(bot.db, alice.id, "Alice", section=office, language="en")
    boss = await admin(bot)
    await boss.send("/members Ali")
    await boss.press("Alice · 办公室 · staff member")

    await boss.press("Move to another section")
    await boss.press("财务科")
    assert alice.last_text() == "An administrator moved you to 财务科."
    await boss.press("Deactivate")
    assert boss.last_text().endswith(
        "Deactivate Alice? They will no longer be rated or reminded and will lose their commands; their history is "
        "kept, and Reactivate brings them back."
    )
    assert (await reload_member(bot.db, member.id)).status == MemberStatus.ACTIVE, "asked first: nothing changed yet"
    await boss.press("Yes, deactivate")

    stored = await reload_member(bot.db, member.id)
    assert (stored.status, stored.section_id is not None) == (MemberStatus.INACTIVE, True)
    assert "deactivated your membership" in alice.last_text()
    assert bot.api.commands_for("chat", chat_id=alice.id) == ["start", "help"]
    await alice.send("/whoami")
    assert alice.last_text().startswith("An administrator deactivated your membership")
    await alice.send("/start")
    assert alice.last_text().startswith("An administrator deactivated your membership")
    await alice.send("/help")
    assert alice.last_text().endswith(
        "An administrator deactivated your membership of the campaign. If this is a mistake, ask them to reactivate it."
    ), "not the newcomer's 'Send /start to register'"


async def test_making_an_administrator_is_asked_first_and_back_changes_nothing(bot: Bot) -> None:
    office = await make_section(bot.db, "办公室")
    alice = bot.tg.private_user("Alice")
    member = await make_member(bot.db, alice.id, "Alice", section=office, language="en")
    boss = await admin(bot)
    await boss.send("/members Ali")
    await boss.press("Alice · 办公室 · staff member")

    await boss.press("administrator")
    asked = boss.last_text()
    await boss.press("‹ Back")
    await boss.press("administrator")
    await boss.press("Yes, make them an administrator")

    assert asked.endswith(
        "Make Alice an administrator? Administrators can change every member's role, void ratings and decide "
        "registrations."
    )
    assert (await reload_member(bot.db, member.id)).role == Role.ADMIN
    assert alice.last_text().startswith("An administrator changed your role: you are now administrator.")
    assert [message.text.startswith("An administrator changed") for message in alice.bot_messages()] == [True]


async def test_admin_cannot_remove_own_admin_role(bot: Bot) -> None:
    boss = await admin(bot)
    await boss.send("/members")
    await boss.press("Boss · — · administrator")

    sent = await boss.press("staff member")

    assert sent.answer == "You can't take away your own administrator role; ask another administrator."


async def test_member_search_with_wildcards_matches_literally(bot: Bot) -> None:
    await make_member(bot.db, 1, "100% Service")
    await make_member(bot.db, 2, "Other")
    boss = await admin(bot)

    await boss.send("/members 0%")

    assert boss.buttons() == [["100% Service · — · staff member"]]


async def test_members_then_a_typed_name_finds_them(bot: Bot) -> None:
    await make_member(bot.db, 1, "王爱丽")
    await make_member(bot.db, 2, "Other")
    boss = await admin(bot)

    await boss.send("/members")
    assert boss.last_text().endswith("Or type part of a name to find someone.")
    await boss.send("爱丽")
    assert (boss.last_text(), boss.buttons()) == ("Found:", [["王爱丽 · — · staff member"]])
    await boss.send("nobody")
    assert boss.last_text() == "Nobody's name contains “nobody”."


async def test_leader_cannot_use_members_or_forge_a_role_change(bot: Bot) -> None:
    section = await make_section(bot.db)
    target = await make_member(bot.db, 5, "Target", section=section)
    leader = bot.tg.private_user("Leader")
    await make_member(bot.db, leader.id, "Leader", role=Role.LEADER)

    await leader.send("/members")
    forged = await leader.press_data(f"memr:{target.id}:admin:1", message=leader.last_message())

    assert leader.bot_messages()[0].text == "You can't use /members. Send /help to see the commands you can use."
    assert forged.answer == "Only administrators can do that."
    assert (await reload_member(bot.db, target.id)).role == Role.STAFF


async def test_members_list_is_paged_from_the_database(bot: Bot) -> None:
    for number in range(19):
        await make_member(bot.db, 100 + number, f"Member {number:02d}")
    boss = await admin(bot)

    await boss.send("/members")
    assert boss.last_text() == "20 members. Choose one:\nOr type part of a name to find someone."
    assert boss.buttons()[-1] == ["1/3", "Next ›"]
    await boss.press("Next ›")
    assert boss.last_text().endswith("Or type part of a name to find someone."), "the hint on every page"
    await boss.press("Next ›")

    assert boss.buttons() == [[f"Member {n} · — · staff member"] for n in (15, 16, 17, 18)] + [["‹ Previous", "3/3"]]


async def test_admin_decides_a_pending_request_from_the_member_card(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    alice = bot.tg.private_user("Alice")
    pending = await make_member(bot.db, alice.id, "Alice", section=section, status=MemberStatus.PENDING, language="en")
    boss = await admin(bot)

    await boss.send("/members")
    await boss.press("Alice · 办公室 · waiting for approval")
    await boss.press("Approve")

    assert (await reload_member(bot.db, pending.id)).status == MemberStatus.ACTIVE
    assert alice.last_text().startswith("Your registration was approved.")
