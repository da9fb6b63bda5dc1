"""Ballots at scale: a pot of 200 projects with 0 or 100,000 confirmed ballots, and the bot's memory with
100,000 residents of whom 1,000 are active within a minute.

**Ballots** (``--scenario ballots``, the default). Two claims are measured: a pot of at least 200 projects
stays quick, and opening a ballot, ticking and confirming do not grow with the number of voters. For each
count of voters N (``--voters 0,100000``) a fresh database is prepared as ``bench.replay`` prepares one
(migrations, the Izmir city, ``meydan process import-pb`` of a generated Pabulib file of ``--projects``
projects without ballots, a knapsack pot by default, its voting phase opened now, the fresh voters seeded
as onboarded residents), then N voters who have already confirmed are written **directly in the
database** in bulk: a resident row each (identity, language, neighborhood, consent), a ballot with its
identity, receipt (unique in the pot) and neighborhood, and 3 to 8 choices, one transaction per chunk of
10,000 voters (``insert()`` with many rows; on PostgreSQL the tables are then analysed, as autovacuum
would soon do). Then the whole bot starts in its own process (``bench.replay:meydan_on_prepared``), and
``--people`` fresh residents vote through the sandbox, ``--concurrency`` at once, with
``bench.replay.cast``: /budget, the pot, ▶ to the page of each of their 3 to 8 projects (all on the first
``--pages`` pages), its card, "Add to my ballot", "Back to the projects", "Review and confirm", "Confirm my
ballot". Then ``--solo`` more residents vote one at a time: their latencies are the bot's own time for
each action, without the queue of the others. Every update is timed by action kind (the first pot page
after /budget is *open pot*, the pot page after a tick is *back*, any other is *next page*). A check at
the end finds N + people + solo ballots in the pot, each fresh voter's with exactly their projects.

The bot process also times every SQL statement it runs (engine events, wall time from the cursor's
execute to its end) and the table of statements compares their median time, during the solo votes, at
the smallest and the largest N: a statement whose time grows with the voters shows there. The echo anchor
(``bench.throughput``) runs after each count with ``--concurrency`` people and the mean updates per ballot.

**Memory** (``--scenario memory``). The aim: the bot's RSS with 100,000 residents in the database and
1,000 active in the last minute stays within the echo bot's + 64 MiB, with every in-process cache
bounded. ``--residents`` voters (with their ballots, as above) are seeded from the emulator's first
person id on, so its first ``--active`` people are among them; each sends /menu and presses the main
menu's ballots button, the updates arriving open-loop over ``--seconds`` (``bench.common.Pacer``). The
bot samples its own RSS every 0.25 s, and once the load is over reports it with the sizes of its
per-person structures (the per-person locks of ``bot.isolation.PersonLocks``, the throttling table,
SQLAlchemy's statement cache), then what a full garbage collection finds; ``--tracemalloc`` also traces
the allocations made from READY on (6 frames each, which slows the bot several times over: a diagnosis,
not a measurement; give it more ``--seconds``) and lists what is still held after the load and the
collection, by file and by the line that allocated it. The echo anchor runs the same people and updates at the same
rate. Then the RSS of importing each layer (Python, aiohttp, aiogram, SQLAlchemy, the bot's modules) is
measured in fresh interpreters, for where the bot's extra memory sits before it handles anything.

    .venv/bin/python -m bench.ballot_scale [--voters 0,100000] [--people 60] [--concurrency 15] [--solo 10]
        [--pages 4] [--projects 200] [--kind knapsack|approval] [--database sqlite|postgresql]
    .venv/bin/python -m bench.ballot_scale --scenario memory [--residents 100000] [--active 1000]
        [--seconds 60] [--tracemalloc] [--database sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ROOT,
    BotStats,
    Driver,
    DriveResult,
    Exchange,
    Pacer,
    ReplyRule,
    ScenarioResult,
    bot_process,
    client_api,
    create_people,
    current_rss_mb,
    format_table,
    percentile,
    running_emulator,
)
from bench.meydan import (
    DATABASE_URL_VARIABLE,
    MeydanUnderTest,
    active_hoods,
    find_button,
    fresh_database,
    menu_or_matches,
)
from bench.replay import PREPARED_VARIABLE, Prepared, cast, meydan_on_prepared, prepare
from bench.throughput import measure_echo
from bot.sandbox.state import FIRST_PERSON_ID
from bot.ui.budgets.callbacks import BallotAction as A
from bot.ui.budgets.callbacks import BallotCb
from bot.ui.callbacks import MenuCb

FACTORY = "bench.ballot_scale:meydan_probed"
PROBE_VARIABLE = "BENCH_BALLOT_SCALE_PROBE"  # the file the bot process writes what it measured of itself
TRACE_VARIABLE = "BENCH_BALLOT_SCALE_TRACEMALLOC"
STATEMENTS_VARIABLE = "BENCH_BALLOT_SCALE_STATEMENTS"  # time every SQL statement (the ballots scenario)
# the Telegram ids of the voters written in bulk (the emulator's people start at 100,000,001)
BULK_FIRST_ID = 900_000_000
CHUNK = 10_000
KINDS = ("/budget", "open pot", "next page", "card", "toggle", "back", "review", "confirm")
SAMPLE_EVERY_S = 0.25


# ---- the bot process: the whole application, timing its statements and sampling its memory -------------


def statement_label(sql: str) -> str:
    """A statement's text, short enough for a table: one line, the first SELECT's columns and every
    parameter list elided, at most 150 characters."""
    text = " ".join(sql.split())
    text = re.sub(r"^SELECT .+? FROM ", "SELECT … FROM ", text, count=1)
    text = re.sub(
        r"\((?:\?|\$\d+(?:::\w+)?|__\[POSTCOMPILE_\w+\])(?:, (?:\?|\$\d+(?:::\w+)?))*\)", "(…)", text
    )
    text = re.sub(r"\(__\[POSTCOMPILE_\w+\]\)", "(…)", text)
    return text if len(text) <= 150 else text[:149] + "…"


@dataclass
class Probe:
    """What the bot process records of itself: (wall time, statement, seconds) per SQL statement, and
    (wall time, RSS MiB) every `SAMPLE_EVERY_S`."""

    statements: list[tuple[float, str, float]] = field(default_factory=list)
    rss: list[tuple[float, float]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    after_load: dict[str, Any] = field(default_factory=dict)

    def label(self, sql: str) -> str:
        found = self.labels.get(sql)
        if found is None:
            found = self.labels[sql] = statement_label(sql)
        return found


class ProbedMeydan(MeydanUnderTest):
    """The application of ``bench.replay.meydan_on_prepared``, writing its probe to a file when it stops."""

    probe: Probe
    sampler: asyncio.Task[None] | None = None

    async def close(self) -> None:
        if self.sampler is not None:
            self.sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.sampler
        try:
            await super().close()
        finally:
            path = os.environ.get(PROBE_VARIABLE)
            if path:
                probe = self.probe
                _write(
                    path, {"statements": probe.statements, "rss": probe.rss, "after_load": probe.after_load}
                )


def _write(path: str | Path, value: Any) -> None:
    Path(path).write_text(json.dumps(value))


def _exists(path: Path) -> bool:
    return path.exists()


def _time_statements(engine: Any, probe: Probe) -> None:
    from sqlalchemy import event

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        conn.info.setdefault("bench_started", []).append((time.time(), time.perf_counter()))

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        at, started = conn.info["bench_started"].pop()
        probe.statements.append((at, probe.label(statement), time.perf_counter() - started))


def _caches(meydan: Any) -> dict[str, Any]:
    """The sizes of the bot's per-person and per-statement structures in this process now."""
    from aiogram.types import TelegramObject

    from bot.isolation import PersonLocks
    from bot.middlewares.throttling import ThrottlingMiddleware

    isolation = meydan.dp.fsm.events_isolation
    frozen = gc.get_freeze_count()
    gc.unfreeze()  # the load is over: start-up's objects (the middlewares among them) are looked at too
    objects = gc.get_objects()
    throttling = [o for o in objects if isinstance(o, ThrottlingMiddleware)]
    telegram: dict[str, int] = {}
    for o in objects:
        if isinstance(o, TelegramObject):
            telegram[type(o).__name__] = telegram.get(type(o).__name__, 0) + 1
    compiled = getattr(meydan.engine.sync_engine, "_compiled_cache", None)
    return {
        "isolation locks": isolation.held() if isinstance(isolation, PersonLocks) else None,
        "throttling keys": sum(t.noted() for t in throttling),
        "throttling max keys": max((t._max_keys for t in throttling), default=None),
        "SQLAlchemy compiled statements": len(compiled) if compiled is not None else None,
        "gc objects": len(objects),
        "of them frozen at ready": frozen,
        "live Telegram objects": dict(sorted(telegram.items(), key=lambda kv: -kv[1])[:6]),
    }


