"""The language of each update: the resident's saved choice, else Telegram's, else the city's default."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware

from bot.config import LANGUAGES


def pick_language(saved: str | None, telegram_code: str | None, default: str) -> str:
    if saved in LANGUAGES:
        return saved
    if telegram_code:
        base = telegram_code.split("-")[0].lower()
        if base in LANGUAGES:
            return base
    return default


class LocaleMiddleware(I18nMiddleware):
    def __init__(self, i18n: I18n, default_language: str) -> None:
        super().__init__(i18n)
        self.default_language = default_language

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        resident = data.get("resident")
        user: User | None = data.get("event_from_user")
        lang = pick_language(
            resident.language if resident is not None else None,
            user.language_code if user is not None else None,
            self.default_language,
        )
        data["lang"] = lang
        if "viewer" in data:
            data["viewer"] = replace(data["viewer"], lang=lang)
        return lang
