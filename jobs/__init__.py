"""Scheduled work. The JobQueue only fires periodic sweeps; the state they act on lives in the database.

Each job module exposes `schedule(application)`; `schedule_all` registers them at start-up (APScheduler keeps
jobs in memory only, so they are registered again on every start).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram.ext import Application


def schedule_all(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    from jobs import outbox, reminders  # the job modules use the handlers' keyboards; bot/app imports this first

    schedules: tuple[Callable[[Application[Any, Any, Any, Any, Any, Any]], None], ...] = (
        reminders.schedule,
        outbox.schedule,
    )
    for schedule in schedules:
        schedule(application)
