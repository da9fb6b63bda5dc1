"""Districts and neighborhoods: listing and accent- and case-insensitive search."""

from __future__ import annotations

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from bot.text import fold
from storage.models import District, Neighborhood

SEARCH_LIMIT = 12


async def districts(session: AsyncSession) -> list[District]:
    rows = await session.scalars(select(District).where(District.active).order_by(District.name_folded))
    return list(rows)


async def district(session: AsyncSession, district_id: int) -> District | None:
    row = await session.get(District, district_id)
    return row if row is not None and row.active else None


async def neighborhoods(session: AsyncSession, district_id: int) -> list[Neighborhood]:
    rows = await session.scalars(
        select(Neighborhood)
        .where(Neighborhood.district_id == district_id, Neighborhood.active)
        .order_by(Neighborhood.name_folded)
    )
    return list(rows)


# built once: the settings and the forms read a person's neighborhood on many updates, and a statement
# built anew costs its construction and cache key each time
_NEIGHBORHOOD = (
    select(Neighborhood).options(joinedload(Neighborhood.district)).where(Neighborhood.id == bindparam("id"))
)


async def neighborhood(session: AsyncSession, neighborhood_id: int) -> Neighborhood | None:
    row = await session.scalar(_NEIGHBORHOOD, {"id": neighborhood_id})
    return row if row is not None and row.active and row.district.active else None


def _rank(query: str, name_folded: str) -> tuple[int, str]:
    if name_folded == query:
        return (0, name_folded)
    if name_folded.startswith(query):
        return (1, name_folded)
    if any(word.startswith(query) for word in name_folded.split()):
        return (2, name_folded)
    return (3, name_folded)


async def search_districts(session: AsyncSession, text: str) -> list[District]:
    query = fold(text)
    if not query:
        return []
    rows = await session.scalars(
        select(District).where(District.active, District.name_folded.contains(query, autoescape=True))
    )
    return sorted(rows, key=lambda d: _rank(query, d.name_folded))[:SEARCH_LIMIT]


async def search_neighborhoods(
    session: AsyncSession, text: str, district_id: int | None = None
) -> list[Neighborhood]:
    """Neighborhoods whose name contains `text` (folded), exact and prefix matches first."""
    query = fold(text)
    if not query:
        return []
    stmt = (
        select(Neighborhood)
        .join(Neighborhood.district)
        .options(joinedload(Neighborhood.district))
        .where(
            Neighborhood.active, District.active, Neighborhood.name_folded.contains(query, autoescape=True)
        )
    )
    if district_id is not None:
        stmt = stmt.where(Neighborhood.district_id == district_id)
    rows = await session.scalars(stmt)
    return sorted(rows, key=lambda n: _rank(query, n.name_folded))[:SEARCH_LIMIT]


async def count_neighborhoods(session: AsyncSession) -> int:
    return (
        await session.scalar(select(func.count()).select_from(Neighborhood).where(Neighborhood.active)) or 0
    )


async def by_keys(session: AsyncSession, district_key: str, neighborhood_key: str) -> Neighborhood | None:
    """The active neighborhood with these stable keys, e.g. ("konak", "pazaryeri")."""
    return await session.scalar(
        select(Neighborhood)
        .join(Neighborhood.district)
        .where(District.key == district_key, Neighborhood.key == neighborhood_key, Neighborhood.active)
    )
