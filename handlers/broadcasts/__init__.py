"""Broadcasts: staff (and coordinators, for their own neighborhood) compose a message to residents, send
it now or schedule it, cancel a scheduled one; residents stop a category from under any broadcast."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, or_f

import bot.ui.broadcasts.errors  # noqa: F401 - registers the broadcasts part of the error table
from bot.filters import HasRole
from bot.routing import gated, private_router, refusal_text
from bot.services.broadcasts import FLOW_LINK, FLOWS, STOP_LINK
from bot.services.roles import COORDINATOR, STAFF
from bot.ui.broadcasts.callbacks import BroadcastAction as A
from bot.ui.broadcasts.callbacks import BroadcastCb
from bot.ui.callbacks import HubCb, MenuCb
from bot.ui.forms import FormCb
from bot.ui.notices import register_link
from handlers.broadcasts import manage, stop
from handlers.broadcasts.form import BROADCAST_FORM


def make_router() -> Router:
    register_link(FLOW_LINK, lambda index: MenuCb(action=FLOWS[index]))
    register_link(STOP_LINK, lambda broadcast_id: BroadcastCb(action=A.STOP, id=broadcast_id))
    router = private_router("broadcasts")
    router.callback_query.register(stop.stop, BroadcastCb.filter(F.action == A.STOP))  # anyone's press
    composers = or_f(HasRole(STAFF), HasRole(COORDINATOR, scoped=True))
    staff, allowed = gated(
        "broadcasts.staff",
        composers,
        refusal_text,
        callbacks=(BroadcastCb,),
        commands=("broadcast",),
        buttons=(FormCb.filter(F.form == BROADCAST_FORM.name),),
    )
    allowed.callback_query.register(manage.home, HubCb.filter(F.section == "broadcasts"))
    allowed.callback_query.register(manage.home, BroadcastCb.filter(F.action == A.HOME))
    allowed.callback_query.register(manage.new, BroadcastCb.filter(F.action == A.NEW))
    allowed.message.register(manage.new, Command("broadcast"))
    allowed.callback_query.register(manage.cancel, BroadcastCb.filter(F.action == A.CANCEL))
    allowed.include_router(BROADCAST_FORM.make_router())
    router.include_router(staff)
    return router
