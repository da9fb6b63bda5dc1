"""One Router per feature. The order here is the order the dispatcher tries them."""

from __future__ import annotations

from aiogram import Router


def routers() -> list[Router]:
    from handlers import common, errors, fallback, onboarding, settings

    return [errors.router, common.router, onboarding.router, settings.router, fallback.router]
