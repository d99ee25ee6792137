"""Texts: every message the code can show has a Simplified Chinese translation that fits it."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from bot.fake_api import _TelegramHtml
from bot.i18n import CHINESE, ENGLISH, LOCALE_DIR, N_, Html, pick_language, translator

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("bot", "handlers", "jobs", "storage", "web")
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}


def code_msgids() -> set[str]:
    found: set[str] = set()
    for folder in SOURCES:
        for _filename, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=METHODS, keywords=KEYWORDS
        ):
            found.add(message if isinstance(message, str) else message[0])  # plurals are keyed by the singular
    return found


def chinese_catalog() -> dict[str, object]:
    with (LOCALE_DIR / CHINESE / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    return {message.id if isinstance(message.id, str) else message.id[0]: message for message in catalog if message.id}


def fields(text: str) -> set[str]:
    return {name for _literal, name, _spec, _conversion in string.Formatter().parse(text) if name}


def tags(text: str) -> list[str]:
    return sorted(re.findall(r"</?[a-z-]+", text))


def test_code_has_texts_at_all() -> None:
    assert len(code_msgids()) > 10


def test_every_text_has_a_chinese_translation() -> None:
    catalog = chinese_catalog()
    missing = []
    for msgid in sorted(code_msgids()):
        entry = catalog.get(msgid)
        string_ = getattr(entry, "string", None)
        translated = string_ if isinstance(string_, str) else (string_ or [""])[0]
        if entry is None or not translated or "fuzzy" in getattr(entry, "flags", set()):
            missing.append(msgid)
    assert not missing, f"without a Chinese translation (run pybabel extract/update, see README): {missing}"


def test_translations_keep_the_placeholders_and_markup() -> None:
    for msgid, entry in chinese_catalog().items():
        translated = entry.string  # type: ignore[attr-defined]
        if not isinstance(translated, str) or not translated:
            continue
        assert fields(translated) == fields(msgid), msgid
        assert tags(translated) == tags(msgid), msgid
        _TelegramHtml.parse(translated.replace("{", "").replace("}", ""))


@pytest.mark.parametrize(
    ("chosen", "telegram", "expected"),
    [
        (None, "zh-hans", CHINESE),
        (None, "zh-TW", CHINESE),
        (None, "en-GB", ENGLISH),
        (None, "de", CHINESE),
        (None, None, CHINESE),
        ("en", "zh", ENGLISH),
        ("zh_CN", "en", CHINESE),
    ],
)
def test_language_is_chosen_then_telegram_then_default(chosen: str | None, telegram: str | None, expected: str) -> None:
    assert pick_language(chosen=chosen, telegram=telegram, default=CHINESE) == expected


def test_placeholders_are_escaped_unless_already_html() -> None:
    tr = translator(ENGLISH)
    msgid = N_("I don't know the command {command}. Send /help to see the commands you can use.")

    assert "&lt;b&gt;" in tr.gettext(msgid, command="<b>")
    assert "<b>x</b>" in tr.gettext(msgid, command=Html("<b>x</b>"))


def test_chinese_translator_translates() -> None:
    assert translator(CHINESE).gettext("What you can do here") == "你可以在这里做的事"
