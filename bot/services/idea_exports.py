"""What the ideas feature holds about a person, for "Export my data": their ideas and their supports.

Registered with privacy's `@exporter`; `bot.services.privacy` imports this module, so `privacy.export()`
always includes it. Only the person's own input and what describes their ideas is exported: never
who decided on an idea or who else supports it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from bot.i18n import translate
from bot.services.ideas import REJECT_REASONS
from bot.services.privacy import exporter
from storage.models import Idea, IdeaSupport, Neighborhood, Resident


@exporter("ideas")
async def export_ideas(session: AsyncSession, resident: Resident) -> list[dict[str, Any]]:
    """Every idea the person sent, whatever became of it, oldest first, with its support count."""
    counts = (
        select(func.count())
        .where(IdeaSupport.idea_id == Idea.id)
        .correlate(Idea)
        .scalar_subquery()
        .label("supports")
    )
    rows = await session.execute(
        select(Idea, counts)
        .options(
            joinedload(Idea.process),
            joinedload(Idea.theme),
            joinedload(Idea.neighborhood).joinedload(Neighborhood.district),
        )
        .where(Idea.author_id == resident.id)
        .order_by(Idea.id)
    )
    lang = resident.language or "en"
    return [_idea(idea, supports, lang) for idea, supports in rows.unique()]


def _idea(idea: Idea, supports: int, lang: str) -> dict[str, Any]:
    hood = idea.neighborhood
    reason = None
    if idea.reject_reason_key is not None or idea.reject_reason is not None:
        key = idea.reject_reason_key
        text = translate(REJECT_REASONS[key], lang) if key in REJECT_REASONS else idea.reject_reason
        reason = {"key": key, "text": text}
    return {
        "number": idea.id,
        "process": {"key": idea.process.key, "name": _name(idea.process.names, lang, idea.process.key)},
        "theme": {"key": idea.theme.key, "name": _name(idea.theme.names, lang, idea.theme.key)},
        "title": idea.title,
        "description": idea.description,
        "scope": idea.scope,
        "neighborhood": {"name": hood.name, "district": hood.district.name} if hood is not None else None,
        "has_photo": idea.photo_file_id is not None,
        "photo_file_id": idea.photo_file_id,
        "location": (
            {"latitude": idea.latitude, "longitude": idea.longitude}
            if idea.latitude is not None and idea.longitude is not None
            else None
        ),
        "status": idea.status,
        "reason": reason,
        "merged_into": idea.merged_into_id,
        "created_at": _iso(idea.created_at),
        "decided_at": _iso(idea.decided_at),
        "supports": int(supports or 0),
    }


@exporter("supports")
async def export_supports(session: AsyncSession, resident: Resident) -> list[dict[str, Any]]:
    """The ideas the person supports: number, title and when, oldest first."""
    rows = await session.execute(
        select(IdeaSupport.idea_id, Idea.title, IdeaSupport.created_at)
        .join(Idea, Idea.id == IdeaSupport.idea_id)
        .where(IdeaSupport.resident_id == resident.id)
        .order_by(IdeaSupport.created_at, IdeaSupport.idea_id)
    )
    return [{"idea": number, "title": title, "supported_at": _iso(at)} for number, title, at in rows]


def _name(names: dict[str, Any] | None, lang: str, fallback: str) -> str:
    names = names or {}
    return names.get(lang) or names.get("en") or next(iter(names.values()), None) or fallback


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
