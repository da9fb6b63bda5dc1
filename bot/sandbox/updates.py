"""Updates for the bot: the pending queue, long polling and webhook delivery, and handling detection."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.sandbox.errors import conflict
from bot.sandbox.params import Params

log = logging.getLogger(__name__)

ALL_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
DEFAULT_UPDATE_TYPES = ALL_UPDATE_TYPES - {"chat_member", "message_reaction", "message_reaction_count"}

MethodRunner = Callable[[str, Params], Awaitable[Any]]


@dataclass
class PendingUpdate:
    update_id: int
    kind: str
    payload: dict[str, Any]
    chat_id: int | None
    done: asyncio.Future[bool]
    handled_in_request: bool = False

    def json(self) -> dict[str, Any]:
        return {"update_id": self.update_id, self.kind: self.payload}

    def finish(self, handled: bool) -> None:
        if not self.done.done():
            self.done.set_result(handled)


@dataclass
class _IdleWaiter:
    run: int
    calm: float
    quiet: float
    deadline: float
    future: asyncio.Future[None]


class Activity:
    """The bot's Bot API requests (long polls aside): how many are in flight, per chat and overall.

    Waiting clients use it to tell when the bot has finished with an update. A webhook handled
    synchronously is done once its chat has no request in flight. Otherwise (long polling, or a webhook
    answered before handling) the bot is done once it has been idle for a quiet period. Idle time is
    counted in ticks of the event loop, so time the loop spends busy (the bot at work in the same
    process, or a starved machine) does not count as quiet.
    """

    TICK = 0.01

    def __init__(self) -> None:
        self._inflight: dict[int | None, int] = {}
        self._begun: dict[int | None, int] = {}
        self.total_inflight = 0
        self._touched = False
        self._run = 0
        self._calm = 0.0
        self._waiters: list[_IdleWaiter] = []
        self._monitor: asyncio.Task[None] | None = None

    def begin(self, chat_id: int | None) -> None:
        self._inflight[chat_id] = self._inflight.get(chat_id, 0) + 1
        self._begun[chat_id] = self._begun.get(chat_id, 0) + 1
        self.total_inflight += 1
        self._touched = True

    def end(self, chat_id: int | None) -> None:
        count = self._inflight.get(chat_id, 0) - 1
        if count <= 0:
            self._inflight.pop(chat_id, None)
        else:
            self._inflight[chat_id] = count
        self.total_inflight -= 1
        self._touched = True

    def begun(self, chat_id: int | None) -> int:
        """How many requests acting on this chat have started so far."""
        return self._begun.get(chat_id, 0)

    async def chat_settled(self, chat_id: int | None, deadline: float) -> None:
        while self._inflight.get(chat_id) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)

    async def idle(self, quiet: float, deadline: float) -> None:
        """Return once the bot made no request during ``quiet`` seconds of loop time (or at ``deadline``)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(_IdleWaiter(self._run, self._calm, quiet, deadline, future))
        if self._monitor is None or self._monitor.done():
            self._monitor = asyncio.create_task(self._watch())
        await future

    async def _watch(self) -> None:
        while self._waiters:
            before = time.monotonic()
            await asyncio.sleep(self.TICK)
            now = time.monotonic()
            if self.total_inflight or self._touched:
                self._touched = False
                self._run += 1
                self._calm = 0.0
            else:
                self._calm += min(now - before, self.TICK)
            waiting: list[_IdleWaiter] = []
            for waiter in self._waiters:
                calm = self._calm - waiter.calm if waiter.run == self._run else self._calm
                if waiter.future.done():
                    continue
                if calm >= waiter.quiet - 1e-9 or now >= waiter.deadline:
                    waiter.future.set_result(None)
                else:
                    waiting.append(waiter)
            self._waiters = waiting

    def reset(self) -> None:
        self._begun = {key: 0 for key in self._inflight}

    def close(self) -> None:
        for waiter in self._waiters:
            if not waiter.future.done():
                waiter.future.set_result(None)
        self._waiters.clear()
        if self._monitor is not None:
            self._monitor.cancel()


@dataclass
class WebhookConfig:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None
    pending: dict[int | None, deque[PendingUpdate]] = field(default_factory=dict)
    workers: dict[int | None, asyncio.Task[None]] = field(default_factory=dict)
    semaphore: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self.semaphore = asyncio.Semaphore(max(1, self.max_connections))


