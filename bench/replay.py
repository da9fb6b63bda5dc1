"""Ballot replay: a real election from ``shared/pabulib/`` cast ballot by ballot through the chat.

Warsaw's Mokotów district, 2023 (81 projects, 11,067 approval ballots of 1 to 15 projects, greedy) is
imported without its ballots by the existing command (``meydan process import-pb FILE --key replay``)
and its voting phase opened now (``meydan process import-pb --opens … --closes …``). Each ballot of the file (the first
``--ballots N``) is then cast by a resident of its own through the sandbox emulator: ``/budget`` →
the pot → for each of its projects, in the order of the pot's pages: ▶ until the page holding it, its
card, "Add to my ballot", "Back to the projects" → "Review and confirm" → "Confirm my ballot". Every
press uses a button of the message on screen (the harness fails when the button is not there), each
waiting for the bot's answer (all edits of one message after the first). ``--concurrency`` people vote
at the same time; when one has confirmed, the next begins.

The residents are **seeded in the database** (language alternately Turkish and English, consent, a
neighborhood, the identity the bot would give them) before the bot starts, so nobody goes through
onboarding. After the run the harness checks that the pot holds one ballot per person with exactly
that person's projects, closes voting, counts the pot with its rule (``counting.results``), and
compares the winners with a tally of the same first N ballots of the file (``bot.tally``); on a full
run (all ballots) also with the file's official ``selected`` column.

The bot runs in its own process (``bench.common.bot_process``, the whole application of
``bot.app.build`` on the prepared database), and the echo anchor of ``bench.throughput`` runs in the
same run with as many people as ``--concurrency`` and the mean number of updates per ballot each.

With ``--typed`` each person types their ballot instead: ``/budget`` → the pot → "⌨️ Type project
numbers" → the ballot's project numbers (the file's project ids, which are the projects' codes) in one
message, in the file's order → "Confirm my ballot" on the review: five updates a ballot.

    .venv/bin/python -m bench.replay [--ballots N] [--concurrency 100] [--modes webhook]
                                     [--database sqlite|postgresql] [--file PATH.pb] [--typed]
                                     [--profile PREFIX]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    BENCH_TOKEN,
    MODES,
    ROOT,
    BotStats,
    Driver,
    DriveResult,
    Mode,
    ScenarioResult,
    bot_process,
    client_api,
    create_people,
    format_table,
    running_emulator,
)
from bench.meydan import (
    DATABASE_URL_VARIABLE,
    Database,
    MeydanUnderTest,
    _settings,
    find_button,
    fresh_database,
    seed_residents,
)
from bench.throughput import measure_echo
from bot.loop import name as loop_name
from bot.sandbox.state import FIRST_PERSON_ID
from bot.ui.budgets.callbacks import BallotAction as A
from bot.ui.budgets.callbacks import BallotCb
from bot.ui.budgets.keyboards import PAGE_SIZE

FILE = ROOT.parent / "shared" / "pabulib" / "Poland_Warszawa_2023_Mokotow.pb"
KEY = "replay"
PREPARED_VARIABLE = "BENCH_REPLAY_DATABASE_URL"  # the bot process builds Meydan on this database


# ---- the bot process --------------------------------------------------------------------------


async def meydan_on_prepared(api_url: str, token: str = BENCH_TOKEN) -> MeydanUnderTest:
    """The whole bot on the database the harness prepared (imported election, seeded residents)."""
    from bot.app import build

    meydan = await build(_settings(os.environ[PREPARED_VARIABLE], api_url, token), api_url=api_url)

    async def release() -> None:  # the harness reads the database afterwards and removes it
        return None

    return MeydanUnderTest(meydan, release)


# ---- preparing the database (in the harness, before the bot starts) ----------------------------


def meydan_command(database_url: str, *args: str) -> str:
    """`python -m bot ARGS` on the database, with a clean environment (no .env); its output."""
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL=database_url, LOG_LEVEL="WARNING")
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"meydan {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


@dataclass
class Prepared:
    pot_id: int
    project_ids: dict[str, int]  # Pabulib code → project id
    pages: dict[str, int]  # code → the page of the pot's list showing it
    timings: dict[str, float]  # seconds: migrate and load the city, import, seed the residents


async def prepare(database_url: str, file: Path, people: int) -> Prepared:
    from bot.app import prepare_database
    from bot.config import Settings
    from bot.services import budgets, processes
    from storage.models import Neighborhood

    timings: dict[str, float] = {}
    started = time.perf_counter()
    engine, sessions, spec = await prepare_database(Settings(_env_file=None, database_url=database_url))
    timings["migrate + city"] = time.perf_counter() - started
    try:
        started = time.perf_counter()
        local = _now().astimezone(spec.zone)
        opens, closes = (local - timedelta(hours=1)), (local + timedelta(days=1))
        imported = meydan_command(
            database_url, "process", "import-pb", str(file), "--key", KEY,
            "--opens", opens.strftime("%Y-%m-%d %H:%M"), "--closes", closes.strftime("%Y-%m-%d %H:%M"),
        )  # fmt: skip
        print(imported, file=sys.stderr)
        timings["import-pb"] = time.perf_counter() - started
        started = time.perf_counter()
        async with sessions() as session:
            hoods = [h for h in await session.scalars(_hoods(Neighborhood))]
        await seed_residents(sessions, people, hoods)
        timings["seed residents"] = time.perf_counter() - started
        async with sessions() as session:
            process = await processes.by_key(session, KEY)
            pot = (await budgets.pots_of(session, process.id))[0]
            listed = await budgets.projects_of(session, pot.id)
    finally:
        await engine.dispose()
    return Prepared(
        pot.id,
        {p.code: p.id for p in listed},
        {p.code: index // PAGE_SIZE for index, p in enumerate(listed)},
        timings,
    )


def _now():  # noqa: ANN202
    from storage.models import utcnow

    return utcnow()


def _hoods(model):  # noqa: ANN001, ANN202
    from sqlalchemy import select

    return select(model.id).where(model.active.is_(True)).order_by(model.id)


# ---- one ballot through the chat ----------------------------------------------------------------


def presses(codes: Sequence[str], pages: dict[str, int]) -> int:
    """Updates a ballot takes: /budget, the pot, ▶ presses, card + add + back per project, review, confirm."""
    last = max((pages[c] for c in codes), default=0)
    return 2 + last + 3 * len(codes) + 2


def in_page_order(codes: Sequence[str], pages: dict[str, int], ids: dict[str, int]) -> list[str]:
    return sorted(codes, key=lambda c: (pages[c], ids[c]))


async def cast(
    driver: Driver, person_id: int, codes: Sequence[str], prepared: Prepared, *, typed: bool = False
) -> None:
    """One ballot through the chat, pressing each project's buttons, or with `typed` its numbers: ⌨️ on
    the pot's page, the numbers as the file lists them in one message, Confirm on the review."""
    pot, pages, ids = prepared.pot_id, prepared.pages, prepared.project_ids

    async def press(after, data: BallotCb):  # noqa: ANN001, ANN202 - a button on screen, or fail
        message_id, packed = find_button(after.bot_messages()[-1:], data=data.pack())
        return await driver.press(person_id, message_id, packed)

    shown = await driver.say(person_id, "/budget")
    shown = await press(shown, BallotCb(action=A.POT, pot=pot))
    if typed:
        shown = await press(shown, BallotCb(action=A.NUMBERS, pot=pot))
        shown = await driver.say(person_id, ", ".join(codes))
        await press(shown, BallotCb(action=A.CONFIRM, pot=pot))
        return
    page = 0
    for code in in_page_order(codes, pages, ids):
        while page < pages[code]:
            page += 1
            shown = await press(shown, BallotCb(action=A.POT, pot=pot, page=page))
        shown = await press(shown, BallotCb(action=A.CARD, pot=pot, project=ids[code], page=page))
        shown = await press(shown, BallotCb(action=A.ADD, pot=pot, project=ids[code], page=page))
        shown = await press(shown, BallotCb(action=A.POT, pot=pot, page=page))
    shown = await press(shown, BallotCb(action=A.REVIEW, pot=pot, page=page))
    await press(shown, BallotCb(action=A.CONFIRM, pot=pot, page=page))


