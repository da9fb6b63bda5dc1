"""The ballot's buttons: readable fields, only values packed. Never trusted: every press goes through
`bot.services.budgets.gate` (the pot is open to this person, its voting is current) and the limits."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from aiogram.filters.callback_data import CallbackData

from bot.services import budgets
from bot.services.residents import Beside
from bot.ui.callbacks import Id, pressed


class BallotAction(StrEnum):
    HOME = "home"  # the pots open to me
    POT = "pot"  # page `page` of pot `pot`'s projects
    CARD = "card"  # project `project`'s card
    # tick or untick project `project`: the button says which, so a press that comes twice does it once
    ADD = "add"
    DROP = "drop"
    NUMBERS = "numbers"  # type the numbers of the projects chosen (a prompt)
    REVIEW = "review"  # my draft, with Confirm when it may be confirmed
    CONFIRM = "confirm"
    RESET = "reset"  # drop the draft: back to my confirmed ballot (or an empty one)


class BallotCb(CallbackData, prefix="pb"):
    action: BallotAction
    pot: Id = 0
    project: Id = 0
    page: Id = 0


def ballot_gate(data: str) -> tuple[Beside, dict[str, Any]] | None:
    """A press of a pot's ballot has the pot's gate read in the person's read (`budgets.GATE_BESIDE`):
    every one of them starts there."""
    press = pressed(BallotCb, data)
    return (budgets.GATE_BESIDE, {"pot_id": press.pot}) if press is not None and press.pot else None


class VerifyStaffAction(StrEnum):
    LIST = "list"  # the budgeting processes and their levels
    OPEN = "open"  # process `process`
    LEVEL = "level"  # set process `process`'s level to `level`
    CODES = "codes"  # make codes for process `process` (asks how many)


class Level(StrEnum):
    NONE = "none"
    PHONE = "phone"
    CODE = "code"


class VerifyStaffCb(CallbackData, prefix="pbv"):
    """Staff: the verification level of a process and its one-time codes."""

    action: VerifyStaffAction
    process: Id = 0
    level: Level = Level.NONE
