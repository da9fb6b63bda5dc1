"""What nothing else handled: a short hint, never silence (in private chats; groups get silence)."""

from __future__ import annotations

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.routing import private_router
from bot.services.residents import Viewer
from bot.ui.menu import main_menu
from bot.ui.messages import respond


async def stale_button(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    callback_answer.text = _("This button is out of date. Send /menu to start again.")
    callback_answer.show_alert = True


async def unknown_message(message: Message, state: FSMContext, viewer: Viewer | None = None) -> None:
    if viewer is None or not viewer.onboarded:
        await respond(message, _("Send /start to begin."))
        return
    if await state.get_state() is not None:
        await respond(
            message,
            _("I did not expect that here. Continue with the buttons above, or send /cancel."),
        )
        return
    await respond(
        message,
        _("I did not understand that. Choose from the menu:"),
        main_menu(viewer),
    )


def make_router() -> Router:
    router = private_router("fallback")
    router.callback_query.register(stale_button)
    router.message.register(unknown_message)
    return router