# ---- the run ------------------------------------------------------------------------------------


@dataclass
class Replay:
    mode: Mode
    ballots: int
    concurrency: int
    drive: DriveResult
    bot: BotStats
    prepared: Prepared
    check: dict[str, str]

    @property
    def updates(self) -> int:
        return self.drive.updates


async def replay(
    mode: Mode,
    file: Path,
    count: int | None,
    concurrency: int,
    database: Database,
    typed: bool = False,
    profile: str | None = None,
) -> Replay:
    from bot.tally import read

    election = read(file)
    ballots = [list(b.projects) for b in election.ballots[: count or None]]
    async with fresh_database(database) as url:
        return await _replay(mode, url, file, ballots, election, concurrency, typed, profile)


async def _replay(  # noqa: ANN001
    mode: Mode,
    url: str,
    file: Path,
    ballots: list[list[str]],
    election,
    concurrency: int,
    typed: bool,
    profile: str | None,
) -> Replay:
    try:
        prepared = await prepare(url, file, len(ballots))
        os.environ[PREPARED_VARIABLE] = url
        gate = asyncio.Semaphore(concurrency)
        async with (
            running_emulator() as emulator,
            client_api(emulator.url) as client,
            bot_process("bench.replay:meydan_on_prepared", mode, emulator.url, profile=profile) as stats,
        ):
            await client.wait_for_delivery(mode)
            people = await create_people(client, len(ballots))
            expected = list(range(FIRST_PERSON_ID, FIRST_PERSON_ID + len(ballots)))
            assert sorted(people) == expected, "the emulator's people are not the seeded residents"
            driver = Driver(client, timeout=60.0)

            failed: list[int] = []

            async def script(driver: Driver, person_id: int) -> None:
                async with gate:
                    try:
                        codes = ballots[person_id - FIRST_PERSON_ID]
                        await cast(driver, person_id, codes, prepared, typed=typed)
                    except AssertionError as error:  # the bot's answer lacked the next button
                        failed.append(person_id)
                        print(f"ballot of person {person_id} not cast: {str(error)[:200]}", file=sys.stderr)

            drive = await driver.run(expected, script)
        check = await verify(url, election, ballots, prepared, full=len(ballots) == len(election.ballots))
        check["ballots given up"] = str(len(failed))
    finally:
        os.environ.pop(PREPARED_VARIABLE, None)
    return Replay(mode, len(ballots), concurrency, drive, stats, prepared, check)


