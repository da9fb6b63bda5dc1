"""What /settings shows: the person's choices and a button for each change."""

from __future__ import annotations

from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.features import categories
from bot.services.residents import Beside, PersonSettings, settings_beside
from bot.ui.callbacks import MenuCb, SettingsCb, pressed
from bot.ui.keyboards import single_column
from bot.ui.onboarding import LANGUAGE_LABELS
from bot.ui.places import place_label

NOTIFY_ON, NOTIFY_OFF = "notify-on", "notify-off"  # a notification category turned on, or off
# what shows the settings screen besides a notification turned: the command, the menu's button
_SHOWING = frozenset({"/settings", MenuCb(action="settings").pack()})


def settings_screen(data: str) -> tuple[Beside, dict[str, Any]] | None:
    """What shows the settings screen has it read in the person's read (`residents.settings_beside`):
    /settings, the menu's and the back button's "Settings", a notification turned on or off."""
    if data in _SHOWING or any(pressed(SettingsCb, data, turn) for turn in (NOTIFY_ON, NOTIFY_OFF)):
        return settings_beside(), {}
    return None


def settings_view(lang: str | None, shown: PersonSettings) -> tuple[str, InlineKeyboardMarkup]:
    notifications = shown.notifications
    lines = [
        _("⚙️ <b>Settings</b>"),
        _("Language: {language}").format(language=LANGUAGE_LABELS.get(lang or "", "—")),
        _("Neighborhood: {place}").format(place=place_label(*shown.place) if shown.place else "—"),
    ]
    buttons: list[tuple[str, CallbackData]] = [
        (_("🌐 Change language"), SettingsCb(action="language")),
        (_("🏘 Change neighborhood"), SettingsCb(action="place")),
    ]
    if notifications:
        lines.append(_("Notifications:"))
    for category in categories():
        if category.key not in notifications:
            continue
        on = notifications[category.key]
        lines.append(f"{'🔔' if on else '🔕'} {_(category.label)}")
        label = (_("Turn off: {what}") if on else _("Turn on: {what}")).format(what=_(category.label))
        # the button says which way it turns the category, so a press that comes twice does it once
        buttons.append((label, SettingsCb(action=NOTIFY_OFF if on else NOTIFY_ON, value=category.key)))
    buttons += [
        (_("🔒 Privacy notice"), SettingsCb(action="privacy")),
        (_("📦 Export my data"), SettingsCb(action="export")),
        (_("🗑 Delete my account"), SettingsCb(action="delete")),
        (_("« Menu"), MenuCb(action="menu")),
    ]
    return "\n".join(lines), single_column(buttons)


def delete_question(
    published: int = 0, waiting: int = 0, supports: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    """The delete confirmation: what is erased, what stays (with counts), and, when some of the person's
    ideas wait for review, the choice between keeping them for review and withdrawing them."""
    lines = [
        _("🗑 <b>Delete your account?</b> This cannot be undone."),
        _(
            "Erased: your Telegram id, language, neighborhood, notification choices, roles and any form "
            "in progress. You are unlinked from everything you sent."
        ),
        _("Stays, without your name:"),
        _("• published ideas: {count}").format(count=published),
        _("• supports you gave: {count}").format(count=supports),
    ]
    if waiting:
        lines.append(
            _("• ideas waiting for review: {count} (kept for review, or withdrawn if you choose so)").format(
                count=waiting
            )
        )
    lines.append(
        _(
            "A keyed fingerprint of your account stays too (not your Telegram id), so that if you come "
            "back, what allows one per person still counts you once."
        )
    )
    buttons: list[tuple[str, CallbackData]] = []
    if waiting:
        buttons += [
            (_("Delete, keep my ideas"), SettingsCb(action="delete-confirm", value="keep")),
            (_("Delete and withdraw waiting ideas"), SettingsCb(action="delete-confirm", value="withdraw")),
        ]
    else:
        buttons.append((_("Yes, delete my account"), SettingsCb(action="delete-confirm", value="keep")))
    buttons.append((_("No, keep it"), MenuCb(action="settings")))
    return "\n".join(lines), single_column(buttons)


def back_to_settings() -> tuple[str, CallbackData]:
    return _("« Settings"), MenuCb(action="settings")
