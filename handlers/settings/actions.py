"""The settings handlers: each reads the press, calls a service, shows the settings again."""

from __future__ import annotations

import json

from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec
from bot.services import privacy, residents
from bot.services.errors import Stale
from bot.services.residents import Viewer
from bot.ui import conversation
from bot.ui.callbacks import SettingsCb
from bot.ui.keyboards import button, single_column
from bot.ui.messages import confirm_then, reply, respond
from bot.ui.onboarding import LANGUAGE_LABELS, language_keyboard
from bot.ui.places import district_step, hood_label
from bot.ui.privacy import privacy_text
from bot.ui.settings import NOTIFY_ON, back_to_settings, delete_question, settings_view
from handlers.settings.states import SettingsPlace as SettingsPlaceStates
from storage.models import Neighborhood


async def view(session: AsyncSession, viewer: Viewer, lang: str):  # noqa: ANN201
    """The settings screen."""
    return settings_view(
        viewer.resident.language or lang, await residents.settings_of(session, viewer.resident)
    )


async def not_onboarded(message: Message) -> None:
    await respond(message, _("Let's set you up first: send /start."))


async def not_onboarded_button(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    callback_answer.text, callback_answer.show_alert = _("Let's set you up first: send /start."), True


async def settings_command(message: Message, session: AsyncSession, viewer: Viewer, lang: str) -> None:
    text, keyboard = await view(session, viewer, lang)
    await respond(message, text, keyboard)


async def settings_button(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str
) -> None:
    if (await state.get_state() or "").startswith("SettingsPlace"):
        await state.clear()
    await reply(query, *await view(session, viewer, lang))


async def language(query: CallbackQuery, viewer: Viewer) -> None:
    keyboard = language_keyboard(
        viewer.resident.language,
        lambda code: SettingsCb(action="set-language", value=code),
        back_to_settings(),
    )
    await reply(query, _("Choose your language:"), keyboard)


async def set_language(
    query: CallbackQuery,
    callback_data: SettingsCb,
    session: AsyncSession,
    viewer: Viewer,
    i18n: I18n,
    callback_answer: CallbackAnswer,
) -> None:
    if callback_data.value not in LANGUAGE_LABELS:
        raise Stale()
    residents.set_language(viewer.resident, callback_data.value)
    i18n.current_locale = callback_data.value
    callback_answer.text = _("Language changed.")
    await reply(query, *await view(session, viewer, callback_data.value))


async def notify(
    query: CallbackQuery,
    callback_data: SettingsCb,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    callback_answer: CallbackAnswer,
) -> None:
    on = callback_data.action == NOTIFY_ON
    try:
        shown = await residents.turn_notification(session, viewer.resident, callback_data.value, on)
    except ValueError:
        raise Stale() from None
    callback_answer.text = _("Notifications on.") if on else _("Notifications off.")
    await reply(query, *settings_view(viewer.resident.language or lang, shown))


async def privacy_notice(query: CallbackQuery, city: CitySpec, lang: str) -> None:
    await reply(query, privacy_text(city, lang), single_column([back_to_settings()]))


async def export(query: CallbackQuery, state: FSMContext, session: AsyncSession, viewer: Viewer) -> None:
    data = await privacy.export(session, viewer.resident, conversation=await conversation.everything(state))
    payload = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode()
    await query.message.answer_document(
        BufferedInputFile(payload, filename="meydan-my-data.json"),
        caption=_(
            "📦 Everything Meydan holds about you: your account, your ideas and supports, a draft in progress, your notification choices and the log entries about you."
        ),
    )


async def delete_ask(query: CallbackQuery, session: AsyncSession, viewer: Viewer) -> None:
    left = await privacy.footprint(session, viewer.resident)
    await reply(query, *delete_question(left.published, left.waiting, left.supports))


async def delete(
    query: CallbackQuery, callback_data: SettingsCb, state: FSMContext, session: AsyncSession, viewer: Viewer
) -> None:
    if callback_data.value not in ("", "keep", "withdraw"):
        raise Stale()
    withdrawn = await privacy.delete_account(
        session, viewer.resident, withdraw_waiting=callback_data.value == "withdraw"
    )
    await conversation.forget(state)
    text = _("Your account was deleted. Send /start if you ever want to come back.")
    if withdrawn:
        text = _("Ideas withdrawn: {count}.").format(count=withdrawn) + "\n" + text
    await reply(query, text)


def back_button() -> InlineKeyboardButton:
    return button(*back_to_settings())


async def place(query: CallbackQuery, state: FSMContext, session: AsyncSession) -> None:
    await state.set_state(SettingsPlaceStates.district)
    await reply(query, *await district_step(session, back=back_button()))


async def chose_place(
    event: Message | CallbackQuery,
    hood: Neighborhood,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
) -> None:
    await residents.set_neighborhood(session, viewer.resident, hood.id)
    await state.clear()
    done = _("✅ Your neighborhood is now {place}.").format(place=hood_label(hood))
    await confirm_then(event, done, *await view(session, viewer, viewer.lang))
