"""How ideas look to staff: the moderation card and the staff group's announcement."""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.i18n import translate, when
from bot.services import ideas
from bot.ui.cards import fit
from bot.ui.ideas.cards import location_line, place, scope_line, status_label
from storage.models import Idea


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
    where = location_line(idea.latitude, idea.longitude, idea.place)
    if where:
        head.append(where)
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
