"""What every update costs the bot in its database work, step by step, against the echo anchor.

The fixed part of an update's transaction, measured in the bot's own code on a prepared database (the
Mokotów election imported, residents seeded, as `bench.replay` prepares it), in a loop of one
transaction at a time on the loop the bot runs on, by the process's CPU time per transaction. The
rows, each adding a step to the one before unless it says it stands in place of others:

- **driver**: the database's own library under SQLAlchemy's pool: check a connection out, BEGIN,
  `SELECT 1`, COMMIT, hand it back: the same three statements without SQLAlchemy's session (asyncpg on
  PostgreSQL; on SQLite the `sqlite3` connection, called on the loop's thread as `storage/sqlite.py`
  calls it);
- **session**: the same through `AsyncSession`, as `DatabaseMiddleware` opens, commits and closes one
  (`close_session`);
- **+ state**: the person's conversation state and boxes (`storage.fsm.SQLStorage`, one SELECT);
- **+ resident, a SELECT of its own**: the person and their roles (`residents.load`) after the state:
  the two reads apart;
- **resident and state in one SELECT**: both in the statement `bot.middlewares.resident` makes with
  the SQL storage (`residents.load_with_state`), in place of the two rows above;
- **+ dedup, an INSERT of its own**: the update's claim (`bot.middlewares.dedup.claim`), as an update
  with no person makes it;
- **dedup in the same SELECT**: the claim in the person's statement instead, as every update of a
  person makes it: on PostgreSQL the insert itself (`dedup.claimed_column`, a data-modifying WITH); on
  SQLite whether the update's row exists (`dedup.unseen_column`), the row then written before the
  commit (`claim`), as for an update that keeps no answer;
- **+ ballot press, the gate a SELECT of its own**: what a press adds to every update's row
  (`budgets.ballot_view` with a draft: the pot, its process and phases, the district and the person's
  ballot in one SELECT, `budgets.gate`; the projects kept in the process);
- **+ ballot press**: the same with the gate read in the person's statement (`budgets.GATE_BESIDE`), as
  the bot reads it for a press of a pot's ballot, in place of the row above;
- **+ its answer kept**: the press's answer (a ballot page's edit: its text and 12 project
  buttons with the page's own) kept with the update's id: what every update that answers adds, to be
  answered again should it come again. On PostgreSQL an UPDATE of the claimed row
  (`bot.middlewares.dedup.keep`); on SQLite the row written with its answer (`dedup.keep_first`), in
  place of the claim's INSERT of the row above;
- **… the row claimed first** (SQLite only): the same with the claim an INSERT of its own and the answer
  an UPDATE of its row, as on PostgreSQL: one statement more, what SQLite's updates cost before;
- **every update + the settings screen, a SELECT of its own**: the row "dedup in the same SELECT" with a
  settings screen's read instead of a ballot's (`residents.settings`: the person's neighborhood, its
  district and their notification choices in one SELECT), its answer not kept;
- **every update + the settings screen**: the same with the screen read in the person's statement
  (`residents.settings_beside`, taken by `residents.settings_of`), as the bot reads it for /settings,
  in place of the row above;
- **… + a notification turned first**: the same with the choice's upsert before the screen is shown
  (`residents.turn_notification`), as a press on a notification's button makes;
- **every update + an idea's support, given or taken back**: the row "dedup in the same SELECT" with
  a support press's work instead of a screen's (`ideas.set_support_of`: the idea read and locked, the
  support given or taken back, in turn, and the idea's supports counted), its answer not kept.

Last, one statement alone inside an open transaction (an UPDATE of an update's row, as keeping an answer
makes), per statement, by each way of running it: `AsyncSession.execute`, as a service runs most
statements; the session's connection's `execute`; `exec_driver_sql` with the SQL made once;
`storage.direct.Direct`, as the bot runs the statements of every press; the database library's own
`execute`: what SQLAlchemy's layers cost a statement. The steps above run the bot's own code, so their
statements that the bot runs with `Direct` are run so here too.

The echo bot's CPU per update (webhook, `bench.throughput.measure_echo`) is measured in the same run;
*vs echo* divides each row by it. The aim for a whole update is ≤ 3× the echo, HTTP,
parsing, routing and rendering included: what this table shows is spent before any of those.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from itertools import count
from typing import Any

from bench.common import best_of_table
from bench.meydan import DATABASE_URL_VARIABLE, FIRST_PERSON_ID, Database, add_ideas, fresh_database
from bench.replay import FILE, prepare
from bench.throughput import measure_echo

WARMUP = 200


async def measure(
    database: Database, loops: int, repeats: int
) -> tuple[list[tuple[str, list[float]]], float]:
    """CPU µs per transaction of each step (one figure per repeat), and the echo's µs per update."""
    from aiogram.fsm.storage.base import StorageKey
    from aiogram.methods import EditMessageText
    from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.middlewares.database import close_session
    from bot.middlewares.dedup import claim, claimed_column, entry, keep, keep_first, unseen_column
    from bot.services import budgets, ideas, residents
    from storage.db import current_session, make_engine
    from storage.fsm import SQLStorage
    from storage.models import utcnow

    async with fresh_database(database) as url:
        prepared = await prepare(url, FILE, 1)
        engine = make_engine(url)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        storage = SQLStorage(sessions, boxes=("ballot",))
        person = FIRST_PERSON_ID
        key = StorageKey(bot_id=1, chat_id=person, user_id=person)
        draft = list(prepared.project_ids.values())[:2]
        update_ids = count(1)
        async with sessions.begin() as session:
            _process, (idea_id,) = await add_ideas(session, 1)
        supported = [False]
        one = text("SELECT 1")
        rows = [
            [InlineKeyboardButton(text=f"☐ {n}. Zielony skwer {n}", callback_data=f"b:7:t:{n}")]
            for n in range(12)
        ]
        rows.append([InlineKeyboardButton(text=label, callback_data=f"b:7:{label}") for label in "◀▶✓"])
        page = EditMessageText(
            chat_id=person,
            message_id=7,
            text="🗳 " + "Projekt " * 60,
            reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
        )

        async def driver() -> None:
            async with engine.connect() as connection:
                raw = (await connection.get_raw_connection()).driver_connection
                if postgresql:
                    async with raw.transaction():
                        await raw.fetchval("SELECT 1")
                    return
                library = raw._conn  # noqa: SLF001 - the sqlite3 connection, as storage/sqlite.py runs it
                library.execute("BEGIN IMMEDIATE")
                library.execute("SELECT 1").fetchone()
                library.commit()

        postgresql = database == "postgresql"
        claiming = residents.PersonRead(claimed_column() if postgresql else unseen_column())
        names = storage.read_with(key)

        gate = (budgets.GATE_BESIDE, {"pot_id": prepared.pot_id})

        async def person_read(
            session: AsyncSession, claiming_id: int | None, beside: Any = None
        ) -> residents.Viewer:
            """The resident and the state in one statement, as `ResidentMiddleware` reads them; with the
            claim of update `claiming_id` in it, if given, and the read `beside` it, if given."""
            if claiming_id is not None:
                params: dict[str, Any] = {"bot_id": 1, "update_id": claiming_id}
                if postgresql:
                    params["at"] = utcnow()
                viewer, records, _ = await residents.load_with_state(
                    session, person, names, statement=claiming, params=params, beside=beside
                )
            else:
                viewer, records, _ = await residents.load_with_state(session, person, names, beside=beside)
            storage.remember(session, names, records)
            await storage.get_state(key)
            return viewer

        async def update(session: AsyncSession, step: str) -> None:
            if step == "session":
                await session.execute(one)
                return
            if step in ("state", "resident"):
                await storage.get_state(key)
                if step == "resident":
                    await residents.load(session, person)
                return
            pressed = step in ("press", "press_apart", "kept", "kept_apart")
            update_id = next(update_ids)
            screen = step in ("settings", "settings_apart", "toggle")
            folded = step in ("folded", "support") or screen or (pressed and step != "kept_apart")
            beside = gate if pressed and step != "press_apart" else None
            if step in ("settings", "toggle"):
                beside = (residents.settings_beside(), {})
            viewer = await person_read(session, update_id if folded else None, beside)
            if step == "support":
                supported[0] = not supported[0]
                await ideas.set_support_of(session, idea_id, viewer.resident, supported[0])
            if step == "settings_apart":
                resident = viewer.resident
                await residents.settings(session, resident.id, resident.neighborhood_id)
            elif step == "settings":
                await residents.settings_of(session, viewer.resident)
            elif step == "toggle":
                await residents.turn_notification(session, viewer.resident, "phases", False)
            if step in ("claim", "kept_apart"):
                await claim(session, 1, update_id)
            if pressed:
                await budgets.ballot_view(session, viewer.resident, prepared.pot_id, draft)
            if step == "kept_apart":
                await keep(session, 1, update_id, person, [entry(page) or ""])
            elif step == "kept":
                kept = [entry(page) or ""]
                await (keep if postgresql else keep_first)(session, 1, update_id, person, kept)
            elif not postgresql and folded:  # the claim read with the person: its row, before the commit
                await claim(session, 1, update_id)

        def step(name: str) -> Callable[[], Awaitable[None]]:
            async def run() -> None:  # as `DatabaseMiddleware` opens, commits and closes an update's
                session = sessions()
                token = current_session.set(session)
                try:
                    await update(session, name)
                    await session.commit()
                finally:
                    current_session.reset(token)
                    await close_session(session)

            return run

        steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [("driver: BEGIN, SELECT 1, COMMIT", driver)]
        steps += [
            ("session: BEGIN, SELECT 1, COMMIT", step("session")),
            ("+ state (in place of SELECT 1)", step("state")),
            ("+ resident, a SELECT of its own", step("resident")),
            ("resident and state in one SELECT", step("read")),
            ("+ dedup, an INSERT of its own", step("claim")),
            ("dedup in the same SELECT: every update", step("folded")),
        ]
        steps.append(("+ ballot press, the gate a SELECT of its own", step("press_apart")))
        steps.append(("+ ballot press", step("press")))
        steps.append(("+ its answer kept", step("kept")))
        if not postgresql:
            steps.append(("… the row claimed first", step("kept_apart")))
        steps.append(("every update + the settings screen, a SELECT of its own", step("settings_apart")))
        steps.append(("every update + the settings screen", step("settings")))
        steps.append(("… + a notification turned first", step("toggle")))
        steps.append(("every update + an idea's support, given or taken back", step("support")))
        statements = await one_statement(engine, sessions, postgresql, loops, repeats)
        figures: dict[str, list[float]] = {name: [] for name, _ in steps}
        try:
            for _ in range(repeats):
                for name, run in steps:
                    for _ in range(WARMUP):
                        await run()
                    started = time.process_time()
                    for _ in range(loops):
                        await run()
                    figures[name].append(1e6 * (time.process_time() - started) / loops)
        finally:
            await engine.dispose()
    echo = await measure_echo("webhook", 20, 30)
    return list(figures.items()) + statements, 1e6 * echo.bot.cpu_s / echo.bot_updates


