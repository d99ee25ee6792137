"""Texts longer than Telegram takes in one message (4096 characters), split into parts on line boundaries.

A list of 14 commitments of 300 characters, or a digest of 25 long overdue titles, is longer than that; Telegram
refuses the whole message, and a list that cannot be shown cannot be acted on either. `bot/extbot.py` sends such a
text as several messages, the keyboard with the last one, so the actions stay reachable.
"""

from __future__ import annotations

import re

MESSAGE_LIMIT = 4096  # Telegram counts the text after its HTML is parsed; counting the HTML itself is on the safe side
# What a cut must not fall inside: a tag, or an entity such as &amp;
_UNBREAKABLE = re.compile(r"<[^<>]*>|&#?\w+;")


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """`text` as parts of at most `limit` characters, cut after a line where one fits (a single longer line is cut
    between words, never inside a tag or an entity). Our texts keep their tags within a line."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            head, line = _cut(line, limit)
            if current:
                parts.append(current)
                current = ""
            parts.append(head)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
        else:
            parts.append(current)
            current = line
    if current.strip():
        parts.append(current)
    return [part for part in parts if part.strip()]


def _cut(line: str, limit: int) -> tuple[str, str]:
    """The longest head of `line` up to `limit` that ends at a space if one is near, never inside a tag or entity."""
    end = limit
    for match in _UNBREAKABLE.finditer(line, 0, limit + 16):
        if match.start() < end < match.end():
            end = match.start()
    space = line.rfind(" ", 0, end)
    if space > end // 2:
        end = space
    return line[:end].rstrip(), line[end:].lstrip()