def _traced(limit: int = 15, frames: int = 4) -> dict[str, Any]:
    """The allocations traced since READY that are still held: the largest by file, and by the line that
    allocated them with the calls that led there."""
    import tracemalloc

    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen *>")]
    )
    site = str(Path(contextlib.__file__).parent)

    def short(name: str) -> str:
        for prefix in (str(ROOT) + "/.venv/lib/", str(ROOT) + "/", site + "/"):
            name = name.removeprefix(prefix)
        return name.removeprefix("python3.11/site-packages/")

    by_file = snapshot.statistics("filename")
    by_line = snapshot.statistics("traceback")
    return {
        "total bytes": sum(s.size for s in by_file),
        "by file": [(short(s.traceback[0].filename), s.size, s.count) for s in by_file[:limit]],
        "by line": [
            (
                " ← ".join(f"{short(f.filename)}:{f.lineno}" for f in reversed(s.traceback[-frames:])),
                s.size,
                s.count,
            )
            for s in by_line[:limit]
        ],
    }


async def _sample(meydan: Any, probe: Probe, trigger: Path | None) -> None:
    """RSS every `SAMPLE_EVERY_S`; when the harness creates `trigger` (the load is over), the caches' sizes,
    then a full garbage collection (what it found, the RSS after it) and the traced allocations still
    held, written next to it."""
    import tracemalloc

    while True:
        probe.rss.append((time.time(), current_rss_mb()))
        if trigger is not None and _exists(trigger) and not probe.after_load:
            probe.after_load = {"rss_mb": current_rss_mb(), **_caches(meydan)}
            probe.after_load["unreachable objects collected"] = gc.collect()
            probe.after_load["rss_mb after gc"] = current_rss_mb()
            if tracemalloc.is_tracing():
                probe.after_load["traced"] = _traced()
            _write(trigger.with_suffix(".json"), probe.after_load)
        await asyncio.sleep(SAMPLE_EVERY_S)


