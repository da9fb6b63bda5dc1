"""The outbox worker: sends what `bot/services/outbox.py` queued, at Telegram's limits.

- Claims due deliveries in batches (`claimed_at`/`claimed_by`; SKIP LOCKED on PostgreSQL), a little
  ahead of sending, and writes the outcomes back in batches: no Telegram call waits inside a transaction.
- Paces itself: overall `rate` messages/s (30 by default, up to 1,000), 1/s per private chat (short
  bursts allowed), 20/min per group; a message to a chat that is not free within a second goes back to
  the table with `not_before`.
- 429: that chat waits `retry_after` (the others go on); 403: the resident is marked unreachable and
  their other deliveries skipped; 400: failed; other errors (network, 5xx): retried with backoff.
- After a crash: what was claimed but not recorded is claimed again once the claim is older than
  `claim_timeout`, so nothing is lost and only what was in flight can go out twice.

Logs carry ids and counts, never texts or chat ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import os
import socket
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.metrics import ERRORS, OUTBOX
from bot.services import outbox
from bot.services.outbox import Claimed, Outcome
from bot.ui.notices import keyboard
from storage.models import OutboxMessage, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MAX_BACKOFF = 300.0
RECORD_EVERY = 0.25  # at most this many seconds between two writes of outcomes (fewer, larger transactions)
RECORD_AT = 100  # or as soon as this many outcomes wait (what a crash could repeat stays small)
LOCAL_WAIT = 1.0  # a chat free within this many seconds waits here; later ones go back to the table


@dataclass(frozen=True)
class Pace:
    """The worker's own limits (a little under Telegram's, so it rarely meets a 429)."""

    rate: float = 30.0  # messages per second overall
    per_chat_rate: float = 1.0
    per_chat_burst: int = 3
    group_per_minute: int = 20
    group_burst: int = 5

    def __post_init__(self) -> None:
        if not 0 < self.rate <= 1000:
            raise ValueError("the outbox rate must be between 0 and 1,000 messages a second")


class Gcra:
    """A generic cell rate: `rate` a second with bursts of `burst`; `earliest()` is when the next one may
    go, `take()` reserves it."""

    __slots__ = ("interval", "tolerance", "tat")

    def __init__(self, rate: float, burst: int) -> None:
        self.interval = 1.0 / rate
        self.tolerance = max(0, burst - 1) * self.interval
        self.tat = 0.0

    def earliest(self, now: float) -> float:
        return max(now, self.tat - self.tolerance)

    def take(self, now: float) -> None:
        self.tat = max(self.tat, now) + self.interval

    def block(self, until: float) -> None:
        self.tat = max(self.tat, until + self.tolerance)


def worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Stats:
    sent: int = 0
    retried: int = 0
    unreachable: int = 0
    failed: int = 0
    limited: int = 0
    started: float = field(default_factory=time.monotonic)


class OutboxWorker:
    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        signal: outbox.Signal | None = None,
        *,
        pace: Pace | None = None,
        claim_timeout: float = 60.0,
        poll: float = 1.0,
        name: str | None = None,
    ) -> None:
        self.bot = bot
        self.sessions = sessions
        self.signal = signal or outbox.Signal()
        self.pace = pace or Pace()
        self.claim_timeout = claim_timeout
        self.poll = poll
        self.name = name or worker_name()
        self.batch = max(10, min(500, int(self.pace.rate)))
        self.stats = Stats()
        # bursts of 2% of a second (at least 2, so a late wake-up is made up for, not lost)
        self._global = Gcra(self.pace.rate, max(2, int(self.pace.rate * 0.02)))
        self._chats: dict[int, Gcra] = {}
        self._ready: deque[Claimed] = deque()
        self._later: list[tuple[float, int, Claimed]] = []  # (monotonic time, id, delivery)
        self._done: list[Outcome] = []
        self._inflight: set[asyncio.Task[None]] = set()
        self._held: set[int] = set()  # deliveries claimed here and not yet written back
        self._messages: dict[int, OutboxMessage] = {}
        self._renders: dict[tuple[int, str], tuple[str, InlineKeyboardMarkup | None]] = {}
        self._gone: set[int] = set()  # residents found unreachable meanwhile
        self._busy: set[int] = set()  # chats with a message in flight
        self._stopping = False
        self._stop_timeout: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._record_lock = asyncio.Lock()
        self._filler: asyncio.Task[None] | None = None
        self._flush = asyncio.Event()

    # ---- lifecycle ------------------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        self.signal.worker_running = True
        self._task = asyncio.create_task(self.run(), name="outbox-worker")
        return self._task

    async def stop(self, timeout: float | None = None) -> None:
        """Stop taking new work, let what is in flight finish (for up to `timeout` seconds: then it is
        cancelled, and claimed again once its claim expires) and record it; what was claimed and not
        sent goes back to the table at once."""
        self._stopping = True
        self._stop_timeout = timeout
        self.signal.wake()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.signal.worker_running = False

    async def run(self) -> None:
        log.info("outbox worker started rate=%s", self.pace.rate)
        recorder = asyncio.create_task(self._record_loop())
        try:
            while not self._stopping:
                try:
                    await self._step()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a database hiccup: log, wait, go on
                    log.warning("outbox worker error=%s", type(exc).__name__)
                    ERRORS.labels("outbox", type(exc).__name__).inc()
                    await asyncio.sleep(self.poll)
        finally:
            await self._finish_in_hand()
            recorder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recorder
            await self._release_unsent()
            for _ in range(3):  # a busy database gets a few chances: what is not written goes out again
                await self._record()
                if not self._done:
                    break
                await asyncio.sleep(self.poll)
            log.info(
                "outbox worker stopped sent=%s retried=%s unreachable=%s failed=%s limited=%s",
                self.stats.sent,
                self.stats.retried,
                self.stats.unreachable,
                self.stats.failed,
                self.stats.limited,
            )

    async def _finish_in_hand(self) -> None:
        """Wait for the claim and the sends under way, up to the stop timeout; cancel what is left."""
        tasks = set(self._inflight)
        if self._filler is not None:
            tasks.add(self._filler)
        if not tasks:
            return
        _done, left = await asyncio.wait(tasks, timeout=self._stop_timeout)
        if left:
            log.warning("outbox worker stopping: cancelled in_flight=%s", len(left))
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)

    # ---- the loop -----------------------------------------------------------------------------

    async def _step(self) -> None:
        if len(self._ready) < self.batch // 2:
            await self._fill()
        now = time.monotonic()
        while self._later and self._later[0][0] <= now:
            self._ready.append(heapq.heappop(self._later)[2])
        if not self._ready:
            timeout = self.poll
            if self._later:
                timeout = min(timeout, max(0.0, self._later[0][0] - now))
            elif self._inflight or self._done:
                timeout = min(timeout, 0.05)
            self.signal.event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.signal.event.wait(), timeout)
            return
        # send what is ready, as fast as the overall pace allows
        for _ in range(len(self._ready)):
            if self._stopping:
                return
            delivery = self._ready.popleft()
            now = time.monotonic()
            chat = self._chat(delivery.chat_id)
            ready_at = chat.earliest(now)
            if ready_at - now > LOCAL_WAIT:
                self._put_back(delivery, ready_at - now)
                continue
            if ready_at > now or delivery.chat_id in self._busy:  # one message at a time per chat
                heapq.heappush(self._later, (max(ready_at, now + 0.01), delivery.id, delivery))
                continue
            wait = self._global.earliest(now) - now
            if wait > 0:
                await asyncio.sleep(wait)
                now = time.monotonic()
            self._global.take(now)
            chat.take(now)
            self._busy.add(delivery.chat_id)
            task = asyncio.create_task(self._send(delivery))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
            if len(self._ready) < self.batch // 2 and (self._filler is None or self._filler.done()):
                self._filler = asyncio.create_task(self._fill())  # the next batch, while this one goes

    def _chat(self, chat_id: int) -> Gcra:
        gcra = self._chats.get(chat_id)
        if gcra is None:
            if len(self._chats) > 100_000:
                self._chats.clear()
            if chat_id < 0:
                gcra = Gcra(self.pace.group_per_minute / 60.0, self.pace.group_burst)
            else:
                gcra = Gcra(self.pace.per_chat_rate, self.pace.per_chat_burst)
            self._chats[chat_id] = gcra
        return gcra

    def _put_back(
        self, delivery: Claimed, seconds: float, attempted: bool = False, error: str | None = None
    ) -> None:
        self._finish(
            Outcome(
                delivery.id,
                outbox.PENDING,
                delivery.resident_id,
                not_before=utcnow() + timedelta(seconds=seconds),
                attempted=attempted,
                error=error,
            ),
            delivery.message_id,
        )

    async def _fill(self) -> None:
        """Claim the next due deliveries (and load the messages they belong to)."""
        if self._stopping:
            return
        async with self.sessions.begin() as session:
            claimed = await outbox.claim(session, self.name, self.batch, self.claim_timeout)
        if not claimed:
            return
        wanted = {c.message_id for c in claimed} - set(self._messages)
        residents = {c.resident_id for c in claimed if c.resident_id is not None}
        async with self.sessions() as session:
            if wanted:
                if len(self._messages) > 1000:
                    self._messages.clear()
                self._messages.update(await outbox.messages(session, wanted))
            gone = await outbox.unreachable_residents(session, residents)
        claimed = [c for c in claimed if c.id not in self._held]  # already ours: never twice in the queue
        self._held.update(c.id for c in claimed)
        for delivery in claimed:
            if delivery.resident_id in gone:
                self._finish(
                    Outcome(
                        delivery.id,
                        outbox.SKIPPED,
                        delivery.resident_id,
                        error="unreachable",
                        attempted=False,
                    ),
                    delivery.message_id,
                )
            else:
                self._ready.append(delivery)

    # ---- one message ------------------------------------------------------------------------------

    async def _send(self, delivery: Claimed) -> None:
        try:
            await self._attempt(delivery)
        finally:
            self._busy.discard(delivery.chat_id)

    async def _attempt(self, delivery: Claimed) -> None:
        message = self._messages.get(delivery.message_id)
        if message is None:  # deleted meanwhile
            self._finish(
                Outcome(delivery.id, outbox.SKIPPED, error="gone", attempted=False), delivery.message_id
            )
            return
        if delivery.resident_id is not None and delivery.resident_id in self._gone:
            self._finish(
                Outcome(
                    delivery.id, outbox.SKIPPED, delivery.resident_id, error="unreachable", attempted=False
                ),
                delivery.message_id,
            )
            return
        try:
            text, markup = self._rendered(message, delivery.lang)
            if message.photo:  # a broadcast with a photo: its text is the caption
                sent = await self.bot.send_photo(
                    delivery.chat_id, message.photo, caption=text, reply_markup=markup
                )
            else:
                sent = await self.bot.send_message(delivery.chat_id, text, reply_markup=markup)
        except TelegramRetryAfter as exc:
            self.stats.limited += 1
            OUTBOX.labels("limited").inc()
            until = time.monotonic() + exc.retry_after
            self._chat(delivery.chat_id).block(until)
            log.info("outbox flood limit delivery=%s retry_after=%s", delivery.id, exc.retry_after)
            if exc.retry_after <= LOCAL_WAIT and not self._stopping:  # kept here, tried again then
                heapq.heappush(self._later, (until, delivery.id, delivery))
            else:
                self._put_back(delivery, exc.retry_after, error="TelegramRetryAfter")
        except TelegramForbiddenError as exc:
            if delivery.resident_id is not None:
                self.stats.unreachable += 1
                OUTBOX.labels("unreachable").inc()
                self._gone.add(delivery.resident_id)
                log.info("outbox delivery=%s resident=%s unreachable", delivery.id, delivery.resident_id)
                self._finish(
                    Outcome(delivery.id, outbox.UNREACHABLE, delivery.resident_id, error=type(exc).__name__),
                    delivery.message_id,
                )
            else:
                self._fail(delivery, exc)
        except (TelegramBadRequest, TelegramNotFound, TelegramUnauthorizedError) as exc:
            self._fail(delivery, exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # network, 5xx, timeouts: try again later
            if delivery.attempts + 1 >= MAX_ATTEMPTS:
                self._fail(delivery, exc)
            else:
                self.stats.retried += 1
                OUTBOX.labels("retried").inc()
                backoff = min(MAX_BACKOFF, 2.0 ** (delivery.attempts + 1))
                log.info("outbox retry delivery=%s error=%s in=%ss", delivery.id, type(exc).__name__, backoff)
                self._put_back(delivery, backoff, attempted=True, error=type(exc).__name__)
        else:
            self.stats.sent += 1
            OUTBOX.labels("sent").inc()
            self._finish(
                Outcome(delivery.id, outbox.SENT, delivery.resident_id, telegram_message_id=sent.message_id),
                delivery.message_id,
            )

    def _rendered(self, message: OutboxMessage, lang: str) -> tuple[str, InlineKeyboardMarkup | None]:
        """The text and buttons of a message in a language, made once per message and language."""
        found = self._renders.get((message.id, lang))
        if found is None:
            if len(self._renders) > 1000:
                self._renders.clear()
            rendered = outbox.render(message, lang)
            found = self._renders[(message.id, lang)] = (rendered.text, keyboard(rendered))
        return found

    def _fail(self, delivery: Claimed, exc: BaseException) -> None:
        self.stats.failed += 1
        OUTBOX.labels("failed").inc()
        log.warning("outbox delivery=%s failed error=%s", delivery.id, type(exc).__name__)
        self._finish(
            Outcome(delivery.id, outbox.FAILED, delivery.resident_id, error=type(exc).__name__),
            delivery.message_id,
        )

    def _finish(self, outcome: Outcome, message_id: int) -> None:
        outcome.message_id = message_id
        self._done.append(outcome)
        if len(self._done) >= RECORD_AT or self.signal.waits_for(message_id):
            self._flush.set()

    # ---- writing back ------------------------------------------------------------------------------

    async def _record_loop(self) -> None:
        """Write outcomes when `RECORD_AT` are done, when an update waits for one of them (`_finish`
        sets `_flush`), or every `RECORD_EVERY` seconds; renew the claims still held every third of the
        claim timeout."""
        touched = time.monotonic()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush.wait(), RECORD_EVERY)
            self._flush.clear()
            if self._done:
                await self._record()
            if time.monotonic() - touched >= self.claim_timeout / 3 and self._held:
                touched = time.monotonic()
                try:
                    async with self.sessions.begin() as session:
                        await outbox.touch(session, set(self._held), self.name)
                except Exception as exc:
                    log.warning("outbox claim renewal failed error=%s", type(exc).__name__)

    async def _record(self) -> None:
        async with self._record_lock:
            done, self._done = self._done, []
            if not done:
                return
            try:
                async with self.sessions.begin() as session:
                    await outbox.record(session, done, self.name)
            except asyncio.CancelledError:  # the recorder stopped mid-write: the last write does it again
                self._done[:0] = done  # (a row already written is no longer claimed by us: untouched)
                raise
            except Exception as exc:  # the database is busy or away: kept, and written at the next turn
                log.warning("outbox record failed count=%s error=%s", len(done), type(exc).__name__)
                self._done[:0] = done
                return
            self._held.difference_update(o.id for o in done)
            for message_id in {o.message_id for o in done}:
                if message_id is not None:
                    self.signal.handled(message_id)

    async def _release_unsent(self) -> None:
        """On a clean stop, what was claimed but not sent goes back at once (not after the timeout)."""
        left = list(self._ready) + [item[2] for item in self._later]
        self._ready.clear()
        self._later.clear()
        for delivery in left:
            self._put_back(delivery, 0)
