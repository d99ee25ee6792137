"""/commitments: everyone registered reads them; a section's head and admins keep them."""

from __future__ import annotations

from storage import commitments
from storage.models import Role
from tests.conftest import Bot
from tests.factories import make_member, make_section


async def test_head_adds_edits_and_removes_commitments(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=section, language="en")

    await head.send("/commitments")
    assert head.last_text() == "行政审批科 has not published any service commitments yet."
    await head.press("➕ Add a commitment")
    await head.send("每件咨询一个工作日内答复")
    await head.press("➕ Add a commitment")
    await head.send("一次性告知所需材料 <全部>")
    assert (
        head.last_text()
        == "Service commitments of 行政审批科\n1. 每件咨询一个工作日内答复\n2. 一次性告知所需材料 <全部>"
    )
    await head.press("✎ 1")
    await head.send("每件咨询半个工作日内答复")
    await head.press("🗑 2")
    assert head.last_text() == "Remove this commitment of 行政审批科?\n一次性告知所需材料 <全部>"
    await head.press("‹ Back")
    assert head.last_text().endswith("\n2. 一次性告知所需材料 <全部>"), "Back removed nothing"
    await head.press("🗑 2")
    await head.press("Yes, remove it")

    assert head.last_text() == "Service commitments of 行政审批科\n1. 每件咨询半个工作日内答复"


async def test_an_over_long_commitment_is_refused_and_asked_for_again(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=section, language="en")
    await head.send("/commitments")
    await head.press("➕ Add a commitment")

    await head.send("<i>承诺书</i>" * 1000)  # 10,000 characters, HTML among them

    assert head.last_text() == (
        "A commitment has at most 300 characters; this one has 10000. Please send a shorter one, or send /cancel to "
        "stop."
    )
    await head.send("一次性告知 <全部> 材料")
    assert head.last_text() == "Service commitments of 行政审批科\n1. 一次性告知 <全部> 材料"
    await head.press("✎ 1")
    await head.send("改" * 301)
    assert head.last_text().startswith("A commitment has at most 300 characters; this one has 301. Please send")
    await head.send("一次性告知全部材料")

    assert head.last_text() == "Service commitments of 行政审批科\n1. 一次性告知全部材料"
    async with bot.db.transaction() as session:
        assert [
            item.text for item in await commitments.list_commitments(session=session, section_id=section.id or 0)
        ] == ["一次性告知全部材料"]


async def test_a_head_who_sends_a_long_commitment_in_chinese_is_asked_again_in_chinese(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    head = bot.tg.private_user("Head", language="zh-hans")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=section, language="zh_CN")
    await head.send("/commitments")
    await head.press("➕ 添加承诺")

    await head.send("长" * 301)

    assert head.last_text() == "一条承诺最多 300 个字符，这条有 301 个字符。请发送短一些的内容，或发送 /cancel 停止。"


async def test_staff_read_other_sections_but_cannot_change_them(bot: Bot) -> None:
    own, other = await make_section(bot.db, "办公室"), await make_section(bot.db, "行政审批科")
    async with bot.db.transaction() as session:
        item = await commitments.add_commitment(
            session=session, section_id=other.id or 0, text="承诺", created_by_id=None
        )
    staff = bot.tg.private_user("Staff")
    await make_member(bot.db, staff.id, "Staff", section=own, language="en")

    await staff.send("/commitments 审批")
    assert staff.last_text() == "Service commitments of 行政审批科\n1. 承诺"
    assert staff.buttons() == [["‹ Other sections"]]
    forged = await staff.press_data(f"cmr:{item.id}:1", message=staff.last_message())

    assert forged.answer == "Only the section's head and administrators can change its commitments."
    async with bot.db.transaction() as session:
        assert len(await commitments.list_commitments(session=session, section_id=other.id or 0)) == 1


async def test_unknown_section_name_is_refused(bot: Bot) -> None:
    section = await make_section(bot.db)
    staff = bot.tg.private_user("Staff")
    await make_member(bot.db, staff.id, "Staff", section=section, language="en")

    await staff.send("/commitments 不存在")

    assert staff.last_text() == "There is no section called “不存在”. Send /sections to see them."


async def test_leader_without_section_chooses_one(bot: Bot) -> None:
    await make_section(bot.db, "办公室")
    leader = bot.tg.private_user("Leader")
    await make_member(bot.db, leader.id, "Leader", role=Role.LEADER, language="en")

    await leader.send("/commitments")
    await leader.press("办公室")

    assert leader.last_text() == "办公室 has not published any service commitments yet."


async def test_a_leader_in_a_section_still_chooses_and_goes_from_one_to_another(bot: Bot) -> None:
    office = await make_section(bot.db, "办公室")
    await make_section(bot.db, "财务科")
    leader = bot.tg.private_user("Leader")
    await make_member(bot.db, leader.id, "Leader", role=Role.LEADER, section=office, language="en")

    await leader.send("/commitments")
    assert leader.last_text() == "Whose commitments?"
    await leader.press("办公室")
    assert leader.buttons() == [["‹ Other sections"]]
    await leader.press("‹ Other sections")
    await leader.press("财务科")

    assert leader.last_text() == "财务科 has not published any service commitments yet."


async def test_a_long_list_of_commitments_is_shown_in_parts_and_each_can_still_be_removed(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=section, language="en")
    async with bot.db.transaction() as session:
        for number in range(14):
            text = f"承诺{number:02} " + "办" * 285 + " & <准时>"
            await commitments.add_commitment(session=session, section_id=section.id or 0, text=text, created_by_id=None)

    shown = await head.send("/commitments")

    assert len(shown.messages) >= 2 and all(len(message.text) <= 4096 for message in shown.messages)
    assert "承诺13" in shown.messages[-1].text and ["🗑 14"] in [[label] for row in head.buttons() for label in row]
    await head.press("🗑 14")
    await head.press("Yes, remove it")
    async with bot.db.transaction() as session:
        left = await commitments.list_commitments(session=session, section_id=section.id or 0)
    assert len(left) == 13 and all(not item.text.startswith("承诺13") for item in left)
    assert bot.errors.records == []
