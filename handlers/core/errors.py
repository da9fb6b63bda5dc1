"""The error handlers. A refusal (`DomainError`) is answered with its reason from the error table; any
other failure is logged with the update id and its type (no personal data) and answered with an apology.
Both run after the update's transaction was rolled back."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramForbiddenError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent, Update
from aiogram.utils.i18n import I18n

from bot.i18n import translate
from bot.services.errors import DomainError
from bot.ui.errors import refusal

log = logging.getLogger("meydan.errors")


async def _tell(update: Update, text: str) -> None:
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.message is not None and update.message.chat.type == "private":
            await update.message.answer(text)
    except Exception as exc:  # the answer itself may fail (blocked, limits): log and move on
        log.warning("could not answer update_id=%s error=%s", update.update_id, type(exc).__name__)


async def on_refusal(
    event: ErrorEvent, i18n: I18n | None = None, lang: str | None = None, **ctx: object
) -> bool:
    log.info("refused update_id=%s reason=%s", event.update.update_id, type(event.exception).__name__)
    if i18n is None:
        text = translate("This cannot be done right now.", lang or "tr")
    else:
        with i18n.context(), i18n.use_locale(lang or i18n.default_locale):
            text = refusal(event.exception, {"lang": lang, **ctx})
    await _tell(event.update, text)
    return True


async def on_blocked(event: ErrorEvent) -> bool:
    """The person blocked the bot (e.g. pressed an old button after blocking it): nothing can reach them,
    so this is no failure of ours and there is no one to apologise to."""
    log.info("blocked update_id=%s", event.update.update_id)
    query = event.update.callback_query
    if query is not None:  # still stop the button's spinner (answering a query is not a message)
        try:
            await query.answer()
        except Exception as exc:  # noqa: BLE001 - already answered, or too old
            log.info("could not answer update_id=%s error=%s", event.update.update_id, type(exc).__name__)
    return True


async def on_error(event: ErrorEvent, lang: str | None = None) -> bool:
    log.error(
        "update failed update_id=%s error=%s",
        event.update.update_id,
        type(event.exception).__name__,
        exc_info=event.exception,
    )
    await _tell(
        event.update,
        translate("Sorry, something went wrong on our side. Please try again in a moment.", lang or "tr"),
    )
    return True


def make_router() -> Router:
    router = Router(name="core.errors")
    router.errors.register(on_refusal, ExceptionTypeFilter(DomainError))
    router.errors.register(on_blocked, ExceptionTypeFilter(TelegramForbiddenError))
    router.errors.register(on_error)
    return router
