"""Budgets, the staff side: setting up a process's pots and projects by conversation.

Every use case here checks the staff role first (`roles.require`: a forged button by a resident meets
the same refusal as the router's guard), then `editable` (nothing about a pot changes once its process's
voting phase has begun: `rules.can_edit`), writes one audit entry, and queues the notices the people
concerned must hear of (an idea's author and supporters, in each one's language). The command line keeps
using `create_pot` / `add_project` / `set_status` in `bot.services.budgets`, which these build on
(`add_project` refuses by the same `editable` once voting has begun).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from html import escape

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import LANGUAGES
from bot.i18n import N_
from bot.services import audit, geography, notices, processes, residents, roles
from bot.services.budgets import (
    INFEASIBLE,
    PotError,
    add_project,
    check_editable,
    check_pot,
    create_pot,
    editable,
    pots_of,
    rules,
)
from bot.services.errors import NotFound
from bot.services.ideas import OPEN_IDEA, AlreadyDecided, make_project, tell_author
from bot.services.ideas.rules import APPROVED, CATEGORY, DESCRIPTION_MAX, Decision
from bot.services.notices import Link, Notice
from storage.models import BudgetPot, BudgetProject, Idea, IdeaSupport, Process, Resident

RULE_FIELDS = (
    "budget", "ballot_kind", "min_projects", "max_projects", "min_share", "approval_limit", "rule", "rule_param",
)  # fmt: skip
PLACE_FIELDS = ("scope", "district_id", "neighborhood_id")

SUPPORTER_NOTICE = N_(
    "🏗 Idea #{number} “{title}”, which you support, has become a project for the participatory budget: "
    "“{project}”."
)
INFEASIBLE_NOTICE = N_(
    "Your idea #{number} “{title}” was studied as a budget project, but the municipal team found it "
    "cannot be carried out.\nReason: {reason}"
)


class BadReason(rules.BudgetError):
    """A typed reason too short or too long (`REASON_MIN`..`REASON_MAX` characters)."""


def clean_reason(text: str) -> str:
    cleaned = " ".join((text or "").split())
    if not rules.REASON_MIN <= len(cleaned) <= rules.REASON_MAX:
        raise BadReason(f"{len(cleaned)} characters")
    return cleaned


# --- reading ---------------------------------------------------------------------------------------


async def process(session: AsyncSession, process_id: int) -> Process:
    found = await processes.get(session, process_id)
    if found is None:
        raise NotFound(f"process {process_id}")
    return found


async def pot(session: AsyncSession, pot_id: int) -> BudgetPot:
    """A pot with its process and phases (any pot: staff see them all)."""
    found = await session.get(BudgetPot, pot_id)
    if found is None:
        raise NotFound(f"pot {pot_id}")
    found.process = await process(session, found.process_id)
    return found


async def projects(session: AsyncSession, pot_id: int) -> list[BudgetProject]:
    """Every project of a pot, infeasible ones too, in their order."""
    stmt = select(BudgetProject).where(BudgetProject.pot_id == pot_id)
    return list(await session.scalars(stmt.order_by(BudgetProject.position, BudgetProject.id)))


async def project(session: AsyncSession, project_id: int) -> BudgetProject:
    found = await session.get(BudgetProject, project_id)
    if found is None:
        raise NotFound(f"project {project_id}")
    return found


async def ideas_to_turn(session: AsyncSession, process_id: int) -> list[Idea]:
    """The process's approved ideas that are not projects yet, newest first."""
    stmt = select(Idea).where(Idea.process_id == process_id, Idea.status == APPROVED)
    return list(await session.scalars(stmt.order_by(Idea.id.desc())))


async def idea(session: AsyncSession, idea_id: int) -> Idea:
    """An idea staff may turn into a project (approved, not yet a project)."""
    found = await session.get(Idea, idea_id)
    if found is None:
        raise NotFound(f"idea {idea_id}")
    if found.status != APPROVED:
        raise AlreadyDecided(found.status)
    return found


# --- pots ------------------------------------------------------------------------------------------


