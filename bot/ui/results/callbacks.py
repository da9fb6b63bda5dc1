"""The results' buttons: readable fields, only values packed. Never trusted: every press goes through
`bot.services.budgets.results`, which checks that the pot's results may be shown now."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.ui.callbacks import Id


class ResultsAction(StrEnum):
    HOME = "home"  # the pots whose results I can see
    POT = "pot"  # a pot's chart and results, sent as new messages
    SUMMARY = "sum"  # a pot's results, in place (back from a project)
    PROJECTS = "projects"  # page `page` of the pot's projects
    PROJECT = "project"  # why project `project` won or lost
    RECEIPTS = "receipts"  # the counted receipt codes, as a file
    CHECK = "check"  # check a receipt code (typed next)
    FILE = "file"  # the ballots, as a Pabulib file
    RECOUNT = "recount"  # staff: count again
    OPEN = "open"  # project `project`'s page, opened from a notice (its pot looked up)


class ResultsCb(CallbackData, prefix="res"):
    action: ResultsAction
    pot: Id = 0
    project: Id = 0
    page: Id = 0
