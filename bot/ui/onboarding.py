"""What onboarding shows: the language choice, the consent question, the welcome."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.features import pitches
from bot.ui.callbacks import ConsentCb, LangCb, OnboardingCb
from bot.ui.keyboards import single_column
from storage.models import Neighborhood

LANGUAGE_LABELS = {"tr": "🇹🇷 Türkçe", "en": "🇬🇧 English"}


def language_keyboard(
    selected: str | None,
    data: Callable[[str], CallbackData] = lambda code: LangCb(code=code),
    back: tuple[str, CallbackData] | None = None,
) -> InlineKeyboardMarkup:
    """One button per language, each in its own language, the selected one ticked."""
    items: list[tuple[str, CallbackData]] = [
        ((f"✓ {label}" if code == selected else label), data(code)) for code, label in LANGUAGE_LABELS.items()
    ]
    return single_column([*items, back] if back else items)


def greeting() -> str:
    lines = [_("👋 Welcome to <b>Meydan</b>, the city's public square in your pocket. Here you can:")]
    lines += [f"• {_(pitch)}" for pitch in pitches()]
    lines += ["", _("Choose your language:")]
    return "\n".join(lines)


def consent_keyboard() -> InlineKeyboardMarkup:
    return single_column(
        [
            (_("✅ I accept"), ConsentCb(accept=True)),
            (_("✖️ No, thanks"), ConsentCb(accept=False)),
            (_("« Language"), OnboardingCb(action="language")),
        ]
    )


def consent_question() -> str:
    return _("Do you accept?")


def welcome_text(hood: Neighborhood | None) -> str:
    place = escape(f"{hood.name}, {hood.district.name}") if hood else "—"
    return _(
        "🏛 <b>Meydan</b>: your say in your city.\nYour neighborhood: {place}. What would you like to do?"
    ).format(place=place)
