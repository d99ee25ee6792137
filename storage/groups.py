"""The campaign group: where snapshots and nudges are posted."""

from __future__ import annotations

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import CampaignGroup


async def get_campaign_group(*, session: AsyncSession) -> CampaignGroup | None:
    return (await session.exec(select(CampaignGroup))).first()


async def bind_campaign_group(
    *, session: AsyncSession, chat_id: int, title: str, bound_by_id: int | None, language: str | None = None
) -> CampaignGroup:
    """Makes this chat the campaign group, speaking `language` (None: the default), replacing any other."""
    await session.exec(delete(CampaignGroup).where(col(CampaignGroup.chat_id) != chat_id))
    group = (await session.exec(select(CampaignGroup).where(CampaignGroup.chat_id == chat_id))).first()
    if group is None:
        group = CampaignGroup(chat_id=chat_id, title=title[:128], bound_by_id=bound_by_id, language=language)
    else:
        group.title, group.bound_by_id, group.language = title[:128], bound_by_id, language
    session.add(group)
    await session.flush()
    return group


async def move_campaign_group(*, session: AsyncSession, old_chat_id: int, new_chat_id: int) -> bool:
    """The group became a supergroup with a new id; the binding follows. True if it was bound."""
    group = (await session.exec(select(CampaignGroup).where(CampaignGroup.chat_id == old_chat_id))).first()
    if group is None:
        return False
    group.chat_id = new_chat_id
    session.add(group)
    await session.flush()
    return True


async def unbind_campaign_group(*, session: AsyncSession, chat_id: int) -> bool:
    result = await session.exec(delete(CampaignGroup).where(col(CampaignGroup.chat_id) == chat_id))
    return bool(result.rowcount)


async def set_group_language(*, session: AsyncSession, group: CampaignGroup, language: str) -> None:
    group.language = language
    session.add(group)
    await session.flush()
