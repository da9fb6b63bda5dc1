"""The staff side's own states: the place picker opened from the pot form (the forms keep theirs)."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class PotPlace(StatesGroup):
    district = State()
    neighborhood = State()
