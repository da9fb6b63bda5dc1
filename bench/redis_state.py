"""What an update's conversation state costs the bot with Redis (several instances), way by way.

Each row is the Redis work an update of a person does before and after its handler, run in a loop on
the loop the bot runs on, one update at a time or (``--concurrency``) that many people's updates at
once, as a busy instance has them, by the process's CPU time per update and the round trips it makes
(commands sent, a script counting as one):

- **aiogram's storage and lock**: `RedisStorage` and a lock of redis-py as aiogram's
  `RedisEventIsolation` takes it (as `bot.isolation.redis_isolation` did with no storage): the lock
  taken (`SET … NX PX`), the state read, the data read, the lock given back (a script);
- **one MGET**: `storage.fsm.RedisBoxStorage` with the same lock: the state, the data and the boxes
  read together at the first read, the later reads from what the update knows;
- **the lock that reads**: `RedisBoxStorage.lock`, the lock taken and the values read by one script.

A **press** reads the state, the data and a box (a ballot's draft) and writes nothing; a **step of a
form** reads the state and the data, then sets the state and the data; each update also sets the state
to none, as a handler ending a conversation that was not underway does (aiogram's storage sends that
DEL; the other two know there is nothing to delete). The echo bot's CPU per update (webhook) is measured
in the same run; *vs echo* divides by it.

    BENCH_REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python -m bench.redis_state [--loops 2000] [--concurrency 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from bench.common import format_table
from bench.throughput import measure_echo

REDIS_URL_VARIABLE = "BENCH_REDIS_URL"
WARMUP = 200
TTL = 20.0


async def measure(url: str, loops: int, repeats: int, concurrency: int) -> tuple[list[list[object]], float]:
    from aiogram.fsm.storage.base import StorageKey
    from aiogram.fsm.storage.redis import RedisStorage
    from redis.asyncio import Redis

    from bot.isolation import redis_isolation
    from storage.db import current_session
    from storage.fsm import BoxKeys, RedisBoxStorage

    class Info:  # what `RedisBoxStorage` keeps for the update: a session's info, and nothing else
        def __init__(self) -> None:
            self.info: dict[str, Any] = {}

    prefix = f"bench-redis-{uuid.uuid4().hex[:8]}"
    keys = BoxKeys(prefix=prefix)
    redis = Redis.from_url(url)
    sent = [0]
    execute = redis.execute_command

    async def counted(*args: Any, **kwargs: Any) -> Any:
        sent[0] += 1
        return await execute(*args, **kwargs)

    redis.execute_command = counted  # type: ignore[method-assign]
    plain = RedisStorage(redis, key_builder=keys)
    boxed = RedisBoxStorage(redis, key_builder=keys, boxes=["ballot_drafts"])
    ways = {
        "aiogram's storage and lock": (plain, redis_isolation(redis, keys, TTL)),
        "one MGET": (boxed, redis_isolation(redis, keys, TTL)),
        "the lock that reads": (boxed, redis_isolation(redis, keys, TTL, boxed)),
    }
    people = [StorageKey(bot_id=1, chat_id=7 + n, user_id=7 + n) for n in range(concurrency)]
    for key in people:
        await plain.set_data(replace(key, destiny="ballot_drafts"), {"pot": {"1": [3, 5, 8]}})

    async def update(storage: Any, isolation: Any, step: str, key: StorageKey) -> None:
        draft = replace(key, destiny="ballot_drafts")
        token = current_session.set(Info())  # type: ignore[arg-type]
        try:
            async with isolation.lock(key):
                await storage.get_state(key)
                await storage.get_data(key)
                if step == "press":
                    await storage.get_data(draft)
                    await storage.set_state(key, None)
                else:
                    await storage.set_state(key, "Form:title")
                    await storage.set_data(key, {"title": "Bank in the park"})
                    await storage.set_state(key, None)
                    await storage.set_data(key, {})
        finally:
            current_session.reset(token)

    rows: list[list[object]] = []
    try:
        for step in ("press", "form"):
            for name, (storage, isolation) in ways.items():
                figures = []

                async def person(
                    key: StorageKey, times: int, way: tuple[Any, Any, str] = (storage, isolation, step)
                ) -> None:
                    for _ in range(times):
                        await update(*way, key)

                done = loops // concurrency * concurrency
                for _ in range(repeats):
                    await asyncio.gather(*(person(key, WARMUP // concurrency + 1) for key in people))
                    sent[0] = 0
                    started = time.process_time()
                    await asyncio.gather(*(person(key, loops // concurrency) for key in people))
                    figures.append(1e6 * (time.process_time() - started) / done)
                rows.append(
                    [
                        f"{step}: {name}",
                        sent[0] / done,
                        " / ".join(f"{f:.0f}" for f in figures),
                        min(figures),
                    ]
                )
    finally:
        stale = [k async for k in redis.scan_iter(f"{prefix}:*")]
        if stale:
            await redis.delete(*stale)
        await redis.aclose()
    echo = await measure_echo("webhook", 20, 30)
    echo_us = 1e6 * echo.bot.cpu_s / echo.bot_updates
    return [[*row, row[-1] / echo_us] for row in rows], echo_us  # type: ignore[operator]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loops", type=int, default=2000, help="updates per way and repeat (2000)")
    parser.add_argument("--repeats", type=int, default=3, help="times each way is measured (3)")
    parser.add_argument("--concurrency", type=int, default=1, help="people's updates at once (1)")
    args = parser.parse_args(argv)
    url = os.environ.get(REDIS_URL_VARIABLE)
    if not url:
        print(f"bench.redis_state: set {REDIS_URL_VARIABLE} (redis://...)", file=sys.stderr)
        return 2
    from bot.loop import name as loop_name
    from bot.loop import run

    rows, echo_us = run(measure(url, args.loops, args.repeats, args.concurrency))
    print(
        f"An update's conversation state in Redis, {date.today().isoformat()}, Python "
        f"{platform.python_version()} on {loop_name()}, {args.loops} updates a way, "
        f"{args.concurrency} at once"
    )
    header = ("update: way", "round trips", "CPU µs per update (repeats)", "best", "vs echo (best)")
    print(format_table(header, [*rows, ["echo bot, a whole update (webhook)", "—", "—", echo_us, 1.0]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
