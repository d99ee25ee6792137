"""Texts: every message the code can show has a Simplified Chinese translation that fits it."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from bot.fake_api import _TelegramHtml
from bot.i18n import CHINESE, ENGLISH, LOCALE_DIR, N_, Html, pick_language, translator
from storage.models import Role
from tests.conftest import Bot
from tests.factories import make_member, make_section

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


# --- Chinese typography -------------------------------------------------------------------------------------------
# Placeholders whose value is a number, a date, a link, a command or a code: set off from Chinese by a space, like any
# Latin word ("{n} 个工作日", "发送 /rate 评分"). Every other placeholder holds Chinese text (a name, a title, a
# sentence) and sits against the characters around it ("你对{section}的评价").
LATIN_PLACEHOLDERS = {
    *("n", "id", "number", "value", "score", "rank", "count", "total", "first", "last", "mean", "points", "rate"),
    *("limit", "length", "uses", "max_uses", "needed", "rectified"),
    *("day", "typed", "until", "starts", "ends", "year", "quarter", "month", "months", "quarters", "years"),
    *("link", "command", "telegram", "page", "pages", "time", "end", "address"),
}
OPENING = "“‘（《「"
CLOSING = "”’）》」。，、；：？！…"
TEXT_TOKENS = re.compile(r"<[^>]*>|\{(\w*)\}|(.)", re.DOTALL)


def character_kind(character: str) -> str:
    if "\u3400" <= character <= "\u9fff":
        return "han"
    if character in OPENING:
        return "opening"
    if character in CLOSING:
        return "closing"
    if character == " ":
        return "space"
    if character in ",:;()?!":
        return "half-width"
    if character in "\"'":
        return "ascii quote"
    if character.isascii() and (character.isalpha() or character == "/"):
        return "latin"
    return "other"  # digits, emoji, dashes, arrows, the middle dot


def text_kinds(text: str) -> list[str]:
    """The text as a row of kinds; markup is transparent, a placeholder is one token of the kind of its value."""
    kinds = []
    for match in TEXT_TOKENS.finditer(text):
        placeholder, character = match.groups()
        if character is not None:
            kinds.append(character_kind(character))
        elif placeholder is not None:
            kinds.append("latin" if placeholder in LATIN_PLACEHOLDERS else "chinese text")
    return kinds


def typography_problems(text: str) -> Iterator[str]:
    """Where a Chinese text breaks the rules of Chinese typesetting that the catalog follows."""
    kinds = text_kinds(text)
    chinese = {"han", "chinese text"}
    for index, kind in enumerate(kinds):
        left = kinds[index - 1] if index else "start"
        right = kinds[index + 1] if index + 1 < len(kinds) else "end"
        words_around = {next((k for k in reversed(kinds[:index]) if k != "space"), "start")}
        words_around.add(next((k for k in kinds[index + 1 :] if k != "space"), "end"))
        if kind == "space" and (left in {"opening", "closing"} or right == "closing"):
            yield "a space next to full-width punctuation (“。 ”)"
        elif kind == "space" and left in chinese and right in chinese | {"opening"}:
            yield "a space between Chinese words or names (“你对 {section} 的评价”)"
        elif kind == "half-width" and words_around & (chinese | {"opening", "closing"}):
            yield "half-width punctuation in a Chinese sentence (, : ; ( ) ? ! instead of ，：；（）？！)"
        elif kind == "ascii quote":
            yield "an ASCII quote (Chinese quotes are “”)"
        elif {kind, right} == {"han", "latin"}:
            yield "no space between Chinese and a Latin word, a /command, a number or a date (“发送 /rate 评分”)"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("你对 {section} 的评价", "a space between Chinese"),
        ("顺延至下一个工作日。 {day} 到期", "full-width punctuation"),
        ("你好 。", "full-width punctuation"),
        ("保存 “{name}”", "a space between Chinese"),
        ("{section}: {why}", "half-width"),
        ("已列入整改计划 (2026-07-01)", "half-width"),
        ('保留"{name}"', "ASCII quote"),
        ("发送/rate评分", "no space"),
        ("还有{n}个工作日", "no space"),
    ],
)
def test_typography_rules_catch_the_mistakes(text: str, problem: str) -> None:
    assert any(problem in found for found in typography_problems(text)), text


@pytest.mark.parametrize(
    "text",
    [
        "你对{section}的评价",
        "发送 /rate 评分。",
        "{typed} 不是工作日，期限顺延至下一个工作日。{day} 到期（还有 {n} 个工作日）。",
        "⏰ 今天到期：“{title}”（{section}）。",
        "<b>{score}</b> 分（满分 100）· 排名 {rank}/{count} · {raters}",
        "例如：2026-12-05、12-05、12月5日、明天、+3d（天）或 +5wd（工作日）。",
    ],
)
def test_typography_rules_let_good_chinese_pass(text: str) -> None:
    assert list(typography_problems(text)) == []


def test_chinese_texts_follow_chinese_typography() -> None:
    wrong = {}
    for entry in chinese_catalog().values():
        translations = entry.string  # type: ignore[attr-defined]
        for translated in [translations] if isinstance(translations, str) else translations:
            if problems := sorted(set(typography_problems(translated))):
                wrong[translated] = problems
    assert not wrong, wrong


async def test_chinese_sentences_joined_by_the_code_have_no_space_between_them(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    head = bot.tg.private_user("王科长")
    await make_member(bot.db, head.id, "王科长", role=Role.HEAD, section=section, language=CHINESE)
    await head.send("/task")
    await head.send("整理材料")

    await head.send("2026-06-13")  # a Saturday

    assert head.last_text().startswith(
        "2026-06-13 不是工作日，期限顺延至下一个工作日。2026-06-15 到期（还有 3 个工作日）。\n"
    )


async def test_chinese_lists_of_names_are_joined_with_the_enumeration_comma(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    for user_id, name in ((601, "王科长"), (602, "李科长")):
        await make_member(bot.db, user_id, name, role=Role.HEAD, section=section)
    reader = bot.tg.private_user("小张")
    await make_member(bot.db, reader.id, "小张", section=section, language=CHINESE)

    await reader.send("/sections")

    assert "• 办公室 — 李科长、王科长 — 3 名成员" in reader.last_text()
