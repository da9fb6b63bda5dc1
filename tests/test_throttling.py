"""Flood control in one process: a repeat within the rate is dropped, and only recent actions are kept."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.types import User

from bot.middlewares import throttling
from bot.middlewares.throttling import ThrottlingMiddleware


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    made = Clock()
    monkeypatch.setattr(throttling.time, "monotonic", made)
    return made


async def _handled(*_args: Any) -> str:
    return "handled"


def _data(person: int) -> dict[str, Any]:
    return {
        "handler": HandlerObject(callback=_handled, flags={"throttling_key": "x"}),
        "event_from_user": User(id=person, is_bot=False, first_name="P"),
    }


async def test_a_repeat_within_the_rate_is_dropped_and_taken_after(clock: Clock) -> None:
    middleware = ThrottlingMiddleware({"x": 2.0})
    event = object()
    assert await middleware(_handled, event, _data(1)) == "handled"
    clock.now += 1.0
    assert await middleware(_handled, event, _data(1)) is None  # dropped
    assert await middleware(_handled, event, _data(2)) == "handled"  # someone else is not held up
    clock.now += 1.5  # 2.5 s after the first, which counted; the dropped one did not restart the wait
    assert await middleware(_handled, event, _data(1)) == "handled"


async def test_only_the_actions_of_the_last_rate_are_kept(clock: Clock) -> None:
    middleware = ThrottlingMiddleware({"x": 2.0}, max_keys=1_000)
    for person in range(500):  # many people once each within the rate, as in a busy vote
        await middleware(_handled, object(), _data(person))
        clock.now += 0.001
    assert middleware.noted() == 500
    clock.now += 3600  # longer than any rate
    await middleware(_handled, object(), _data(10_000))
    assert middleware.noted() == 1  # the others expired and were let go
    for person in range(3_000):  # more than max_keys within one rate: the oldest go first
        await middleware(_handled, object(), _data(20_000 + person))
    assert middleware.noted() == 1_000
