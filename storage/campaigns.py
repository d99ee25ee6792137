"""The campaign of the configured year and its periods (months, quarters, the whole campaign)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Campaign, Period, PeriodKind


async def sync_campaign(
    *, session: AsyncSession, name: str, starts: dt.date, ends: dt.date, publish_every: int = 3
) -> Campaign:
    """Makes the database's campaign of that year match the config (`publish_every`: [scoring] min_raters), adding
    any missing periods."""
    campaign = (await session.exec(select(Campaign).where(Campaign.year == starts.year))).first()
    if campaign is None:
        campaign = Campaign(year=starts.year, name=name, starts_on=starts, ends_on=ends, publish_every=publish_every)
    else:
        campaign.name, campaign.starts_on, campaign.ends_on = name, starts, ends
        campaign.publish_every = publish_every
    session.add(campaign)
    await session.flush()
    assert campaign.id is not None
    existing = {
        (period.kind, period.starts_on)
        for period in (await session.exec(select(Period).where(Period.campaign_id == campaign.id))).all()
    }
    for kind, starts_on, ends_on in campaign_periods(starts, ends):
        if (kind, starts_on) not in existing:
            session.add(Period(campaign_id=campaign.id, kind=kind, starts_on=starts_on, ends_on=ends_on))
    await session.flush()
    return campaign


async def list_periods(*, session: AsyncSession, campaign_id: int, kind: PeriodKind) -> list[Period]:
    query = select(Period).where(Period.campaign_id == campaign_id, Period.kind == kind).order_by(col(Period.starts_on))
    return list((await session.exec(query)).all())


def campaign_periods(starts: dt.date, ends: dt.date) -> Iterator[tuple[PeriodKind, dt.date, dt.date]]:
    """Every month and quarter the campaign touches (clipped to its dates), then the campaign itself."""
    for kind, months in ((PeriodKind.MONTH, 1), (PeriodKind.QUARTER, 3)):
        first = dt.date(starts.year, (starts.month - 1) // months * months + 1, 1)
        while first <= ends:
            after = _add_months(first, months)
            yield kind, max(first, starts), min(after - dt.timedelta(days=1), ends)
            first = after
    yield PeriodKind.CAMPAIGN, starts, ends


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.month - 1 + months
    return dt.date(day.year + index // 12, index % 12 + 1, 1)


async def period_at(*, session: AsyncSession, kind: PeriodKind, today: dt.date) -> Period | None:
    """The period of that kind holding today; outside the campaign, the last one begun (or else the first)."""
    query = select(Period).where(Period.kind == kind)
    begun = query.where(col(Period.starts_on) <= today).order_by(col(Period.starts_on).desc())
    found = (await session.exec(begun)).first()
    if found is None:
        found = (await session.exec(query.order_by(col(Period.starts_on)))).first()
    return found


async def neighbour(*, session: AsyncSession, period: Period, step: int) -> Period | None:
    """The period of the same kind just before (step -1) or after (+1) this one, in any campaign."""
    query = select(Period).where(Period.kind == period.kind)
    if step < 0:
        query = query.where(col(Period.starts_on) < period.starts_on).order_by(col(Period.starts_on).desc())
    else:
        query = query.where(col(Period.starts_on) > period.starts_on).order_by(col(Period.starts_on))
    return (await session.exec(query)).first()


async def get_period(*, session: AsyncSession, period_id: int) -> Period | None:
    return await session.get(Period, period_id)


async def list_all_periods(*, session: AsyncSession, kind: PeriodKind) -> list[Period]:
    """The periods of that kind in every campaign, oldest first."""
    return list((await session.exec(select(Period).where(Period.kind == kind).order_by(col(Period.starts_on)))).all())
