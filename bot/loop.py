"""The event loop a long-running process runs on: uvloop where it is installed, else asyncio's own.

uvloop (libuv under asyncio's interface) does a loop turn, a socket read or write and a wake-up in C.
An update is several such turns: the webhook call, the Telegram call it makes, and on PostgreSQL a
round trip for each statement, so the bot, the worker and the sandbox run on it; nothing in the project
depends on which loop runs it, and the test suite runs on asyncio's. This module imports nothing of the
bot, so a benchmark's bare echo (`bench.common`) runs on the same loop as the bot it is compared with.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from types import ModuleType
from typing import Any, TypeVar

T = TypeVar("T")


def _uvloop() -> ModuleType | None:
    try:
        import uvloop
    except ImportError:  # not installed (it has no Windows build): asyncio's loop does the same work
        return None
    return uvloop


def run(main: Coroutine[Any, Any, T]) -> T:
    uvloop = _uvloop()
    return asyncio.run(main) if uvloop is None else uvloop.run(main)


def name() -> str:
    """The loop that `run` uses, for logs and benchmark reports."""
    return "asyncio" if _uvloop() is None else "uvloop"
