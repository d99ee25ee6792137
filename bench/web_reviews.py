"""The public review page (/review/<token>): how long a review's POST takes, and how heavy the page is.

The real web application of the running bot (its Application on the in-process Bot API, as the tests' `bot`
fixture builds it), on a fresh database with SECTIONS sections of two heads each. Each review comes from a new
browser, as from the QR code at a window: the page is fetched (its cookie and form field; not timed), then the form
is posted, and the POST is timed from sending it to having the answer (a redirect to the review's own page). Good
reviews (very satisfied, with a comment: a notice to the heads) and bad ones (very dissatisfied, a reason tag, a
reason and a contact: a rectification task and the notices), one at a time, so the figures are service times.

Two ways in: the ASGI application called in process through httpx (the application and the database alone), and a
real uvicorn server on 127.0.0.1 that the same httpx client reaches over TCP (HTTP parsing and the socket added).

The page's weight: the bytes of the HTML of the form in Chinese and English and of the review's own page, and a
check that nothing else is loaded: no script, style sheet, image, frame, font or CSS url() outside data: URIs.

Run from the repository: `python -m bench.web_reviews [--backend sqlite|postgresql|both] [--reviews 300]`;
`--profile DIR` writes a pyinstrument profile (HTML) of each kind's in-process POSTs there.
"""

from __future__ import annotations

import asyncio
import gzip
import importlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import httpx

from bench.common import (
    backend_parser,
    chosen_backends,
    fresh_database,
    load_note,
    milliseconds,
    percentile,
    print_table,
)
from bench.updates import rating_bot
from bot.app import services_of
from bot.context import BotApplication
from storage import reviews
from storage.migrate import upgrade_database
from storage.models import Role
from storage.session import Database
from tests.factories import make_member, make_section
from web.app import build_web_app
from web.server import web_server

SECTIONS = 20
WARM_UP = 20
TARGET_P99 = 0.020
TARGET_PAGE_BYTES = 100_000
GOOD = {"level": "5", "comment": "办事很快，态度很好。Quick and kind."}
BAD = {"level": "1", "tag": "slow", "reason": "等了两个小时，窗口没有人。", "contact": "138 0000 0000"}
FORM_FIELD = re.compile(r'name="form" value="([^"]+)"')


@dataclass
class Run:
    """One kind of review through one way in: the POSTs' times."""

    way: str
    kind: str
    durations: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # the process's CPU time in each (the driver's thread included)

    def row(self) -> list[object]:
        p99 = percentile(self.durations, 0.99)
        verdict = "met" if p99 < TARGET_P99 else "missed"
        p50 = milliseconds(percentile(self.durations, 0.5))
        cpu = milliseconds(percentile(self.cpu, 0.5))
        return [self.way, self.kind, len(self.durations), p50, milliseconds(p99), cpu, f"< 20 ms — {verdict}"]


class Loads(HTMLParser):
    """What a page makes the browser fetch besides itself (links and forms are the reader's to follow, not loads)."""

    LOADING: ClassVar[dict[str, str]] = {
        **dict.fromkeys(("script", "img", "iframe", "embed", "source", "audio", "video", "input"), "src"),
        "object": "data",
        "link": "href",
    }

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        address = values.get(self.LOADING.get(tag, "")) or values.get("srcset")
        if tag == "script" or (address and not address.startswith("data:")):
            self.found.append(f"<{tag}> {address or '(inline script)'}")
        self._in_style = tag == "style"
        for value in values.values():
            if value and "url(" in value:
                self.found.append(f"<{tag} style> {value}")

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False if tag == "style" else self._in_style

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.found.extend(f"CSS {rule}" for rule in re.findall(r"url\([^)]*\)|@import[^;]*", data))


def loads_of(page: str) -> list[str]:
    parser = Loads()
    parser.feed(page)
    return [load for load in parser.found if "url(data:" not in load.replace(" ", "").replace("'", "")]


# --- the site -------------------------------------------------------------------------------------------------------


async def campaign(db: Database) -> list[str]:
    """SECTIONS sections with two heads each (who hear of every review); their review pages' paths."""
    paths = []
    for number in range(SECTIONS):
        section = await make_section(db, f"科室{number:02d}")
        for head in range(2):
            await make_member(db, 500_000 + number * 10 + head, f"科长{number}-{head}", role=Role.HEAD, section=section)
        async with db.transaction() as session:
            paths.append(f"/review/{await reviews.review_token(session=session, section=section)}")
    return paths


@asynccontextmanager
async def client(application: BotApplication, way: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser on the bot's pages: the ASGI app called in process, or a real uvicorn on a free port."""
    services = services_of(application)
    app = build_web_app(services, application)
    app.state.site.guards.posts_per_hour = 10**9  # one address sends them all here
    headers = {"Accept-Language": "zh-CN,zh;q=0.9"}
    if way == "in process":
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50_000))
        async with httpx.AsyncClient(transport=transport, base_url="https://bench.example", headers=headers) as browser:
            yield browser
        return
    web = services.settings.web.model_copy(update={"port": 0})
    async with (
        web_server(app, web) as server,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", headers=headers) as browser,
    ):
        yield browser


async def send_reviews(
    browser: httpx.AsyncClient, paths: list[str], fields: dict[str, str], run: Run, count: int
) -> None:
    """`count` reviews, each from a new browser (cookie) at the next section's page; the POSTs' times in `run`."""
    for number in range(count):
        path = paths[number % len(paths)]
        browser.cookies.clear()
        page = await browser.get(path)
        found = FORM_FIELD.search(page.text)
        assert page.status_code == 200 and found is not None, page.text[:300]
        started, cpu = time.perf_counter(), time.process_time()
        answer = await browser.post(path, data={"form": found.group(1), **fields})
        run.durations.append(time.perf_counter() - started)
        run.cpu.append(time.process_time() - cpu)
        assert answer.status_code == 303, (answer.status_code, answer.text[:300])


