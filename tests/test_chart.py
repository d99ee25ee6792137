"""Leaderboard charts: Chinese names drawn with a real CJK font (installed by scripts/install-cjk-font), and a
renderer that says once, and clearly, when there is none."""

from __future__ import annotations

import asyncio
import logging
import struct
import warnings
from pathlib import Path
from typing import Any

import pytest
from matplotlib.ft2font import FT2Font

from bot import chart
from bot.chart import Bar, ChartError, ChartRenderer, find_cjk_font

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TITLE = "双优排行榜 2026年6月 第2周"
LABELS = (
    "办公室",
    "旅游市场科",
    "张三",
    "Zhang <b>&",
    "优质服务",
    "A $x^2$ name",
    "一个名字很长很长很长很长的科室或者站所",
)
PANELS = [
    ("科室排名", [Bar(LABELS[0], 92.5), Bar(LABELS[1], 100.0), Bar(LABELS[4], 61.25), Bar(LABELS[6], 0.0)]),
    ("个人排名", [Bar(LABELS[2], 88.0), Bar(LABELS[3], 73.4), Bar(LABELS[5], 12.0)]),
]


def machine_font() -> Path:
    font = find_cjk_font()
    assert font is not None, "no CJK font on this machine: run `bash scripts/install-cjk-font`"
    return font


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which follows the signature."""
    assert png.startswith(PNG_SIGNATURE)
    length, kind = struct.unpack(">I4s", png[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


@pytest.fixture
def no_fonts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine without any CJK font."""
    monkeypatch.setattr(chart, "KNOWN_FONTS", ())
    monkeypatch.setattr(chart, "FONT_DIR", tmp_path / "fonts")


def test_chart_draws_chinese_and_latin_labels_without_missing_glyphs() -> None:
    renderer = ChartRenderer()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = renderer.render(TITLE, PANELS)

    width, height = png_size(png)
    assert width > 0
    assert height > 0
    assert len(png) < 1_000_000


def test_font_covers_every_character_of_the_chart() -> None:
    charmap = FT2Font(str(machine_font())).get_charmap()
    texts = [TITLE, *LABELS, *(heading for heading, _ in PANELS), chart.EMPTY_PANEL, "…0123456789."]

    missing = {ch for text in texts for ch in text if not ch.isspace() and ord(ch) not in charmap}

    assert not missing


def test_chart_with_an_empty_panel_renders() -> None:
    renderer = ChartRenderer()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = renderer.render(TITLE, [("科室排名", []), ("个人排名", [Bar("张三", 50.0)])])

    assert min(png_size(png)) > 0


async def test_chart_is_drawn_in_a_child_process() -> None:
    png = await ChartRenderer().render_async(TITLE, PANELS)

    assert min(png_size(png)) > 0


async def test_the_same_chart_again_is_not_drawn_again_but_another_is(monkeypatch: pytest.MonkeyPatch) -> None:
    renderer = ChartRenderer()
    first = await renderer.render_async(TITLE, PANELS)
    children: list[tuple[Any, ...]] = []
    spawn = asyncio.create_subprocess_exec

    async def counted(*command: Any, **options: Any) -> Any:
        children.append(command)
        return await spawn(*command, **options)

    monkeypatch.setattr(asyncio, "create_subprocess_exec", counted)

    assert await renderer.render_async(TITLE, PANELS) == first  # a post sent again after a fault
    assert children == []
    other = await renderer.render_async(TITLE, [("科室排名", [Bar("办公室", 75.0)])])
    assert len(children) == 1 and other != first


def test_long_labels_are_cut_to_one_short_line() -> None:
    assert chart.shorten("办公室") == "办公室"
    assert chart.shorten(LABELS[6]) == LABELS[6][:15] + "…"
    assert chart.shorten("第一行\n第二行") == "第一行 第二行"


def test_missing_configured_font_falls_back_to_the_machine_font() -> None:
    assert find_cjk_font("/nonexistent.ttf") == machine_font()
    assert find_cjk_font(str(machine_font())) == machine_font()


def test_renderer_with_a_missing_configured_font_uses_the_machine_font(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.chart"):
        renderer = ChartRenderer("/nonexistent.ttf")

    assert renderer.available
    assert renderer.font_path == machine_font()
    (message,) = [record.getMessage() for record in caplog.records if record.name == "bot.chart"]
    assert "/nonexistent.ttf does not exist" in message


def test_renderer_without_a_font_is_unavailable_and_warns_once(
    no_fonts: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.chart"):
        renderer = ChartRenderer()
        assert not renderer.available
        assert not renderer.available
        for _ in range(2):
            with pytest.raises(RuntimeError):
                renderer.render(TITLE, PANELS)

    warned = [record for record in caplog.records if record.name == "bot.chart"]
    assert len(warned) == 1
    assert warned[0].levelno == logging.WARNING
    message = warned[0].getMessage()
    assert "text only" in message
    assert "fonts-wqy-microhei" in message
    assert "font_file" in message


def test_renderer_with_a_missing_configured_font_and_no_other_warns_once(
    no_fonts: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.chart"):
        renderer = ChartRenderer("/nonexistent.ttf")

    assert not renderer.available
    (message,) = [record.getMessage() for record in caplog.records if record.name == "bot.chart"]
    assert "/nonexistent.ttf does not exist" in message
    assert "text only" in message


def test_renderer_with_a_configured_file_that_is_no_font_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    not_a_font = tmp_path / "font.ttf"
    not_a_font.write_text("not a font", encoding="utf-8")

    with caplog.at_level(logging.WARNING, logger="bot.chart"):
        renderer = ChartRenderer(str(not_a_font))

    assert not renderer.available
    (message,) = [record.getMessage() for record in caplog.records if record.name == "bot.chart"]
    assert "cannot be loaded" in message
    assert "text only" in message


async def test_a_font_the_child_cannot_load_is_a_chart_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"\x00\x01\x00\x00" + b"not really a font" * 8)
    renderer = ChartRenderer(str(broken))
    assert renderer.available  # it looks like a font until it is loaded

    with pytest.raises(ChartError):
        await renderer.render_async(TITLE, PANELS)
