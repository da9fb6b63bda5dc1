"""Staff broadcasts: who may reach whom, composing, scheduling, cancelling, the release at send time and
the progress of one being sent (docs/broadcasts.md, "Composing").

A broadcast is a `broadcasts` row. Sent now, it is expanded into outbox deliveries in the transaction
that composed it; scheduled, it waits as `scheduled` and the scheduler expands it at `send_at`
(`release_due`), so residents who turn its category off or block the bot meanwhile are left out. A
cancelled one (a conditional update `scheduled` → `cancelled`) is never expanded. Expansion and the
count shown to staff are one condition (`outbox.recipients`). No aiogram here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features import categories
from bot.i18n import N_
from bot.services import audit, outbox, residents
from bot.services.city import current_city
from bot.services.errors import DomainError, NotAllowed, NotFound
from bot.services.roles import COORDINATOR, STAFF
from storage.models import Broadcast, BudgetPot, Idea, Process, Resident, Role, utcnow

SCHEDULED, CANCELLED, SENDING, DONE = "scheduled", "cancelled", "sending", "done"
NEWS = "news"
CATEGORIES = (NEWS, "phases", "ideas")  # the notification categories a broadcast may belong to
FLOWS = ("ideas", "budget", "results")  # main-menu entries a broadcast's button may open
FLOW_LINK, STOP_LINK = "flow", "broadcast-stop"  # outbox link kinds (bot/ui/notices.py)
FLOW_LABELS = {
    "ideas": N_("💡 Share an idea"),
    "budget": N_("🗳 Vote on the budget"),
    "results": N_("📊 See the results"),
}
STOP_LABEL = N_("🔕 Stop these messages")
TEXT_MAX, CAPTION_MAX = 3500, 900  # room left for Telegram's limits (4096, 1024)
SOON = timedelta(seconds=30)  # a time closer than this is "now"
PROGRESS_EVERY = 3.0  # seconds between two edits of a progress message

Grants = frozenset[tuple[str, int | None]]


class BroadcastError(DomainError):
    """A broadcast that cannot be composed or changed as asked."""


class OutsideScope(BroadcastError):
    """A coordinator's audience beyond their own neighborhood."""


class NotScheduled(BroadcastError):
    """Cancelling a broadcast that is no longer waiting (sent, being sent or cancelled)."""


class TooLong(BroadcastError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"longer than {limit}")
        self.limit = limit


class InPast(BroadcastError):
    """A sending time that has passed."""


# ---- who may do what (the buttons and the checks) --------------------------------------------------


def is_staff(grants: Grants) -> bool:
    return (STAFF, None) in grants


def coordinated(grants: Grants) -> list[int]:
    """The neighborhoods a coordinator holds (none for staff-only people)."""
    return sorted(scope for role, scope in grants if role == COORDINATOR and scope is not None)


def can_compose(grants: Grants) -> bool:
    return is_staff(grants) or bool(coordinated(grants))


def can_reach(grants: Grants, audience: outbox.Audience) -> bool:
    """The one rule on audiences: staff reach anyone; a coordinator only their own neighborhood, as a
    whole (a process's voters, idea authors and a language are staff's)."""
    if is_staff(grants):
        return True
    own = audience.scope == "neighborhood" and audience.neighborhood_id in coordinated(grants)
    return own and not audience.filtered and not audience.without_ballot_in


def can_cancel(grants: Grants, resident_id: int | None, broadcast: Broadcast) -> bool:
    mine = resident_id is not None and broadcast.created_by == resident_id
    return broadcast.status == SCHEDULED and (is_staff(grants) or mine)


async def grants_of(session: AsyncSession, resident_id: int | None) -> Grants:
    """A resident's roles as stored now (the release re-checks the composer's right with these)."""
    if resident_id is None:
        return frozenset()
    rows = await session.execute(
        select(Role.role, Role.neighborhood_id).where(Role.resident_id == resident_id)
    )
    return frozenset((role, scope) for role, scope in rows.all())


# ---- counting, composing, cancelling ----------------------------------------------------------------


def _category_default(category: str) -> bool:
    return next((c.default for c in categories() if c.key == category), True)


async def _default_lang(session: AsyncSession) -> str:
    city = await current_city(session)
    return city.default_language if city is not None else "tr"


async def count(session: AsyncSession, audience: outbox.Audience, category: str) -> int:
    """The live recipient count: the condition the expansion uses, minus opt-outs and unreachables."""
    return await outbox.count(
        session,
        audience,
        default_lang=await _default_lang(session),
        category=category,
        category_default=_category_default(category),
    )


PROCESSES_SHOWN = 10  # the newest processes offered for a voters or authors audience


