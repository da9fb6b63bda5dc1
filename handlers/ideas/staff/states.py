"""The states of the staff forms: a typed reason, a new title or description, a typed merge target."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class ModForm(StatesGroup):
    reason = State()  # a reason for a rejection or a hiding (data: idea_id, decision, reason)
    title = State()
    description = State()
    target = State()  # the number of the idea to merge into
