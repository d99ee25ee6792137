"""/review/<token>: a section's public review page, for the people served at its window who have no Telegram (the
QR code of /ratinglink points here). The same rules as a review in Telegram (handlers/reviews.py): five levels, the
two lowest need a reason and open a rectification task the heads are told of; one review of a section per day and
one per rating period for each reviewer (a browser, by its signed cookie: web/guards.py). The reviewer is sent to
the review's own page (a private link) to see what became of it and to say whether satisfied (回访).

Works without JavaScript: one form, answered by a redirect, or by the form again with what was wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.i18n import N_, Translator, translator
from bot.labels import label_name, why_bad
from handlers.reviews import (
    BAD,
    LEVELS,
    OUTCOMES,
    TEXT_LIMIT,
    bad_review_notice,
    comment_notice,
    rectification_task,
    replace_earlier,
    review_link,
    tell_heads_later,
    tell_still_unsatisfied_later,
)
from storage import reviews, tasks
from storage.models import PublicReview, Section, TaskStatus
from web.guards import client_address, reader_language
from web.pages import render
from web.site import Site, site_of

JUST_SENT_COOKIE = "sy_sent"
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")
CONTACT_LIMIT = 100
FORM_LIMIT = 262_144  # bytes: 10,000 Chinese characters pasted in a field, URL-encoded, fit; more is refused
N_NOT_FOUND = N_("This review page does not exist (any more). Ask at the service counter for the current QR code.")


@dataclass
class Answers:
    """What the reviewer filled in, kept to show the form again when something is missing."""

    level: int = 0
    tags: list[str] = field(default_factory=list)
    reason: str = ""
    comment: str = ""
    contact: str = ""


async def review_page(request: Request) -> Response:
    """The form; a browser seen for the first time gets its reviewer cookie."""
    site = site_of(request)
    language = reader_language(request, site.settings.bot.default_language)
    async with site.services.db.transaction() as session:
        section = await open_section(session, request.path_params["token"])
    if section is None:
        return not_found(request, site, language)
    return show_form(request, site, language, section, Answers())


async def send_review(request: Request) -> Response:
    """The form sent: checked, then recorded in one transaction with the task and the heads' notices."""
    site = site_of(request)
    guards = site.guards
    language = reader_language(request, site.settings.bot.default_language)
    tr = translator(language)
    token = request.path_params["token"]
    reviewer = guards.reviewer_of(request)
    form = await read_form(request)
    if form is None or not guards.form_is_ours(reviewer, str(form.get("form", ""))):
        return message(request, site, language, tr.gettext("This form has expired."), tr.gettext(N_FORM_EXPIRED), 403)
    assert reviewer is not None
    if not guards.may_post(client_address(request)):
        return message(request, site, language, tr.gettext("Too many reviews"), tr.gettext(N_TOO_MANY), 429)
    answers = read_answers(form, site)
    async with site.services.db.transaction() as session:
        section = await open_section(session, token)
        if section is None:
            return not_found(request, site, language)
        problem = what_is_missing(answers)
        if problem is not None:
            return show_form(request, site, language, section, answers, error=tr.gettext(problem), status=400)
        found = await reviews.reviewer_reviews(
            session=session, section_id=section.id or 0, reviewer_telegram_id=reviewer, day=site.today()
        )
        if any(old.day == site.today() for old in found):
            text = tr.gettext(
                "You already reviewed {section} today. Thank you! You can review again tomorrow.", section=section.name
            )
            return message(request, site, language, tr.gettext("Already reviewed"), text, 409)
        address = client_address(request)
        review = await record(session, site, section, reviewer, answers, language, address, found=found)
    link = site.guards.review_link(review.id or 0)
    page = f"/review/{token}/mine/{link}"
    response = RedirectResponse(page, status_code=303)
    response.set_cookie(JUST_SENT_COOKIE, "1", max_age=300, path=page, httponly=True, samesite="lax")
    return response


