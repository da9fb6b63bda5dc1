"""How ideas look in chat: cards for residents, staff and the staff group, and the form's preview."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.i18n import when
from bot.services import ideas, processes
from bot.ui.cards import fit
from storage.models import Idea, Neighborhood, Process


def _district(hood: Neighborhood | ideas.Spot) -> str | None:
    if isinstance(hood, ideas.Spot):
        return hood.district_name
    return hood.district.name if hood.district else None


def place(hood: Neighborhood | ideas.Spot | None) -> str:
    if hood is None:
        return "—"
    district = _district(hood)
    return escape(f"{hood.name}, {district}") if district else escape(hood.name)


def map_url(latitude: float, longitude: float) -> str:
    return f"https://www.openstreetmap.org/?mlat={latitude:.5f}&mlon={longitude:.5f}#map=17/{latitude:.5f}/{longitude:.5f}"


def place_url(hood: Neighborhood | ideas.Spot, city: str) -> str:
    return "https://www.openstreetmap.org/search?query=" + quote(f"{hood.name}, {_district(hood)}, {city}")


def location_line(
    latitude: float | None, longitude: float | None, spot: Neighborhood | ideas.Spot | None, city: str = ""
) -> str | None:
    """Where an idea is: a shared location as a map link, a typed place by its name with a map link."""
    if latitude is not None and longitude is not None:
        return _('📌 Location: <a href="{url}">see it on the map</a>').format(
            url=escape(map_url(latitude, longitude))
        )
    if spot is not None:
        return _('📌 Place: {place} (<a href="{url}">map</a>)').format(
            place=place(spot), url=escape(place_url(spot, city))
        )
    return None


def idea_label(idea: Idea | ideas.ListedIdea, width: int = 40) -> str:
    """A button's label for an idea: its number and title, cut with "…" to `width` characters."""
    label = f"#{idea.id} {idea.title}"
    return label if len(label) <= width else label[: width - 1].rstrip() + "…"


def list_line(idea: ideas.ListedIdea, supports: int) -> str:
    """One idea in a list: number, title, supports and neighborhood."""
    return _("<b>#{number}</b> {title} · 👍 {count} · {place}").format(
        number=idea.id, title=escape(idea.title), count=supports, place=escape(idea.place)
    )


def status_label(status: str) -> str:
    return _(ideas.STATUS_LABELS.get(status, status))


def scope_line(scope: str, hood: Neighborhood | ideas.Spot | None) -> str:
    if scope == ideas.SCOPE_CITY:
        return _("🌆 Citywide (sent from {place})").format(place=place(hood))
    return _("🏘 {place}").format(place=place(hood))


def idea_card(
    idea: Idea | ideas.ShownIdea, supports: int, lang: str, limit: int, *, show_status: bool = False
) -> str:
    """What a resident sees of a published idea (or of their own idea, with its status: the author's
    card reads the idea as an ORM object, the published card as plain values)."""
    lines = [
        f"💡 <b>#{idea.id} {escape(idea.title)}</b>",
        _("🏷 {theme}").format(theme=escape(ideas.theme_name(idea.theme, lang))),
        scope_line(idea.scope, idea.neighborhood),
        _("👍 Supports: {count}").format(count=supports),
    ]
    where = location_line(idea.latitude, idea.longitude, idea.place)
    if where:
        lines.append(where)
    if show_status:
        lines.append(_("Status: {status}").format(status=status_label(idea.status)))
        if idea.status == ideas.REJECTED:
            lines.append(_("Reason: {reason}").format(reason=ideas.reason_text(idea, lang)))
        if idea.status == ideas.MERGED and idea.merged_into_id:
            lines.append(_("Merged into idea #{number}.").format(number=idea.merged_into_id))
    return fit("\n".join(lines), idea.description, limit)


def draft_card(
    values: dict[str, Any],
    *,
    process: Process,
    theme: str,
    hood: Neighborhood | None,
    spot: Neighborhood | None,
    lang: str,
    limit: int,
) -> str:
    """The preview of an idea before it is sent (`values`: the form's answers)."""
    lines = [
        _("👀 <b>Preview</b> · {process}").format(process=escape(processes.name(process, lang))),
        "",
        f"<b>{escape(values.get('title') or '')}</b>",
        _("🏷 {theme}").format(theme=escape(theme)),
        scope_line(values.get("scope") or ideas.SCOPE_NEIGHBORHOOD, hood),
    ]
    location = values.get("location")
    latitude, longitude = location if isinstance(location, list | tuple) else (None, None)
    lines.append(location_line(latitude, longitude, spot) or _("📌 No location"))
    lines.append(_("🖼 With a photo") if values.get("photo") else _("🖼 No photo"))
    return fit("\n".join(lines), values.get("description") or "", limit)


def process_name(process: Process | processes.Named | None, lang: str) -> str:
    return escape(processes.name(process, lang)) if process is not None else "—"


def home_text(view: processes.Outlook, lang: str, zone: ZoneInfo) -> str:
    """The ideas menu: which collections are open to me, or when the next opens or the last closed."""
    lines = [_("💡 <b>Ideas</b>")]
    for process in view.open:
        span = processes.window(process)
        lines.append(
            _("“{process}”: ideas are welcome until {date}.").format(
                process=process_name(process, lang), date=when(span.ends_at, zone, lang)
            )
        )
    if not view.open and view.next_opening is not None:
        span = processes.window(view.next_opening)
        lines.append(
            _("“{process}”: idea submission opens on {date}.").format(
                process=process_name(view.next_opening, lang), date=when(span.starts_at, zone, lang)
            )
        )
    elif not view.open and view.last_closed is not None:
        span = processes.window(view.last_closed)
        lines.append(
            _("“{process}”: idea submission closed on {date}.").format(
                process=process_name(view.last_closed, lang), date=when(span.ends_at, zone, lang)
            )
        )
    elif not view.open:
        lines.append(_("No idea collection is running right now."))
    lines.append(_("Share an idea for your neighborhood or the city, or support the ideas of others."))
    return "\n".join(lines)


def browse_text(
    process: Process | processes.Named,
    items: list,
    *,
    top: bool,
    hood: Neighborhood | None,
    theme: str | None,
    lang: str,
) -> str:
    lines = [
        _("🔎 <b>Ideas</b> · {process}").format(process=process_name(process, lang)),
        " · ".join(
            [
                _("most supported first") if top else _("newest first"),
                escape(hood.name) if hood else _("all neighborhoods"),
                escape(theme) if theme else _("all themes"),
            ]
        ),
        "",
    ]
    lines += [list_line(item.idea, item.supports) for item in items] or [_("No published ideas here yet.")]
    return "\n".join(lines)


def mine_text(items: list) -> str:
    lines = [_("📋 <b>My ideas</b>"), ""]
    lines += [
        _("<b>#{number}</b> {title}: {status} · 👍 {count}").format(
            number=item.idea.id,
            title=escape(item.idea.title),
            status=status_label(item.idea.status),
            count=item.supports,
        )
        for item in items
    ] or [_("You have not sent any ideas yet.")]
    return "\n".join(lines)


def similar_text(found: list, counts: dict[int, int]) -> str:
    lines = [
        _(
            "🔁 Ideas like yours are already published in your neighborhood. Is yours one of these? "
            "You can support it instead of sending a new one."
        ),
        "",
    ]
    lines += [
        _("<b>#{number}</b> {title} · 👍 {count}").format(
            number=hit.idea.id, title=escape(hit.idea.title), count=counts.get(hit.idea.id, 0)
        )
        for hit in found
    ]
    return "\n".join(lines)