async def meydan_probed(api_url: str, token: str) -> ProbedMeydan:
    """`bench.replay.meydan_on_prepared`, with its SQL statements timed and its RSS sampled."""
    import tracemalloc

    under = await meydan_on_prepared(api_url, token)
    app = ProbedMeydan(under.meydan, under.release)
    app.probe = Probe()
    if os.environ.get(STATEMENTS_VARIABLE):
        _time_statements(app.meydan.engine.sync_engine, app.probe)
    path = os.environ.get(PROBE_VARIABLE)
    if os.environ.get(TRACE_VARIABLE):
        tracemalloc.start(6)
    app.sampler = asyncio.create_task(_sample(app.meydan, app.probe, Path(path + ".load") if path else None))
    return app


# ---- writing voters in bulk ------------------------------------------------------------------------------


def receipt(n: int) -> str:
    """A receipt code for the n-th voter written in bulk: distinct for distinct n < 31**8 (n times a number
    prime to 31, modulo 31**8, written in the receipts' alphabet), and of the bot's own shape."""
    from bot.services.budgets.rules import RECEIPT_ALPHABET, RECEIPT_LENGTH

    base = len(RECEIPT_ALPHABET)
    value = (n * 1_000_003) % base**RECEIPT_LENGTH
    digits = []
    for _ in range(RECEIPT_LENGTH):
        value, digit = divmod(value, base)
        digits.append(RECEIPT_ALPHABET[digit])
    return "".join(reversed(digits))


async def seed_voters(
    url: str,
    pot_id: int,
    project_ids: Sequence[int],
    first_telegram_id: int,
    count: int,
    *,
    ballots: bool = True,
    seed: int = 2026,
) -> float:
    """Write `count` onboarded residents (Telegram ids from `first_telegram_id`), each with a confirmed
    ballot of 3 to 8 of the pot's projects, one transaction per `CHUNK`. Returns the seconds taken."""
    from sqlalchemy import insert, select, text

    from bot.services import residents
    from storage.db import make_engine, make_session_factory
    from storage.models import BudgetBallot, BudgetChoice, Resident, utcnow

    if count <= 0:
        return 0.0
    started = time.perf_counter()
    engine = make_engine(url)
    try:
        async with make_session_factory(engine).begin() as session:
            key = await residents.identity_key(session)
            hoods = await active_hoods(session)
        rng = random.Random(seed)
        now = utcnow()
        for first in range(first_telegram_id, first_telegram_id + count, CHUNK):
            last = min(first_telegram_id + count, first + CHUNK) - 1
            rows = [
                {
                    "telegram_id": t,
                    "identity": residents.identity_of(key, t),
                    "language": "tr" if t % 2 == 0 else "en",
                    "neighborhood_id": hoods[t % len(hoods)],
                    "consent_at": now,
                    "onboarded_at": now,
                    "reachable": True,
                    "created_at": now,
                }
                for t in range(first, last + 1)
            ]
            # plain many-row inserts, the ids read back after (RETURNING in the same order would make
            # SQLAlchemy send SQLite one statement per row)
            async with engine.begin() as connection:
                await connection.execute(insert(Resident), rows)
                if not ballots:
                    continue
                ids = dict(
                    (
                        await connection.execute(
                            select(Resident.telegram_id, Resident.id).where(
                                Resident.telegram_id.between(first, last)
                            )
                        )
                    ).all()
                )
                votes = [
                    {
                        "pot_id": pot_id,
                        "identity": row["identity"],
                        "resident_id": ids[row["telegram_id"]],
                        "receipt": receipt(row["telegram_id"] - first_telegram_id + 1),
                        "confirmed_at": now,
                        "neighborhood_id": row["neighborhood_id"],
                    }
                    for row in rows
                ]
                await connection.execute(insert(BudgetBallot), votes)
                made = await connection.execute(
                    select(BudgetBallot.id).where(
                        BudgetBallot.pot_id == pot_id,
                        BudgetBallot.resident_id.between(min(ids.values()), max(ids.values())),
                    )
                )
                choices = [
                    {"ballot_id": ballot_id, "project_id": project, "position": position}
                    for ballot_id in made.scalars()
                    for position, project in enumerate(rng.sample(project_ids, rng.randint(3, 8)))
                ]
                await connection.execute(insert(BudgetChoice), choices)
        if engine.dialect.name == "postgresql":
            async with engine.connect() as connection:
                await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    return time.perf_counter() - started


