"""Prompts that last only while the person stays on them.

A declared form keeps its draft until it is sent or cancelled, and every one of its buttons carries the
form and the step, so anything typed or pressed elsewhere cannot be taken for an answer by mistake. A
bare prompt that reads free text (a one-time code, a receipt code) has no such guard: once the person
has moved on, whatever they type later would still be read as an answer. A feature registers such a
prompt's states with `ends_on_leave`; `bot.middlewares.prompts.PromptMiddleware` then ends the prompt
(the state, not the conversation's data) as soon as the person sends another command or presses any
inline button, and says `note()` with the reply keyboard removed. /cancel is answered by the note alone.
"""

from __future__ import annotations

from collections.abc import Callable

from aiogram.fsm.state import State

_PROMPTS: dict[str, Callable[[], str]] = {}


def ends_on_leave(*states: State, note: Callable[[], str]) -> None:
    """The prompt at `states` ends when the person leaves it; `note()` (translated) is what they read."""
    for state in states:
        if state.state is None:  # pragma: no cover - a State outside a StatesGroup
            raise ValueError("a prompt's state must belong to a StatesGroup")
        _PROMPTS[state.state] = note


def note_of(raw_state: str | None) -> Callable[[], str] | None:
    """The leaving note of the prompt at `raw_state`, or None when it is not such a prompt."""
    return _PROMPTS.get(raw_state) if raw_state else None