async def voting_processes(session: AsyncSession) -> list[Process]:
    """Processes with a budget pot (whose voters a broadcast may reach), newest first."""
    has_pot = exists(select(BudgetPot.id).where(BudgetPot.process_id == Process.id))
    return await _newest(session, has_pot)


async def idea_processes(session: AsyncSession) -> list[Process]:
    """Processes with at least one idea (whose authors a broadcast may reach), newest first."""
    has_idea = exists(select(Idea.id).where(Idea.process_id == Process.id))
    return await _newest(session, has_idea)


async def _newest(session: AsyncSession, condition) -> list[Process]:  # noqa: ANN001
    query = select(Process).where(condition).order_by(Process.created_at.desc(), Process.id.desc())
    return list((await session.scalars(query.limit(PROCESSES_SHOWN))).all())


async def _known(session: AsyncSession, audience: outbox.Audience) -> bool:
    """The processes an audience names exist (a forged or stale draft names none)."""
    for process_id in (audience.voters_of, audience.authors_of):
        if process_id is not None and await session.get(Process, process_id) is None:
            return False
    return True


@dataclass(frozen=True)
class Draft:
    texts: dict[str, str]
    audience: outbox.Audience
    category: str
    photo: str | None = None
    flow: str | None = None
    send_at: datetime | None = None  # None: now


def check(grants: Grants, draft: Draft, now: datetime | None = None) -> None:
    """Everything a draft must satisfy, checked again at Send."""
    if not can_reach(grants, draft.audience):
        raise OutsideScope()
    if draft.category not in CATEGORIES or (draft.flow is not None and draft.flow not in FLOWS):
        raise NotFound()
    limit = CAPTION_MAX if draft.photo else TEXT_MAX
    if any(len(text) > limit for text in draft.texts.values()):
        raise TooLong(limit)
    if draft.send_at is not None and draft.send_at <= (now or utcnow()):
        raise InPast()


async def compose(
    session: AsyncSession, grants: Grants, resident_id: int, draft: Draft, now: datetime | None = None
) -> tuple[Broadcast, int]:
    """A broadcast as staff pressed Send: sent now (expanded in this transaction) or scheduled. Returns
    it and its recipient count (for a scheduled one, the count today)."""
    now = now or utcnow()
    check(grants, draft, now)
    if not await _known(session, draft.audience):
        raise NotFound()
    later = draft.send_at is not None and draft.send_at > now + SOON
    broadcast = Broadcast(
        status=SCHEDULED,
        texts=dict(draft.texts),
        audience=draft.audience.as_json(),
        category=draft.category,
        photo=draft.photo,
        flow=draft.flow,
        send_at=draft.send_at if later else now,
        created_by=resident_id,
    )
    session.add(broadcast)
    await session.flush()
    if later:
        return broadcast, await count(session, draft.audience, draft.category)
    return broadcast, await _release(session, broadcast, now)


async def _release(session: AsyncSession, broadcast: Broadcast, now: datetime) -> int:
    """Expand the broadcast into deliveries (one INSERT … SELECT), and audit it once."""
    audience = outbox.Audience.of(broadcast.audience)
    links: list[tuple[str, int, str]] = []
    if broadcast.flow in FLOWS:
        links.append((FLOW_LINK, FLOWS.index(broadcast.flow), FLOW_LABELS[broadcast.flow]))
    links.append((STOP_LINK, broadcast.id, STOP_LABEL))
    message, recipients = await outbox.broadcast(
        session,
        audience,
        kind=outbox.BROADCAST,
        default_lang=await _default_lang(session),
        texts=broadcast.texts,
        links=links,
        category=broadcast.category,
        category_default=_category_default(broadcast.category),
        key=f"broadcast:{broadcast.id}",
        created_by=broadcast.created_by,
        photo=broadcast.photo,
    )
    composer = await session.get(Resident, broadcast.created_by) if broadcast.created_by else None
    broadcast.status, broadcast.message_id, broadcast.recipients = SENDING, message.id, recipients
    broadcast.started_at = now
    broadcast.progress_chat_id = composer.telegram_id if composer is not None else None
    await audit.record(
        session,
        "broadcast.send",
        actor_id=broadcast.created_by,
        object_type="broadcast",
        object_id=broadcast.id,
        audience=broadcast.audience,
        category=broadcast.category,
        count=recipients,
        scheduled_for=broadcast.send_at.isoformat(),
    )
    await session.flush()
    return recipients


