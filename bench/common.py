"""Shared parts of the sandbox benchmarks.

A benchmark scenario is: an emulator with rate limits off (:func:`running_emulator`), a bot process that
runs an aiogram ``Dispatcher`` against it by long polling or as a webhook server (:func:`bot_process`),
and simulated people driven concurrently through the client API (:class:`Driver`), each update timed
from the client's send until the bot's answer entered the person's chat, by the emulator's timestamp of
that message or edit (what counts as the answer is a :data:`ReplyRule`; :func:`bot_answer` by default).

The bot runs in its own Python process, so its peak memory is its own (``ru_maxrss`` of that process)
and it does not share an event loop with the emulator and the driver. The dispatcher comes from a
factory named ``"module:function"``; the function returns (or returns an awaitable of) either a
``Dispatcher``, served with a plain ``Bot`` made here; or a ``(Bot, Dispatcher)`` pair; or an object
with ``.bot`` and ``.dp`` and, optionally, an async ``close()`` awaited once the bot has stopped (a whole
application with its own client settings, database and clean-up). A factory whose signature names
``api_url`` or ``token`` gets the emulator's base URL and the bot token as keyword arguments. In both
delivery modes the dispatcher's startup and shutdown observers run with its workflow data, and updates
are limited to the types its handlers use, as a production bot does.

Run as ``python -m bench.common --factory MODULE:FUNC --mode polling|webhook --api URL --token TOKEN``
(``--profile FILE`` to profile it) this module is that bot process: it prints ``READY {json}`` once
serving, stops when its stdin closes, then prints ``DONE {json}`` with its memory and CPU figures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import inspect
import json
import math
import os
import resource
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
BENCH_TOKEN = "123456789:bench-token-AAAAAAAAAAAAAAAA"
WEBHOOK_SECRET = "bench-secret"
Mode = Literal["polling", "webhook"]
MODES: tuple[Mode, ...] = ("polling", "webhook")


# ---- memory ---------------------------------------------------------------------------------


def _status_mb(field: str) -> float | None:
    """A size from Linux's ``/proc/self/status`` (``VmRSS``, ``VmHWM``…) in MiB; None where unavailable."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def current_rss_mb() -> float:
    """Resident set size of this process now, in MiB (Linux ``/proc``; 0 where unavailable)."""
    return _status_mb("VmRSS") or 0.0


def cpu_seconds() -> float:
    """User plus system CPU time this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB: Linux's ``VmHWM``, else ``getrusage``'s
    ``ru_maxrss``. On Linux ``ru_maxrss`` is not this program's alone: it starts from the parent's peak
    at the fork (a bot started by a harness holding 600 MiB would report 600 MiB); ``VmHWM`` starts
    afresh with the program."""
    own = _status_mb("VmHWM")
    if own is not None:
        return own
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


# ---- emulator -------------------------------------------------------------------------------


@asynccontextmanager
async def running_emulator(token: str = BENCH_TOKEN) -> AsyncIterator[Any]:
    """An emulator on 127.0.0.1 with a free port and the rate limits off."""
    from bot.sandbox.emulator import Emulator, Limits

    emulator = Emulator(token=token, limits=Limits(rate_limits=False))
    await emulator.start(host="127.0.0.1", port=0)
    try:
        yield emulator
    finally:
        await emulator.stop()


# ---- client API -----------------------------------------------------------------------------


