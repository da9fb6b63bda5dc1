"""`meydan process voting|add-pot|add-project|edit-project|results`: setting up a budget from the command line until
staff have editors in the chat (the services in `bot/services/budgets` do the work)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from bot.config import Settings, load_city


def _fail(message: str) -> int:
    print(f"process {message}", file=sys.stderr)
    return 2


def run_setup(args: argparse.Namespace, settings: Settings, with_db: Callable[..., int]) -> int:
    spec = load_city(settings.city_file)
    from bot.services import residents

    residents.configure_identity(settings.identity_key)  # codes are hashed under the bot's own key

    async def work(sessions: Any) -> int:
        from bot.services import budgets, processes
        from bot.services.budgets import verification

        try:  # a refusal leaves the block by raising: nothing of the action is kept
            async with sessions.begin() as session:
                process = await processes.by_key(session, args.process)
                if process is None:
                    return _fail(f"{args.action}: no process {args.process!r}")
                return await ACTIONS[args.action](session, process, args, spec)
        except (budgets.PotError, processes.ProcessError, verification.VerificationError) as exc:
            return _fail(f"{args.action}: {exc}")
        except budgets.LevelLocked:
            return _fail(f"{args.action}: voting has begun in {args.process}: the level can no longer change")
        except budgets.VotingStarted:  # `budgets.editable`, the predicate of the chat's buttons and services
            what = "its dates" if args.action == "voting" else "its pots and projects"
            return _fail(f"{args.action}: voting has begun in {args.process}: {what} can no longer change")
        except budgets.NoCodes:
            return _fail(f"{args.action}: {args.process} is not at the code level, or its voting has closed")

    return with_db(work)


async def _voting(session: Any, process: Any, args: argparse.Namespace, spec: Any) -> int:
    """Set or move the voting phase until it has begun, closing in the future, as staff do in the chat
    (`budgets.staff.set_voting`): a vote under way keeps its dates."""
    from bot.services import budgets, processes

    budgets.check_editable(process)
    opens = processes.parse_local(args.opens, spec.zone)
    closes = processes.parse_local(args.closes, spec.zone)
    processes.check_closing(opens, closes)
    await processes.set_phase(session, process, "voting", opens, closes)
    print(f"{process.key}: voting {args.opens} → {args.closes}")
    return 0


async def _place(session: Any, value: str | None) -> int | None:
    from bot.services import budgets, geography

    if not value:
        return None
    district_key, _, hood_key = value.partition("/")
    hood = await geography.by_keys(session, district_key, hood_key)
    if hood is None:
        raise budgets.PotError(f"no neighborhood {value!r} (DISTRICT/NEIGHBORHOOD keys)")
    return hood.id


async def _add_pot(session: Any, process: Any, args: argparse.Namespace, spec: Any) -> int:
    """Refused once voting has begun, as in the chat (`budgets.editable`): nothing could be put on the
    new pot's ballot any more."""
    from bot.services import budgets

    budgets.check_editable(process)
    district_id = None
    if args.district:
        district_id = await budgets.district_by_key(session, args.district)
        if district_id is None:
            raise budgets.PotError(f"no district {args.district!r}")
    hood_id = await _place(session, args.neighborhood)
    scope = budgets.DISTRICT if district_id else budgets.NEIGHBORHOOD if hood_id else budgets.CITY
    pot = await budgets.create_pot(
        session,
        process,
        names={"tr": args.name_tr, "en": args.name_en},
        budget=args.budget,
        scope=scope,
        district_id=district_id,
        neighborhood_id=hood_id,
        ballot_kind=args.kind,
        min_projects=args.min_projects,
        max_projects=args.max_projects,
        min_share=args.min_share,
        approval_limit=args.approval_limit,
        rule=args.rule,
        rule_param=args.rule_param,
    )
    print(f"pot {pot.id} added to {process.key} ({scope})")
    return 0


