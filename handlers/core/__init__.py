"""What works everywhere: the error handlers, /help, /cancel, /menu, the main menu and the privacy notice."""

from __future__ import annotations

from aiogram import Router

from handlers.core import commands, errors


def make_router() -> Router:
    router = Router(name="core")
    router.include_routers(errors.make_router(), commands.make_router())
    return router
