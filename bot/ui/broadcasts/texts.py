"""Texts of the broadcasts feature, each in a given language (`translate`): the staff screens, the
preview's lines and the progress message the scheduler edits while a broadcast is being sent."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.features import categories
from bot.i18n import N_, number, translate, when
from bot.services import broadcasts, geography, outbox, processes
from bot.services.broadcasts import Progress
from storage.models import Broadcast

LANGUAGE_NAMES = {"tr": N_("Turkish"), "en": N_("English")}
BAR = 10


def category_label(key: str, lang: str) -> str:
    found = next((c for c in categories() if c.key == key), None)
    return translate(found.label, lang) if found is not None else key


async def audience_label(session: AsyncSession, audience: outbox.Audience, lang: str) -> str:
    """Who a broadcast is for, in `lang`: the place, who among its residents, and the language read."""
    who = await _who(session, audience, lang)
    if audience.scope == "city" and who is not None:
        found = who
    else:
        found = await _place(session, audience, lang)
        found = found if who is None else f"{found} · {who}"
    if audience.lang is not None and audience.scope != "language":
        language = translate(LANGUAGE_NAMES.get(audience.lang, audience.lang), lang)
        found = translate(N_("{audience} (reading {language})"), lang, audience=found, language=language)
    return found


async def _place(session: AsyncSession, audience: outbox.Audience, lang: str) -> str:
    if audience.scope == "city":
        return translate(N_("Everyone"), lang)
    if audience.scope == "language":
        language = translate(LANGUAGE_NAMES.get(audience.lang or "", audience.lang or ""), lang)
        return translate(N_("Residents who read {language}"), lang, language=language)
    if audience.scope == "district":
        district = await geography.district(session, audience.district_id or 0)
        name = escape(district.name) if district else "—"
        return translate(N_("The district of {name}"), lang, name=name)
    hood = await geography.neighborhood(session, audience.neighborhood_id or 0)
    name = escape(hood.name) if hood else "—"
    return translate(N_("The neighborhood of {name}"), lang, name=name)


async def _who(session: AsyncSession, audience: outbox.Audience, lang: str) -> str | None:
    """The voters or idea authors an audience is narrowed to, if it is."""
    if audience.voters_of is not None:
        return translate(
            N_("Voters of {process}"), lang, process=await _process_name(session, audience.voters_of, lang)
        )
    if audience.authors and audience.authors_of is not None:
        name = await _process_name(session, audience.authors_of, lang)
        return translate(N_("Authors of ideas in {process}"), lang, process=name)
    if audience.authors:
        return translate(N_("Authors of ideas"), lang)
    return None


async def _process_name(session: AsyncSession, process_id: int, lang: str) -> str:
    process = await processes.get(session, process_id)
    return escape(processes.name(process, lang)) if process is not None else "—"


def recipients_text(count: int, lang: str) -> str:
    return translate(N_("{count} recipients"), lang, count=number(count, lang))


async def scheduled_line(session: AsyncSession, broadcast: Broadcast, zone: ZoneInfo, lang: str) -> str:
    audience = await audience_label(session, outbox.Audience.of(broadcast.audience), lang)
    first = next(iter(broadcast.texts.values()), "")
    snippet = first if len(first) <= 40 else first[:39] + "…"
    return translate(
        N_("#{id} · {when} · {audience} · {category}\n<i>{snippet}</i>"),
        lang,
        id=broadcast.id,
        when=when(broadcast.send_at, zone, lang),
        audience=audience,
        category=category_label(broadcast.category, lang),
        snippet=snippet,
    )


def _bar(done: int, total: int) -> str:
    filled = BAR if total == 0 else min(BAR, done * BAR // total)
    return "▓" * filled + "░" * (BAR - filled)


def _duration(left: timedelta) -> str:
    seconds = int(left.total_seconds())
    return f"{seconds // 60}:{seconds % 60:02d}"


def progress_text(progress: Progress, lang: str, now: datetime, audience: str = "") -> str:
    """The progress message: a bar, who it is for (`audience`, described), the counts and the time left;
    once nothing is pending, the report."""
    total = progress.total
    done = total - progress.pending
    percent = 100 if total == 0 else done * 100 // total
    counts = translate(
        N_("✅ Sent: {sent} · ⚠️ Failed: {failed} · 🚫 Unreachable: {unreachable}"),
        lang,
        sent=number(progress.sent, lang),
        failed=number(progress.failed, lang),
        unreachable=number(progress.unreachable, lang),
    )
    to = translate(N_("👥 To: {audience}"), lang, audience=audience) if audience else ""
    if progress.finished:
        head = translate(
            N_("📣 Broadcast #{id} is finished: {total} recipients."),
            lang,
            id=progress.broadcast_id,
            total=number(total, lang),
        )
        return "\n".join(p for p in (head, to, f"{_bar(total, total)} 100%", counts) if p)
    head = translate(N_("📣 Broadcast #{id} is being sent…"), lang, id=progress.broadcast_id)
    lines = [p for p in (head, to, f"{_bar(done, total)} {percent}%", counts) if p]
    eta = progress.eta(now)
    if eta is not None:
        lines.append(translate(N_("⏳ About {time} left"), lang, time=_duration(eta)))
    return "\n".join(lines)


def flow_label(flow: str, lang: str) -> str:
    return translate(broadcasts.FLOW_LABELS[flow], lang)
