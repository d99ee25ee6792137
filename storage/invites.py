"""Invitation links: unguessable tokens with an expiry and a maximum number of uses."""

from __future__ import annotations

import datetime as dt
import enum
import secrets

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Invite, InviteKind, Member, MemberStatus, Role

TOKEN_BYTES = 16  # 22 URL-safe characters: 128 bits


class InviteProblem(enum.StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED_UP = "used_up"
    REVOKED = "revoked"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


async def create_invite(
    *,
    session: AsyncSession,
    kind: InviteKind,
    role: Role,
    expires_at: dt.datetime,
    max_uses: int,
    section_id: int | None = None,
    member_id: int | None = None,
    created_by_id: int | None = None,
) -> Invite:
    invite = Invite(
        token=new_token(),
        kind=kind,
        role=role,
        section_id=section_id,
        member_id=member_id,
        created_by_id=created_by_id,
        expires_at=expires_at,
        max_uses=max_uses,
    )
    session.add(invite)
    await session.flush()
    return invite


async def get_invite(*, session: AsyncSession, invite_id: int) -> Invite | None:
    return await session.get(Invite, invite_id)


async def find_invite(*, session: AsyncSession, token: str) -> Invite | None:
    return (await session.exec(select(Invite).where(Invite.token == token))).first()


def invite_problem(invite: Invite | None, now: dt.datetime) -> InviteProblem | None:
    """Why this invitation cannot be used now, or None when it can."""
    if invite is None:
        return InviteProblem.UNKNOWN
    if invite.revoked_at is not None:
        return InviteProblem.REVOKED
    if invite.expires_at <= now:
        return InviteProblem.EXPIRED
    if invite.uses >= invite.max_uses:
        return InviteProblem.USED_UP
    return None


async def take_invite_use(*, session: AsyncSession, invite: Invite, now: dt.datetime) -> bool:
    """Counts one use, unless another user took the last one first (one UPDATE, safe under concurrency)."""
    statement = (
        update(Invite)
        .where(
            col(Invite.id) == invite.id,
            col(Invite.uses) < col(Invite.max_uses),
            col(Invite.revoked_at).is_(None),
            col(Invite.expires_at) > now,
        )
        .values(uses=col(Invite.uses) + 1)
    )
    taken = (await session.exec(statement)).rowcount == 1
    if taken:
        await session.refresh(invite)
    return taken


async def revoke_invite(*, session: AsyncSession, invite: Invite, now: dt.datetime) -> Invite:
    if invite.revoked_at is None:
        invite.revoked_at = now
        session.add(invite)
        await session.flush()
    return invite


async def revoke_links_of_member(*, session: AsyncSession, member_id: int, now: dt.datetime) -> int:
    """Withdraws the open links that register as this member (their personal link from the roster) or that they
    made (a head's links for their section); returns how many. For a member who is deactivated."""
    statement = (
        update(Invite)
        .where(
            (col(Invite.member_id) == member_id) | (col(Invite.created_by_id) == member_id),
            col(Invite.revoked_at).is_(None),
            col(Invite.uses) < col(Invite.max_uses),
        )
        .values(revoked_at=now)
    )
    return int((await session.exec(statement)).rowcount)


async def needs_approval(*, session: AsyncSession, invite: Invite, config_admins: tuple[int, ...]) -> bool:
    """Whether joining through this link waits for an administrator, as a /start registration does: a link for
    staff that an administrator did not make (a head's). Administrators' links, the roster's personal links and
    industry raters' links (made by administrators only) admit at once."""
    if invite.kind != InviteKind.MEMBER or invite.role != Role.STAFF:
        return False
    maker = await session.get(Member, invite.created_by_id) if invite.created_by_id is not None else None
    if maker is None:
        return True
    made_by_admin = maker.role == Role.ADMIN and maker.status == MemberStatus.ACTIVE
    return not (made_by_admin or maker.telegram_id in config_admins)


async def list_open_invites(
    *, session: AsyncSession, now: dt.datetime, created_by_id: int | None = None
) -> list[Invite]:
    """Invitations that can still be used, newest first (the personal links of the roster included)."""
    query = select(Invite).where(
        col(Invite.revoked_at).is_(None),
        col(Invite.expires_at) > now,
        col(Invite.uses) < col(Invite.max_uses),
    )
    if created_by_id is not None:
        query = query.where(Invite.created_by_id == created_by_id)
    return list((await session.exec(query.order_by(col(Invite.id).desc()))).all())
