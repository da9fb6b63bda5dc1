"""Flood control: per chat with short bursts, overall, and per minute in groups; 429 with retry_after."""

from __future__ import annotations

import pytest

from bot.sandbox.emulator import Emulator
from bot.sandbox.errors import ApiError
from bot.sandbox.limits import Limits, RateLimiter
from tests.sandbox.conftest import BotApiCaller


def test_retry_after_is_whole_seconds_until_a_token() -> None:
    clock = [0.0]
    limiter = RateLimiter(
        Limits(per_chat_rate=0.25, per_chat_burst=1, global_rate=100, global_burst=100), lambda: clock[0]
    )
    limiter.acquire(1)
    with pytest.raises(ApiError) as caught:
        limiter.acquire(1)
    assert caught.value.parameters == {"retry_after": 4}
    clock[0] = 3.5
    with pytest.raises(ApiError) as caught:
        limiter.acquire(1)
    assert caught.value.parameters == {"retry_after": 1}
    limiter.acquire(2)  # another chat has its own bucket
    clock[0] = 4.0
    limiter.acquire(1)


@pytest.fixture
def limits() -> Limits:
    return Limits(per_chat_rate=1.0, per_chat_burst=3, global_rate=5.0, global_burst=5, group_per_minute=20)


async def test_per_chat_burst_then_429(api: BotApiCaller, emulator: Emulator) -> None:
    clock = [1000.0]
    emulator.limiter.clock = lambda: clock[0]
    person = await api.person()
    for i in range(3):
        assert (await api("sendMessage", chat_id=person["id"], text=str(i))).status == 200
    flooded = await api("sendMessage", chat_id=person["id"], text="x")
    assert flooded.status == 429
    assert flooded.body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    edit = await api("editMessageText", chat_id=person["id"], message_id=1, text="edits are not counted")
    assert edit.status == 200
    clock[0] += 1.0
    assert (await api("sendMessage", chat_id=person["id"], text="after a second")).status == 200


async def test_overall_limit_across_chats(api: BotApiCaller, emulator: Emulator) -> None:
    clock = [1000.0]
    emulator.limiter.clock = lambda: clock[0]
    people = [await api.person(f"P{i}") for i in range(7)]
    statuses = [(await api("sendMessage", chat_id=p["id"], text="x")).status for p in people]
    assert statuses == [200] * 5 + [429] * 2
    clock[0] += 0.2  # 5 messages/s: one token back after 0.2 s
    assert (await api("sendMessage", chat_id=people[5]["id"], text="x")).status == 200


async def test_group_gets_20_per_minute(api: BotApiCaller, emulator: Emulator) -> None:
    clock = [1000.0]
    emulator.limiter.clock = lambda: clock[0]
    emulator.limiter.limits = Limits(group_per_minute=20, global_rate=1000, global_burst=1000)
    status, group = await api.client("POST", "/groups", {"title": "Staff"})
    assert group["id"] < 0
    for i in range(20):
        assert (await api("sendMessage", chat_id=group["id"], text=str(i))).status == 200
    flooded = await api("sendMessage", chat_id=group["id"], text="x")
    assert flooded.status == 429 and flooded.body["parameters"]["retry_after"] == 3


async def test_rate_limits_can_be_switched_off(api: BotApiCaller, emulator: Emulator) -> None:
    emulator.limiter.limits = Limits(rate_limits=False)
    person = await api.person()
    for i in range(20):
        assert (await api("sendMessage", chat_id=person["id"], text=str(i))).status == 200
