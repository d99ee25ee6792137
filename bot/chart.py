"""Leaderboard charts: one horizontal bar chart panel per board (sections, individuals), as PNG bytes.

Chinese names need a CJK font, which matplotlib does not ship: `find_cjk_font` looks for the configured file or a
known system font (`scripts/install-cjk-font` installs one). Without a font the renderer is not `available` and
the caller posts the leaderboard as text only. Drawing uses matplotlib's object API (no pyplot, no global figure),
under a lock.

The bot draws its charts in a short-lived child process (`render_async` runs `python -m bot.chart`): matplotlib,
numpy and the font's glyph caches take about 45 MB that a bot running for the months of a campaign would otherwise
keep after its first snapshot. The child gives them back when it exits, and the bot keeps answering meanwhile.
The last chart drawn is kept: a post that Telegram did not take is sent again with the same picture, not drawn anew.
The review QR codes (bot/qr_card.py) are drawn the same way (`draw_in_child`), with the same font (`renderer`).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
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

# The first bytes of TrueType, OpenType and TrueType/OpenType collection files.
FONT_SIGNATURES = (b"\x00\x01\x00\x00", b"true", b"OTTO", b"ttcf")
CHILD_SECONDS = 120.0  # a chart of a thousand bars takes about 15 s

# matplotlib's font manager and rcParams are process-wide; one chart is drawn at a time.
_lock = threading.Lock()
_registered: set[Path] = set()
_renderers: dict[str, ChartRenderer] = {}


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


def renderer(font_file: str = "") -> ChartRenderer:
    """One renderer per font setting ([snapshots] font_file): the font is looked up, and a missing one reported, once.
    The review QR codes (bot/qr_card.py) draw with its font too."""
    if font_file not in _renderers:
        _renderers[font_file] = ChartRenderer(font_file)
    return _renderers[font_file]


def shorten(label: str, length: int = LABEL_LENGTH) -> str:
    """One line of at most `length` characters, cut with "…"."""
    line = " ".join(label.split())
    return line if len(line) <= length else line[: length - 1] + "…"


class ChartRenderer:
    """Draws leaderboards with the CJK font found once at start-up."""

    def __init__(self, font_file: str = "") -> None:
        self._last: tuple[str, bytes] | None = None  # the request of the last chart drawn in a child, and its PNG
        self.font_path = find_cjk_font(font_file)
        problem = f" ({font_file} does not exist)" if font_file and not Path(font_file).expanduser().is_file() else ""
        if self.font_path is not None:
            if not is_font_file(self.font_path):
                problem = f" ({self.font_path} cannot be loaded: it is not a TrueType or OpenType font)"
                self.font_path = None
            elif problem:
                logger.warning("Chart font %s does not exist; using %s instead", font_file, self.font_path)
        if self.font_path is None:
            logger.warning(
                "No Chinese font for the leaderboard charts%s: snapshots will be posted as text only, and review "
                "QR codes without their section's name drawn. "
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
        from matplotlib.font_manager import FontProperties, fontManager

        with _lock:
            if self.font_path not in _registered:
                fontManager.addfont(self.font_path)
                _registered.add(self.font_path)
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
        """`render` in a child process (see the module's docstring); ChartError when it fails."""
        if self.font_path is None:
            raise RuntimeError("no CJK font for charts; see the warning logged at start-up")
        request = json.dumps(
            {
                "font": str(self.font_path),
                "title": title,
                "panels": [[heading, [[bar.label, bar.score] for bar in bars]] for heading, bars in panels],
            }
        )
        if self._last is not None and self._last[0] == request:
            return self._last[1]
        png = await draw_in_child("bot.chart", request)
        self._last = request, png
        return png


async def draw_in_child(module: str, request: str) -> bytes:
    """The PNG that `python -m <module>` draws from the request (JSON on its standard input), for drawings the bot
    should neither wait for nor keep the libraries of (see the module's docstring); ChartError when it fails."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        png, errors = await asyncio.wait_for(child.communicate(request.encode()), CHILD_SECONDS)
    except TimeoutError:
        child.kill()
        await child.wait()
        raise ChartError(f"drawing the picture took more than {CHILD_SECONDS:.0f} s") from None
    if child.returncode != 0 or not png.startswith(PNG_SIGNATURE):
        raise ChartError(errors.decode(errors="replace").strip()[-2000:] or f"exit status {child.returncode}")
    return png


class ChartError(Exception):
    """The child process did not draw the picture."""


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def is_font_file(path: Path) -> bool:
    """Whether the file starts as a TrueType or OpenType font (or a collection of them) does."""
    try:
        with path.open("rb") as file:
            return file.read(4) in FONT_SIGNATURES
    except OSError:
        return False


def draw_requested_chart() -> None:
    """The child's side of `render_async`: the request as JSON on standard input, the PNG on standard output."""
    request = json.load(sys.stdin)
    renderer = ChartRenderer(request["font"])
    panels = [(heading, [Bar(label, score) for label, score in bars]) for heading, bars in request["panels"]]
    sys.stdout.buffer.write(renderer.render(request["title"], panels))


if __name__ == "__main__":
    draw_requested_chart()