# ---- the election ----------------------------------------------------------------------------------------


def election_file(directory: Path, projects: int, kind: str, seed: int = 2026) -> Path:
    """A Pabulib file of `projects` projects and no ballots: costs from 10,000 to 500,000, a budget of
    10,000,000 (8 of the dearest fit), a knapsack pot (a cost limit) or an approval one (none)."""
    from bot.tally import dumps
    from bot.tally.election import Election, Project

    rng = random.Random(seed)
    listed = [
        Project(str(j + 1), rng.randrange(10_000, 500_001, 100), {"name": f"Project {j + 1}"})
        for j in range(projects)
    ]
    meta = {"description": f"Scale {projects}", "country": "none", "unit": "none", "instance": "1"}
    meta["rule"] = "greedy"
    if kind == "knapsack":
        meta["max_sum_cost"] = "10000000"
    path = directory / f"scale_{projects}_{kind}.pb"
    path.write_text(dumps(Election.build(listed, [], 10_000_000, meta=meta)))
    return path


def fresh_ballot(person_id: int, prepared: Prepared, pages: int) -> list[str]:
    """The 3 to 8 projects a fresh voter picks, all on the pot's first `pages` pages."""
    rng = random.Random(person_id)
    pool = sorted((c for c, page in prepared.pages.items() if page < pages), key=prepared.project_ids.get)
    return rng.sample(pool, min(len(pool), rng.randint(3, 8)))


# ---- voting through the chat, timed by action ------------------------------------------------------------


def action_kind(data: str, previous: str | None) -> str:
    """What a ballot button does, for the tables (a pot page: opened, paged on, or back from a card)."""
    action = BallotCb.unpack(data).action
    if action == A.POT:
        if previous == "/budget":
            return "open pot"
        return "back" if previous in ("card", "toggle") else "next page"
    if action in (A.ADD, A.DROP):
        return "toggle"
    return str(action.value)


@dataclass
class KindDriver(Driver):
    """A driver that also files each update's latency under its kind (`action_kind`)."""

    by_kind: dict[str, list[float]] = field(default_factory=dict)
    last: dict[int, str] = field(default_factory=dict)

    def _file(self, person_id: int, kind: str, exchange: Exchange) -> Exchange:
        self.last[person_id] = kind
        if exchange.latency_s is not None:
            self.by_kind.setdefault(kind, []).append(exchange.latency_s)
        return exchange

    async def say(self, person_id: int, text: str, reply: ReplyRule | None = None) -> Exchange:
        return self._file(person_id, text, await super().say(person_id, text, reply))

    async def press(
        self, person_id: int, message_id: int, data: str, reply: ReplyRule | None = None
    ) -> Exchange:
        kind = action_kind(data, self.last.get(person_id))
        return self._file(person_id, kind, await super().press(person_id, message_id, data, reply))


async def vote(
    driver: KindDriver, people: Sequence[int], ballots: dict[int, list[str]], prepared: Prepared, at_once: int
) -> tuple[DriveResult, list[int]]:
    gate = asyncio.Semaphore(at_once)
    failed: list[int] = []

    async def script(driver: Driver, person_id: int) -> None:
        async with gate:
            try:
                await cast(driver, person_id, ballots[person_id], prepared)
            except AssertionError as error:  # the bot's answer lacked the next button
                failed.append(person_id)
                print(f"ballot of person {person_id} not cast: {str(error)[:200]}", file=sys.stderr)

    return await driver.run(people, script), failed


@dataclass
class BallotRun:
    voters: int
    seed_s: float
    startup_s: float
    loaded: DriveResult
    loaded_kinds: dict[str, list[float]]
    solo: DriveResult
    solo_kinds: dict[str, list[float]]
    solo_window: tuple[float, float]
    bot: BotStats
    statements: list[tuple[float, str, float]]
    check: str
    echo: ScenarioResult | None = None

    @property
    def updates(self) -> int:
        return self.loaded.updates + self.solo.updates

    @property
    def cpu_ms_per_update(self) -> float:
        return self.bot.cpu_s * 1000 / self.updates if self.updates else math.nan

    def statement_times(self) -> dict[str, list[float]]:
        """Seconds per statement, during the solo votes."""
        start, end = self.solo_window
        found: dict[str, list[float]] = {}
        for at, label, seconds in self.statements:
            if start <= at <= end:
                found.setdefault(label, []).append(seconds)
        return found


