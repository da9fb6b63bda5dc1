"""Who wrote an idea: shown to staff only when asked, and every look-up written to the audit log."""

from __future__ import annotations

from aiogram import F
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.routing import Handlers
from bot.services import ideas
from bot.services.residents import Viewer
from bot.ui.ideas.callbacks import ModAction, ModCb
from bot.ui.ideas.moderation import author_text
from bot.ui.messages import respond

handlers = Handlers()


@handlers.callback_query(ModCb.filter(F.action == ModAction.AUTHOR))
async def show_author(
    query: CallbackQuery, callback_data: ModCb, session: AsyncSession, viewer: Viewer
) -> None:
    telegram_id = await ideas.reveal_author(session, callback_data.id, viewer.resident.id)
    if isinstance(query.message, Message):
        # not kept to be sent again: it would outlive the author's deleting their account
        await respond(query.message, author_text(callback_data.id, telegram_id), kept=False)