async def release_due(session: AsyncSession, now: datetime | None = None) -> list[int]:
    """The scheduler's job: expand every scheduled broadcast whose time has come. Each is taken by a
    conditional update (`scheduled` → `sending`), so a cancel at the same moment wins or loses whole.
    A composer who lost the right to that audience meanwhile has it cancelled."""
    now = now or utcnow()
    due = await session.scalars(
        select(Broadcast.id)
        .where(Broadcast.status == SCHEDULED, Broadcast.send_at <= now)
        .order_by(Broadcast.id)
    )
    released = []
    for broadcast_id in list(due.all()):
        taken = await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.status == SCHEDULED)
            .values(status=SENDING)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            continue
        broadcast = await session.get(Broadcast, broadcast_id, populate_existing=True)
        assert broadcast is not None
        grants = await grants_of(session, broadcast.created_by)
        if not can_reach(grants, outbox.Audience.of(broadcast.audience)):
            broadcast.status = CANCELLED
            await audit.record(session, "broadcast.refused", object_type="broadcast", object_id=broadcast.id)
            continue
        await _release(session, broadcast, now)
        released.append(broadcast_id)
    return released


async def scheduled(session: AsyncSession, grants: Grants, resident_id: int | None) -> list[Broadcast]:
    """The broadcasts waiting for their time: all of them for staff, one's own for a coordinator."""
    query = select(Broadcast).where(Broadcast.status == SCHEDULED).order_by(Broadcast.send_at, Broadcast.id)
    if not is_staff(grants):
        query = query.where(Broadcast.created_by == resident_id)
    return list((await session.scalars(query.limit(20))).all())


async def scheduled_count(session: AsyncSession) -> int:
    """For the staff hub's label."""
    return int(await session.scalar(select(func.count()).where(Broadcast.status == SCHEDULED)) or 0)


async def cancel(
    session: AsyncSession, grants: Grants, resident_id: int | None, broadcast_id: int
) -> Broadcast:
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise NotFound()
    if broadcast.status != SCHEDULED:
        raise NotScheduled()
    if not can_cancel(grants, resident_id, broadcast):
        raise NotAllowed(STAFF)
    done = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.status == SCHEDULED)
        .values(status=CANCELLED)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # the scheduler took it this very moment
        raise NotScheduled()
    await audit.record(
        session, "broadcast.cancel", actor_id=resident_id, object_type="broadcast", object_id=broadcast_id
    )
    return broadcast


async def stop(session: AsyncSession, resident_id: int | None, broadcast_id: int) -> str:
    """The "Stop these messages" button: the broadcast's category turned off for this resident (the
    settings' own choice, turned on again in /settings). Returns the category."""
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None or resident_id is None:
        raise NotFound()
    await residents.set_notification(session, resident_id, broadcast.category, False)
    return broadcast.category


# ---- progress ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    broadcast_id: int
    chat_id: int | None
    message_id: int | None  # the progress message in the composer's chat, once written
    lang: str
    total: int
    sent: int
    failed: int
    unreachable: int
    pending: int
    started_at: datetime | None
    edited_at: datetime | None
    audience: outbox.Audience = outbox.Audience("city")

    @property
    def finished(self) -> bool:
        return self.pending == 0

    def eta(self, now: datetime) -> timedelta | None:
        """The time left at the pace so far (None before anything is done)."""
        done = self.total - self.pending
        if not done or self.started_at is None or self.finished:
            return None
        elapsed = max((now - self.started_at).total_seconds(), 0.001)
        return timedelta(seconds=round(self.pending * elapsed / done))


async def being_sent(session: AsyncSession, ids: Iterable[int] | None = None) -> list[Progress]:
    """Each broadcast being sent, with its delivery counts and its composer's language."""
    query = select(Broadcast, Resident.language).outerjoin(Resident, Resident.id == Broadcast.created_by)
    query = query.where(Broadcast.status == SENDING)
    if ids is not None:
        query = query.where(Broadcast.id.in_(list(ids)))
    default = await _default_lang(session)
    found = []
    for broadcast, lang in (await session.execute(query.order_by(Broadcast.id))).all():
        counts = await outbox.progress(session, broadcast.message_id) if broadcast.message_id else {}
        found.append(
            Progress(
                broadcast.id,
                broadcast.progress_chat_id,
                broadcast.progress_message_id,
                lang or default,
                broadcast.recipients or 0,
                counts.get(outbox.SENT, 0),
                counts.get(outbox.FAILED, 0),
                counts.get(outbox.UNREACHABLE, 0) + counts.get(outbox.SKIPPED, 0),
                counts.get(outbox.PENDING, 0),
                broadcast.started_at,
                broadcast.progress_at,
                outbox.Audience.of(broadcast.audience),
            )
        )
    return found


async def noted(
    session: AsyncSession,
    broadcast_id: int,
    message_id: int | None,
    finished: bool,
    now: datetime | None = None,
) -> None:
    """The progress message was written (or could not be): remember it, and close a finished one."""
    values: dict[str, object] = {"progress_at": now or utcnow()}
    if message_id is not None:
        values["progress_message_id"] = message_id
    if finished:
        values["status"] = DONE
    await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
