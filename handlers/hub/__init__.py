"""The staff hub (/admin, the menu's "Staff tools"): one button per `HubEntry` in the feature manifest."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features import hub_entries, resolve
from bot.routing import guarded
from bot.ui.callbacks import HubCb, MenuCb
from bot.ui.keyboards import single_column
from bot.ui.messages import reply


async def hub_view(session: AsyncSession) -> tuple[str, InlineKeyboardMarkup]:
    buttons = []
    for entry in hub_entries():
        count = await resolve(entry.count)(session) if entry.count else None
        label = _(entry.label).format(count=count) if count is not None else _(entry.label)
        buttons.append((label, HubCb(section=entry.key)))
    buttons.append((_("« Menu"), MenuCb(action="menu")))
    return _("🛠 <b>Staff tools</b>"), single_column(buttons)


async def hub(event: Message | CallbackQuery, state: FSMContext, session: AsyncSession) -> None:
    await state.clear()
    await reply(event, *await hub_view(session))


def make_router() -> Router:
    router, allowed = guarded(
        "hub", callbacks=(HubCb,), commands=("admin",), buttons=(MenuCb.filter(F.action == "admin"),)
    )
    allowed.message.register(hub, Command("admin"))
    allowed.callback_query.register(hub, MenuCb.filter(F.action == "admin"))
    return router
