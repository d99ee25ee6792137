"""The printed review QR code: names of any length fit on the card, broken where a reader expects, and the code
still reads."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFont

from bot.chart import find_cjk_font
from bot.qr_card import CARD_WIDTH, MARGIN, SECTION, Card, draw_card, fitted, wrap

LINK = "https://t.me/ShuangyouBot?start=r_0123456789abcdefghij"


def by_length(limit: int) -> Callable[[str], bool]:
    return lambda line: len(line) <= limit


def test_chinese_breaks_between_any_two_characters_but_not_before_closing_marks() -> None:
    lines = wrap("行政审批服务科（窗口），第二组", by_length(6))
    assert "".join(lines) == "行政审批服务科（窗口），第二组"
    assert not any(line.startswith(("）", "，")) for line in lines)
    assert not any(line.endswith("（") for line in lines)


def test_latin_words_stay_whole_unless_longer_than_a_line() -> None:
    assert wrap("One-Stop Service Window", by_length(10)) == ["One-Stop", "Service", "Window"]
    assert wrap("A" * 12, by_length(5)) == ["AAAAA", "AAAAA", "AA"]
    assert wrap("  spaced   out  ", by_length(20)) == ["spaced out"]
    assert wrap("", by_length(5)) == []


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=64), st.integers(1, 12))
def test_every_line_fits_and_no_character_is_lost(text: str, limit: int) -> None:
    lines = wrap(text, by_length(limit))

    assert all(len(line) <= limit for line in lines)
    assert "".join(lines).replace(" ", "") == "".join(text.split())


@pytest.fixture(scope="module")
def font() -> Path:
    found = find_cjk_font()
    assert found is not None, "no CJK font on this machine: run `bash scripts/install-cjk-font`"
    return found


def test_a_long_section_name_is_drawn_smaller_on_at_most_three_lines(font: Path) -> None:
    width = CARD_WIDTH - 2 * MARGIN
    short = fitted(font, "办公室", SECTION, width)
    long = fitted(font, "市文化广电和旅游局行政审批服务科（政务服务中心文旅窗口）第二服务组", SECTION, width)

    assert short.lines == ["办公室"] and short.face.size == SECTION.largest
    assert len(long.lines) <= SECTION.lines and long.face.size < SECTION.largest
    assert all(long.face.getlength(line) <= width for line in long.lines)


def test_the_longest_names_make_a_taller_card_whose_code_reads(font: Path) -> None:
    short = Image.open(io.BytesIO(draw_card(font, Card(LINK, "办公室", "双优", "扫码评价服务"))))
    longest = Card(LINK, "科" * 64, "争" * 100, "Scan to review the service " * 3)
    tall = Image.open(io.BytesIO(draw_card(font, longest)))

    assert short.width == tall.width == CARD_WIDTH and tall.height > short.height
    assert [result.text for result in zxingcpp.read_barcodes(tall)] == [LINK]


def test_the_font_draws_every_character_of_the_card(font: Path) -> None:
    face = ImageFont.truetype(str(font), 20)
    texts = ("争创优质服务科室，争当优质服务个人", "扫码评价服务", "行政审批科（窗口）", "Scan to review the service")

    assert [
        character for text in texts for character in text.replace(" ", "") if not face.getmask(character).getbbox()
    ] == []
