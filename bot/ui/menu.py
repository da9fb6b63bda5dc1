"""The main menu. Each feature adds its entry here, in the order residents see them."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.ui.callbacks import MenuCb
from bot.ui.keyboards import single_column


def main_menu(*, is_staff: bool = False) -> InlineKeyboardMarkup:
    entries = [
        (_("💡 Ideas"), MenuCb(action="ideas")),
        (_("⚙️ Settings"), MenuCb(action="settings")),
        (_("❓ Help"), MenuCb(action="help")),
    ]
    if is_staff:
        entries.append((_("🛠 Staff tools"), MenuCb(action="admin")))
    return single_column(entries)
