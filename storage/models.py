"""The tables. Constraints live in the schema; every change comes with an Alembic revision."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

NAME_MAX_LENGTH = 64
SORT_NAME_MAX_LENGTH = NAME_MAX_LENGTH * 8  # four bytes per character at most, two hex digits per byte


def sort_name(name: str) -> str:
    """The key names are listed by: Chinese by pinyin, Latin letters without case. GB 2312 (kept in GB 18030) orders
    its 3,755 common characters by pinyin, the order a Chinese office expects; the rarer ones come after them, by
    radical. Hex digits keep the byte order in any collation, on SQLite as on PostgreSQL."""
    return name.casefold().encode("gb18030", errors="replace").hex()


# The largest value of an INTEGER key on PostgreSQL: a larger id (typed, or forged in a button) names no row, and is
# not sent to the database, which would refuse it as out of range.
LARGEST_ID = 2**31 - 1

# Deterministic constraint names, so that migrations can refer to them on every database.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class AwareDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Stores UTC and always gives back aware datetimes, on SQLite as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware one")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=dt.UTC)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _enum_column(enum_class: type[enum.Enum]) -> Any:
    """A VARCHAR holding the enum's values (no native PostgreSQL enum to migrate)."""
    return sa.Enum(
        enum_class,
        native_enum=False,
        length=16,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class SectionKind(enum.StrEnum):
    OFFICE = "office"  # 科室
    STATION = "station"  # 站所


class Role(enum.StrEnum):
    STAFF = "staff"
    HEAD = "head"
    LEADER = "leader"
    ADMIN = "admin"
    INDUSTRY = "industry"  # an external enterprise that rates sections


class MemberStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    REJECTED = "rejected"
    INACTIVE = "inactive"


class PeriodKind(enum.StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    CAMPAIGN = "campaign"


class Section(SQLModel, table=True):
    """An office section (科室) or a grassroots station (站所)."""

    __tablename__ = "section"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=NAME_MAX_LENGTH, sa_column_kwargs={"unique": True})
    kind: SectionKind = Field(sa_type=_enum_column(SectionKind))  # offices ("office") list before stations
    sort_name: str = Field(  # sort_name(name), kept by a listener at the end of this module
        default="", max_length=SORT_NAME_MAX_LENGTH, sa_column_kwargs={"server_default": ""}
    )
    archived_at: dt.datetime | None = Field(default=None, sa_type=AwareDateTime)
    review_token: str | None = Field(default=None, max_length=32, sa_column_kwargs={"unique": True})
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=AwareDateTime)


class Member(SQLModel, table=True):
    """A person taking part: staff, heads, leaders, admins and industry raters."""

    __tablename__ = "member"

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int | None = Field(default=None, sa_type=sa.BigInteger, sa_column_kwargs={"unique": True})
    display_name: str = Field(max_length=NAME_MAX_LENGTH)
    sort_name: str = Field(  # sort_name(display_name)
        default="", max_length=SORT_NAME_MAX_LENGTH, index=True, sa_column_kwargs={"server_default": ""}
    )
    section_id: int | None = Field(default=None, foreign_key="section.id", ondelete="RESTRICT", index=True)
    role: Role = Field(default=Role.STAFF, sa_type=_enum_column(Role))
    status: MemberStatus = Field(default=MemberStatus.PENDING, sa_type=_enum_column(MemberStatus))
    language: str | None = Field(default=None, max_length=8)
    username: str | None = Field(default=None, max_length=32, index=True)  # lower case, without @
    organisation: str | None = Field(default=None, max_length=NAME_MAX_LENGTH)  # industry raters
    away_until: dt.date | None = None  # reminders go to the other heads, or the leaders, until then
    reachable: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})  # False: blocked the bot
    mute_nudges: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # Made by a roster import: a later import may match them by name (an account that registered itself never is).
    from_roster: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=AwareDateTime)
    updated_at: dt.datetime = Field(default_factory=utc_now, sa_type=AwareDateTime)