async def one_statement(
    engine: Any, sessions: Any, postgresql: bool, loops: int, repeats: int
) -> list[tuple[str, list[float]]]:
    """CPU µs of one statement inside an open transaction (an UPDATE of an update's row, as keeping an
    answer makes), by each way of running it: the session, the session's connection, the connection
    with the SQL already made, and the database's own library."""
    from sqlalchemy import bindparam, text, update

    from bot.middlewares.dedup import claim
    from storage.direct import Direct
    from storage.models import ProcessedUpdate

    rows = ProcessedUpdate.__table__.c
    statement = (
        update(ProcessedUpdate.__table__)
        .where(rows.bot_id == bindparam("b"), rows.update_id == bindparam("u"))
        .values(answer_to=bindparam("to"), answer=bindparam("a"))
    )
    compiled = statement.compile(dialect=engine.dialect)
    sql, order = str(compiled), compiled.positiontup or []
    first = 10_000_000
    async with sessions.begin() as session:
        for update_id in range(first, first + loops):
            await claim(session, 2, update_id)

    def values(update_id: int) -> dict[str, Any]:
        return {"b": 2, "u": update_id, "to": 5, "a": "[]"}

    direct = Direct(statement)

    async def way(session: Any, name: str) -> None:
        await session.execute(text("SELECT 1"))  # the transaction open, asyncpg's too (it begins lazily)
        connection = await session.connection()
        raw = (await connection.get_raw_connection()).driver_connection
        for update_id in range(first, first + loops):
            if name == "session":
                await session.execute(statement, values(update_id))
            elif name == "direct":
                await direct.execute(session, values(update_id))
            elif name == "connection":
                await connection.execute(statement, values(update_id))
            else:
                positional = tuple(values(update_id)[key] for key in order)
                if name == "sql":
                    await connection.exec_driver_sql(sql, positional)
                elif postgresql:
                    await raw.execute(sql, *positional)
                else:
                    raw._conn.execute(sql, positional)  # noqa: SLF001 - the sqlite3 connection

    ways = {
        "one UPDATE in a transaction: session.execute": "session",
        "… the session's connection.execute": "connection",
        "… exec_driver_sql, the SQL made once": "sql",
        "… `storage.direct.Direct`, as the bot runs it": "direct",
        "… the driver's own execute": "driver",
    }
    found: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(repeats):
        for name, how in ways.items():
            async with sessions.begin() as session:
                started = time.process_time()
                await way(session, how)
                found[name].append(1e6 * (time.process_time() - started) / loops)
    return list(found.items())


def table(rows: Sequence[tuple[str, list[float]]], echo_us: float) -> str:
    return best_of_table(
        "step", "CPU µs per transaction or statement", [(name, f, ()) for name, f in rows], echo_us
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--loops", type=int, default=2000, help="transactions per step and repeat (2000)")
    parser.add_argument("--repeats", type=int, default=3, help="times each step is measured (3)")
    args = parser.parse_args(argv)
    if args.database == "postgresql" and not os.environ.get(DATABASE_URL_VARIABLE):
        parser.error(f"--database postgresql needs {DATABASE_URL_VARIABLE} (postgresql+asyncpg://...)")
    from bot.loop import name as loop_name
    from bot.loop import run

    rows, echo_us = run(measure(args.database, args.loops, args.repeats))
    print(
        f"The database work of every update, {date.today().isoformat()}, Python {platform.python_version()} "
        f"on {loop_name()}, {args.database}, {args.loops} transactions a step, one at a time"
    )
    print(table(rows, echo_us))


if __name__ == "__main__":
    main()
