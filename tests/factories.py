"""Test data, made through the storage functions the bot itself uses."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import quote, urlencode

from storage import members, sections
from storage.models import Member, MemberStatus, Role, Section, SectionKind
from storage.session import Database


async def make_section(db: Database, name: str = "行政审批科", kind: SectionKind = SectionKind.OFFICE) -> Section:
    async with db.transaction() as session:
        return await sections.create_section(session=session, name=name, kind=kind)


async def make_member(
    db: Database,
    telegram_id: int | None,
    name: str,
    *,
    role: Role = Role.STAFF,
    section: Section | None = None,
    status: MemberStatus = MemberStatus.ACTIVE,
    language: str | None = None,
    username: str | None = None,
) -> Member:
    async with db.transaction() as session:
        return await members.create_member(
            session=session,
            telegram_id=telegram_id,
            display_name=name,
            role=role,
            status=status,
            section_id=section.id if section else None,
            language=language,
            username=username,
        )


async def reload_member(db: Database, member_id: int | None) -> Member:
    assert member_id is not None
    async with db.transaction() as session:
        member = await members.get_member(session=session, member_id=member_id)
    assert member is not None
    return member


async def member_of(db: Database, telegram_id: int) -> Member | None:
    async with db.transaction() as session:
        return await members.get_member_by_telegram_id(session=session, telegram_id=telegram_id)


def telegram_init_data(bot_token: str, user: dict[str, Any], signed_at: dt.datetime, **fields: str) -> str:
    """A Mini App's initData as Telegram makes it (core.telegram.org/bots/webapps), written here apart from the
    bot's own check: the fields URL-encoded, and `hash`, the hex HMAC-SHA256 of the fields' sorted "key=value"
    lines under the key HMAC-SHA256(key="WebAppData", message=bot_token)."""
    values = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(user, ensure_ascii=False, separators=(",", ":")),
        "auth_date": str(int(signed_at.timestamp())),
        **fields,
    }
    check = "\n".join(f"{key}={value}" for key, value in sorted(values.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    values["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(values, quote_via=quote)
