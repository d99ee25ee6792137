"""Scheduled work. The JobQueue only fires periodic sweeps; the state they act on lives in the database.

Each job module exposes `schedule(application)`; `schedule_all` registers them at start-up (APScheduler keeps
jobs in memory only, so they are registered again on every start).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram.ext import Application

JOB_MODULES: tuple[Callable[[Application[Any, Any, Any, Any, Any, Any]], None], ...] = ()


def schedule_all(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    for schedule in JOB_MODULES:
        schedule(application)
