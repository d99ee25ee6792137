"""Deadline tasks (限时办结) and their history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import scoring
from storage.models import Member, MemberStatus, Role, Task, TaskEvent, TaskStatus


async def create_task(
    *,
    session: AsyncSession,
    section_id: int,
    title: str,
    due_on: dt.date,
    responsible_id: int | None,
    created_by_id: int | None,
    title_by_language: dict[str, str] | None = None,
) -> Task:
    task = Task(
        section_id=section_id,
        title=title,
        title_by_language=title_by_language,
        due_on=due_on,
        responsible_id=responsible_id,
        created_by_id=created_by_id,
    )
    session.add(task)
    await session.flush()
    await record_event(session=session, task=task, actor_id=created_by_id, kind="created", detail=due_on.isoformat())
    return task


async def get_task(*, session: AsyncSession, task_id: int) -> Task | None:
    return await session.get(Task, task_id)


async def list_open_tasks(
    *, session: AsyncSession, section_id: int | None = None, limit: int | None = None
) -> list[Task]:
    query = select(Task).where(Task.status == TaskStatus.OPEN).order_by(col(Task.due_on), col(Task.id))
    if section_id is not None:
        query = query.where(Task.section_id == section_id)
    if limit is not None:
        query = query.limit(limit)
    return list((await session.exec(query)).all())


async def record_event(*, session: AsyncSession, task: Task, actor_id: int | None, kind: str, detail: str = "") -> None:
    assert task.id is not None
    session.add(TaskEvent(task_id=task.id, actor_id=actor_id, kind=kind, detail=detail[:500]))
    await session.flush()


async def list_events(*, session: AsyncSession, task_id: int) -> list[TaskEvent]:
    query = select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(col(TaskEvent.id))
    return list((await session.exec(query)).all())


async def close_task(
    *, session: AsyncSession, task: Task, status: TaskStatus, actor_id: int | None, note: str, now: dt.datetime
) -> Task:
    task.status, task.closed_at, task.note = status, now, note[:500]
    session.add(task)
    await session.flush()
    await record_event(session=session, task=task, actor_id=actor_id, kind=status.value, detail=note)
    await scoring.sync_review_of_task(session=session, task_id=task.id or 0)  # a rectified bad review
    return task


async def extend_task(*, session: AsyncSession, task: Task, due_on: dt.date, reason: str, actor_id: int | None) -> Task:
    old = task.due_on
    task.due_on, task.extensions, task.escalated_at = due_on, task.extensions + 1, None
    session.add(task)
    await session.flush()
    await record_event(
        session=session,
        task=task,
        actor_id=actor_id,
        kind="extended",
        detail=f"{old.isoformat()} → {due_on.isoformat()}: {reason}",
    )
    return task


async def reassign_task(*, session: AsyncSession, task: Task, responsible: Member | None, actor_id: int | None) -> Task:
    """Gives the task to another member of its section, or back to the section as a whole (None)."""
    task.responsible_id = responsible.id if responsible is not None else None
    session.add(task)
    await session.flush()
    await record_event(
        session=session,
        task=task,
        actor_id=actor_id,
        kind="reassigned",
        detail=responsible.display_name if responsible is not None else "",
    )
    return task


async def release_tasks_of(
    *, session: AsyncSession, member_id: int, section_id: int, actor_id: int | None
) -> list[Task]:
    """The member's open tasks of a section they leave (deactivated or moved) fall back to the section."""
    query = select(Task).where(
        Task.responsible_id == member_id, Task.section_id == section_id, Task.status == TaskStatus.OPEN
    )
    released = list((await session.exec(query.order_by(col(Task.due_on), col(Task.id)))).all())
    for task in released:
        await reassign_task(session=session, task=task, responsible=None, actor_id=actor_id)
    return released


async def save_task(*, session: AsyncSession, task: Task) -> Task:
    session.add(task)
    await session.flush()
    return task


async def section_heads(*, session: AsyncSession, section_id: int) -> list[Member]:
    """The section's active heads (each review from the web page tells them: the statement is built once)."""
    return list((await session.exec(_SECTION_HEADS, params={"section_id": section_id})).all())


_SECTION_HEADS = (
    select(Member)
    .where(
        col(Member.section_id) == bindparam("section_id"),
        Member.role == Role.HEAD,
        Member.status == MemberStatus.ACTIVE,
    )
    .order_by(col(Member.id))
)


async def leaders(*, session: AsyncSession) -> list[Member]:
    query = select(Member).where(Member.role == Role.LEADER, Member.status == MemberStatus.ACTIVE)
    return list((await session.exec(query.order_by(col(Member.id)))).all())


async def list_section_staff(*, session: AsyncSession, section_id: int) -> list[Member]:
    """The section's active staff and heads: those a task can be given to."""
    query = select(Member).where(
        Member.section_id == section_id,
        Member.status == MemberStatus.ACTIVE,
        col(Member.role).in_([Role.STAFF, Role.HEAD]),
    )
    return list((await session.exec(query.order_by(col(Member.sort_name)))).all())


async def unreachable_heads(*, session: AsyncSession) -> list[Member]:
    """Heads whose reminders cannot be delivered: they blocked the bot."""
    query = select(Member).where(
        Member.role == Role.HEAD, Member.status == MemberStatus.ACTIVE, col(Member.reachable).is_(False)
    )
    return list((await session.exec(query.order_by(col(Member.sort_name)))).all())


async def list_tasks_due_by(*, session: AsyncSession, section_id: int, due_by: dt.date) -> list[Task]:
    """The section's open tasks due by a date (overdue ones included), soonest first."""
    query = select(Task).where(Task.section_id == section_id, Task.status == TaskStatus.OPEN, Task.due_on <= due_by)
    return list((await session.exec(query.order_by(col(Task.due_on), col(Task.id)))).all())


async def list_overdue_tasks(*, session: AsyncSession, today: dt.date) -> list[Task]:
    query = select(Task).where(Task.status == TaskStatus.OPEN, Task.due_on < today)
    return list((await session.exec(query.order_by(col(Task.section_id), col(Task.due_on)))).all())