async def check_ballots(url: str, prepared: Prepared, ballots: dict[int, list[str]], expected: int) -> str:
    """The pot's ballots counted, and each fresh voter's projects as they cast them."""
    from sqlalchemy import func, select

    from storage.db import make_engine
    from storage.models import BudgetBallot, BudgetChoice, Resident

    codes = {v: k for k, v in prepared.project_ids.items()}
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            total = await connection.scalar(
                select(func.count()).select_from(BudgetBallot).where(BudgetBallot.pot_id == prepared.pot_id)
            )
            rows = await connection.execute(
                select(Resident.telegram_id, BudgetChoice.project_id)
                .join(BudgetBallot, BudgetBallot.resident_id == Resident.id)
                .join(BudgetChoice, BudgetChoice.ballot_id == BudgetBallot.id)
                .where(BudgetBallot.pot_id == prepared.pot_id, Resident.telegram_id.in_(list(ballots)))
            )
            stored: dict[int, set[str]] = {}
            for telegram_id, project_id in rows:
                stored.setdefault(telegram_id, set()).add(codes[project_id])
    finally:
        await engine.dispose()
    right = sum(1 for person, chosen in ballots.items() if stored.get(person) == set(chosen))
    problems = []
    if total != expected:
        problems.append(f"{total} ballots in the pot, expected {expected}")
    if right != len(ballots):
        problems.append(f"{right} of {len(ballots)} fresh ballots stored as cast")
    return "; ".join(problems) or f"ok: {total:,} ballots, the {len(ballots)} fresh ones as cast"


async def ballot_run(
    voters: int, people: int, concurrency: int, solo: int, pages: int, projects: int, kind: str, database: str
) -> BallotRun:
    databases = AsyncExitStack()  # the database is removed at the end
    url = await databases.enter_async_context(fresh_database(database))
    directory = tempfile.TemporaryDirectory(prefix="meydan-scale-")
    probe_path = Path(directory.name) / "probe.json"
    try:
        file = election_file(Path(directory.name), projects, kind)
        prepared = await prepare(url, file, people + solo)
        project_ids = sorted(prepared.project_ids.values())
        seed_s = await seed_voters(url, prepared.pot_id, project_ids, BULK_FIRST_ID, voters)
        print(f"{voters:,} voters: seeded in {seed_s:.1f} s ({prepared.timings})", file=sys.stderr)
        os.environ[PREPARED_VARIABLE] = url
        os.environ[PROBE_VARIABLE] = str(probe_path)
        os.environ[STATEMENTS_VARIABLE] = "1"
        crowd = list(range(FIRST_PERSON_ID, FIRST_PERSON_ID + people))
        alone = list(range(FIRST_PERSON_ID + people, FIRST_PERSON_ID + people + solo))
        ballots = {p: fresh_ballot(p, prepared, pages) for p in crowd + alone}
        async with running_emulator() as emulator, client_api(emulator.url) as client:
            started = time.perf_counter()
            async with bot_process(FACTORY, "webhook", emulator.url) as stats:
                await client.wait_for_delivery("webhook")
                startup_s = time.perf_counter() - started
                made = await create_people(client, people + solo)
                assert sorted(made) == crowd + alone, "the emulator's people are not the seeded residents"
                loaded_driver = KindDriver(client, timeout=60.0)
                loaded, failed = await vote(loaded_driver, crowd, ballots, prepared, concurrency)
                solo_driver = KindDriver(client, timeout=60.0)
                window_start = time.time()
                solo_result, failed_alone = await vote(solo_driver, alone, ballots, prepared, 1)
                window = (window_start, time.time())
        check = await check_ballots(url, prepared, ballots, voters + people + solo)
        if failed or failed_alone:
            check += f"; {len(failed) + len(failed_alone)} ballots given up"
        probe = json.loads(probe_path.read_text()) if probe_path.exists() else {"statements": []}
    finally:
        for name in (PREPARED_VARIABLE, PROBE_VARIABLE, STATEMENTS_VARIABLE):
            os.environ.pop(name, None)
        directory.cleanup()
        await databases.aclose()
    return BallotRun(
        voters, seed_s, startup_s, loaded, loaded_driver.by_kind, solo_result, solo_driver.by_kind, window,
        stats, [tuple(s) for s in probe["statements"]], check,
    )  # fmt: skip


# ---- the ballot tables -----------------------------------------------------------------------------------


def _ms(values: Sequence[float], q: float) -> float:
    return percentile(values, q) * 1000


def summary_table(runs: Sequence[BallotRun], people: int, concurrency: int) -> str:
    header = (
        "voters in the pot", "seed s", "bot startup s", "updates", "updates/s at once", "p50 ms at once", "p99 ms at once",
        "unanswered", "bot CPU ms/update", "echo CPU ms/update", "CPU/update vs echo", "bot RSS at ready MiB",
        "bot peak RSS MiB", "check",
    )  # fmt: skip
    rows = []
    for run in runs:
        echo_cpu = (
            run.echo.bot.cpu_s * 1000 / run.echo.bot_updates
            if run.echo and run.echo.bot_updates
            else math.nan
        )
        d = run.loaded
        rows.append([
            f"{run.voters:,}", run.seed_s, run.startup_s, run.updates, d.updates_per_s, d.p50_ms, d.p99_ms,
            d.unanswered + run.solo.unanswered, run.cpu_ms_per_update, echo_cpu, run.cpu_ms_per_update / echo_cpu,
            run.bot.rss_start_mb, run.bot.peak_rss_mb, run.check,
        ])  # fmt: skip
    return format_table(header, rows)