@contextmanager
def profiled(directory: Path | None, name: str) -> Iterator[None]:
    """A pyinstrument profile of the block, written to `directory`/`name`.html and .txt (nothing without --profile;
    pyinstrument is not one of the project's dependencies: `pip install pyinstrument`)."""
    if directory is None:
        yield
        return
    profiler = importlib.import_module("pyinstrument").Profiler(interval=0.0005, async_mode="enabled")
    profiler.start()
    yield
    profiler.stop()
    directory.mkdir(parents=True, exist_ok=True)
    profiler.write_html(directory / f"{name}.html")
    (directory / f"{name}.txt").write_text(profiler.output_text(unicode=True, show_all=False), encoding="utf-8")
    print(f"profile: {directory / name}.html and .txt")


# --- the measures ---------------------------------------------------------------------------------------------------


async def measure_posts(db: Database, paths: list[str], count: int, profile: Path | None, backend: str) -> list[Run]:
    runs = []
    async with rating_bot(db, paced=False) as (application, _api):
        for way in ("in process", "uvicorn"):
            async with client(application, way) as browser:
                for kind, fields in (("good", GOOD), ("bad", BAD)):
                    await send_reviews(browser, paths, fields, Run(way, kind), WARM_UP)
                    run = Run(way, kind)
                    with profiled(profile if way == "in process" else None, f"{backend}-{kind}"):
                        await send_reviews(browser, paths, fields, run, count)
                    runs.append(run)
    return runs


async def measure_pages(db: Database, paths: list[str]) -> list[list[object]]:
    """Each page's bytes as sent (and gzipped, for a proxy that compresses), and what else it would load."""
    rows: list[list[object]] = []
    async with rating_bot(db, paced=False) as (application, _api), client(application, "in process") as browser:
        pages: list[tuple[str, Callable[[], Awaitable[httpx.Response]]]] = [
            ("the form, Chinese", lambda: browser.get(paths[0] + "?lang=zh")),
            ("the form, English", lambda: browser.get(paths[0] + "?lang=en")),
            ("the form with an error", lambda: post_missing(browser, paths[0])),
            ("the review's own page", lambda: own_page(browser, paths[1])),
        ]
        for name, fetch in pages:
            answer = await fetch()
            loads = loads_of(answer.text)
            size = len(answer.content)
            verdict = "met" if size < TARGET_PAGE_BYTES and not loads else "missed"
            rows.append([name, f"{size:,} B", f"{len(gzip.compress(answer.content)):,} B",
                         "; ".join(loads) or "nothing", f"< 100 KB, nothing else — {verdict}"])  # fmt: skip
            RESULTS.append((name.replace(" ", "_").replace(",", "").replace("'", ""), "page_bytes", size))
            RESULTS.append((name.replace(" ", "_").replace(",", "").replace("'", ""), "other_loads", len(loads)))
    return rows


async def post_missing(browser: httpx.AsyncClient, path: str) -> httpx.Response:
    browser.cookies.clear()
    page = await browser.get(path)
    found = FORM_FIELD.search(page.text)
    assert found is not None
    return await browser.post(path, data={"form": found.group(1), "level": "1"})


async def own_page(browser: httpx.AsyncClient, path: str) -> httpx.Response:
    browser.cookies.clear()
    page = await browser.get(path)
    found = FORM_FIELD.search(page.text)
    assert found is not None
    sent = await browser.post(path, data={"form": found.group(1), **BAD})
    return await browser.get(sent.headers["location"])


RESULTS: list[tuple[str, str, float]] = []  # printed last, one `RESULT <what> <name> <number>` line each


async def measure_backend(backend: str, count: int, profile: Path | None, *, weigh_pages: bool) -> list[Run]:
    async with fresh_database(backend) as (url, _workdir), AsyncExitStack() as stack:
        db = Database(url)
        stack.push_async_callback(db.close)
        await upgrade_database(db.engine)
        paths = await campaign(db)
        runs = await measure_posts(db, paths, count, profile, backend)
        if weigh_pages:  # the same pages on either backend
            print_table(f"The review pages' weight ({backend})", [PAGE_HEADER, *await measure_pages(db, paths)])
    for run in runs:
        RESULTS.append((backend, f"post_p99_ms_{run.kind}_{run.way.replace(' ', '_')}",
                        percentile(run.durations, 0.99) * 1000))  # fmt: skip
    return runs


PAGE_HEADER = ["page", "HTML", "gzipped", "loads besides", "target"]


async def main() -> None:
    parser = backend_parser(__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--reviews", type=int, default=300, help="reviews of each kind through each way in (300)")
    parser.add_argument("--profile", type=Path, help="write pyinstrument profiles of the in-process POSTs here")
    arguments = parser.parse_args()
    for number, backend in enumerate(chosen_backends(arguments.backend)):
        runs = await measure_backend(backend, arguments.reviews, arguments.profile, weigh_pages=number == 0)
        header = ["way in", "review", "POSTs", "p50", "p99", "CPU p50", "target"]
        print_table(f"A review's POST on {backend}, one at a time ({load_note()})", [header, *(r.row() for r in runs)])
    for what, name, value in RESULTS:
        print(f"RESULT {what} {name} {value:.4g}")


if __name__ == "__main__":
    asyncio.run(main())
