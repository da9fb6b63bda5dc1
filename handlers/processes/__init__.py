"""Processes (staff): the list of participation processes and the declared creation form."""

from __future__ import annotations

from aiogram import F, Router

from bot.routing import guarded
from bot.ui.callbacks import HubCb, ProcessCb
from bot.ui.forms import FormCb
from bot.ui.processes import ProcessAction as A
from handlers.processes import listing
from handlers.processes.form import PROCESS_FORM


def make_router() -> Router:
    router, allowed = guarded(
        "processes", callbacks=(ProcessCb,), buttons=(FormCb.filter(F.form == PROCESS_FORM.name),)
    )
    allowed.callback_query.register(listing.listing, HubCb.filter(F.section == "processes"))
    allowed.callback_query.register(listing.listing, ProcessCb.filter(F.action == A.LIST))
    allowed.callback_query.register(listing.new, ProcessCb.filter(F.action == A.NEW))
    allowed.include_router(PROCESS_FORM.make_router())
    return router
