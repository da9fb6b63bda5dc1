"""Throughput of a bare aiogram echo handler through the sandbox emulator.

N simulated people each send M text messages, all people at once, each person waiting for the bot's echo
of one message before sending the next. Measured for long polling and for a webhook server (aiogram's
``SimpleRequestHandler``): updates per second, p50/p99 latency from the client's send until the echo
entered the person's chat (the emulator's timestamp of the bot's message), and the bot process's CPU and
peak RSS. This echo figure is the anchor the feature
benchmarks are compared against in the same run (see :mod:`bench.common`).

    .venv/bin/python -m bench.throughput [--people 200] [--messages 20] [--modes polling,webhook] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiogram import Dispatcher, Router
from aiogram.types import Message

from bench.common import (
    MODES,
    Check,
    ClientAPI,
    Driver,
    Mode,
    ScenarioResult,
    Script,
    results_table,
    run_scenario,
)
from bot.loop import name as loop_name

ECHO_FACTORY = "bench.throughput:echo_dispatcher"


def echo_dispatcher() -> Dispatcher:
    """A dispatcher with one handler that sends every text message back."""
    router = Router(name="echo")

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "?")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return dispatcher


def echo_script(messages: int, prefix: str = "message") -> Script:
    async def script(driver: Driver, person_id: int) -> None:
        for i in range(messages):
            await driver.say(person_id, f"{prefix} {i + 1}")

    return script


def echo_check(expected_per_person: int) -> Check:
    async def check(client: ClientAPI, people: Sequence[int]) -> None:
        for person_id in people:
            chat = await client.chat(person_id)
            echoes = [m for m in chat["messages"] if m["from"] == "bot"]
            if len(echoes) != expected_per_person:
                raise AssertionError(
                    f"person {person_id} got {len(echoes)} echoes, expected {expected_per_person}"
                )

    return check


async def measure_echo(mode: Mode, people: int, messages: int, rate: float | None = None) -> ScenarioResult:
    """The anchor: ``people`` people each sending ``messages`` texts to the echo bot over ``mode``
    (open-loop at ``rate`` updates/s when given)."""
    return await run_scenario(
        "echo",
        ECHO_FACTORY,
        mode,
        people,
        echo_script(messages),
        warmup=echo_script(1, prefix="warm-up"),
        check=echo_check(messages + 1),
        rate=rate,
    )


async def run(people: int, messages: int, modes: Sequence[Mode]) -> list[ScenarioResult]:
    return [await measure_echo(mode, people, messages) for mode in modes]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=200, help="simulated people sending at once (200)")
    parser.add_argument("--messages", type=int, default=20, help="messages each person sends (20)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: polling,webhook")
    parser.add_argument("--quick", action="store_true", help="a short run: 20 people x 3 messages")
    args = parser.parse_args(argv)
    if args.quick:
        args.people, args.messages = 20, 3
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for mode in modes:
        if mode not in MODES:
            parser.error(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")

    results = asyncio.run(run(args.people, args.messages, modes))
    print(
        f"Echo throughput through the sandbox, {date.today().isoformat()}, Python {platform.python_version()} on {loop_name()}, "
        f"{args.people} people x {args.messages} messages (after 1 warm-up message each)"
    )
    print(results_table(results))
    print(
        "latency: client send -> the echo in the person's chat (emulator timestamp of the bot's message); "
        "bot CPU and peak RSS: getrusage of the bot process"
    )


if __name__ == "__main__":
    main()
