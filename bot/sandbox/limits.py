"""Telegram's limits: sizes of texts and buttons, and flood control with token buckets."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.sandbox.errors import too_many_requests


@dataclass(frozen=True)
class Limits:
    """What the emulator enforces. The defaults are Telegram's published limits."""

    max_text: int = 4096
    max_caption: int = 1024
    max_callback_data: int = 64
    per_chat_rate: float = 1.0
    per_chat_burst: int = 5
    global_rate: float = 30.0
    global_burst: int = 30
    group_per_minute: int = 20
    rate_limits: bool = True

    @classmethod
    def for_tests(cls) -> Limits:
        """Telegram's size checks, with flood limits far above what a flow test produces."""
        return cls(
            per_chat_rate=1000.0,
            per_chat_burst=1000,
            global_rate=100_000.0,
            global_burst=100_000,
            group_per_minute=100_000,
        )


class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` tokens per second."""

    __slots__ = ("rate", "capacity", "tokens", "stamp")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, capacity)
        self.tokens = self.capacity
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 when one is available now)."""
        self._refill(now)
        if self.tokens >= 1.0:
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1.0


class RateLimiter:
    """Per-chat, per-group and overall flood control on sending methods."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._global: TokenBucket | None = None
        self._chats: dict[int, TokenBucket] = {}

    def reset(self) -> None:
        self._global = None
        self._chats.clear()

    def _chat_bucket(self, chat_id: int, now: float) -> TokenBucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if chat_id < 0:
                per_minute = self.limits.group_per_minute
                bucket = TokenBucket(per_minute / 60.0, per_minute, now)
            else:
                bucket = TokenBucket(self.limits.per_chat_rate, self.limits.per_chat_burst, now)
            self._chats[chat_id] = bucket
        return bucket

    def hold(self, chat_id: int, seconds: float) -> None:
        """Make the next message to ``chat_id`` wait ``seconds`` (as if the chat had just been flooded)."""
        bucket = self._chat_bucket(chat_id, self.clock())
        bucket.tokens = 1.0 - seconds * bucket.rate

    def acquire(self, chat_id: int) -> None:
        """Take a token for one message to ``chat_id`` or raise 429 with ``retry_after``."""
        if not self.limits.rate_limits:
            return
        now = self.clock()
        if self._global is None:
            self._global = TokenBucket(self.limits.global_rate, self.limits.global_burst, now)
        chat_bucket = self._chat_bucket(chat_id, now)
        wait = max(self._global.wait_time(now), chat_bucket.wait_time(now))
        if wait > 0:
            raise too_many_requests(max(1, math.ceil(wait)))
        self._global.take(now)
        chat_bucket.take(now)
