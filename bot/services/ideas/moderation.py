"""Ideas, the staff side: the review queue, decisions, merges, edits and what the author is told.

Every decision is a conditional update on `rules.DECISIONS` (`... WHERE status IN (...)`), so of two
staff members deciding the same idea at once exactly one wins and the other gets `AlreadyDecided`, on
SQLite and PostgreSQL alike. A merge guards both ideas in one transaction, locking them in id order.
Re-exported by `bot.services.ideas`, so `ideas.approve(...)` is the way to call them.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_, translate
from bot.services import audit, notices, processes, residents, roles
from bot.services.ideas import (
    OPEN_IDEA,
    AlreadyDecided,
    BadTarget,
    Listed,
    NotFound,
    Similar,
    _listed,
    _with_places,
    clean_description,
    clean_reason,
    clean_title,
    get,
    rules,
    similarity,
    support_count,
)
from bot.services.ideas.rules import (
    APPROVED,
    CATEGORY,
    HIDDEN,
    HIDE_REASONS,
    MERGE_TARGETS,
    MERGED,
    PENDING,
    PROJECT,
    REJECT_REASONS,
    REJECTED,
    VISIBLE,
    Decision,
)
from bot.services.notices import Link, Notice
from storage.models import Idea, IdeaSupport, Process, Resident, Theme, utcnow

# --- the queue -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reviewed:
    """What a staff card shows of an idea: the idea, its supports, its process, and for an idea
    waiting for review its place in the queue (`position` of `waiting`)."""

    idea: Idea
    supports: int
    process: Process | None
    position: int | None = None
    waiting: int | None = None


async def queue_count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Idea).where(Idea.status == PENDING)) or 0


async def queue_position(session: AsyncSession, idea_id: int) -> int:
    """The place of a waiting idea in the queue (oldest first, 1-based)."""
    stmt = select(func.count()).select_from(Idea).where(Idea.status == PENDING, Idea.id <= idea_id)
    return await session.scalar(stmt) or 0


async def next_pending(session: AsyncSession, after_id: int = 0) -> Idea | None:
    """The oldest idea waiting for review after `after_id` (wrapping round to the oldest)."""
    stmt = _with_places().where(Idea.status == PENDING).order_by(Idea.id).limit(1)
    found = await session.scalar(stmt.where(Idea.id > after_id))
    if found is None and after_id:
        found = await session.scalar(stmt)
    return found


async def reviewed(session: AsyncSession, idea: Idea) -> Reviewed:
    """Everything the staff card of `idea` shows."""
    process = await processes.get(session, idea.process_id)
    count = await support_count(session, idea.id)
    if idea.status != PENDING:
        return Reviewed(idea, count, process)
    position = await queue_position(session, idea.id)
    return Reviewed(idea, count, process, position, await queue_count(session))


async def decidable(session: AsyncSession, idea_id: int, decision: Decision) -> Idea:
    """The idea, when `decision` may be taken on it now (else `NotFound` or `AlreadyDecided`): what a
    menu leading to a decision (reasons, merge targets, edits) checks before it shows."""
    idea = await get(session, idea_id)
    if idea is None:
        raise NotFound("no such idea")
    if not rules.can_decide(decision, idea.status):
        raise AlreadyDecided(idea.status)
    return idea


PUBLISHED_LIST = (APPROVED, HIDDEN)  # what staff find under "Published ideas": hidden ones to unhide


async def published(session: AsyncSession, *, page: int = 0, page_size: int = 8) -> tuple[list[Listed], int]:
    """Published (and hidden) ideas of every process, for staff: to merge, hide, unhide or turn into
    projects."""
    return await _listed(session, {"statuses": PUBLISHED_LIST}, order="new", page=page, page_size=page_size)


# --- decisions -------------------------------------------------------------------------------------


async def _decide(
    session: AsyncSession,
    idea_id: int,
    actor_id: int | None,
    decision: Decision,
    *,
    audited: bool = True,
    **values: object,
) -> Idea:
    """Take `decision` on an idea if its status allows it now (a conditional update), audited (unless
    the caller records the action itself: `audited=False`)."""
    await roles.require(session, actor_id, roles.STAFF)
    allowed, status = rules.DECISIONS[decision]
    if await session.scalar(select(Idea.status).where(Idea.id == idea_id)) is None:
        raise NotFound("no such idea")
    changes = {"decided_at": utcnow(), "decided_by": actor_id, **values}
    if status is not None:
        changes["status"] = status
    result = await session.execute(
        update(Idea)
        .where(Idea.id == idea_id, Idea.status.in_(allowed))
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        current = await session.scalar(
            select(Idea.status).where(Idea.id == idea_id).execution_options(populate_existing=True)
        )
        raise AlreadyDecided(current or "gone")
    details = {k: v for k, v in values.items() if v is not None}
    if audited:
        await audit.record(
            session,
            f"idea.{decision}",
            actor_id=actor_id,
            object_type="idea",
            object_id=idea_id,
            status=status,
            **details,
        )
    if status in (MERGED, REJECTED, HIDDEN):
        await _carry_merged(session, idea_id, actor_id, decision, status, values)
    return await get(session, idea_id)  # type: ignore[return-value]


async def _carry_merged(
    session: AsyncSession,
    idea_id: int,
    actor_id: int | None,
    decision: Decision,
    status: str,
    values: dict[str, object],
) -> None:
    """Ideas merged into `idea_id` follow it, so none ever points at an idea residents cannot read:
    merged further, they point where it went (no chains); hidden or rejected, they take the same
    decision and reason. Each follower is audited."""
    followers = list(
        await session.scalars(select(Idea.id).where(Idea.merged_into_id == idea_id, Idea.status == MERGED))
    )
    if not followers:
        return
    if status == MERGED:
        changes: dict[str, object] = {"merged_into_id": values["merged_into_id"]}
    else:
        changes = {
            "status": status,
            "merged_into_id": None,
            "decided_at": utcnow(),
            "decided_by": actor_id,
            "reject_reason_key": values.get("reject_reason_key"),
            "reject_reason": values.get("reject_reason"),
        }
    await session.execute(
        update(Idea)
        .where(Idea.id.in_(followers))
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    for follower in followers:
        await audit.record(
            session,
            f"idea.{decision}",
            actor_id=actor_id,
            object_type="idea",
            object_id=follower,
            status=status,
            following=idea_id,
        )


async def approve(session: AsyncSession, idea_id: int, actor_id: int | None) -> Idea:
    return await _decide(session, idea_id, actor_id, Decision.APPROVE)


def _reason(
    reasons: dict[str, str], reason_key: str | None, reason: str | None
) -> tuple[str | None, str | None]:
    """A reason as stored: one of `reasons` by its key, or a typed text (checked)."""
    if reason_key is not None and reason_key not in reasons:
        raise NotFound("no such reason")
    return reason_key, clean_reason(reason) if reason_key is None else None


async def reject(
    session: AsyncSession,
    idea_id: int,
    actor_id: int | None,
    *,
    reason_key: str | None = None,
    reason: str | None = None,
) -> Idea:
    """Reject with one of REJECT_REASONS, or with a typed reason."""
    key, text = _reason(REJECT_REASONS, reason_key, reason)
    return await _decide(
        session, idea_id, actor_id, Decision.REJECT, reject_reason_key=key, reject_reason=text
    )


async def hide(
    session: AsyncSession,
    idea_id: int,
    actor_id: int | None,
    *,
    reason_key: str | None = None,
    reason: str | None = None,
) -> Idea:
    """Hide from residents with one of HIDE_REASONS or a typed reason (kept in the reject_reason
    columns; the author reads it), or with none."""
    key, text = (None, None)
    if reason_key is not None or reason is not None:
        key, text = _reason(HIDE_REASONS, reason_key, reason)
    return await _decide(session, idea_id, actor_id, Decision.HIDE, reject_reason_key=key, reject_reason=text)


async def unhide(session: AsyncSession, idea_id: int, actor_id: int | None) -> Idea:
    """Show a hidden idea again (published); the reason it was hidden is cleared."""
    return await _decide(
        session, idea_id, actor_id, Decision.UNHIDE, reject_reason_key=None, reject_reason=None
    )


async def make_project(
    session: AsyncSession, idea_id: int, actor_id: int | None, *, audited: bool = True
) -> Idea:
    """Mark a published idea as turned into a project (budgeting attaches cost and feasibility to it;
    `bot.services.budgets.staff.create_project` records the one audit entry itself)."""
    return await _decide(session, idea_id, actor_id, Decision.PROJECT, audited=audited)


# --- merging ---------------------------------------------------------------------------------------


async def merge_targets(session: AsyncSession, idea: Idea, limit: int = 30) -> list[Similar]:
    """Ideas of the same process that `idea` may merge into (published or waiting for review), the most
    alike first."""
    rows = await session.scalars(
        _with_places()
        .where(Idea.process_id == idea.process_id, Idea.status.in_(MERGE_TARGETS), Idea.id != idea.id)
        .order_by(Idea.id.desc())
        .limit(1000)
    )
    scored = [Similar(other, similarity(idea.title, other.title)) for other in rows]
    scored.sort(key=lambda s: (-s.score, s.idea.status != APPROVED, -s.idea.id))
    return scored[:limit]


async def merge_pair(session: AsyncSession, idea_id: int, target_id: int) -> tuple[Idea, Idea]:
    """The idea to merge and the idea to merge it into, when that merge is allowed now."""
    idea = await get(session, idea_id)
    if idea is None:
        raise NotFound("no such idea")
    if not rules.can_decide(Decision.MERGE, idea.status):
        raise AlreadyDecided(idea.status)
    target = await get(session, target_id) if target_id else None
    if target is None or not rules.can_merge_into(
        idea.status, target.status, target.process_id == idea.process_id, target.id == idea.id
    ):
        raise BadTarget("merge into another published or waiting idea of the same process")
    return idea, target


async def _hold_target(session: AsyncSession, target_id: int) -> None:
    """Lock the target row while it is still a merge target (a no-op update), else `BadTarget`."""
    result = await session.execute(
        update(Idea)
        .where(Idea.id == target_id, Idea.status.in_(MERGE_TARGETS))
        .values(status=Idea.status)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise BadTarget("the target was decided meanwhile")


async def merge(session: AsyncSession, idea_id: int, target_id: int, actor_id: int | None) -> Idea:
    """Merge `idea_id` into `target_id` (published or waiting): its supports (and its author's voice)
    move there, each person counted once (by identity: the rows of a deleted account and of the person's
    new one are one person, see `_movers`). Both rows are guarded in id order. Returns the merged idea."""
    await roles.require(session, actor_id, roles.STAFF)
    _idea, target = await merge_pair(session, idea_id, target_id)
    if target_id < idea_id:
        await _hold_target(session, target_id)
    merged = await _decide(session, idea_id, actor_id, Decision.MERGE, merged_into_id=target_id)
    if target_id > idea_id:
        await _hold_target(session, target_id)
    movers = await _movers(session, idea_id, target_id, merged.author_id, target.author_id)
    if movers:
        now = utcnow()
        await session.execute(
            insert(IdeaSupport), [{"idea_id": target_id, "resident_id": r, "created_at": now} for r in movers]
        )
    await session.execute(delete(IdeaSupport).where(IdeaSupport.idea_id == idea_id))
    return merged


async def _movers(
    session: AsyncSession, idea_id: int, target_id: int, author_id: int | None, target_author_id: int | None
) -> list[int]:
    """The resident rows whose support moves from `idea_id` to `target_id`: each person (an identity, or
    the row itself for a row without one) once, leaving out the people who already support the target
    and the target's author; the merged idea's author comes last, unless already counted."""

    def person(resident_id: int, identity: str | None) -> str:
        return identity or f"#{resident_id}"

    async def identity_of(resident_id: int) -> str | None:
        return await session.scalar(select(Resident.identity).where(Resident.id == resident_id))

    rows = (
        await session.execute(
            select(IdeaSupport.idea_id, IdeaSupport.resident_id, Resident.identity)
            .join(Resident, Resident.id == IdeaSupport.resident_id)
            .where(IdeaSupport.idea_id.in_((idea_id, target_id)))
            .order_by(IdeaSupport.created_at, IdeaSupport.resident_id)
        )
    ).all()
    counted = {person(rid, ident) for iid, rid, ident in rows if iid == target_id}
    if target_author_id is not None:
        counted.add(person(target_author_id, await identity_of(target_author_id)))
    movers: list[int] = []
    candidates = [(rid, ident) for iid, rid, ident in rows if iid == idea_id]
    if author_id is not None:
        candidates.append((author_id, await identity_of(author_id)))
    for rid, ident in candidates:
        if person(rid, ident) not in counted:
            counted.add(person(rid, ident))
            movers.append(rid)
    return movers


# --- edits and the author --------------------------------------------------------------------------


async def _editable(session: AsyncSession, idea_id: int, actor_id: int | None) -> Idea:
    await roles.require(session, actor_id, roles.STAFF)
    return await decidable(session, idea_id, Decision.EDIT)


async def edit_title(session: AsyncSession, idea_id: int, actor_id: int | None, title: str) -> Idea:
    idea = await _editable(session, idea_id, actor_id)
    value = clean_title(title)
    before = idea.title
    idea.title = value
    await session.flush()
    await audit.record(
        session, "idea.edit_title", actor_id=actor_id, object_type="idea", object_id=idea_id, before=before
    )
    return idea


async def edit_description(
    session: AsyncSession, idea_id: int, actor_id: int | None, description: str
) -> Idea:
    """Staff rewrite an idea's description (personal data, a typo); the old text goes to the audit log."""
    idea = await _editable(session, idea_id, actor_id)
    value = clean_description(description)
    before = idea.description
    idea.description = value
    await session.flush()
    await audit.record(
        session,
        "idea.edit_description",
        actor_id=actor_id,
        object_type="idea",
        object_id=idea_id,
        before=before,
    )
    return idea


async def set_theme(session: AsyncSession, idea_id: int, actor_id: int | None, theme_id: int) -> Idea:
    idea = await _editable(session, idea_id, actor_id)
    theme = await session.get(Theme, theme_id)
    if theme is None or not theme.active:
        raise NotFound("no such theme")
    before = idea.theme_id
    idea.theme_id = theme.id
    await session.flush()
    await audit.record(
        session,
        "idea.edit_theme",
        actor_id=actor_id,
        object_type="idea",
        object_id=idea_id,
        before=before,
        after=theme.id,
    )
    return await get(session, idea_id)  # type: ignore[return-value]


async def reveal_author(session: AsyncSession, idea_id: int, actor_id: int | None) -> int | None:
    """The author's Telegram id, for a staff member who asks (written to the audit log)."""
    await roles.require(session, actor_id, roles.STAFF)
    idea = await session.get(Idea, idea_id)
    if idea is None:
        raise NotFound("no such idea")
    author = await session.get(Resident, idea.author_id) if idea.author_id else None
    await audit.record(
        session, "idea.reveal_author", actor_id=actor_id, object_type="idea", object_id=idea_id
    )
    return author.telegram_id if author is not None and author.deleted_at is None else None


# --- notices ---------------------------------------------------------------------------------------

NOTICES: dict[str, str] = {
    APPROVED: N_("✅ Your idea #{number} “{title}” is published. Others can now read and support it."),
    REJECTED: N_("Your idea #{number} “{title}” was not accepted.\nReason: {reason}"),
    MERGED: N_(
        "🔀 Your idea #{number} “{title}” says much the same as idea #{target} “{target_title}”, so the two "
        "were merged. Its supports, and yours, now count for #{target}."
    ),
    PROJECT: N_("🏗 Your idea #{number} “{title}” has become a project of the municipality. Thank you!"),
    HIDDEN: N_("🙈 Your idea #{number} “{title}” has been hidden by the municipal team.\nReason: {reason}"),
}
# a decision whose resulting status says too little (unhiding leads to "published" like approving)
DECISION_NOTICES: dict[Decision, str] = {
    Decision.UNHIDE: N_(
        "👁 Your idea #{number} “{title}” can be seen again: the municipal team has unhidden it."
    ),
}
HIDDEN_WITHOUT_REASON = N_("🙈 Your idea #{number} “{title}” has been hidden by the municipal team.")


def reason_text(idea: Idea, lang: str) -> str:
    """Why an idea was rejected or hidden, in `lang` (a common reason) or as typed."""
    common = {**REJECT_REASONS, **HIDE_REASONS}  # "conduct" reads the same in both
    if idea.reject_reason_key in common:
        return translate(common[idea.reject_reason_key], lang)
    return escape(idea.reject_reason or "—")


def _template(idea: Idea, decision: Decision | None) -> str | None:
    if decision in DECISION_NOTICES:
        return DECISION_NOTICES[decision]  # type: ignore[index]
    if idea.status == HIDDEN and not (idea.reject_reason_key or idea.reject_reason):
        return HIDDEN_WITHOUT_REASON
    return NOTICES.get(idea.status)


async def notice_for_author(
    session: AsyncSession, idea: Idea, default_lang: str, decision: Decision | None = None
) -> Notice | None:
    """The message telling the author what became of their idea (after `decision`, when the status
    alone does not say), in their language, with a button to the idea (and to the idea it was merged
    into, when residents can read it); None when there is no message, the author can no longer be
    reached or turned these notices off."""
    template = _template(idea, decision)
    author = await session.get(Resident, idea.author_id) if idea.author_id else None
    if template is None or author is None or author.telegram_id is None or author.deleted_at is not None:
        return None
    if not await residents.wants(session, author.id, CATEGORY):
        return None
    lang = author.language or default_lang
    params: dict[str, object] = {"number": idea.id, "title": escape(idea.title)}
    if idea.status in (REJECTED, HIDDEN):
        params["reason"] = reason_text(idea, lang)
    links = [Link("idea", idea.id, OPEN_IDEA)]
    if idea.status == MERGED:
        target = await session.get(Idea, idea.merged_into_id) if idea.merged_into_id else None
        params["target"] = idea.merged_into_id or "—"
        params["target_title"] = escape(target.title) if target else "—"
        if target is not None and target.status in VISIBLE:
            links.append(Link("idea", target.id, OPEN_IDEA))
    return Notice(author.id, author.telegram_id, lang, template, params, tuple(links), CATEGORY)


async def tell_author(
    session: AsyncSession, idea: Idea, default_lang: str, decision: Decision | None = None
) -> None:
    """Queue the author's notice of a decision; it goes out once the decision is committed."""
    notices.queue(session, await notice_for_author(session, idea, default_lang, decision))
