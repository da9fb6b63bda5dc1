"""getUpdates and webhooks: confirmation by offset, long polling, conflicts, delivery and retries."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from bot.sandbox.emulator import Emulator
from tests.sandbox.conftest import BotApiCaller


async def test_an_update_stays_until_a_later_offset_confirms_it(api: BotApiCaller) -> None:
    person = await api.person()
    first = await api.say(person["id"], "one")
    second = await api.say(person["id"], "two")

    updates = (await api("getUpdates")).result
    assert [u["update_id"] for u in updates] == [first["update_id"], second["update_id"]]
    assert updates[0]["message"]["text"] == "one"
    assert (await api("getUpdates")).result == updates  # nothing confirmed yet

    after_first = (await api("getUpdates", offset=first["update_id"] + 1)).result
    assert [u["update_id"] for u in after_first] == [second["update_id"]]
    assert (await api("getUpdates", offset=0)).result == after_first  # the first one is gone for good
    assert (await api("getUpdates", offset=second["update_id"] + 1)).result == []


async def test_limit_and_negative_offset(api: BotApiCaller) -> None:
    person = await api.person()
    sent = [await api.say(person["id"], f"m{i}") for i in range(5)]
    assert len((await api("getUpdates", limit=2)).result) == 2
    last_two = (await api("getUpdates", offset=-2)).result
    assert [u["update_id"] for u in last_two] == [s["update_id"] for s in sent[-2:]]
    assert [u["update_id"] for u in (await api("getUpdates")).result] == [s["update_id"] for s in sent[-2:]]


async def test_long_poll_waits_for_timeout_when_nothing_comes(api: BotApiCaller) -> None:
    started = time.monotonic()
    reply = await api("getUpdates", timeout=1)
    elapsed = time.monotonic() - started
    assert reply.result == []
    assert 0.9 <= elapsed < 3


async def test_long_poll_returns_as_soon_as_an_update_arrives(api: BotApiCaller) -> None:
    person = await api.person()
    poll = asyncio.create_task(api("getUpdates", timeout=20))
    await asyncio.sleep(0.2)
    assert not poll.done()
    started = time.monotonic()
    await api.say(person["id"], "wake up")
    updates = (await asyncio.wait_for(poll, 5)).result
    assert time.monotonic() - started < 2
    assert updates[0]["message"]["text"] == "wake up"


async def test_second_get_updates_terminates_the_first_with_409(api: BotApiCaller) -> None:
    first = asyncio.create_task(api("getUpdates", timeout=20))
    await asyncio.sleep(0.2)
    second = asyncio.create_task(api("getUpdates", timeout=1))
    terminated = await asyncio.wait_for(first, 5)
    assert terminated.status == 409
    assert terminated.body == {
        "ok": False,
        "error_code": 409,
        "description": "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running",
    }
    assert (await second).result == []


async def test_allowed_updates_filter_is_remembered(api: BotApiCaller) -> None:
    person = await api.person()
    await api("getUpdates", allowed_updates=json.dumps(["callback_query"]))
    await api.say(person["id"], "filtered out")
    assert (await api("getUpdates")).result == []  # remembered without passing it again
    await api("getUpdates", allowed_updates=[])  # an empty list restores the default
    await api.say(person["id"], "kept")
    assert [u["message"]["text"] for u in (await api("getUpdates")).result] == ["kept"]


async def test_get_updates_while_webhook_is_set_is_409(api: BotApiCaller) -> None:
    assert (await api("setWebhook", url="http://127.0.0.1:9/hook")).result is True
    reply = await api("getUpdates")
    assert reply.status == 409
    assert reply.description == (
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
    )
    deleted = await api("deleteWebhook")
    assert deleted.result is True and deleted.description == "Webhook was deleted"
    assert (await api("deleteWebhook")).description == "Webhook is already deleted"
    assert (await api("getUpdates")).status == 200


class Hook:
    """A webhook endpoint on a free port that records what it receives."""

    def __init__(self, answer: Callable[[dict[str, Any]], web.StreamResponse] | None = None) -> None:
        self.received: list[tuple[dict[str, Any], str | None, float]] = []
        self.answer = answer
        self.url = ""
        self.runner: web.AppRunner | None = None
        self.delay = 0.0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        update = await request.json()
        self.received.append(
            (update, request.headers.get("X-Telegram-Bot-Api-Secret-Token"), time.monotonic())
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.answer is not None:
            return self.answer(update)
        return web.json_response({})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/hook"


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    endpoint = Hook()
    await endpoint.start()
    yield endpoint
    assert endpoint.runner is not None
    await endpoint.runner.cleanup()


async def test_webhook_delivers_with_the_secret_header(api: BotApiCaller, hook: Hook) -> None:
    set_reply = await api("setWebhook", url=hook.url, secret_token="s3cr3t_token")
    assert set_reply.description == "Webhook was set"
    person = await api.person()
    status, sent = await api.client("POST", f"/people/{person['id']}/messages", {"text": "hello"})
    assert status == 200 and sent["handled"] is True
    update, secret, _ = hook.received[0]
    assert secret == "s3cr3t_token"
    assert update["update_id"] == sent["update_id"] and update["message"]["text"] == "hello"
    info = (await api("getWebhookInfo")).result
    assert info["url"] == hook.url and info["pending_update_count"] == 0 and info["max_connections"] == 40
    status, bot = await api.client("GET", "/bot")
    assert bot["delivery"] == "webhook" and bot["webhook_url"] == hook.url


async def test_webhook_is_retried_after_a_500(api: BotApiCaller, hook: Hook, emulator: Emulator) -> None:
    emulator.hub.webhook_backoff = 0.05
    failures = {"left": 2}

    def answer(update: dict[str, Any]) -> web.StreamResponse:
        if failures["left"]:
            failures["left"] -= 1
            return web.Response(status=500)
        return web.json_response({})

    hook.answer = answer
    await api("setWebhook", url=hook.url)
    person = await api.person()
    status, sent = await api.client("POST", f"/people/{person['id']}/messages", {"text": "retry me"})
    assert sent["handled"] is True
    assert [u["update_id"] for u, _, _ in hook.received] == [sent["update_id"]] * 3
    info = (await api("getWebhookInfo")).result
    assert "500" in info["last_error_message"] and info["pending_update_count"] == 0


async def test_webhook_that_keeps_failing_gives_up(api: BotApiCaller, hook: Hook, emulator: Emulator) -> None:
    emulator.hub.webhook_backoff = 0.01
    emulator.hub.webhook_retries = 3
    hook.answer = lambda update: web.Response(status=502)
    await api("setWebhook", url=hook.url)
    person = await api.person()
    status, sent = await api.client("POST", f"/people/{person['id']}/messages", {"text": "x"})
    assert sent["handled"] is False
    assert len(hook.received) == 3


async def test_webhook_is_ordered_per_chat_and_concurrent_across_chats(api: BotApiCaller, hook: Hook) -> None:
    ayse, mehmet = await api.person("Ayşe"), await api.person("Mehmet")
    mehmet_arrived = asyncio.Event()
    in_flight: dict[int, int] = {}
    most_in_flight: dict[int, int] = {}
    order: list[str] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        message = (await request.json())["message"]
        chat_id = message["chat"]["id"]
        in_flight[chat_id] = in_flight.get(chat_id, 0) + 1
        most_in_flight[chat_id] = max(most_in_flight.get(chat_id, 0), in_flight[chat_id])
        order.append(message["text"])
        if chat_id == mehmet["id"]:
            mehmet_arrived.set()
        elif message["text"] == "a0":
            # Ayşe's first update is held until Mehmet's arrives: that only happens if chats run concurrently.
            await asyncio.wait_for(mehmet_arrived.wait(), 5)
        await asyncio.sleep(0.05)
        in_flight[chat_id] -= 1
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        await api("setWebhook", url=f"http://127.0.0.1:{runner.addresses[0][1]}/hook")
        for i in range(3):
            await api.say(ayse["id"], f"a{i}")
        await api.say(mehmet["id"], "m0")
        deadline = time.monotonic() + 10
        while (await api("getWebhookInfo")).result["pending_update_count"] and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
    finally:
        await runner.cleanup()
    assert [text for text in order if text.startswith("a")] == ["a0", "a1", "a2"]
    assert order.index("m0") < order.index("a1")
    assert most_in_flight == {ayse["id"]: 1, mehmet["id"]: 1}


async def test_webhook_reply_can_carry_a_method(api: BotApiCaller, hook: Hook) -> None:
    def answer(update: dict[str, Any]) -> web.StreamResponse:
        chat_id = update["message"]["chat"]["id"]
        return web.json_response({"method": "sendMessage", "chat_id": chat_id, "text": "from the reply"})

    hook.answer = answer
    await api("setWebhook", url=hook.url)
    person = await api.person()
    await api.client("POST", f"/people/{person['id']}/messages", {"text": "hi"})
    status, chat = await api.client("GET", f"/people/{person['id']}/chat")
    assert [m["text"] for m in chat["messages"]] == ["hi", "from the reply"]


async def test_pending_updates_move_to_the_webhook_unless_dropped(api: BotApiCaller, hook: Hook) -> None:
    person = await api.person()
    await api.say(person["id"], "kept")
    await api("setWebhook", url=hook.url)
    for _ in range(50):
        if hook.received:
            break
        await asyncio.sleep(0.02)
    assert [u["message"]["text"] for u, _, _ in hook.received] == ["kept"]
    await api("deleteWebhook")
    await api.say(person["id"], "dropped")
    await api("setWebhook", url=hook.url, drop_pending_updates=True)
    await asyncio.sleep(0.2)
    assert len(hook.received) == 1
    assert (await api("getWebhookInfo")).result["pending_update_count"] == 0


async def test_webhook_connection_refused_is_reported(api: BotApiCaller, emulator: Emulator) -> None:
    emulator.hub.webhook_backoff = 0.01
    emulator.hub.webhook_retries = 2
    await api("setWebhook", url="http://127.0.0.1:9/nothing-listens-here")
    person = await api.person()
    status, sent = await api.client("POST", f"/people/{person['id']}/messages", {"text": "x", "timeout": 5})
    assert sent["handled"] is False
    info = (await api("getWebhookInfo")).result
    assert info["last_error_message"].startswith("Connection failed")


async def test_bad_webhook_settings_are_refused(api: BotApiCaller) -> None:
    assert (await api("setWebhook", url="ftp://x")).status == 400
    bad_secret = await api("setWebhook", url="http://127.0.0.1:9/", secret_token="no spaces!")
    assert bad_secret.status == 400 and "secret token" in bad_secret.description
    assert (await api("getWebhookInfo")).result["url"] == ""