class Campaign(SQLModel, table=True):
    """One year's campaign, as configured; its periods are generated from its dates."""

    __tablename__ = "campaign"

    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(sa_column_kwargs={"unique": True})
    name: str = Field(max_length=100)
    starts_on: dt.date
    ends_on: dt.date
    # [scoring] min_raters as configured: what members see of a target is published again after this many new raters
    publish_every: int = Field(default=3, sa_column_kwargs={"server_default": "3"})
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=AwareDateTime)


class Period(SQLModel, table=True):
    """A stretch of the campaign that ratings and scores belong to (a month, a quarter, the whole)."""

    __tablename__ = "period"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "kind", "starts_on"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE", index=True)
    kind: PeriodKind = Field(sa_type=_enum_column(PeriodKind))
    starts_on: dt.date
    ends_on: dt.date
    # Its results were published whole after it ended (storage.scoring.publish_ended_periods); a later change to
    # them (a void) is published at once.
    closed: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class InviteKind(enum.StrEnum):
    MEMBER = "member"  # joins a section as staff or head
    INDUSTRY = "industry"  # an external enterprise; belongs to no section
    PERSONAL = "personal"  # for one person on the imported roster


class Invite(SQLModel, table=True):
    """An invitation deep link: an unguessable token with an expiry and a maximum number of uses."""

    __tablename__ = "invite"

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=32, sa_column_kwargs={"unique": True})
    kind: InviteKind = Field(sa_type=_enum_column(InviteKind))
    role: Role = Field(sa_type=_enum_column(Role))
    section_id: int | None = Field(default=None, foreign_key="section.id", ondelete="RESTRICT")
    member_id: int | None = Field(default=None, foreign_key="member.id", ondelete="CASCADE")
    created_by_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    expires_at: dt.datetime = Field(sa_type=AwareDateTime)
    max_uses: int
    uses: int = 0
    revoked_at: dt.datetime | None = Field(default=None, sa_type=AwareDateTime)
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=AwareDateTime)


class CampaignGroup(SQLModel, table=True):
    """The group chat where snapshots and nudges are posted; at most one is bound."""

    __tablename__ = "campaign_group"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_type=sa.BigInteger, sa_column_kwargs={"unique": True})
    title: str = Field(max_length=128)
    language: str | None = Field(default=None, max_length=8)  # what the bot posts here is in it; None: the default
    bound_by_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    bound_at: dt.datetime = Field(default_factory=utc_now, sa_type=AwareDateTime)


class Dialog(SQLModel, table=True):
    """What the bot is waiting for a user to type (a name, say); kept here so a restart loses nothing."""

    __tablename__ = "dialog"

    telegram_id: int = Field(sa_type=sa.BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    step: str = Field(max_length=32)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    updated_at: dt.datetime = Field(default_factory=utc_now, sa_type=AwareDateTime)


class AuditEntry(SQLModel, table=True):
    """Who did what to whom: approvals, role changes, deactivations, invites, bindings."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    actor_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    action: str = Field(max_length=32)
    subject: str = Field(max_length=64)
    detail: str = Field(default="", max_length=500)
    at: dt.datetime = Field(default_factory=utc_now, sa_type=AwareDateTime, index=True)


class Commitment(SQLModel, table=True):
    """A section's public service commitment (服务承诺), e.g. "every enquiry answered within one working day"."""

    __tablename__ = "commitment"

    id: int | None = Field(default=None, primary_key=True)
    section_id: int = Field(foreign_key="section.id", ondelete="CASCADE", index=True)
    text: str = Field(max_length=300)
    created_by_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=AwareDateTime)
    removed_at: dt.datetime | None = Field(default=None, sa_type=AwareDateTime)


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class Task(SQLModel, table=True):
    """A matter the section must finish by a date (限时办结)."""

    __tablename__ = "task"

    id: int | None = Field(default=None, primary_key=True)
    section_id: int = Field(foreign_key="section.id", ondelete="RESTRICT", index=True)
    title: str = Field(max_length=200)
    # A title the bot made from configured labels (a bad review's reasons), in each language; `title` is the
    # default language's. None for a title someone typed.
    title_by_language: dict[str, str] | None = Field(default=None, sa_type=sa.JSON)
    responsible_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    due_on: dt.date = Field(index=True)
    status: TaskStatus = Field(default=TaskStatus.OPEN, sa_type=_enum_column(TaskStatus), index=True)
    extensions: int = 0
    overdue_days: int = 0  # working days overdue, as last counted; the scoring deducts them
    escalated_at: dt.datetime | None = Field(default=None, sa_type=AwareDateTime)
    note: str = Field(default="", max_length=500)
    created_by_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=AwareDateTime)
    closed_at: dt.datetime | None = Field(default=None, sa_type=AwareDateTime)