async def record(
    session: AsyncSession,
    site: Site,
    section: Section,
    reviewer: int,
    answers: Answers,
    language: str,
    address: str,
    *,
    found: list[PublicReview],
) -> PublicReview:
    """The review, stored with all it came with in one INSERT (a bad one's rectification task opened first), the
    reviewer's earlier review of the period replaced (`found`: their reviews of the section, read before), and
    the heads' notices kept for the outbox."""
    now, settings = site.now(), site.settings
    details: dict[str, Any] = {"tags": answers.tags, "reason": answers.reason, "comment": answers.comment}
    details |= {"contact": answers.contact, "client_address": address[:64]}
    task = None
    if answers.level <= BAD:
        task = await rectification_task(session, settings, section, answers.tags, answers.reason, now)
        details |= {"complete": True, "task_id": task.id}
    review = await reviews.add_review(
        session=session,
        section_id=section.id or 0,
        reviewer_telegram_id=reviewer,
        level=answers.level,
        day=site.today(),
        language=language,
        **details,
    )
    await replace_earlier(session, settings, review, now, found)
    if task is not None:
        notice = bad_review_notice(settings, section, review, task.due_on)
        await tell_heads_later(session, settings, section.id or 0, notice, now)
    elif review.comment:
        await tell_heads_later(session, settings, section.id or 0, comment_notice(section, review), now)
    return review


async def status_page(request: Request) -> Response:
    """The review's own page: what the reviewer said, the section's answer, and whether they are satisfied now."""
    site = site_of(request)
    language = reader_language(request, site.settings.bot.default_language)
    async with site.services.db.transaction() as session:
        found = await own_review(session, site, request)
        if found is None:
            return not_found(request, site, language)
        section, review = found
        state = await what_became_of_it(session, translator(language), review)
    just_sent = JUST_SENT_COOKIE in request.cookies  # the thanks once, not every time the saved page is opened
    notice = translator(language).gettext("Thank you. Your review is recorded.") if just_sent else ""
    response = show_status(request, site, language, section, review, state, notice)
    if just_sent:
        response.delete_cookie(JUST_SENT_COOKIE, path=request.url.path)
    return response


async def answer_followup(request: Request) -> Response:
    """Yes or no to "are you satisfied now?", once; a no is news for the section's heads and the leaders."""
    site = site_of(request)
    language = reader_language(request, site.settings.bot.default_language)
    tr = translator(language)
    form = await read_form(request)
    if form is None or not site.guards.may_post(client_address(request)):
        return message(request, site, language, tr.gettext("Too many reviews"), tr.gettext(N_TOO_MANY), 429)
    async with site.services.db.transaction() as session:
        found = await own_review(session, site, request)
        if found is None:
            return not_found(request, site, language)
        section, review = found
        if not site.guards.form_is_ours(review.id, str(form.get("form", ""))):
            text = tr.gettext(N_FORM_EXPIRED)
            return message(request, site, language, tr.gettext("This form has expired."), text, 403)
        if review.outcome and review.followup_satisfied is None and form.get("satisfied") in {"yes", "no"}:
            review.followup_satisfied = form.get("satisfied") == "yes"
            await reviews.save_review(session=session, review=review)
            if not review.followup_satisfied:
                await tell_still_unsatisfied_later(session, site.settings, review, site.now())
        state = await what_became_of_it(session, tr, review)
    return show_status(request, site, language, section, review, state, tr.gettext("Thank you for telling us."))


# --- reading -----------------------------------------------------------------------------------------------------


async def open_section(session: AsyncSession, token: str) -> Section | None:
    if not TOKEN.fullmatch(token):
        return None
    section = await reviews.section_by_review_token(session=session, token=token)
    return section if section is not None and section.archived_at is None else None


async def own_review(session: AsyncSession, site: Site, request: Request) -> tuple[Section, PublicReview] | None:
    """The review a private link names, if the link is ours and belongs to the section of the page's token."""
    section = await open_section(session, request.path_params["token"])
    review_id = site.guards.review_of_link(request.path_params["link"])
    review = await reviews.get_review(session=session, review_id=review_id) if review_id else None
    if section is None or review is None or review.section_id != section.id:
        return None
    return section, review


async def read_form(request: Request) -> FormData | None:
    """The posted form, or None when it is not one (or far longer than any honest one)."""
    if int(request.headers.get("content-length") or 0) > FORM_LIMIT:
        return None
    try:
        return await request.form(max_files=0, max_fields=32, max_part_size=FORM_LIMIT)
    except (HTTPException, MultiPartException, ValueError, KeyError):  # each means it is not a form of ours
        return None


def read_answers(form: FormData, site: Site) -> Answers:
    """The fields as typed, cut to their limits; unknown tags and levels dropped (they are then said missing)."""
    known = {tag.key for tag in site.settings.reviews.bad_reason_tags}
    level = str(form.get("level", ""))
    return Answers(
        level=int(level) if level.isdigit() and int(level) in LEVELS else 0,
        tags=[tag for tag in dict.fromkeys(str(value) for value in form.getlist("tag")) if tag in known],
        reason=_text(form.get("reason"), TEXT_LIMIT),
        comment=_text(form.get("comment"), TEXT_LIMIT),
        contact=_text(form.get("contact"), CONTACT_LIMIT, one_line=True),
    )