async def new_pot(
    session: AsyncSession, process_id: int, actor_id: int | None, names: Mapping[str, str], **values: object
) -> BudgetPot:
    """A pot created by staff in the chat (audited once, by `create_pot`)."""
    await roles.require(session, actor_id, roles.STAFF)
    found = await process(session, process_id)
    check_editable(found)
    pots = await session.scalars(select(BudgetPot.position).where(BudgetPot.process_id == process_id))
    made = await create_pot(session, found, names=names, actor_id=actor_id, **values)  # type: ignore[arg-type]
    made.position = max(pots, default=-1) + 1
    return made


async def edit_pot(
    session: AsyncSession, pot_id: int, actor_id: int | None, names: Mapping[str, str], **values: object
) -> BudgetPot:
    """Change a pot's names, place and rules: refused once voting has begun (`VotingStarted`)."""
    await roles.require(session, actor_id, roles.STAFF)
    found = await pot(session, pot_id)
    check_editable(found.process)
    merged = {name: getattr(found, name) for name in (*RULE_FIELDS, *PLACE_FIELDS)} | values
    check_pot(**merged)  # type: ignore[arg-type]
    cleaned = {lang: " ".join((text or "").split()) for lang, text in names.items()}
    if not all(cleaned.values()):
        raise PotError("a pot needs a name")
    for name, value in merged.items():
        setattr(found, name, value)
    found.names = {**found.names, **cleaned}
    await audit.record(
        session, "budget.pot.edit", actor_id=actor_id, object_type="pot", object_id=found.id,
        budget=found.budget, rule=found.rule,
    )  # fmt: skip
    return found


# --- projects --------------------------------------------------------------------------------------


async def create_project(
    session: AsyncSession,
    pot_id: int,
    actor_id: int | None,
    *,
    titles: Mapping[str, str],
    summaries: Mapping[str, str],
    cost: int,
    note: str | None = None,
    photo_file_id: str | None = None,
    idea_id: int | None = None,
    default_lang: str = "tr",
) -> BudgetProject:
    """A project on a pot's ballot, typed by staff or made from an approved idea. From an idea: the idea
    becomes a project (a conditional update: of two staff members at once, one wins), the project
    takes its place and location, and its author and supporters are told. Audited once."""
    await roles.require(session, actor_id, roles.STAFF)
    found = await pot(session, pot_id)
    check_editable(found.process)
    if cost < 1:
        raise rules.BadAmount("small")
    source = None
    if idea_id is not None:
        if (await idea(session, idea_id)).process_id != found.process_id:
            raise NotFound(f"idea {idea_id} is not of process {found.process_id}")
        source = await make_project(session, idea_id, actor_id, audited=False)
    made = await add_project(
        session, found, titles=titles, summaries=summaries, cost=cost, note=note or None,
        photo_file_id=photo_file_id, idea_id=idea_id,
        neighborhood_id=(source.place_id or source.neighborhood_id) if source else found.neighborhood_id,
        latitude=source.latitude if source else None, longitude=source.longitude if source else None,
    )  # fmt: skip
    await audit.record(
        session, "budget.project", actor_id=actor_id, object_type="budget_project", object_id=made.id,
        pot=found.id, cost=cost, idea=idea_id,
    )  # fmt: skip
    if source is not None:
        await tell_author(session, source, default_lang, Decision.PROJECT)
        await tell_supporters(session, source, made, default_lang)
    return made


PROJECT_CHANGES = frozenset(
    {"pot_id", "titles", "summaries", "cost", "note", "photo_file_id", "neighborhood_id"}
)


async def edit_project(
    session: AsyncSession, project_id: int, actor_id: int | None, **changes: object
) -> BudgetProject:
    """A project changed by staff in the chat (the project form, started from the project's values):
    `revise_project` after the staff role is checked."""
    await roles.require(session, actor_id, roles.STAFF)
    return await revise_project(session, project_id, actor_id, **changes)


