"""The place picker shared by onboarding, settings and any form that asks for a neighborhood.

District → neighborhood by paged buttons, or a typed, accent-insensitive name: a lone match is taken
at once, several are offered as buttons (a district and a neighborhood of the same name are told
apart; a form that asks for a place the same way labels its matches with `district_match` and
`hood_match` under `matches_text`). A feature gets its own picker with `picker_router(...)`: its two states, what happens when a
neighborhood is chosen, and an optional way back out of the picker.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import geography
from bot.services.errors import Stale
from bot.services.residents import Viewer
from bot.text import fold
from bot.ui.buttons import button
from bot.ui.callbacks import DistrictCb, HoodCb, PageCb
from bot.ui.forms import Answer
from bot.ui.keyboards import paged, single_column
from bot.ui.messages import reply, respond
from storage.models import District, Neighborhood

DISTRICT_LIST, HOOD_LIST = "d", "n"
Chosen = Callable[[Message | CallbackQuery, Neighborhood, FSMContext, AsyncSession, Viewer], Awaitable[None]]
Back = Callable[[], InlineKeyboardButton | None]


async def one_neighborhood(session: AsyncSession, text: str) -> Neighborhood:
    """The one neighborhood a typed name means (a form's answer), else `Answer` saying what to type:
    none found, or the several that match (an exact name among them is taken)."""
    hoods = await geography.search_neighborhoods(session, text)
    exact = [h for h in hoods if fold(h.name) == fold(text)]
    hoods = exact if len(hoods) > 1 and len(exact) == 1 else hoods
    shown = escape(text[:60])
    if not hoods:
        problem = _("I found no neighborhood called “{query}”. Check the spelling and type it again.")
        raise Answer(problem.format(query=shown))
    if len(hoods) > 1:
        names = escape(", ".join(f"{h.name} ({h.district.name})" for h in hoods[:8]))
        problem = _("Several neighborhoods match “{query}”: {names}. Please type the full name.")
        raise Answer(problem.format(query=shown, names=names))
    return hoods[0]


def hood_label(hood: Neighborhood) -> str:
    return place_label(hood.name, hood.district.name if hood.district else None)


def place_label(neighborhood: str, district: str | None) -> str:
    """A neighborhood by name, with its district's when known, made safe for HTML."""
    return escape(f"{neighborhood}, {district}" if district else neighborhood)


async def district_step(
    session: AsyncSession, page: int = 0, back: InlineKeyboardButton | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    items = [(d.name, DistrictCb(id=d.id)) for d in await geography.districts(session)]
    text = _("📍 Which district do you live in? Pick it below, or type its name (or your neighborhood's).")
    return text, paged(items, page=page, list_name=DISTRICT_LIST, extra=[back] if back else [])


async def neighborhood_step(
    session: AsyncSession, district_id: int, page: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    district = await geography.district(session, district_id)
    if district is None:
        raise Stale()
    items = [(n.name, HoodCb(id=n.id)) for n in await geography.neighborhoods(session, district_id)]
    back = button(_("« Districts"), PageCb(list=DISTRICT_LIST, page=0))
    text = _("🏘 Which neighborhood of {district}? Pick it below or type its name.").format(
        district=f"<b>{escape(district.name)}</b>"
    )
    return text, paged(items, page=page, list_name=HOOD_LIST, parent=district_id, extra=[back])


def picker_router(
    name: str, district: State, neighborhood: State, chosen: Chosen, back: Back = lambda: None
) -> Router:
    """Handlers for one feature's picker; `chosen` runs when a neighborhood is picked (state not cleared)."""
    router = Router(name=f"{name}.places")
    in_picker = (district, neighborhood)

    async def district_page(
        query: CallbackQuery, callback_data: PageCb, state: FSMContext, session: AsyncSession
    ) -> None:
        await state.set_state(district)
        await reply(query, *await district_step(session, callback_data.page, back()))

    async def chose_district(
        query: CallbackQuery, callback_data: DistrictCb, state: FSMContext, session: AsyncSession
    ) -> None:
        step = await neighborhood_step(session, callback_data.id)
        await state.set_state(neighborhood)
        await state.update_data(district_id=callback_data.id)
        await reply(query, *step)

    async def neighborhood_page(
        query: CallbackQuery, callback_data: PageCb, state: FSMContext, session: AsyncSession
    ) -> None:
        if callback_data.parent != (await state.get_data()).get("district_id"):
            raise Stale()
        await reply(query, *await neighborhood_step(session, callback_data.parent, callback_data.page))

    async def chose_neighborhood(
        query: CallbackQuery, callback_data: HoodCb, state: FSMContext, session: AsyncSession, viewer: Viewer
    ) -> None:
        hood = await geography.neighborhood(session, callback_data.id)
        if hood is None:
            raise Stale()
        await chosen(query, hood, state, session, viewer)

    async def typed(message: Message, state: FSMContext, session: AsyncSession, viewer: Viewer) -> None:
        if message.text.startswith("/"):
            await respond(message, _("Let's finish choosing your place first, or send /cancel to stop."))
            return
        district_id = None
        if await state.get_state() == neighborhood.state:
            district_id = (await state.get_data()).get("district_id")
        districts = [] if district_id else await geography.search_districts(session, message.text)
        hoods = await geography.search_neighborhoods(session, message.text, district_id)
        if len(hoods) == 1 and not districts:
            await chosen(message, hoods[0], state, session, viewer)
            return
        if len(districts) == 1 and not hoods:
            await state.set_state(neighborhood)
            await state.update_data(district_id=districts[0].id)
            await reply(message, *await neighborhood_step(session, districts[0].id))
            return
        await reply(message, *search_results(message.text, districts, hoods, district_id))

    async def not_text(message: Message) -> None:
        await respond(message, _("Please pick from the list, or type the name as text."))

    for state in in_picker:
        router.callback_query.register(district_page, state, PageCb.filter(F.list == DISTRICT_LIST))
        router.callback_query.register(chose_district, state, DistrictCb.filter())
        router.callback_query.register(chose_neighborhood, state, HoodCb.filter())
        router.message.register(typed, state, F.text)
        router.message.register(not_text, state)
    router.callback_query.register(neighborhood_page, neighborhood, PageCb.filter(F.list == HOOD_LIST))
    return router


def district_match(district: District) -> str:
    """A district among typed matches, marked as a district."""
    return _("🏙 {name} (district)").format(name=district.name)


def hood_match(hood: Neighborhood, within_district: bool = False) -> str:
    """A neighborhood among typed matches, with its district (not when searching inside one)."""
    return (
        hood.name
        if within_district
        else _("🏘 {name} ({district})").format(name=hood.name, district=hood.district.name)
    )


def matches_text(query: str) -> str:
    """The question above the matches of a typed name."""
    return _("Is it one of these? (search: “{query}”)").format(query=escape(query[:60]))


def search_results(
    query: str, districts: list[District], hoods: list[Neighborhood], district_id: int | None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Matches for a typed name: districts marked as districts, neighborhoods with their district."""
    buttons = [(district_match(d), DistrictCb(id=d.id)) for d in districts]
    buttons += [(hood_match(n, bool(district_id)), HoodCb(id=n.id)) for n in hoods]
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
    return matches_text(query), single_column(buttons[:12])