async def _add_project(session: Any, process: Any, args: argparse.Namespace, spec: Any) -> int:
    from bot.services import budgets
    from bot.services.budgets import pbfiles

    pot = await pbfiles.find_pot(session, process, args.pot)
    if pot is None:
        raise budgets.PotError(f"no pot {args.pot!r} in {process.key}")
    titles = {"tr": args.title_tr, "en": args.title_en} if args.title_tr and args.title_en else None
    summaries = (
        {"tr": args.summary_tr, "en": args.summary_en} if args.summary_tr and args.summary_en else None
    )
    place = await _place(session, args.place)
    if args.idea is not None:
        project = await budgets.add_from_idea(session, pot, args.idea, args.cost, titles, summaries)
        if place is not None:
            project.neighborhood_id = place
    elif titles is None:
        raise budgets.PotError("a project needs --title-tr and --title-en (or --idea)")
    else:
        project = await budgets.add_project(
            session, pot, titles=titles, summaries=summaries, cost=args.cost, neighborhood_id=place
        )
    print(f"project {project.id} (code {project.code}) added to pot {pot.id}")
    return 0


async def _edit_project(session: Any, process: Any, args: argparse.Namespace, spec: Any) -> int:
    """Only what is given changes; refused once the process's voting has begun (by `revise_project`, like
    the chat's; audited like it)."""
    from bot.services import budgets
    from bot.services.budgets import staff
    from storage.models import BudgetPot, BudgetProject

    project = await session.get(BudgetProject, args.project)
    pot = await session.get(BudgetPot, project.pot_id) if project is not None else None
    if pot is None or pot.process_id != process.id:
        raise budgets.PotError(f"no project {args.project} in {process.key}")
    if args.cost is not None and args.cost < 1:
        raise budgets.PotError("a cost is at least 1")
    changes: dict[str, Any] = {}
    for field, given in (
        ("titles", (args.title_tr, args.title_en)),
        ("summaries", (args.summary_tr, args.summary_en)),
    ):
        texts = {lang: text for lang, text in zip(("tr", "en"), given, strict=True) if text is not None}
        if texts:
            changes[field] = texts
    if args.cost is not None:
        changes["cost"] = args.cost
    if args.note is not None:
        changes["note"] = args.note
    if args.place is not None:
        changes["neighborhood_id"] = None if args.place == "-" else await _place(session, args.place)
    await staff.revise_project(session, project.id, None, **changes)
    print(f"project {project.id} edited: {', '.join(changes) or 'nothing given'}")
    return 0


async def _results(session: Any, process: Any, args: argparse.Namespace, spec: Any) -> int:
    from bot.services import budgets
    from bot.services.budgets import counting, pbfiles

    pot = await pbfiles.find_pot(session, process, args.pot)
    if pot is None:
        raise budgets.PotError("name the pot (its id or name): the process has none or several")
    outcome = await counting.results(session, pot, process_key=process.key)
    ballots = await budgets.ballot_count(session, pot.id)
    print(
        f"{budgets.pot_name(pot, 'en')}: {ballots} ballots, rule {pot.rule}, budget {pot.budget:,} {spec.currency}"
    )
    titles = {p.code: budgets.title(p, "en") for p in await budgets.projects_of(session, pot.id)}
    for place, code in enumerate(outcome.selected, start=1):
        votes = outcome.explanations[code].params.get("votes", "")
        print(f"  {place:>3}. {code}  {titles.get(code, '')}  ({votes} votes)")
    print(f"total cost {outcome.cost:,}")
    return 0


async def _verification(session: Any, process: Any, args: argparse.Namespace, spec: Any) -> int:
    from bot.services.budgets import verification

    await verification.set_level(session, process, args.level)
    print(f"{process.key}: verification {args.level}")
    return 0


async def _codes(session: Any, process: Any, args: argparse.Namespace, spec: Any) -> int:
    """The codes are written before the transaction commits: a file that cannot be written keeps none."""
    import os

    from bot.services.budgets import verification

    codes = await verification.make_codes(session, process, args.count)
    try:
        fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise verification.VerificationError(
            f"cannot write a new file {args.output}: {exc.strerror}"
        ) from None
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
        out.write(verification.codes_csv(process, codes))
    print(f"{len(codes)} codes for {process.key} written to {args.output}; only their hashes are kept")
    return 0


ACTIONS = {
    "verification": _verification,
    "codes": _codes,
    "voting": _voting,
    "add-pot": _add_pot,
    "add-project": _add_project,
    "edit-project": _edit_project,
    "results": _results,
}
