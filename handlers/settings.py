"""/settings: language, neighborhood and notification preferences."""

from __future__ import annotations

import json
from html import escape

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import privacy, residents
from bot.services.residents import NOTIFICATIONS, Known
from bot.ui.callbacks import MenuCb, SettingsCb
from bot.ui.keyboards import single_column
from bot.ui.messages import replace
from handlers import places
from handlers.onboarding import LANGUAGE_LABELS, Onboarding, language_keyboard, start

router = Router(name="settings")


def _notification_label(kind: str) -> str:
    return {
        "phases": _("Phase openings and results"),
        "events": _("Events near me"),
        "council": _("Council news"),
    }[kind]


async def settings_view(session: AsyncSession, known: Known) -> tuple[str, InlineKeyboardMarkup]:
    resident = known.resident
    await session.refresh(resident, ["neighborhood"])
    hood = resident.neighborhood
    if hood is not None:
        await session.refresh(hood, ["district"])
    place = escape(f"{hood.name}, {hood.district.name}") if hood else "—"
    lang_label = LANGUAGE_LABELS.get(resident.language or "", "—")
    lines = [
        _("⚙️ <b>Settings</b>"),
        _("Language: {language}").format(language=lang_label),
        _("Neighborhood: {place}").format(place=place),
        _("Notifications:"),
    ]
    buttons: list[tuple[str, CallbackData]] = [
        (_("🌐 Change language"), SettingsCb(action="language")),
        (_("🏘 Change neighborhood"), SettingsCb(action="place")),
    ]
    for kind in NOTIFICATIONS:
        on = getattr(resident, f"notify_{kind}")
        lines.append(f"{'🔔' if on else '🔕'} {_notification_label(kind)}")
        label = (_("Turn off: {what}") if on else _("Turn on: {what}")).format(what=_notification_label(kind))
        buttons.append((label, SettingsCb(action="notify", value=kind)))
    buttons += [
        (_("📦 Export my data"), SettingsCb(action="export")),
        (_("🗑 Delete my account"), SettingsCb(action="delete")),
        (_("« Menu"), MenuCb(action="menu")),
    ]
    return "\n".join(lines), single_column(buttons)


@router.message(Command("settings"))
async def settings_command(
    message: Message, state: FSMContext, session: AsyncSession, known: Known, lang: str
) -> None:
    if not residents.is_onboarded(known.resident):
        await message.answer(_("Let's set you up first."))
        await start(message, state, session, known, lang)
        return
    await state.clear()
    text, keyboard = await settings_view(session, known)
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(MenuCb.filter(F.action == "settings"))
async def settings_from_menu(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, known: Known
) -> None:
    await query.answer()
    if not residents.is_onboarded(known.resident):
        await query.message.answer(_("Let's set you up first: send /start."))
        return
    await state.clear()
    await replace(query.message, *await settings_view(session, known))


@router.callback_query(SettingsCb.filter())
async def settings_action(
    query: CallbackQuery,
    callback_data: SettingsCb,
    state: FSMContext,
    session: AsyncSession,
    known: Known,
    i18n: I18n,
) -> None:
    if not residents.is_onboarded(known.resident):
        await query.answer(_("Let's set you up first: send /start."), show_alert=True)
        return
    action, value = callback_data.action, callback_data.value
    if action == "language":
        await query.answer()
        keyboard = language_keyboard(
            known.resident.language, lambda code: SettingsCb(action="set-language", value=code)
        )
        await replace(query.message, _("Choose your language:"), keyboard)
        return
    if action == "set-language" and value in LANGUAGE_LABELS:
        residents.set_language(known.resident, value)
        i18n.current_locale = value
        await query.answer(_("Language changed."))
        await replace(query.message, *await settings_view(session, known))
        return
    if action == "notify" and value in NOTIFICATIONS:
        on = residents.toggle_notification(known.resident, value)
        await query.answer(_("Notifications on.") if on else _("Notifications off."))
        await replace(query.message, *await settings_view(session, known))
        return
    if action == "export":
        await query.answer()
        data = await privacy.export(session, known.resident)
        payload = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode()
        await query.message.answer_document(
            BufferedInputFile(payload, filename="meydan-my-data.json"),
            caption=_("📦 Everything Meydan holds about you."),
        )
        return
    if action == "delete":
        await query.answer()
        confirm = single_column(
            [
                (_("Yes, delete my account"), SettingsCb(action="delete-confirm")),
                (_("No, keep it"), MenuCb(action="settings")),
            ]
        )
        await replace(
            query.message,
            _(
                "🗑 Delete your account? Your settings and roles are erased and you are unlinked from "
                "everything you sent. Votes and supports stay counted, anonymously. This cannot be undone."
            ),
            confirm,
        )
        return
    if action == "delete-confirm":
        await privacy.delete_account(session, known.resident)
        await state.clear()
        await query.answer()
        await replace(
            query.message, _("Your account was deleted. Send /start if you ever want to come back.")
        )
        return
    if action == "place":
        await query.answer()
        await state.set_state(Onboarding.district)
        await state.update_data(purpose="settings")
        await replace(query.message, *await places.district_step(session))
        return
    await query.answer(_("This button is out of date."), show_alert=True)
