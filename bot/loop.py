"""The event loop a long-running process runs on (uvloop where it is installed, else asyncio's own),
and the garbage collector's settings once it serves (`settle`).

uvloop (libuv under asyncio's interface) does a loop turn, a socket read or write and a wake-up in C.
An update is several such turns: the webhook call, the Telegram call it makes, and on PostgreSQL a
round trip for each statement, so the bot, the worker and the sandbox run on it; nothing in the project
depends on which loop runs it, and the test suite runs on asyncio's. This module imports nothing of the
bot, so a benchmark's bare echo (`bench.common`) runs on the same loop, and settles the same way, as the
bot it is compared with.
"""

from __future__ import annotations

import asyncio
import gc
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


# the youngest generation is collected after this many more container objects were made than freed
# (Python's default: 700)
YOUNG_THRESHOLD = 50_000


def settle() -> None:
    """Keep what start-up built out of the garbage collector's passes, and let it run less often.

    A started bot holds about 300,000 objects (aiogram's types, SQLAlchemy's mappers, the catalogs); a full
    collection walks them all, 150 to 200 ms on this project's machine, and every update waiting meanwhile
    waits as long. Called once when the process is ready to serve: unreachable start-up garbage is freed,
    and what survives is frozen (`gc.freeze`), so later collections look at newer objects only.

    An update's objects are freed by their reference counts when it ends; the collector is needed only
    for cycles. With Python's threshold of 700 it ran every other update or so while twenty were in
    hand, walking and promoting objects still in use: about 4% of the bot's CPU in a ballot replay. The
    count that starts a pass is of objects made less those freed since the last one, never below zero:
    with fifty updates in hand (Telegram makes up to 40 calls at once by default), whose objects come
    and go in swings larger than a threshold of 10,000, a pass still came every 70 updates and found
    nothing to free, about 3% of the bot's CPU. At `YOUNG_THRESHOLD` it ran once in a replay of 37,226
    updates with fifty people at once, in 5 to 7 ms.
    """
    gc.collect()
    gc.freeze()
    _threshold, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
