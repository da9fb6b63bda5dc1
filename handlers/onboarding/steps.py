"""The onboarding steps; each renders the next one. Every step has a way back."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec
from bot.services import geography, residents
from bot.services.errors import Stale
from bot.services.residents import Viewer
from bot.ui.buttons import button
from bot.ui.callbacks import OnboardingCb
from bot.ui.menu import main_menu
from bot.ui.messages import confirm_then, reply, respond
from bot.ui.onboarding import (
    LANGUAGE_LABELS,
    consent_keyboard,
    consent_question,
    greeting,
    language_keyboard,
    welcome_text,
)
from bot.ui.places import district_step, hood_label
from bot.ui.privacy import privacy_text
from handlers.onboarding.states import Onboarding
from storage.models import Neighborhood


async def start(
    message: Message, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str
) -> None:
    await state.clear()
    if viewer.onboarded:
        hood = await geography.neighborhood(session, viewer.resident.neighborhood_id)
        await respond(message, welcome_text(hood), main_menu(viewer))
        return
    await state.set_state(Onboarding.language)
    await respond(message, greeting(), language_keyboard(lang))


async def chose_language(
    query: CallbackQuery, callback_data, state: FSMContext, viewer: Viewer, i18n: I18n, city: CitySpec
) -> None:  # noqa: ANN001
    if callback_data.code not in LANGUAGE_LABELS:
        raise Stale()
    residents.set_language(viewer.resident, callback_data.code)  # kept with the resident once they consent
    i18n.current_locale = callback_data.code
    await state.set_state(Onboarding.consent)
    await state.update_data(language=callback_data.code)
    await reply(
        query, f"{privacy_text(city, callback_data.code)}\n\n{consent_question()}", consent_keyboard()
    )


async def consent(
    query: CallbackQuery, callback_data, state: FSMContext, session: AsyncSession, viewer: Viewer, i18n: I18n
) -> None:  # noqa: ANN001
    if not callback_data.accept:
        await state.clear()
        await residents.forget_unfinished(session, viewer.resident)
        await reply(
            query,
            _(
                "Understood: nothing was saved about you. Meydan needs your consent to work; send /start "
                "whenever you change your mind."
            ),
        )
        return
    language = (await state.get_data()).get("language")
    if language in LANGUAGE_LABELS:
        residents.set_language(viewer.resident, language)
        i18n.current_locale = language
    await residents.accept_privacy(session, viewer.resident)
    await state.set_state(Onboarding.district)
    await reply(query, *await district_step(session, back=back_to_consent()))


def back_to_consent() -> InlineKeyboardButton:
    return button(_("« Privacy notice"), OnboardingCb(action="consent"))


async def back(
    query: CallbackQuery, callback_data: OnboardingCb, state: FSMContext, city: CitySpec, lang: str
) -> None:
    if await state.get_state() not in {s.state for s in Onboarding.__all_states__}:
        raise Stale()
    if callback_data.action == "language":
        await state.set_state(Onboarding.language)
        await reply(query, greeting(), language_keyboard(lang))
        return
    await state.set_state(Onboarding.consent)
    await reply(query, f"{privacy_text(city, lang)}\n\n{consent_question()}", consent_keyboard())


async def chose_place(
    event: Message | CallbackQuery,
    hood: Neighborhood,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
) -> None:
    await residents.set_neighborhood(session, viewer.resident, hood.id)
    await state.clear()
    done = _("✅ You are set: {place}.").format(place=hood_label(hood))
    await confirm_then(event, done, welcome_text(hood), main_menu(viewer))


async def expecting_button(message: Message, state: FSMContext, lang: str, city: CitySpec) -> None:
    if await state.get_state() == Onboarding.language.state:
        await respond(
            message,
            _("Please choose your language with a button:"),
            language_keyboard(lang),
        )
    else:
        await respond(
            message,
            f"{privacy_text(city, lang)}\n\n{consent_question()}",
            consent_keyboard(),
        )