def what_is_missing(answers: Answers) -> str | None:
    if not answers.level:
        return N_("Please choose how satisfied you are.")
    if answers.level <= BAD and not answers.tags and not answers.reason:
        return N_("Please say what went wrong: choose a reason, or write it in your own words.")
    return None


async def what_became_of_it(session: AsyncSession, tr: Translator, review: PublicReview) -> str:
    if review.voided_at is not None:
        return tr.gettext("It was withdrawn by the campaign's administrators.")
    if review.level > BAD:
        return tr.gettext("It counts in the section's score. Thank you!")
    if review.outcome in OUTCOMES:
        answer = tr.gettext(OUTCOMES[review.outcome])
        return tr.gettext("The section answers: {answer}. {note}", answer=answer, note=review.outcome_note)
    task = await tasks.get_task(session=session, task_id=review.task_id) if review.task_id else None
    if task is not None and task.status == TaskStatus.OPEN:
        return tr.gettext("The section must look into it by {day}.", day=task.due_on.isoformat())
    return tr.gettext("The section is looking into it.")


def _text(value: object, limit: int, *, one_line: bool = False) -> str:
    text = str(value or "").replace("\x00", "")
    return (" ".join(text.split()) if one_line else text.strip())[:limit]


# --- showing -----------------------------------------------------------------------------------------------------

N_FORM_EXPIRED = N_("Open the review page again and send the form from there. Cookies must be allowed.")
N_TOO_MANY = N_("Too many reviews were sent from your network in the last hour. Please try again later.")


def show_form(
    request: Request,
    site: Site,
    language: str,
    section: Section,
    answers: Answers,
    *,
    error: str = "",
    status: int = 200,
) -> Response:
    guards, tr = site.guards, translator(language)
    reviewer = guards.reviewer_of(request)
    new = reviewer is None
    reviewer = reviewer if reviewer is not None else guards.new_reviewer()
    username = site.bot_username
    response = protected(
        render(
            request,
            "review.html",
            language,
            status=status,
            section=section.name,
            campaign=site.settings.campaign.title(language),
            levels=[(value, tr.gettext(name)) for value, name in LEVELS.items()],
            tags=[(tag.key, label_name(tr, tag)) for tag in site.settings.reviews.bad_reason_tags],
            chosen=answers,
            error=error,
            form_token=guards.form_token(reviewer),
            text_limit=TEXT_LIMIT,
            contact_limit=CONTACT_LIMIT,
            telegram_link=review_link(username, section.review_token or "") if username else "",
        )
    )
    if new:
        guards.keep_reviewer(response, reviewer, secure=request.url.scheme == "https")
    return response


def show_status(
    request: Request, site: Site, language: str, section: Section, review: PublicReview, state: str, notice: str
) -> Response:
    guards, tr = site.guards, translator(language)
    asking = bool(review.outcome) and review.followup_satisfied is None and review.voided_at is None
    return protected(
        render(
            request,
            "review_status.html",
            language,
            section=section.name,
            campaign=site.settings.campaign.title(language),
            day=review.day.isoformat(),
            level=tr.gettext(LEVELS[review.level]),
            why=why_bad(tr, site.settings, review.tags, review.reason) if review.level <= BAD else "",
            comment=review.comment,
            state=state,
            notice=notice,
            ask_followup=asking,
            form_token=guards.form_token(review.id or 0),  # the private link is what lets one answer
        )
    )


def message(request: Request, site: Site, language: str, title: str, text: str, status: int) -> Response:
    return protected(
        render(
            request,
            "message.html",
            language,
            status=status,
            title=title,
            message=text,
            campaign=site.settings.campaign.title(language),
        )
    )


def protected(response: Response) -> Response:
    """A review page runs no script, loads nothing from elsewhere, posts only here and is framed by no other site."""
    response.headers["Content-Security-Policy"] = REVIEW_PAGE_POLICY
    return response


REVIEW_PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)


def not_found(request: Request, site: Site, language: str) -> Response:
    tr = translator(language)
    return message(request, site, language, tr.gettext("Page not found"), tr.gettext(N_NOT_FOUND), 404)


ROUTES = [
    Route("/review/{token}", review_page, methods=["GET", "HEAD"]),
    Route("/review/{token}", send_review, methods=["POST"]),
    Route("/review/{token}/mine/{link}", status_page, methods=["GET", "HEAD"]),
    Route("/review/{token}/mine/{link}", answer_followup, methods=["POST"]),
]