class ClientAPI:
    """A thin client of the emulator's ``/sandbox/api`` for simulated people."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.base = base_url.rstrip("/") + "/sandbox/api"
        self.session = session

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self.session.request(method, self.base + path, json=body) as response:
            data = await response.json()
            if response.status >= 400:
                raise RuntimeError(f"{method} {path} -> {response.status}: {data}")
            return data

    async def bot(self) -> dict[str, Any]:
        return await self._call("GET", "/bot")

    async def create_person(self, first_name: str, language_code: str = "en") -> int:
        person = await self._call(
            "POST", "/people", {"first_name": first_name, "language_code": language_code}
        )
        return int(person["id"])

    async def send(self, person_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        """Post the person's message and return at once (``wait: false``)."""
        return await self._call("POST", f"/people/{person_id}/messages", {**payload, "wait": False})

    async def press(self, person_id: int, message_id: int, data: str) -> dict[str, Any]:
        """Press an inline button and return at once (``wait: false``)."""
        body = {"message_id": message_id, "data": data, "wait": False}
        return await self._call("POST", f"/people/{person_id}/callbacks", body)

    async def chat(self, person_id: int, since: int | None = None, wait: float = 25.0) -> dict[str, Any]:
        """The person's chat; with ``since``, once its version is past ``since`` or ``wait`` s have passed."""
        query = f"?since={since}&wait={wait:.3f}" if since is not None else ""
        return await self._call("GET", f"/people/{person_id}/chat{query}")

    async def wait_for_delivery(self, mode: Mode, timeout: float = 15.0) -> None:
        """Wait until the emulator sees the bot receiving updates in ``mode``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (await self.bot()).get("delivery") == mode:
                return
            await asyncio.sleep(0.05)
        raise TimeoutError(f"the bot did not start {mode} within {timeout} s")


@asynccontextmanager
async def client_api(base_url: str) -> AsyncIterator[ClientAPI]:
    """A client with no connection cap, so hundreds of people can wait at once."""
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        yield ClientAPI(base_url, session)


async def create_people(
    client: ClientAPI, count: int, language_code: str = "en", at_once: int = 200
) -> list[int]:
    """People in the emulator, ``at_once`` requests at a time: a client and a server socket each, in one
    process, would pass the open-file limit with tens of thousands at once."""
    gate = asyncio.Semaphore(at_once)

    async def one(i: int) -> int:
        async with gate:
            return await client.create_person(f"Person {i + 1}", language_code)

    return list(await asyncio.gather(*(one(i) for i in range(count))))


# ---- driving people -------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q <= 100) of ``values``; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class DriveResult:
    """What one run of the people's scripts measured."""

    wall_s: float
    latencies_s: list[float]
    unanswered: int
    harness_cpu_s: float

    @property
    def updates(self) -> int:
        return len(self.latencies_s)

    @property
    def updates_per_s(self) -> float:
        return self.updates / self.wall_s if self.wall_s > 0 else math.nan

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies_s, 50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_s, 99) * 1000


@dataclass(frozen=True)
class Sent:
    """One update a person sent: when (wall clock, ``time.time()``, just before the request) and what."""

    person_id: int
    at: float
    response: dict[str, Any]

    @property
    def message_id(self) -> int | None:
        """The person's own message in the chat, or None for a button press."""
        message = self.response.get("message")
        return int(message["message_id"]) if message else None


ReplyRule = Callable[[Sent, Sequence[dict[str, Any]]], float | None]
"""Given what was sent and the chat's messages now, the emulator's time the awaited answer appeared
(a message's ``sent_at`` or ``edited_at``), or None while it has not."""


def bot_answer(sent: Sent, messages: Sequence[dict[str, Any]]) -> float | None:
    """The default :data:`ReplyRule`: the first bot message newer than the one sent, or an edit after the send.

    After a button press (no message of the person's), "newer" means created after the press.
    """
    times = []
    for message in messages:
        if message["from"] != "bot":
            continue
        if sent.message_id is not None:
            new = message["message_id"] > sent.message_id
        else:
            new = message["sent_at"] >= sent.at
        if new:
            times.append(message["sent_at"])
        elif message["edited_at"] is not None and message["edited_at"] >= sent.at:
            times.append(message["edited_at"])
    return min(times, default=None)


def new_bot_message(sent: Sent, messages: Sequence[dict[str, Any]]) -> float | None:
    """A :data:`ReplyRule` for an update the bot answers with an edit and then a new message: the new one."""
    times = [
        m["sent_at"]
        for m in messages
        if m["from"] == "bot"
        and (m["message_id"] > sent.message_id if sent.message_id is not None else m["sent_at"] >= sent.at)
    ]
    return min(times, default=None)


@dataclass
class Exchange:
    """One update and the bot's answer: ``latency_s`` from the client's send to the answer entering the
    chat (emulator time), None when no answer came within the driver's timeout."""

    sent: Sent
    messages: list[dict[str, Any]]
    answered_at: float | None

    @property
    def latency_s(self) -> float | None:
        return None if self.answered_at is None else self.answered_at - self.sent.at

    def bot_messages(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["from"] == "bot"]


