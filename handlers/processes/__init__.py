"""Processes (staff): the list of participation processes and the creation form."""

from __future__ import annotations

from aiogram import Router

from bot.routing import guarded
from bot.ui.callbacks import ProcessCb
from handlers.processes import form


def make_router() -> Router:
    router, allowed = guarded("processes", callbacks=(ProcessCb,))
    form.handlers.register(allowed)
    return router
