"""What nothing else handled: a short hint, never silence."""

from __future__ import annotations

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.services import residents
from bot.services.residents import Known
from bot.ui.menu import main_menu

router = Router(name="fallback")


@router.callback_query()
async def stale_button(query: CallbackQuery) -> None:
    await query.answer(_("This button is out of date. Send /menu to start again."), show_alert=True)


@router.message()
async def unknown_message(message: Message, state: FSMContext, known: Known | None = None) -> None:
    if message.chat.type != "private":
        return
    if known is None or not residents.is_onboarded(known.resident):
        await message.answer(_("Send /start to begin."))
        return
    if await state.get_state() is not None:
        await message.answer(
            _("I did not expect that here. Continue with the buttons above, or send /cancel.")
        )
        return
    await message.answer(
        _("I did not understand that. Choose from the menu:"), reply_markup=main_menu(is_staff=known.is_staff)
    )
