"""Implementation updates: after the results, staff post news of a selected project (a stage — tender,
works started, completed, or a free note — with a text in each language and an optional photo).

`can_post(is_staff, selected)` is the one predicate for the staff screen's button and for `post`. A
project is *selected* when it is among the winners of its pot's published results (`results.pot_results`:
results open, counted once and stored); on any other project, or before results, `post` raises
`NotSelected`. Each update is stored (`budget_project_updates`), audited once (`budget.project.update`),
and told, each in their language, to the project's idea's author and to everyone whose confirmed ballot
chose the project — not to ballots whose account was deleted (`resident_id` NULL), nor to those who
turned the "implementation" notifications off. Residents read the updates on the project's results page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import LANGUAGES
from bot.features import categories
from bot.i18n import N_, translate
from bot.services import audit, budgets, notices, roles
from bot.services.budgets import results, rules
from bot.services.errors import NotFound
from bot.services.notices import Link, Notice
from storage.models import (
    BudgetBallot,
    BudgetChoice,
    BudgetProject,
    BudgetProjectUpdate,
    Idea,
    NotificationChoice,
    Resident,
)

CATEGORY = "implementation"  # the notification category (bot/features.py, the budgets line)
TENDER, STARTED, DONE, NOTE = "tender", "started", "done", "note"
STAGES = {
    TENDER: N_("📋 Tender"),
    STARTED: N_("🚧 Works started"),
    DONE: N_("✅ Completed"),
    NOTE: N_("📝 Note"),
}
TEXT_MIN, TEXT_MAX = 3, 600  # per language; with the title and the stage a notice fits a photo's caption
UPDATE_NOTICE = N_("🏗 News of “{title}”, a project you voted for or proposed: {stage}\n\n{text}")
OPEN_PROJECT = N_("📊 See the project")
LINK = "budget_project"  # a notice's link to the project's results page (registered by handlers/results)


@dataclass(frozen=True)
class Posted:
    update: BudgetProjectUpdate
    told: int  # the notices queued


class NotSelected(rules.BudgetError):
    """Updates are posted only on a project selected in its pot's published results."""


class BadUpdate(rules.BudgetError):
    """An update's text too short or too long (`TEXT_MIN`..`TEXT_MAX` characters), or an unknown stage."""


def can_post(is_staff: bool, selected: bool) -> bool:
    """The one predicate: the staff project screen's "Post an update" button, and `post`."""
    return is_staff and selected


def clean_text(text: str | None) -> str:
    cleaned = (text or "").strip()
    if not TEXT_MIN <= len(cleaned) <= TEXT_MAX:
        raise BadUpdate(f"{len(cleaned)} characters")
    return cleaned


async def project(session: AsyncSession, project_id: int) -> BudgetProject:
    found = await session.get(BudgetProject, project_id)
    if found is None:
        raise NotFound(f"project {project_id}")
    return found


async def selected(session: AsyncSession, found: BudgetProject) -> bool:
    """Whether the project is a winner of its pot's published results (False before results)."""
    try:
        shown = await results.pot_results(session, found.pot_id)
    except results.ResultsNotReady:
        return False
    return found.code in shown.outcome.selected


async def updates_of(session: AsyncSession, project_id: int, limit: int = 5) -> list[BudgetProjectUpdate]:
    """The project's latest updates, newest first."""
    stmt = select(BudgetProjectUpdate).where(BudgetProjectUpdate.project_id == project_id)
    stmt = stmt.order_by(BudgetProjectUpdate.created_at.desc(), BudgetProjectUpdate.id.desc()).limit(limit)
    return list(await session.scalars(stmt))


async def count_updates(session: AsyncSession, project_id: int) -> int:
    stmt = select(func.count()).where(BudgetProjectUpdate.project_id == project_id)
    return await session.scalar(stmt) or 0


def _wanted(stmt):  # noqa: ANN001, ANN202 - residents who get the category (its default unless they chose)
    default = next((c.default for c in categories() if c.key == CATEGORY), True)
    choice = select(NotificationChoice.resident_id).where(
        NotificationChoice.category == CATEGORY, NotificationChoice.enabled.is_(not default)
    )
    return stmt.where(Resident.id.not_in(choice) if default else Resident.id.in_(choice))


async def recipients(session: AsyncSession, found: BudgetProject) -> list[Resident]:
    """The idea's author and every resident whose confirmed ballot chose the project, once each: still
    with an account, reachable by Telegram id, not having turned the category off."""
    voters = (
        select(BudgetBallot.resident_id)
        .join(BudgetChoice, BudgetChoice.ballot_id == BudgetBallot.id)
        .where(BudgetChoice.project_id == found.id, BudgetBallot.resident_id.is_not(None))
    )
    people = Resident.id.in_(voters)
    if found.idea_id is not None:
        author = select(Idea.author_id).where(Idea.id == found.idea_id, Idea.author_id.is_not(None))
        people = people | Resident.id.in_(author)
    stmt = select(Resident).where(people, Resident.telegram_id.is_not(None), Resident.deleted_at.is_(None))
    return list(await session.scalars(_wanted(stmt).order_by(Resident.id)))


def notice_for(
    person: Resident, found: BudgetProject, update: BudgetProjectUpdate, default_lang: str
) -> Notice:
    lang = person.language if person.language in LANGUAGES else default_lang
    text = update.texts.get(lang) or next(iter(update.texts.values()), "")
    title = budgets.title(found, lang)
    params = {
        "title": escape(title if len(title) <= 80 else title[:79] + "…"),
        "stage": translate(STAGES[update.stage], lang),
        "text": escape(text),
    }
    link = (Link(LINK, found.id, OPEN_PROJECT),)
    return Notice(
        person.id, person.telegram_id, lang, UPDATE_NOTICE, params, link, CATEGORY, update.photo_file_id
    )


async def post(
    session: AsyncSession,
    project_id: int,
    actor_id: int | None,
    stage: str,
    texts: Mapping[str, str],
    photo_file_id: str | None = None,
    default_lang: str = "tr",
) -> Posted:
    """Store an update of a selected project, audit it once and tell its voters and its idea's author."""
    await roles.require(session, actor_id, roles.STAFF)
    found = await project(session, project_id)
    if not can_post(True, await selected(session, found)):
        raise NotSelected(f"project {project_id}")
    if stage not in STAGES:
        raise BadUpdate(f"stage {stage!r}")
    cleaned = {lang: clean_text(texts.get(lang)) for lang in LANGUAGES}
    made = BudgetProjectUpdate(
        project_id=found.id, stage=stage, texts=cleaned, photo_file_id=photo_file_id, author_id=actor_id
    )
    session.add(made)
    await session.flush()
    told = await recipients(session, found)
    await audit.record(
        session, "budget.project.update", actor_id=actor_id, object_type="budget_project", object_id=found.id,
        update=made.id, stage=stage, told=len(told),
    )  # fmt: skip
    for person in told:
        notices.queue(session, notice_for(person, found, made, default_lang))
    return Posted(made, len(told))