async def revise_project(
    session: AsyncSession, project_id: int, actor_id: int | None, **changes: object
) -> BudgetProject:
    """Change a project's titles and summaries (per language), cost, feasibility note, photo or place
    (its map point, which came with the old place, is dropped), or move it to another pot of its process
    (it takes a free code and the last place there). Refused once voting has begun (`VotingStarted`), as
    every change to a pot. Audited once, with the fields that changed; the command line calls this
    directly (no staff member: `actor_id` None)."""
    if set(changes) - PROJECT_CHANGES:
        raise PotError(f"a project has no {sorted(set(changes) - PROJECT_CHANGES)}")
    found = await project(session, project_id)
    check_editable((await pot(session, found.pot_id)).process)
    changed = [name for name in changes if await _change(session, found, name, changes[name])]
    await audit.record(
        session, "budget.project.edit", actor_id=actor_id, object_type="budget_project", object_id=found.id,
        fields=changed, pot=found.pot_id, cost=found.cost,
    )  # fmt: skip
    return found


def _texts(current: Mapping[str, str], given: Mapping[str, str], limit: int, *, required: bool) -> dict:
    cleaned = {lang: str(text or "").strip() for lang, text in given.items()}
    if any(len(text) > limit for text in cleaned.values()) or (required and not all(cleaned.values())):
        raise PotError(f"a project's texts are 1 to {limit} characters")
    return {**current, **cleaned}


async def _change(session: AsyncSession, found: BudgetProject, name: str, value: object) -> bool:
    """Set one field of `found` to `value` (checked); True when it changed."""
    if name == "pot_id":
        return await _move(session, found, int(value))  # type: ignore[call-overload]
    if name == "titles":
        titles = {lang: " ".join(str(text).split()) for lang, text in dict(value).items()}  # type: ignore[call-overload]
        value = _texts(found.titles, titles, rules.NAME_MAX, required=True)
    elif name == "summaries":
        value = _texts(found.summaries or {}, dict(value), DESCRIPTION_MAX, required=False)  # type: ignore[call-overload]
    elif name == "cost" and int(value) < 1:  # type: ignore[call-overload]
        raise rules.BadAmount("small")
    elif name == "note":
        value = str(value or "").strip() or None
        if value is not None and len(value) > rules.NOTE_MAX:
            raise PotError(f"a feasibility note is at most {rules.NOTE_MAX} characters")
    elif (
        name == "neighborhood_id"
        and value is not None
        and await geography.neighborhood(session, value) is None
    ):
        raise NotFound(f"neighborhood {value}")
    if getattr(found, name) == value:
        return False
    if name == "neighborhood_id":
        found.latitude = found.longitude = None
    setattr(found, name, value)
    return True


async def _move(session: AsyncSession, found: BudgetProject, pot_id: int) -> bool:
    if pot_id == found.pot_id:
        return False
    target, source = await pot(session, pot_id), await pot(session, found.pot_id)
    if target.process_id != source.process_id:
        raise NotFound(f"pot {pot_id} is not of process {source.process_id}")
    codes = set(await session.scalars(select(BudgetProject.code).where(BudgetProject.pot_id == pot_id)))
    number = len(codes) + 1
    while str(number) in codes:
        number += 1
    found.pot_id, found.code, found.position = pot_id, str(number), len(codes)
    return True


def draft_of(found: BudgetProject, process_id: int) -> dict[str, object]:
    """The project form's draft of a saved project, to start at its preview (a title missing in a
    language is asked first; an empty summary stays empty until staff edit it)."""
    values: dict[str, object] = {"project_id": found.id, "process_id": process_id, "pot": found.pot_id,
                                 "cost": found.cost, "note": found.note or "", "photo": found.photo_file_id,
                                 "place": found.neighborhood_id}  # fmt: skip
    for lang in LANGUAGES:
        values[f"title_{lang}"] = (found.titles or {}).get(lang) or None
        values[f"summary_{lang}"] = (found.summaries or {}).get(lang) or ""
    return {name: value for name, value in values.items() if value is not None}


async def tell_supporters(
    session: AsyncSession, source: Idea, made: BudgetProject, default_lang: str
) -> None:
    """Each supporter of the idea (but its author), in their language, with a button to the idea."""
    stmt = (
        select(Resident)
        .join(IdeaSupport, IdeaSupport.resident_id == Resident.id)
        .where(
            IdeaSupport.idea_id == source.id, Resident.telegram_id.is_not(None), Resident.deleted_at.is_(None)
        )
        .order_by(Resident.id)
    )
    for person in await session.scalars(stmt):
        if person.id == source.author_id or not await residents.wants(session, person.id, CATEGORY):
            continue
        lang = person.language or default_lang
        project_title = made.titles.get(lang) or next(iter(made.titles.values()), "")
        params = {"number": source.id, "title": escape(source.title), "project": escape(project_title)}
        link = (Link("idea", source.id, OPEN_IDEA),)
        notices.queue(
            session, Notice(person.id, person.telegram_id, lang, SUPPORTER_NOTICE, params, link, CATEGORY)
        )


