"""`python -m bot demo`: a fresh database gets a whole sample campaign; a database in use is left alone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.config import Settings
from bot.console import stable_id
from bot.demo import GROUP_CHAT_ID, GROUP_TITLE, DatabaseNotEmpty, fill_demo
from storage import campaigns, groups, members, scoring, sections, snapshots, tasks
from storage.models import PeriodKind, Role, TargetKind, Task, TaskStatus
from storage.session import Database
from tests.cli import ROOT, call_cli, run_cli
from tests.conftest import ADMIN_ID
from tests.factories import make_member, make_section

DEMO_DAY = dt.date(2026, 9, 16)  # a Wednesday


@pytest.fixture
def settings_2026(settings: Settings) -> Settings:
    """The 2026 campaign whatever the year, so that the made-up campaign (and its working days) is always the same."""
    campaign = settings.campaign.model_copy(update={"starts": dt.date(2026, 5, 1), "ends": dt.date(2026, 12, 31)})
    return settings.model_copy(update={"campaign": campaign})


async def all_tasks(db: Database, count: int) -> list[Task]:
    """The demo's tasks, by id (a fresh database numbers them from 1)."""
    async with db.transaction() as session:
        found = [await tasks.get_task(session=session, task_id=task_id) for task_id in range(1, count + 1)]
    return [task for task in found if task is not None]


async def test_demo_fills_a_fresh_database_with_a_ranked_campaign(db: Database, settings_2026: Settings) -> None:
    settings, today = settings_2026, DEMO_DAY

    summary = await fill_demo(db=db, settings=settings, today=today)

    async with db.transaction() as session:
        assert 95 <= await members.count_members(session=session) <= 105
        whole = await campaigns.period_at(session=session, kind=PeriodKind.CAMPAIGN, today=today)
        assert whole is not None
        board = await scoring.compute_board(
            session=session, rules=settings.scoring.rules(), period=whole, kind=TargetKind.SECTION
        )
        assert await scoring.check_tallies(session=session) == []
        group = await groups.get_campaign_group(session=session)
        last = await snapshots.latest_snapshot(session=session, period_id=whole.id or 0)
        before = await snapshots.previous_ranks(session=session, period_id=whole.id or 0, kind=TargetKind.SECTION)
        head = await members.get_member_by_telegram_id(session=session, telegram_id=stable_id("张伟"))
        admin = await members.get_member_by_telegram_id(session=session, telegram_id=ADMIN_ID)
    shown = [scoring.shown(standing.score) for standing in board.ranked]
    assert len(board.ranked) == 12 and not board.unranked
    assert len(set(shown)) == len(shown)
    assert group is not None and (group.chat_id, group.title) == (GROUP_CHAT_ID, GROUP_TITLE)
    assert last is not None and last.slot == "demo:2"
    assert before is not None and any(before[s.target_id] != s.rank for s in board.ranked)  # /ranking shows ▲ ▼
    assert head is not None and (head.display_name, head.role) == ("张伟", Role.HEAD)  # the console's :user 张伟
    assert admin is not None and (admin.display_name, admin.role) == ("管理员", Role.ADMIN)
    made = await all_tasks(db, sum(summary.tasks[state] for state in ("open", "done", "cancelled")))
    states = {task.status for task in made}
    overdue = [task for task in made if task.status == TaskStatus.OPEN and task.due_on < today]
    assert states == {TaskStatus.OPEN, TaskStatus.DONE, TaskStatus.CANCELLED}
    assert overdue and all(task.overdue_days > 0 for task in overdue)
    assert any(task.status == TaskStatus.OPEN and task.due_on >= today for task in made)


async def test_demo_refuses_a_database_in_use_and_changes_nothing(db: Database, settings: Settings) -> None:
    office = await make_section(db, "行政审批科")
    await make_member(db, 12345, "李娜", role=Role.HEAD, section=office)

    with pytest.raises(DatabaseNotEmpty, match="fresh one"):
        await fill_demo(db=db, settings=settings, today=DEMO_DAY)

    async with db.transaction() as session:
        assert [member.display_name for member in await members.list_members(session=session)] == ["李娜"]
        assert [section.name for section in await sections.list_sections(session=session)] == ["行政审批科"]
        assert await groups.get_campaign_group(session=session) is None
        assert await campaigns.period_at(session=session, kind=PeriodKind.CAMPAIGN, today=DEMO_DAY) is None


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A fresh directory holding the shipped config.toml, as a checkout would."""
    (tmp_path / "config.toml").write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path


def test_demo_command_fills_the_database_once_then_refuses(workdir: Path) -> None:
    today = dt.date.today()
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'demo.db'}",
        # a short campaign (last month and this one), to keep the test quick whatever the date
        "SHUANGYOU_CAMPAIGN__STARTS": last_month.isoformat(),
        "SHUANGYOU_CAMPAIGN__ENDS": (today + dt.timedelta(days=40)).isoformat(),
    }

    first = run_cli("demo", cwd=workdir, env=env)
    second = run_cli("demo", cwd=workdir, env=env)

    assert first.returncode == 0, first.stderr
    assert "12 sections" in first.stdout and "over 2 rating periods" in first.stdout
    assert "Now run: python -m bot console" in first.stdout
    assert ":user 管理员" in first.stdout and ":user 张伟" in first.stdout
    assert second.returncode == 2
    assert second.stdout == ""
    assert second.stderr.startswith("demo: the database is in use") and second.stderr.count("\n") == 1
    assert "Traceback" not in first.stderr + second.stderr


def test_demo_command_has_help(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    result = call_cli(monkeypatch, capsys, "demo", "--help", cwd=workdir)

    assert result.returncode == 0
    assert result.stdout.startswith("usage: python -m bot demo")