class TaskEvent(SQLModel, table=True):
    """The history of a task: created, extended, done, cancelled."""

    __tablename__ = "task_event"

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", ondelete="CASCADE", index=True)
    actor_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    kind: str = Field(max_length=16)
    detail: str = Field(default="", max_length=500)
    at: dt.datetime = Field(default_factory=utc_now, sa_type=AwareDateTime)


class ReminderStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"  # its moment passed before it could go out
    FAILED = "failed"


class Reminder(SQLModel, table=True):
    """One message to send: planned by a sweep under a unique key, delivered by the outbox exactly once."""

    __tablename__ = "reminder"
    __table_args__ = (sa.Index("ix_reminder_status_next_attempt_at", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120, sa_column_kwargs={"unique": True})
    kind: str = Field(max_length=16)
    task_id: int | None = Field(default=None, foreign_key="task.id", ondelete="CASCADE", index=True)
    member_id: int | None = Field(default=None, foreign_key="member.id", ondelete="CASCADE", index=True)
    chat_id: int | None = Field(default=None, sa_type=sa.BigInteger)  # a group message has no member
    day: dt.date
    status: ReminderStatus = Field(default=ReminderStatus.PENDING, sa_type=_enum_column(ReminderStatus))
    next_attempt_at: dt.datetime = Field(sa_type=AwareDateTime)
    expires_at: dt.datetime = Field(sa_type=AwareDateTime)
    attempts: int = 0
    claimed_until: dt.datetime | None = Field(default=None, sa_type=AwareDateTime)
    sent_at: dt.datetime | None = Field(default=None, sa_type=AwareDateTime)
    error: str = Field(default="", max_length=200)
    # A notice Telegram did not take at once (kind "notice"): its text and buttons, sent again from here.
    payload: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)


class TargetKind(enum.StrEnum):
    SECTION = "section"
    MEMBER = "member"


class RaterGroup(enum.StrEnum):
    INTERNAL = "internal"
    INDUSTRY = "industry"
    PUBLIC = "public"


class FormComment(SQLModel, table=True):
    """A comment typed on a rating form. The form's other state travels signed in its own buttons
    (handlers/rating_form.py); a comment does not fit in a button, so the buttons carry this row's id. Rows older
    than a day are dropped by the reminder sweep."""

    __tablename__ = "form_comment"

    id: int | None = Field(default=None, primary_key=True)
    rater_id: int = Field(foreign_key="member.id", ondelete="CASCADE", index=True)
    text: str = Field(max_length=500)
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=AwareDateTime)


class SigningKey(SQLModel, table=True):
    """A secret the bot signs with (the rating form's buttons): made once, by whichever instance starts first, so
    that every instance agrees. Never logged, never shown."""

    __tablename__ = "signing_key"

    name: str = Field(primary_key=True, max_length=32)
    secret: str = Field(max_length=128)  # hex
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=AwareDateTime)