class Pacer:
    """Open-loop arrivals: hands out send times ``1 / rate`` apart, whoever asks, whatever the bot's pace.

    Every person asks for a slot before each update and sends at that time; slots are handed out in the
    order asked. With more people than ``rate`` times the latency, someone is always waiting for the next
    slot, so updates arrive at ``rate`` per second however slowly the bot answers (until every person is
    waiting for an answer: the table's *updates/s* then falls below the rate, which says so). A slot
    is never in the past: after a moment with nobody asking, arrivals resume at the rate, without a burst.
    """

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._next = 0.0

    async def slot(self) -> None:
        now = time.monotonic()
        at = max(self._next, now)
        self._next = at + 1 / self.rate
        if at > now:
            await asyncio.sleep(at - now)


@dataclass
class Driver:
    """Times every update the people send: from the client's send until the bot's answer is in the chat.

    An update is sent with ``wait: false``; the driver then long-polls that person's chat until
    ``reply`` (per call, else the driver's) finds the answer, and takes the answer's own emulator-side
    timestamp as its arrival, so neither the emulator's idle detection nor the harness's delay in
    delivering the chat counts. The person's script goes on only once the answer is there: when the
    bot answers with several messages, give a rule that waits for the last one, or the next step starts
    while the bot is still answering (and a press may take the rest of that answer for its own).
    A press the bot answers only with a callback toast changes nothing in the chat: give such a step a
    rule that fits, or it counts as unanswered after ``timeout``.
    """

    client: ClientAPI
    reply: ReplyRule = bot_answer
    timeout: float = 30.0
    pacer: Pacer | None = None
    latencies_s: list[float] = field(default_factory=list)
    unanswered: int = 0
    _versions: dict[int, int] = field(default_factory=dict, init=False, repr=False)

    async def send(self, person_id: int, payload: dict[str, Any], reply: ReplyRule | None = None) -> Exchange:
        if self.pacer is not None:
            await self.pacer.slot()
        at = time.time()
        response = await self.client.send(person_id, payload)
        return await self._await_answer(Sent(person_id, at, response), reply, own_message=True)

    async def say(self, person_id: int, text: str, reply: ReplyRule | None = None) -> Exchange:
        return await self.send(person_id, {"text": text}, reply)

    async def press(
        self, person_id: int, message_id: int, data: str, reply: ReplyRule | None = None
    ) -> Exchange:
        if self.pacer is not None:
            await self.pacer.slot()
        at = time.time()
        response = await self.client.press(person_id, message_id, data)
        return await self._await_answer(Sent(person_id, at, response), reply, own_message=False)

    async def _await_answer(self, sent: Sent, reply: ReplyRule | None, own_message: bool) -> Exchange:
        rule = reply or self.reply
        deadline = time.monotonic() + self.timeout
        # The person's own message moved the chat one version on: wait for the change after it.
        since = self._versions.get(sent.person_id, 0) + (1 if own_message else 0)
        while True:
            remaining = deadline - time.monotonic()
            view = await self.client.chat(sent.person_id, since=since, wait=max(0.0, min(remaining, 25.0)))
            since = self._versions[sent.person_id] = view["version"]
            answered_at = rule(sent, view["messages"])
            if answered_at is not None or remaining <= 0:
                break
        exchange = Exchange(sent, view["messages"], answered_at)
        if exchange.latency_s is None:
            self.unanswered += 1
        else:
            self.latencies_s.append(exchange.latency_s)
        return exchange

    async def run(
        self, people: Sequence[int], script: Callable[[Driver, int], Awaitable[None]]
    ) -> DriveResult:
        """Run ``script(driver, person_id)`` for every person at once; measure the whole.

        ``wall_s`` runs from the first send until the last answer was seen; ``harness_cpu_s`` is the
        CPU this process (the emulator and the driver) used meanwhile. The harness's own objects are
        frozen meanwhile (`gc.freeze`), so that its full collections, a tenth of a second each, do not
        delay answers it is timing.
        """
        self.latencies_s = []
        self.unanswered = 0
        gc.collect()
        gc.freeze()
        started, cpu = time.perf_counter(), cpu_seconds()
        try:
            await asyncio.gather(*(script(self, person_id) for person_id in people))
        finally:
            gc.unfreeze()
        wall = time.perf_counter() - started
        return DriveResult(wall, list(self.latencies_s), self.unanswered, cpu_seconds() - cpu)


# ---- the bot process ------------------------------------------------------------------------