async def verify(
    url: str, election, ballots: list[list[str]], prepared: Prepared, full: bool
) -> dict[str, str]:  # noqa: ANN001
    """Every person's ballot stored as cast; then voting closed and the pot counted by its rule."""
    from sqlalchemy import select, update

    from bot.services.budgets import counting
    from bot.tally import Election, official_rule, tally
    from storage.db import make_engine, make_session_factory
    from storage.models import BudgetBallot, BudgetChoice, BudgetPot, ProcessPhase, Resident

    engine = make_engine(url)
    sessions = make_session_factory(engine)
    codes = {v: k for k, v in prepared.project_ids.items()}
    try:
        async with sessions.begin() as session:
            rows = await session.execute(
                select(Resident.telegram_id, BudgetChoice.project_id)
                .join(BudgetBallot, BudgetBallot.resident_id == Resident.id)
                .join(BudgetChoice, BudgetChoice.ballot_id == BudgetBallot.id)
                .where(BudgetBallot.pot_id == prepared.pot_id)
            )
            stored: dict[int, set[str]] = {}
            for telegram_id, project_id in rows:
                stored.setdefault(telegram_id, set()).add(codes[project_id])
            cast_as = {FIRST_PERSON_ID + n: set(b) for n, b in enumerate(ballots)}
            wrong = sum(1 for person, chosen in cast_as.items() if stored.get(person) != chosen)
            pot = await session.get(BudgetPot, prepared.pot_id)
            await session.execute(
                update(ProcessPhase)
                .where(ProcessPhase.process_id == pot.process_id, ProcessPhase.kind == "voting")
                .values(ends_at=_now() - timedelta(seconds=1))
            )
        async with sessions() as session:
            pot = await session.get(BudgetPot, prepared.pot_id)
            started = time.perf_counter()
            outcome = await counting.results(session, pot)
            counted_s = time.perf_counter() - started
    finally:
        await engine.dispose()
    first = Election(election.meta, election.projects, election.ballots[: len(ballots)])
    same_ballots = tally(first, official_rule(election))
    ours = sorted(map(str, outcome.selected))
    check = {
        "ballots stored as cast": f"{len(cast_as) - wrong} of {len(cast_as)}",
        "winners": str(len(ours)),
        "count s": f"{counted_s:.2f}",
        "= tally of the same ballots": "yes" if ours == sorted(map(str, same_ballots.selected)) else "NO",
    }
    if full:
        official = sorted(str(p.id) for p in election.projects if p.fields.get("selected") == "1")
        check["= official selected"] = "yes" if ours == official else f"NO (official {len(official)})"
    else:
        check["= official selected"] = "not checked (partial run)"
    return check


HEADER = (
    "scenario", "delivery", "people at once", "ballots", "updates", "wall s", "ballots/s", "updates/s",
    "p50 ms", "p99 ms", "unanswered", "bot CPU ms/update", "bot CPU ms/ballot", "bot peak RSS MiB",
    "updates/s vs echo", "bot CPU/update vs echo",
)  # fmt: skip