class Rating(SQLModel, table=True):
    """One rater's confirmed rating of a section or a colleague for a period. Never deleted; voided with a reason."""

    __tablename__ = "rating"
    __table_args__ = (sa.UniqueConstraint("rater_id", "target_kind", "target_id", "period_id"),)

    id: int | None = Field(default=None, primary_key=True)
    rater_id: int = Field(foreign_key="member.id", ondelete="RESTRICT")
    rater_group: RaterGroup = Field(sa_type=_enum_column(RaterGroup))
    target_kind: TargetKind = Field(sa_type=_enum_column(TargetKind))
    target_id: int = Field(index=True)
    period_id: int = Field(foreign_key="period.id", ondelete="RESTRICT", index=True)
    scores: dict[str, int] = Field(default_factory=dict, sa_type=sa.JSON)
    value: float  # the weighted mean of the scores, 1–5
    comment: str = Field(default="", max_length=500)
    comment_delivered: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # The comment may be passed on: the target's view was published with this rating in it (storage.scoring.publish)
    comment_released: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # The random number of the form that made it (handlers/rating_form.py): a repeated Confirm changes nothing.
    form_nonce: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=AwareDateTime)
    updated_at: dt.datetime = Field(default_factory=utc_now, sa_type=AwareDateTime)
    voided_at: dt.datetime | None = Field(default=None, sa_type=AwareDateTime)
    void_reason: str = Field(default="", max_length=300)
    tally: dict[str, float] = Field(
        default_factory=dict, sa_type=sa.JSON, sa_column_kwargs={"server_default": sa.text("'{}'")}
    )  # what it adds to score_tally now


class PublicReview(SQLModel, table=True):
    """A good/bad review (好差评) by someone the section served, from the section's review link: five levels, 5 =
    very satisfied … 1 = very dissatisfied. The two lowest need a reason and open a rectification task."""

    __tablename__ = "public_review"
    __table_args__ = (sa.UniqueConstraint("section_id", "reviewer_telegram_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    section_id: int = Field(foreign_key="section.id", ondelete="RESTRICT", index=True)
    # The Telegram user; a reviewer on the web page is a negative number kept in their signed cookie (web/guards.py)
    reviewer_telegram_id: int = Field(sa_type=sa.BigInteger)
    level: int
    tags: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    reason: str = Field(default="", max_length=500)
    comment: str = Field(default="", max_length=500)
    day: dt.date
    complete: bool = False  # a bad review is complete once its reason is given
    task_id: int | None = Field(default=None, foreign_key="task.id", ondelete="SET NULL", index=True)
    outcome: str = Field(default="", max_length=16)  # fixed, scheduled or explained: the section's answer
    outcome_note: str = Field(default="", max_length=500)
    followup_satisfied: bool | None = None  # the reviewer's answer when told the outcome (回访)
    # A leader closed it although the reviewer was not satisfied: only then does it count as rectified again.
    settled_at: dt.datetime | None = Field(default=None, sa_type=AwareDateTime)
    language: str | None = Field(default=None, max_length=8)  # the reviewer's, for the follow-up
    # From the web page: how to reach the reviewer for a call back (回访), seen by the section's heads and admins
    # only; and the address it came from (the admins see the reviews of one address together in /moderate).
    contact: str = Field(default="", max_length=100, sa_column_kwargs={"server_default": ""})
    client_address: str | None = Field(default=None, max_length=64, index=True)
    appeal_status: str = Field(default="", max_length=16)  # pending, upheld or voided
    appeal_reason: str = Field(default="", max_length=500)
    voided_at: dt.datetime | None = Field(default=None, sa_type=AwareDateTime)
    void_reason: str = Field(default="", max_length=300)
    tally: dict[str, float] = Field(
        default_factory=dict, sa_type=sa.JSON, sa_column_kwargs={"server_default": sa.text("'{}'")}
    )  # what it adds to score_tally now
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=AwareDateTime)


class ScoreTally(SQLModel, table=True):
    """Running sums per target, period, rater group and measure (the value, each standard, good and bad reviews,
    rectified ones, raters), kept in the same transaction as the ratings and reviews they sum, so that a ranking
    reads one row per target and measure however many ratings there are. `python -m bot check` recomputes them."""

    __tablename__ = "score_tally"
    __table_args__ = (sa.UniqueConstraint("period_id", "target_kind", "target_id", "rater_group", "measure"),)

    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="period.id", ondelete="CASCADE")
    target_kind: TargetKind = Field(sa_type=_enum_column(TargetKind))
    target_id: int
    rater_group: RaterGroup = Field(sa_type=_enum_column(RaterGroup))
    measure: str = Field(max_length=32)
    total: float = 0.0
    count: int = 0
    # What the boards show: total and count as last published (storage.scoring.publish). They follow the running
    # sums in steps of at least min_raters new raters, and at the end of the period, so that comparing two views never
    # gives one rater's scores. Good, bad and rectified reviews are shown as they are.
    shown_total: float = Field(default=0.0, sa_column_kwargs={"server_default": "0"})
    shown_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class BoardVersion(SQLModel, table=True):
    """A counter per kind of board (id 1: the individuals', 2: the sections'), raised by every transaction that
    changes what those boards are computed from (tallies, sections, members, tasks, periods), so that each bot
    process knows when a board it keeps is out of date (storage.boards). A row appears with the first change."""

    __tablename__ = "board_version"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    version: int = 0


