"""/settings: language, neighborhood, notification categories, the privacy notice, export, delete."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command

from bot.filters import Onboarded
from bot.routing import private_router
from bot.ui.callbacks import MenuCb, SettingsCb
from bot.ui.places import picker_router
from bot.ui.settings import NOTIFY_OFF, NOTIFY_ON
from handlers.settings import actions
from handlers.settings.states import SettingsPlace


def make_router() -> Router:
    router = private_router("settings")
    router.message.register(actions.not_onboarded, Command("settings"), ~Onboarded())
    router.callback_query.register(
        actions.not_onboarded_button, MenuCb.filter(F.action == "settings"), ~Onboarded()
    )
    router.callback_query.register(actions.not_onboarded_button, SettingsCb.filter(), ~Onboarded())
    router.message.register(actions.settings_command, Command("settings"))
    router.callback_query.register(actions.settings_button, MenuCb.filter(F.action == "settings"))
    router.callback_query.register(actions.language, SettingsCb.filter(F.action == "language"))
    router.callback_query.register(actions.set_language, SettingsCb.filter(F.action == "set-language"))
    router.callback_query.register(actions.notify, SettingsCb.filter(F.action.in_({NOTIFY_ON, NOTIFY_OFF})))
    router.callback_query.register(actions.privacy_notice, SettingsCb.filter(F.action == "privacy"))
    router.callback_query.register(actions.export, SettingsCb.filter(F.action == "export"))
    router.callback_query.register(actions.delete_ask, SettingsCb.filter(F.action == "delete"))
    router.callback_query.register(actions.delete, SettingsCb.filter(F.action == "delete-confirm"))
    router.callback_query.register(actions.place, SettingsCb.filter(F.action == "place"))
    router.include_router(
        picker_router(
            "settings",
            SettingsPlace.district,
            SettingsPlace.neighborhood,
            actions.chose_place,
            actions.back_button,
        )
    )
    return router
