"""The form layer chosen by measurement: aiogram-dialog, aiogram's Scenes and an in-house helper, side by side.

Each candidate builds the same idea form (theme → title → description → optional photo → optional
location → scope → preview with Edit / Send) and the same paged list of 200 ideas over the same
in-memory service (``bench.forms.service``), with the project's SQL conversation storage and database
middleware (``bench.forms.wiring``). Each runs in its own bot process against the sandbox emulator with
the echo anchor in the same run: N people at once send one unmeasured ``/start``, then 22 measured
updates: open the form, choose a theme, type a title, press Back, type a title again, the description,
send a photo, skip the location, choose the scope, press Edit on the preview, choose the title, type
it, press Send; ``/ideas``, five times Next, open an idea, back to the list, open another.

Then, in this process, the behaviour checks of ``bench.forms.behaviour`` (Back, stale buttons, a
restart, the same update twice, storage calls per update), and the lines of code of each candidate.

    PYTHONPATH=. .venv/bin/python -m bench.forms.run [--people 30] [--modes polling] [--storages sql,redis]
                                                     [--candidates ...] [--no-checks] [--quick]
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import base64
import io
import math
import platform
import sys
import tokenize
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from pathlib import Path

from bench.common import (
    MODES,
    ClientAPI,
    Driver,
    Exchange,
    Mode,
    ScenarioResult,
    Script,
    format_table,
    new_bot_message,
    run_scenario,
)
from bench.forms import service as s
from bench.forms.behaviour import (
    DESCRIPTION,
    SCENARIO_UPDATES,
    TITLE,
    TITLE_2,
    TITLE_3,
    Report,
    check_candidate,
)
from bench.forms.wiring import CANDIDATES, FACTORIES, REDIS_URL, StorageKind
from bench.meydan import _press
from bench.throughput import measure_echo
from bot.sandbox.testing import tiny_png

HERE = Path(__file__).resolve().parent
PHOTO = {"photo": {"data": base64.b64encode(tiny_png()).decode(), "filename": "photo.png"}}
SOURCES: dict[str, tuple[str, ...]] = {
    "aiogram-dialog": ("dialog_impl.py",),
    "aiogram-dialog (ScrollingGroup)": ("dialog_impl.py",),
    "scenes": ("scene_impl.py",),
    "in-house": ("inhouse_impl.py", "inhouse_forms.py"),
}


# ---- the people ----------------------------------------------------------------------------------


def form_script() -> Script:
    """The form with one Back and one Edit, Send, then the list: five pages on, two ideas opened."""

    async def script(driver: Driver, person_id: int) -> None:
        def press(label: str) -> Callable[[Exchange], Awaitable[Exchange]]:
            return lambda ex: _press(driver, person_id, ex, label)

        def say(text: str) -> Callable[[Exchange], Awaitable[Exchange]]:
            return lambda ex: driver.say(person_id, text, reply=new_bot_message)

        steps = [
            press("Parks"),
            say(TITLE),
            press(s.BACK),
            say(TITLE_2),
            say(DESCRIPTION),
            lambda ex: driver.send(person_id, PHOTO, reply=new_bot_message),
            press(s.SKIP),
            press(s.SCOPES["city"]),
            press(s.EDIT),
            press(s.FIELD_LABELS["title"]),
            say(TITLE_3),
            press(s.SEND),
            say("/ideas"),
            *[press(s.NEXT)] * 5,
            press("#26 "),
            press(s.TO_LIST),
            press("#28 "),
        ]
        exchange = await driver.say(person_id, "/new", reply=new_bot_message)
        for step in steps:
            if exchange.answered_at is None:
                return
            try:
                exchange = await step(exchange)
            except AssertionError:  # the button to press is not there: the bot lost track (see the check)
                return

    return script


async def _warm_up(driver: Driver, person_id: int) -> None:
    await driver.say(person_id, "/start")


OFF_TRACK: list[str] = []
"""For the last scenario checked: each person whose chat did not end as the script expects."""


async def form_check(client: ClientAPI, people: Sequence[int]) -> None:
    """Each person sent the idea and ended on idea #28; who did not is kept in ``OFF_TRACK``."""
    OFF_TRACK.clear()
    for person_id in people:
        messages = [m for m in (await client.chat(person_id))["messages"] if m["from"] == "bot"]
        if not any("Thank you!" in (m["text"] or "") for m in messages):
            OFF_TRACK.append(f"person {person_id}: the idea was not sent")
        elif "Idea #28" not in (messages[-1]["text"] or ""):
            OFF_TRACK.append(f"person {person_id}: ended on {messages[-1]['text'][:40]!r}, not idea #28")


