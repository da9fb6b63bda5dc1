"""/start: language, privacy notice, district, neighborhood, then the main menu."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandStart

from bot.routing import private_router
from bot.ui.callbacks import ConsentCb, LangCb, OnboardingCb
from bot.ui.places import picker_router
from handlers.onboarding import steps
from handlers.onboarding.states import Onboarding


def make_router() -> Router:
    router = private_router("onboarding")
    router.message.register(steps.start, CommandStart())
    router.callback_query.register(steps.chose_language, Onboarding.language, LangCb.filter())
    router.callback_query.register(steps.consent, Onboarding.consent, ConsentCb.filter())
    router.callback_query.register(steps.back, OnboardingCb.filter())
    router.include_router(
        picker_router(
            "onboarding",
            Onboarding.district,
            Onboarding.neighborhood,
            steps.chose_place,
            steps.back_to_consent,
        )
    )
    router.message.register(steps.expecting_button, Onboarding.language)
    router.message.register(steps.expecting_button, Onboarding.consent)
    return router