def _cpu_per_update(stats: BotStats, updates: int) -> float:
    return stats.cpu_s * 1000 / updates if updates else math.nan


def table(pairs: Sequence[tuple[ScenarioResult, Replay]]) -> str:
    rows = []
    for echo, run in pairs:
        echo_cpu = _cpu_per_update(echo.bot, echo.bot_updates)
        d = echo.drive
        rows.append([
            "echo", echo.mode, echo.people, "—", d.updates, d.wall_s, "—", d.updates_per_s, d.p50_ms, d.p99_ms,
            d.unanswered, echo_cpu, "—", echo.bot.peak_rss_mb, 1.0, 1.0,
        ])  # fmt: skip
        d = run.drive
        cpu = _cpu_per_update(run.bot, d.updates)
        rows.append([
            "replay", run.mode, run.concurrency, run.ballots, d.updates, d.wall_s, run.ballots / d.wall_s,
            d.updates_per_s, d.p50_ms, d.p99_ms, d.unanswered, cpu, run.bot.cpu_s * 1000 / run.ballots,
            run.bot.peak_rss_mb, d.updates_per_s / echo.drive.updates_per_s, cpu / echo_cpu,
        ])  # fmt: skip
    return format_table(HEADER, rows)


async def run(
    modes: Sequence[Mode],
    file: Path,
    count: int | None,
    concurrency: int,
    database: str,
    typed: bool = False,
    profile: str | None = None,
) -> list[tuple[ScenarioResult, Replay]]:
    pairs = []
    for mode in modes:
        prof = f"{profile}.{mode}.prof" if profile else None
        done = await replay(mode, file, count, concurrency, database, typed, prof)
        per_ballot = round(done.updates / done.ballots)
        echo = await measure_echo(mode, min(concurrency, done.ballots), per_ballot)
        pairs.append((echo, done))
    return pairs


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ballots", type=int, help="replay only the first N ballots (default: all)")
    parser.add_argument("--concurrency", type=int, default=100, help="people voting at the same time (100)")
    parser.add_argument("--modes", default="webhook", help="comma-separated: polling,webhook (webhook)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--file", type=Path, default=FILE, help=f"a Pabulib file (default {FILE.name})")
    parser.add_argument(
        "--typed",
        action="store_true",
        help="each person types their ballot's project numbers instead of pressing each project",
    )
    parser.add_argument(
        "--profile", metavar="PREFIX", help="profile the bot's process to PREFIX.<mode>.prof (cProfile)"
    )
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for mode in modes:
        if mode not in MODES:
            parser.error(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    if args.database == "postgresql" and not os.environ.get(DATABASE_URL_VARIABLE):
        parser.error(f"--database postgresql needs {DATABASE_URL_VARIABLE} (postgresql+asyncpg://...)")
    started = time.perf_counter()
    pairs = asyncio.run(
        run(modes, args.file, args.ballots, args.concurrency, args.database, args.typed, args.profile)
    )
    print(
        f"Ballot replay of {args.file.name} against the echo anchor through the sandbox, "
        f"{date.today().isoformat()}, Python {platform.python_version()} on {loop_name()}, {args.database}, "
        f"{pairs[0][1].ballots} ballots, {args.concurrency} people at once (residents seeded in the database), "
        f"{'project numbers typed' if args.typed else 'every project pressed'}"
    )
    print(table(pairs))
    for _echo, done in pairs:
        print(f"{done.mode}: setup " + ", ".join(f"{k} {v:.1f} s" for k, v in done.prepared.timings.items()))
        print(f"{done.mode}: " + "; ".join(f"{k}: {v}" for k, v in done.check.items()))
        print(f"{done.mode}: the bot's garbage collections: {done.bot.gc_note()}")
        print(
            f"{done.mode}: {done.bot.statements / done.drive.updates:.2f} SQL statements per update, "
            f"{done.bot.statements / done.ballots:.1f} per ballot, BEGIN and COMMIT not counted"
        )
    print(f"whole run: {time.perf_counter() - started:.0f} s")
    failed = [d for _e, d in pairs if "NO" in " ".join(d.check.values()) or d.drive.unanswered]
    failed += [d for _e, d in pairs if not d.check["ballots stored as cast"].startswith(f"{d.ballots} ")]
    if failed:
        raise SystemExit("the replay did not reproduce the ballots or the winners")


if __name__ == "__main__":
    main()