def kinds_table(runs: Sequence[BallotRun], concurrency: int) -> str:
    header = (
        "action", "voters in the pot", "updates", f"p50 ms ({concurrency} at once)", "p99 ms",
        "updates alone", "p50 ms alone", "max ms alone",
    )  # fmt: skip
    rows = []
    for kind in (*KINDS, "all"):
        for run in runs:
            if kind == "all":
                loaded = [v for vs in run.loaded_kinds.values() for v in vs]
                alone = [v for vs in run.solo_kinds.values() for v in vs]
            else:
                loaded, alone = run.loaded_kinds.get(kind, []), run.solo_kinds.get(kind, [])
            rows.append([
                kind, f"{run.voters:,}", len(loaded), _ms(loaded, 50), _ms(loaded, 99), len(alone), _ms(alone, 50),
                max(alone, default=math.nan) * 1000,
            ])  # fmt: skip
    return format_table(header, rows)


def ratio_table(low: BallotRun, high: BallotRun) -> str:
    header = ("action", "p50 ratio (at once)", "p99 ratio (at once)", "p50 ratio (alone)")
    rows = []
    for kind in (*KINDS, "all"):
        if kind == "all":
            pairs = [
                (
                    [v for vs in r.loaded_kinds.values() for v in vs],
                    [v for vs in r.solo_kinds.values() for v in vs],
                )
                for r in (low, high)
            ]
        else:
            pairs = [(r.loaded_kinds.get(kind, []), r.solo_kinds.get(kind, [])) for r in (low, high)]
        (low_loaded, low_alone), (high_loaded, high_alone) = pairs
        rows.append([
            kind, _ms(high_loaded, 50) / _ms(low_loaded, 50), _ms(high_loaded, 99) / _ms(low_loaded, 99),
            _ms(high_alone, 50) / _ms(low_alone, 50),
        ])  # fmt: skip
    rows.append(["bot CPU ms/update", high.cpu_ms_per_update / low.cpu_ms_per_update, math.nan, math.nan])
    return format_table(header, rows)


def statements_table(low: BallotRun, high: BallotRun, limit: int = 25) -> str:
    """The statements of the solo votes, by their total time at the higher count, with their median time
    at both counts (a median, as one statement now and then waits for the scheduler's)."""
    before, after = low.statement_times(), high.statement_times()
    ballots_low = max(1, len(low.solo_kinds.get("confirm", [])))
    ballots_high = max(1, len(high.solo_kinds.get("confirm", [])))
    order = sorted(after, key=lambda s: -sum(after[s]))
    header = (
        "statement", "calls/ballot", f"p50 ms, {low.voters:,} voters", f"p50 ms, {high.voters:,} voters",
        "ratio", "max ms (high)",
    )  # fmt: skip
    rows = []
    for label in order[:limit]:
        b, a = before.get(label, []), after[label]
        rows.append([
            label.replace("|", "\\|"), f"{len(b) / ballots_low:.1f} → {len(a) / ballots_high:.1f}", _ms(b, 50),
            _ms(a, 50), _ms(a, 50) / _ms(b, 50) if b else math.nan, max(a) * 1000,
        ])  # fmt: skip
    return format_table(header, rows)


async def run_ballots(args: argparse.Namespace) -> list[BallotRun]:
    runs = []
    for voters in args.voters:
        run = await ballot_run(
            voters, args.people, args.concurrency, args.solo, args.pages, args.projects, args.kind, args.database
        )  # fmt: skip
        per_ballot = round(run.loaded.updates / max(1, args.people))
        run.echo = await measure_echo("webhook", args.concurrency, per_ballot)
        runs.append(run)
        print(f"{voters:,} voters done: {run.check}", file=sys.stderr)
    return runs


# ---- memory ----------------------------------------------------------------------------------------------


@dataclass
class MemoryRun:
    residents: int
    active: int
    rate: float
    seed_s: float
    drive: DriveResult
    bot: BotStats
    rss: list[tuple[float, float]]
    load_window: tuple[float, float]
    after_load: dict[str, Any]
    echo: ScenarioResult

    def rss_at(self, moment: float) -> float:
        before = [r for t, r in self.rss if t <= moment]
        return before[-1] if before else math.nan

    @property
    def sampled_peak(self) -> float:
        return max((r for _t, r in self.rss), default=math.nan)


MEMORY_STEPS = 2  # /menu, then the menu's ballots button


async def active_resident(driver: Driver, person_id: int) -> None:
    shown = await driver.say(person_id, "/menu", reply=menu_or_matches)
    if shown.answered_at is None:
        return
    message_id, data = find_button(shown.bot_messages()[-1:], data=MenuCb(action="budget").pack())
    await driver.press(person_id, message_id, data)


