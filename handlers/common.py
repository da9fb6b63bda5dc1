"""Commands that work everywhere: /help, /cancel, /menu, and the main menu's plain entries."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.services import residents
from bot.services.residents import Known
from bot.ui.callbacks import MenuCb
from bot.ui.menu import main_menu
from bot.ui.messages import replace

router = Router(name="common")


def help_text() -> str:
    return _(
        "❓ <b>How Meydan works</b>\n"
        "/start: begin, or open the main menu\n"
        "/menu: the main menu\n"
        "/settings: language, neighborhood, notifications\n"
        "/cancel: stop what you are doing (nothing half-done is saved)\n"
        "/help: this message\n\n"
        "Buttons under a message act on that message; if one is out of date, I will say so."
    )


@router.message(Command("help"))
async def help_command(message: Message) -> None:
    await message.answer(help_text())


@router.message(Command("cancel"), StateFilter("*"))
async def cancel(message: Message, state: FSMContext, known: Known) -> None:
    if await state.get_state() is None:
        await message.answer(_("There is nothing to cancel."))
        return
    await state.clear()
    menu = main_menu(is_staff=known.is_staff) if residents.is_onboarded(known.resident) else None
    await message.answer(_("Cancelled. Nothing was saved."), reply_markup=menu)


@router.message(Command("menu"))
async def menu_command(message: Message, state: FSMContext, known: Known) -> None:
    if not residents.is_onboarded(known.resident):
        await message.answer(_("Let's set you up first: send /start."))
        return
    await state.clear()
    await message.answer(_("What would you like to do?"), reply_markup=main_menu(is_staff=known.is_staff))


@router.callback_query(MenuCb.filter(F.action == "menu"))
async def menu_button(query: CallbackQuery, state: FSMContext, known: Known) -> None:
    await query.answer()
    await state.clear()
    await replace(query.message, _("What would you like to do?"), main_menu(is_staff=known.is_staff))


@router.callback_query(MenuCb.filter(F.action == "help"))
async def help_button(query: CallbackQuery) -> None:
    await query.answer()
    await query.message.answer(help_text())
