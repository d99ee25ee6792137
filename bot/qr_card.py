"""A section's review QR code as it is printed for the service counter: the campaign's name above the code, the
section's name large below it and what to do with it at the bottom, so that a dozen printed codes can be told apart.

The names are drawn with the CJK font the leaderboard charts use (bot/chart.py finds it), in a short-lived child
process like the charts (`python -m bot.qr_card`): Pillow and the font stay out of the bot. Long names are drawn
smaller, then on more lines; the card grows to hold them, so nothing is cut. Without a font, or when the child
fails, the bare code goes out (the caption still names the section).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import segno

from bot.chart import ChartError, draw_in_child

if TYPE_CHECKING:
    from PIL.ImageDraw import ImageDraw
    from PIL.ImageFont import FreeTypeFont

logger = logging.getLogger(__name__)

CARD_WIDTH = 720  # pixels; about 6 cm at 300 dpi, the code itself about 4.5 cm
MARGIN = 48
CODE_WIDTH = 540  # at most, with its quiet zone
QUIET_ZONE = 4  # modules of white around the code, as the standard asks
GAP = 12
INK = 0
GREY = 80
WHITE = 255


@dataclass(frozen=True)
class TextBlock:
    """How a text is drawn: at `largest` pixels when it fits on `lines` lines, else smaller, down to `smallest`."""

    largest: int
    smallest: int
    lines: int
    shade: int


CAMPAIGN = TextBlock(largest=30, smallest=20, lines=3, shade=GREY)
SECTION = TextBlock(largest=72, smallest=32, lines=3, shade=INK)
CALL = TextBlock(largest=28, smallest=20, lines=2, shade=GREY)

# One piece of a line: a run of spaces; or a word of a script written with spaces (Latin letters, digits) or a single
# Chinese character, with the opening marks before it and the closing marks and punctuation after it (a line starts
# with neither "，" nor "）").
_CJK = r"\u2e80-\u9fff\u3000-\u303f\uf900-\ufaff\uff00-\uffef"
_OPENING = "（「『【〈《“‘"
_CLOSING = "）」』】〉》”’，。、；：！？"
PIECE = re.compile(rf"\s+|[{_OPENING}]*(?:[^\s{_CJK}]+|\S)[{_CLOSING}]*")


@dataclass(frozen=True)
class Card:
    link: str
    section: str  # the section's name, any text, drawn literally
    campaign: str  # the campaign's name in the reader's language
    call: str  # what to do with the code, in the reader's language


def bare_code(link: str) -> bytes:
    """The code alone, as a PNG."""
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=10, border=3)
    return buffer.getvalue()


async def card_png(font: Path | None, card: Card) -> bytes:
    """The card drawn in a child process; the bare code without a font or when the child fails (logged)."""
    if font is not None:
        try:
            return await draw_in_child("bot.qr_card", json.dumps({"font": str(font), **asdict(card)}))
        except ChartError as error:
            logger.error(
                "The review QR code of %s could not be drawn with its names, so it goes bare: %s", card.section, error
            )
    return await asyncio.to_thread(bare_code, card.link)


def wrap(text: str, fits: Callable[[str], bool]) -> list[str]:
    """The text on lines that each fit: broken between words and between Chinese characters, and inside a word only
    when it is too long for a line of its own."""
    lines: list[str] = []
    line = ""
    for piece in PIECE.findall(" ".join(text.split())):
        if fits((line + piece).strip()):
            line += piece
            continue
        if line.strip():
            lines.append(line.strip())
        line = piece.strip()
        while len(line) > 1 and not fits(line):
            cut = max(1, max((end for end in range(1, len(line)) if fits(line[:end])), default=1))
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip():
        lines.append(line.strip())
    return lines


@dataclass(frozen=True)
class FittedText:
    face: FreeTypeFont
    lines: list[str]
    shade: int

    @property
    def line_height(self) -> int:
        ascent, descent = self.face.getmetrics()
        return int((ascent + descent) * 1.15)


def fitted(font: Path, text: str, block: TextBlock, width: int) -> FittedText:
    """The text at the largest size at which it takes at most `block.lines` lines of that width (at the smallest
    size, on as many lines as it takes), its lines of about the same length."""
    from PIL import ImageFont

    size = block.largest
    while True:
        face = ImageFont.truetype(str(font), size)
        lines = wrap(text, _narrower_than(width, face))
        if len(lines) <= block.lines or size <= block.smallest:
            return FittedText(face, balanced(text, lines, width, face), block.shade)
        size = max(block.smallest, size - 4)


def balanced(text: str, lines: list[str], width: int, face: FreeTypeFont) -> list[str]:
    """The same number of lines, in the narrowest width that needs no more: no last line of one word."""
    narrow, wide = 1, width
    while len(lines) > 1 and narrow < wide:
        middle = (narrow + wide) // 2
        if len(wrap(text, _narrower_than(middle, face))) <= len(lines):
            wide = middle
        else:
            narrow = middle + 1
    return wrap(text, _narrower_than(wide, face)) if len(lines) > 1 else lines


def _narrower_than(width: int, face: FreeTypeFont) -> Callable[[str], bool]:
    return lambda line: face.getlength(line) <= width


def draw_card(font: Path, card: Card) -> bytes:
    """The card as a PNG: the campaign's name, the code, the section's name, what to do."""
    from PIL import Image, ImageDraw

    code = Image.open(io.BytesIO(_code_png(card.link)))
    width = CARD_WIDTH - 2 * MARGIN
    campaign = fitted(font, card.campaign, CAMPAIGN, width)
    section = fitted(font, card.section, SECTION, width)
    call = fitted(font, card.call, CALL, width)
    texts = sum(_height(text) for text in (campaign, section, call))
    image = Image.new("L", (CARD_WIDTH, MARGIN + texts + code.height + 4 * GAP + MARGIN), WHITE)
    draw = ImageDraw.Draw(image)
    top = _draw_lines(draw, campaign, MARGIN) + GAP
    image.paste(code, ((CARD_WIDTH - code.width) // 2, top))
    top = _draw_lines(draw, section, top + code.height + GAP) + 2 * GAP
    _draw_lines(draw, call, top)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _draw_lines(draw: ImageDraw, text: FittedText, top: int) -> int:
    """The lines centred from `top` down; where they end."""
    for line in text.lines:
        draw.text((CARD_WIDTH // 2, top), line, font=text.face, fill=text.shade, anchor="ma")
        top += text.line_height
    return top


def _height(text: FittedText) -> int:
    return text.line_height * len(text.lines)


def _code_png(link: str) -> bytes:
    """The code with its quiet zone, as large as fits in CODE_WIDTH in whole pixels per module."""
    code = segno.make(link, error="m")
    modules = code.symbol_size(scale=1, border=QUIET_ZONE)[0]
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=max(1, CODE_WIDTH // modules), border=QUIET_ZONE)
    return buffer.getvalue()


def draw_requested_card() -> None:
    """The child's side of `card_png`: the request as JSON on standard input, the PNG on standard output."""
    request = json.load(sys.stdin)
    font = Path(request.pop("font"))
    sys.stdout.buffer.write(draw_card(font, Card(**request)))


if __name__ == "__main__":
    draw_requested_card()
