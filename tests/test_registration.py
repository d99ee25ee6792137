"""Joining: /start, registration with approval, /whoami, the admins named in the config, roster usernames."""

from __future__ import annotations

from sqlmodel import select

from storage import sections
from storage.models import AuditEntry, MemberStatus, Role
from tests.conftest import ADMIN_ID, Bot
from tests.factories import make_member, make_section, member_of, reload_member


async def reload_section_name(bot: Bot, section_id: int | None) -> str:
    async with bot.db.transaction() as session:
        section = await sections.get_section(session=session, section_id=section_id or 0)
    return section.name if section else ""


async def test_newcomer_start_offers_the_sections(bot: Bot) -> None:
    await make_section(bot.db, "行政审批科")
    await make_section(bot.db, "办公室")
    alice = bot.tg.private_user("Alice")

    sent = await alice.send("/start")

    assert len(sent.messages) == 1
    assert "Welcome to Shuangyou" in sent.texts[0] and "“Excellent service: the best sections" in sent.texts[0]
    assert sent.texts[0].endswith("You are not registered yet. To register, choose your section:")
    assert alice.buttons() == [["办公室"], ["行政审批科"], ["Cancel"]]
    # the campaign in each language
    wang = bot.tg.private_user("小王", language="zh-hans")
    assert "“争创优质服务科室，争当优质服务个人”" in (await wang.send("/start")).texts[0]


async def test_newcomer_start_without_sections_says_to_ask_an_admin(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")

    await alice.send("/start")

    assert "no sections have been set up" in alice.last_text()
    assert await member_of(bot.db, alice.id) is None


async def test_applicant_registers_and_admin_approves(bot: Bot) -> None:
    await make_section(bot.db, "行政审批科")
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID)
    await boss.send("/start")
    alice = bot.tg.private_user("Alice", last_name="Wang", username="alice_w")

    await alice.send("/start")
    await alice.press("行政审批科")
    assert "What name should your colleagues see?" in alice.last_text()
    await alice.send("王爱丽")
    assert "Name: 王爱丽\nSection: 行政审批科" in alice.last_text()
    sent = await alice.press("Send the request")

    assert sent.edited[-1].text.startswith("Your request has been sent to the administrators.")
    pending = await member_of(bot.db, alice.id)
    assert pending is not None and pending.status == MemberStatus.PENDING and pending.display_name == "王爱丽"
    assert boss.last_text() == "New registration\nName: 王爱丽\nSection: 行政审批科\nTelegram: @alice_w"

    decided = await boss.press("Approve")

    assert decided.edited[-1].text == "✅ Approved by Boss: 王爱丽, 行政审批科"
    assert alice.last_text().startswith("Your registration was approved. Welcome to the campaign, 王爱丽!")
    member = await reload_member(bot.db, pending.id)
    assert (member.status, member.role) == (MemberStatus.ACTIVE, Role.STAFF)
    assert "whoami" in bot.api.commands_for("chat", chat_id=alice.id)
    async with bot.db.transaction() as session:
        actions = [entry.action for entry in (await session.exec(select(AuditEntry))).all()]
    assert actions == ["registration.requested", "registration.approved"]


async def test_applicant_uses_telegram_name_and_admin_rejects(bot: Bot) -> None:
    await make_section(bot.db)
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID)
    await boss.send("/start")
    alice = bot.tg.private_user("Alice", last_name="Wang")
    await alice.send("/start")
    await alice.press("行政审批科")
    await alice.press("Use “Alice Wang”")
    await alice.press("Send the request")
    markup = bot.tg.private_user("李<b>新</b>人")
    await markup.send("/start")
    await markup.press("行政审批科")
    assert ["Use “李<b>新</b>人”"] in markup.buttons(), "a button's label is plain text, not HTML"

    await boss.press("Reject")

    assert "Your registration was not approved" in alice.last_text()
    member = await member_of(bot.db, alice.id)
    assert member is not None and member.status == MemberStatus.REJECTED


async def test_rejected_applicant_may_apply_again(bot: Bot) -> None:
    section = await make_section(bot.db)
    alice = bot.tg.private_user("Alice")
    await make_member(bot.db, alice.id, "Alice", section=section, status=MemberStatus.REJECTED)

    await alice.send("/start")
    await alice.press("行政审批科")
    await alice.send("Alice W.")
    await alice.press("Send the request")

    member = await member_of(bot.db, alice.id)
    assert member is not None and member.status == MemberStatus.PENDING and member.display_name == "Alice W."