async def memory_run(residents: int, active: int, seconds: float, database: str, trace: bool) -> MemoryRun:
    rate = active * MEMORY_STEPS / seconds
    echo = await measure_echo("webhook", active, MEMORY_STEPS, rate)
    databases = AsyncExitStack()  # the database is removed at the end
    url = await databases.enter_async_context(fresh_database(database))
    directory = tempfile.TemporaryDirectory(prefix="meydan-memory-")
    probe_path = Path(directory.name) / "probe.json"
    trigger = Path(str(probe_path) + ".load")
    try:
        file = election_file(Path(directory.name), 200, "knapsack")
        prepared = await prepare(url, file, 0)
        seed_s = await seed_voters(
            url, prepared.pot_id, sorted(prepared.project_ids.values()), FIRST_PERSON_ID, residents
        )
        print(f"{residents:,} residents seeded in {seed_s:.1f} s", file=sys.stderr)
        os.environ[PREPARED_VARIABLE] = url
        os.environ[PROBE_VARIABLE] = str(probe_path)
        if trace:
            os.environ[TRACE_VARIABLE] = "1"
        async with (
            running_emulator() as emulator,
            client_api(emulator.url) as client,
            bot_process(FACTORY, "webhook", emulator.url) as stats,
        ):
            await client.wait_for_delivery("webhook")
            people = await create_people(client, active)
            driver = Driver(client, timeout=60.0, pacer=Pacer(rate))
            started = time.time()
            drive = await driver.run(people, active_resident)
            ended = time.time()
            await asyncio.sleep(2.0)
            _write(trigger, "the load is over")
            reported = trigger.with_suffix(".json")
            for _ in range(240):  # tracemalloc's snapshot of a traced process takes a while
                if _exists(reported):
                    break
                await asyncio.sleep(0.25)
        probe = json.loads(probe_path.read_text())
    finally:
        for name in (PREPARED_VARIABLE, PROBE_VARIABLE, TRACE_VARIABLE):
            os.environ.pop(name, None)
        directory.cleanup()
        await databases.aclose()
    return MemoryRun(
        residents, active, rate, seed_s, drive, stats, [tuple(r) for r in probe["rss"]], (started, ended),
        probe.get("after_load", {}), echo,
    )  # fmt: skip


IMPORT_STEPS: dict[str, tuple[str, ...]] = {
    "echo": ("aiohttp", "aiogram", "bench.common", "bench.throughput"),
    "Meydan": (
        "aiohttp", "aiogram", "bench.common", "sqlalchemy.ext.asyncio", "aiosqlite", "asyncpg", "alembic",
        "numpy", "storage.models", "bot.app", "bench.replay", "matplotlib.figure", "handlers:routers",
    ),
}  # fmt: skip
"""What each bot process imports, in order; "module:function" calls the function too (the dispatcher's
routers are imported when `bot.app.make_dispatcher` asks for them, not by `import bot.app`)."""

_STEP = """
import importlib, json, sys
def step(name):
    module, _, call = name.partition(":")
    loaded = importlib.import_module(module)
    if call:
        getattr(loaded, call)()
"""

_IMPORT_PROBE = (
    _STEP
    + """
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
rows = [("python", rss())]
for name in sys.argv[1:]:
    step(name)
    rows.append((name, rss()))
print(json.dumps(rows))
"""
)


def _run_probe(code: str, arguments: Sequence[str]) -> Any:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code, *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def import_rss() -> dict[str, list[tuple[str, float]]]:
    """The RSS of a fresh interpreter after each import, cumulative, for the echo and the Meydan process."""
    return {
        name: [tuple(r) for r in _run_probe(_IMPORT_PROBE, steps)] for name, steps in IMPORT_STEPS.items()
    }


def memory_tables(run: MemoryRun) -> str:
    echo = run.echo
    after = run.rss_at(run.load_window[1] + 1.9)
    limit = echo.bot.peak_rss_mb + 64
    header = (
        "bot", "people", "updates", "rate/s", "achieved/s", "p50 ms", "p99 ms", "unanswered", "RSS at ready MiB",
        "peak RSS MiB", "RSS after the load MiB", "CPU ms/update",
    )  # fmt: skip
    d = echo.drive
    rows = [
        [
            "echo", echo.people, d.updates, run.rate, d.updates_per_s, d.p50_ms, d.p99_ms, d.unanswered,
            echo.bot.rss_start_mb, echo.bot.peak_rss_mb, "n/a", echo.bot.cpu_s * 1000 / max(1, echo.bot_updates),
        ],
        [
            f"meydan, {run.residents:,} residents", run.active, run.drive.updates, run.rate, run.drive.updates_per_s,
            run.drive.p50_ms, run.drive.p99_ms, run.drive.unanswered, run.bot.rss_start_mb,
            max(run.bot.peak_rss_mb, run.sampled_peak), after, run.bot.cpu_s * 1000 / max(1, run.drive.updates),
        ],
    ]  # fmt: skip
    lines = [format_table(header, rows)]
    verdict = "within" if max(run.bot.peak_rss_mb, run.sampled_peak) <= limit else "OVER"
    lines.append(
        f"\nlimit: the echo's peak + 64 MiB = {limit:.1f} MiB; Meydan's peak "
        f"{max(run.bot.peak_rss_mb, run.sampled_peak):.1f} MiB is {verdict} it "
        f"(headroom {limit - max(run.bot.peak_rss_mb, run.sampled_peak):.1f} MiB); load from "
        f"{run.drive.updates} updates in {run.load_window[1] - run.load_window[0]:.1f} s; "
        f"seeding {run.seed_s:.1f} s"
    )
    caches = {k: v for k, v in run.after_load.items() if k != "traced"}
    lines.append("after the load, in the bot process: " + ", ".join(f"{k} {v}" for k, v in caches.items()))
    traced = run.after_load.get("traced")
    if traced:
        lines.append(
            f"\nallocations made since READY and still held after the load (tracemalloc): "
            f"{traced['total bytes'] / 2**20:.2f} MiB"
        )
        for key, title in (("by file", "file"), ("by line", "allocated at ← called from")):
            rows = [[name, size / 1024, count] for name, size, count in traced[key]]
            lines.append(format_table((title, "KiB", "blocks"), rows))
    return "\n".join(lines)