class UpdateHub:
    """Every update for the bot, from creation until the bot confirmed (polling) or accepted it (webhook)."""

    def __init__(self, run_method: MethodRunner, activity: Activity) -> None:
        self.run_method = run_method
        self.activity = activity
        self.pending: dict[int, PendingUpdate] = {}
        self.next_update_id = 1
        self.allowed: frozenset[str] = DEFAULT_UPDATE_TYPES
        self.allowed_updates_param: list[str] | None = None
        self.webhook: WebhookConfig | None = None
        # like Telegram, a call not answered 2xx (or not answered at all) is made again, after a wait
        # that doubles from `webhook_backoff` up to `webhook_max_backoff`, `webhook_retries` calls in all
        self.webhook_retries = 5
        self.webhook_backoff = 0.1
        self.webhook_max_backoff = 10.0
        self.webhook_timeout = 60.0
        self.webhook_failures = 0  # calls not answered 2xx, over the emulator's life
        self.session: aiohttp.ClientSession | None = None
        self.last_poll: float | None = None
        self.polling_now = 0
        self._generation = 0
        self._terminated_by = ""
        self._wake = asyncio.Event()
        self._closed = False

    # creation -------------------------------------------------------------------------------------
    def create(self, kind: str, payload: dict[str, Any], chat_id: int | None) -> PendingUpdate:
        update = PendingUpdate(
            self.next_update_id, kind, payload, chat_id, asyncio.get_running_loop().create_future()
        )
        self.next_update_id += 1
        if kind not in self.allowed:
            update.finish(False)
            return update
        self.pending[update.update_id] = update
        if self.webhook is not None:
            self._queue_webhook(self.webhook, update)
        self._notify()
        return update

    def _notify(self) -> None:
        self._wake.set()
        self._wake = asyncio.Event()

    def _drop(self, update: PendingUpdate, handled: bool) -> None:
        self.pending.pop(update.update_id, None)
        update.finish(handled)

    def drop_pending(self) -> None:
        for update in list(self.pending.values()):
            self._drop(update, False)

    def set_allowed(self, allowed: list[str] | None) -> None:
        if allowed is None:
            return
        self.allowed_updates_param = list(allowed)
        known = frozenset(a for a in allowed if a in ALL_UPDATE_TYPES)
        self.allowed = known or DEFAULT_UPDATE_TYPES

    @property
    def delivery(self) -> str | None:
        if self.webhook is not None:
            return "webhook"
        if self.polling_now or (self.last_poll is not None and time.monotonic() - self.last_poll < 30):
            return "polling"
        return None

    # polling --------------------------------------------------------------------------------------
    def _confirm(self, offset: int | None) -> None:
        if not offset:
            return
        if offset > 0:
            for update_id in [i for i in self.pending if i < offset]:
                self._drop(self.pending[update_id], True)
            return
        keep = -offset
        ids = list(self.pending)
        for update_id in ids[: max(0, len(ids) - keep)]:
            self._drop(self.pending[update_id], False)

    async def get_updates(
        self, offset: int | None, limit: int, timeout: float, allowed: list[str] | None
    ) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise conflict(
                "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
            )
        self._generation += 1
        generation = self._generation
        self._terminated_by = "other getUpdates request"
        self._notify()
        self.set_allowed(allowed)
        self._confirm(offset)
        limit = min(max(limit, 1), 100)
        deadline = time.monotonic() + max(0.0, timeout)
        self.polling_now += 1
        try:
            while True:
                if generation != self._generation:
                    raise conflict(
                        f"terminated by {self._terminated_by}; make sure that only one bot instance is running"
                    )
                batch = [u.json() for u in list(self.pending.values())[:limit]]
                remaining = deadline - time.monotonic()
                if batch or remaining <= 0 or self._closed:
                    return batch
                event = self._wake
                try:
                    await asyncio.wait_for(event.wait(), remaining)
                except TimeoutError:
                    pass
        finally:
            self.polling_now -= 1
            self.last_poll = time.monotonic()

    # webhook --------------------------------------------------------------------------------------
    def set_webhook(
        self,
        url: str,
        secret_token: str | None,
        max_connections: int,
        allowed: list[str] | None,
        drop_pending: bool,
    ) -> None:
        self._stop_webhook()
        if drop_pending:
            self.drop_pending()
        self.set_allowed(allowed)
        self._generation += 1
        self._terminated_by = "setWebhook request"
        self._notify()
        config = WebhookConfig(url, secret_token, max_connections, self.allowed_updates_param)
        self.webhook = config
        for update in list(self.pending.values()):
            self._queue_webhook(config, update)

    def delete_webhook(self, drop_pending: bool) -> bool:
        existed = self.webhook is not None
        self._stop_webhook()
        if drop_pending:
            self.drop_pending()
        return existed

    def _stop_webhook(self) -> None:
        config = self.webhook
        if config is None:
            return
        self.webhook = None
        for task in config.workers.values():
            task.cancel()

    def webhook_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending),
        }
        config = self.webhook
        if config is None:
            return info
        info["url"] = config.url
        info["max_connections"] = config.max_connections
        info["ip_address"] = "127.0.0.1"
        if config.allowed_updates is not None:
            info["allowed_updates"] = config.allowed_updates
        if config.last_error_date is not None:
            info["last_error_date"] = config.last_error_date
            info["last_error_message"] = config.last_error_message
        return info

    def _queue_webhook(self, config: WebhookConfig, update: PendingUpdate) -> None:
        queue = config.pending.setdefault(update.chat_id, deque())
        queue.append(update)
        if update.chat_id not in config.workers:
            config.workers[update.chat_id] = asyncio.create_task(self._chat_worker(config, update.chat_id))

    async def _chat_worker(self, config: WebhookConfig, chat_id: int | None) -> None:
        """Deliver one chat's updates in order, one at a time."""
        queue = config.pending[chat_id]
        try:
            while queue:
                update = queue[0]
                if update.update_id in self.pending:
                    handled = await self._deliver(config, update)
                    if self.webhook is config:
                        self._drop(update, handled)
                queue.popleft()
        finally:
            config.workers.pop(chat_id, None)
            if not queue:
                config.pending.pop(chat_id, None)

    async def _deliver(self, config: WebhookConfig, update: PendingUpdate) -> bool:
        for attempt in range(max(1, self.webhook_retries)):
            async with config.semaphore:
                error = await self._post(config, update)
            if error is None:
                return True
            self.webhook_failures += 1
            config.last_error_date = int(time.time())
            config.last_error_message = error
            log.debug("webhook delivery of update %s failed: %s", update.update_id, error)
            if attempt + 1 < self.webhook_retries:
                await asyncio.sleep(min(self.webhook_max_backoff, self.webhook_backoff * 2**attempt))
        return False

    async def _post(self, config: WebhookConfig, update: PendingUpdate) -> str | None:
        assert self.session is not None
        before = self.activity.begun(update.chat_id)
        headers = {"Content-Type": "application/json"}
        if config.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = config.secret_token
        try:
            async with self.session.post(
                config.url,
                data=json.dumps(update.json(), ensure_ascii=False).encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
            ) as response:
                if not 200 <= response.status < 300:
                    return f"Wrong response from the webhook: {response.status} {response.reason}"
                reply = await _read_webhook_reply(response)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return f"Connection failed: {exc.__class__.__name__}"
        if reply is not None:
            method = str(reply.values.pop("method", ""))
            if method:
                try:
                    await self.run_method(method, reply)
                except Exception as exc:  # Telegram ignores the outcome of a method in a webhook reply
                    log.debug("method %s in webhook reply failed: %s", method, exc)
        update.handled_in_request = self.activity.begun(update.chat_id) > before
        return None

    # lifecycle ------------------------------------------------------------------------------------
    def reset(self) -> None:
        self.drop_pending()
        config = self.webhook
        if config is not None:
            for task in config.workers.values():
                task.cancel()
            config.workers.clear()
            config.pending.clear()

    async def close(self) -> None:
        self._closed = True
        self._notify()
        self._stop_webhook()
        self.drop_pending()


async def _read_webhook_reply(response: aiohttp.ClientResponse) -> Params | None:
    """A Bot API method the bot put in its webhook answer, as JSON or multipart form."""
    content_type = response.content_type
    if content_type == "application/json":
        try:
            body = await response.json(content_type=None)
        except ValueError:
            return None
        return Params(dict(body)) if isinstance(body, dict) and body.get("method") else None
    if content_type.startswith("multipart/"):
        values: dict[str, Any] = {}
        reader = aiohttp.MultipartReader.from_response(response)
        while True:
            part = await reader.next()
            if part is None:
                break
            if isinstance(part, aiohttp.BodyPartReader) and part.name:
                values[part.name] = await part.text()
        return Params(values) if values.get("method") else None
    return None
