"""What a person's conversation keeps beside the form in progress.

The conversation state (aiogram's FSM: a state and its data) belongs to the form or prompt the person is
in, and every screen that leaves a form ends it with `state.clear()`. Some things must outlive that: a
ballot draft is ticked project by project over several visits, between which the person reads the menu,
an idea or the settings. A feature keeps such a thing in a box of its own (an aiogram *destiny* of the
same person and chat, `box`), which `state.clear()` does not touch; the box lasts until the feature
empties it or the person deletes their account (`forget`), and it is part of their data export
(`everything`). Every storage keys destinies apart (`storage.fsm.SQLStorage` with aiogram's
`DefaultKeyBuilder(with_destiny=True)`, the Redis storage with `storage.fsm.BoxKeys`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from aiogram.fsm.context import FSMContext

_BOXES: list[str] = []


def box(name: str) -> str:
    """Declare a box (once, at import); its name is the destiny it is stored under."""
    if name == "default" or not name.isidentifier():
        raise ValueError(f"not a box name: {name!r}")
    if name not in _BOXES:
        _BOXES.append(name)
    return name


def declared() -> Sequence[str]:
    """Every box declared, as a live sequence: a feature declares its boxes when its modules are
    imported, which is when its router is made, after the storage that reads them (`storage.fsm`)."""
    return _BOXES


def beside(state: FSMContext, name: str) -> FSMContext:
    """The person's box `name`, read and written like their conversation state."""
    if name not in _BOXES:  # pragma: no cover - a typo would store data nobody deletes
        raise KeyError(f"undeclared box {name!r}")
    return FSMContext(storage=state.storage, key=replace(state.key, destiny=name))


async def everything(state: FSMContext) -> dict[str, Any]:
    """The conversation state and the boxes' data in one `{"state", "data"}` (the data export)."""
    data = await state.get_data()
    for name in _BOXES:
        data.update(await beside(state, name).get_data())
    return {"state": await state.get_state(), "data": data}


async def forget(state: FSMContext) -> None:
    """End the conversation and empty every box (the account is deleted)."""
    await state.clear()
    for name in _BOXES:
        await beside(state, name).clear()
