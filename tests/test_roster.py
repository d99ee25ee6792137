"""`python -m bot import-staff`: all or nothing, line numbers for bad rows, updates on a second run."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import pytest
from sqlmodel import select

from bot.__main__ import import_staff
from bot.config import Settings
from bot.roster import RosterError, read_roster
from storage.models import Member, MemberStatus, Role, Section, SectionKind
from storage.session import Database
from tests.conftest import Bot
from tests.factories import make_member, make_section, member_of

HEADER = "name,section,role,telegram,kind\n"
GOOD = HEADER + (
    "张三,行政审批科,staff,,\n李四,行政审批科,科室负责人,@lisi_tg,\n王五,游客服务站,站长,12345,站所\n赵六,,局领导,,\n"
)


def read_links(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def roster_args(path: Path, out: Path) -> argparse.Namespace:
    return argparse.Namespace(file=path, out=out, bot_username="ShuangyouBot", valid_days=30)


async def everything(db: Database) -> tuple[list[str], list[str]]:
    async with db.transaction() as session:
        people = sorted(member.display_name for member in (await session.exec(select(Member))).all())
        places = sorted(section.name for section in (await session.exec(select(Section))).all())
    return people, places


async def test_bad_row_on_line_17_names_it_and_imports_nothing(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    rows = [f"Person {number},办公室,staff,," for number in range(2, 17)] + ["Bad,办公室,boss,,"]
    path = tmp_path / "roster.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")

    with pytest.raises(RosterError, match=r"^line 17: unknown role “boss”"):
        await import_staff(settings, roster_args(path, tmp_path / "out.csv"))

    assert await everything(db) == ([], [])


async def test_good_import_twice_updates_rather_than_duplicates(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    path, out = tmp_path / "roster.csv", tmp_path / "invites.csv"
    path.write_text(GOOD, encoding="utf-8")

    assert await import_staff(settings, roster_args(path, out)) == 0
    first_links = out.read_text(encoding="utf-8-sig")
    path.write_text(GOOD.replace("张三,行政审批科,staff", "张三,行政审批科,head"), encoding="utf-8")
    assert await import_staff(settings, roster_args(path, out)) == 0

    assert await everything(db) == (["张三", "李四", "王五", "赵六"], ["游客服务站", "行政审批科"])
    async with db.transaction() as session:
        zhang = (await session.exec(select(Member).where(Member.display_name == "张三"))).one()
        station = (await session.exec(select(Section).where(Section.name == "游客服务站"))).one()
    assert zhang.role == Role.HEAD and zhang.telegram_id is None
    assert station.kind == SectionKind.STATION
    links = read_links(out)
    assert [(row["name"], row["role"]) for row in links] == [("张三", "head"), ("赵六", "leader")]
    assert links[0]["link"].startswith("https://t.me/ShuangyouBot?start=i_")
    assert first_links.splitlines()[1].split(",")[-1] == links[0]["link"], "the same personal link again"


async def test_personal_link_from_the_roster_binds_the_person(bot: Bot, settings: Settings, tmp_path: Path) -> None:
    path, out = tmp_path / "roster.csv", tmp_path / "invites.csv"
    path.write_text(GOOD, encoding="utf-8")
    await import_staff(settings, roster_args(path, out))
    link = read_links(out)[0]["link"]
    zhang = bot.tg.private_user("Zhang")

    await zhang.send("/start " + link.split("?start=")[1])

    assert "You are registered as 张三, staff member of 行政审批科" in zhang.last_text()
    member = await member_of(bot.db, zhang.id)
    assert member is not None and member.display_name == "张三"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (HEADER + "张三,办公室,staff,,\n,办公室,staff,,\n", "line 3: the name is empty"),
        (HEADER + "张三,办公室,staff,,\n张三,办公室,head,,\n", "line 3: the same person as on line 2"),
        (HEADER + "张三,办公室,staff,@zs_tg,\n李四,办公室,staff,@ZS_tg,\n", "line 3: the same person as on line 2"),
        (HEADER + "张三,,staff,,\n", "line 2: staff needs a section"),
        (HEADER + "张三,办公室,staff,not a handle!,\n", "line 2: “not a handle!” is neither"),
        (HEADER + "张三,办公室,staff,,planet\n", "line 2: unknown kind “planet”"),
        ("姓名,科室\n张三,办公室\n", "line 1: no “role” column"),
        ("", "line 1: the file is empty"),
        (HEADER, "line 2: there are no people in the file"),
    ],
)
def test_bad_rosters_name_the_line(content: str, expected: str) -> None:
    with pytest.raises(RosterError, match=f"^{expected}"):
        read_roster(content.encode())


def test_wrong_encoding_names_the_line() -> None:
    data = (HEADER + "张三,办公室,staff,,\n李四,办公室,staff,,\n").encode("utf-8")
    data = data.replace("李四".encode(), "李四".encode("gb18030"))

    with pytest.raises(RosterError, match=r"^line 3: this is not UTF-8 text"):
        read_roster(data)


def test_chinese_headers_and_a_byte_order_mark_are_accepted() -> None:
    rows = read_roster("\ufeff姓名,科室,角色,电报\n张三,办公室,工作人员,@zhang_san\n".encode())

    assert [(row.name, row.section, row.role, row.username) for row in rows] == [
        ("张三", "办公室", Role.STAFF, "zhang_san")
    ]


def test_every_bad_row_is_reported_at_once() -> None:
    content = HEADER + "张三,办公室,boss,,\n,办公室,staff,,\n李四,办公室,staff,,\n李四,办公室,staff,,\n"

    with pytest.raises(RosterError) as caught:
        read_roster(content.encode())

    assert str(caught.value).splitlines() == [
        "line 2: unknown role “boss” (expected staff, head, leader or admin)",
        "line 3: the name is empty",
        "line 5: the same person as on line 4",
    ]


async def test_an_import_gives_nothing_to_an_account_by_its_name_alone(
    bot: Bot, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    office = await make_section(bot.db, "行政审批科")
    applicant = bot.tg.private_user("Applicant")
    await make_member(bot.db, applicant.id, "王科长", section=office, status=MemberStatus.PENDING)
    rater = bot.tg.private_user("Rater")
    await make_member(bot.db, rater.id, "李局长", role=Role.INDUSTRY)
    path, out = tmp_path / "roster.csv", tmp_path / "invites.csv"
    path.write_text(HEADER + "王科长,行政审批科,head,,\n李局长,,leader,,\n", encoding="utf-8")

    assert await import_staff(settings, roster_args(path, out)) == 0

    applicant_now, rater_now = await member_of(bot.db, applicant.id), await member_of(bot.db, rater.id)
    assert applicant_now is not None and (applicant_now.role, applicant_now.status) == (
        Role.STAFF,
        MemberStatus.PENDING,
    )
    assert rater_now is not None and (rater_now.role, rater_now.status) == (Role.INDUSTRY, MemberStatus.ACTIVE)
    links = read_links(out)
    assert [(row["name"], row["role"]) for row in links] == [("王科长", "head"), ("李局长", "leader")]
    printed = capsys.readouterr().out
    assert "2 rows had the name of an account that registered on its own" in printed
    assert "王科长 (行政审批科), 李局长." in printed


async def test_a_second_import_matches_its_own_people_by_name_but_reactivates_no_one(
    bot: Bot, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, out = tmp_path / "roster.csv", tmp_path / "invites.csv"
    path.write_text(GOOD, encoding="utf-8")
    assert await import_staff(settings, roster_args(path, out)) == 0
    async with bot.db.transaction() as session:
        zhang = (await session.exec(select(Member).where(Member.display_name == "张三"))).one()
        zhang.status = MemberStatus.INACTIVE
        session.add(zhang)
    capsys.readouterr()

    path.write_text(GOOD.replace("张三,行政审批科,staff", "张三,行政审批科,head"), encoding="utf-8")
    assert await import_staff(settings, roster_args(path, out)) == 0

    async with bot.db.transaction() as session:
        everyone = {m.display_name: m for m in (await session.exec(select(Member))).all()}
    assert len(everyone) == 4  # 赵六, a roster person without Telegram, was matched by name and section
    assert everyone["张三"].status == MemberStatus.INACTIVE and everyone["张三"].role == Role.STAFF
    printed = capsys.readouterr().out
    assert "1 row matched a deactivated member, left deactivated" in printed and "张三 (行政审批科)" in printed
    assert [row["name"] for row in read_links(out)] == ["赵六"]
