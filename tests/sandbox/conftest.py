from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from bot.sandbox.emulator import Emulator
from bot.sandbox.limits import Limits

TOKEN = "123456789:AAtest-token_for-the-emulator"


@dataclass
class Reply:
    status: int
    body: dict[str, Any]

    @property
    def result(self) -> Any:
        assert self.body.get("ok") is True, self.body
        return self.body["result"]

    @property
    def description(self) -> str:
        return self.body.get("description", "")


class BotApiCaller:
    """Raw Bot API calls as a bot makes them, to check statuses and JSON bodies exactly."""

    def __init__(self, emulator: Emulator, session: aiohttp.ClientSession, token: str = TOKEN) -> None:
        self.emulator = emulator
        self.session = session
        self.token = token

    async def __call__(self, method: str, **params: Any) -> Reply:
        body = {k: v for k, v in params.items() if v is not None}
        url = f"{self.emulator.url}/bot{self.token}/{method}"
        async with self.session.post(url, json=body) as response:
            return Reply(response.status, await response.json())

    async def form(self, method: str, form: aiohttp.FormData) -> Reply:
        url = f"{self.emulator.url}/bot{self.token}/{method}"
        async with self.session.post(url, data=form) as response:
            return Reply(response.status, await response.json())

    async def client(self, verb: str, path: str, body: Any = None) -> tuple[int, Any]:
        url = f"{self.emulator.url}/sandbox/api{path}"
        async with self.session.request(
            verb, url, data=None if body is None else json.dumps(body)
        ) as response:
            return response.status, await response.json(content_type=None)

    async def person(self, first_name: str = "Ayşe", **extra: Any) -> dict[str, Any]:
        status, person = await self.client("POST", "/people", {"first_name": first_name, **extra})
        assert status == 200, person
        return person

    async def say(self, person_id: int, text: str, **extra: Any) -> dict[str, Any]:
        status, sent = await self.client(
            "POST", f"/people/{person_id}/messages", {"text": text, "wait": False, **extra}
        )
        assert status == 200, sent
        return sent


@pytest.fixture
def limits() -> Limits:
    return Limits.for_tests()


@pytest.fixture
async def emulator(limits: Limits) -> AsyncIterator[Emulator]:
    emu = Emulator(token=TOKEN, limits=limits)
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


@pytest.fixture
async def api(emulator: Emulator) -> AsyncIterator[BotApiCaller]:
    async with aiohttp.ClientSession() as session:
        yield BotApiCaller(emulator, session)
