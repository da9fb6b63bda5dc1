"""Ideas: residents share, browse and support ideas; staff review them."""

from __future__ import annotations

from aiogram import Router

from bot.routing import guarded, private_router
from bot.ui.callbacks import IdeaCb
from bot.ui.ideas.callbacks import ModCb
from bot.ui.notices import register_link
from handlers.ideas import resident, staff


def make_router() -> Router:
    register_link("idea", lambda idea_id: IdeaCb(action="open", id=idea_id))
    router = private_router("ideas")
    resident.handlers.register(router)
    staff_router, allowed = guarded("ideas.staff", callbacks=(ModCb,))
    staff.register(allowed)
    router.include_router(staff_router)
    return router
