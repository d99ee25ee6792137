"""Leaderboard charts: one horizontal bar chart panel per board (sections, individuals), as PNG bytes.

Chinese names need a CJK font, which matplotlib does not ship: `find_cjk_font` looks for the configured file or a
known system font (`scripts/install-cjk-font` installs one). Without a font the renderer is not `available` and
the caller posts the leaderboard as text only. Drawing uses matplotlib's object API (no pyplot, no global figure),
under a lock, in a worker thread from `render_async`.
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# Debian/Ubuntu (fonts-wqy-microhei, fonts-wqy-zenhei, fonts-noto-cjk, fonts-arphic-*), Fedora and Arch paths.
KNOWN_FONTS: tuple[Path, ...] = tuple(
    Path(path)
    for path in (
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
        "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
        "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
        "/usr/share/fonts/wenquanyi/wqy-zenhei/wqy-zenhei.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/google-noto-sans-cjk-vf-fonts/NotoSansCJK-VF.ttc",
        "/usr/share/fonts/truetype/noto/NotoSansSC-Regular.ttf",
        "/usr/share/fonts/truetype/arphic/uming.ttc",
        "/usr/share/fonts/truetype/arphic/ukai.ttc",
    )
)
# Where other installations of the same families are looked for, in this order.
FONT_DIR = Path("/usr/share/fonts")
FONT_PATTERNS = ("**/wqy-microhei.ttc", "**/wqy-zenhei.ttc", "**/NotoSansCJK*-Regular.ttc", "**/NotoSans*SC-Regular.*")

LABEL_LENGTH = 16
EMPTY_PANEL = "—"
BAR_COLOR = "#3b7dd8"
INCH_PER_ROW = 0.35
INCH_PER_PANEL = 0.6
WIDTH_INCHES = 8.0
DPI = 100

# matplotlib's font manager and rcParams are process-wide; one chart is drawn at a time.
_lock = threading.Lock()
_registered: set[Path] = set()


@dataclass(frozen=True)
class Bar:
    label: str  # a section's or person's name: any text, drawn literally
    score: float  # 0..100


def find_cjk_font(configured: str = "") -> Path | None:
    """The configured font file when it exists, else the first known CJK font on the machine, else None."""
    if configured:
        path = Path(configured).expanduser()
        if path.is_file():
            return path
    for path in KNOWN_FONTS:
        if path.is_file():
            return path
    if FONT_DIR.is_dir():
        for pattern in FONT_PATTERNS:
            found = sorted(FONT_DIR.glob(pattern))
            if found:
                return found[0]
    return None


def shorten(label: str, length: int = LABEL_LENGTH) -> str:
    """One line of at most `length` characters, cut with "…"."""
    line = " ".join(label.split())
    return line if len(line) <= length else line[: length - 1] + "…"


class ChartRenderer:
    """Draws leaderboards with the CJK font found once at start-up."""

    def __init__(self, font_file: str = "") -> None:
        self.font_path = find_cjk_font(font_file)
        problem = f" ({font_file} does not exist)" if font_file and not Path(font_file).expanduser().is_file() else ""
        if self.font_path is not None:
            from matplotlib import font_manager  # matplotlib (and numpy) load with the first chart, not at start-up

            try:
                with _lock:
                    if self.font_path not in _registered:
                        font_manager.fontManager.addfont(self.font_path)
                        _registered.add(self.font_path)
            except (OSError, RuntimeError, ValueError) as error:
                problem = f" ({self.font_path} cannot be loaded: {error})"
                self.font_path = None
            else:
                if problem:
                    logger.warning("Chart font %s does not exist; using %s instead", font_file, self.font_path)
        if self.font_path is None:
            logger.warning(
                "No Chinese font for the leaderboard charts%s: snapshots will be posted as text only. "
                "Install one with `apt-get install fonts-wqy-microhei` (or `bash scripts/install-cjk-font`), "
                "or set [snapshots] font_file in config.toml to a CJK font file.",
                problem,
            )

    @property
    def available(self) -> bool:
        """A CJK font was found, so charts can be drawn."""
        return self.font_path is not None

    def render(self, title: str, panels: list[tuple[str, list[Bar]]]) -> bytes:
        """A PNG: the title, then one horizontal bar chart per (heading, bars), top bar first, x axis 0..100."""
        if self.font_path is None:
            raise RuntimeError("no CJK font for charts; see the warning logged at start-up")
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.font_manager import FontProperties

        font = FontProperties(fname=self.font_path)
        text: dict[str, Any] = {"fontproperties": font, "parse_math": False}  # names are drawn literally, no $math$
        rows = [max(len(bars), 1) for _, bars in panels] or [1]
        height = 1 + sum(INCH_PER_ROW * count + INCH_PER_PANEL for count in rows)
        with _lock, matplotlib.rc_context({"axes.unicode_minus": False}):
            figure = Figure(figsize=(WIDTH_INCHES, height), dpi=DPI, layout="constrained")
            FigureCanvasAgg(figure)  # attaches itself as figure.canvas: Agg, whatever the backend
            figure.suptitle(title, fontsize=14, **text)
            grid = figure.add_gridspec(max(len(panels), 1), 1, height_ratios=rows)
            for index, (heading, bars) in enumerate(panels):
                axes = figure.add_subplot(grid[index])
                axes.set_title(heading, loc="left", fontsize=12, **text)
                axes.set_xlim(0, 100)
                axes.set_xticks(range(0, 101, 20), [str(value) for value in range(0, 101, 20)], **text)
                axes.spines[["top", "right"]].set_visible(False)
                if not bars:
                    axes.set_ylim(0, 1)
                    axes.set_yticks([])
                    axes.text(0.5, 0.5, EMPTY_PANEL, ha="center", va="center", transform=axes.transAxes, **text)
                    continue
                positions = list(range(len(bars)))
                widths = [min(max(bar.score, 0.0), 100.0) for bar in bars]
                container = axes.barh(positions, widths, height=0.6, color=BAR_COLOR)
                axes.set_yticks(positions, [shorten(bar.label) for bar in bars], **text)
                axes.set_ylim(len(bars) - 0.5, -0.5)  # the first bar on top
                axes.bar_label(container, [f"{bar.score:.1f}" for bar in bars], padding=3, fontsize=9, **text)
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png")
        return buffer.getvalue()

    async def render_async(self, title: str, panels: list[tuple[str, list[Bar]]]) -> bytes:
        """`render` in a worker thread, so the bot keeps answering while a chart is drawn."""
        return await asyncio.to_thread(self.render, title, panels)