async def test_second_start_while_pending_says_so(bot: Bot) -> None:
    section = await make_section(bot.db)
    alice = bot.tg.private_user("Alice")
    await make_member(bot.db, alice.id, "Alice", section=section, status=MemberStatus.PENDING)

    await alice.send("/start")

    assert "Your registration is waiting for an administrator's approval" in alice.last_text()
    assert alice.buttons() == []


async def test_second_admin_sees_the_request_was_already_decided(bot: Bot) -> None:
    section = await make_section(bot.db)
    other_admin = bot.tg.private_user("Deputy")
    await make_member(bot.db, other_admin.id, "Deputy", role=Role.ADMIN, language="en")
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID)
    await boss.send("/start")
    alice = bot.tg.private_user("Alice")
    await make_member(bot.db, alice.id, "Alice", section=section, status=MemberStatus.PENDING)
    await alice.send("/start")
    bob = bot.tg.private_user("Bob")
    await bob.send("/start")
    await bob.press("行政审批科")
    await bob.send("Bob")
    await bob.press("Send the request")
    await boss.press("Approve")

    sent = await other_admin.press("Reject")

    assert sent.answer == "This request was already decided."
    assert sent.edited[-1].text == "✅ Approved: Bob, 行政审批科"
    member = await member_of(bot.db, bob.id)
    assert member is not None and member.status == MemberStatus.ACTIVE


async def test_outsider_pressing_a_forged_approve_changes_nothing(bot: Bot) -> None:
    section = await make_section(bot.db)
    alice = bot.tg.private_user("Alice")
    applicant = await make_member(bot.db, alice.id, "Alice", section=section, status=MemberStatus.PENDING)
    mallory = bot.tg.private_user("Mallory")
    await mallory.send("/help")

    sent = await mallory.press_data(f"appr:{applicant.id}:1", message=mallory.last_message())

    assert sent.answer == "Only administrators can do that."
    assert (await reload_member(bot.db, applicant.id)).status == MemberStatus.PENDING
    assert alice.bot_messages() == []


async def test_staff_pressing_a_forged_approve_changes_nothing(bot: Bot) -> None:
    section = await make_section(bot.db)
    applicant = await make_member(bot.db, 777, "Applicant", section=section, status=MemberStatus.PENDING)
    staff = bot.tg.private_user("Staff")
    await make_member(bot.db, staff.id, "Staff", section=section)
    await staff.send("/help")

    sent = await staff.press_data(f"appr:{applicant.id}:1", message=staff.last_message())

    assert sent.answer == "Only administrators can do that."
    assert (await reload_member(bot.db, applicant.id)).status == MemberStatus.PENDING


async def test_name_too_long_is_refused_and_dialog_continues(bot: Bot) -> None:
    await make_section(bot.db)
    alice = bot.tg.private_user("Alice")
    await alice.send("/start")
    await alice.press("行政审批科")

    await alice.send("名" * 65)
    assert alice.last_text() == (
        "A name has at most 64 characters; this one has 65. Please send a shorter one, or send /cancel to stop."
    )
    await alice.send("<b>Alice</b> & co")

    assert "Name: <b>Alice</b> & co" in alice.last_text()
    assert "&lt;b&gt;Alice&lt;/b&gt; &amp; co" in alice.last_message().html


async def test_registration_survives_a_restart(bot: Bot) -> None:
    """The dialog lives in the database: a new Application continues where the old one stopped."""
    from bot.app import build_application, on_start
    from bot.fake_users import FakeTelegram

    await make_section(bot.db)
    alice = bot.tg.private_user("Alice")
    await alice.send("/start")
    await alice.press("行政审批科")

    settings = bot.app.bot_data["shuangyou.services"].settings
    fresh = build_application(settings, db=bot.db, request=bot.api, clock=bot.clock)
    async with fresh:
        await on_start(fresh)
        again = FakeTelegram(fresh, bot.api).private_user("Alice", user_id=alice.id)
        await again.send("Alice After Restart")
        await again.press("Send the request")

    member = await member_of(bot.db, alice.id)
    assert member is not None and member.display_name == "Alice After Restart"


async def test_typing_where_a_button_is_awaited_points_to_the_buttons(bot: Bot) -> None:
    await make_section(bot.db)
    alice = bot.tg.private_user("Alice")
    await alice.send("/start")
    await alice.press("行政审批科")
    await alice.send("王爱丽")

    sent = await alice.send("yes, send it")

    assert sent.texts == ["Please answer with the buttons of my last message, or send /cancel to stop."]
    await alice.press("Send the request")
    pending = await member_of(bot.db, alice.id)
    assert pending is not None and pending.display_name == "王爱丽"


