"""`meydan process import-pb FILE.pb` and `meydan process export-pb PROCESS [POT]`: a participatory
budget in and out as a Pabulib file (`bot/services/budgets/pbfiles.py` does the work)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from bot.config import Settings, load_city
from bot.tally import PabulibError, dumps, read
from bot.tally.election import ElectionError


def add_arguments(process_sub: Any) -> None:
    imp = process_sub.add_parser(
        "import-pb", help="create a process (voting phase, one pot, its projects) from a Pabulib .pb file"
    )
    imp.add_argument("file", metavar="FILE.pb")
    imp.add_argument("--key", help="the process key (derived from the file's description when absent)")
    imp.add_argument("--with-ballots", action="store_true", help="import the file's ballots as voters")
    imp.add_argument(
        "--opens", help='voting opens, city time: "YYYY-MM-DD HH:MM" (default: the file\'s dates)'
    )
    imp.add_argument("--closes", help='voting closes, city time: "YYYY-MM-DD HH:MM" (with --opens)')
    exp = process_sub.add_parser("export-pb", help="write a process's pot as a Pabulib .pb file")
    exp.add_argument("process", help="the process key")
    exp.add_argument("pot", nargs="?", help="the pot's id or name (needed when the process has several)")
    exp.add_argument("-o", "--output", help="the file to write (default: standard output)")

    _add_setup_arguments(process_sub)


ACTIONS = (
    "import-pb", "export-pb", "voting", "add-pot", "add-project", "edit-project", "results", "verification", "codes",
)  # fmt: skip


def run(args: argparse.Namespace, settings: Settings, with_db: Callable[..., int]) -> int:
    if args.action == "import-pb":
        return _import(args, settings, with_db)
    if args.action == "export-pb":
        return _export(args, settings, with_db)
    from bot.budget_setup import run_setup

    return run_setup(args, settings, with_db)


def _add_setup_arguments(process_sub: Any) -> None:
    voting = process_sub.add_parser("voting", help="set a process's voting phase")
    voting.add_argument("process", help="the process key")
    voting.add_argument("--opens", required=True, help='voting opens, city time: "YYYY-MM-DD HH:MM"')
    voting.add_argument("--closes", required=True, help='voting closes, city time: "YYYY-MM-DD HH:MM"')
    pot = process_sub.add_parser("add-pot", help="add a budget pot to a process")
    pot.add_argument("process", help="the process key")
    pot.add_argument("--name-tr", required=True)
    pot.add_argument("--name-en", required=True)
    pot.add_argument("--budget", type=int, required=True, help="in whole units of the city's currency")
    where = pot.add_mutually_exclusive_group()
    where.add_argument("--district", help="DISTRICT key: a district's pot")
    where.add_argument("--neighborhood", help="DISTRICT/NEIGHBORHOOD keys: a neighborhood's pot")
    pot.add_argument("--kind", choices=["knapsack", "approval"], default="knapsack")
    pot.add_argument("--min-projects", type=int)
    pot.add_argument("--max-projects", type=int)
    pot.add_argument("--min-share", type=int, help="percent of the budget a ballot must use")
    pot.add_argument("--approval-limit", type=int, help="approval ballots: at most this many projects")
    pot.add_argument("--rule", choices=["greedy", "greedy-threshold", "top-k", "mes"], default="greedy")
    pot.add_argument("--rule-param", type=int, help="the threshold (greedy-threshold) or k (top-k)")
    project = process_sub.add_parser("add-project", help="add a project to a pot until voting begins")
    project.add_argument("process", help="the process key")
    project.add_argument("pot", help="the pot's id or name")
    project.add_argument("--title-tr", help="required unless --idea gives the title")
    project.add_argument("--title-en", help="required unless --idea gives the title")
    project.add_argument("--summary-tr", default="")
    project.add_argument("--summary-en", default="")
    project.add_argument("--cost", type=int, required=True)
    project.add_argument("--idea", type=int, help="the published idea it comes from (its title, text, place)")
    project.add_argument("--place", help="DISTRICT/NEIGHBORHOOD keys of where it is")
    edit = process_sub.add_parser("edit-project", help="change a project until voting begins")
    edit.add_argument("process", help="the process key")
    edit.add_argument("project", type=int, help="the project's id")
    for name in ("--title-tr", "--title-en", "--summary-tr", "--summary-en", "--note"):
        edit.add_argument(name)
    edit.add_argument("--cost", type=int)
    edit.add_argument("--place", help='DISTRICT/NEIGHBORHOOD keys of where it is ("-": no place)')
    level = process_sub.add_parser(
        "verification", help="how residents verify before voting: none, phone or code (before voting begins)"
    )
    level.add_argument("process", help="the process key")
    level.add_argument("level", choices=["none", "phone", "code"])
    codes = process_sub.add_parser(
        "codes", help="make one-time voting codes: a CSV for you to hand out, only their hashes kept"
    )
    codes.add_argument("process", help="the process key")
    codes.add_argument("count", type=int, help="how many codes")
    codes.add_argument("-o", "--output", required=True, help="the CSV to write (a new file)")
    results = process_sub.add_parser("results", help="count a pot's ballots with its rule")
    results.add_argument("process", help="the process key")
    results.add_argument("pot", nargs="?", help="the pot's id or name (needed when the process has several)")


def _import(
    args: argparse.Namespace,
    settings: Settings,
    with_db: Callable[[Callable[[Any], Coroutine[Any, Any, int]]], int],
) -> int:
    """A process from a Pabulib file; its voting phase is the file's dates (a past election arrives
    closed), or `--opens`/`--closes` to hold the vote anew."""
    from bot.services import processes
    from bot.services.budgets import PotError, pbfiles

    try:
        election = read(args.file)
        span: tuple[Any, Any] = (None, None)
        if args.opens or args.closes:
            if not (args.opens and args.closes):
                raise ValueError("give --opens and --closes together")
            zone = load_city(settings.city_file).zone
            span = processes.parse_local(args.opens, zone), processes.parse_local(args.closes, zone)
            processes.check_closing(*span)
    except (PabulibError, ElectionError, OSError, UnicodeDecodeError, ValueError) as exc:  # ProcessError too
        print(f"import-pb: {exc}", file=sys.stderr)
        return 2

    async def work(sessions: Any) -> int:
        try:
            async with sessions.begin() as session:
                process, pot = await pbfiles.import_election(
                    session,
                    election,
                    key=args.key,
                    with_ballots=args.with_ballots,
                    opens_at=span[0],
                    closes_at=span[1],
                )
        except (pbfiles.ImportError_, PotError, ValueError) as exc:
            print(f"import-pb: {exc}", file=sys.stderr)
            return 2
        ballots = f", {len(election.ballots)} ballots" if args.with_ballots else ""
        print(
            f"process {process.key} created (id {process.id}): pot {pot.id}, {len(election.projects)} projects{ballots}"
        )
        return 0

    return with_db(work)


def _export(args: argparse.Namespace, settings: Settings, with_db: Callable[..., int]) -> int:
    from bot.services import processes
    from bot.services.budgets import pbfiles

    currency = load_city(settings.city_file).currency
    written: list[str] = []

    async def work(sessions: Any) -> int:
        async with sessions() as session:
            process = await processes.by_key(session, args.process)
            if process is None:
                print(f"export-pb: no process {args.process!r}", file=sys.stderr)
                return 2
            pot = await pbfiles.find_pot(session, process, args.pot)
            if pot is None:
                print(
                    "export-pb: name the pot (its id or name): the process has none or several",
                    file=sys.stderr,
                )
                return 2
            text = dumps(
                await pbfiles.export_election(
                    session, process, pot, currency=pot.meta.get("currency") or currency
                )
            )
        written.append(text)
        return 0

    code = with_db(work)
    if code == 0 and args.output:
        Path(args.output).write_text(written[0], encoding="utf-8")
    elif code == 0:
        sys.stdout.write(written[0])
    return code
