"""Ideas: residents share, browse and support ideas; staff review them."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter

from bot.routing import guarded, onboarded, private_router
from bot.ui.callbacks import MenuCb
from bot.ui.ideas.callbacks import BrowseAction as B
from bot.ui.ideas.callbacks import BrowseCb, IdeaCb, ModCb
from bot.ui.ideas.callbacks import IdeaAction as A
from bot.ui.notices import register_link
from handlers.ideas import browse, home, mine, staff
from handlers.ideas.form import IDEA_FORM, support_instead


def _resident(router: Router) -> None:
    router.message.register(home.home, Command("ideas"))
    router.callback_query.register(home.home, MenuCb.filter(F.action == "ideas"))
    router.callback_query.register(home.home, IdeaCb.filter(F.action == A.HOME))
    router.callback_query.register(home.new, IdeaCb.filter(F.action == A.NEW))
    router.callback_query.register(home.chose_process, IdeaCb.filter(F.action == A.PROCESS))
    router.callback_query.register(
        support_instead,
        IdeaCb.filter(F.action == A.SUPPORT_SIMILAR),
        StateFilter(IDEA_FORM.state("title")),
        flags={"throttling_key": "idea_support"},
    )
    router.callback_query.register(browse.start, IdeaCb.filter(F.action == A.BROWSE))
    router.callback_query.register(browse.listing, BrowseCb.filter(F.action == B.LIST))
    router.callback_query.register(browse.by_neighborhood, BrowseCb.filter(F.action == B.HOODS))
    router.callback_query.register(browse.by_theme, BrowseCb.filter(F.action == B.THEMES))
    router.callback_query.register(browse.view, BrowseCb.filter(F.action == B.VIEW))
    router.callback_query.register(
        browse.support,
        BrowseCb.filter(F.action.in_({B.SUPPORT, B.UNSUPPORT})),
        flags={"throttling_key": "idea_support"},
    )
    router.callback_query.register(mine.listing, IdeaCb.filter(F.action == A.MINE))
    router.callback_query.register(mine.card, IdeaCb.filter(F.action == A.MY))
    router.callback_query.register(mine.opened, IdeaCb.filter(F.action == A.OPEN))
    router.callback_query.register(mine.withdraw_ask, IdeaCb.filter(F.action == A.WITHDRAW))
    router.callback_query.register(mine.withdraw, IdeaCb.filter(F.action == A.WITHDRAW_CONFIRM))
    form = IDEA_FORM.make_router()
    router.include_router(form)


def make_router() -> Router:
    register_link("idea", lambda idea_id: IdeaCb(action=A.OPEN, id=idea_id))
    register_link("ideas", lambda _id: MenuCb(action="ideas"))  # the ideas menu (a phase announcement)
    router = private_router("ideas")
    residents, allowed = onboarded(
        "ideas.resident",
        callbacks=(IdeaCb, BrowseCb),
        commands=("ideas",),
        buttons=(MenuCb.filter(F.action == "ideas"),),
    )
    _resident(allowed)
    staff_router, staff_allowed = guarded("ideas.staff", callbacks=(ModCb,))
    staff.register(staff_allowed)
    router.include_routers(residents, staff_router)
    return router
