"""What config.toml names (the standards, the reasons for a bad review) and what the bot makes of it (the title of
a rectification task), in the reader's language: a reader sees their language only."""

from __future__ import annotations

from collections.abc import Sequence

from bot.config import Label, Settings
from bot.i18n import CHINESE, LANGUAGES, N_, Translator, translator
from storage.models import Task

N_RECTIFY = N_("Rectify a bad review: {why}")


def label_name(tr: Translator, label: Label) -> str:
    return label.name(tr.language)


def listed(tr: Translator, parts: Sequence[str]) -> str:
    """Parts of one sentence one after the other, with the reader's separator."""
    return ("；" if tr.language == CHINESE else "; ").join(part for part in parts if part)


def reason_names(tr: Translator, settings: Settings, keys: Sequence[str]) -> list[str]:
    """The reasons of a bad review by their keys; one no longer configured is shown as it was stored."""
    names = []
    for key in keys:
        tag = settings.reviews.tag(key)
        names.append(tag.name(tr.language) if tag is not None else key)
    return names


def why_bad(tr: Translator, settings: Settings, keys: Sequence[str], typed: str = "") -> str:
    """A bad review's reasons and typed reason, as one text."""
    return listed(tr, [*reason_names(tr, settings, keys), typed])


def rectification_titles(settings: Settings, keys: Sequence[str], typed: str) -> dict[str, str]:
    """The title of the rectification task of a bad review, in each language."""
    titles = {}
    for language in LANGUAGES:
        tr = translator(language)
        titles[language] = tr.plain(N_RECTIFY, why=why_bad(tr, settings, keys, typed))[:200]
    return titles


def task_title(tr: Translator, task: Task) -> str:
    """A task's title in the reader's language where the bot made it (else as typed)."""
    if task.title_by_language:
        return task.title_by_language.get(tr.language, task.title)
    return task.title
