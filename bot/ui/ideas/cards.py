"""How ideas look in chat: cards for residents, staff and the staff group, and the form's preview."""

from __future__ import annotations

from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.i18n import translate, when
from bot.services import ideas, processes
from bot.ui.cards import fit
from storage.models import Idea, Neighborhood, Process


def place(hood: Neighborhood | None) -> str:
    if hood is None:
        return "—"
    return escape(f"{hood.name}, {hood.district.name}") if hood.district else escape(hood.name)


def map_link(latitude: float, longitude: float) -> str:
    url = f"https://www.openstreetmap.org/?mlat={latitude:.5f}&mlon={longitude:.5f}#map=17/{latitude:.5f}/{longitude:.5f}"
    return f'<a href="{url}">{latitude:.5f}, {longitude:.5f}</a>'


def idea_label(idea: Idea, width: int = 40) -> str:
    """A button's label for an idea: its number and title, cut with "…" to `width` characters."""
    label = f"#{idea.id} {idea.title}"
    return label if len(label) <= width else label[: width - 1].rstrip() + "…"


def list_line(idea: Idea, supports: int) -> str:
    """One idea in a list: number, title, supports and neighborhood."""
    return _("<b>#{number}</b> {title} · 👍 {count} · {place}").format(
        number=idea.id, title=escape(idea.title), count=supports, place=escape(idea.neighborhood.name)
    )


def status_label(status: str) -> str:
    return _(ideas.STATUS_LABELS.get(status, status))


def scope_line(scope: str, hood: Neighborhood | None) -> str:
    if scope == ideas.SCOPE_CITY:
        return _("🌆 Citywide (sent from {place})").format(place=place(hood))
    return _("🏘 {place}").format(place=place(hood))


def idea_card(idea: Idea, supports: int, lang: str, limit: int, *, show_status: bool = False) -> str:
    """What a resident sees of a published idea (or of their own idea, with its status)."""
    lines = [
        f"💡 <b>#{idea.id} {escape(idea.title)}</b>",
        _("🏷 {theme}").format(theme=escape(ideas.theme_name(idea.theme, lang))),
        scope_line(idea.scope, idea.neighborhood),
        _("👍 Supports: {count}").format(count=supports),
    ]
    if idea.latitude is not None and idea.longitude is not None:
        lines.append(_("📌 Location: {link}").format(link=map_link(idea.latitude, idea.longitude)))
    if show_status:
        lines.append(_("Status: {status}").format(status=status_label(idea.status)))
        if idea.status == ideas.REJECTED:
            lines.append(_("Reason: {reason}").format(reason=ideas.reason_text(idea, lang)))
        if idea.status == ideas.MERGED and idea.merged_into_id:
            lines.append(_("Merged into idea #{number}.").format(number=idea.merged_into_id))
    return fit("\n".join(lines), idea.description, limit)


def staff_card(
    idea: Idea, supports: int, lang: str, zone: ZoneInfo, limit: int, *, waiting: int | None = None
) -> str:
    """What staff see when moderating: everything but the author's identity."""
    head = []
    if waiting is not None:
        head.append(_("🗂 Waiting for review: {count}").format(count=waiting))
    head += [
        f"💡 <b>#{idea.id} {escape(idea.title)}</b>",
        _("Status: {status}").format(status=status_label(idea.status)),
        _("🏷 {theme}").format(theme=escape(ideas.theme_name(idea.theme, lang))),
        scope_line(idea.scope, idea.neighborhood),
        _("Author's neighborhood: {place}").format(place=place(idea.neighborhood)),
        _("Sent: {when}").format(when=when(idea.created_at, zone, lang)),
        _("👍 Supports: {count}").format(count=supports),
    ]
    if idea.latitude is not None and idea.longitude is not None:
        head.append(_("📌 Location: {link}").format(link=map_link(idea.latitude, idea.longitude)))
    if idea.photo_file_id:
        head.append(_("🖼 With a photo"))
    if idea.status == ideas.REJECTED:
        head.append(_("Reason: {reason}").format(reason=ideas.reason_text(idea, lang)))
    if idea.status == ideas.MERGED and idea.merged_into_id:
        head.append(_("Merged into idea #{number}.").format(number=idea.merged_into_id))
    return fit("\n".join(head), idea.description, limit)


def group_card(idea: Idea, lang: str, waiting: int) -> str:
    """The short announcement of a new idea in the staff group (in the city's language)."""
    return translate(
        "🆕 New idea #{number} “{title}” from {place}. Waiting for review: {count}. Open /admin in a private "
        "chat with the bot to moderate.",
        lang,
        number=idea.id,
        title=escape(idea.title),
        place=place(idea.neighborhood),
        count=waiting,
    )


def draft_card(
    data: dict[str, Any], *, process: Process, theme: str, hood: Neighborhood | None, lang: str, limit: int
) -> str:
    """The preview of an idea before it is sent."""
    lines = [
        _("👀 <b>Preview</b> · {process}").format(process=escape(processes.name(process, lang))),
        "",
        f"<b>{escape(data.get('title', ''))}</b>",
        _("🏷 {theme}").format(theme=escape(theme)),
    ]
    lines.append(scope_line(data.get("scope", ideas.SCOPE_NEIGHBORHOOD), hood))
    if data.get("latitude") is not None:
        lines.append(_("📌 Location: {link}").format(link=map_link(data["latitude"], data["longitude"])))
    else:
        lines.append(_("📌 No location"))
    lines.append(_("🖼 With a photo") if data.get("photo") else _("🖼 No photo"))
    return fit("\n".join(lines), data.get("description", ""), limit)
