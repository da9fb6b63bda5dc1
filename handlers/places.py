"""Choosing a district and a neighborhood: paged buttons or a typed, accent-insensitive search.

Used by onboarding and by /settings; the caller's `purpose` is kept in the conversation data.
"""

from __future__ import annotations

from html import escape

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import geography
from bot.ui.callbacks import DistrictCb, HoodCb, PageCb
from bot.ui.keyboards import paged, single_column

DISTRICT_LIST, HOOD_LIST = "d", "n"


async def district_step(session: AsyncSession, page: int = 0) -> tuple[str, InlineKeyboardMarkup]:
    items = [(d.name, DistrictCb(id=d.id)) for d in await geography.districts(session)]
    text = _("📍 Which district do you live in? Pick it below, or type its name (or your neighborhood's).")
    return text, paged(items, page=page, list_name=DISTRICT_LIST)


async def neighborhood_step(
    session: AsyncSession, district_id: int, page: int = 0
) -> tuple[str, InlineKeyboardMarkup] | None:
    district = await geography.district(session, district_id)
    if district is None:
        return None
    items = [(n.name, HoodCb(id=n.id)) for n in await geography.neighborhoods(session, district_id)]
    back = InlineKeyboardButton(
        text=_("« Districts"), callback_data=PageCb(list=DISTRICT_LIST, page=0).pack()
    )
    text = _("🏘 Which neighborhood of {district}? Pick it below or type its name.").format(
        district=f"<b>{escape(district.name)}</b>"
    )
    return text, paged(items, page=page, list_name=HOOD_LIST, parent=district_id, extra=[back])


async def search_results(
    session: AsyncSession, query: str, district_id: int | None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Matches for a typed name. In the district step districts and neighborhoods both match."""
    buttons: list[tuple[str, DistrictCb | HoodCb]] = []
    if district_id is None:
        buttons += [
            (f"{d.name}", DistrictCb(id=d.id)) for d in await geography.search_districts(session, query)
        ]
        hoods = await geography.search_neighborhoods(session, query)
        buttons += [(f"{n.name} ({n.district.name})", HoodCb(id=n.id)) for n in hoods]
    else:
        hoods = await geography.search_neighborhoods(session, query, district_id)
        buttons += [(n.name, HoodCb(id=n.id)) for n in hoods]
    shown = escape(query[:60])
    if not buttons:
        if district_id is None:
            text = _(
                "I found no district or neighborhood called “{query}”. Check the spelling, or pick from the list."
            )
        else:
            text = _(
                "I found no neighborhood called “{query}” in this district. Check the spelling, or pick from the list."
            )
        return text.format(query=shown), None
    text = _("Is it one of these? (search: “{query}”)").format(query=shown)
    return text, single_column(buttons[:12])
