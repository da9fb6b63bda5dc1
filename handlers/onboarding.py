"""/start: language, privacy notice, district, neighborhood, then the main menu."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from aiogram import F, Router
from aiogram.filters import CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import geography, residents
from bot.services.residents import Known
from bot.ui.callbacks import ConsentCb, DistrictCb, HoodCb, LangCb, PageCb
from bot.ui.keyboards import single_column
from bot.ui.menu import main_menu
from bot.ui.messages import replace
from handlers import places

router = Router(name="onboarding")

LANGUAGE_LABELS = {"tr": "🇹🇷 Türkçe", "en": "🇬🇧 English"}


class Onboarding(StatesGroup):
    language = State()
    consent = State()
    district = State()
    neighborhood = State()


def language_keyboard(
    selected: str | None, data: Callable[[str], CallbackData] = lambda code: LangCb(code=code)
) -> InlineKeyboardMarkup:
    """One button per language, each in its own language, the selected one ticked."""
    return single_column(
        [
            ((f"✓ {label}" if code == selected else label), data(code))
            for code, label in LANGUAGE_LABELS.items()
        ]
    )


def privacy_text() -> str:
    return _(
        "🔒 <b>Privacy</b>\n"
        "Meydan keeps only what it needs: your Telegram id, your language, your neighborhood and what you "
        "send or vote. Your name and phone number are not stored (a phone number you share to verify is "
        "kept only as a one-way hash). Votes stay secret; staff never see who voted for what.\n"
        "You can export or delete your data at any time in /settings. Do you accept?"
    )


def consent_keyboard() -> InlineKeyboardMarkup:
    return single_column(
        [(_("✅ I accept"), ConsentCb(accept=True)), (_("✖️ No, thanks"), ConsentCb(accept=False))]
    )


def welcome_text(known: Known) -> str:
    hood = known.resident.neighborhood
    return _(
        "🏛 <b>Meydan</b>: your say in your city.\nYour neighborhood: {place}. What would you like to do?"
    ).format(place=escape(f"{hood.name}, {hood.district.name}") if hood else "—")


@router.message(CommandStart())
async def start(message: Message, state: FSMContext, session: AsyncSession, known: Known, lang: str) -> None:
    await state.clear()
    if residents.is_onboarded(known.resident):
        await session.refresh(known.resident, ["neighborhood"])
        if known.resident.neighborhood is not None:
            await session.refresh(known.resident.neighborhood, ["district"])
        await message.answer(welcome_text(known), reply_markup=main_menu(is_staff=known.is_staff))
        return
    await state.set_state(Onboarding.language)
    await message.answer(
        _(
            "👋 Welcome to <b>Meydan</b>, the city's public square in your pocket: send ideas, vote on "
            "budgets and projects, join your neighborhood council and park events.\n\nChoose your language:"
        ),
        reply_markup=language_keyboard(lang),
    )


@router.callback_query(Onboarding.language, LangCb.filter())
async def chose_language(
    query: CallbackQuery, callback_data: LangCb, state: FSMContext, known: Known, i18n: I18n
) -> None:
    if callback_data.code not in LANGUAGE_LABELS:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    residents.set_language(known.resident, callback_data.code)
    i18n.current_locale = callback_data.code
    await state.set_state(Onboarding.consent)
    await query.answer()
    await replace(query.message, privacy_text(), consent_keyboard())


@router.callback_query(Onboarding.consent, ConsentCb.filter())
async def consent(
    query: CallbackQuery, callback_data: ConsentCb, state: FSMContext, session: AsyncSession, known: Known
) -> None:
    await query.answer()
    if not callback_data.accept:
        await state.clear()
        await query.message.edit_text(
            _(
                "Understood: nothing was saved about you. Meydan needs your consent to work; send /start "
                "whenever you change your mind."
            )
        )
        return
    residents.accept_privacy(known.resident)
    await state.set_state(Onboarding.district)
    await state.update_data(purpose="onboarding")
    text, keyboard = await places.district_step(session)
    await query.message.edit_text(text, reply_markup=keyboard)


@router.callback_query(Onboarding.district, PageCb.filter(F.list == places.DISTRICT_LIST))
@router.callback_query(Onboarding.neighborhood, PageCb.filter(F.list == places.DISTRICT_LIST))
async def district_page(
    query: CallbackQuery, callback_data: PageCb, state: FSMContext, session: AsyncSession
) -> None:
    await state.set_state(Onboarding.district)
    text, keyboard = await places.district_step(session, callback_data.page)
    await query.answer()
    await replace(query.message, text, keyboard)


@router.callback_query(Onboarding.district, DistrictCb.filter())
@router.callback_query(Onboarding.neighborhood, DistrictCb.filter())
async def chose_district(
    query: CallbackQuery, callback_data: DistrictCb, state: FSMContext, session: AsyncSession
) -> None:
    step = await places.neighborhood_step(session, callback_data.id)
    if step is None:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    await state.set_state(Onboarding.neighborhood)
    await state.update_data(district_id=callback_data.id)
    await query.answer()
    await replace(query.message, *step)


@router.callback_query(Onboarding.neighborhood, PageCb.filter(F.list == places.HOOD_LIST))
async def neighborhood_page(
    query: CallbackQuery, callback_data: PageCb, state: FSMContext, session: AsyncSession
) -> None:
    data = await state.get_data()
    step = await places.neighborhood_step(session, data.get("district_id", 0), callback_data.page)
    if step is None or callback_data.parent != data.get("district_id"):
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    await query.answer()
    await replace(query.message, *step)


@router.callback_query(Onboarding.district, HoodCb.filter())
@router.callback_query(Onboarding.neighborhood, HoodCb.filter())
async def chose_neighborhood(
    query: CallbackQuery, callback_data: HoodCb, state: FSMContext, session: AsyncSession, known: Known
) -> None:
    hood = await geography.neighborhood(session, callback_data.id)
    if hood is None:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    purpose = (await state.get_data()).get("purpose", "onboarding")
    await residents.set_neighborhood(session, known.resident, hood.id)
    await state.clear()
    await query.answer()
    place = escape(f"{hood.name}, {hood.district.name}")
    if purpose == "settings":
        from handlers.settings import settings_view

        await query.message.edit_text(_("✅ Your neighborhood is now {place}.").format(place=place))
        text, keyboard = await settings_view(session, known)
        await query.message.answer(text, reply_markup=keyboard)
        return
    await query.message.edit_text(_("✅ You are set: {place}.").format(place=place))
    await query.message.answer(welcome_text(known), reply_markup=main_menu(is_staff=known.is_staff))


@router.message(Onboarding.district, F.text)
@router.message(Onboarding.neighborhood, F.text)
async def typed_place(message: Message, state: FSMContext, session: AsyncSession) -> None:
    if message.text.startswith("/"):
        await message.answer(_("Let's finish choosing your place first, or send /cancel to stop."))
        return
    district_id = None
    if await state.get_state() == Onboarding.neighborhood.state:
        district_id = (await state.get_data()).get("district_id")
    text, keyboard = await places.search_results(session, message.text, district_id)
    await message.answer(text, reply_markup=keyboard)


@router.message(Onboarding.district)
@router.message(Onboarding.neighborhood)
async def place_not_text(message: Message) -> None:
    await message.answer(_("Please pick from the list, or type the name as text."))


@router.message(Onboarding.language)
@router.message(Onboarding.consent)
async def expecting_button(message: Message, state: FSMContext, lang: str) -> None:
    if await state.get_state() == Onboarding.language.state:
        await message.answer(
            _("Please choose your language with a button:"), reply_markup=language_keyboard(lang)
        )
    else:
        await message.answer(privacy_text(), reply_markup=consent_keyboard())
