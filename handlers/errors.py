"""The global error handler: log the failure with the update id, answer the person politely."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import ErrorEvent

from bot.i18n import translate

router = Router(name="errors")
log = logging.getLogger("meydan.errors")


@router.errors()
async def on_error(event: ErrorEvent, lang: str | None = None) -> bool:
    update = event.update
    log.error(
        "update failed update_id=%s error=%s",
        update.update_id,
        type(event.exception).__name__,
        exc_info=event.exception,
    )
    text = translate("Sorry, something went wrong on our side. Please try again in a moment.", lang or "tr")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.message is not None and update.message.chat.type == "private":
            await update.message.answer(text)
    except Exception as exc:  # the apology itself may fail (blocked, limits): log and move on
        log.warning("could not apologise update_id=%s error=%s", update.update_id, type(exc).__name__)
    return True
