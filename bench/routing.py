"""What routing an update to its handler costs the bot, in this process, against the echo anchor.

The bot's own dispatcher (`bot.app.make_dispatcher`: every feature's routers, the middlewares of a
press and of a message, `bot.routing`'s tables), with every handler replaced by one that does
nothing, is handed the press or message an update carries, as `Dispatcher._listen_update` hands it
(`propagate_event`, with the data the update's outer middlewares would have set: the person, an
onboarded viewer, no conversation state). What is measured is everything between the update's outer
middlewares and the handler's body: the routers' and handlers' filters, the press's data read into its
factory's model, the prompt, throttling and answer middlewares, and the press's answer made (not sent).
No database, no HTTP.

Rows, each a cycle of updates from a different person every time (throttling takes each):

- **ballot presses**: a pot's page, a card, Add, back to the page, the review, Confirm, as
  `bench.replay` presses them;
- **ideas presses**: a page of ideas, an idea's card, Support, as `bench.meydan --mix ideas`;
- **typed commands**: /budget, /ideas, /settings, /help.

The echo bot's CPU per update (webhook, `bench.throughput.measure_echo`) is measured in the same run;
*vs echo* divides each row by it, a whole update of the echo against routing alone here.

    .venv/bin/python -m bench.routing [--loops 3000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from itertools import count
from types import SimpleNamespace
from typing import Any

from bench.common import best_of_table
from bench.throughput import measure_echo

WARMUP = 300


def _dispatcher(reached: set[str]) -> Any:
    from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation

    from bot.app import make_dispatcher
    from bot.config import DEFAULT_CITY_FILE, Settings, load_city
    from bot.i18n import make_i18n

    settings = Settings(database_url="sqlite+aiosqlite:///:memory:", bot_token=None)
    city = load_city(DEFAULT_CITY_FILE)
    dp = make_dispatcher(
        settings, city, None, make_i18n(city.default_language), MemoryStorage(), SimpleEventIsolation()
    )

    def nothing(name: str) -> Any:
        async def handler(*_args: Any, **_kwargs: Any) -> None:
            reached.add(name)

        return handler

    for router in dp.chain_tail:
        for observer in (router.callback_query, router.message):
            for handler in observer.handlers:
                callback = handler.callback
                handler.callback = nothing(f"{callback.__module__.rpartition('.')[2]}.{callback.__name__}")
    return dp


def _kinds() -> dict[str, list[tuple[str, str]]]:
    """Each row's cycle: ("callback_query", data) or ("message", text)."""
    from bot.ui.budgets.callbacks import BallotAction as A
    from bot.ui.budgets.callbacks import BallotCb
    from bot.ui.ideas.callbacks import BrowseAction as B
    from bot.ui.ideas.callbacks import BrowseCb

    ballot = [BallotCb(action=a, pot=1, project=7, page=2) for a in (A.POT, A.CARD, A.ADD, A.POT)]
    ballot += [BallotCb(action=A.REVIEW, pot=1, page=2), BallotCb(action=A.CONFIRM, pot=1, page=2)]
    ideas = [BrowseCb(action=a, process=1, page=1, idea=5) for a in (B.LIST, B.VIEW, B.SUPPORT)]
    return {
        "ballot presses": [("callback_query", cb.pack()) for cb in ballot],
        "ideas presses": [("callback_query", cb.pack()) for cb in ideas],
        "typed commands": [("message", text) for text in ("/budget", "/ideas", "/settings", "/help")],
    }


Row = tuple[str, list[float], list[str]]


async def measure(loops: int, repeats: int) -> tuple[list[Row], float]:
    """`routed`, and the echo's µs per update."""
    rows = await routed(loops, repeats)
    echo = await measure_echo("webhook", 20, 30)
    return rows, 1e6 * echo.bot.cpu_s / echo.bot_updates


async def routed(loops: int, repeats: int, warmup: int = WARMUP) -> list[Row]:
    """CPU µs per update routed, for each row: one figure per repeat, and the handlers reached."""
    from aiogram import Bot
    from aiogram.types import CallbackQuery, Chat, Message, User

    reached: set[str] = set()
    dp = _dispatcher(reached)
    bot = Bot("123456789:bench-token-AAAAAAAAAAAAAAAA")
    chat = Chat(id=1, type="private")
    shown = Message(message_id=1, date=datetime.now(UTC), chat=chat, text="…")
    viewer = SimpleNamespace(onboarded=True, grants=frozenset(), has=lambda *_args: False)
    people = count(10_000)

    def updates(cycle: list[tuple[str, str]], n: int) -> list[tuple[str, Any, User]]:
        made = []
        for i in range(n):
            kind, value = cycle[i % len(cycle)]
            person = User(id=next(people), is_bot=False, first_name="Ayşe")
            if kind == "callback_query":
                event: Any = CallbackQuery(
                    id=str(i), from_user=person, chat_instance="c", message=shown, data=value
                )
            else:
                event = Message(message_id=i, date=shown.date, chat=chat, from_user=person, text=value)
            made.append((kind, event, person))
        return made

    async def route(made: list[tuple[str, Any, User]]) -> None:
        for kind, event, person in made:
            await dp.propagate_event(
                kind, event, bot=bot, event_from_user=person, event_chat=chat, raw_state=None,
                state=None, viewer=viewer,
            )  # fmt: skip

    figures: dict[str, list[float]] = {}
    handlers: dict[str, list[str]] = {}
    try:
        for name, cycle in _kinds().items():
            reached.clear()
            await route(updates(cycle, warmup))
            handlers[name] = sorted(reached)
            for _ in range(repeats):
                made = updates(cycle, loops)
                started = time.process_time()
                await route(made)
                figures.setdefault(name, []).append(1e6 * (time.process_time() - started) / loops)
    finally:
        await bot.session.close()
    return [(name, found, handlers[name]) for name, found in figures.items()]


def table(rows: Sequence[Row], echo_us: float) -> str:
    return best_of_table(
        "updates",
        "CPU µs per update routed",
        [(name, figures, (", ".join(reached),)) for name, figures, reached in rows],
        echo_us,
        digits=1,
        more=("handlers reached",),
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loops", type=int, default=3000, help="updates per row and repeat (3000)")
    parser.add_argument("--repeats", type=int, default=5, help="times each row is measured (5)")
    args = parser.parse_args(argv)
    from bot.loop import name as loop_name
    from bot.loop import run

    rows, echo_us = run(measure(args.loops, args.repeats))
    print(
        f"Routing an update to its handler, {date.today().isoformat()}, Python {platform.python_version()} "
        f"on {loop_name()}, {args.loops} updates a row, one at a time"
    )
    print(table(rows, echo_us))


if __name__ == "__main__":
    main()