async def test_change_at_the_confirmation_offers_to_keep_the_name(bot: Bot) -> None:
    await make_section(bot.db, "行政审批科")
    await make_section(bot.db, "办公室")
    alice = bot.tg.private_user("Alice")
    await alice.send("/start")
    await alice.press("行政审批科")
    await alice.send("王爱丽")

    await alice.press("Change")
    await alice.press("办公室")
    assert ["Keep “王爱丽”"] in alice.buttons()
    await alice.press("Keep “王爱丽”")
    await alice.press("Send the request")

    pending = await member_of(bot.db, alice.id)
    assert pending is not None and pending.display_name == "王爱丽"
    assert (await reload_section_name(bot, pending.section_id)) == "办公室"


async def test_cancel_stops_the_registration(bot: Bot) -> None:
    await make_section(bot.db)
    alice = bot.tg.private_user("Alice")
    await alice.send("/start")
    await alice.press("行政审批科")

    await alice.send("/cancel")
    sent = await alice.send("Alice")

    assert sent.texts == ["I work with commands and buttons. Send /help to see what you can do."]
    assert await member_of(bot.db, alice.id) is None


async def test_another_command_drops_the_prompt_left_behind(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    alice = bot.tg.private_user("Alice")
    await make_member(bot.db, alice.id, "王爱丽", section=section, language="en")
    await alice.send("/whoami")
    await alice.press("Change my name")

    await alice.send("/myscore")
    stray = await alice.send("hello there")
    await alice.send("/whoami")
    await alice.press("Change my name")
    await alice.send("/moderate")  # refused: it drops the prompt all the same
    refused_then_stray = await alice.send("hello again")

    assert (
        stray.texts
        == refused_then_stray.texts
        == ["I work with commands and buttons. Send /help to see what you can do."]
    )
    member = await member_of(bot.db, alice.id)
    assert member is not None and member.display_name == "王爱丽"
    await alice.send("/whoami")
    await alice.press("Change my name")
    assert (await alice.send("/cancel")).texts == ["Stopped. Send /help to see what you can do."]
    assert (await alice.send("/cancel")).texts == ["There is nothing to stop. Send /help to see what you can do."]


async def test_a_command_in_a_group_leaves_the_private_prompt(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    alice = bot.tg.private_user("Alice")
    await make_member(bot.db, alice.id, "王爱丽", section=section, language="en")
    group = bot.tg.group()
    group.add(alice)
    await alice.send("/whoami")
    await alice.press("Change my name")

    await alice.send("/ranking@" + bot.app.bot.username, chat=group)
    await alice.send("Alice Wang")

    assert alice.last_text() == "Done: your colleagues now see you as Alice Wang."


async def test_registration_in_a_group_points_to_private(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")
    group = bot.tg.group()
    group.add(alice)

    await alice.send("/start", chat=group)

    assert group.last_text() == "Let's talk in private: registration and ratings are never done in the group."


async def test_configured_admin_becomes_admin_member_on_first_start(bot: Bot) -> None:
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID)

    await boss.send("/start")

    assert "You are registered as Boss, administrator" in boss.last_text()
    member = await member_of(bot.db, ADMIN_ID)
    assert member is not None
    assert (member.role, member.status, member.display_name) == (Role.ADMIN, MemberStatus.ACTIVE, "Boss")
    assert bot.api.commands_for("chat", chat_id=ADMIN_ID) == [
        *("start", "help", "whoami", "sections", "invite", "invites", "members"),
        *("commitments", "task", "tasks", "away", "rate", "ratinglink", "moderate"),
        *("ranking", "sectionscore", "awards", "snapshot", "export"),
    ], "no /myscore: an administrator in no section has no score of their own"


async def test_configured_admin_second_start_does_not_duplicate(bot: Bot) -> None:
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID)

    await boss.send("/start")
    await boss.send("/start")

    assert "You are registered as Boss, administrator" in boss.last_text()
    assert len(bot.api.calls_to("setMyCommands")) == 9 + 1  # the defaults at start-up, then one menu for Boss


async def test_menus_differ_per_role(bot: Bot) -> None:
    section = await make_section(bot.db)
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID)
    await boss.send("/start")
    staff = bot.tg.private_user("Staff")
    await make_member(bot.db, staff.id, "Staff", section=section, language="en")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=section, language="en")

    admin_help = (await boss.send("/help")).texts[0]
    staff_help = (await staff.send("/help")).texts[0]
    head_help = (await head.send("/help")).texts[0]

    assert "/members" in admin_help and "/invite" in admin_help
    assert "/invite" in head_help and "/members" not in head_help
    assert "/invite" not in staff_help and "/members" not in staff_help and "/whoami" in staff_help
    assert bot.api.commands_for("chat", chat_id=ADMIN_ID) != bot.api.commands_for("all_private_chats")


