"""/sections: everyone sees them; admins add, rename, archive and restore them."""

from __future__ import annotations

from storage import sections
from storage.models import MemberStatus, Role, SectionKind
from tests.conftest import ADMIN_ID, Bot
from tests.factories import make_member, make_section


async def admin(bot: Bot):  # type: ignore[no-untyped-def]
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID)
    await boss.send("/start")
    return boss


async def test_sections_lists_heads_and_member_counts(bot: Bot) -> None:
    office = await make_section(bot.db, "办公室")
    station = await make_section(bot.db, "游客服务站", SectionKind.STATION)
    await make_member(bot.db, 1, "张三", role=Role.HEAD, section=office)
    await make_member(bot.db, 2, "李四", section=office)
    await make_member(bot.db, 3, "王五", section=office, status=MemberStatus.PENDING)
    alice = bot.tg.private_user("Alice")
    await make_member(bot.db, alice.id, "Alice", section=station)

    await alice.send("/sections")

    assert alice.last_text() == (
        "Office sections (科室)\n• 办公室 — 张三 — 2 members\n\nStations (站所)\n• 游客服务站 — no head yet — 1 member"
    )
    assert alice.buttons() == []


async def test_sections_are_listed_offices_first_each_by_pinyin_everywhere(bot: Bot) -> None:
    for name in ("质量监督科", "长安站", "办公室", "行政审批科", "东城站", "财务科", "Zeta Office"):
        await make_section(bot.db, name, SectionKind.STATION if name.endswith("站") else SectionKind.OFFICE)
    alice = bot.tg.private_user("Alice")
    await make_member(bot.db, alice.id, "Alice", role=Role.LEADER, language="en")

    await alice.send("/sections")
    assert [line[2:].split(" — ")[0] for line in alice.last_text().splitlines() if line.startswith("• ")] == [
        *("Zeta Office", "办公室", "财务科", "行政审批科", "质量监督科"),
        *("长安站", "东城站"),
    ]
    await alice.send("/commitments")
    assert [row[0] for row in alice.buttons()][:5] == ["Zeta Office", "办公室", "财务科", "行政审批科", "质量监督科"]
    await alice.send("/rate")
    await alice.press("A section or station")
    assert [row[0] for row in alice.buttons()][:3] == ["Zeta Office", "办公室", "财务科"]


async def test_admin_adds_a_station(bot: Bot) -> None:
    boss = await admin(bot)
    await boss.send("/sections")

    await boss.press("➕ Add a section")
    await boss.press("Station (站所)")
    await boss.send("  游客   服务中心 ")

    assert boss.last_text().startswith("Section added.\n\n游客 服务中心\nStation (站所)")
    async with bot.db.transaction() as session:
        created = await sections.get_section_by_name(session=session, name="游客 服务中心")
    assert created is not None and created.kind == SectionKind.STATION


async def test_duplicate_section_name_is_refused(bot: Bot) -> None:
    await make_section(bot.db, "办公室")
    boss = await admin(bot)
    await boss.send("/sections")
    await boss.press("➕ Add a section")
    await boss.press("Office section (科室)")

    await boss.send("办公室")

    assert boss.last_text() == "There is already a section called 办公室. Type another name."
    async with bot.db.transaction() as session:
        assert len(await sections.list_sections(session=session)) == 1


async def test_admin_renames_and_archives_then_restores(bot: Bot) -> None:
    await make_section(bot.db, "办公室")
    boss = await admin(bot)
    await boss.send("/sections")
    await boss.press("✎ 办公室")
    await boss.press("Rename")
    await boss.send("综合办公室")
    assert boss.last_text().startswith("Renamed.\n\n综合办公室")

    sent = await boss.press("Archive")
    assert sent.answer == "Archived."
    alice = bot.tg.private_user("Alice")
    await alice.send("/start")
    assert "no sections have been set up" in alice.last_text()

    await boss.press("Restore")
    await alice.send("/start")
    assert alice.buttons() == [["综合办公室"], ["Cancel"]]


async def test_staff_cannot_manage_sections_even_with_forged_buttons(bot: Bot) -> None:
    office = await make_section(bot.db, "办公室")
    staff = bot.tg.private_user("Staff")
    await make_member(bot.db, staff.id, "Staff", section=office)
    await staff.send("/sections")
    assert staff.buttons() == []

    sent = await staff.press_data(f"secx:{office.id}:1", message=staff.last_message())

    assert sent.answer == "Only administrators can do that."
    async with bot.db.transaction() as session:
        section = await sections.get_section(session=session, section_id=office.id or 0)
    assert section is not None and section.archived_at is None


async def test_outsider_is_told_to_register(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")

    await alice.send("/sections")

    assert alice.last_text() == "/sections is for registered members. Send /start to register."


async def test_sections_are_paged(bot: Bot) -> None:
    for number in range(12):
        await make_section(bot.db, f"科室{number:02d}")
    boss = await admin(bot)

    await boss.send("/sections")
    assert boss.buttons()[-1] == ["1/2", "Next ›"]
    await boss.press("Next ›")

    assert boss.buttons()[1] == ["✎ 科室08"]
    assert boss.buttons()[-1] == ["‹ Previous", "2/2"]
