"""The main menu, built from the feature manifest: a feature's entry appears once the feature exists."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.features import menu_entries
from bot.services.residents import Viewer
from bot.ui.callbacks import MenuCb
from bot.ui.keyboards import single_column


def main_menu(viewer: Viewer | None) -> InlineKeyboardMarkup:
    is_staff = viewer is not None and viewer.is_staff
    return single_column(
        [(_(e.label), MenuCb(action=e.key)) for e in menu_entries() if is_staff or not e.staff_only]
    )


def menu_text() -> str:
    return _("What would you like to do?")
