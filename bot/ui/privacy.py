"""The privacy notice: shown at onboarding, and again from /help and /settings."""

from __future__ import annotations

from html import escape

from aiogram.utils.i18n import gettext as _

from bot.config import CitySpec


def privacy_text(city: CitySpec, lang: str) -> str:
    lines = [
        _(
            "🔒 <b>Privacy</b>\n"
            "Meydan keeps only what it needs: your Telegram id, your language, your neighborhood and what you "
            "send or vote. Your name and phone number are not stored (a phone number you share to verify is "
            "kept only in a coded form that cannot be turned back into the number). Votes stay secret; staff "
            "never see who voted for what.\n"
            "You can export or delete your data at any time in /settings."
        )
    ]
    notice = city.privacy
    if notice is not None:
        lines.append(
            _("Data controller: {controller}.").format(controller=escape(notice.controller_name(lang)))
        )
        lines.append(_('The full notice: <a href="{url}">{url}</a>').format(url=escape(notice.notice_url)))
        if notice.contact_url:
            lines.append(
                _("Questions about your data: {contact}").format(contact=escape(notice.contact or ""))
            )
    return "\n".join(lines)