async def mark_infeasible(
    session: AsyncSession, project_id: int, actor_id: int | None, reason: str, default_lang: str = "tr"
) -> BudgetProject:
    """Take a project off the ballot as infeasible, with the reason its idea's author is told.
    Refused once voting has begun. Audited once."""
    await roles.require(session, actor_id, roles.STAFF)
    found = await project(session, project_id)
    check_editable((await pot(session, found.pot_id)).process)
    found.status, found.status_reason = INFEASIBLE, clean_reason(reason)
    await audit.record(
        session, "budget.project.infeasible", actor_id=actor_id, object_type="budget_project",
        object_id=found.id, reason=found.status_reason,
    )  # fmt: skip
    source = await session.get(Idea, found.idea_id) if found.idea_id else None
    author = await session.get(Resident, source.author_id) if source and source.author_id else None
    reachable = author is not None and author.telegram_id and author.deleted_at is None
    if reachable and await residents.wants(session, author.id, CATEGORY):
        params = {"number": source.id, "title": escape(source.title), "reason": escape(found.status_reason)}
        lang = author.language or default_lang
        link = (Link("idea", source.id, OPEN_IDEA),)
        notice = Notice(author.id, author.telegram_id, lang, INFEASIBLE_NOTICE, params, link, CATEGORY)
        notices.queue(session, notice)
    return found


# --- for the forms ---------------------------------------------------------------------------------


async def place_name(
    session: AsyncSession, scope: str, district_id: int | None, neighborhood_id: int | None
) -> str | None:
    """Who votes in a pot, by name: None for the city, a district's name, or "Bostanlı, Karşıyaka"."""
    if scope == rules.DISTRICT and district_id:
        found = await geography.district(session, district_id)
        return found.name if found else None
    if scope == rules.NEIGHBORHOOD and neighborhood_id:
        hood = await geography.neighborhood(session, neighborhood_id)
        return (
            f"{hood.name}, {hood.district.name}" if hood and hood.district else (hood.name if hood else None)
        )
    return None


async def takes_projects(session: AsyncSession, process_id: int | None) -> bool:
    """Whether an approved idea of this process may become a project now: its voting has not begun
    (`editable`). The idea card's "Turn into a project" shows exactly then, and the project form refuses
    otherwise. An idea of no process keeps the button: the form then says there is no pot to put it in."""
    return process_id is None or editable(await process(session, process_id))


async def editable_pots(session: AsyncSession, process_id: int) -> list[BudgetPot]:
    """The process's pots staff may add projects to now (its voting has not begun)."""
    found = await pots_of(session, process_id)
    return [p for p in found if editable(p.process)]


async def prefill(session: AsyncSession, idea_id: int, default_lang: str) -> dict[str, object]:
    """A project draft from an approved idea: its title and description in its author's language (the
    other language is typed or copied by staff), its photo."""
    source = await idea(session, idea_id)
    author = await session.get(Resident, source.author_id) if source.author_id else None
    lang = (author.language if author is not None else None) or default_lang
    lang = lang if lang in LANGUAGES else default_lang
    values: dict[str, object] = {
        "idea_id": source.id,
        "process_id": source.process_id,
        f"title_{lang}": source.title,
        f"summary_{lang}": source.description,
    }
    if source.photo_file_id:
        values["photo"] = source.photo_file_id
    return values


async def set_voting(
    session: AsyncSession, process_id: int, actor_id: int | None, opens_at: datetime, closes_at: datetime
) -> Process:
    """Set or move the process's voting phase, until it has begun (audited once, by `set_phase`)."""
    await roles.require(session, actor_id, roles.STAFF)
    found = await process(session, process_id)
    check_editable(found)
    processes.check_closing(opens_at, closes_at)
    await processes.set_phase(session, found, rules.VOTING, opens_at, closes_at, actor_id=actor_id)
    return found