class RaterMark(SQLModel, table=True):
    """How many of one rater's ratings of a target fall in a period (a quarter holds three months): the tally's
    rater count goes up when this leaves 0 and down when it comes back to 0."""

    __tablename__ = "rater_mark"
    __table_args__ = (sa.UniqueConstraint("period_id", "target_kind", "target_id", "rater_id"),)

    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="period.id", ondelete="CASCADE")
    target_kind: TargetKind = Field(sa_type=_enum_column(TargetKind))
    target_id: int
    rater_id: int = Field(foreign_key="member.id", ondelete="CASCADE")
    ratings: int = 0


class Snapshot(SQLModel, table=True):
    """A leaderboard as it stood: posted to the group on schedule or by an admin, and the base of the movements
    (▲2, ▼1, new) shown next time."""

    __tablename__ = "snapshot"

    id: int | None = Field(default=None, primary_key=True)
    slot: str = Field(max_length=64, sa_column_kwargs={"unique": True})  # weekly:2026-06-15, month_end:2026-06, …
    period_id: int = Field(foreign_key="period.id", ondelete="CASCADE", index=True)
    sections: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)  # id, name, rank, score, raters
    members: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    taken_by_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    taken_at: dt.datetime = Field(default_factory=utc_now, sa_type=AwareDateTime)


class ProcessedUpdate(SQLModel, table=True):
    """The Telegram updates already acted on (a webhook retried, a poll repeated after a crash), per bot: claimed in
    the transaction that acts on the update, so a repeat changes nothing and a failed attempt can be repeated."""

    __tablename__ = "processed_update"

    bot_id: int = Field(sa_type=sa.BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    update_id: int = Field(sa_type=sa.BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    received_at: dt.datetime = Field(default_factory=utc_now, sa_type=AwareDateTime, index=True)


@sa.event.listens_for(Section, "before_insert")
@sa.event.listens_for(Section, "before_update")
def _keep_section_sort_name(_mapper: Any, _connection: Any, section: Section) -> None:
    key = sort_name(section.name)
    if section.sort_name != key:
        section.sort_name = key


@sa.event.listens_for(Member, "before_insert")
@sa.event.listens_for(Member, "before_update")
def _keep_member_sort_name(_mapper: Any, _connection: Any, member: Member) -> None:
    key = sort_name(member.display_name)
    if member.sort_name != key:
        member.sort_name = key