@dataclass
class BotStats:
    """The bot process: RSS at READY (after startup), peak RSS over the whole run, CPU used after READY.

    ``loop_cpu_s`` is the part of ``cpu_s`` used by the thread running the event loop; the rest went to
    other threads (a database driver's worker threads, such as aiosqlite's).
    """

    rss_start_mb: float = math.nan
    peak_rss_mb: float = math.nan
    cpu_s: float = math.nan
    loop_cpu_s: float = math.nan
    # per generation of the garbage collector: [collections, total ms, longest ms], after READY
    gc_pauses: dict[str, list[float]] = field(default_factory=dict)
    # SQL statements sent to the database after READY, transactions' BEGIN and COMMIT not counted (a bot
    # with no SQLAlchemy: none)
    statements: int = 0

    def gc_note(self) -> str:
        """The bot's collections after READY, e.g. "gen 0: 130 in 30 ms, longest 1.4 ms; gen 1: …"."""
        parts = []
        for generation, (count, total_ms, longest_ms) in sorted(self.gc_pauses.items()):
            parts.append(
                f"gen {generation}: {count:,.0f} in {total_ms:,.0f} ms, longest {longest_ms:,.1f} ms"
            )
        return "; ".join(parts) or "not recorded"


@asynccontextmanager
async def bot_process(
    factory: str,
    mode: Mode,
    api_url: str,
    token: str = BENCH_TOKEN,
    startup_timeout: float = 60.0,
    profile: str | None = None,
) -> AsyncIterator[BotStats]:
    """Run the dispatcher from ``factory`` in a child process, against the emulator at ``api_url``.

    The yielded :class:`BotStats` is filled in when the block exits and the process has stopped. With
    ``profile`` (a file path) the process profiles its event-loop thread with cProfile from READY until
    it is told to stop, and writes the statistics there.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.common",
        "--factory",
        factory,
        "--mode",
        mode,
        "--api",
        api_url,
        "--token",
        token,
        *(["--profile", profile] if profile else []),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=str(ROOT),
        env=env,
    )
    assert process.stdin is not None and process.stdout is not None
    stats = BotStats()
    try:
        line = await asyncio.wait_for(process.stdout.readline(), startup_timeout)
        if not line.startswith(b"READY "):
            raise RuntimeError(f"the bot process did not start: {line!r}")
        stats.rss_start_mb = json.loads(line[6:])["rss_mb"]
        yield stats
    finally:
        if process.returncode is None:
            process.stdin.close()
            try:
                output = await asyncio.wait_for(process.stdout.read(), 30)
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
                output = b""
            for line in output.splitlines():
                if line.startswith(b"DONE "):
                    done = json.loads(line[5:])
                    stats.peak_rss_mb = done["peak_rss_mb"]
                    stats.cpu_s = done["cpu_s"]
                    stats.loop_cpu_s = done["loop_cpu_s"]
                    stats.gc_pauses = done.get("gc_pauses", {})
                    stats.statements = done.get("statements", 0)


GC_FREEZE_VARIABLE = "BENCH_GC_FREEZE"


def _record_gc_pauses() -> dict[int, list[float]]:
    """From now on, each garbage collection's generation and duration: [count, total s, longest s]."""
    pauses: dict[int, list[float]] = {}
    began: list[float] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began.append(time.perf_counter())
        elif began:
            took = time.perf_counter() - began.pop()
            entry = pauses.setdefault(info["generation"], [0, 0.0, 0.0])
            entry[0] += 1
            entry[1] += took
            entry[2] = max(entry[2], took)

    gc.callbacks.append(note)
    return pauses


