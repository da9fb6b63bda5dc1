"""/help, /cancel, /menu, the main menu's own buttons and the privacy notice."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.config import CitySpec
from bot.features import commands
from bot.routing import private_router
from bot.services.residents import Viewer
from bot.ui.callbacks import MenuCb
from bot.ui.keyboards import single_column
from bot.ui.menu import main_menu, menu_text
from bot.ui.messages import replace, respond
from bot.ui.privacy import privacy_text


def help_view(viewer: Viewer | None) -> tuple[str, InlineKeyboardMarkup]:
    is_staff = viewer is not None and viewer.is_staff
    lines = [_("❓ <b>How Meydan works</b>")]
    lines += [f"/{c.name}: {_(c.description)}" for c in commands() if is_staff or not c.staff_only]
    lines += ["", _("Buttons under a message act on that message; if one is out of date, I will say so.")]
    keyboard = single_column(
        [(_("🔒 Privacy notice"), MenuCb(action="privacy")), (_("« Menu"), MenuCb(action="menu"))]
    )
    return "\n".join(lines), keyboard


async def help_command(message: Message, viewer: Viewer | None = None) -> None:
    text, keyboard = help_view(viewer)
    await respond(message, text, keyboard)


async def help_button(query: CallbackQuery, viewer: Viewer) -> None:
    await replace(query.message, *help_view(viewer))


async def privacy_button(query: CallbackQuery, city: CitySpec, lang: str) -> None:
    back = single_column([(_("« Menu"), MenuCb(action="menu"))])
    await replace(query.message, privacy_text(city, lang), back)


async def cancel(message: Message, state: FSMContext, viewer: Viewer) -> None:
    if await state.get_state() is None:
        await respond(message, _("There is nothing to cancel."))
        return
    await state.clear()
    await respond(
        message,
        _("Cancelled. Nothing was saved."),
        main_menu(viewer) if viewer.onboarded else None,
    )


async def menu_command(message: Message, state: FSMContext, viewer: Viewer) -> None:
    if not viewer.onboarded:
        await respond(message, _("Let's set you up first: send /start."))
        return
    await state.clear()
    await respond(message, menu_text(), main_menu(viewer))


async def menu_button(query: CallbackQuery, state: FSMContext, viewer: Viewer) -> None:
    await state.clear()
    await replace(query.message, menu_text(), main_menu(viewer))


async def in_group(message: Message) -> None:
    """A command sent in a group: the bot works in a private chat."""
    await message.reply(_("Please write to me in a private chat: open my profile and press Start."))


def make_router() -> Router:
    router = private_router("core.commands")
    router.message.register(help_command, Command("help"))
    router.message.register(cancel, Command("cancel"), StateFilter("*"))
    router.message.register(menu_command, Command("menu"))
    router.callback_query.register(menu_button, MenuCb.filter(F.action == "menu"))
    router.callback_query.register(help_button, MenuCb.filter(F.action == "help"))
    router.callback_query.register(privacy_button, MenuCb.filter(F.action == "privacy"))
    groups = Router(name="core.groups")
    groups.message.register(
        in_group,
        Command(*(c.name for c in commands() if not c.staff_only)),
        F.chat.type.in_({"group", "supergroup"}),
    )
    outer = Router(name="core")
    outer.include_routers(router, groups)
    return outer