# ---- lines of code -------------------------------------------------------------------------------


def lines_of_code(path: Path) -> int:
    """Non-blank lines that are not only a comment or part of a docstring."""
    source = path.read_text()
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            first = body[0] if body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                docstrings.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    code: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            continue
        code.update(range(token.start[0], token.end[0] + 1))
    return len(code - docstrings)


def loc_label(candidate: str) -> str:
    counts = [lines_of_code(HERE / name) for name in SOURCES[candidate]]
    return str(counts[0]) if len(counts) == 1 else f"{counts[0]} + {counts[1]} helper"


# ---- measuring -----------------------------------------------------------------------------------


def bot_cpu_ms(result: ScenarioResult) -> float:
    return result.bot.cpu_s * 1000 / result.bot_updates if result.bot_updates else math.nan


async def redis_answers() -> bool:
    try:
        from redis.asyncio import Redis

        client = Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        try:
            return bool(await client.ping())
        finally:
            await client.aclose()
    except Exception:  # noqa: BLE001 - no Redis, no Redis rows
        return False


Row = tuple[str, str, ScenarioResult, int]
"""A candidate (or "echo"), its storage ("-" for the echo), the result, how many people went off track."""


async def measure(
    people: int,
    modes: Sequence[Mode],
    storages: Sequence[StorageKind],
    candidates: Sequence[str],
    rounds: int = 1,
) -> list[list[Row]]:
    """For each mode and round: the echo anchor, then every candidate on every storage, one by one."""
    runs: list[list[Row]] = []
    for mode in modes:
        for _round in range(rounds):
            rows: list[Row] = [("echo", "-", await measure_echo(mode, people, SCENARIO_UPDATES), 0)]
            for storage in storages:
                for candidate in candidates:
                    if storage == "redis" and "ScrollingGroup" in candidate:
                        continue  # its list is the only difference, and the list keeps no state
                    result = await run_scenario(
                        f"{candidate} ({storage})",
                        FACTORIES[(candidate, storage)],
                        mode,
                        people,
                        form_script(),
                        warmup=_warm_up,
                        check=form_check,
                    )
                    rows.append((candidate, storage, result, len(OFF_TRACK)))
                    for problem in OFF_TRACK:
                        print(f"{candidate} ({storage}) {mode}: {problem}", file=sys.stderr)
            runs.append(rows)
    return runs


HEADER = (
    "candidate",
    "storage",
    "delivery",
    "people",
    "updates",
    "updates/s",
    "p50 ms",
    "p99 ms",
    "unanswered",
    "off track",
    "bot CPU ms/update",
    "vs echo",
    "CPU ms/update, each round",
    "bot peak RSS MiB",
    "LOC",
)


