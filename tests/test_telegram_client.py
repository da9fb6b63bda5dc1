"""The bot's Telegram client waits out HTTP 429 as Telegram asks, and the locale is picked in order."""

from __future__ import annotations

import time

import pytest
from aiogram.exceptions import TelegramRetryAfter

from bot.middlewares.locale import pick_language
from bot.sandbox.emulator import Limits
from bot.sandbox.testing import Sandbox
from bot.telegram import make_bot


async def test_sender_honours_retry_after() -> None:
    limits = Limits(per_chat_rate=1.0, per_chat_burst=2)
    async with Sandbox(limits=limits) as sb:
        person = await sb.person("Ayşe", language_code="tr")
        bot = make_bot(sb.token, sb.url)
        try:
            started = time.monotonic()
            for n in range(4):
                await bot.send_message(person.id, f"message {n}")
            elapsed = time.monotonic() - started
        finally:
            await bot.session.close()
        texts = [m.text for m in await person.bot_messages()]
        assert texts == [f"message {n}" for n in range(4)]  # nothing lost, nothing doubled, in order
        assert elapsed >= 1.0  # two of the four had to wait for the per-chat limit


async def test_gives_up_when_the_wait_is_too_long() -> None:
    limits = Limits(per_chat_rate=0.01, per_chat_burst=1)  # one message per 100 s
    async with Sandbox(limits=limits) as sb:
        person = await sb.person("Can")
        bot = make_bot(sb.token, sb.url, max_retry_wait=5)
        try:
            await bot.send_message(person.id, "first")
            with pytest.raises(TelegramRetryAfter) as err:
                await bot.send_message(person.id, "second")
            assert err.value.retry_after > 5
        finally:
            await bot.session.close()


@pytest.mark.parametrize(
    ("saved", "telegram", "default", "expected"),
    [
        ("en", "tr", "tr", "en"),
        (None, "en-US", "tr", "en"),
        (None, "de", "tr", "tr"),
        (None, None, "en", "en"),
        ("xx", "tr-TR", "en", "tr"),
    ],
)
def test_pick_language(saved: str | None, telegram: str | None, default: str, expected: str) -> None:
    assert pick_language(saved, telegram, default) == expected
