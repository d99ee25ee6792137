"""Texts through gettext: English msgids in the code, Simplified Chinese in bot/locale.

The catalog is compiled from the .po file when first used, so there is no stale .mo to forget.
Placeholders are named and filled after translation; every value is HTML-escaped unless it is
marked as already-rendered `Html`.
"""

from __future__ import annotations

import functools
import gettext
import html
import io
from collections.abc import Iterable
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
ENGLISH = "en"
CHINESE = "zh_CN"
LANGUAGES = (ENGLISH, CHINESE)


def N_(msgid: str) -> str:  # noqa: N802  (the gettext convention for "translate later")
    """Marks a text for the catalog where it is defined; it is translated where it is shown."""
    return msgid


class Html(str):
    """Text that is already safe HTML (rendered by us); placeholders take it as it is."""

    __slots__ = ()


def escape(value: object) -> str:
    return value if isinstance(value, Html) else html.escape(str(value), quote=False)


class Translator:
    """The texts in one language."""

    def __init__(self, language: str, catalog: gettext.NullTranslations) -> None:
        self.language = language
        self._catalog = catalog

    def gettext(self, msgid: str, /, **params: object) -> Html:
        return self._fill(self._catalog.gettext(msgid), params)

    def plain(self, msgid: str, /, **params: object) -> str:
        """The translation with its placeholders filled as they are: text to store (a task's title), not to show.
        It is escaped once, like any stored text, where it is shown."""
        return self._catalog.gettext(msgid).format_map(params)

    def ngettext(self, singular: str, plural: str, n: int, /, **params: object) -> Html:
        return self._fill(self._catalog.ngettext(singular, plural, n), {"n": n, **params})

    def sentences(self, *parts: Html) -> Html:
        """Sentences one after the other: a space between them in English, none in Chinese, whose full stop is
        full-width (no "。 " in Chinese texts). Empty parts are left out."""
        return Html(("" if self.language == CHINESE else " ").join(part for part in parts if part))

    def series(self, items: Iterable[str]) -> str:
        """The items of a list within a sentence (names, counts): "、" between them in Chinese, ", " in English.
        Plain text, escaped where it is filled in."""
        return ("、" if self.language == CHINESE else ", ").join(items)

    @staticmethod
    def _fill(text: str, params: dict[str, object]) -> Html:
        return Html(text.format_map({key: escape(value) for key, value in params.items()}))


@functools.cache
def _catalog(language: str) -> gettext.NullTranslations:
    if language == ENGLISH:
        return gettext.NullTranslations()
    po_file = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@functools.cache
def translator(language: str) -> Translator:
    return Translator(language, _catalog(language))


def known_language(code: str | None) -> str | None:
    """The language of the bot's that a language code (Telegram's, a browser's) asks for, if it has it."""
    if code and code.lower().startswith("zh"):
        return CHINESE
    if code and code.lower().startswith("en"):
        return ENGLISH
    return None


def pick_language(*, chosen: str | None, telegram: str | None, default: str) -> str:
    """The member's own choice, else their Telegram app's language, else the configured default."""
    return known_language(chosen) or known_language(telegram) or default