def import_tables() -> str:
    lines = ["\nRSS of a fresh interpreter after each step (cumulative), MiB:"]
    for name, rows in import_rss().items():
        cells = [
            [name, module, rss, rss - (rows[i - 1][1] if i else 0.0)] for i, (module, rss) in enumerate(rows)
        ]
        lines.append(format_table(("process", "after", "RSS MiB", "+ MiB"), cells))
    return "\n".join(lines)


# ---- the command -----------------------------------------------------------------------------------------


def _counts(text: str) -> list[int]:
    return [int(v.replace("_", "").replace(",", "")) for v in text.split(":") if v.strip()]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=("ballots", "memory"), default="ballots")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--voters", default="0,100000", help="ballots: confirmed voters written first (0,100000)"
    )
    parser.add_argument("--people", type=int, default=60, help="ballots: fresh voters through the chat (60)")
    parser.add_argument("--concurrency", type=int, default=15, help="ballots: of them at once (15)")
    parser.add_argument("--solo", type=int, default=10, help="ballots: then fresh voters one at a time (10)")
    parser.add_argument(
        "--pages", type=int, default=4, help="ballots: their projects on the first N pages (4)"
    )
    parser.add_argument("--projects", type=int, default=200, help="projects in the pot (200)")
    parser.add_argument("--kind", choices=("knapsack", "approval"), default="knapsack")
    parser.add_argument("--residents", type=int, default=100_000, help="memory: residents seeded (100000)")
    parser.add_argument("--active", type=int, default=1000, help="memory: of them active (1000)")
    parser.add_argument("--seconds", type=float, default=60.0, help="memory: over this many seconds (60)")
    parser.add_argument("--tracemalloc", action="store_true", help="memory: trace the bot's allocations")
    parser.add_argument("--no-imports", action="store_true", help="memory: skip the import-only RSS tables")
    args = parser.parse_args(argv)
    if args.database == "postgresql" and not os.environ.get(DATABASE_URL_VARIABLE):
        parser.error(f"--database postgresql needs {DATABASE_URL_VARIABLE} (postgresql+asyncpg://...)")
    started = time.perf_counter()
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    if args.scenario == "ballots":
        args.voters = sorted(_counts(args.voters.replace(",", ":")))
        runs = asyncio.run(run_ballots(args))
        print(
            f"Ballots at scale, {date.today().isoformat()}, Python {platform.python_version()}, {args.database}, "
            f"a {args.kind} pot of {args.projects} projects; {args.people} fresh voters {args.concurrency} at "
            f"once, then {args.solo} alone, 3 to 8 projects each on the first {args.pages} pages; webhook"
        )
        print(summary_table(runs, args.people, args.concurrency))
        print()
        print(kinds_table(runs, args.concurrency))
        if len(runs) > 1:
            print(f"\n{runs[-1].voters:,} voters against {runs[0].voters:,}:")
            print(ratio_table(runs[0], runs[-1]))
            print("\nSQL statements of the solo votes (wall time in the bot process, cursor execute to end):")
            print(statements_table(runs[0], runs[-1]))
        failed = [r for r in runs if not r.check.startswith("ok")]
    else:
        run = asyncio.run(
            memory_run(args.residents, args.active, args.seconds, args.database, args.tracemalloc)
        )
        print(
            f"Memory, {date.today().isoformat()}, Python {platform.python_version()}, {args.database}, "
            f"{args.residents:,} residents, {args.active:,} of them each sending /menu and pressing the ballots "
            f"button, open-loop at {run.rate:.1f} updates/s; webhook"
        )
        print(memory_tables(run))
        if not args.no_imports:
            print(import_tables())
        failed = []
    end_load = Path("/proc/loadavg").read_text().split()[:3] if load else []
    print(
        f"\nwhole run {time.perf_counter() - started:.0f} s; load average {' '.join(load)} → {' '.join(end_load)}"
    )
    if failed:
        raise SystemExit("the ballots were not stored as cast")


if __name__ == "__main__":
    main()
