"""Participatory budget results: the chart and the results of a pot, why each project won or lost,
"was my ballot counted?" (the receipt codes and a check), the anonymous ballots file, staff counting again."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command

import bot.ui.results.errors  # noqa: F401 - registers the results part of the error table
from bot.routing import onboarded, private_router
from bot.services.budgets import implementation
from bot.ui.callbacks import MenuCb
from bot.ui.notices import register_link
from bot.ui.prompts import ends_on_leave
from bot.ui.results import cards
from bot.ui.results.callbacks import ResultsAction as A
from bot.ui.results.callbacks import ResultsCb
from handlers.results import receipts, view
from handlers.results.states import ResultsStates

FILES = {"throttling_key": "results_file"}


def _resident(router: Router) -> None:
    router.message.register(view.home, Command("results"))
    router.callback_query.register(view.home, MenuCb.filter(F.action == "results"))
    router.callback_query.register(view.home, ResultsCb.filter(F.action == A.HOME))
    router.callback_query.register(view.pot, ResultsCb.filter(F.action == A.POT), flags=FILES)
    router.callback_query.register(view.summary, ResultsCb.filter(F.action == A.SUMMARY))
    router.callback_query.register(view.projects, ResultsCb.filter(F.action == A.PROJECTS))
    router.callback_query.register(view.project, ResultsCb.filter(F.action == A.PROJECT))
    router.callback_query.register(view.opened, ResultsCb.filter(F.action == A.OPEN))
    router.callback_query.register(view.recount, ResultsCb.filter(F.action == A.RECOUNT), flags=FILES)
    router.callback_query.register(
        receipts.receipts_file, ResultsCb.filter(F.action == A.RECEIPTS), flags=FILES
    )
    router.callback_query.register(receipts.ballots_file, ResultsCb.filter(F.action == A.FILE), flags=FILES)
    router.callback_query.register(receipts.ask, ResultsCb.filter(F.action == A.CHECK))
    router.message.register(receipts.typed, ResultsStates.receipt, F.text)
    router.message.register(receipts.not_text, ResultsStates.receipt)


def make_router() -> Router:
    register_link("results", lambda _id: MenuCb(action="results"))  # my pots' results (an announcement)
    ends_on_leave(ResultsStates.receipt, note=cards.receipt_check_closed)  # later text is no receipt code
    router = private_router("results")
    residents, allowed = onboarded(
        "results.resident",
        callbacks=(ResultsCb,),
        commands=("results",),
        buttons=(MenuCb.filter(F.action == "results"),),
    )
    _resident(allowed)
    router.include_router(residents)
    register_link(implementation.LINK, lambda project_id: ResultsCb(action=A.OPEN, project=project_id))
    return router