async def test_whoami_shows_the_profile(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    alice = bot.tg.private_user("Alice")
    await make_member(bot.db, alice.id, "王爱丽", role=Role.HEAD, section=section)

    await alice.send("/whoami")

    assert alice.last_text() == "Your profile\nName: 王爱丽\nRole: section head\nSection: 办公室"


async def test_whoami_for_an_outsider_says_to_register(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")

    await alice.send("/whoami")

    assert alice.last_text() == "/whoami is for registered members. Send /start to register."


async def test_member_language_choice_wins_over_telegram_language(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    alice = bot.tg.private_user("Alice", language="en")
    await make_member(bot.db, alice.id, "Alice", role=Role.HEAD, section=section, language="zh_CN")

    await alice.send("/start")

    assert "你已注册为Alice（办公室，负责人）" in alice.last_text()


async def test_chinese_newcomer_is_answered_in_chinese(bot: Bot) -> None:
    await make_section(bot.db)
    li = bot.tg.private_user("李雷", language="zh-hans")

    await li.send("/start")

    assert "欢迎使用双优助手" in li.last_text()
    assert li.buttons() == [["行政审批科"], ["取消"]]


async def test_roster_member_is_recognised_by_username(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    roster_entry = await make_member(bot.db, None, "李四", role=Role.HEAD, section=section, username="lisi_tg")
    li = bot.tg.private_user("Li", username="LiSi_TG")

    await li.send("/start")

    assert "You are registered as 李四, section head of 办公室" in li.last_text()
    member = await reload_member(bot.db, roster_entry.id)
    assert member.telegram_id == li.id


async def test_archived_sections_are_not_offered(bot: Bot) -> None:
    from storage import sections

    await make_section(bot.db, "办公室")
    old = await make_section(bot.db, "旧科室")
    async with bot.db.transaction() as session:
        await sections.set_archived(session=session, section=old, archived=True, now=bot.clock.now())
    alice = bot.tg.private_user("Alice")

    await alice.send("/start")
    sent = await alice.press_data(f"reg:{old.id}", message=alice.last_message())

    assert alice.buttons() == [["办公室"], ["Cancel"]]
    assert sent.answer == "That section is no longer open for registration. Send /start to choose again."


async def test_invisible_names_are_refused(bot: Bot) -> None:
    await make_section(bot.db)
    alice = bot.tg.private_user("Alice")
    await alice.send("/start")
    await alice.press("行政审批科")

    await alice.send("\u200b\u200b")

    assert alice.last_text() == "Please send a name with letters or digits (a command is not a name)."


async def test_request_reaches_the_admins_that_can_be_reached(bot: Bot, settings: object) -> None:
    """An admin named in the config who never opened the bot cannot be written to; the others still are."""
    await make_section(bot.db)
    deputy = bot.tg.private_user("Deputy", language="en")
    await make_member(bot.db, deputy.id, "Deputy", role=Role.ADMIN, language="en")
    bot.api.fail_next("sendMessage", status=400, chat_id=ADMIN_ID)  # "chat not found"
    alice = bot.tg.private_user("Alice")
    await alice.send("/start")
    await alice.press("行政审批科")
    await alice.send("Alice")

    sent = await alice.press("Send the request")

    assert sent.edited[-1].text.startswith("Your request has been sent to the administrators.")
    assert deputy.last_text().startswith("New registration")


async def test_members_are_greeted_briefly(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    alice = bot.tg.private_user("Alice")
    await make_member(bot.db, alice.id, "Alice", section=section)

    await alice.send("/start")

    assert (
        alice.last_text() == "You are registered as Alice, staff member of 办公室. Send /help to see what you can do."
    )


async def test_going_back_to_the_sections_forgets_the_one_chosen(bot: Bot) -> None:
    """Back to the list clears the choice: typed text then asks to choose, it does not become the name; /cancel
    while the list is shown cancels the registration."""
    await make_section(bot.db, "市场开发科")
    await make_section(bot.db, "办公室")
    alice = bot.tg.private_user("Alice")
    await alice.send("/start")
    await alice.press("市场开发科")
    await alice.press("Choose another section")

    typed = await alice.send("Alice Wang")

    assert typed.texts == ["Please choose your section from the list above first, or send /cancel."]
    await alice.press("办公室")
    await alice.send("Alice Wang")
    assert "Section: <b>办公室</b>" in alice.last_message().html and "Alice Wang" in alice.last_text()
    await alice.send("/start")
    cancelled = await alice.send("/cancel")
    assert cancelled.texts == ["Stopped. Send /help to see what you can do."]
    assert (await alice.send("Alice Wang")).texts != [
        "Please choose your section from the list above first, or send /cancel."
    ]
