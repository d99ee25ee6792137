"""How a page is made: Jinja2 templates (autoescaped) with the reader's texts through gettext, the same catalogue as
the bot's. `_` in a template is the reader's `Translator.gettext`: placeholders are escaped when filled, and the
result is marked safe for the template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from bot.i18n import CHINESE, Html, Translator, translator
from web.guards import keep_language, other_language_code

TEMPLATES = Path(__file__).parent / "templates"
ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)


def render(request: Request, template: str, language: str, *, status: int = 200, **values: Any) -> HTMLResponse:
    """The page in the reader's language; the language switch's choice is kept in a cookie."""
    tr = translator(language)
    page = ENVIRONMENT.get_template(template).render(
        _=lambda msgid, **params: Markup(tr.gettext(msgid, **params)),
        ngettext=lambda singular, plural, n, **params: Markup(tr.ngettext(singular, plural, n, **params)),
        lang="zh-CN" if language == CHINESE else "en",
        language=language,
        other_language=other_language_code(language),
        path=request.url.path,
        **{name: Markup(value) if isinstance(value, Html) else value for name, value in values.items()},
    )
    response = HTMLResponse(page, status_code=status, headers=SECURITY_HEADERS)
    keep_language(request, response, language)
    return response


def texts(language: str) -> Translator:
    return translator(language)


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the review's private link never leaks to another site
    "Cache-Control": "no-store",
}