def table(runs: Sequence[Sequence[Row]]) -> str:
    """One line per mode, candidate and storage: the round with the median bot CPU per update.

    *vs echo* divides by the echo's median of the same mode; *off track* adds up every round.
    """
    groups: dict[tuple[str, str, str], list[Row]] = {}
    for rows in runs:
        for row in rows:
            groups.setdefault((row[2].mode, row[0], row[1]), []).append(row)
    lines: list[list[object]] = []
    for (mode, candidate, storage), rows in groups.items():
        ordered = sorted(rows, key=lambda row: bot_cpu_ms(row[2]))
        result = ordered[(len(ordered) - 1) // 2][2]
        echo = sorted((r[2] for r in groups[(mode, "echo", "-")]), key=bot_cpu_ms)
        echo_cpu = bot_cpu_ms(echo[(len(echo) - 1) // 2])
        d = result.drive
        each = " / ".join(f"{bot_cpu_ms(row[2]):.1f}" for row in rows)
        lines.append(
            [candidate, storage, mode, result.people, d.updates, d.updates_per_s, d.p50_ms, d.p99_ms,
             sum(row[2].drive.unanswered for row in rows), sum(row[3] for row in rows), bot_cpu_ms(result),
             bot_cpu_ms(result) / echo_cpu, each, result.bot.peak_rss_mb,
             "-" if candidate == "echo" else loc_label(candidate)]
        )  # fmt: skip
    return format_table(HEADER, lines)


def behaviour_table(reports: Sequence[Report]) -> str:
    checks = list(dict.fromkeys(name for report in reports for name in report.results))
    header = ("check", *(report.candidate for report in reports))
    rows = [
        [check, *("yes" if report.results.get(check, (False, ""))[0] else "no" for report in reports)]
        for check in checks
    ]
    return format_table(header, rows)


def behaviour_notes(reports: Sequence[Report]) -> str:
    lines = []
    for report in reports:
        lines.append(f"{report.candidate}:")
        for check, (ok, detail) in report.results.items():
            lines.append(f"  - {check}: {'yes' if ok else 'no'}; {detail}")
    return "\n".join(lines)


def storage_table(reports: Sequence[Report]) -> str:
    header = ("candidate", "storage", "storage reads/update", "storage writes/update", "SQL statements/update",
              "Redis commands/update", "storage keys (destiny)", "a /start outside any form")  # fmt: skip
    rows = []
    for report in reports:
        for storage, figures in report.storage.items():
            rows.append(
                [report.candidate, storage, figures["reads"], figures["writes"], figures["sql"],
                 figures["redis"], figures["keys"], figures["other"]]
            )  # fmt: skip
    return format_table(header, rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=30, help="simulated people at once (30)")
    parser.add_argument("--modes", default="polling", help="comma-separated: polling,webhook (polling)")
    parser.add_argument("--storages", default=None, help="sql,redis (sql, plus redis when it answers)")
    parser.add_argument("--candidates", default=",".join(CANDIDATES), help="comma-separated candidates")
    parser.add_argument("--no-checks", action="store_true", help="skip the behaviour checks")
    parser.add_argument("--rounds", type=int, default=1, help="measure everything this many times (1)")
    parser.add_argument("--quick", action="store_true", help="5 people")
    args = parser.parse_args(argv)
    if args.quick:
        args.people = 5
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for mode in modes:
        if mode not in MODES:
            parser.error(f"unknown mode {mode!r}")
    candidates = [c.strip() for c in args.candidates.split(",") if c.strip()]
    for candidate in candidates:
        if candidate not in CANDIDATES:
            parser.error(f"unknown candidate {candidate!r}; choose from {', '.join(CANDIDATES)}")
    redis = asyncio.run(redis_answers())
    storages: list[StorageKind] = (
        [x.strip() for x in args.storages.split(",")]
        if args.storages
        else ["sql", *(["redis"] if redis else [])]  # type: ignore[misc]
    )

    runs = asyncio.run(measure(args.people, modes, storages, candidates, args.rounds))
    print(
        f"Form layers against the echo anchor through the sandbox, {date.today().isoformat()}, Python "
        f"{platform.python_version()}, {args.people} people x {SCENARIO_UPDATES} updates (after 1 warm-up each), "
        f"{args.rounds} round(s), the median round shown"
    )
    print(table(runs))
    if args.no_checks:
        return
    reports = []
    for candidate in candidates:
        if "ScrollingGroup" in candidate:
            continue  # the same layer as aiogram-dialog; only its list differs
        reports.append(asyncio.run(check_candidate(candidate, redis="redis" in storages)))
    print()
    print("Behaviour (yes = the check passed):")
    print(behaviour_table(reports))
    print()
    print(behaviour_notes(reports))
    print()
    print(f"Storage per update over the same {SCENARIO_UPDATES}-update scenario, one person:")
    print(storage_table(reports))


if __name__ == "__main__":
    main()
