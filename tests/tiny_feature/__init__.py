"""A feature made of one folder, for the test that registers it through the manifest with one line."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.routing import private_router
from bot.ui.callbacks import MenuCb
from bot.ui.messages import reply


async def hello(event: Message | CallbackQuery) -> None:
    await reply(event, "🌱 Hello from the tiny feature.")


def make_router() -> Router:
    router = private_router("tiny")
    router.message.register(hello, Command("tiny"))
    router.callback_query.register(hello, MenuCb.filter(F.action == "tiny"))
    return router