def _count_statements() -> list[int]:
    """From now on, the SQL statements every engine of this process sends (one cell, counted in place),
    if the bot uses SQLAlchemy; a BEGIN sent as a statement (SQLite's, where it is not made straight on
    the connection: `storage.sqlite.begin_immediate`) is not counted."""
    counted = [0]
    if "sqlalchemy" not in sys.modules:
        return counted
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def note(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.startswith("BEGIN"):
            counted[0] += 1

    event.listen(Engine, "before_cursor_execute", note)
    return counted


def _load_factory(spec: str) -> Callable[..., Any]:
    module_name, _, attribute = spec.partition(":")
    if not attribute:
        raise ValueError(f"factory must be 'module:function', got {spec!r}")
    return getattr(importlib.import_module(module_name), attribute)


async def _make_served(
    factory: str, api_url: str, token: str
) -> tuple[Any, Any, Callable[[], Any] | None, Callable[[], Any] | None]:
    """Call the factory and return ``(bot, dispatcher, close, webhook)`` whatever form it answered in;
    ``webhook``, when the application has its own, gives ``(aiohttp app, path, secret token)``."""
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    make = _load_factory(factory)
    offered = {"api_url": api_url, "token": token}
    parameters = inspect.signature(make).parameters
    served = make(**{name: value for name, value in offered.items() if name in parameters})
    if inspect.isawaitable(served):
        served = await served
    if isinstance(served, Dispatcher):
        return (
            Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_url))),
            served,
            None,
            None,
        )
    if isinstance(served, tuple):
        bot, dispatcher = served
        return bot, dispatcher, None, None
    return served.bot, served.dp, getattr(served, "close", None), getattr(served, "webhook", None)


async def _serve(factory: str, mode: Mode, api_url: str, token: str, profile: str | None = None) -> None:
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
    from aiohttp import web

    bot, dispatcher, close, own_webhook = await _make_served(factory, api_url, token)
    allowed_updates = dispatcher.resolve_used_update_types()
    runner: web.AppRunner | None = None
    polling: asyncio.Task[None] | None = None
    if mode == "polling":
        await bot.delete_webhook()
        # start_polling emits the dispatcher's startup with its workflow data, and its shutdown at the end
        polling = asyncio.create_task(
            dispatcher.start_polling(bot, handle_signals=False, allowed_updates=allowed_updates)
        )
    else:
        if own_webhook is not None:  # the application's own, as it runs in production
            app, path, secret = own_webhook()
        else:
            app, path, secret = web.Application(), "/webhook", WEBHOOK_SECRET
            SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token=secret).register(
                app, path=path
            )
        # the app's startup emits the dispatcher's startup with its workflow data (and shutdown at cleanup)
        setup_application(app, dispatcher, bot=bot)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        await bot.set_webhook(
            f"http://127.0.0.1:{port}{path}", secret_token=secret, allowed_updates=allowed_updates
        )

    # as `meydan run` does once ready (`bot.loop.settle`), for the echo too: start-up's objects frozen,
    # out of the collector's passes, which run less often; BENCH_GC_FREEZE=0 leaves the collector as
    # Python starts it, to measure the difference
    if os.environ.get(GC_FREEZE_VARIABLE, "1") != "0":
        from bot.loop import settle

        settle()
    pauses = _record_gc_pauses()
    statements = _count_statements()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile(time.thread_time)  # the event-loop thread's CPU, not the wall clock
    cpu_at_ready, loop_cpu_at_ready = cpu_seconds(), time.thread_time()
    print("READY " + json.dumps({"rss_mb": current_rss_mb()}), flush=True)
    if profiler is not None:
        profiler.enable()
    await asyncio.to_thread(sys.stdin.read)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)

    if polling is not None:
        await dispatcher.stop_polling()
        await polling
    if runner is not None:
        await bot.delete_webhook()
        await runner.cleanup()
    await bot.session.close()
    if close is not None:
        await close()
    done = {
        "peak_rss_mb": peak_rss_mb(),
        "cpu_s": cpu_seconds() - cpu_at_ready,
        "loop_cpu_s": time.thread_time() - loop_cpu_at_ready,
        "gc_pauses": {
            str(generation): [count, total * 1000, longest * 1000]
            for generation, (count, total, longest) in pauses.items()
        },
        "statements": statements[0],
    }
    print("DONE " + json.dumps(done), flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a benchmark dispatcher against the sandbox emulator.")
    parser.add_argument(
        "--factory",
        required=True,
        help="module:function: a Dispatcher, a (Bot, Dispatcher) pair, or an app with .bot and .dp",
    )
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--api", required=True, help="the emulator's base URL")
    parser.add_argument("--token", default=BENCH_TOKEN)
    parser.add_argument("--profile", help="write cProfile statistics of the event-loop thread to this file")
    args = parser.parse_args(argv)
    # the loop `meydan run` runs on (uvloop where installed), for the echo too
    from bot.loop import run

    run(_serve(args.factory, args.mode, args.api, args.token, args.profile))


# ---- scenarios ------------------------------------------------------------------------------

Script = Callable[[Driver, int], Awaitable[None]]
Check = Callable[[ClientAPI, Sequence[int]], Awaitable[None]]


@dataclass
class ScenarioResult:
    """One scenario measured: a dispatcher, a delivery mode, a crowd of people running a script."""

    name: str
    mode: Mode
    people: int
    drive: DriveResult
    bot: BotStats
    bot_updates: int

    HEADER = (
        "scenario",
        "delivery",
        "people",
        "updates",
        "wall s",
        "updates/s",
        "p50 ms",
        "p99 ms",
        "unanswered",
        "harness CPU ms/update",
        "bot CPU ms/update",
        "bot RSS at start MiB",
        "bot peak RSS MiB",
    )

    def row(self) -> list[object]:
        d = self.drive
        return [
            self.name,
            self.mode,
            self.people,
            d.updates,
            d.wall_s,
            d.updates_per_s,
            d.p50_ms,
            d.p99_ms,
            d.unanswered,
            d.harness_cpu_s * 1000 / d.updates if d.updates else math.nan,
            self.bot.cpu_s * 1000 / self.bot_updates if self.bot_updates else math.nan,
            self.bot.rss_start_mb,
            self.bot.peak_rss_mb,
        ]


async def run_scenario(
    name: str,
    factory: str,
    mode: Mode,
    people: int,
    script: Script,
    *,
    warmup: Script | None = None,
    check: Check | None = None,
    reply: ReplyRule = bot_answer,
    profile: str | None = None,
    rate: float | None = None,
) -> ScenarioResult:
    """Fresh emulator, the dispatcher from ``factory`` in its own process, ``people`` people at once.

    ``warmup`` (unmeasured) runs first for every person, then ``script`` is measured, then ``check``
    may verify the chats (it should raise when the bot did not do its job). ``reply`` says when an
    update is answered, unless a step of the script passes its own. The bot's CPU per update counts
    every update it handled after startup, the warm-up's included. ``profile`` is passed to
    :func:`bot_process`. With ``rate`` (updates per second) the measured script is paced open-loop
    (:class:`Pacer`); the warm-up is not.
    """
    async with (
        running_emulator() as emulator,
        client_api(emulator.url) as client,
        bot_process(factory, mode, emulator.url, profile=profile) as stats,
    ):
        await client.wait_for_delivery(mode)
        ids = await create_people(client, people)
        driver = Driver(client, reply)
        warmed = (await driver.run(ids, warmup)).updates if warmup is not None else 0
        driver.pacer = Pacer(rate) if rate else None
        drive = await driver.run(ids, script)
        if check is not None:
            await check(client, ids)
    return ScenarioResult(name, mode, people, drive, stats, warmed + drive.updates)


def results_table(results: Sequence[ScenarioResult]) -> str:
    return format_table(ScenarioResult.HEADER, [r.row() for r in results])


# ---- printing -------------------------------------------------------------------------------


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table, numbers right-aligned (Markdown-compatible)."""
    cells = [[str(c) for c in header]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    numeric = [all(isinstance(row[i], int | float) for row in rows) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, numeric, strict=True)]
        return "| " + " | ".join(parts) + " |"

    rule = (
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if num else ("-" * (w + 2)) for w, num in zip(widths, numeric, strict=True)
        )
        + "|"
    )
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def best_of_table(
    first: str,
    what: str,
    rows: Sequence[tuple[str, Sequence[float], Sequence[str]]],
    echo_us: float,
    *,
    digits: int = 0,
    more: Sequence[str] = (),
) -> str:
    """Figures measured several times: a row's name, each figure (`what`), the best (the least), the
    best over the echo's µs an update, and the row's further cells (`more` names them); the echo last."""
    head = [first, f"{what} (repeats)", "best", "vs echo (best)", *more]
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(("-----:" if 1 < i < 4 else "---") for i in range(len(head))) + "|",
    ]
    for name, figures, cells in rows:
        best = min(figures)
        runs = " / ".join(f"{f:.{digits}f}" for f in figures)
        lines.append(
            "| " + " | ".join([name, runs, f"{best:.{digits}f}", f"{best / echo_us:.2f}", *cells]) + " |"
        )
    echo = ["echo bot, a whole update (webhook)", "—", f"{echo_us:.0f}", "1.00", *("" for _ in more)]
    lines.append("| " + " | ".join(echo) + " |")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)


if __name__ == "__main__":
    main()
